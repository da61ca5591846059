"""Comparing models: one pair with every kind of uncertainty, the difference of two correlations
that share a model, and all pairs of a set with adjusted p-values.

Each function draws its bootstrap resamples, permutations and half splits from separate child
streams of ``seed`` (children 0, 1 and 2), so each part is reproducible on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .._rng import SeedLike, seed_to_int, spawn_sequences
from .._validation import check_choice, check_confidence, check_count
from ..measures import rank_method_name
from ..parallel import runner_for
from ..results import Record
from ..exceptions import ValidationError
from .engine import SCHEMES, ResamplingEngine, all_pairs
from ._inputs import ModelInput, RDMOptions, load_models
from .bootstrap import CI_METHODS, CORRELATION_BOUNDS, DEFAULT_CI, DEFAULT_N_BOOT, interval_pvalue, summarize_replicates
from .ceiling import DEFAULT_N_SPLITS, ceilings_for, disattenuate
from .multiple import ADJUSTMENTS, adjust_pvalues
from .engine_tasks import bootstrap_replicates
from .permutation import (ALTERNATIVES, DEFAULT_PERMUTATIONS, MantelKernel, _permutations_iv, mantel_pvalue,
                          pvalue_from_count, run_mantel)

__all__ = ["ComparisonResult", "DifferenceResult", "CompareAllResult", "compare_models", "compare_difference",
           "compare_all", "default_scheme"]


def default_scheme(models: Sequence[ModelInput]) -> str:
    """``both`` when every model has prompts, else ``emotions``."""
    return "both" if all(m.has_prompts for m in models) else "emotions"


def _layer_text(models: Sequence[ModelInput]) -> str:
    texts = [m.layer_selection for m in models]
    return texts[0] if len(set(texts)) == 1 else "; ".join(f"{m.name}: {t}" for m, t in zip(models, texts))


def _common_iv(n_boot, ci, confidence, rank, scheme, options):
    n_boot = check_count("n_boot", n_boot, 1)
    ci = check_choice("interval method", ci, CI_METHODS)
    confidence = check_confidence(confidence)
    rank = rank_method_name(rank)
    if scheme is not None:
        scheme = check_choice("bootstrap scheme", scheme, SCHEMES)
    return n_boot, ci, confidence, rank, scheme, options.checked()


def _scheme_for(models: Sequence[ModelInput], scheme: str | None) -> str:
    chosen = scheme or default_scheme(models)
    if chosen in ("prompts", "both"):
        missing = [m.name for m in models if not m.has_prompts]
        if missing:
            raise ValidationError(f"--bootstrap {chosen} resamples prompts and needs activations files; "
                                  f"{', '.join(missing)} {'is a' if len(missing) == 1 else 'are'} "
                                  f"{models[[m.name for m in models].index(missing[0])].kind} file(s) (use --bootstrap emotions)")
    return chosen


# --------------------------------------------------------------------------- one pair
@dataclass(frozen=True)
class ComparisonResult(Record):
    """rho between two geometries with its bootstrap CI, Mantel p and noise ceilings (the ceiling
    fields are left out of ``to_dict`` when no ceiling was computed)."""

    a: str
    b: str
    rho: float
    ci_low: float
    ci_high: float
    ci_method: str
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
    bias_corrected: float
    reliability_a: float | None
    reliability_b: float | None
    noise_ceiling: float | None
    rho_disattenuated: float | None
    n_splits: int | None
    bootstrap_distribution: np.ndarray = field(repr=False, metadata={"json": False})

    _CEILING_KEYS = ("reliability_a", "reliability_b", "noise_ceiling", "rho_disattenuated", "n_splits")

    @property
    def exact(self) -> bool:
        """``permutation_exact`` (the name before the vocabulary of :mod:`rsastats.results`)."""
        return self.permutation_exact

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.n_splits is None:
            for key in self._CEILING_KEYS:
                out.pop(key)
        return out


def compare_models(a: Any, b: Any, *, bootstrap: str | None = None, n_boot: int = DEFAULT_N_BOOT, ci: str = DEFAULT_CI,
                   confidence: float = 0.95, permutations: Any = DEFAULT_PERMUTATIONS, alternative: str = "two-sided",
                   rank: str = "spearman", rdm: str = "cosine", layer: int | None = None, last_k: int | None = None,
                   normalization: str = "raw", n_pcs: int = 3, n_splits: int = DEFAULT_N_SPLITS, ceiling: bool = True,
                   seed: SeedLike = 0, batch_size: int = 256,
                   progress: Callable[[int], None] | None = None, scheduler: Any = None) -> ComparisonResult:
    """Everything ``rsastats compare`` reports for two models.

    ``bootstrap`` defaults to ``both`` when both inputs have prompts (activations), else
    ``emotions``.  Noise ceilings (split-half reliability with Spearman-Brown, the attenuation
    ceiling ``sqrt(r_A r_B)`` and the disattenuated rho) are computed when both have prompts.
    ``scheduler`` (a dask scheduler address, a ``distributed.Client`` or None) runs the bootstrap
    resamples and the permutations in chunks on a cluster; the result is identical to the
    in-process one (see :mod:`rsastats.parallel`).
    Other parameters as in :func:`~rsastats.inference.bootstrap.bootstrap_rho` and
    :func:`~rsastats.inference.permutation.mantel`.
    """
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs)
    n_boot, ci, confidence, rank, bootstrap, options = _common_iv(n_boot, ci, confidence, rank, bootstrap, options)
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    n_splits = check_count("n_splits", n_splits, 1)
    batch_size = check_count("batch_size", batch_size, 1)
    models = load_models([a, b], options)
    n = models[0].rdm.n_emotions
    perms, count, exact = _permutations_iv(permutations, n)
    scheme = _scheme_for(models, bootstrap)
    boot_seed, perm_seed, split_seed = spawn_sequences(seed, 3)

    engine = ResamplingEngine(models, rank=rank, scheme=scheme, rdm_method=options.rdm)
    pairs = np.array([[0, 1]])
    rho = float(engine.point(pairs)[0])
    matrices = np.stack([np.asarray(m.rdm.matrix) for m in models])
    observed = float(MantelKernel(matrices[0], matrices[1], rank)(np.arange(n)[None, :])[0])
    with runner_for(scheduler) as runner:
        reps = bootstrap_replicates(runner, engine, [a, b], models, options, pairs, n_boot, boot_seed, batch_size,
                                    progress)[:, 0]
        permuted = run_mantel(runner, matrices, pairs, rank, alternative, perms, count, perm_seed, counts_only=False)[:, 0]
    p_value = mantel_pvalue(observed, permuted, alternative, exact)
    jack = [s[:, 0] for s in engine.jackknife(pairs)] if ci == "bca" else None
    summary = summarize_replicates(rho, reps, ci=ci, confidence=confidence, jackknife=jack, bounds=CORRELATION_BOUNDS)

    rel_a = rel_b = ceil = dis = None
    used_splits = None
    if ceiling and all(m.has_prompts for m in models) and options.rdm != "crossval-euclidean":
        nc = ceilings_for(models, rank=rank, rdm_method=options.rdm, n_splits=n_splits, seed=split_seed)
        rel_a, rel_b = nc.reliability
        ceil = nc.pair_ceiling[(models[0].name, models[1].name)]
        dis = disattenuate(rho, rel_a, rel_b)
        used_splits = n_splits
    dist = summary.pop("distribution")
    dist.setflags(write=False)
    summary.pop("acceleration")
    return ComparisonResult(
        a=models[0].name, b=models[1].name, rho=rho, ci_method=ci, confidence=confidence, bootstrap=scheme, n_boot=n_boot,
        p_value=p_value, n_permutations=count, permutation_exact=exact, alternative=alternative, rank=rank, rdm=options.rdm,
        layer=_layer_text(models), normalization=options.normalization, n_emotions=n, seed=seed_to_int(seed),
        reliability_a=rel_a, reliability_b=rel_b, noise_ceiling=ceil, rho_disattenuated=dis, n_splits=used_splits,
        bootstrap_distribution=dist, **summary)


# --------------------------------------------------------------------------- difference
@dataclass(frozen=True)
class DifferenceResult(Record):
    """Paired bootstrap of ``rho(A, B) - rho(A, C)``: the same resamples for both correlations."""

    a: str
    b: str
    c: str
    rho_ab: float
    rho_ac: float
    difference: float
    ci_low: float
    ci_high: float
    ci_method: str
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


def compare_difference(a: Any, b: Any, c: Any, *, bootstrap: str | None = None, n_boot: int = DEFAULT_N_BOOT,
                       ci: str = DEFAULT_CI, confidence: float = 0.95, rank: str = "spearman", rdm: str = "cosine",
                       layer: int | None = None, last_k: int | None = None, normalization: str = "raw", n_pcs: int = 3,
                       seed: SeedLike = 0, batch_size: int = 256, scheduler: Any = None) -> DifferenceResult:
    """CI and p-value for ``rho(A, B) - rho(A, C)`` from one paired bootstrap.

    Every resample (of emotions and/or prompts) is applied to all three models at once, so the
    dependence between the two correlations (they share ``A``) is kept.  The p-value (H0: the
    difference is 0) inverts the chosen interval: it is the smallest ``1 - confidence`` at which
    the interval excludes 0.  The difference is not bounded to [-1, 1]: the basic interval is
    formed on the raw scale.  ``scheduler``: as in :func:`compare_models`.
    """
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs)
    n_boot, ci, confidence, rank, bootstrap, options = _common_iv(n_boot, ci, confidence, rank, bootstrap, options)
    batch_size = check_count("batch_size", batch_size, 1)
    models = load_models([a, b, c], options)
    scheme = _scheme_for(models, bootstrap)
    engine = ResamplingEngine(models, rank=rank, scheme=scheme, rdm_method=options.rdm)
    pairs = np.array([[0, 1], [0, 2]])
    point = engine.point(pairs)
    diff = float(point[0] - point[1])
    with runner_for(scheduler) as runner:
        reps = bootstrap_replicates(runner, engine, [a, b, c], models, options, pairs, n_boot, spawn_sequences(seed, 1)[0],
                                    batch_size)
    d = reps[:, 0] - reps[:, 1]
    jack = None
    if ci == "bca":
        jack = [s[:, 0] - s[:, 1] for s in engine.jackknife(pairs)]
    summary = summarize_replicates(diff, d, ci=ci, confidence=confidence, jackknife=jack, bounds=None)
    dist = summary.pop("distribution")
    p = float(interval_pvalue(diff, dist, method=ci, null=0.0, acceleration_value=summary["acceleration"]))
    dist.setflags(write=False)
    return DifferenceResult(a=models[0].name, b=models[1].name, c=models[2].name, rho_ab=float(point[0]),
                            rho_ac=float(point[1]), difference=diff, ci_low=summary["ci_low"], ci_high=summary["ci_high"],
                            ci_method=ci, confidence=confidence, p_value=p, bootstrap=scheme, n_boot=n_boot,
                            n_undefined=summary["n_undefined"], standard_error=summary["standard_error"], rank=rank,
                            rdm=options.rdm, n_emotions=models[0].rdm.n_emotions, seed=seed_to_int(seed),
                            bootstrap_distribution=dist)


# --------------------------------------------------------------------------- all pairs
@dataclass(frozen=True)
class CompareAllResult(Record):
    """Every pair of a set of models: rho, bootstrap CI, Mantel p and adjusted p.

    ``pairs`` is a DataFrame with one row per pair (columns ``a, b, rho, ci_low, ci_high,
    p_value, p_adjusted``); ``bootstrap_distribution`` is (n_boot, n_pairs).
    """

    names: tuple[str, ...]
    pairs: pd.DataFrame
    ci_method: str
    confidence: float
    bootstrap: str
    n_boot: int
    n_permutations: int
    permutation_exact: bool
    adjust: str
    rank: str
    rdm: str
    layer: str
    normalization: str
    n_emotions: int
    seed: int | None
    noise_ceiling: dict[str, Any] | None
    bootstrap_distribution: np.ndarray = field(repr=False)

    @property
    def exact(self) -> bool:
        """``permutation_exact`` (the name before the vocabulary of :mod:`rsastats.results`)."""
        return self.permutation_exact

    def to_frame(self) -> pd.DataFrame:
        return self.pairs.copy()

    def rho_matrix(self) -> pd.DataFrame:
        """Square, labelled matrix of rho (1 on the diagonal)."""
        m = pd.DataFrame(np.eye(len(self.names)), index=list(self.names), columns=list(self.names))
        for row in self.pairs.itertuples():
            m.loc[row.a, row.b] = m.loc[row.b, row.a] = row.rho
        return m

    def to_dict(self) -> dict[str, Any]:
        return {"models": list(self.names), "pairs": self.pairs.to_dict(orient="records"), "ci_method": self.ci_method,
                "confidence": self.confidence, "bootstrap": self.bootstrap, "n_boot": self.n_boot,
                "n_permutations": self.n_permutations, "permutation_exact": self.permutation_exact, "adjust": self.adjust,
                "rank": self.rank, "rdm": self.rdm, "layer": self.layer, "normalization": self.normalization,
                "n_emotions": self.n_emotions, "seed": self.seed, "noise_ceiling": self.noise_ceiling}


def compare_all(models: Sequence[Any], *, bootstrap: str | None = None, n_boot: int = DEFAULT_N_BOOT, ci: str = DEFAULT_CI,
                confidence: float = 0.95, permutations: Any = DEFAULT_PERMUTATIONS, alternative: str = "two-sided",
                adjust: str = "holm", rank: str = "spearman", rdm: str = "cosine", layer: int | None = None,
                last_k: int | None = None, normalization: str = "raw", n_pcs: int = 3, n_splits: int = DEFAULT_N_SPLITS,
                ceiling: bool = True, names: Sequence[str] | None = None, seed: SeedLike = 0, batch_size: int = 256,
                progress: Callable[[int], None] | None = None, scheduler: Any = None) -> CompareAllResult:
    """All pairs of ``models``: rho, bootstrap CI (one joint bootstrap: every resample serves every
    pair), Mantel p (the same permutations for every pair) and p adjusted across pairs (``holm`` or
    ``bh``).  Noise ceilings (reliabilities and, for >= 3 models, leave-one-out group bounds) are
    added when ``ceiling``.  ``scheduler``: as in :func:`compare_models` (bootstrap chunks and
    (pairs x permutations) chunks run on the cluster; the result is identical)."""
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs)
    n_boot, ci, confidence, rank, bootstrap, options = _common_iv(n_boot, ci, confidence, rank, bootstrap, options)
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    adjust = check_choice("p-value adjustment", adjust, ADJUSTMENTS, {"fdr_bh": "bh", "fdr": "bh"})
    n_splits = check_count("n_splits", n_splits, 1)
    batch_size = check_count("batch_size", batch_size, 1)
    loaded = load_models(models, options, names)
    n = loaded[0].rdm.n_emotions
    perms, count, exact = _permutations_iv(permutations, n)
    scheme = _scheme_for(loaded, bootstrap)
    boot_seed, perm_seed, split_seed = spawn_sequences(seed, 3)

    engine = ResamplingEngine(loaded, rank=rank, scheme=scheme, rdm_method=options.rdm)
    pairs = all_pairs(len(loaded))
    point = engine.point(pairs)
    matrices = np.stack([np.asarray(m.rdm.matrix) for m in loaded])
    with runner_for(scheduler) as runner:
        reps = bootstrap_replicates(runner, engine, models, loaded, options, pairs, n_boot, boot_seed, batch_size, progress)
        exceed = run_mantel(runner, matrices, pairs, rank, alternative, perms, count, perm_seed, counts_only=True)
    jack = engine.jackknife(pairs) if ci == "bca" else None
    rows = []
    for k, (i, j) in enumerate(pairs):
        summary = summarize_replicates(float(point[k]), reps[:, k], ci=ci, confidence=confidence,
                                       jackknife=None if jack is None else [s[:, k] for s in jack], bounds=CORRELATION_BOUNDS)
        rows.append({"a": loaded[i].name, "b": loaded[j].name, "rho": float(point[k]), "ci_low": summary["ci_low"],
                     "ci_high": summary["ci_high"], "p_value": pvalue_from_count(int(exceed[k]), count, exact),
                     "standard_error": summary["standard_error"], "bias": summary["bias"],
                     "n_undefined": summary["n_undefined"]})
    table = pd.DataFrame(rows)
    table.insert(table.columns.get_loc("p_value") + 1, "p_adjusted", adjust_pvalues(table["p_value"].to_numpy(), adjust))
    nc = None
    if ceiling and (len(loaded) >= 3 or all(m.has_prompts for m in loaded)):
        result = ceilings_for(loaded, rank=rank, rdm_method=options.rdm, n_splits=n_splits, seed=split_seed)
        nc = result.to_dict()
        if all(r is not None for r in result.reliability):
            table["noise_ceiling"] = [result.pair_ceiling[(r.a, r.b)] for r in table.itertuples()]
            table["rho_disattenuated"] = [disattenuate(r.rho, result.reliability_of(r.a), result.reliability_of(r.b))
                                          for r in table.itertuples()]
    reps.setflags(write=False)
    return CompareAllResult(names=tuple(m.name for m in loaded), pairs=table, ci_method=ci, confidence=confidence,
                            bootstrap=scheme, n_boot=n_boot, n_permutations=count, permutation_exact=exact, adjust=adjust, rank=rank,
                            rdm=options.rdm, layer=_layer_text(loaded), normalization=options.normalization, n_emotions=n,
                            seed=seed_to_int(seed), noise_ceiling=nc, bootstrap_distribution=reps)

