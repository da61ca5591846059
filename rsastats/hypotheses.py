"""Hypothesis RDMs: what the geometry of the emotions would be if it were made of given features.

A hypothesis (or a confound, for the partial Mantel test) is given as

- a feature table (CSV/TSV, :func:`rsastats.io.features.read_feature_table`): one row per emotion, a
  column ``emotion`` and numeric feature columns (e.g. valence and arousal ratings).  Its RDM is the
  Euclidean distance between the emotions' standardized features: each feature is centred and
  divided by its standard deviation (``ddof=0``) over the emotions compared, so that every feature
  weighs the same whatever its scale;
- an RDM file (schema v1), used as stored;
- in Python also a :class:`~rsastats.rdm.RDM`, an RDM dataset or a DataFrame of features.

Rows (or RDM entries) for emotions the data do not have are left out (and named in ``note``); an
emotion of the data that the hypothesis lacks is an error, as are constant features, NaN, empty
values and duplicated emotions (or, with ``common_emotions`` in the comparisons, the data are cut to
the emotions every hypothesis has).  Built-in hypotheses are named ``builtin:NAME``
(:data:`BUILTIN_HYPOTHESES`): ``builtin:vader-valence``, the VADER lexicon's mean human valence of 18
of the study's 21 emotion words (MIT licence; valence only).  No valence-arousal norm set whose
licence allows redistribution could be obtained (docs/hypotheses.md).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .exceptions import LabelError, ValidationError
from .inputs import open_source
from .io.features import FEATURE_SUFFIXES, check_feature_table, read_feature_table
from .rdm import RDM, rdm_matrix
from .results import Record

__all__ = ["FEATURE_RDM", "BUILTIN_HYPOTHESES", "Hypothesis", "load_hypothesis", "load_hypotheses", "feature_rdm",
           "builtin_path", "hypothesis_emotions"]

# How a feature table becomes an RDM (said in tables and JSON).
FEATURE_RDM = "euclidean distance of z-scored features"
_DATA = Path(__file__).resolve().parent / "resources" / "hypotheses"
# Hypotheses that ship with rsastats, by name (``builtin:NAME``): the feature table of each.
BUILTIN_HYPOTHESES = {"vader-valence": _DATA / "vader_valence.csv"}
_BUILTIN = "builtin:"


def builtin_path(obj: Any) -> Any:
    """The file of ``builtin:NAME`` (a one-line error for an unknown name); anything else unchanged."""
    if not isinstance(obj, str) or not obj.startswith(_BUILTIN):
        return obj
    name = obj[len(_BUILTIN):].strip()
    if name not in BUILTIN_HYPOTHESES:
        raise ValidationError(f"unknown built-in hypothesis {obj!r}; built-in: "
                              f"{', '.join(_BUILTIN + k for k in BUILTIN_HYPOTHESES)}")
    return BUILTIN_HYPOTHESES[name]


def hypothesis_emotions(obj: Any) -> tuple[str, ...] | None:
    """The emotions a hypothesis (or confound) gives values for; None when it carries no labels (a
    square array, which must be in the data's order)."""
    obj = builtin_path(obj)
    if isinstance(obj, Hypothesis):
        return obj.rdm.labels
    if isinstance(obj, RDM):
        return obj.labels
    if isinstance(obj, pd.DataFrame):
        return tuple(str(e) for e in check_feature_table(obj, "features").index)
    if isinstance(obj, (str, os.PathLike)):
        if Path(obj).suffix.lower() in FEATURE_SUFFIXES:
            return tuple(str(e) for e in read_feature_table(obj).index)
        return open_source(str(obj), kinds=("rdm",), what="a hypothesis (or a confound)").emotions
    if isinstance(obj, xr.Dataset):
        return open_source(obj, kinds=("rdm",), what="a hypothesis (or a confound)").emotions
    return None


@dataclass(frozen=True)
class Hypothesis(Record):
    """A hypothesis RDM on given emotions, where it came from and how it was made."""

    name: str
    source: str
    kind: str  # "features" or "rdm"
    features: tuple[str, ...]
    made_by: str
    note: str
    rdm: RDM = field(repr=False, metadata={"json": False})


def feature_rdm(features: pd.DataFrame, emotions: Sequence[str], *, source: str | None = None) -> RDM:
    """The RDM of standardized features (rows ``emotions`` of a table from :func:`check_feature_table`)."""
    table = features.loc[list(emotions)]
    values = table.to_numpy(dtype=np.float64)
    spread = values.std(axis=0)
    scale = np.maximum(np.abs(values).max(axis=0), 1.0)
    constant = [str(c) for c, s, k in zip(table.columns, spread, scale) if s <= 1e-12 * k]
    if constant:
        raise ValidationError(f"feature {', '.join(repr(c) for c in constant)} is constant over the {len(emotions)} "
                              "emotions compared (it cannot be standardized and separates no emotions)", path=source)
    z = (values - values.mean(axis=0)) / spread
    matrix = rdm_matrix(z, "euclidean", labels=list(emotions), source=source)
    return RDM(matrix, tuple(emotions), "euclidean", source or "", {"hypothesis": FEATURE_RDM,
                                                                   "features": ", ".join(map(str, table.columns))})


def _missing(have: Sequence[str], emotions: Sequence[str], source: str | None) -> None:
    missing = [e for e in emotions if e not in set(have)]
    if missing:
        folded = {h.casefold(): h for h in have}
        case = [(folded[e.casefold()], e) for e in missing if e.casefold() in folded]
        hint = (f" (labels differ in letter case, e.g. {case[0][0]!r} in the file, {case[0][1]!r} in the data: "
                "emotion labels are matched exactly)" if case else
                " (--common-emotions, or common_emotions=True, compares the emotions it has)")
        raise LabelError(f"the hypothesis has no entry for {len(missing)} emotion(s) of the data: {', '.join(missing)}"
                         + hint, path=source)


def _unused_note(have: Sequence[str], emotions: Sequence[str]) -> str:
    extra = [e for e in have if e not in set(emotions)]
    return f"{len(extra)} emotion(s) not in the data left out: {', '.join(extra)}" if extra else ""


def _from_features(table: pd.DataFrame, emotions: Sequence[str], name: str, source: str) -> Hypothesis:
    _missing(table.index, emotions, source)
    rdm = feature_rdm(table, emotions, source=source)
    return Hypothesis(name, source, "features", tuple(map(str, table.columns)), FEATURE_RDM,
                      _unused_note(table.index, emotions), rdm)


def _from_rdm(rdm: RDM, emotions: Sequence[str], name: str, source: str) -> Hypothesis:
    _missing(rdm.labels, emotions, source)
    pos = {lab: i for i, lab in enumerate(rdm.labels)}
    idx = np.array([pos[e] for e in emotions])
    sub = RDM(rdm.matrix[np.ix_(idx, idx)], tuple(emotions), rdm.method, source, rdm.attrs)
    made = f"stored {rdm.method} RDM" if rdm.method else "stored RDM"
    return Hypothesis(name, source, "rdm", (), made, _unused_note(rdm.labels, emotions), sub)


def load_hypothesis(obj: Any, emotions: Sequence[str], *, name: str | None = None) -> Hypothesis:
    """The hypothesis ``obj`` on ``emotions`` (in that order).

    ``obj``: a path to a feature table (``.csv``, ``.tsv``, ``.txt``) or an RDM file, a
    :class:`~rsastats.rdm.RDM`, an RDM dataset, a DataFrame of features (an ``emotion`` column or
    index), a square array in the order of ``emotions``, or a :class:`Hypothesis` (re-made on ``emotions``).
    """
    emotions = [str(e) for e in emotions]
    if isinstance(obj, str) and obj.startswith(_BUILTIN):
        return load_hypothesis(builtin_path(obj), emotions, name=name or obj)
    if isinstance(obj, Hypothesis):
        return _from_rdm(obj.rdm, emotions, name or obj.name, obj.source)
    if isinstance(obj, (str, os.PathLike)):
        path = str(obj)
        label = name or Path(path).stem
        if Path(path).suffix.lower() in FEATURE_SUFFIXES:
            return _from_features(read_feature_table(path), emotions, label, path)
        source = open_source(path, kinds=("rdm",), what="a hypothesis (or a confound)")
        return _from_rdm(RDM.from_dataset(source.dataset, path), emotions, label, path)
    if isinstance(obj, pd.DataFrame):
        label = name or "features"
        return _from_features(check_feature_table(obj, label), emotions, label, label)
    if isinstance(obj, np.ndarray):  # a square matrix in the order of ``emotions``
        return _from_rdm(RDM(np.asarray(obj, dtype=np.float64), tuple(emotions), "", name or "rdm"), emotions,
                         name or "rdm", name or "rdm")
    if isinstance(obj, RDM):
        return _from_rdm(obj, emotions, name or obj.source or "rdm", obj.source or name or "rdm")
    if isinstance(obj, xr.Dataset):
        source = open_source(obj, kinds=("rdm",), what="a hypothesis (or a confound)")
        return _from_rdm(RDM.from_dataset(source.dataset, None), emotions, name or source.name, source.where)
    raise ValidationError(f"a hypothesis is a feature table (CSV), an RDM file, an RDM or a DataFrame, not a "
                          f"{type(obj).__name__}")


def load_hypotheses(objs: Sequence[Any], emotions: Sequence[str], names: Sequence[str] | None = None) -> list[Hypothesis]:
    """:func:`load_hypothesis` of each; names made unique (``name#2``) when two would be equal."""
    out = [load_hypothesis(o, emotions, name=None if names is None else names[i]) for i, o in enumerate(objs)]
    seen: dict[str, int] = {}
    renamed = []
    for h in out:
        seen[h.name] = seen.get(h.name, 0) + 1
        renamed.append(h if seen[h.name] == 1 else Hypothesis(f"{h.name}#{seen[h.name]}", h.source, h.kind, h.features,
                                                              h.made_by, h.note, h.rdm))
    return renamed
