"""Emotion feature tables (CSV): one row per emotion, a column ``emotion`` and numeric feature columns.

A hypothesis RDM (or a confound RDM) can be given as the features it is made of, e.g. valence and
arousal ratings from a published norm set.  Lines starting with ``#`` are comments (cite the source
there).  Every problem is a one-line error naming the file: no ``emotion`` column, no feature column,
an empty or duplicated emotion label, a value that is empty, not a number, NaN or infinite.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import FileFormatError, LabelError, ValidationError
from .schema import check_labels
from .text import read_text_file, separator_problem

__all__ = ["FEATURE_SUFFIXES", "read_feature_table", "check_feature_table"]

FEATURE_SUFFIXES = (".csv", ".tsv", ".txt")


def read_feature_table(path: str | os.PathLike) -> pd.DataFrame:
    """The validated table of ``path``: index ``emotion`` (str), one float column per feature."""
    where = str(path)
    if not Path(path).is_file():
        raise FileFormatError("no such file", path=where)
    text = read_text_file(path, "feature table")  # UTF-8 (a BOM allowed), bounded size, the offset of a bad byte
    sep = "\t" if Path(path).suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, comment="#", dtype=str, keep_default_na=False,
                            skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise FileFormatError(f"not a readable feature table ({' '.join(str(exc).split())})", path=where) from None
    if frame.shape[1] == 1 and separator_problem(str(frame.columns[0]), sep):
        raise FileFormatError(separator_problem(str(frame.columns[0]), sep), path=where)
    return check_feature_table(frame, where)


def check_feature_table(frame: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    """A table of strings or numbers with an ``emotion`` column (or an emotion index) -> floats by emotion."""
    frame = frame.copy()
    frame.columns = [str(c).strip() for c in frame.columns]
    keys = [c for c in frame.columns if c.lower() == "emotion"]
    if keys:
        labels = frame.pop(keys[0])
    elif str(frame.index.name or "").lower() == "emotion":
        labels = pd.Series(frame.index, index=frame.index)
    else:
        raise ValidationError("a feature table needs a column named 'emotion' (one row per emotion) and numeric "
                              "feature columns", path=source)
    try:
        labels = check_labels(labels.tolist(), "emotion", source)
    except LabelError as exc:
        raise LabelError(exc.problem, path=source) from None
    if frame.shape[1] == 0:
        raise ValidationError("a feature table needs at least one numeric feature column besides 'emotion'", path=source)
    values = np.empty(frame.shape)
    for j, column in enumerate(frame.columns):
        for i, cell in enumerate(frame[column].tolist()):
            values[i, j] = _number(cell, labels[i], column, source)
    return pd.DataFrame(values, index=pd.Index(list(labels), name="emotion"), columns=list(frame.columns))


def _number(cell: object, emotion: str, column: str, source: str | None) -> float:
    text = str(cell).strip()
    if not text:
        raise ValidationError(f"empty value for emotion {emotion!r} in column {column!r}", path=source)
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(f"value {text!r} for emotion {emotion!r} in column {column!r} is not a number",
                              path=source) from None
    if not np.isfinite(value):
        raise ValidationError(f"value for emotion {emotion!r} in column {column!r} is {text} (NaN and infinite values "
                              "are not allowed)", path=source)
    return value
