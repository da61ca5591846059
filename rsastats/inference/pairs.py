"""Comparing two models: rho as measured with its interval, the Mantel permutation p, and the
noise-free rho with the noise ceiling (docs/statistics.md, "Two estimands").

The bootstrap resamples, the permutations, the half splits and the corrected rho's resamples come
from separate child streams of ``seed`` (:func:`~rsastats.inference.settings.streams`), so each part is
reproducible on its own.  The difference of two correlations is in :mod:`.difference`, all pairs of a
set in :mod:`.matrix` (both re-exported here).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from ..checks import check_choice, check_count
from ..inputs import RDMOptions, load_models
from ..intervals import CORRELATION_BOUNDS, DEFAULT_CI, INTERVAL_METHODS, interval_note
from ..parallel import runner_for
from ..results import Record
from ..rng import SeedLike, seed_to_int
from .bootstrap import DEFAULT_N_BOOT, summarize_replicates
from .corrected import DEFAULT_N_SPLITS, CorrectedRho, corrected_rhos
from .difference import DifferenceResult, compare_difference
from .degeneracy import low_rank_caution, pair_interval_terms
from .engine import ResamplingEngine
from .engine_tasks import bootstrap_replicates
from .join import joined_records
from .matrix import CompareAllResult, compare_all
from .prompt_jackknife import prompt_strata
from .permutation import ALTERNATIVES, DEFAULT_PERMUTATIONS, MantelKernel, mantel_pvalue, permutations_iv, run_mantel
from .settings import check_resample_memory, comparison_settings, layer_text, scheme_for, streams

__all__ = ["ComparisonResult", "DifferenceResult", "CompareAllResult", "compare_models", "compare_difference",
           "compare_all"]


@dataclass(frozen=True)
class ComparisonResult(Record):
    """Two geometries compared, with both estimands named (docs/statistics.md, "Two estimands").

    ``rho`` is as measured (the rank correlation of the two RDMs built from the prompts at hand); its
    interval ``ci_low``/``ci_high`` targets the value rho has on average over new samples of emotions
    and prompts of the same design.  ``rho_corrected`` is noise-free (unlimited prompts per emotion),
    with ``corrected_ci_low``/``corrected_ci_high``; None with ``corrected_note`` saying why when the
    inputs have no prompts or too few, or are too noisy.  ``noise_ceiling`` likewise with ``ceiling_note``.
    ``standard_error`` and ``bias`` describe the bootstrap replicates (``bootstrap_distribution``).  ``ci_note`` says
    why rho has no interval where ``ci_low``/``ci_high`` are None ("" where it has one); ``ci_caution`` why a given
    interval may cover less often than its level (the emotions vary along few directions:
    :func:`~rsastats.inference.degeneracy.low_rank_caution`; "" where nothing is known against it).
    """

    a: str
    b: str
    rho: float
    ci_low: float
    ci_high: float
    ci_method: str
    ci_note: str
    ci_caution: str
    confidence: float
    p_value: float
    n_permutations: int
    permutation_exact: bool
    alternative: str
    n_boot: int
    n_undefined: int
    bootstrap: str
    rank: str
    rdm: str
    layer: str
    normalization: str
    n_emotions: int
    seed: int | None
    standard_error: float
    bias: float
    rho_corrected: float | None
    corrected_ci_low: float | None
    corrected_ci_high: float | None
    corrected_ci_method: str
    corrected_note: str
    split_half_a: float | None
    split_half_b: float | None
    reliability_a: float | None
    reliability_b: float | None
    noise_ceiling: float | None
    ceiling_note: str
    n_splits: int | None
    bootstrap_distribution: np.ndarray = field(repr=False, metadata={"json": False})

    @property
    def exact(self) -> bool:
        """``permutation_exact`` (the name before the vocabulary of :mod:`rsastats.results`)."""
        return self.permutation_exact


def _not_computed() -> CorrectedRho:
    note = "not computed (--no-ceiling)"
    return CorrectedRho(None, None, None, "bca", note, None, None, None, None, None, note, None)


def compare_models(a: Any, b: Any, *, bootstrap: str | None = None, n_boot: int = DEFAULT_N_BOOT, ci: str = DEFAULT_CI,
                   confidence: float = 0.95, permutations: Any = DEFAULT_PERMUTATIONS, alternative: str = "two-sided",
                   rank: str = "spearman", rdm: str = "cosine", layer: int | None = None, last_k: int | None = None,
                   normalization: str = "raw", n_pcs: int = 3, n_splits: int = DEFAULT_N_SPLITS, ceiling: bool = True,
                   seed: SeedLike = 0, batch_size: int = 256,
                   progress: Callable[[int], None] | None = None, scheduler: Any = None) -> ComparisonResult:
    """Everything ``rsastats compare`` reports for two models.

    ``bootstrap`` resamples ``emotions`` by default (each emotion's prompts travel with it); ``ci``
    ``"jackknife-t"`` (default) forms rho's interval from the leave-one-emotion-out jackknife on the
    Fisher-z scale (Tukey's t interval, the variance corrected for the jackknife's second-order excess);
    ``"jackknife-z"`` is the normal interval with the plain jackknife SE; ``percentile``, ``basic`` and ``bca`` are bootstrap intervals.  The noise-free
    ``rho_corrected`` (cross-half disattenuation over ``n_splits`` random half splits, a jackknife-t interval; BCa near the bound)
    and the noise ceiling are computed when both inputs hold activations and ``ceiling``
    (:mod:`rsastats.inference.corrected`).  ``scheduler`` (a dask scheduler address, a
    ``distributed.Client`` or None) runs the bootstrap and the permutations in chunks on a cluster, with
    the in-process result (:mod:`rsastats.parallel`).  Other parameters as in
    :func:`~rsastats.inference.bootstrap.bootstrap_rho` and :func:`~rsastats.inference.permutation.mantel`.
    """
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs)
    n_boot, ci, confidence, rank, bootstrap, options = comparison_settings(n_boot, ci, confidence, rank, bootstrap,
                                                                           options)
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    n_splits = check_count("n_splits", n_splits, 1)
    batch_size = check_count("batch_size", batch_size, 1)
    models = load_models([a, b], options)
    n = models[0].rdm.n_emotions
    perms, count, exact = permutations_iv(permutations, n)
    check_resample_memory(models, 1, n_boot, count, n_splits)
    scheme = scheme_for(models, bootstrap, ci)
    seeds = streams(seed)

    engine = ResamplingEngine(models, rank=rank, scheme=scheme, rdm_method=options.rdm)
    pairs = np.array([[0, 1]])
    rho = float(engine.point(pairs)[0])
    matrices = np.stack([np.asarray(m.rdm.matrix) for m in models])
    observed = float(MantelKernel(matrices[0], matrices[1], rank)(np.arange(n)[None, :])[0])
    with runner_for(scheduler) as runner:
        reps = bootstrap_replicates(runner, engine, [a, b], models, options, pairs, n_boot, seeds.bootstrap, batch_size,
                                    progress)[:, 0]
        permuted = run_mantel(runner, matrices, pairs, rank, alternative, perms, count, seeds.permutations,
                              counts_only=False)[:, 0]
    strata = engine.jackknife(pairs) if INTERVAL_METHODS[ci].needs_jackknife else None
    jack = None if strata is None else [s[:, 0] for s in strata]
    second, ranks = pair_interval_terms(engine, pairs, np.array([rho]), ci)
    prompts = prompt_strata(models, pairs, strata, ci=ci, rank=rank, rdm_method=options.rdm)[0]
    summary = summarize_replicates(rho, reps, ci=ci, confidence=confidence, jackknife=jack, bounds=CORRELATION_BOUNDS,
                                   second_order=None if second is None else float(second[0]), prompts=prompts)
    corrected = (corrected_rhos(models, pairs, np.array([rho]), rank=rank, rdm_method=options.rdm, n_splits=n_splits,
                                n_boot=n_boot, confidence=confidence, split_seed=seeds.splits,
                                boot_seed=seeds.corrected, world_seed=seeds.worlds)[0] if ceiling else _not_computed())
    corrected = joined_records([corrected], [(summary["ci_low"], summary["ci_high"])], models=models, pairs=pairs,
                               point=np.array([rho]), ci=ci, scheme=scheme, confidence=confidence, rank=rank,
                               rdm_method=options.rdm)[0]
    dist = summary.pop("distribution")
    dist.setflags(write=False)
    summary.pop("acceleration")
    note = summary.pop("ci_note", "") or interval_note(ci, n, summary["ci_low"], summary["ci_high"])
    return ComparisonResult(
        a=models[0].name, b=models[1].name, rho=rho, ci_method=ci, confidence=confidence, bootstrap=scheme, n_boot=n_boot,
        ci_note=note, ci_caution=low_rank_caution(None if ranks is None else float(ranks[0]), n, summary["ci_low"]),
        p_value=mantel_pvalue(observed, permuted, alternative, exact), n_permutations=count, permutation_exact=exact,
        alternative=alternative, rank=rank, rdm=options.rdm, layer=layer_text(models),
        normalization=options.normalization, n_emotions=n, seed=seed_to_int(seed), bootstrap_distribution=dist,
        **summary, **asdict(corrected))
