"""Private stand-ins for core functions that have not landed on main yet.

TEMPORARY.  ``rsastats.inference`` (``confidence_interval``, ``bootstrap_rho``) is being written
in parallel; until it lands, the geometry module uses the smallest equivalents below.  Delete
this module once it lands.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats

__all__: list[str] = []  # private on purpose


def confidence_interval(
    estimate: float,
    replicates: np.ndarray,
    *,
    method: str = "percentile",
    confidence: float = 0.95,
    jackknife: np.ndarray | None = None,
    bounds: Sequence[float] = (-np.inf, np.inf),
) -> tuple[float, float]:
    """Percentile, basic or BCa interval from bootstrap replicates, clipped to ``bounds``."""
    reps = np.asarray(replicates, dtype=np.float64)
    alpha = (1.0 - confidence) / 2
    if method == "percentile":
        low, high = np.quantile(reps, [alpha, 1 - alpha])
    elif method == "basic":
        q_low, q_high = np.quantile(reps, [alpha, 1 - alpha])
        low, high = 2 * estimate - q_high, 2 * estimate - q_low
    elif method == "bca":
        if jackknife is None:
            raise ValueError("BCa needs jackknife values")
        prop = (np.sum(reps < estimate) + 0.5 * np.sum(reps == estimate)) / reps.size
        z0 = stats.norm.ppf(np.clip(prop, 1 / (2 * reps.size), 1 - 1 / (2 * reps.size)))
        jack = np.asarray(jackknife, dtype=np.float64)
        d = jack.mean() - jack
        denom = 6.0 * np.sum(d**2) ** 1.5
        accel = float(np.sum(d**3) / denom) if denom > 0 else 0.0
        z = stats.norm.ppf([alpha, 1 - alpha])
        adjusted = stats.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
        low, high = np.quantile(reps, adjusted)
    else:
        raise ValueError(f"unknown interval method {method!r}")
    return float(np.clip(low, *bounds)), float(np.clip(high, *bounds))


def _rdm_uppers(rows, weights: np.ndarray) -> np.ndarray:
    from ._descriptors import group_gram, rdm_uppers

    return rdm_uppers(group_gram(weights, rows.gram, rows.groups))


def bootstrap_rho(rows_b, rows_i, stream_b, stream_i, settings) -> tuple[float, float, float, int]:
    """Spearman rho between two raw cosine RDMs with a prompt-bootstrap CI (resample prompts within
    emotion; the same draws in both files when the streams are the same)."""
    from ._descriptors import resampling_weights, rowwise_spearman as _spearman_rows

    point = float(_spearman_rows(_rdm_uppers(rows_b, np.ones((1, len(rows_b.norms)))),
                                 _rdm_uppers(rows_i, np.ones((1, len(rows_i.norms)))))[0])
    from .geometry import _evaluate

    n_b = len(rows_b.norms)
    blocks = (np.concatenate([wb, wi], axis=1) for wb, wi in zip(
        resampling_weights(stream_b, settings.n_boot, rows_b.group_sizes),
        resampling_weights(stream_i, settings.n_boot, rows_i.group_sizes)))
    values = _evaluate(lambda w: {"rho": _spearman_rows(_rdm_uppers(rows_b, w[:, :n_b]), _rdm_uppers(rows_i, w[:, n_b:]))},
                       blocks)["rho"]
    values = values[np.isfinite(values)]
    low, high = confidence_interval(point, values, method="percentile", confidence=settings.confidence,
                                    bounds=(-1.0, 1.0))
    return point, low, high, int(values.size)
