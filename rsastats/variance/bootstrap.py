"""Uncertainty of the decomposition: a bootstrap over emotions (resampled emotions rebuild the
cells; each replicate refits the model), a leave-one-emotion-out jackknife for BCa, and the
intervals of variances, shares and pair rhos formed from them.

Replicate ``b`` draws from child ``b`` of the seed, so the result does not depend on how the
replicates are grouped: in this process, or in ranges through a runner's ``map_ranges``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .._rng import seed_sequence, spawn_generators
from ..exceptions import EstimationError
from ..intervals import bootstrap_interval
from ..parallel import LocalRunner
from .fit import fit
from .responses import pair_correlations, resampled_cells, standardise

__all__ = ["NAN2", "Replicates", "replicate", "bootstrap", "jackknife", "interval", "ReplicateIntervals"]

NAN2 = (float("nan"), float("nan"))
# (0, inf): a variance interval is kept >= 0 and unbounded above.
_VARIANCE_BOUNDS = (0.0, float("inf"))


@dataclass
class Replicates:
    """Bootstrap replicates: variances (B, m + 1: components then residual) and pair rhos (B, P);
    a failed replicate is a row of NaN."""

    variances: np.ndarray
    rho: np.ndarray
    nonconverged: int
    failed: int


def replicate(rdms: np.ndarray, index: np.ndarray, g: np.ndarray, levels: list, pair_idx: np.ndarray, response: str,
              engine: str, reml: bool, start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, bool]:
    """The model refitted on the emotions ``index``: variances then residual, the pair rhos, converged."""
    cells, _ = resampled_cells(rdms, index)
    y = standardise(cells, response)
    ranks = y if response == "rank" else standardise(cells, "rank")
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(ranks)):
        raise EstimationError("a file's resampled cells are all equal")
    fitted = fit(engine, y, g, levels, reml, start)
    return np.append(fitted.variances, fitted.residual), pair_correlations(ranks, pair_idx), fitted.converged


def bootstrap(rdms, g, levels, pair_idx, response, engine, reml, start, n_boot, seed,
              progress: Callable[[int], None] | None, runner: Any = None) -> Replicates:
    """``n_boot`` replicates over emotions through ``runner`` (:mod:`rsastats.parallel`; None: in this
    process): replicate ``b`` draws from child ``b`` of ``seed`` however the ranges are cut, so the
    result is the same."""
    seed = seed_sequence(seed)  # once: a Generator seed advances as it would in-process
    shared = (rdms, g, levels, pair_idx, response, engine, reml, start, seed)
    parts = (LocalRunner() if runner is None else runner).map_ranges(_bootstrap_range_on_worker, n_boot, shared,
                                                                     progress=progress)
    return Replicates(np.concatenate([p.variances for p in parts]), np.concatenate([p.rho for p in parts]),
                      sum(p.nonconverged for p in parts), sum(p.failed for p in parts))


def _bootstrap_range(shared: tuple, lo: int, hi: int, progress: Callable[[int], None] | None = None) -> Replicates:
    """Replicates ``lo .. hi - 1`` (each from its own child stream of the seed)."""
    rdms, g, levels, pair_idx, response, engine, reml, start, seed = shared
    n = rdms.shape[1]
    m = g.shape[0] + 1
    variances = np.full((hi - lo, m), np.nan)
    rho = np.full((hi - lo, pair_idx.shape[0]), np.nan)
    nonconverged = failed = 0
    # One child stream per replicate: the result never depends on how replicates are grouped.
    for b, rng in enumerate(spawn_generators(seed, hi)[lo:]):
        index = rng.integers(0, n, size=n)
        while np.unique(index).size < 3:  # at least three distinct emotions make an RDM with >= 3 cells
            index = rng.integers(0, n, size=n)
        try:
            variances[b], rho[b], converged = replicate(rdms, index, g, levels, pair_idx, response, engine, reml, start)
            nonconverged += not converged
        except EstimationError:
            failed += 1
        if progress is not None:
            progress(1)
    return Replicates(variances, rho, nonconverged, failed)


def _bootstrap_range_on_worker(shared: tuple, lo: int, hi: int,
                               progress: Callable[[int], None] | None = None) -> Replicates:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # as decompose_rdms fits in-process
        return _bootstrap_range(shared, lo, hi, progress)


def jackknife(rdms, g, levels, pair_idx, response, engine, reml, start) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-emotion-out variances (n, m + 1) and pair rhos (n, P), for BCa's acceleration."""
    n = rdms.shape[1]
    out_var, out_rho = [], []
    for e in range(n):
        index = np.delete(np.arange(n), e)
        v, r, _ = replicate(rdms, index, g, levels, pair_idx, response, engine, reml, start)
        out_var.append(v)
        out_rho.append(r)
    return np.array(out_var), np.array(out_rho)


def interval(estimate: float, reps: np.ndarray, jack: np.ndarray | None, method: str, confidence: float,
             bounds: tuple[float, float], messages: list[str], what: str) -> tuple[float, float]:
    """CI from the finite replicates: ``bounds`` ``(-1, 1)`` for correlations, ``(0, 1)`` for shares,
    ``(0, inf)`` for variances (kept >= 0).  NaN when fewer than 2 replicates are defined.

    A BCa interval whose bias correction is infinite (every replicate on one side of the estimate, as
    happens at the boundary) falls back to the percentile interval, and ``messages`` says so for
    ``what``; so do the interval function's warnings (e.g. too few replicates for the level).
    """
    result = bootstrap_interval(estimate, reps, method=method, confidence=confidence, jackknife=jack, bounds=bounds,
                                bca_fallback="percentile")
    if not (np.isfinite(result.low) and np.isfinite(result.high)):
        return NAN2
    notes = list(result.notes)
    if result.method != method:  # the first note says why BCa fell back
        notes[0] = (f"BCa interval undefined for {what} (every replicate on one side of the estimate); "
                    f"{result.method} interval given")
    messages.extend(notes)
    return result.low, result.high


class ReplicateIntervals:
    """Bootstrap (and jackknife) intervals of functions of the replicate variances."""

    def __init__(self, reps: Replicates | None, jack_var: np.ndarray | None, method: str, confidence: float,
                 messages: list[str]):
        self.reps, self.jack_var, self.method, self.confidence = reps, jack_var, method, confidence
        self.messages = messages

    def of(self, fn: Callable[[np.ndarray], np.ndarray], estimate: float, bounds: tuple[float, float],
           what: str) -> tuple[float, float]:
        if self.reps is None:
            return NAN2
        jack = fn(self.jack_var) if self.jack_var is not None else None
        return interval(estimate, fn(self.reps.variances), jack, self.method, self.confidence, bounds, self.messages,
                        what)

    def share(self, idx: list[int], estimate: float, what: str) -> tuple[float, float]:
        return self.of(lambda v: np.clip(v[:, idx].sum(axis=1) / v.sum(axis=1), 0.0, 1.0), estimate, (0.0, 1.0),
                       f"the share of {what}")

    def variance(self, j: int, estimate: float, what: str) -> tuple[float, float]:
        return self.of(lambda v: v[:, j], estimate, _VARIANCE_BOUNDS, f"the variance of {what}")
