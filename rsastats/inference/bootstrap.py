"""Bootstrap confidence intervals for the rank correlation of two RDMs: resampling emotions,
prompts, or both (:class:`~rsastats.inference.engine.ResamplingEngine`); the intervals themselves
are formed in :mod:`rsastats.intervals`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ..rng import SeedLike, seed_to_int
from ..checks import check_choice, check_confidence, check_count
from ..measures import rank_method_name
from ..parallel import runner_for
from ..results import Record
from ..exceptions import EstimationError, RsaStatsWarning
from ..intervals import (BASIC_BOUNDED, CI_METHODS, CORRELATION_BOUNDS, DEFAULT_CI, INTERVAL_METHODS, acceleration,
                         basic_interval, confidence_interval, excluded_estimate, interval_note, interval_pvalue)
from .degeneracy import pair_second_order
from .engine import SCHEMES, ResamplingEngine
from .engine_tasks import bootstrap_replicates
from .prompt_jackknife import prompt_strata
from ..inputs import RDMOptions, load_models
from .settings import scheme_for

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

DEFAULT_N_BOOT = 2000


# --------------------------------------------------------------------------- bootstrap_rho
@dataclass(frozen=True)
class BootstrapResult(Record):
    """A bootstrap confidence interval for the rank correlation ``rho`` of two RDMs.

    ``bootstrap_distribution`` holds the defined replicates (undefined ones, from resamples whose
    RDM came out constant, are counted in ``n_undefined`` and left out).  ``bias`` is
    ``mean(replicates) - rho`` (a property of the resampling, not an estimate of attenuation: the
    noise-free rho is ``rho_corrected`` of :func:`~rsastats.inference.compare_models`).
    """

    a: str
    b: str
    rho: float
    ci_low: float
    ci_high: float
    ci_method: str
    confidence: float
    bootstrap: str
    n_boot: int
    n_undefined: int
    standard_error: float
    bias: float
    acceleration: float | None
    rank: str
    rdm: str
    n_emotions: int
    seed: int | None
    bootstrap_distribution: np.ndarray = field(repr=False, metadata={"json": False})
    ci_note: str = ""  # why there is no interval ("" where there is one), as compare_models' ci_note

    @property
    def estimate(self) -> float:
        """``rho`` (the name before the vocabulary of :mod:`rsastats.results`)."""
        return self.rho

    def to_dict(self, include_distribution: bool = False) -> dict[str, Any]:
        out = super().to_dict()
        if include_distribution:
            out["bootstrap_distribution"] = self.bootstrap_distribution.tolist()
        return out


def _bootstrap_iv(scheme, n_boot, ci, confidence, rank, batch_size):
    if scheme is not None:
        scheme = check_choice("bootstrap scheme", scheme, SCHEMES)
    n_boot = check_count("n_boot", n_boot, 2)
    ci = check_choice("interval method", ci, CI_METHODS)
    confidence = check_confidence(confidence)
    rank = rank_method_name(rank)
    batch_size = check_count("batch_size", batch_size, 1)
    return scheme, n_boot, ci, confidence, rank, batch_size


def summarize_replicates(estimate: float, replicates: np.ndarray, *, ci: str, confidence: float,
                         jackknife: Sequence[np.ndarray] | None, bounds: tuple[float, float] | None,
                         second_order: float | None = None, label: str = "", prompts: Any = None,
                         interval: bool = True) -> dict[str, Any]:
    """Interval, standard error, bias and acceleration from replicates that may hold NaN (``second_order``:
    the jackknife's excess variance for ``jackknife-t``, :mod:`rsastats.inference.degeneracy`; ``prompts``: the
    leave-one-prompt-out values a jackknife interval uses where its leave-one-out values have no spread).  A bootstrap
    interval that excludes ``estimate`` is NaN, with a warning naming ``label`` (what it is of).  Without
    ``interval`` its ends are NaN (for a caller that forms the interval itself)."""
    finite = replicates[np.isfinite(replicates)]
    n_undefined = int(replicates.size - finite.size)
    if finite.size < 2:
        raise EstimationError(f"only {finite.size} of {replicates.size} bootstrap resamples gave a defined correlation "
                              "(too few emotions or prompts to resample)")
    if n_undefined:
        used_by = ("the bootstrap standard error and bias (the jackknife interval does not use resamples)"
                   if INTERVAL_METHODS[ci].uses == "jackknife" else "the interval")
        warnings.warn(f"{n_undefined} of {replicates.size} bootstrap resamples gave a constant RDM (correlation "
                      f"undefined) and were left out of {used_by}", RsaStatsWarning, stacklevel=3)
    jk = None
    if jackknife is not None:
        jk = [j[np.isfinite(j)] for j in jackknife]
        total = sum(j.size for j in jackknife)
        missing = total - sum(j.size for j in jk)
        if missing and interval and INTERVAL_METHODS[ci].uses == "jackknife":  # the left-out units are the ones the
            # estimate depends on most; a jackknife without them would be too narrow
            note = (f"leaving out {missing} of the {total} emotions one at a time leaves the correlation undefined (an "
                    "RDM without it is constant), so the jackknife is incomplete")
            warnings.warn(f"no {ci} interval{f' of {label}' if label else ''}: {note}", RsaStatsWarning, stacklevel=3)
            return {"ci_low": float("nan"), "ci_high": float("nan"), "n_undefined": n_undefined,
                    "standard_error": float(finite.std(ddof=1)), "bias": float(finite.mean()) - estimate,
                    "acceleration": None, "distribution": finite, "ci_note": note}
    acc = acceleration(jk) if (ci == "bca" and jk is not None) else None
    if not interval:
        return {"ci_low": float("nan"), "ci_high": float("nan"), "n_undefined": n_undefined,
                "standard_error": float(finite.std(ddof=1)), "bias": float(finite.mean()) - estimate,
                "acceleration": acc, "distribution": finite}
    low, high = confidence_interval(estimate, finite, method=ci, confidence=confidence, bounds=bounds,
                                    acceleration_value=acc if ci == "bca" else None,
                                    jackknife=jk if INTERVAL_METHODS[ci].uses == "jackknife" else None,
                                    second_order=second_order, prompts=prompts)
    why = excluded_estimate(ci, low, high, estimate, label)
    if why:  # an interval beside an estimate it excludes is not shown (docs/statistics.md)
        warnings.warn(f"{why}: not shown (a jackknife interval is built around the estimate)", RsaStatsWarning,
                      stacklevel=3)
        low = high = float("nan")
    mean = float(finite.mean())
    return {"ci_low": low, "ci_high": high, "n_undefined": n_undefined, "standard_error": float(finite.std(ddof=1)),
            "bias": mean - estimate, "acceleration": acc, "distribution": finite}


def bootstrap_rho(a: Any, b: Any, *, scheme: str | None = None, n_boot: int = DEFAULT_N_BOOT, ci: str = DEFAULT_CI,
                  confidence: float = 0.95, rank: str = "spearman", rdm: str = "cosine", layer: int | None = None,
                  last_k: int | None = None, normalization: str = "raw", n_pcs: int = 3, seed: SeedLike = None,
                  batch_size: int = 256, scheduler: Any = None) -> BootstrapResult:
    """rho between the RDMs of ``a`` and ``b`` with its interval (as measured: the interval targets the
    value rho has on average over new samples of emotions and prompts of the same design).

    Parameters
    ----------
    a, b : file paths, schema-v1 datasets (activations, vectors or RDM) or :class:`~rsastats.rdm.RDM`.
        Emotions are aligned by label.  ``prompts`` and ``both`` need activations.
    scheme : ``"emotions"`` (default: resample conditions, self-pairs of duplicates dropped; each
        emotion's prompts travel with it), ``"prompts"`` (resample prompts within each emotion, recompute
        vectors, RDM and rho: conditional on these emotions) or ``"both"``.
    n_boot : number of resamples (>= 1).
    ci : ``"jackknife-t"`` (default: Tukey's jackknife-t interval on the Fisher-z scale over emotions, its
        variance corrected for the jackknife's second-order excess (:mod:`rsastats.intervals.jackknife`),
        calibrated on the design atlas of docs/calibration.md), ``"jackknife-z"`` (the normal interval
        with the plain jackknife SE), ``"percentile"``, ``"basic"`` or ``"bca"`` (bootstrap intervals).
    confidence : level in (0, 1).
    rank, rdm, layer, last_k, normalization, n_pcs : how RDMs are built and compared.
    seed : int, SeedSequence or Generator; the result depends only on it, never on ``batch_size``.
    scheduler : a dask scheduler address or ``distributed.Client``: resamples run in chunks on the
        cluster, with the same result (see :mod:`rsastats.parallel`); None runs in-process.

    Returns
    -------
    BootstrapResult
    """
    scheme, n_boot, ci, confidence, rank, batch_size = _bootstrap_iv(scheme, n_boot, ci, confidence, rank, batch_size)
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs).checked()
    models = load_models([a, b], options)
    scheme = scheme_for(models, scheme, ci)
    engine = ResamplingEngine(models, rank=rank, scheme=scheme, rdm_method=options.rdm)
    pairs = np.array([[0, 1]])
    estimate = float(engine.point(pairs)[0])
    with runner_for(scheduler) as runner:
        reps = bootstrap_replicates(runner, engine, [a, b], models, options, pairs, n_boot, seed, batch_size)[:, 0]
    strata = engine.jackknife(pairs) if INTERVAL_METHODS[ci].needs_jackknife else None
    jack = None if strata is None else [s[:, 0] for s in strata]
    second = pair_second_order(engine, pairs, np.array([estimate]), ci)
    prompts = prompt_strata(models, pairs, strata, ci=ci, rank=rank, rdm_method=options.rdm)[0]
    summary = summarize_replicates(estimate, reps, ci=ci, confidence=confidence, jackknife=jack, bounds=CORRELATION_BOUNDS,
                                   second_order=None if second is None else float(second[0]), prompts=prompts)
    dist = summary.pop("distribution")
    dist.setflags(write=False)
    note = summary.pop("ci_note", "") or interval_note(ci, models[0].rdm.n_emotions, summary["ci_low"],
                                                       summary["ci_high"])
    return BootstrapResult(a=models[0].name, b=models[1].name, rho=estimate, ci_method=ci, confidence=confidence,
                           bootstrap=scheme, n_boot=n_boot, rank=rank, rdm=options.rdm, n_emotions=models[0].rdm.n_emotions,
                           seed=seed_to_int(seed), bootstrap_distribution=dist, ci_note=note, **summary)

