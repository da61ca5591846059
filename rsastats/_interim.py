"""Temporary stand-ins for functions other branches are building (vectors, rdm, compare, bootstrap CI).

Private and minimal: only what :mod:`rsastats.variance` needs until ``rsastats.vectors``,
``rsastats.rdm``, ``rsastats.compare`` and ``rsastats.inference.bootstrap`` land on main.
Delete this module then and import the real ones.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import xarray as xr
from scipy import stats

from .exceptions import ValidationError

__all__ = ["emotion_vectors", "rdm_matrix", "upper", "rank_correlation", "confidence_interval"]


def emotion_vectors(acts: xr.Dataset, *, layer: int, normalization: str = "raw") -> xr.Dataset:
    """Mean activation over the valid prompts of each emotion at ``layer`` (a layer label)."""
    if normalization != "raw":
        raise ValidationError(f"normalization {normalization!r} is not available yet")
    values = acts["activations"].sel(layer=layer)
    if "valid" in acts:
        mask = acts["valid"] > 0
        values = values.where(mask).sum("prompt") / mask.sum("prompt")
    else:
        values = values.mean("prompt")
    return xr.Dataset({"vectors": values.astype(np.float64)}, attrs=dict(acts.attrs))


def rdm_matrix(vectors: np.ndarray, method: str = "cosine") -> np.ndarray:
    """Cosine-distance RDM (1 - cosine) of the rows of ``vectors``."""
    if method != "cosine":
        raise ValidationError(f"rdm method {method!r} is not available yet")
    x = np.asarray(vectors, dtype=np.float64)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    d = 1.0 - unit @ unit.T
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0.0)
    return d


def upper(matrix: np.ndarray) -> np.ndarray:
    """Strict upper triangle of a square matrix, row by row."""
    m = np.asarray(matrix)
    return m[np.triu_indices(m.shape[0], 1)]


def rank_correlation(x: np.ndarray, y: np.ndarray, method: str = "spearman") -> float:
    """Spearman rank correlation of two vectors (the estimate only; no p-value)."""
    if method != "spearman":
        raise ValidationError(f"rank correlation {method!r} is not available yet")
    return float(stats.spearmanr(x, y).statistic)


def confidence_interval(
    estimate: float,
    replicates: np.ndarray,
    *,
    method: str = "percentile",
    confidence: float = 0.95,
    jackknife: np.ndarray | None = None,
    bounds: Sequence[float] | None = None,
) -> tuple[float, float]:
    """Bootstrap interval from ``replicates`` (NaN-free): percentile, basic or BCa (needs ``jackknife``)."""
    reps = np.asarray(replicates, dtype=np.float64)
    alpha = (1.0 - confidence) / 2
    if method == "percentile":
        low, high = np.quantile(reps, [alpha, 1 - alpha])
    elif method == "basic":
        q_low, q_high = np.quantile(reps, [alpha, 1 - alpha])
        low, high = 2 * estimate - q_high, 2 * estimate - q_low
    elif method == "bca":
        if jackknife is None:
            raise ValidationError("the BCa interval needs jackknife values")
        prop = (np.sum(reps < estimate) + 0.5 * np.sum(reps == estimate)) / reps.size
        z0 = stats.norm.ppf(np.clip(prop, 1 / (reps.size + 1), reps.size / (reps.size + 1)))
        jk = np.asarray(jackknife, dtype=np.float64)
        d = jk.mean() - jk
        denom = 6.0 * np.sum(d**2) ** 1.5
        accel = np.sum(d**3) / denom if denom > 0 else 0.0
        z = stats.norm.ppf([alpha, 1 - alpha])
        adjusted = stats.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
        low, high = np.quantile(reps, adjusted)
    else:
        raise ValidationError(f"unknown interval method {method!r}; expected percentile, basic or bca")
    if bounds is not None:
        low, high = np.clip([low, high], bounds[0], bounds[1])
    return float(low), float(high)
