"""rho_corrected's join with rho's interval, whatever interval of rho was asked for.

:func:`~rsastats.inference.corrected_ci.joined_with_rho` joins an interval of rho_corrected that is narrow at the
bound with rho's interval, relying on that interval covering rho's expectation at its nominal level.  The default
interval of rho (``jackknife-t`` over emotions) does (docs/calibration.md); the others need not: ``--bootstrap
prompts`` keeps the emotions and sits below rho, ``--ci percentile`` was not chosen for its coverage.  So the join
always uses rho's default interval, computed here when the interval reported for rho is another one, and only for the
pairs that need it.  rho_corrected's interval then does not depend on how rho's interval was asked for.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..intervals import CORRELATION_BOUNDS, DEFAULT_CI
from ..intervals.bootstrap import confidence_interval
from .corrected_ci import joined_with_rho, narrow_at_bound
from .degeneracy import pair_second_order
from .engine import ResamplingEngine
from .prompt_jackknife import prompt_strata
from .settings import DEFAULT_SCHEME

__all__ = ["joined_records"]


def _needs_join(record: Any) -> bool:
    low, high = record.corrected_ci_low, record.corrected_ci_high
    return (record.rho_corrected is not None and low is not None and high is not None
            and bool(np.isfinite(low) and np.isfinite(high)) and narrow_at_bound(low, high))


def default_rho_intervals(models: Sequence[Any], pairs: np.ndarray, point: np.ndarray, *, confidence: float,
                          rank: str, rdm_method: str) -> list[tuple[float, float]]:
    """rho's default interval (:data:`~rsastats.intervals.DEFAULT_CI` over emotions, as ``compare`` gives it with its
    defaults) of each pair (i, j) of ``pairs`` with estimate ``point[k]``; NaN ends where it gives none."""
    engine = ResamplingEngine(models, rank=rank, scheme=DEFAULT_SCHEME, rdm_method=rdm_method)
    strata = engine.jackknife(pairs)
    second = pair_second_order(engine, pairs, point, DEFAULT_CI)
    prompts = prompt_strata(models, pairs, strata, ci=DEFAULT_CI, rank=rank, rdm_method=rdm_method)
    out = []
    for k in range(len(pairs)):
        jack = [s[:, k][np.isfinite(s[:, k])] for s in strata]
        low, high = confidence_interval(float(point[k]), None, method=DEFAULT_CI, confidence=confidence,
                                        jackknife=jack, bounds=CORRELATION_BOUNDS,
                                        second_order=None if second is None else float(second[k]), prompts=prompts[k])
        out.append((float(low), float(high)))
    return out


def joined_records(records: Sequence[Any], rho_intervals: Sequence[tuple[float | None, float | None]], *,
                   models: Sequence[Any], pairs: np.ndarray, point: np.ndarray, ci: str, scheme: str,
                   confidence: float, rank: str, rdm_method: str) -> list[Any]:
    """Each pair's rho_corrected record (:class:`~rsastats.inference.corrected.CorrectedRho`) through
    :func:`~rsastats.inference.corrected_ci.joined_with_rho` with rho's default interval: ``rho_intervals`` (the
    reported ones) where ``ci`` and ``scheme`` are the defaults, else computed for the pairs whose interval is narrow
    at the bound (the note then names it)."""
    if (ci, scheme) == (DEFAULT_CI, DEFAULT_SCHEME):
        return [joined_with_rho(r, low, high) for r, (low, high) in zip(records, rho_intervals)]
    need = [k for k, r in enumerate(records) if _needs_join(r)]
    out = list(records)
    if need:
        own = default_rho_intervals(models, np.asarray(pairs)[need], np.asarray(point, dtype=np.float64)[need],
                                    confidence=confidence, rank=rank, rdm_method=rdm_method)
        which = f"its default, {DEFAULT_CI}, interval; the interval of rho shown is --bootstrap {scheme} --ci {ci}"
        for k, (low, high) in zip(need, own):
            out[k] = joined_with_rho(records[k], low, high, which=which)
    return out
