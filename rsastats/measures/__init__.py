"""One table of the measures that compare two RDMs (over their upper-triangle cells).

Every part of rsastats that compares RDMs — the point estimate, the bootstrap engine (weighted cells),
the Mantel test (labels permuted), the noise ceilings (pooled RDMs) — looks its measure up here with
:func:`rank_measure`; an unknown name is an error.  To add a measure: one :class:`RankMeasure` entry
(and, if it is not a dot product of transformed rows, a kernel in :mod:`.kernels`), plus a reference
test against an independent implementation (docs/architecture.md).

==============  =====================================================================================
``spearman``    Pearson correlation of mid-ranks (ties share their average rank)
``pearson``     Pearson correlation of the dissimilarities
``kendall-b``   Kendall's tau-b (tie-corrected); alias ``kendall``
``kendall-a``   Kendall's tau-a (concordant minus discordant pairs over all pairs; Nili et al. 2014)
``rho-a``       Spearman's rho-a: ``12 sum (r - mean)(s - mean) / (n^3 - n)`` on mid-ranks, the expected
                Spearman correlation under random tie-breaking (Nili et al. 2014; rsatoolbox ``rho-a``)
``cosine``      cosine similarity of the dissimilarity vectors (no centring; rsatoolbox ``cosine``)
==============  =====================================================================================

"Linear" measures are a dot product of rows transformed (mid-ranks or not), centred (or not) and
scaled (:func:`.kernels.scale_rows`): a Mantel permutation then only gathers the transformed cells of
one RDM, and a bootstrap resample is a weight vector over the cells.  Kendall's taus count pairs of
cells and go pair by pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..checks import check_choice
from .kernels import degenerate, fixed_midranks, scale_rows, weighted_kendall, weighted_midranks

__all__ = ["RankMeasure", "RANK_MEASURES", "RANK_METHODS", "rank_measure", "rank_method_name", "correlate_rows",
           "pool_uppers"]


@dataclass(frozen=True)
class RankMeasure:
    """How one measure compares RDM cells.

    ``family``: ``"linear"`` (dot product of rows made by ``ranks``, ``centre``, ``scale``) or
    ``"kendall"`` (pairwise concordance, ``variant`` ``"a"`` or ``"b"``).  ``pool``: how a group of
    RDMs is pooled for the leave-one-out noise ceiling so that the pooled RDM scores best under this
    measure (as rsatoolbox's ``pool_rdm``): ``"ranks"`` (mean of mid-ranks), ``"zscore"`` (mean of
    z-scored cells) or ``"rms"`` (mean of cells scaled to unit root mean square).
    """

    name: str
    description: str
    family: str
    ranks: bool
    centre: bool = True
    scale: str = "norm"
    variant: str = ""
    pool: str = "ranks"

    def transform(self, values: np.ndarray, weights: np.ndarray | None = None,
                  order: np.ndarray | None = None) -> np.ndarray:
        """The cells a linear measure correlates: (weighted) mid-ranks or the values themselves."""
        return weighted_midranks(values, weights, order) if self.ranks else np.asarray(values, dtype=np.float64)

    def standardized(self, values: np.ndarray, weights: np.ndarray | None = None,
                     order: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose dot product is the measure (linear family): ``(z, ok)``."""
        return scale_rows(self.transform(values, weights, order), weights, centre=self.centre, scale=self.scale)

    def standardized_fixed(self, rows: np.ndarray, order: np.ndarray | None, weights: np.ndarray | None) -> np.ndarray:
        """:meth:`standardized` of fixed rows (K, m) under many weight vectors (B, m): (K, B, m) (the rows are
        sorted once; ``order`` their argsort, needed when the measure ranks)."""
        rows = np.asarray(rows, dtype=np.float64)
        if weights is None:
            return self.standardized(rows[:, None, :], None, None if order is None else order[:, None, :])[0]
        values = fixed_midranks(rows, order, weights) if self.ranks else np.broadcast_to(
            rows[:, None, :], (rows.shape[0],) + np.shape(weights))
        return scale_rows(values, np.asarray(weights, dtype=np.float64)[None], centre=self.centre, scale=self.scale)[0]

    def correlate(self, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None,
                  x_order: np.ndarray | None = None, y_order: np.ndarray | None = None) -> np.ndarray:
        """The measure between each row of ``x`` and the matching row of ``y`` (cells repeated ``weights``
        times); NaN where a row is degenerate."""
        if self.family == "linear":
            zx, _ = self.standardized(x, weights, x_order)
            zy, _ = self.standardized(y, weights, y_order)
            return np.clip((zx * zy).sum(axis=-1), -1.0, 1.0)
        out = weighted_kendall(x, y, weights, self.variant)
        bad = degenerate(x, weights) | degenerate(y, weights)
        return np.where(bad, np.nan, out)


RANK_MEASURES: dict[str, RankMeasure] = {m.name: m for m in (
    RankMeasure("spearman", "Pearson correlation of mid-ranks", "linear", ranks=True),
    RankMeasure("pearson", "Pearson correlation of the dissimilarities", "linear", ranks=False, pool="zscore"),
    RankMeasure("kendall-b", "Kendall's tau-b", "kendall", ranks=True, variant="b"),
    RankMeasure("kendall-a", "Kendall's tau-a", "kendall", ranks=True, variant="a"),
    RankMeasure("rho-a", "Spearman's rho-a (expected rho under random tie-breaking)", "linear", ranks=True,
                scale="rank-variance"),
    RankMeasure("cosine", "cosine similarity of the dissimilarity vectors", "linear", ranks=False, centre=False,
                pool="rms"),
)}
RANK_METHODS = tuple(RANK_MEASURES)
_ALIASES = {"kendall": "kendall-b", "tau-b": "kendall-b", "tau_b": "kendall-b", "tau-a": "kendall-a",
            "tau_a": "kendall-a", "kendall_b": "kendall-b", "kendall_a": "kendall-a", "rho": "spearman",
            "rho_a": "rho-a", "rhoa": "rho-a", "cos": "cosine", "corr": "pearson"}


def rank_method_name(method: Any) -> str:
    """The canonical name of a measure (accepts rsatoolbox's spellings); unknown names are errors."""
    return check_choice("rank correlation method", method, RANK_METHODS, _ALIASES)


def rank_measure(method: Any) -> RankMeasure:
    """The :class:`RankMeasure` called ``method``."""
    return RANK_MEASURES[rank_method_name(method)]


def correlate_rows(x: np.ndarray, y: np.ndarray, method: str, weights: np.ndarray | None = None,
                   x_order: np.ndarray | None = None, y_order: np.ndarray | None = None) -> np.ndarray:
    """:meth:`RankMeasure.correlate` of the measure called ``method``."""
    return rank_measure(method).correlate(x, y, weights, x_order, y_order)


def pool_uppers(uppers: np.ndarray, method: str) -> np.ndarray:
    """The RDM (upper triangle) that best represents a group (M, m) under ``method``, as rsatoolbox's
    ``pool_rdm`` makes it."""
    pool = rank_measure(method).pool
    if pool == "zscore":
        z = uppers - uppers.mean(axis=-1, keepdims=True)
        z = z / z.std(axis=-1, keepdims=True)
        return z.mean(axis=-2)
    if pool == "rms":
        return (uppers / np.sqrt((uppers**2).mean(axis=-1, keepdims=True))).mean(axis=-2)
    return weighted_midranks(uppers).mean(axis=-2)
