"""Stimulus sets: the texts a model reads (or is prompted with), grouped by emotion.

Built-in sets ship as data files in ``extraction/stimuli_data/`` (see its README):

``named``     48 texts per condition that name the emotion through 12 sentence templates.
``implicit``  44 short scenarios per condition that evoke it without naming its word family.
``contrast``  contrast pairs: the 48 ``named`` texts of each condition, each paired with the same
              sentence in which the emotion word is replaced by :data:`CONTRAST_WORD`; the 48
              contrast texts are the set's baseline (text p is the negative of prompt p of every
              emotion), so each pair differs only in the emotion word.
baseline      150 emotion-free texts (weather, recipes, facts, timetables), read by every run.

User sets are CSV/TSV files with ``emotion`` and ``text`` columns, or JSON (a list of
``{"emotion": .., "text": ..}`` records or a mapping ``{emotion: [texts]}``).  Loading
validates them: empty texts and duplicated texts are errors that name the rows, unbalanced
counts per emotion are reported as a warning (the output marks the missing prompts invalid).

Every set carries a SHA-256 of its exact content, recorded in each output file, so two files
say whether they were made from the same texts.  This module does not import torch.
"""

from __future__ import annotations

import csv
import io
import json
import re
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from rsastats.exceptions import FileFormatError, LabelError, RsaStatsWarning, ValidationError

from .stimulus_set import StimulusSet

__all__ = [
    "STUDY_EMOTIONS",
    "BUILTIN_SETS",
    "CONTRAST_WORD",
    "DATA_DIR",
    "StimulusSet",
    "load_stimuli",
    "load_builtin",
    "contrast_pairs",
    "load_baseline",
    "load_word_families",
    "prompt_template_stimuli",
    "word_family_violations",
]

DATA_DIR = Path(__file__).resolve().parent / "stimuli_data"
BUILTIN_SETS = ("named", "implicit", "contrast")
# The word of the contrast texts: predicative like every emotion word of ``named``, and naming no emotion.
CONTRAST_WORD = "awake"
# The 21 conditions of the reference study, in its order: the emotions of every built-in set and
# of a prompt-template run that names none.
STUDY_EMOTIONS = (
    "happy", "sad", "calm", "desperate", "afraid", "angry", "proud", "guilty", "nervous", "hopeful", "brooding",
    "gloomy", "reflective", "enthusiastic", "hostile", "loving", "exasperated", "blissful", "anxious", "grateful",
    "neutral",
)
_TOKEN = re.compile(r"[a-z']+")


# --------------------------------------------------------------------------- reading
def _read_text(path: Path) -> str:
    if not path.exists():
        raise FileFormatError("stimulus file not found", path=path)
    if path.is_dir():
        raise FileFormatError("is a directory, not a stimulus file", path=path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=path) from None
    except OSError as exc:
        raise FileFormatError(f"cannot be read: {exc.strerror}", path=path) from None


def _csv_rows(path: Path, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV/TSV file as ``(line number, {column: value})`` with lower-cased column names."""
    text = _read_text(path)
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileFormatError("empty stimulus file (no header row)", path=path) from None
    except csv.Error as exc:
        raise FileFormatError(f"not valid CSV: {exc}", path=path) from None
    columns = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in columns]
    if missing:
        raise FileFormatError(f"no {', '.join(repr(c) for c in missing)} column (header is {header!r}; "
                              f"expected {', '.join(required)})", path=path)
    rows = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank line
            if len(record) != len(columns):
                raise FileFormatError(f"line {reader.line_num}: {len(record)} fields, the header has {len(columns)} "
                                      "(a text with a comma must be quoted)", path=path)
            rows.append((reader.line_num, dict(zip(columns, record))))
    except csv.Error as exc:
        raise FileFormatError(f"line {reader.line_num}: not valid CSV: {exc}", path=path) from None
    return rows


def _json_rows(path: Path) -> list[tuple[str, dict[str, str]]]:
    """Records of a JSON stimulus file as ``(where, {"emotion": .., "text": ..})``."""
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"not valid JSON: {exc.msg} (line {exc.lineno})", path=path) from None
    rows: list[tuple[str, dict[str, str]]] = []
    if isinstance(data, Mapping):
        for emotion, texts in data.items():
            if isinstance(texts, str) or not isinstance(texts, Sequence):
                raise FileFormatError(f"emotion {emotion!r} must map to a list of texts", path=path)
            for i, text in enumerate(texts):
                rows.append((f"{emotion}[{i}]", {"emotion": str(emotion), "text": _json_str(text, path, f"{emotion}[{i}]")}))
    elif isinstance(data, list):
        for i, record in enumerate(data):
            if not isinstance(record, Mapping) or "emotion" not in record or "text" not in record:
                raise FileFormatError(f"record {i} is not an object with 'emotion' and 'text'", path=path)
            rows.append((f"record {i}", {"emotion": _json_str(record["emotion"], path, f"record {i}"),
                                         "text": _json_str(record["text"], path, f"record {i}")}))
    else:
        raise FileFormatError("JSON stimuli must be a list of {emotion, text} records or a mapping emotion -> [texts]",
                              path=path)
    return rows


def _json_str(value: Any, path: Path, where: str) -> str:
    if not isinstance(value, str):
        raise FileFormatError(f"{where}: expected a string, found {type(value).__name__}", path=path)
    return value


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _group(rows: Sequence[tuple[Any, Mapping[str, str]]], path: Path | None) -> tuple[list[str], list[list[str]]]:
    """Group validated rows by emotion; raise one error naming every empty or duplicated text."""
    empty: list[str] = []
    duplicates: list[str] = []
    nul: list[str] = []
    seen: dict[str, tuple[Any, str]] = {}
    emotions: list[str] = []
    grouped: dict[str, list[str]] = {}
    for where, row in rows:
        emotion, text = row["emotion"].strip(), row["text"].strip()
        if not emotion:
            raise LabelError(f"{_where(where)}: empty emotion label", path=path)
        if "\x00" in emotion or "\x00" in text:  # NetCDF ends a string there: the rest would be lost
            nul.append(f"{_where(where)} ({emotion.replace(chr(0), '')})")
            continue
        if not text:
            empty.append(f"{_where(where)} ({emotion})")
            continue
        key = _normalise(text).casefold()
        if key in seen:
            first_where, first_emotion = seen[key]
            also = "" if first_emotion == emotion else f", under {first_emotion!r} and {emotion!r}"
            duplicates.append(f"{_where(first_where)} and {_where(where)}{also}: {text[:40]!r}")
            continue
        seen[key] = (where, emotion)
        if emotion not in grouped:
            emotions.append(emotion)
            grouped[emotion] = []
        grouped[emotion].append(text)
    problems = []
    if nul:
        problems.append(f"{len(nul)} text(s) or label(s) holding a NUL byte, which NetCDF cannot store (it would cut "
                        f"the text there), at {', '.join(nul[:3])}{' ...' if len(nul) > 3 else ''}")
    if empty:
        problems.append(f"{len(empty)} empty text(s) at {', '.join(empty[:3])}{' ...' if len(empty) > 3 else ''}")
    if duplicates:
        problems.append(f"{len(duplicates)} duplicated text(s) (compared case- and space-insensitively): "
                        f"{'; '.join(duplicates[:3])}{' ...' if len(duplicates) > 3 else ''}")
    if problems:
        raise ValidationError("; ".join(problems) + " (fix the file; nothing is dropped silently)", path=path)
    return emotions, [grouped[e] for e in emotions]


def _where(where: Any) -> str:
    return f"line {where}" if isinstance(where, int) else str(where)


def _balance_problems(emotions: Sequence[str], texts: Sequence[Sequence[str]]) -> list[str]:
    counts = {e: len(t) for e, t in zip(emotions, texts)}
    if len(set(counts.values())) <= 1:
        return []
    low = min(counts.values())
    high = max(counts.values())
    short = [f"{e} {n}" for e, n in counts.items() if n < high]
    return [f"unbalanced counts: {high} texts for most emotions but {', '.join(short[:6])}"
            f"{' ...' if len(short) > 6 else ''} (min {low}); missing prompts are marked invalid in the output"]


def _from_rows(name: str, rows, path: Path | None, source: str, baseline: Sequence[str]) -> StimulusSet:
    emotions, texts = _group(rows, path)
    if len(emotions) < 2:
        raise LabelError(f"a stimulus set needs at least 2 emotions, found {len(emotions)}", path=path)
    problems = _balance_problems(emotions, texts)
    for problem in problems:
        warnings.warn(f"{path or source}: {problem}", RsaStatsWarning, stacklevel=3)
    return StimulusSet(name=name, emotions=tuple(emotions), texts=tuple(tuple(t) for t in texts),
                       baseline=tuple(baseline), source=source, problems=tuple(problems))


def text_sources(stim: StimulusSet, baseline: Any) -> tuple[str | None, str | None]:
    """Where a set's texts and its baseline texts came from, for messages: each a file's path, or None (built in)."""
    def as_file(spec: Any) -> str | None:
        return str(spec) if spec is not None and Path(str(spec)).is_file() else None
    return as_file(stim.source), None if stim.paired else as_file(baseline)


def load_baseline(spec: str | Path | None = "builtin") -> tuple[str, ...]:
    """Baseline texts: ``"builtin"`` (the shipped 150), ``None``/``"none"`` (no baseline), or a
    file: CSV/TSV with a ``text`` column, JSON list of strings, or plain text with one per line."""
    if spec is None or str(spec).lower() == "none":
        return ()
    if str(spec) == "builtin":
        path = DATA_DIR / "baseline.csv"
        if not path.exists():
            raise FileFormatError("built-in baseline texts are missing (reinstall rsastats)", path=path)
    else:
        path = Path(spec)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".tab"):
        rows = [(line, {"emotion": "baseline", "text": r["text"]}) for line, r in _csv_rows(path, ("text",))]
    elif suffix == ".json":
        try:
            data = json.loads(_read_text(path))
        except json.JSONDecodeError as exc:
            raise FileFormatError(f"not valid JSON: {exc.msg} (line {exc.lineno})", path=path) from None
        if not isinstance(data, list):
            raise FileFormatError("JSON baseline must be a list of strings", path=path)
        rows = [(f"item {i}", {"emotion": "baseline", "text": _json_str(t, path, f"item {i}")}) for i, t in enumerate(data)]
    else:
        rows = [(i + 1, {"emotion": "baseline", "text": line}) for i, line in enumerate(_read_text(path).splitlines())
                if line.strip()]
    if not rows:
        raise ValidationError("no baseline texts in the file", path=path)
    _, texts = _group(rows, path)
    return tuple(texts[0])


def contrast_pairs() -> StimulusSet:
    """The built-in contrast pairs: the ``named`` texts, and as baseline the ``neutral`` texts with
    ``neutral`` replaced by :data:`CONTRAST_WORD` (text p is the negative of prompt p of every emotion).

    Raises ValidationError if a named text is not its contrast text with the word put back (the pair
    would then differ in more than the emotion word)."""
    named = load_builtin("named", baseline=None)
    word = re.compile(r"\bneutral\b")
    neutral = named.texts[named.emotions.index("neutral")]
    negatives = tuple(word.sub(CONTRAST_WORD, text, count=1) for text in neutral)
    contrast = re.compile(rf"\b{CONTRAST_WORD}\b")
    for emotion, texts in zip(named.emotions, named.texts):
        for p, (text, negative) in enumerate(zip(texts, negatives)):
            if contrast.sub(emotion, negative, count=1) != text or CONTRAST_WORD in text:
                raise ValidationError(f"named text {p} of {emotion!r} is not its contrast text with {emotion!r} "
                                      f"in place of {CONTRAST_WORD!r}: {text!r}", path=DATA_DIR / "named.csv")
    return replace(named, name="contrast", baseline=negatives, source="built-in:contrast", paired=True)


def load_builtin(name: str, *, baseline: str | Path | None = "builtin") -> StimulusSet:
    """A built-in stimulus set: ``"named"``, ``"implicit"`` or ``"contrast"`` (whose baseline is always
    its contrast texts; ``baseline`` is ignored for it)."""
    if name not in BUILTIN_SETS:
        raise ValidationError(f"unknown built-in stimulus set {name!r}; choose one of {', '.join(BUILTIN_SETS)} or give a file")
    if name == "contrast":
        return contrast_pairs()
    path = DATA_DIR / f"{name}.csv"
    if not path.exists():
        raise FileFormatError(f"built-in stimulus set {name!r} is missing (reinstall rsastats)", path=path)
    rows = _csv_rows(path, ("emotion", "text"))
    return _from_rows(name, rows, path, f"built-in:{name}", load_baseline(baseline))


def load_stimuli(spec: str | Path = "named", *, baseline: str | Path | None = "builtin") -> StimulusSet:
    """A built-in set by name (``named``, ``implicit``) or a user file (CSV/TSV/JSON of emotion, text).

    Raises
    ------
    FileFormatError : missing file, unreadable file, missing columns, malformed rows.
    ValidationError : empty or duplicated texts (all of them listed in one line).
    LabelError : empty emotion labels, fewer than 2 emotions.

    Unbalanced counts are reported with an :class:`~rsastats.exceptions.RsaStatsWarning` and in
    ``StimulusSet.problems``.
    """
    if str(spec) in BUILTIN_SETS:
        return load_builtin(str(spec), baseline=baseline)
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix == ".json":
        rows: list = _json_rows(path)
    elif suffix in (".csv", ".tsv", ".tab"):
        rows = _csv_rows(path, ("emotion", "text"))
    else:
        if not path.exists():
            raise FileFormatError(f"no such stimulus file, and not a built-in set ({', '.join(BUILTIN_SETS)})", path=path)
        raise FileFormatError("stimulus files must be .csv, .tsv or .json", path=path)
    if not rows:
        raise ValidationError("no stimuli in the file", path=path)
    return _from_rows(path.stem, rows, path, str(path), load_baseline(baseline))


def prompt_template_stimuli(template: str, emotions: Iterable[str], n_samples: int, *,
                            baseline: str | Path | None = "builtin") -> StimulusSet:
    """Generation prompts made from one template: ``template.format(emotion=e)`` repeated
    ``n_samples`` times per emotion (each repetition is sampled with its own seed)."""
    if "{emotion}" not in template:
        raise ValidationError(f"a prompt template must contain '{{emotion}}', got {template!r}")
    if n_samples < 1:
        raise ValidationError(f"need at least 1 sample per emotion, got {n_samples}")
    emotions = tuple(emotions)
    if len(emotions) < 2:
        raise LabelError("a prompt-template set needs at least 2 emotions")
    try:
        texts = tuple((template.format(emotion=e),) * n_samples for e in emotions)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValidationError(f"prompt template {template!r} cannot be filled with only {{emotion}}: {exc}") from None
    return StimulusSet(name="prompt-template", emotions=emotions, texts=texts, baseline=load_baseline(baseline),
                       source=f"template:{template}")


# --------------------------------------------------------------------------- word families
def load_word_families() -> dict[str, tuple[str, ...]]:
    """Condition -> stems of its own word family (``stimuli_data/word_families.json``)."""
    path = DATA_DIR / "word_families.json"
    data = json.loads(_read_text(path))
    return {str(k): tuple(str(s).lower() for s in v) for k, v in data.items()}


def word_family_violations(texts: Iterable[str], families: Mapping[str, Sequence[str]]) -> list[tuple[str, str, str]]:
    """``(text, token, condition)`` for every token (lowercase, ``[a-z']+``) that starts with a stem."""
    stems = [(stem, cond) for cond, family in families.items() for stem in family]
    found = []
    for text in texts:
        for token in _TOKEN.findall(text.lower()):
            for stem, cond in stems:
                if token.startswith(stem):
                    found.append((text, token, cond))
    return found
