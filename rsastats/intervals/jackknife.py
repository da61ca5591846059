"""Jackknife intervals: a normal or Student-t interval with the leave-one-out (jackknife) standard error,
on the Fisher-z scale for correlations (Efron & Tibshirani 1993, ch. 11; Efron 1982).

``jackknife-t`` (the default interval of rho) is Tukey's jackknife-t interval (``n - 1`` degrees of
freedom) on the Fisher-z scale, with the jackknife variance ``V`` first corrected for the second-order
part it counts twice (:mod:`rsastats.inference.degeneracy`; Efron & Stein 1981).  With ``e`` that excess
as a share of ``V``, kept in ``[0, e_max]``, ``e_max = n / (2 (n-1))`` (a fully degenerate statistic),
the variance used is ``V (1 - D^2 e)`` with ``D = e / e_max``, the estimated degeneracy: the whole excess
is removed when the two RDMs share nothing, and little of it when the emotions' first-order effects
dominate, where the jackknife's surplus is what makes up for the variability of its own standard error
(docs/statistics.md gives the coverage of each choice).  Without the excess (a Kendall measure, fewer
than 5 emotions, other statistics) it is Tukey's interval on the uncorrected variance.

At the bound: where the estimate or a leave-one-out value is a correlation of exactly +-1 (two nearly identical
RDMs: a rank correlation over few cells reaches 1 once the one emotion that breaks the tie is left out), its
Fisher-z value is infinite, and the finite stand-in ``atanh(1 - 1e-12)`` made the z-scale standard error, and
the interval, span [-1, 1] around an estimate of 0.9999.  From :data:`RAW_AT_BOUND_FROM` emotions on the
Fisher-z methods then take the raw scale (:func:`at_bound`): the same jackknife variance of the raw values (its
second-order excess and any extra variance carried over from the z scale by the delta method, ``(1 - r^2)^2``),
``est -+ q SE``, kept inside [-1, 1] and around the estimate.

No spread: where every leave-one-out value equals the estimate (two RDMs of the same rank order on every subset of
emotions, e.g. one model read at two precisions), the jackknife over emotions sees no variation, and an interval of
width 0 misses a truth just below 1 every time.  Given ``prompts``, the leave-one-prompt-out values (the prompts of
each emotion of each input, one stratum each), the interval is then ``est -+ q SE`` on the raw scale with their
stratified jackknife SE (:func:`prompt_jackknife_se`), kept inside [-1, 1]; without prompts, or with no spread among
them either, there is no interval (NaN, and a warning says why).

The mean on the correlation scale (``mean_scale``, rho's intervals since 2026-12-06): ``tanh`` of a Fisher-z interval
covers ``tanh`` of the z value's centre, but rho's estimand is its expectation on the correlation scale, which lies
below that (above it for negative rho): ``E[tanh Z] < tanh E[Z]`` for a Z spread about a positive centre, by
``tanh(z) sech^2(z) SE^2`` to second order -- 0.001-0.002 at rho 0.99 with 21 emotions, a tenth of the interval's
half-width, nearly all of it at the lower end.  So each end ``z_e`` maps to ``E[tanh(z_e + SE eps)]``, ``eps``
standard normal (:func:`mean_of_tanh`): the mean of a correlation whose Fisher-z value is normal about ``z_e`` with
the interval's own standard error.  The map is increasing and odd, so the interval still excludes 0 exactly when its
Fisher-z version does (docs/statistics.md, 'The mean on the correlation scale')."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri, stdtr, stdtrit

from ..checks import check_confidence, check_finite_array
from ..exceptions import RsaStatsWarning, ValidationError
from .methods import FISHER_Z_METHODS, INTERVAL_METHODS, ci_method_name

__all__ = ["MIN_UNITS", "RAW_AT_BOUND_FROM", "fisher_z", "mean_of_tanh", "at_bound", "no_spread", "one_stratum",
           "jackknife_se", "prompt_jackknife_se", "corrected_variance", "jackknife_interval", "jackknife_pvalue",
           "difference_interval"]

# atanh of a correlation of exactly +-1 (identical RDMs) is infinite: stay this far inside.
_Z_EDGE = 1e-12
# Fewer leave-one-out values give no jackknife interval: with 4 emotions a leave-one-out RDM has 3 cells, its
# rank correlation takes a handful of values, and rho's interval covered 80-95% with 10% of the intervals of
# width 0; from 5 emotions up no design of two generative models fell below 92.5% (docs/calibration.md, "Fewer than 8 emotions").
MIN_UNITS = 5
# The raw scale at the bound (module docstring) from this many leave-one-out values (emotions) on.  With fewer, a
# leave-one-out RDM has at most 15 cells and a rank correlation of exactly +-1 over them is the discreteness of a few
# cells, not two nearly identical RDMs: in the few-emotions study's 5-emotion designs 5-35% of the data sets had one,
# the raw-scale interval covered 70-90% of those, and the designs would fall from 95.5-98.5% to 92.5-96.2%; at 7
# emotions none had one, at 8 one of 2,000 in the atlas (python -m analyses.calibration.at_bound, docs/statistics.md).
RAW_AT_BOUND_FROM = 8


def fisher_z(r: Any) -> np.ndarray:
    return np.arctanh(np.clip(np.asarray(r, dtype=np.float64), -1.0 + _Z_EDGE, 1.0 - _Z_EDGE))


# E f(eps), eps standard normal, by the trapezoid rule on [-10, 10] with step 0.05: for an integrand analytic in a strip
# its error falls like exp(-2 pi d / step); tanh(z + s eps) has its nearest pole pi / (2 s) off the real axis, so for
# s up to 2 the error is far below rounding (within 1e-12 of adaptive quadrature: tests/unit/test_jackknife_t.py),
# where a 60-point Gauss-Hermite rule was off by 1e-5 at s = 2.
_NORMAL_X = np.linspace(-10.0, 10.0, 401)
_NORMAL_W = np.exp(-0.5 * _NORMAL_X**2)
_NORMAL_W = _NORMAL_W / _NORMAL_W.sum()


def mean_of_tanh(z: Any, se: float) -> np.ndarray:
    """``E[tanh(z + se eps)]``, ``eps`` standard normal: the mean on the correlation scale of a correlation whose
    Fisher-z value is normal about ``z`` with standard deviation ``se`` (module docstring, 'The mean on the
    correlation scale').  Increasing and odd in ``z``; ``tanh(z)`` for ``se = 0``."""
    z = np.asarray(z, dtype=np.float64)
    return np.sum(np.tanh(z[..., None] + float(se) * _NORMAL_X) * _NORMAL_W, axis=-1)


def at_bound(estimate: float, leave_one_out: np.ndarray) -> bool:
    """Whether the estimate or a leave-one-out value is a correlation of +-1, where the Fisher-z scale fails
    (module docstring): the Fisher-z methods then take the raw scale."""
    values = np.append(np.asarray(leave_one_out, dtype=np.float64), float(estimate))
    return bool(np.any(np.abs(values) >= 1.0 - _Z_EDGE))


def no_spread(leave_one_out: Any, scale: str = "fisher-z") -> bool:
    """Whether every leave-one-out value is the same on ``scale``: ``"fisher-z"`` for a correlation (values within
    rounding of +-1 count as +-1, as :func:`fisher_z` counts them), ``"raw"`` as given.  The jackknife then sees no
    variation (module docstring, 'No spread')."""
    values = np.asarray(leave_one_out, dtype=np.float64)
    return bool(np.ptp(fisher_z(values) if scale == "fisher-z" else values) == 0)


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


def prompt_jackknife_se(strata: Sequence[Any], scale: str = "fisher-z") -> float:
    """The stratified jackknife SE, on the raw scale, of leave-one-prompt-out values given one array per stratum
    (the prompts of one emotion of one input, or of a pair of inputs that read the same prompts):
    ``sqrt(sum_s (n_s - 1)/n_s sum_i (t_si - mean_s)^2)``, strata of one value left out (Efron & Tibshirani 1993,
    ch. 11; the stratified jackknife of Shao & Tu 1995, ch. 6); a stratum without spread on ``scale``
    (:func:`no_spread`: for a correlation, values within rounding of +-1 are +-1) adds nothing."""
    total = 0.0
    for stratum in strata:
        t = check_finite_array("leave-one-prompt-out values", stratum, 1)
        if scale == "fisher-z":
            t = np.clip(t, -1.0 + _Z_EDGE, 1.0 - _Z_EDGE)
        if t.size >= 2 and not no_spread(t, scale):
            total += (t.size - 1) / t.size * float(np.sum((t - t.mean()) ** 2))
    return float(np.sqrt(total))


def corrected_variance(variance: float, second_order: float | None, n: int, whole: bool = False) -> float:
    """``jackknife-t``'s variance: the jackknife variance ``V`` less ``D^2 e V`` (module docstring), ``e``
    the share of ``V`` that is the doubly counted second-order excess ``second_order``, or with ``whole`` less
    ``e V`` (the difference of two correlations, :func:`difference_interval`); ``V`` itself when
    ``second_order`` is None or not finite, or ``n < 3``."""
    if second_order is None or not np.isfinite(second_order) or n < 3 or not variance > 0:
        return float(variance)
    e_max = n / (2.0 * (n - 1))
    e = min(max(float(second_order) / float(variance), 0.0), e_max)
    return float(variance * (1.0 - (e if whole else e**3 / e_max**2)))


def _quantile_and_se(method: str, leave_one_out: Any, confidence: float, second_order: float | None,
                     extra_variance: float = 0.0, raw_at: float | None = None) -> tuple[float, float]:
    """The quantile and the standard error of ``method``: on the Fisher-z scale for the Fisher-z methods, unless
    ``raw_at`` gives the estimate of a correlation at the bound (:func:`at_bound`), whose interval is then on the
    raw scale, with the Fisher-z variances ``second_order`` and ``extra_variance`` times ``(1 - r^2)^2`` (the delta
    method: ``d r / d z = 1 - r^2``)."""
    values = one_stratum(leave_one_out)
    n = values.size
    z_scale = method in FISHER_Z_METHODS and raw_at is None
    jacobian = 1.0
    if raw_at is not None:  # values within rounding of +-1 count as +-1, as fisher_z counts them
        values = np.clip(values, -1.0 + _Z_EDGE, 1.0 - _Z_EDGE)
        jacobian = (1.0 - raw_at**2) ** 2
    # all equal: no spread (the mean of equal values near 1 need not round back to them)
    se = 0.0 if no_spread(values, _spread_scale(method)) else jackknife_se(values, "fisher-z" if z_scale else "raw")
    if method == "jackknife-t":
        excess = None if second_order is None else second_order * jacobian
        variance = corrected_variance(se**2, excess, n)
        return float(stdtrit(n - 1, 0.5 + confidence / 2.0)), float(np.sqrt(variance + extra_variance * jacobian))
    return float(ndtri(0.5 + confidence / 2.0)), se


def _raw_at(method: str, estimate: float, values: np.ndarray) -> float | None:
    """The estimate where a Fisher-z method takes the raw scale (a correlation at the bound, from
    :data:`RAW_AT_BOUND_FROM` leave-one-out ``values``, i.e. emotions), else None."""
    at = method in FISHER_Z_METHODS and values.size >= RAW_AT_BOUND_FROM and at_bound(estimate, values)
    return float(estimate) if at else None


def jackknife_interval(estimate: float, leave_one_out: Any, *, method: str = "jackknife-t",
                       confidence: float = 0.95, second_order: float | None = None, extra_variance: float = 0.0,
                       prompts: Sequence[Any] | None = None, mean_scale: bool = False) -> tuple[float, float, float]:
    """A jackknife interval: ``tanh(atanh(est) -+ q SE_z)`` for ``"jackknife-t"`` (``q`` the Student-t
    quantile with ``n - 1`` degrees of freedom, ``SE_z^2`` from :func:`corrected_variance` with the
    Fisher-z-scale ``second_order`` excess, plus ``extra_variance``: a Fisher-z-scale variance the leave-one-out
    values do not see, e.g. that of random half splits held fixed across them) and ``"jackknife-z"`` (``q`` normal, plain jackknife SE) -- a
    correlation: the estimate always inside, the ends inside (-1, 1) -- or ``est -+ q SE`` for
    ``"jackknife"`` (``q`` normal).  A correlation at the bound (:func:`at_bound`) gets the Fisher-z methods'
    interval on the raw scale, ``est -+ q SE`` kept inside [-1, 1] (module docstring).  Where no leave-one-out
    value differs from the estimate (:func:`no_spread`), ``prompts`` (leave-one-prompt-out values, one array per
    stratum) give the raw-scale ``est -+ q SE`` with :func:`prompt_jackknife_se`; without them, or with no spread
    there either, the interval is NaN (module docstring, 'No spread').  ``mean_scale``: the Fisher-z ends mapped to the
    mean on the correlation scale (:func:`mean_of_tanh`; module docstring), the estimand of rho's interval.  Returns
    ``(low, high, SE)`` (SE on the interval's scale)."""
    method = ci_method_name(method)
    if INTERVAL_METHODS[method].uses != "jackknife":
        raise ValidationError(f"{method} is not a jackknife interval")
    confidence = check_confidence(confidence)
    est = float(check_finite_array("estimate", estimate, 0))
    leave_one_out = one_stratum(leave_one_out)
    n = leave_one_out.size
    if n < MIN_UNITS:
        warnings.warn(f"no {method} interval: {n} leave-one-out values (emotions), and a jackknife interval needs "
                      f"at least {MIN_UNITS} (with fewer, a leave-one-out RDM has too few cells; docs/calibration.md)",
                      RsaStatsWarning, stacklevel=2)
        return float("nan"), float("nan"), float("nan")
    if not (np.isfinite(extra_variance) and extra_variance >= 0):
        raise ValidationError(f"extra_variance must be a finite variance >= 0; got {extra_variance}")
    if extra_variance and method != "jackknife-t":
        raise ValidationError(f"extra_variance is a term of the jackknife-t interval, not of {method}")
    raw_at = _raw_at(method, est, leave_one_out)
    q, se = _quantile_and_se(method, leave_one_out, confidence, second_order, extra_variance, raw_at)
    if se == 0.0:  # no leave-one-out value moves the estimate
        return _no_spread_interval(method, est, q, prompts)
    if method in FISHER_Z_METHODS and raw_at is None:
        z = float(fisher_z(est))
        ends = np.array([z - q * se, z + q * se])
        low, high = mean_of_tanh(ends, se) if mean_scale else np.tanh(ends)
        # min/max: an estimate of exactly +-1 sits just outside atanh's clipped range
        return min(float(low), est), max(float(high), est), se
    if method in FISHER_Z_METHODS:  # a correlation at the bound, on the raw scale: kept inside [-1, 1]
        warnings.warn(f"the {method} interval of {est:.6g} is on the raw scale, not Fisher-z: a leave-one-out "
                      "correlation is +-1 (nearly identical RDMs), whose Fisher-z value is infinite "
                      "(docs/statistics.md, 'At the bound')", RsaStatsWarning, stacklevel=2)
        return min(max(est - q * se, -1.0), est), max(min(est + q * se, 1.0), est), se
    return est - q * se, est + q * se, se


def _spread_scale(method: str) -> str:
    """The scale on which :func:`no_spread` compares a method's values: a correlation's (Fisher-z methods) or raw."""
    return "fisher-z" if method in FISHER_Z_METHODS else "raw"


def _prompt_se(method: str, prompts: Sequence[Any] | None) -> float:
    """:func:`prompt_jackknife_se` of ``prompts`` on ``method``'s scale; 0 without them."""
    return prompt_jackknife_se(prompts, _spread_scale(method)) if prompts is not None else 0.0


def _no_spread_interval(method: str, est: float, q: float, prompts: Sequence[Any] | None) -> tuple[float, float, float]:
    """The interval where no leave-one-out value moves the estimate (module docstring, 'No spread')."""
    seen = (f"every leave-one-out value equals the estimate ({est:.6g}), so the jackknife over emotions sees no "
            "variation")
    if prompts is not None and not all(np.isfinite(np.asarray(s, dtype=np.float64)).all() for s in prompts):
        warnings.warn(f"no {method} interval: {seen}, and leaving out one prompt at a time makes the correlation "
                      "undefined (an RDM without that prompt is constant); an interval of width 0 would miss a value "
                      "just below it (docs/statistics.md, 'No spread')", RsaStatsWarning, stacklevel=3)
        return float("nan"), float("nan"), float("nan")
    se = _prompt_se(method, prompts)
    if se > 0:
        warnings.warn(f"{seen}: the {method} interval is est -+ q SE on the raw scale with the stratified jackknife SE "
                      f"of the prompts ({se:.3g}; docs/statistics.md, 'No spread')", RsaStatsWarning, stacklevel=3)
        low, high = est - q * se, est + q * se
        if method in FISHER_Z_METHODS:  # a correlation: kept inside [-1, 1]
            low, high = max(low, -1.0), min(high, 1.0)
        return min(low, est), max(high, est), se
    why = ("nor does leaving out one prompt at a time" if prompts is not None else
           "and there are no leave-one-prompt-out values (no input with prompts)")
    warnings.warn(f"no {method} interval: {seen}, {why}; an interval of width 0 would miss a value just below it "
                  "(docs/statistics.md, 'No spread')", RsaStatsWarning, stacklevel=3)
    return float("nan"), float("nan"), float("nan")


def jackknife_pvalue(estimate: float, leave_one_out: Any, *, method: str, null: float = 0.0,
                     second_order: float | None = None, prompts: Sequence[Any] | None = None,
                     mean_scale: bool = False) -> float:
    """Two-sided p-value of ``null`` from the jackknife interval ``method`` inverted: the smallest
    ``1 - confidence`` at which the interval excludes ``null`` (NaN where there is no interval).  With
    ``mean_scale``, the interval of :func:`jackknife_interval` with ``mean_scale``: its Fisher-z ends reach ``null``
    where they reach the z value that :func:`mean_of_tanh` maps to it (0 for a null of 0: the same p)."""
    method = ci_method_name(method)
    leave_one_out = one_stratum(leave_one_out)
    n = leave_one_out.size
    if n < MIN_UNITS:  # no interval to invert (see jackknife_interval)
        return float("nan")
    raw_at = _raw_at(method, float(estimate), leave_one_out)
    _, se = _quantile_and_se(method, leave_one_out, 0.95, second_order, raw_at=raw_at)
    z_scale = method in FISHER_Z_METHODS and raw_at is None
    if se == 0.0:  # no spread: the prompts' interval, on the raw scale, or none
        se = _prompt_se(method, prompts)
        z_scale = False
        if se == 0.0:
            return float("nan")
    if z_scale:
        z_null = float(fisher_z(null))
        if mean_scale and null != 0.0:  # the z value whose mean on the correlation scale is the null
            z_null = brentq(lambda z: float(mean_of_tanh(z, se)) - null, -40.0, 40.0, xtol=1e-14)
        shift = float(fisher_z(estimate)) - z_null
    else:
        shift = float(estimate - null)
    tail = float(stdtr(n - 1, -abs(shift) / se)) if method == "jackknife-t" else float(ndtr(-abs(shift) / se))
    return float(min(1.0, 2.0 * tail))


def difference_interval(estimate: float, leave_one_out: Any, *, confidence: float = 0.95,
                        second_order: float | None = None) -> tuple[float, float, float, float]:
    """The interval of a difference of two correlations that share a model (``jackknife-t`` of
    :func:`rsastats.inference.compare_difference`): Tukey's ``est -+ t_(n-1) SE`` on the raw scale (a difference
    lives in [-2, 2] and has no Fisher-z transform), ``SE^2`` the jackknife variance ``V`` less the whole
    second-order excess ``second_order`` (:func:`rsastats.inference.degeneracy.difference_second_order`), its share
    of ``V`` kept in ``[0, e_max]`` as in :func:`corrected_variance`.  The whole excess, not the part weighted by
    the degeneracy that rho's interval takes: the first-order effects of the two correlations largely cancel in
    their difference, and on the difference designs of docs/calibration.md ('The difference of two correlations
    that share a model') the weighted part left more designs above the band, the plain jackknife most.  Returns
    ``(low, high, SE, p)``, ``p`` the two-sided p of 0 (the interval inverted); NaN, with a warning, with fewer than
    :data:`MIN_UNITS` emotions or where no leave-one-out value differs from the estimate."""
    confidence = check_confidence(confidence)
    est = float(check_finite_array("estimate", estimate, 0))
    values = one_stratum(leave_one_out)
    n = values.size
    nan = float("nan")
    if n < MIN_UNITS:
        warnings.warn(f"no jackknife-t interval of the difference: {n} leave-one-out values (emotions), and a "
                      f"jackknife interval needs at least {MIN_UNITS}", RsaStatsWarning, stacklevel=2)
        return nan, nan, nan, nan
    if no_spread(values, "raw"):
        warnings.warn(f"no jackknife-t interval of the difference: every leave-one-out value equals the estimate "
                      f"({est:.6g}), so the jackknife over emotions sees no variation (docs/statistics.md, "
                      "'No spread')", RsaStatsWarning, stacklevel=2)
        return nan, nan, nan, nan
    se = float(np.sqrt(corrected_variance(jackknife_se(values, "raw") ** 2, second_order, n, whole=True)))
    q = float(stdtrit(n - 1, 0.5 + confidence / 2.0))
    p = float(min(1.0, 2.0 * stdtr(n - 1, -abs(est) / se)))
    return est - q * se, est + q * se, se, p
