"""The hypothesis data of ``analyses/hypotheses.py``: a valence feature table of the study's emotions,
made from the VADER lexicon (Hutto & Gilbert 2014) as the PyPI package ``vaderSentiment`` ships it
(MIT licence).  The numbers in ``rsastats/resources/hypotheses/vader_valence.csv`` come from this script, not
from a keyboard::

    pip download --no-deps vadersentiment==3.3.2 -d build/vader
    python -m analyses.hypothesis_data build/vader/vaderSentiment-3.3.2-py2.py3-none-any.whl

The argument is the wheel or a folder it was unpacked into.  The lexicon's ``vader_lexicon.txt`` has
one line per token: the token, the mean of its human valence ratings (-4 extremely negative .. +4
extremely positive), their standard deviation and the ratings themselves.  The table keeps the mean
(column ``valence``) of each emotion word found as a token; words that are not in the lexicon get no
row (no other word stands in for them) and are named in the table's comment lines.  The lexicon has
no arousal ratings.  The licence text of the package is copied beside the table (the MIT licence asks
that its notice travel with the data).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rsastats.exceptions import FileFormatError, RsaStatsError, ValidationError
from rsastats.io import atomic_path

__all__ = ["VaderPackage", "read_vader_package", "parse_lexicon", "valence_rows", "table_text", "write_valence_table",
           "OUT_DIR", "TABLE_NAME", "LICENCE_NAME", "main"]

OUT_DIR = Path(__file__).resolve().parents[1] / "rsastats" / "resources" / "hypotheses"  # shipped: builtin:vader-valence
TABLE_NAME = "vader_valence.csv"
LICENCE_NAME = "LICENSE-vaderSentiment.txt"
LEXICON_MEMBER = "vaderSentiment/vader_lexicon.txt"
CODE_MEMBER = "vaderSentiment/vaderSentiment.py"  # its docstring says how to cite the lexicon


@dataclass(frozen=True)
class VaderPackage:
    """What the table is made from: the lexicon's bytes, the licence text and its copyright line, the
    citation the package asks for, the package name and version."""

    source: str
    name: str
    version: str
    lexicon: bytes
    licence: str
    copyright: str
    citation: str

    @property
    def lexicon_sha256(self) -> str:
        return hashlib.sha256(self.lexicon).hexdigest()


def _members(path: Path) -> dict[str, bytes]:
    """The files of a wheel (zip) or of a folder it was unpacked into, by their path inside it."""
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}
    if not path.is_file():
        raise FileFormatError("no such file or folder", path=str(path))
    try:
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    except zipfile.BadZipFile:
        raise FileFormatError("not a wheel (zip archive) nor a folder", path=str(path)) from None


def _check_record(members: dict[str, bytes], info: str, where: str) -> None:
    """The lexicon's sha256 must be the one the wheel's RECORD lists (it is the file the package ships)."""
    record = members.get(f"{info}/RECORD", b"").decode("utf-8")
    for line in record.splitlines():
        name, _, rest = line.partition(",")
        if name == LEXICON_MEMBER and rest.startswith("sha256="):
            digest = rest[len("sha256="):].split(",")[0]
            mine = base64.urlsafe_b64encode(hashlib.sha256(members[LEXICON_MEMBER]).digest()).rstrip(b"=").decode()
            if digest != mine:
                raise FileFormatError(f"{LEXICON_MEMBER} does not match the sha256 in {info}/RECORD", path=where)
            return
    raise FileFormatError(f"{info}/RECORD lists no sha256 of {LEXICON_MEMBER}", path=where)


def read_vader_package(path: str | Path) -> VaderPackage:
    """The lexicon, licence, name and version of a ``vaderSentiment`` wheel (or its unpacked folder)."""
    path = Path(path)
    where = str(path)
    members = _members(path)
    infos = sorted({m.split("/")[0] for m in members if m.split("/")[0].endswith(".dist-info")})
    if len(infos) != 1 or LEXICON_MEMBER not in members:
        raise FileFormatError(f"not a vaderSentiment wheel: needs one *.dist-info folder and {LEXICON_MEMBER}", path=where)
    info = infos[0]
    meta = members.get(f"{info}/METADATA", b"").decode("utf-8")
    fields = dict(re.findall(r"^(Name|Version|License): *(.+?)\s*$", meta, flags=re.MULTILINE))
    licence = members.get(f"{info}/LICENSE.txt", b"").decode("utf-8")
    if fields.get("Name", "").lower() != "vadersentiment" or "Version" not in fields:
        raise FileFormatError(f"{info}/METADATA does not name the package vaderSentiment and its version", path=where)
    if "MIT License" not in licence:
        raise FileFormatError(f"{info}/LICENSE.txt is not the MIT licence the table's notice cites", path=where)
    _check_record(members, info, where)
    notice = re.search(r"^Copyright .+$", licence, flags=re.MULTILINE)
    cite = re.search(r"please cite:\s*(.+?)\s*(?:\"\"\"|\n\s*\n)", members.get(CODE_MEMBER, b"").decode("utf-8"),
                     flags=re.DOTALL)
    if notice is None or cite is None:
        raise FileFormatError(f"no copyright line in {info}/LICENSE.txt or no citation in {CODE_MEMBER}", path=where)
    return VaderPackage(where, fields["Name"], fields["Version"], members[LEXICON_MEMBER], licence,
                        notice.group(0).strip(), " ".join(cite.group(1).split()).rstrip("."))


def parse_lexicon(data: bytes, source: str = "vader_lexicon.txt") -> dict[str, tuple[float, int]]:
    """``{token: (mean rating, number of ratings)}`` of the lexicon's tab-separated lines."""
    out: dict[str, tuple[float, int]] = {}
    for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 4:
            raise FileFormatError(f"line {number}: expected 4 tab-separated fields (token, mean, sd, ratings), got "
                                  f"{len(parts)}", path=source)
        token, mean, _, ratings = parts
        try:
            value = float(mean)
            listed = [float(r) for r in re.findall(r"-?\d+(?:\.\d+)?", ratings)]
        except ValueError:
            raise FileFormatError(f"line {number}: mean {mean!r} or ratings {ratings!r} not numbers", path=source) from None
        out[token] = (value, len(listed))
    return out


def valence_rows(lexicon: dict[str, tuple[float, int]], emotions: Sequence[str]) -> tuple[list[tuple[str, float, int]],
                                                                                         list[str]]:
    """``([(emotion, valence, n ratings)], [emotions not in the lexicon])``, in the order of ``emotions``."""
    rows = [(e, *lexicon[e]) for e in emotions if e in lexicon]
    return rows, [e for e in emotions if e not in lexicon]


def table_text(package: VaderPackage, emotions: Sequence[str]) -> str:
    """The CSV (comment lines, header, one row per emotion found)."""
    rows, missing = valence_rows(parse_lexicon(package.lexicon, package.source), emotions)
    if len(rows) < 4:
        raise ValidationError(f"only {len(rows)} of the {len(emotions)} emotions are in the lexicon of {package.source}")
    raters = sorted({n for _, _, n in rows})
    lines = [
        f"# Valence of {len(rows)} of the study's {len(emotions)} emotion words: the mean human rating "
        f"(-4 extremely negative .. +4 extremely positive; {' or '.join(map(str, raters))} ratings per word).",
        f"# Source: the VADER lexicon, {package.citation}.",
        f"# File: {LEXICON_MEMBER} of the PyPI package {package.name} {package.version} "
        f"(sha256 {package.lexicon_sha256}).",
        f"# Licence: MIT ({package.copyright}); the licence text is in {LICENCE_NAME} beside this file.",
        "# Valence only: the lexicon has no arousal ratings.",
        (f"# Not in the lexicon, so no row: {', '.join(missing)} ({len(missing)} of {len(emotions)}); no other word "
         "stands in for them." if missing else "# Every emotion word is in the lexicon."),
        "# Made by: python -m analyses.hypothesis_data <the wheel> (analyses/hypothesis_data.py); not edited by hand.",
        "emotion,valence",
    ]
    lines += [f"{emotion},{value!r}" for emotion, value, _ in rows]
    return "\n".join(lines) + "\n"


def write_valence_table(wheel: str | Path, out_dir: str | Path = OUT_DIR, emotions: Sequence[str] | None = None) -> Path:
    """Write ``<out_dir>/vader_valence.csv`` and the package's licence beside it; return the table's path."""
    if emotions is None:
        from extraction.stimuli import STUDY_EMOTIONS

        emotions = STUDY_EMOTIONS
    package = read_vader_package(wheel)
    text = table_text(package, list(emotions))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / LICENCE_NAME) as tmp:
        tmp.write_text(package.licence, encoding="utf-8")
    with atomic_path(out_dir / TABLE_NAME) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out_dir / TABLE_NAME


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.hypothesis_data", description=__doc__.splitlines()[0])
    parser.add_argument("wheel", help="the vaderSentiment wheel (pip download --no-deps vadersentiment==3.3.2) or the "
                                      "folder it was unpacked into")
    parser.add_argument("--out", default=str(OUT_DIR), help="folder of the table and the licence (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        print(write_valence_table(args.wheel, args.out))
    except RsaStatsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
