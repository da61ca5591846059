"""Bootstrap intervals from replicates: percentile, basic and BCa (Davison & Hinkley 1997, ch. 5),
and :func:`confidence_interval`, which forms any method of the table; interval-inverted p-values."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from ..checks import check_confidence, check_finite_array
from ..exceptions import EstimationError, RsaStatsWarning, ValidationError
from .jackknife import jackknife_interval, jackknife_pvalue, one_stratum
from .methods import BASIC_BOUNDED, INTERVAL_METHODS, ci_method_name

__all__ = ["confidence_interval", "interval_estimate", "basic_interval", "acceleration", "interval_pvalue"]


def _norm_inter(sorted_values: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, bool]:
    """Quantiles at levels ``alpha`` from sorted replicates, interpolated on the normal scale
    (Davison & Hinkley 1997, eq. 5.8; R ``boot:::norm.inter``).  Also returns whether an
    extreme order statistic had to be used."""
    t = sorted_values
    r = t.size
    alpha = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    rk = (r + 1) * alpha
    k = np.trunc(rk).astype(np.int64)
    out = np.empty(alpha.shape)
    extreme = bool(np.any(~((rk > 1) & (rk < r))))
    for i, (ki, rki, ai) in enumerate(zip(k, rk, alpha)):
        if ki == rki and 1 <= ki <= r:
            out[i] = t[ki - 1]
        elif ki <= 0:
            out[i] = t[0]
        elif ki >= r:
            out[i] = t[r - 1]
        else:
            z = ndtri(ai)
            z_lo = ndtri(ki / (r + 1))
            z_hi = ndtri((ki + 1) / (r + 1))
            out[i] = t[ki - 1] + (z - z_lo) / (z_hi - z_lo) * (t[ki] - t[ki - 1])
    return out, extreme


def acceleration(jackknife: Any) -> float:
    """BCa acceleration from leave-one-out estimates.

    ``jackknife`` is one array of leave-one-out estimates, or a sequence of them (one per
    independently resampled stratum, e.g. the emotions and the prompts of each emotion); strata
    are combined as in ``scipy.stats.bootstrap`` for several samples:
    ``a = sum_j sum_i U_ji^3 / n_j^3 / (6 (sum_j sum_i U_ji^2 / n_j^2)^(3/2))`` with
    ``U_ji = (n_j - 1)(mean_j - theta_ji)``.
    """
    if isinstance(jackknife, np.ndarray) and jackknife.ndim == 1:
        strata = [jackknife]
    elif isinstance(jackknife, np.ndarray):
        raise ValidationError("jackknife must be a 1-D array of leave-one-out estimates or a list of them")
    else:
        strata = list(jackknife)
        if strata and np.ndim(strata[0]) == 0:
            strata = [np.asarray(strata, dtype=np.float64)]
    num = den = 0.0
    for values in strata:
        v = check_finite_array("jackknife values", values, 1)
        n = float(v.size)
        if n < 2:
            continue
        u = (n - 1.0) * (v.mean() - v)
        num += float(np.sum(u**3)) / n**3
        den += float(np.sum(u**2)) / n**2
    if den <= 0.0:
        return 0.0  # every leave-one-out estimate is the same: no skewness to correct
    return num / (6.0 * den**1.5)


def _z0(estimate: float, replicates: np.ndarray) -> float:
    below = np.count_nonzero(replicates < estimate) + np.count_nonzero(replicates <= estimate)
    frac = below / (2.0 * replicates.size)
    if frac <= 0.0 or frac >= 1.0:
        raise EstimationError("every bootstrap replicate lies on one side of the estimate: the BCa bias correction "
                              "is infinite (use --ci percentile or basic)")
    return float(ndtri(frac))


def _confidence_interval_iv(estimate, replicates, method, confidence, jackknife, bounds, acceleration_value):
    method = ci_method_name(method)
    confidence = check_confidence(confidence)
    est = check_finite_array("estimate", estimate, 0)
    reps = check_finite_array("replicates", replicates, 1)
    if reps.size < 2:
        raise ValidationError(f"need at least 2 bootstrap replicates; got {reps.size}")
    if bounds is not None:
        lo, hi = (float(b) for b in bounds)
        if not lo < hi:
            raise ValidationError(f"bounds must be (low, high) with low < high; got {bounds!r}")
        if not (lo <= float(est) <= hi) or reps.min() < lo or reps.max() > hi:
            raise ValidationError(f"estimate or replicates outside the bounds {bounds!r}")
        bounds = (lo, hi)
    if method == "bca" and jackknife is None and acceleration_value is None:
        raise ValidationError("the BCa interval needs jackknife (leave-one-out) estimates or an acceleration")
    return float(est), np.sort(reps), method, confidence, bounds


def confidence_interval(estimate: float, replicates: Any, *, method: str = "percentile", confidence: float = 0.95,
                        jackknife: Any = None, bounds: tuple[float, float] | None = None,
                        acceleration_value: float | None = None, second_order: float | None = None,
                        prompts: Any = None) -> tuple[float, float]:
    """A two-sided bootstrap (or jackknife) confidence interval.

    Parameters
    ----------
    estimate : the statistic on the original data.
    replicates : 1-D array of bootstrap replicates (finite).
    method : ``"percentile"``, ``"basic"`` or ``"bca"``.
    confidence : level in (0, 1).
    jackknife : leave-one-out estimates for BCa (an array, or a list of arrays, one per stratum;
        see :func:`acceleration`).
    bounds : ``(low, high)`` the statistic cannot leave (``(-1, 1)`` for correlations); a basic
        interval is then kept inside them as :data:`BASIC_BOUNDED` says (clipped).
    acceleration_value : give BCa's acceleration directly instead of ``jackknife``.
    second_order : for ``jackknife-t``, the jackknife's doubly counted second-order variance on the
        Fisher-z scale (:func:`rsastats.inference.degeneracy.second_order_variance`); None: not corrected.
    prompts : for the jackknife intervals, leave-one-prompt-out values (one array per stratum), used only where no
        leave-one-out value differs from the estimate (:func:`rsastats.intervals.jackknife_interval`).

    Returns
    -------
    (low, high)
    """
    if INTERVAL_METHODS[ci_method_name(method)].uses == "jackknife":
        low, high, _ = jackknife_interval(estimate, one_stratum(jackknife), method=ci_method_name(method),
                                          confidence=confidence, second_order=second_order, prompts=prompts,
                                          mean_scale=True)
        if bounds is not None:
            low, high = min(max(low, bounds[0]), bounds[1]), min(max(high, bounds[0]), bounds[1])
        return low, high
    est, t, method, confidence, bounds = _confidence_interval_iv(estimate, replicates, method, confidence,
                                                                 jackknife, bounds, acceleration_value)
    alpha = np.array([(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])  # as boot.ci computes them
    if method == "percentile":
        q, extreme = _norm_inter(t, alpha)
    elif method == "basic":
        q, extreme = basic_interval(est, t, alpha, bounds, BASIC_BOUNDED if bounds is not None else "none")
    elif method == "normal":  # the basic interval's point -+ the normal quantile times the replicates' SD
        point = interval_estimate(est, t, method="basic", bounds=bounds)
        q, extreme = point + ndtri(alpha) * float(np.std(t, ddof=1)), False
    else:
        a = acceleration(jackknife) if acceleration_value is None else float(acceleration_value)
        z0 = _z0(est, t)
        z = ndtri(alpha)
        adjusted = ndtr(z0 + (z0 + z) / (1.0 - a * (z0 + z)))
        q, extreme = _norm_inter(t, adjusted)
    if extreme:
        warnings.warn(f"{t.size} replicates are too few for a {confidence:.0%} {method} interval: an extreme "
                      "order statistic was used as an endpoint (increase n_boot)", RsaStatsWarning, stacklevel=2)
    low, high = float(q[0]), float(q[1])
    if bounds is not None:
        low, high = min(max(low, bounds[0]), bounds[1]), min(max(high, bounds[0]), bounds[1])
    return low, high


def interval_estimate(estimate: float, replicates: Any, *, method: str = "percentile", jackknife: Any = None,
                      bounds: tuple[float, float] | None = None, acceleration_value: float | None = None) -> float:
    """The point estimate an interval of ``method`` is built around: the interval's limit as the
    confidence level goes to 0 (the median of its confidence distribution; Xie & Singh 2013), so it
    lies inside the interval at every level.

    ``percentile``: the median of the replicates; ``basic`` and ``normal``: ``2 est - median`` (the estimate
    corrected by the bootstrap's median bias, clipped to ``bounds``); ``bca``: the replicate quantile at
    ``Phi(z0 + z0 / (1 - a z0))``; the jackknife methods: ``estimate`` itself.  The arguments are
    those of :func:`confidence_interval`, and the quantiles are interpolated as there.
    """
    method = ci_method_name(method)
    if INTERVAL_METHODS[method].uses == "jackknife":
        return float(check_finite_array("estimate", estimate, 0))
    est, t, method, _, bounds = _confidence_interval_iv(estimate, replicates, method, 0.5, jackknife, bounds,
                                                       acceleration_value)
    if method == "percentile":
        point = _norm_inter(t, np.array([0.5]))[0][0]
    elif method in ("basic", "normal"):
        point = basic_interval(est, t, np.array([0.5, 0.5]), bounds, BASIC_BOUNDED if bounds is not None else "none")[0][0]
    else:
        a = acceleration(jackknife) if acceleration_value is None else float(acceleration_value)
        z0 = _z0(est, t)
        point = _norm_inter(t, ndtr(np.array([z0 + z0 / (1.0 - a * z0)])))[0][0]
    if bounds is not None:
        point = min(max(point, bounds[0]), bounds[1])
    return float(point)


def basic_interval(estimate: float, sorted_values: np.ndarray, alpha: np.ndarray, bounds: tuple[float, float] | None,
                   scale: str) -> tuple[np.ndarray, bool]:
    """Basic interval ``2 est - q(1 - a), 2 est - q(a)`` at levels ``alpha = (a, 1 - a)``.

    ``scale`` says how ``bounds`` are kept: ``"none"`` (raw), ``"clip"`` (raw, then clipped to the
    bounds) or ``"fisher-z"`` (formed on ``atanh`` of the bounded range and transformed back).
    """
    if scale == "fisher-z":
        zt = _to_z(sorted_values, bounds)
        q, extreme = _norm_inter(zt, alpha[::-1])
        return _from_z(2.0 * _to_z(np.array([estimate]), bounds)[0] - q, bounds), extreme
    q, extreme = _norm_inter(sorted_values, alpha[::-1])
    out = 2.0 * estimate - q
    if scale == "clip":
        out = np.clip(out, bounds[0], bounds[1])
    return out, extreme


def _to_z(x: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    lo, hi = bounds
    u = (2.0 * np.asarray(x, dtype=np.float64) - lo - hi) / (hi - lo)
    # The ends of the range map to +-inf; keep them finite (this only touches |u| within 1e-15 of 1).
    u = np.clip(u, -1.0 + 1e-15, 1.0 - 1e-15)
    return np.arctanh(u)


def _from_z(z: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    lo, hi = bounds
    return (np.tanh(z) * (hi - lo) + lo + hi) / 2.0


def interval_pvalue(estimate: float, replicates: np.ndarray, *, method: str, null: float = 0.0,
                    jackknife: Any = None, acceleration_value: float | None = None,
                    second_order: float | None = None, prompts: Any = None) -> float:
    """Two-sided p-value obtained by inverting the interval ``method``: the smallest ``1 - confidence``
    at which the interval excludes ``null``.  Counts use ``(k + 1)/(B + 1)`` so p is never 0."""
    if INTERVAL_METHODS[ci_method_name(method)].uses == "jackknife":
        # The normal (or t) interval inverted: the level at which it just reaches the null.
        return jackknife_pvalue(estimate, jackknife, method=method, null=null, second_order=second_order,
                                prompts=prompts, mean_scale=True)
    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    n = reps.size

    def tail_p(point: float) -> float:
        lower = (np.count_nonzero(reps <= point) + 1) / (n + 1)
        upper = (np.count_nonzero(reps >= point) + 1) / (n + 1)
        return min(1.0, 2.0 * min(lower, upper))

    if method == "percentile":
        return tail_p(null)
    if method == "basic":
        return tail_p(2.0 * estimate - null)
    if method == "normal":  # the normal interval inverted
        point = interval_estimate(estimate, reps, method="basic")
        spread = float(np.std(reps, ddof=1))
        return float(min(1.0, 2.0 * ndtr(-abs(point - null) / spread))) if spread > 0 else float("nan")
    a = acceleration(jackknife) if acceleration_value is None else float(acceleration_value)
    z0 = _z0(estimate, reps)
    # Quantile level of the null among the replicates (mid-rank, kept inside (0, 1)).
    beta = (np.count_nonzero(reps < null) + np.count_nonzero(reps <= null) + 1) / (2.0 * n + 2)
    t = float(ndtri(beta)) - z0
    denom = 1.0 + a * t
    if denom <= 0:
        return float(2.0 / (n + 1))
    level = float(ndtr(t / denom - z0))
    return float(min(1.0, max(2.0 * min(level, 1.0 - level), 2.0 / (n + 1))))
