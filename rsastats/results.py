"""One base for result objects, and one vocabulary of field names.

Every result of rsastats is a small frozen dataclass that derives from :class:`Record`; ``to_dict``
and ``to_frame`` come from its fields, so a field is named once and its JSON key is its name.

Vocabulary (the same name means the same thing in every result, JSON key and table):

=====================  =================================================================
``rho``                the rank correlation of two RDMs, as measured
``ci_low``, ``ci_high`` the interval of the estimate it sits beside; ``ci_method`` how it was
                       formed (``percentile``, ``basic``, ``bca``, ...), ``confidence`` its level
``bootstrap``          what was resampled: ``emotions``, ``prompts`` or ``both``
``n_boot``             bootstrap resamples asked for; ``n_undefined`` those left out
``rank``               the rank measure comparing RDMs (``spearman``, ``pearson``, ...)
``rdm``                the dissimilarity of the RDMs (``cosine``, ``correlation``, ...)
``p_value``            a Mantel permutation p (emotion labels permuted) unless named otherwise
``n_permutations``     permutations used; ``permutation_exact`` true when all ``n!`` were
``n_emotions``         emotions compared
``seed``               the integer seed given (``None`` when a Generator or nothing was given)
=====================  =================================================================

Field metadata: ``field(metadata={"json": False})`` keeps a field (e.g. a bootstrap distribution)
out of ``to_dict``; ``{"key": "name"}`` gives it another JSON key (used only where a key was
published before the vocabulary was fixed; see CHANGELOG.md).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Record", "to_jsonable", "record_fields"]


def record_fields(obj: Any) -> list[tuple[str, dataclasses.Field]]:
    """``(json key, field)`` of the fields of a dataclass instance that ``to_dict`` shows."""
    out = []
    for f in dataclasses.fields(obj):
        if f.metadata.get("json", True):
            out.append((f.metadata.get("key", f.name), f))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclasses.dataclass(frozen=True)
class Record:
    """Base of result dataclasses: ``to_dict`` (JSON-ready keys, nested records as dicts) and
    ``to_frame`` (one row).  Subclasses override either when their natural table is not one row."""

    def to_dict(self) -> dict[str, Any]:
        return {key: _plain(getattr(self, f.name)) for key, f in record_fields(self)}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def to_jsonable(obj: Any) -> Any:
    """Numbers, arrays, paths, records and frames as plain JSON values; NaN and Inf become null."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(float(obj)) else None
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        try:
            return to_jsonable(obj.to_dict())
        except TypeError:
            pass
    return obj
