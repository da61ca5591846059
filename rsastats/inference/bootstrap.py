"""Bootstrap confidence intervals for RDM correlations: resampling emotions, prompts, or both.

Interval methods (Davison & Hinkley 1997, ch. 5; Efron & Tibshirani 1993, ch. 14):

``percentile``  the ``(1-c)/2`` and ``(1+c)/2`` quantiles of the replicates.
``basic``       ``2*rho - q_hi, 2*rho - q_lo`` (reflects the bootstrap bias back onto the estimate).
``bca``         percentile at levels shifted by the bias correction ``z0`` and the acceleration
                ``a`` estimated by the jackknife.

Quantiles are the ``(R+1)alpha``-th order statistics, interpolated on the normal-quantile scale
between neighbours (Davison & Hinkley eq. 5.8): the same numbers as R's ``boot::boot.ci``
(checked in ``tests/reference``).  ``z0`` uses the mid-rank fraction of replicates below the
estimate (equal to ``boot``'s strict fraction when no replicate ties the estimate).

Correlations live in [-1, 1] (``bounds``).  Percentile and BCa endpoints are (interpolated)
replicates and cannot leave the bounds.  A basic interval can; it is clipped to them
(:data:`BASIC_BOUNDED` ``= "clip"``).  Forming it on the Fisher-z scale instead was the alternative;
the coverage simulations (``docs/calibration.md``) decided between the two, and between the methods
for the default, :data:`DEFAULT_CI`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from .._rng import SeedLike, seed_to_int
from .._validation import check_choice, check_confidence, check_count, check_finite_array
from ..compare import rank_method_name
from ..distributed import engine_spec, scheduler_runner
from ..exceptions import EstimationError, RsaStatsWarning, ValidationError
from ._engine import SCHEMES, ResamplingEngine
from ._inputs import RDMOptions, load_models

__all__ = [
    "CI_METHODS",
    "DEFAULT_CI",
    "BASIC_BOUNDED",
    "basic_interval",
    "DEFAULT_N_BOOT",
    "SCHEMES",
    "confidence_interval",
    "acceleration",
    "interval_pvalue",
    "BootstrapResult",
    "bootstrap_rho",
]

CI_METHODS = ("percentile", "basic", "bca")
# Both chosen by the rule in docs/calibration.md ("Default interval"); tests/unit checks they agree with it.
DEFAULT_CI = "basic"
# How a basic interval for a bounded statistic stays inside the bounds: "clip" or "fisher-z".
BASIC_BOUNDED = "clip"
DEFAULT_N_BOOT = 2000
CORRELATION_BOUNDS = (-1.0, 1.0)


# --------------------------------------------------------------------------- intervals
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
    method = check_choice("interval method", method, CI_METHODS)
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


# --------------------------------------------------------------------------- bootstrap_rho
@dataclass(frozen=True)
class BootstrapResult:
    """A bootstrap confidence interval for the rank correlation of two RDMs.

    ``bootstrap_distribution`` holds the defined replicates (undefined ones, from resamples whose
    RDM came out constant, are counted in ``n_undefined`` and left out).  ``bias`` is
    ``mean(replicates) - estimate``; ``bias_corrected`` is ``estimate - bias``.
    """

    estimate: float
    ci_low: float
    ci_high: float
    ci_method: str
    confidence: float
    scheme: str
    n_boot: int
    n_undefined: int
    standard_error: float
    bias: float
    bias_corrected: float
    acceleration: float | None
    rank: str
    rdm: str
    n_emotions: int
    seed: int | None
    names: tuple[str, str]
    bootstrap_distribution: np.ndarray = field(repr=False)

    def to_dict(self, include_distribution: bool = False) -> dict[str, Any]:
        out = {
            "a": self.names[0], "b": self.names[1], "rho": self.estimate, "ci_low": self.ci_low, "ci_high": self.ci_high,
            "ci_method": self.ci_method, "confidence": self.confidence, "bootstrap": self.scheme, "n_boot": self.n_boot,
            "n_undefined": self.n_undefined, "standard_error": self.standard_error, "bias": self.bias,
            "bias_corrected": self.bias_corrected, "acceleration": self.acceleration, "rank": self.rank, "rdm": self.rdm,
            "n_emotions": self.n_emotions, "seed": self.seed,
        }
        if include_distribution:
            out["bootstrap_distribution"] = self.bootstrap_distribution.tolist()
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])


def _bootstrap_iv(scheme, n_boot, ci, confidence, rank, batch_size):
    if scheme is not None:
        scheme = check_choice("bootstrap scheme", scheme, SCHEMES)
    n_boot = check_count("n_boot", n_boot, 1)
    ci = check_choice("interval method", ci, CI_METHODS)
    confidence = check_confidence(confidence)
    rank = rank_method_name(rank)
    batch_size = check_count("batch_size", batch_size, 1)
    return scheme, n_boot, ci, confidence, rank, batch_size


def summarize_replicates(estimate: float, replicates: np.ndarray, *, ci: str, confidence: float,
                         jackknife: Sequence[np.ndarray] | None, bounds: tuple[float, float] | None) -> dict[str, Any]:
    """Interval, standard error, bias and acceleration from replicates that may hold NaN."""
    finite = replicates[np.isfinite(replicates)]
    n_undefined = int(replicates.size - finite.size)
    if finite.size < 2:
        raise EstimationError(f"only {finite.size} of {replicates.size} bootstrap resamples gave a defined correlation "
                              "(too few emotions or prompts to resample)")
    if n_undefined:
        warnings.warn(f"{n_undefined} of {replicates.size} bootstrap resamples gave a constant RDM (correlation "
                      "undefined) and were left out of the interval", RsaStatsWarning, stacklevel=3)
    jk = None
    if jackknife is not None:
        jk = [j[np.isfinite(j)] for j in jackknife]
    acc = acceleration(jk) if (ci == "bca" and jk is not None) else None
    low, high = confidence_interval(estimate, finite, method=ci, confidence=confidence, bounds=bounds,
                                    acceleration_value=acc if ci == "bca" else None)
    mean = float(finite.mean())
    return {"ci_low": low, "ci_high": high, "n_undefined": n_undefined, "standard_error": float(finite.std(ddof=1)),
            "bias": mean - estimate, "bias_corrected": estimate - (mean - estimate), "acceleration": acc,
            "distribution": finite}


def bootstrap_rho(a: Any, b: Any, *, scheme: str | None = None, n_boot: int = DEFAULT_N_BOOT, ci: str = DEFAULT_CI,
                  confidence: float = 0.95, rank: str = "spearman", rdm: str = "cosine", layer: int | None = None,
                  last_k: int | None = None, normalization: str = "raw", n_pcs: int = 3, seed: SeedLike = None,
                  batch_size: int = 256, scheduler: Any = None) -> BootstrapResult:
    """Bootstrap CI for the rank correlation between the RDMs of ``a`` and ``b``.

    Parameters
    ----------
    a, b : file paths, schema-v1 datasets (activations, vectors or RDM) or :class:`~rsastats.rdm.RDM`.
        Emotions are aligned by label.  ``prompts`` and ``both`` need activations.
    scheme : ``"emotions"`` (resample conditions; self-pairs of duplicates dropped), ``"prompts"``
        (resample prompts within each emotion, recompute vectors, RDM and rho) or ``"both"``;
        default ``"both"`` when both inputs have prompts (activations), else ``"emotions"``.
    n_boot : number of resamples (>= 1).
    ci : ``"basic"``, ``"percentile"`` or ``"bca"`` (see :data:`DEFAULT_CI` and docs/calibration.md).
    confidence : level in (0, 1).
    rank, rdm, layer, last_k, normalization, n_pcs : how RDMs are built and compared.
    seed : int, SeedSequence or Generator; the result depends only on it, never on ``batch_size``.
    scheduler : a dask scheduler address or ``distributed.Client``: resamples run in chunks on the
        cluster, with the same result (see :mod:`rsastats.distributed`); None runs in-process.

    Returns
    -------
    BootstrapResult
    """
    scheme, n_boot, ci, confidence, rank, batch_size = _bootstrap_iv(scheme, n_boot, ci, confidence, rank, batch_size)
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs).checked()
    models = load_models([a, b], options)
    if scheme is None:
        scheme = "both" if all(m.has_prompts for m in models) else "emotions"
    engine = ResamplingEngine(models, rank=rank, scheme=scheme, rdm_method=options.rdm)
    pairs = np.array([[0, 1]])
    estimate = float(engine.point(pairs)[0])
    with scheduler_runner(scheduler) as runner:
        if runner is None:
            reps = engine.replicates(pairs, n_boot, seed, batch_size)[:, 0]
        else:
            spec = engine_spec([a, b], models, options, rank=rank, scheme=scheme, rdm_method=options.rdm)
            reps = runner.bootstrap(spec, pairs, n_boot, seed, batch_size)[:, 0]
    jack = [s[:, 0] for s in engine.jackknife(pairs)] if ci == "bca" else None
    summary = summarize_replicates(estimate, reps, ci=ci, confidence=confidence, jackknife=jack, bounds=CORRELATION_BOUNDS)
    dist = summary.pop("distribution")
    dist.setflags(write=False)
    return BootstrapResult(estimate=estimate, ci_method=ci, confidence=confidence, scheme=scheme, n_boot=n_boot,
                           rank=rank, rdm=options.rdm, n_emotions=models[0].rdm.n_emotions, seed=seed_to_int(seed),
                           names=(models[0].name, models[1].name), bootstrap_distribution=dist, **summary)

