"""The Record base: to_dict from fields (metadata json=False hides, key= renames), nested records,
numpy scalars; to_jsonable turns NaN into null."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from rsastats.results import Record, to_jsonable


@dataclass(frozen=True)
class _Inner(Record):
    value: float


@dataclass(frozen=True)
class _Outer(Record):
    rho: float
    exact: bool = field(metadata={"key": "permutation_exact"})
    inner: tuple[_Inner, ...]
    n: np.int64
    distribution: np.ndarray = field(repr=False, metadata={"json": False})


def test_to_dict_follows_fields_and_metadata():
    rec = _Outer(0.5, True, (_Inner(1.0), _Inner(2.0)), np.int64(3), np.arange(3.0))
    out = rec.to_dict()
    assert out == {"rho": 0.5, "permutation_exact": True, "inner": [{"value": 1.0}, {"value": 2.0}], "n": 3}
    assert type(out["n"]) is int
    assert list(rec.to_frame().columns) == ["rho", "permutation_exact", "inner", "n"]


def test_to_jsonable_makes_nan_null_and_arrays_lists():
    assert json.dumps(to_jsonable({"a": np.array([1.0, np.nan]), "b": _Inner(np.inf)})) == '{"a": [1.0, null], "b": {"value": null}}'
