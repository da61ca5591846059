"""The difference of two correlations that share a model: ``rho(A, B) - rho(A, C)``, with the same
resamples (and the same left-out emotions) for both correlations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..checks import check_count
from ..exceptions import ValidationError
from ..inputs import RDMOptions, load_models
from ..intervals import INTERVAL_METHODS, interval_pvalue
from ..intervals.methods import FISHER_Z_METHODS
from ..intervals.jackknife import difference_interval
from ..intervals.undefined import interval_note
from ..parallel import runner_for
from ..results import Record
from ..rng import SeedLike, seed_to_int, spawn_sequences
from .bootstrap import DEFAULT_N_BOOT, summarize_replicates
from .degeneracy import difference_second_order
from .engine import ResamplingEngine
from .engine_tasks import bootstrap_replicates
from .settings import comparison_settings, scheme_for

__all__ = ["DIFFERENCE_CI", "DIFFERENCE_BOUNDS", "DifferenceResult", "compare_difference", "difference_summary"]

# A difference is not bounded to [-1, 1]: Tukey's jackknife-t on the raw scale, the variance less the second-order
# excess (rsastats.intervals.jackknife.difference_interval; calibrated in docs/calibration.md, 'The difference of two
# correlations').  "jackknife", the plain normal interval on the raw scale, was the default before 2026-12-06.
DIFFERENCE_CI = "jackknife-t"
# A difference of two correlations lies in [-2, 2]: its intervals are kept there (a t interval from few emotions, or a
# basic one, can reach past it).
DIFFERENCE_BOUNDS = (-2.0, 2.0)


@dataclass(frozen=True)
class DifferenceResult(Record):
    """``rho(A, B) - rho(A, C)`` (as measured) with its interval and the p of "no difference"."""

    a: str
    b: str
    c: str
    rho_ab: float
    rho_ac: float
    difference: float
    ci_low: float
    ci_high: float
    ci_method: str
    ci_note: str  # why there is no interval ("" with one)
    confidence: float
    p_value: float
    bootstrap: str
    n_boot: int
    n_undefined: int
    standard_error: float
    rank: str
    rdm: str
    n_emotions: int
    seed: int | None
    bootstrap_distribution: np.ndarray = field(repr=False, metadata={"json": False})


def difference_summary(reps: np.ndarray, jack: list[np.ndarray] | None, point: np.ndarray, uppers: np.ndarray,
                       models: tuple[int, int, int], *, ci: str, confidence: float, rank: str,
                       label: str, n_units: int) -> dict[str, Any]:
    """The interval, p-value (``p_value``) and replicate summaries of ``rho(A, B) - rho(A, C)`` from the replicates
    ``reps`` (B, 2) and leave-one-out values ``jack`` (one array (n, 2) per stratum) of the pairs (A, B), (A, C), their
    estimates ``point`` (2,), and the RDM upper triangles ``uppers[models]`` of A, B and C: the default
    (:data:`DIFFERENCE_CI`) from :func:`~rsastats.intervals.jackknife.difference_interval` with the second-order
    excess, the others as rho's (:func:`~rsastats.inference.bootstrap.summarize_replicates`), p their inversion;
    ``ci_note`` says why there is no interval (``n_units``: the emotions)."""
    diff = float(point[0] - point[1])
    dj = None if jack is None else [s[:, 0] - s[:, 1] for s in jack]
    own = ci == DIFFERENCE_CI  # the raw-scale jackknife-t of a difference, not rho's Fisher-z one
    summary = summarize_replicates(diff, reps[:, 0] - reps[:, 1], ci=ci, confidence=confidence, jackknife=dj,
                                   bounds=DIFFERENCE_BOUNDS, label=label, interval=not own)
    jackknifed = own or INTERVAL_METHODS[ci].uses == "jackknife"
    if jackknifed and not np.isfinite(dj[0]).all():  # an RDM without one emotion is constant: that value is undefined
        summary.update(ci_low=float("nan"), ci_high=float("nan"), p_value=float("nan"),
                       ci_note=summary.get("ci_note") or ("no jackknife interval: a leave-one-out correlation is "
                                                          "undefined (an RDM without one of the emotions is constant)"))
        return summary
    if own:
        excess = difference_second_order(*(uppers[k] for k in models), float(point[0]), float(point[1]), rank)
        low, high, _, summary["p_value"] = difference_interval(diff, dj[0], confidence=confidence, second_order=excess)
        summary["ci_low"], summary["ci_high"] = max(low, DIFFERENCE_BOUNDS[0]), min(high, DIFFERENCE_BOUNDS[1])
    else:
        summary["p_value"] = float(interval_pvalue(diff, summary["distribution"], method=ci, null=0.0,
                                                   acceleration_value=summary["acceleration"],
                                                   jackknife=None if dj is None else dj[0]))
    summary["ci_note"] = summary.get("ci_note") or interval_note(ci, n_units, summary["ci_low"], summary["ci_high"])
    return summary


def compare_difference(a: Any, b: Any, c: Any, *, bootstrap: str | None = None, n_boot: int = DEFAULT_N_BOOT,
                       ci: str = DIFFERENCE_CI, confidence: float = 0.95, rank: str = "spearman", rdm: str = "cosine",
                       layer: int | None = None, last_k: int | None = None, normalization: str = "raw", n_pcs: int = 3,
                       seed: SeedLike = 0, batch_size: int = 256, scheduler: Any = None) -> DifferenceResult:
    """CI and p-value for ``rho(A, B) - rho(A, C)``.

    Every resample of emotions (or prompts) and every left-out emotion applies to all three models at
    once, so the dependence between the two correlations (they share ``A``) is kept.  The default
    interval (``"jackknife-t"``) is Tukey's jackknife-t on the raw scale with the jackknife variance less the
    second-order part it counts twice (:func:`~rsastats.intervals.jackknife.difference_interval`; the first-order
    effects of the two correlations largely cancel in their difference, where the plain jackknife normal interval,
    ``"jackknife"``, the default before 2026-12-06, over-covers: docs/calibration.md, 'The difference of two
    correlations that share a model'); ``percentile``, ``basic`` and ``bca`` use the paired
    bootstrap.  ``jackknife-z`` (a Fisher-z interval, for one correlation) is refused.  The p-value (H0: the
    difference is 0) inverts the chosen interval.  ``scheduler``: as in
    :func:`~rsastats.inference.compare_models`.
    """
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs)
    n_boot, ci, confidence, rank, bootstrap, options = comparison_settings(n_boot, ci, confidence, rank, bootstrap,
                                                                           options)
    batch_size = check_count("batch_size", batch_size, 1)
    if ci in FISHER_Z_METHODS and ci != DIFFERENCE_CI:  # the default's t interval is on the raw scale
        raise ValidationError(f"ci {ci!r} forms a correlation's interval on the Fisher-z scale; a difference of two "
                         "correlations lies in [-2, 2] and has none: use 'jackknife-t' (the default) or 'jackknife' "
                         "(the normal interval on the raw scale)")
    models = load_models([a, b, c], options)
    scheme = scheme_for(models, bootstrap, ci)
    engine = ResamplingEngine(models, rank=rank, scheme=scheme, rdm_method=options.rdm)
    pairs = np.array([[0, 1], [0, 2]])
    point = engine.point(pairs)
    diff = float(point[0] - point[1])
    with runner_for(scheduler) as runner:
        reps = bootstrap_replicates(runner, engine, [a, b, c], models, options, pairs, n_boot, spawn_sequences(seed, 1)[0],
                                    batch_size)
    jack = engine.jackknife(pairs) if INTERVAL_METHODS[ci].needs_jackknife else None
    summary = difference_summary(reps, jack, point, engine.fixed, (0, 1, 2), ci=ci, confidence=confidence, rank=rank,
                                 label="the difference of the two rhos", n_units=models[0].rdm.n_emotions)
    dist = summary.pop("distribution")
    p = summary.pop("p_value")
    dist.setflags(write=False)
    return DifferenceResult(a=models[0].name, b=models[1].name, c=models[2].name, rho_ab=float(point[0]),
                            rho_ac=float(point[1]), difference=diff, ci_low=summary["ci_low"], ci_high=summary["ci_high"],
                            ci_method=ci, ci_note=summary["ci_note"], confidence=confidence, p_value=p, bootstrap=scheme,
                            n_boot=n_boot, n_undefined=summary["n_undefined"], standard_error=summary["standard_error"],
                            rank=rank, rdm=options.rdm, n_emotions=models[0].rdm.n_emotions, seed=seed_to_int(seed),
                            bootstrap_distribution=dist)
