"""Jackknife intervals: a normal interval with the leave-one-out (jackknife) standard error, on the
Fisher-z scale for correlations (Efron & Tibshirani 1993, ch. 11; Efron 1982)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import ndtri

from ..checks import check_confidence, check_finite_array
from ..exceptions import ValidationError
from .methods import INTERVAL_METHODS, ci_method_name

__all__ = ["fisher_z", "one_stratum", "jackknife_se", "jackknife_interval"]

# atanh of a correlation of exactly +-1 (identical RDMs) is infinite: stay this far inside.
_Z_EDGE = 1e-12


def fisher_z(r: Any) -> np.ndarray:
    return np.arctanh(np.clip(np.asarray(r, dtype=np.float64), -1.0 + _Z_EDGE, 1.0 - _Z_EDGE))


def one_stratum(jackknife: Any) -> np.ndarray:
    """The leave-one-out values of a jackknife interval: one array (a list of one array is accepted)."""
    if jackknife is None:
        raise ValidationError("a jackknife interval needs the leave-one-out estimates")
    if not isinstance(jackknife, np.ndarray) and len(jackknife) == 1 and np.ndim(jackknife[0]) == 1:
        jackknife = jackknife[0]
    return np.asarray(jackknife, dtype=np.float64)


def jackknife_se(leave_one_out: Any, scale: str = "fisher-z") -> float:
    """The jackknife standard error ``sqrt((n-1)/n sum (t_(i) - mean t)^2)`` of the leave-one-out values
    (Efron & Tibshirani 1993, ch. 11), on the Fisher-z scale (``"fisher-z"``) or as given (``"raw"``)."""
    values = check_finite_array("leave-one-out values", leave_one_out, 1)
    if values.size < 2:
        raise ValidationError(f"a jackknife needs at least 2 leave-one-out values; got {values.size}")
    t = fisher_z(values) if scale == "fisher-z" else values
    n = t.size
    return float(np.sqrt((n - 1) / n * np.sum((t - t.mean()) ** 2)))


def jackknife_interval(estimate: float, leave_one_out: Any, *, method: str = "jackknife-z",
                       confidence: float = 0.95) -> tuple[float, float, float]:
    """A normal interval with the jackknife standard error: ``tanh(atanh(est) -+ q SE_z)`` for
    ``"jackknife-z"`` (a correlation: the estimate is always inside, the ends inside (-1, 1)), or
    ``est -+ q SE`` for ``"jackknife"``; ``q`` the normal quantile of ``confidence``.  Returns
    ``(low, high, SE)`` (SE on the interval's scale)."""
    method = ci_method_name(method)
    if INTERVAL_METHODS[method].uses != "jackknife":
        raise ValidationError(f"{method} is not a jackknife interval")
    confidence = check_confidence(confidence)
    est = float(check_finite_array("estimate", estimate, 0))
    q = float(ndtri(0.5 + confidence / 2.0))
    if method == "jackknife-z":
        se = jackknife_se(leave_one_out, "fisher-z")
        z = float(fisher_z(est))
        return float(np.tanh(z - q * se)), float(np.tanh(z + q * se)), se
    se = jackknife_se(leave_one_out, "raw")
    return est - q * se, est + q * se, se
