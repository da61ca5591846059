"""Bootstrap confidence intervals: the one home of interval maths and the one table of methods.

Methods (:data:`INTERVAL_METHODS`; Davison & Hinkley 1997, ch. 5; Efron & Tibshirani 1993, ch. 14):

``percentile``  the ``(1-c)/2`` and ``(1+c)/2`` quantiles of the replicates.
``basic``       ``2*est - q_hi, 2*est - q_lo`` (reflects the bootstrap bias back onto the estimate).
``bca``         percentile at levels shifted by the bias correction ``z0`` and the acceleration
                ``a`` estimated by the jackknife.

Quantiles are the ``(R+1)alpha``-th order statistics, interpolated on the normal-quantile scale
between neighbours (Davison & Hinkley eq. 5.8): the same numbers as R's ``boot::boot.ci``
(checked in ``tests/reference``).  ``z0`` uses the mid-rank fraction of replicates below the
estimate (equal to ``boot``'s strict fraction when no replicate ties the estimate).

A statistic with ``bounds`` (``(-1, 1)`` for correlations) keeps its interval inside them:
percentile and BCa endpoints are (interpolated) replicates and cannot leave the bounds; a basic
interval can, and is clipped to them (:data:`BASIC_BOUNDED` ``= "clip"``; the Fisher-z scale was the
alternative, decided by the coverage simulations of ``docs/calibration.md``).

Every module that forms an interval takes its method names from :data:`CI_METHODS` (checked by
:func:`ci_method_name`; an unknown name is an error) and forms it with :func:`confidence_interval`
or, when replicates may be undefined, :func:`bootstrap_interval`.  To add a method: one entry in
:data:`INTERVAL_METHODS` and its branch in :func:`confidence_interval` (docs/architecture.md).
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
from scipy.special import ndtr, ndtri

from ._validation import check_choice, check_confidence, check_finite_array
from .exceptions import EstimationError, RsaStatsWarning, ValidationError
from .results import Record

__all__ = [
    "IntervalMethod",
    "INTERVAL_METHODS",
    "CI_METHODS",
    "DEFAULT_CI",
    "BASIC_BOUNDED",
    "CORRELATION_BOUNDS",
    "ci_method_name",
    "confidence_interval",
    "basic_interval",
    "acceleration",
    "interval_pvalue",
    "Interval",
    "bootstrap_interval",
]


@dataclass(frozen=True)
class IntervalMethod:
    """One interval method: its name, whether it needs leave-one-out (jackknife) values, what it is."""

    name: str
    needs_jackknife: bool
    description: str


INTERVAL_METHODS: dict[str, IntervalMethod] = {m.name: m for m in (
    IntervalMethod("percentile", False, "quantiles of the replicates"),
    IntervalMethod("basic", False, "quantiles reflected about the estimate (bounded statistics: clipped)"),
    IntervalMethod("bca", True, "bias-corrected and accelerated percentile (acceleration from the jackknife)"),
)}
CI_METHODS = tuple(INTERVAL_METHODS)
# Chosen by the rule in docs/calibration.md ("Default interval"); tests/unit checks they agree with it.
DEFAULT_CI = "basic"
# How a basic interval for a bounded statistic stays inside the bounds: "clip" or "fisher-z".
BASIC_BOUNDED = "clip"
CORRELATION_BOUNDS = (-1.0, 1.0)


def ci_method_name(method: Any) -> str:
    """The canonical name of an interval method; an unknown name is a one-line error."""
    return check_choice("interval method", method, CI_METHODS)


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
                        acceleration_value: float | None = None) -> tuple[float, float]:
    """A two-sided bootstrap confidence interval.

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

    Returns
    -------
    (low, high)
    """
    est, t, method, confidence, bounds = _confidence_interval_iv(estimate, replicates, method, confidence,
                                                                 jackknife, bounds, acceleration_value)
    alpha = np.array([(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0])  # as boot.ci computes them
    if method == "percentile":
        q, extreme = _norm_inter(t, alpha)
    elif method == "basic":
        q, extreme = basic_interval(est, t, alpha, bounds, BASIC_BOUNDED if bounds is not None else "none")
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
                    jackknife: Any = None, acceleration_value: float | None = None) -> float:
    """Two-sided p-value obtained by inverting the interval ``method``: the smallest ``1 - confidence``
    at which the interval excludes ``null``.  Counts use ``(k + 1)/(B + 1)`` so p is never 0."""
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


@dataclass(frozen=True)
class Interval(Record):
    """A bootstrap interval formed from replicates some of which may be undefined (NaN).

    ``low``/``high`` are NaN when no interval could be formed; ``notes`` say why, and report
    replicates left out; ``method`` is the method actually used (a BCa interval with an infinite
    bias correction may fall back to the percentile interval, see :func:`bootstrap_interval`).
    """

    low: float
    high: float
    method: str
    n_used: int
    n_undefined: int
    notes: tuple[str, ...] = ()
    replicates: np.ndarray = field(default=None, repr=False, metadata={"json": False})


def bootstrap_interval(estimate: float, replicates: Any, *, method: str, confidence: float, jackknife: Any = None,
                       bounds: tuple[float, float] | None = None, clip_to_bounds: bool = False,
                       bca_fallback: str | None = None, min_replicates: int = 2,
                       warnings_as_notes: bool = True) -> Interval:
    """An interval from replicates that may hold NaN (resamples whose statistic is undefined).

    Undefined replicates (and undefined jackknife values) are left out and counted.  With
    ``clip_to_bounds`` the estimate and replicates are first clipped to finite ``bounds`` (rounding
    can put a share at 1 + 4e-16); half-open bounds (``inf``) are applied to the endpoints only.
    When BCa's bias correction is infinite (every replicate on one side of the estimate),
    ``bca_fallback`` names the method used instead (a note says so); without it the interval is
    NaN with a note.  Warnings of :func:`confidence_interval` (too few replicates for the level)
    become notes, or with ``warnings_as_notes=False`` reach the caller as warnings.  Never raises for
    undefined data: ``low``/``high`` are NaN and ``notes`` say why.
    """
    reps = np.asarray(replicates, dtype=np.float64)
    finite = reps[np.isfinite(reps)]
    n_undefined = int(reps.size - finite.size)
    notes: list[str] = []
    nan = float("nan")
    if not np.isfinite(estimate) or finite.size < min_replicates:
        return Interval(nan, nan, method, int(finite.size), n_undefined, ("estimate undefined",) if not np.isfinite(estimate)
                        else (f"only {finite.size} of {reps.size} resamples defined",), finite)
    jack = None
    if jackknife is not None:
        jack = [np.asarray(v, dtype=np.float64) for v in (jackknife if not isinstance(jackknife, np.ndarray)
                                                          or jackknife.ndim > 1 else [jackknife])]
        jack = [v[np.isfinite(v)] for v in jack]
        if method == "bca" and sum(v.size for v in jack) < 2:
            return Interval(nan, nan, method, int(finite.size), n_undefined,
                            ("BCa needs at least 2 defined jackknife values",), finite)
    finite_bounds = None if bounds is None or not np.isfinite(bounds).all() else (float(bounds[0]), float(bounds[1]))
    if clip_to_bounds and finite_bounds is not None:
        finite = np.clip(finite, *finite_bounds)
        estimate = float(np.clip(estimate, *finite_bounds))
    used = method
    with _recorded_warnings(warnings_as_notes) as caught:
        try:
            low, high = confidence_interval(float(estimate), finite, method=method, confidence=confidence,
                                            jackknife=jack, bounds=finite_bounds)
        except EstimationError as exc:
            if method != "bca" or bca_fallback is None:
                return Interval(nan, nan, method, int(finite.size), n_undefined, (f"no CI: {exc.problem}",), finite)
            used = bca_fallback
            notes.append(f"BCa interval undefined (every replicate on one side of the estimate); {used} interval given")
            low, high = confidence_interval(float(estimate), finite, method=used, confidence=confidence,
                                            bounds=finite_bounds)
    notes.extend(" ".join(str(w.message).split()) for w in caught if issubclass(w.category, RsaStatsWarning))
    if bounds is not None:
        low, high = float(np.clip(low, *bounds)), float(np.clip(high, *bounds))
    return Interval(float(low), float(high), used, int(finite.size), n_undefined, tuple(notes), finite)


@contextlib.contextmanager
def _recorded_warnings(record: bool) -> Iterator[list[warnings.WarningMessage]]:
    """Record the warnings raised in the block (``record``), or let them through."""
    if not record:
        yield []
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RsaStatsWarning)
        yield caught
