"""analyses/hypothesis_data.py: the valence table is made from the lexicon file (checked on a tiny
wheel built here), and the committed table is what the analysis reads."""

from __future__ import annotations

import base64
import hashlib
import zipfile

import pytest

from analyses.hypothesis_data import LICENCE_NAME, OUT_DIR, TABLE_NAME, main, parse_lexicon, write_valence_table
from rsastats.exceptions import FileFormatError
from rsastats.io.features import read_feature_table

LEXICON = ("happy\t2.7\t0.9\t[2, 2, 2, 4, 2, 4, 3, 4, 2, 2]\r\n"
           "sad\t-2.1\t0.9434\t[-2, -2, -3, -1, -1, -2, -4, -3, -1, -2]\r\n"
           "sadness\t-1.9\t0.5\t[-2, -2, -2, -2, -2, -2, -2, -1, -2, -2]\r\n"
           "calm\t1.3\t0.78102\t[1, 1, 2, 1, 2, 0, 2, 1, 1, 2]\r\n"
           "proud\t2.1\t0.3\t[2, 2, 2, 2, 3, 2, 2, 2, 2, 2]\r\n"
           "angry\t-2.3\t0.9\t[-3, -2, -2, -3, -3, -1, -3, -1, -2, -3]").encode()
LICENCE = "The MIT License (MIT)\n\nCopyright (c) 2016 C.J. Hutto\n\nPermission is hereby granted ...\n"
CODE = '"""\nIf you use the VADER sentiment analysis tools, please cite:\nHutto, C.J. & Gilbert, E.E. (2014). VADER.\n"""\n'
EMOTIONS = ["happy", "sad", "calm", "afraid", "proud", "angry", "neutral"]


def _wheel(path, lexicon: bytes = LEXICON, record_of: bytes | None = None):
    digest = base64.urlsafe_b64encode(hashlib.sha256(record_of or lexicon).digest()).rstrip(b"=").decode()
    info = "vaderSentiment-3.3.2.dist-info"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("vaderSentiment/vader_lexicon.txt", lexicon)
        z.writestr("vaderSentiment/vaderSentiment.py", CODE)
        z.writestr(f"{info}/LICENSE.txt", LICENCE)
        z.writestr(f"{info}/METADATA", "Metadata-Version: 2.1\nName: vaderSentiment\nVersion: 3.3.2\nLicense: MIT License\n")
        z.writestr(f"{info}/RECORD", f"vaderSentiment/vader_lexicon.txt,sha256={digest},{len(lexicon)}\n")
    return path


def test_table_rows_come_from_the_lexicon_and_missing_words_are_named(tmp_path):
    out = write_valence_table(_wheel(tmp_path / "v.whl"), tmp_path / "out", EMOTIONS)
    table = read_feature_table(out)
    assert list(table.index) == ["happy", "sad", "calm", "proud", "angry"]  # the order of the emotions given
    assert table["valence"].tolist() == [2.7, -2.1, 1.3, 2.1, -2.3]
    text = out.read_text()
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert any("Not in the lexicon, so no row: afraid, neutral (2 of 7)" in c for c in comments)
    assert any(hashlib.sha256(LEXICON).hexdigest() in c and "vaderSentiment 3.3.2" in c for c in comments)
    assert any("Hutto, C.J. & Gilbert, E.E. (2014). VADER" in c for c in comments)
    assert any("Copyright (c) 2016 C.J. Hutto" in c and LICENCE_NAME in c for c in comments)
    assert any("no arousal" in c for c in comments)
    assert "sadness" not in text  # only exact tokens: no other word stands in
    assert (tmp_path / "out" / LICENCE_NAME).read_text() == LICENCE


def test_an_unpacked_folder_gives_the_same_table(tmp_path):
    wheel = _wheel(tmp_path / "v.whl")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path / "unpacked")
    a = write_valence_table(wheel, tmp_path / "a", EMOTIONS).read_text()
    b = write_valence_table(tmp_path / "unpacked", tmp_path / "b", EMOTIONS).read_text()
    assert a == b


def test_a_lexicon_that_is_not_the_one_the_wheel_lists_is_refused(tmp_path, capsys):
    wheel = _wheel(tmp_path / "v.whl", record_of=b"another file")
    with pytest.raises(FileFormatError, match="does not match the sha256"):
        write_valence_table(wheel, tmp_path / "out", EMOTIONS)
    assert main([str(wheel), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and str(wheel) in err[0]
    assert not (tmp_path / "out" / TABLE_NAME).exists()  # nothing half-written


def test_a_malformed_lexicon_line_is_one_error():
    with pytest.raises(FileFormatError, match="line 2: expected 4 tab-separated fields"):
        parse_lexicon(b"happy\t2.7\t0.9\t[3]\nsad -2.1\n")
    assert parse_lexicon(LEXICON)["sad"] == (-2.1, 10)


def test_the_committed_table_covers_the_study_emotions_but_three():
    from extraction.stimuli import STUDY_EMOTIONS

    table = read_feature_table(OUT_DIR / TABLE_NAME)
    missing = [e for e in STUDY_EMOTIONS if e not in table.index]
    assert missing == ["afraid", "reflective", "neutral"] and len(table) == 18
    assert list(table.columns) == ["valence"]
    assert table["valence"].between(-4, 4).all()
    assert "Not in the lexicon, so no row: afraid, reflective, neutral" in (OUT_DIR / TABLE_NAME).read_text()
    assert "MIT License" in (OUT_DIR / LICENCE_NAME).read_text()
