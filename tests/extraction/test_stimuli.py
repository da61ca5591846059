"""Built-in stimulus sets and the loader for user sets (no torch needed)."""

from __future__ import annotations

import json
import warnings

import pytest

from extraction.stimuli import (BUILTIN_SETS, STUDY_EMOTIONS, load_baseline, load_builtin, load_stimuli,
                                load_word_families, prompt_template_stimuli, word_family_violations)
from rsastats.exceptions import FileFormatError, LabelError, RsaStatsWarning, ValidationError
from rsastats.simulate import STUDY_EMOTIONS as SIMULATED_EMOTIONS


@pytest.mark.parametrize("name", BUILTIN_SETS)
def test_builtin_sets_cover_the_21_conditions_with_at_least_40_texts(name):
    stim = load_builtin(name)
    assert stim.emotions == STUDY_EMOTIONS
    assert min(stim.counts.values()) >= 40
    assert stim.problems == ()
    # The contrast pairs' baseline is one negative per prompt; the other sets read the 150 shared texts.
    assert len(stim.baseline) == stim.n_prompts if stim.paired else len(stim.baseline) >= 100
    assert stim.label.startswith(f"{name} sha256:") and len(stim.sha256) == 64


def test_extraction_keeps_its_own_copy_of_the_study_emotions():
    """extraction does not import the statistics core's simulator; its list is the same 21 conditions."""
    assert STUDY_EMOTIONS == SIMULATED_EMOTIONS and len(STUDY_EMOTIONS) == 21


def test_implicit_and_baseline_texts_name_no_emotion_word_family():
    families = load_word_families()
    assert set(families) == set(STUDY_EMOTIONS)
    implicit = load_builtin("implicit")
    texts = [t for group in implicit.texts for t in group] + list(implicit.baseline)
    assert word_family_violations(texts, families) == []


def test_word_family_rule_is_a_prefix_match_on_lowercase_tokens():
    families = {"happy": ("happy", "happi"), "loving": ("lov",)}
    found = word_family_violations(["Happiness is lovely.", "It happened."], families)
    assert [(tok, cond) for _, tok, cond in found] == [("happiness", "happy"), ("lovely", "loving")]


def test_named_texts_name_their_own_condition():
    named = load_builtin("named")
    for emotion, texts in zip(named.emotions, named.texts):
        assert all(emotion in t.lower() for t in texts), emotion


def test_content_hash_changes_with_any_text_and_is_stable():
    a = load_builtin("named")
    assert a.sha256 == load_builtin("named").sha256
    assert a.select(limit=3).sha256 != a.sha256
    assert a.select(limit=3).selection == "first 3 prompts per emotion"


def test_select_subset_and_errors():
    stim = load_builtin("implicit").select(emotions=["sad", "happy"], limit=2, baseline_limit=0)
    assert stim.emotions == ("sad", "happy") and stim.counts == {"sad": 2, "happy": 2} and stim.baseline == ()
    with pytest.raises(LabelError, match="'joyful' not in stimulus set"):
        load_builtin("implicit").select(emotions=["joyful"])


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_user_csv_tsv_and_json_forms(tmp_path):
    csv_file = _write(tmp_path, "s.csv", "emotion,text\nhappy,\"A sunny day, at last.\"\nsad,Rain again.\nhappy,We won.\nsad,It broke.\n")
    stim = load_stimuli(csv_file, baseline=None)
    assert stim.emotions == ("happy", "sad") and stim.texts == (("A sunny day, at last.", "We won."), ("Rain again.", "It broke."))
    assert stim.source == str(csv_file) and stim.name == "s"
    tsv = _write(tmp_path, "s.tsv", "Emotion\tText\nhappy\tA sunny day, at last.\nhappy\tWe won.\nsad\tRain again.\nsad\tIt broke.\n")
    assert load_stimuli(tsv, baseline=None).sha256 == stim.sha256
    mapping = _write(tmp_path, "m.json", json.dumps({"happy": ["A sunny day, at last.", "We won."], "sad": ["Rain again.", "It broke."]}))
    assert load_stimuli(mapping, baseline=None).sha256 == stim.sha256
    records = _write(tmp_path, "r.json", json.dumps([{"emotion": "happy", "text": "x y"}, {"emotion": "sad", "text": "z"}]))
    assert load_stimuli(records, baseline=None).counts == {"happy": 1, "sad": 1}


def test_duplicates_and_empty_texts_are_reported_with_their_lines(tmp_path):
    path = _write(tmp_path, "bad.csv", "emotion,text\nhappy,We won.\nsad,  \nsad,we  WON.\nhappy,Fine.\nsad,Fine.\n")
    with pytest.raises(ValidationError) as info:
        load_stimuli(path)
    message = str(info.value)
    assert message.startswith(str(path))
    assert "1 empty text(s) at line 3 (sad)" in message
    assert "2 duplicated text(s)" in message and "line 2 and line 4, under 'happy' and 'sad'" in message
    assert "\n" not in message


def test_unbalanced_counts_warn_and_are_recorded(tmp_path):
    path = _write(tmp_path, "u.csv", "emotion,text\nhappy,a\nhappy,b\nhappy,c\nsad,d\ncalm,e\ncalm,f\ncalm,g\n")
    with pytest.warns(RsaStatsWarning, match="unbalanced counts: 3 texts for most emotions but sad 1"):
        stim = load_stimuli(path, baseline=None)
    assert stim.n_prompts == 3 and stim.problems and "sad 1" in stim.problems[0]


@pytest.mark.parametrize("content, error, match", [
    ("text\nhello\n", FileFormatError, "no 'emotion' column"),
    ("emotion,text\nhappy,a,b\n", FileFormatError, "line 2: 3 fields"),
    ("emotion,text\nhappy,a\n", LabelError, "at least 2 emotions"),
    ("emotion,text\n,a\nsad,b\n", LabelError, "line 2: empty emotion label"),
    ("", FileFormatError, "empty stimulus file"),
])
def test_malformed_csv_files_give_one_line_errors(tmp_path, content, error, match):
    path = _write(tmp_path, "x.csv", content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=match):
            load_stimuli(path)


def test_missing_file_wrong_suffix_and_bad_json(tmp_path):
    with pytest.raises(FileFormatError, match="no such stimulus file"):
        load_stimuli(tmp_path / "nope.txt")
    with pytest.raises(FileFormatError, match="stimulus file not found"):
        load_stimuli(tmp_path / "nope.csv")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_stimuli(_write(tmp_path, "b.json", "{oops"))
    with pytest.raises(FileFormatError, match="must map to a list"):
        load_stimuli(_write(tmp_path, "c.json", json.dumps({"happy": "one text"})))


def test_baseline_files(tmp_path):
    assert len(load_baseline("builtin")) == 150
    assert load_baseline("none") == () and load_baseline(None) == ()
    assert load_baseline(_write(tmp_path, "b.txt", "one\n\ntwo\n")) == ("one", "two")
    assert load_baseline(_write(tmp_path, "b.json", json.dumps(["x", "y"]))) == ("x", "y")
    with pytest.raises(ValidationError, match="duplicated"):
        load_baseline(_write(tmp_path, "d.txt", "same\nsame\n"))


def test_prompt_template_stimuli():
    stim = prompt_template_stimuli("Write about feeling {emotion}:", ["happy", "sad"], 3, baseline=None)
    assert stim.texts == (("Write about feeling happy:",) * 3, ("Write about feeling sad:",) * 3)
    with pytest.raises(ValidationError, match="must contain"):
        prompt_template_stimuli("no placeholder", ["happy", "sad"], 1)


def test_a_nul_byte_in_a_text_is_refused_before_the_model_runs(tmp_path):
    """NetCDF ends a string at a NUL byte: such a text was read by the model and then stopped the write with an error
    about an attribute, after the whole run (found 2026-12-07); the stimulus and baseline readers now refuse it."""
    stimuli = tmp_path / "s.json"
    stimuli.write_text(json.dumps([{"emotion": "happy", "text": "a\x00b"}, {"emotion": "sad", "text": "b"}]))
    with pytest.raises(ValidationError, match=r"1 text\(s\) or label\(s\) holding a NUL byte.* at record 0 \(happy\)"):
        load_stimuli(stimuli)
    baseline = tmp_path / "b.txt"
    baseline.write_text("calm weather\nrain\x00 later\n")
    with pytest.raises(ValidationError, match=r"NUL byte.* at line 2 \(baseline\)"):
        load_baseline(baseline)
