"""Results of :func:`rsastats.geometry.geometry` and :func:`rsastats.geometry.compare_geometry`.

Each is a :class:`rsastats.results.Record`: ``to_dict`` comes from the fields.  Lists of per-descriptor
records are published as objects keyed by descriptor name (``{"baseline_anisotropy": {...}}``),
written by :func:`keyed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..results import Record

__all__ = ["keyed", "DescriptorEstimate", "LayerGeometry", "GeometryResult", "DescriptorChange",
           "GeometryComparison"]


def keyed(records: Sequence[Record], key: str) -> dict[str, dict[str, Any]]:
    """``{record.key: the record's other fields}`` for a sequence of records."""
    out = {}
    for record in records:
        item = record.to_dict()
        out[item.pop(key)] = item
    return out


def _find(records: Sequence[Any], attribute: str, value: Any) -> Any:
    for record in records:
        if getattr(record, attribute) == value:
            return record
    raise KeyError(value)


@dataclass(frozen=True)
class DescriptorEstimate(Record):
    """One descriptor at one layer: estimate and bootstrap CI, or why there is none.

    ``estimate`` is the point the interval is built around (for the default basic interval, the
    plug-in value corrected by the bootstrap's median bias), so it lies inside ``[ci_low, ci_high]``;
    ``plugin`` is the descriptor computed from the texts at hand (as measured; the estimate when there
    is no interval).  ``status`` is ``"ok"``, ``"no-ci"`` (estimate without interval) or ``"missing"``
    (not computable from this file); ``note`` says why, and reports resamples left out as undefined.
    ``ci_method`` names the interval method (with the default, one descriptor takes its own: docs/geometry.md,
    'Per-descriptor intervals'); "" where nothing was resampled.
    """

    descriptor: str
    group: str
    estimate: float
    plugin: float
    ci_low: float
    ci_high: float
    n_boot: int
    status: str
    note: str = ""
    ci_method: str = ""


@dataclass(frozen=True)
class LayerGeometry(Record):
    """All descriptors of one file at one layer."""

    layer: int | None
    n_emotions: int
    n_prompts: int
    n_baseline: int
    estimates: tuple[DescriptorEstimate, ...] = field(metadata={"key": "descriptors"})

    def __getitem__(self, name: str) -> DescriptorEstimate:
        return _find(self.estimates, "descriptor", name)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "descriptors": keyed(self.estimates, "descriptor")}


@dataclass(frozen=True)
class GeometryResult(Record):
    """Descriptors of one file at every requested layer."""

    source: str
    model: str
    family: str
    variant: str
    kind: str
    n_boot: int
    confidence: float
    ci_method: str
    seed: int | None
    notes: tuple[str, ...]
    layers: tuple[LayerGeometry, ...]

    def layer(self, layer: int | None) -> LayerGeometry:
        return _find(self.layers, "layer", layer)

    def to_frame(self) -> pd.DataFrame:
        """One row per layer x descriptor."""
        rows = [{"source": self.source, "model": self.model, "variant": self.variant, "layer": item.layer,
                 **est.to_dict()} for item in self.layers for est in item.estimates]
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class DescriptorChange(Record):
    """Instruct minus base for one descriptor, with a bootstrap CI of the difference.

    ``base`` and ``instruct`` are plug-in values; ``change_plugin`` is their difference and ``change``
    the point the interval of the change is built around (inside ``[ci_low, ci_high]``).
    """

    descriptor: str
    base: float
    instruct: float
    change: float
    change_plugin: float
    ci_low: float
    ci_high: float
    n_boot: int
    status: str
    note: str = ""


@dataclass(frozen=True)
class GeometryComparison(Record):
    """A base and an instruct model at one layer: RDM rho with CI and every descriptor's change.

    ``rho`` is the Spearman correlation of the two raw cosine RDMs (``rank`` and ``rdm`` in the JSON).
    """

    base_source: str = field(metadata={"key": "base"})
    instruct_source: str = field(metadata={"key": "instruct"})
    base_model: str
    instruct_model: str
    base_layer: int | None
    instruct_layer: int | None
    rho: float
    rho_ci_low: float
    rho_ci_high: float
    rho_n_boot: int
    rdm: str
    rank: str
    paired_prompts: bool
    paired_baseline: bool
    pairing_note: str
    n_emotions: int
    n_boot: int
    confidence: float
    ci_method: str
    seed: int | None
    changes: tuple[DescriptorChange, ...]

    def __getitem__(self, name: str) -> DescriptorChange:
        return _find(self.changes, "descriptor", name)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "changes": keyed(self.changes, "descriptor")}

    def to_frame(self) -> pd.DataFrame:
        """One row per descriptor (and one for rho)."""
        rows = [{"descriptor": "rdm_rho", "base": np.nan, "instruct": np.nan, "change": self.rho,
                 "ci_low": self.rho_ci_low, "ci_high": self.rho_ci_high, "n_boot": self.rho_n_boot,
                 "status": "ok", "note": f"Spearman rho between the raw {self.rdm} RDMs"}]
        rows += [c.to_dict() for c in self.changes]
        return pd.DataFrame(rows)
