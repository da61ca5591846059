"""The records a decomposition returns: components, layer shares, the simple view (pair and
condition contrasts), the files and the diagnostics, gathered in :class:`DecompositionResult`.

Every record derives from :class:`rsastats.results.Record`: its JSON keys are its fields (an
interval is two fields, ``..._ci_low`` and ``..._ci_high``; the tuple is a property).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..results import Record

__all__ = [
    "FileCondition",
    "VarianceComponent",
    "LayerShare",
    "PairContrast",
    "ConditionContrast",
    "DecompositionDiagnostics",
    "DecompositionResult",
]


@dataclass(frozen=True)
class FileCondition(Record):
    """One input file: its name, kind, which layers its vectors came from and its factor levels."""

    name: str
    kind: str
    layers: str
    levels: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "layers": self.layers, **self.levels}


@dataclass(frozen=True)
class VarianceComponent(Record):
    """One variance component of the decomposition.

    ``variance`` is on the scale of the within-file standardised response (each file's cells have
    variance 1), ``share`` is the variance over the sum of all estimated variances.  ``lrt_p`` uses
    the 50:50 chi-square(0)/chi-square(1) mixture assuming independent cells; ``lrt_p_adjusted``
    divides the statistic by ``design_effect`` (the estimated variance inflation caused by cells that
    share an emotion, at least 1) and uses F(1, n-1) for the chi-square(1) part.  Components that
    cannot be estimated from these files have ``estimable=False``, NaN numbers and the reason in ``note``.
    """

    name: str = field(metadata={"key": "component"})
    layer: str
    term: str
    n_levels: int
    estimable: bool
    variance: float
    variance_ci_low: float
    variance_ci_high: float
    share: float
    share_ci_low: float
    share_ci_high: float
    lrt_statistic: float
    lrt_p: float
    design_effect: float
    lrt_p_adjusted: float
    at_boundary: bool
    note: str = ""

    @property
    def variance_ci(self) -> tuple[float, float]:
        return self.variance_ci_low, self.variance_ci_high

    @property
    def share_ci(self) -> tuple[float, float]:
        return self.share_ci_low, self.share_ci_high


@dataclass(frozen=True)
class LayerShare(Record):
    """The share of one of the study's layers: the sum of its estimable components."""

    layer: str
    components: tuple[str, ...]
    share: float
    share_ci_low: float
    share_ci_high: float
    note: str = ""

    @property
    def share_ci(self) -> tuple[float, float]:
        return self.share_ci_low, self.share_ci_high


@dataclass(frozen=True)
class PairContrast(Record):
    """Spearman rho between the RDMs of two files of one model that differ in one layer only."""

    layer: str
    factor: str
    model: str
    level_a: str
    level_b: str
    file_a: str
    file_b: str
    rho: float
    ci_low: float
    ci_high: float
    implied_rho: float

    @property
    def ci(self) -> tuple[float, float]:
        return self.ci_low, self.ci_high


@dataclass(frozen=True)
class ConditionContrast(Record):
    """The simple view: mean Spearman rho over all file pairs that differ only in ``factor``
    between ``levels`` (e.g. fp32 vs int8-token), with a bootstrap CI over emotions, and the mean
    rho the fitted decomposition implies for those pairs."""

    layer: str
    factor: str
    levels: str
    n_pairs: int
    models: tuple[str, ...]
    mean_rho: float
    ci_low: float
    ci_high: float
    min_rho: float
    max_rho: float
    implied_rho: float

    @property
    def ci(self) -> tuple[float, float]:
        return self.ci_low, self.ci_high


@dataclass(frozen=True)
class DecompositionDiagnostics(Record):
    """How the decomposition was fitted and what went wrong, if anything."""

    formula: str
    engine: str
    method: str
    response: str
    converged: bool
    singular: bool
    log_likelihood: float
    n_files: int
    n_emotions: int
    n_cells: int
    n_observations: int
    n_boot: int
    n_boot_nonconverged: int
    n_boot_failed: int
    ci_method: str
    confidence: float
    seed: int | None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # How the RDMs were made (set by decompose; None when decompose_rdms was given RDMs).
    layer: int | None = None
    last_k: int | None = None
    normalization: str | None = None
    rdm: str | None = None


@dataclass(frozen=True)
class DecompositionResult(Record):
    """Result of :func:`decompose`: components, layer shares, the simple view, files, diagnostics.

    ``to_frame()`` is the component table; ``layers_frame()``, ``contrasts_frame()``,
    ``pairs_frame()`` and ``files_frame()`` give the others; ``to_dict()`` everything (JSON-ready,
    without the bootstrap replicates, which are in ``bootstrap_shares``: n_boot x components).
    """

    components: tuple[VarianceComponent, ...]
    layers: tuple[LayerShare, ...]
    contrasts: tuple[ConditionContrast, ...]
    pairs: tuple[PairContrast, ...]
    files: tuple[FileCondition, ...]
    emotions: tuple[str, ...]
    diagnostics: DecompositionDiagnostics
    bootstrap_shares: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros((0, 0)),
                                         metadata={"json": False})

    def component(self, name: str) -> VarianceComponent:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(f"no component {name!r}; have {[c.name for c in self.components]}")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.to_dict() for c in self.components])

    def layers_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.layers])

    def contrasts_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.contrasts])

    def pairs_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.pairs])

    def files_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.files])
