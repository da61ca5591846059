"""How much each layer of method choices moves the emotion geometry: a variance decomposition.

Given emotion-vector (or activation) files of the same models under varied conditions, every
file ``f`` gives an RDM (cosine by default) over the common emotions; its upper-triangle cells ``k`` are
rank-transformed within the file and standardised, ``y_{f,k}``.  A linear mixed model with
random cell-by-factor-level effects, independent across cells,

    y ~ 1 + (1|cell) + (1|cell:model) + (1|cell:method) + (1|cell:model:method)
          + (0 + generation|cell:temperature) + ... + (1|cell:precision) + (1|cell:model:precision)
          + (1|cell:experiment) + (1|cell:model:experiment)

splits the variance of the geometry into the study's four layers of method effects (coarse
method; generation sub-parameters; precision; cross-experiment bias, with its model-specific
part) next to the shared geometry, the model-specific geometry and file-level noise.  Because
the responses are standardised ranks, the model is a structured model of the matrix of Spearman
correlations between all files' RDMs: a component's share is the correlation two files lose by
differing in that factor.  See ``docs/decomposition.md`` for the model, its checks and limits.

Uncertainty comes from a bootstrap over emotions (resampled emotions rebuild the cells), because
RDM cells that share an emotion are not independent; likelihood-ratio tests are reported with the
chi-square mixture reference and with a design-effect (Rao-Scott) correction for that dependence.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from ._rng import SeedLike, seed_sequence, seed_to_int, spawn_generators
from ._varcomp import (
    CellStatistics,
    VarianceFit,
    chibar_pvalue,
    design_effect,
    fit_statsmodels,
    fit_variance_components,
)
from ._variance_design import (
    DEFAULT_COMPONENTS,
    FACTORS,
    GENERATION_FACTORS,
    LAYERS,
    build_design,
    contrast_pairs,
    file_condition,
    pair_levels,
    parse_components,
)
from .compare import rank_correlation
from .data import open_dataset, validate_dataset
from .inference.bootstrap import confidence_interval
from .rdm import rdm_from_dataset, rdm_method_name, upper
from .vectors import DEFAULT_N_PCS, normalization_name
from .exceptions import EstimationError, LabelError, RsaStatsWarning, ValidationError
from .parallel import LocalRunner

__all__ = [
    "FACTORS",
    "GENERATION_FACTORS",
    "LAYERS",
    "DEFAULT_COMPONENTS",
    "CI_METHODS",
    "FileCondition",
    "VarianceComponent",
    "LayerShare",
    "ConditionContrast",
    "PairContrast",
    "DecompositionDiagnostics",
    "DecompositionResult",
    "file_condition",
    "decompose",
    "decompose_rdms",
]

CI_METHODS = ("percentile", "basic", "bca")
RESPONSES = ("rank", "zscore")
ENGINES = ("exact", "statsmodels")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class FileCondition:
    """One input file: its name, kind, which layers its vectors came from and its factor levels."""

    name: str
    kind: str
    layers: str
    levels: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "layers": self.layers, **self.levels}


@dataclass(frozen=True)
class VarianceComponent:
    """One variance component of the decomposition.

    ``variance`` is on the scale of the within-file standardised response (each file's cells have
    variance 1), ``share`` is the variance over the sum of all estimated variances.  ``lrt_p`` uses
    the 50:50 chi-square(0)/chi-square(1) mixture assuming independent cells; ``lrt_p_adjusted``
    divides the statistic by ``design_effect`` (the estimated variance inflation caused by cells that
    share an emotion, at least 1) and uses F(1, n-1) for the chi-square(1) part.  Components that cannot be estimated from these files have
    ``estimable=False``, NaN numbers and the reason in ``note``.
    """

    name: str
    layer: str
    term: str
    n_levels: int
    estimable: bool
    variance: float
    share: float
    variance_ci: tuple[float, float]
    share_ci: tuple[float, float]
    lrt_statistic: float
    lrt_p: float
    design_effect: float
    lrt_p_adjusted: float
    at_boundary: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.name,
            "layer": self.layer,
            "term": self.term,
            "n_levels": self.n_levels,
            "estimable": self.estimable,
            "variance": self.variance,
            "variance_ci_low": self.variance_ci[0],
            "variance_ci_high": self.variance_ci[1],
            "share": self.share,
            "share_ci_low": self.share_ci[0],
            "share_ci_high": self.share_ci[1],
            "lrt_statistic": self.lrt_statistic,
            "lrt_p": self.lrt_p,
            "design_effect": self.design_effect,
            "lrt_p_adjusted": self.lrt_p_adjusted,
            "at_boundary": self.at_boundary,
            "note": self.note,
        }


@dataclass(frozen=True)
class LayerShare:
    """The share of one of the study's layers: the sum of its estimable components."""

    layer: str
    components: tuple[str, ...]
    share: float
    share_ci: tuple[float, float]
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "components": list(self.components), "share": self.share,
                "share_ci_low": self.share_ci[0], "share_ci_high": self.share_ci[1], "note": self.note}


@dataclass(frozen=True)
class PairContrast:
    """Spearman rho between the RDMs of two files of one model that differ in one layer only."""

    layer: str
    factor: str
    model: str
    level_a: str
    level_b: str
    file_a: str
    file_b: str
    rho: float
    ci: tuple[float, float]
    implied_rho: float

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "factor": self.factor, "model": self.model, "level_a": self.level_a,
                "level_b": self.level_b, "file_a": self.file_a, "file_b": self.file_b, "rho": self.rho,
                "ci_low": self.ci[0], "ci_high": self.ci[1], "implied_rho": self.implied_rho}


@dataclass(frozen=True)
class ConditionContrast:
    """The simple view: mean Spearman rho over all file pairs that differ only in ``factor``
    between ``levels`` (e.g. fp32 vs int8-token), with a bootstrap CI over emotions, and the mean
    rho the fitted decomposition implies for those pairs."""

    layer: str
    factor: str
    levels: str
    n_pairs: int
    models: tuple[str, ...]
    mean_rho: float
    ci: tuple[float, float]
    min_rho: float
    max_rho: float
    implied_rho: float

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "factor": self.factor, "levels": self.levels, "n_pairs": self.n_pairs,
                "models": list(self.models), "mean_rho": self.mean_rho, "ci_low": self.ci[0], "ci_high": self.ci[1],
                "min_rho": self.min_rho, "max_rho": self.max_rho, "implied_rho": self.implied_rho}


@dataclass(frozen=True)
class DecompositionDiagnostics:
    """How the decomposition was fitted and what went wrong, if anything."""

    formula: str
    engine: str
    method: str
    response: str
    converged: bool
    singular: bool
    log_likelihood: float
    n_files: int
    n_emotions: int
    n_cells: int
    n_observations: int
    n_boot: int
    n_boot_nonconverged: int
    n_boot_failed: int
    ci_method: str
    confidence: float
    seed: int | None
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # How the RDMs were made (set by decompose; None when decompose_rdms was given RDMs).
    layer: int | None = None
    last_k: int | None = None
    normalization: str | None = None
    rdm: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["warnings"] = list(self.warnings)
        out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class DecompositionResult:
    """Result of :func:`decompose`: components, layer shares, the simple view, files, diagnostics.

    ``to_frame()`` is the component table; ``layers_frame()``, ``contrasts_frame()``,
    ``pairs_frame()`` and ``files_frame()`` give the others; ``to_dict()`` everything (JSON-ready,
    without the bootstrap replicates, which are in ``bootstrap_shares``: n_boot x components).
    """

    components: tuple[VarianceComponent, ...]
    layers: tuple[LayerShare, ...]
    contrasts: tuple[ConditionContrast, ...]
    pairs: tuple[PairContrast, ...]
    files: tuple[FileCondition, ...]
    emotions: tuple[str, ...]
    diagnostics: DecompositionDiagnostics
    bootstrap_shares: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros((0, 0)))

    def component(self, name: str) -> VarianceComponent:
        for comp in self.components:
            if comp.name == name:
                return comp
        raise KeyError(f"no component {name!r}; have {[c.name for c in self.components]}")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([c.to_dict() for c in self.components])

    def layers_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.layers])

    def contrasts_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.contrasts])

    def pairs_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.pairs])

    def files_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.files])

    def to_dict(self) -> dict[str, Any]:
        return {
            "components": [c.to_dict() for c in self.components],
            "layers": [x.to_dict() for x in self.layers],
            "contrasts": [x.to_dict() for x in self.contrasts],
            "pairs": [x.to_dict() for x in self.pairs],
            "files": [x.to_dict() for x in self.files],
            "emotions": list(self.emotions),
            "diagnostics": self.diagnostics.to_dict(),
        }


# --------------------------------------------------------------------------- responses
def _standardise(cells: np.ndarray, response: str) -> np.ndarray:
    """(F, K) cell values -> (K, F) responses: ranks (or values) centred and scaled to unit
    (population) variance within each file, so that Y'Y / K is the files' Spearman (Pearson) matrix."""
    values = stats.rankdata(cells, axis=1) if response == "rank" else np.asarray(cells, dtype=np.float64)
    centred = values - values.mean(axis=1, keepdims=True)
    scale = centred.std(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (centred / scale).T


def _resampled_cells(rdms: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells of the RDMs over resampled emotions (self-pairs that duplicates create dropped):
    values (F, K*) and the positions (K*, 2) of each cell's two emotions in ``index``."""
    n = index.size
    a, b = np.triu_indices(n, 1)
    keep = index[a] != index[b]
    a, b = a[keep], b[keep]
    return rdms[:, index[a], index[b]], np.column_stack([a, b])


# --------------------------------------------------------------------------- fitting
def _fit(engine: str, cells: np.ndarray, g: np.ndarray, levels: list[list[str | None]], reml: bool,
         start: np.ndarray | None = None) -> VarianceFit:
    if engine == "statsmodels":
        # levels[0] is the shared cell intercept, which fit_statsmodels always includes.
        return fit_statsmodels(cells, levels[1:], reml=reml)
    return fit_variance_components(CellStatistics.from_cells(cells), g, reml=reml, start=start)


def _relative(fit: VarianceFit) -> np.ndarray:
    return fit.variances / fit.residual if fit.residual > 0 else None


@dataclass
class _Replicates:
    variances: np.ndarray  # (B, m + 1): components then residual
    rho: np.ndarray  # (B, P): pair rhos
    nonconverged: int
    failed: int


def _replicate(rdms: np.ndarray, index: np.ndarray, g: np.ndarray, levels: list, pair_idx: np.ndarray,
               response: str, engine: str, reml: bool, start: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, bool]:
    cells, _ = _resampled_cells(rdms, index)
    y = _standardise(cells, response)
    ranks = y if response == "rank" else _standardise(cells, "rank")
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(ranks)):
        raise EstimationError("a file's resampled cells are all equal")
    fit = _fit(engine, y, g, levels, reml, start)
    rho = np.einsum("kp,kp->p", ranks[:, pair_idx[:, 0]], ranks[:, pair_idx[:, 1]]) / ranks.shape[0]
    rho = np.clip(rho, -1.0, 1.0)  # identical rankings give 1 + rounding
    return np.append(fit.variances, fit.residual), rho, fit.converged


def _bootstrap(rdms, g, levels, pair_idx, response, engine, reml, start, n_boot, seed,
               progress: Callable[[int], None] | None, runner: Any = None) -> _Replicates:
    """``n_boot`` replicates over emotions, in this process or (``runner``) in chunks on a dask
    cluster: replicate ``b`` draws from child ``b`` of ``seed`` either way, so the result is the same."""
    seed = seed_sequence(seed)  # once: a Generator seed advances as it would in-process
    shared = (rdms, g, levels, pair_idx, response, engine, reml, start, seed)
    parts = (LocalRunner() if runner is None else runner).map_ranges(_bootstrap_range_on_worker, n_boot, shared,
                                                                     progress=progress)
    return _Replicates(np.concatenate([p.variances for p in parts]), np.concatenate([p.rho for p in parts]),
                       sum(p.nonconverged for p in parts), sum(p.failed for p in parts))


def _bootstrap_range(shared: tuple, lo: int, hi: int, progress: Callable[[int], None] | None = None) -> _Replicates:
    """Replicates ``lo .. hi - 1`` (each from its own child stream of the seed)."""
    rdms, g, levels, pair_idx, response, engine, reml, start, seed = shared
    n = rdms.shape[1]
    m = g.shape[0] + 1
    variances = np.full((hi - lo, m), np.nan)
    rho = np.full((hi - lo, pair_idx.shape[0]), np.nan)
    nonconverged = failed = 0
    # One child stream per replicate: the result never depends on how replicates are grouped.
    for b, rng in enumerate(spawn_generators(seed, hi)[lo:]):
        index = rng.integers(0, n, size=n)
        while np.unique(index).size < 3:  # at least three distinct emotions make an RDM with >= 3 cells
            index = rng.integers(0, n, size=n)
        try:
            variances[b], rho[b], converged = _replicate(rdms, index, g, levels, pair_idx, response, engine, reml, start)
            nonconverged += not converged
        except EstimationError:
            failed += 1
        if progress is not None:
            progress(1)
    return _Replicates(variances, rho, nonconverged, failed)


def _bootstrap_range_on_worker(shared: tuple, lo: int, hi: int,
                               progress: Callable[[int], None] | None = None) -> _Replicates:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # as decompose_rdms fits in-process
        return _bootstrap_range(shared, lo, hi, progress)


def _jackknife(rdms, g, levels, pair_idx, response, engine, reml, start) -> tuple[np.ndarray, np.ndarray]:
    n = rdms.shape[1]
    out_var, out_rho = [], []
    for e in range(n):
        index = np.delete(np.arange(n), e)
        v, r, _ = _replicate(rdms, index, g, levels, pair_idx, response, engine, reml, start)
        out_var.append(v)
        out_rho.append(r)
    return np.array(out_var), np.array(out_rho)


def _interval(estimate: float, reps: np.ndarray, jack: np.ndarray | None, method: str, confidence: float,
              bounds: tuple[float, float] | None, messages: list[str], what: str) -> tuple[float, float]:
    """CI from the finite replicates (``bounds=None`` for variances, which are then kept >= 0).

    A BCa interval whose bias correction is infinite (every replicate on one side of the estimate, as
    happens at the boundary) falls back to the percentile interval, and ``messages`` says so; so do
    the interval function's warnings (e.g. too few replicates for the level).
    """
    ok = np.isfinite(reps)
    if not np.isfinite(estimate) or ok.sum() < 2:
        return _NAN2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RsaStatsWarning)
        try:
            low, high = confidence_interval(float(estimate), reps[ok], method=method, confidence=confidence,
                                            jackknife=jack, bounds=bounds)
        except EstimationError:
            if method != "bca":
                raise
            messages.append(f"BCa interval undefined for {what} (every replicate on one side of the estimate); "
                            "percentile interval given")
            low, high = confidence_interval(float(estimate), reps[ok], method="percentile", confidence=confidence,
                                            bounds=bounds)
    messages.extend(" ".join(str(w.message).split()) for w in caught if issubclass(w.category, RsaStatsWarning))
    return (low, high) if bounds is not None else (max(low, 0.0), max(high, 0.0))


_NAN2 = (float("nan"), float("nan"))


def _implied_correlation(fit: VarianceFit, g: np.ndarray) -> np.ndarray:
    v = np.tensordot(fit.variances, g, axes=1) + fit.residual * np.eye(g.shape[1])
    d = np.sqrt(np.diag(v))
    return v / np.outer(d, d)


# --------------------------------------------------------------------------- input checks
def _decompose_iv(rdms, emotions, conditions, names, components, response, n_boot, confidence, ci_method, engine):
    rdms = np.asarray(rdms, dtype=np.float64)
    if rdms.ndim != 3 or rdms.shape[1] != rdms.shape[2]:
        raise ValidationError(f"rdms must be an array (files, emotions, emotions), got shape {rdms.shape}")
    n_files, n = rdms.shape[:2]
    names = [f"file{i}" for i in range(n_files)] if names is None else [str(x) for x in names]
    if len(names) != n_files or len(set(names)) != n_files:
        raise ValidationError(f"need {n_files} distinct file names, got {names}")
    emotions = [str(e) for e in emotions]
    if len(emotions) != n:
        raise LabelError(f"{len(emotions)} emotion labels for RDMs over {n} emotions")
    if len(set(emotions)) != n:
        dup = sorted({e for e in emotions if emotions.count(e) > 1})
        raise LabelError(f"duplicated emotion label(s) {dup}")
    if n < 4:
        raise ValidationError(f"the decomposition needs at least 4 common emotions (6 RDM cells), got {n}")
    if n_files < 2:
        raise ValidationError(f"the decomposition needs at least 2 files, got {n_files}")
    if len(conditions) != n_files:
        raise ValidationError(f"{len(conditions)} conditions for {n_files} files")
    for name, rdm in zip(names, rdms):
        if not np.all(np.isfinite(rdm)):
            raise ValidationError("RDM has NaN or infinite values", path=name)
        cells = upper(rdm)
        if np.ptp(cells) == 0:
            raise ValidationError("all RDM cells are equal: the file has no emotion geometry to decompose", path=name)
    comps = parse_components(DEFAULT_COMPONENTS if components is None else components)
    if response not in RESPONSES:
        raise ValidationError(f"response must be one of {RESPONSES}, got {response!r}")
    if int(n_boot) != n_boot or n_boot < 0:
        raise ValidationError(f"n_boot must be a non-negative integer, got {n_boot!r}")
    if not 0 < confidence < 1:
        raise ValidationError(f"confidence must be in (0, 1), got {confidence!r}")
    if ci_method not in CI_METHODS:
        raise ValidationError(f"ci_method must be one of {CI_METHODS}, got {ci_method!r}")
    if engine not in ENGINES:
        raise ValidationError(f"engine must be one of {ENGINES}, got {engine!r}")
    # file_condition is idempotent, so conditions may be attrs or levels from an earlier result.
    conds = [file_condition(c) for c in conditions]
    return rdms, emotions, conds, names, comps, int(n_boot)


# --------------------------------------------------------------------------- public API
def decompose_rdms(
    rdms: np.ndarray,
    emotions: Sequence[str],
    conditions: Sequence[Mapping[str, Any]],
    names: Sequence[str] | None = None,
    *,
    components: Sequence[str] | None = None,
    response: str = "rank",
    n_boot: int = 1000,
    confidence: float = 0.95,
    ci_method: str = "bca",
    engine: str = "exact",
    reml: bool = True,
    test: bool = True,
    seed: SeedLike = 0,
    progress: Callable[[int], None] | None = None,
    scheduler: Any = None,
) -> DecompositionResult:
    """Decompose the variation among RDMs of the same emotions into method layers.

    Parameters
    ----------
    rdms : array (files, emotions, emotions) of dissimilarities (e.g. cosine distance).
    emotions : the emotion labels of the RDMs' rows, the same for every file.
    conditions : one mapping per file with the attributes in :data:`FACTORS` (a file's attrs).
    names : file names used in results and messages (default ``file0``, ``file1``, ...).
    components : which cell-by-factor components to fit, as factor names joined by ``:``
        (default :data:`DEFAULT_COMPONENTS`); the shared cell effect and the residual are always in.
    response : ``"rank"`` (default; ranks within each file, so shares speak Spearman) or ``"zscore"``.
    n_boot : bootstrap replicates over emotions for the CIs (0: no CIs).
    confidence : level of the CIs.
    ci_method : ``"bca"`` (default; with a leave-one-emotion-out jackknife), ``"percentile"`` or ``"basic"``;
        docs/decomposition.md gives their simulated coverage.
    engine : ``"exact"`` (default; the likelihood on per-cell sufficient statistics) or ``"statsmodels"``
        (the same model through ``statsmodels.MixedLM``: identical estimates, much slower).
    reml : REML (default, as lme4) or ML.
    test : compute a likelihood-ratio test for every estimable component.
    seed : seed of the bootstrap; replicate ``b`` uses child stream ``b`` of it.
    progress : called with 1 after every bootstrap replicate (after every chunk on a cluster).
    scheduler : a dask scheduler address or ``distributed.Client``: the bootstrap replicates run in
        chunks on the cluster, with the same result (see :mod:`rsastats.parallel`); None runs
        everything in this process.

    Returns
    -------
    DecompositionResult
    """
    rdms, emotions, conds, names, comps, n_boot = _decompose_iv(
        rdms, emotions, conditions, names, components, response, n_boot, confidence, ci_method, engine)
    # The fits multiply F x F matrices thousands of times: threaded BLAS gains nothing at that size and
    # loses a lot when cores are shared (measured 9x slower on a busy 2-core machine).
    from threadpoolctl import threadpool_limits

    from .parallel import runner_for

    with threadpool_limits(limits=1, user_api="blas"), runner_for(scheduler if n_boot else None) as runner:
        return _decompose_checked(rdms, emotions, conds, names, comps, response=response, n_boot=n_boot,
                                  confidence=confidence, ci_method=ci_method, engine=engine, reml=reml, test=test,
                                  seed=seed, progress=progress, runner=runner)


@dataclass
class _Fitted:
    """The fitted model and everything the result tables are built from."""

    names: list[str]  # "shared" then the estimable components, in G order
    g: np.ndarray  # (m, F, F)
    levels: list[list[str | None]]
    full: VarianceFit
    lrt: dict[str, tuple[float, float, float, float]]
    warnings: list[str]


def _fit_model(y, rdms, response, n, design, comps, engine, reml, test) -> _Fitted:
    """Fit the estimable components, then (``test``) refit without each for its likelihood-ratio test."""
    n_files = y.shape[1]
    kept = [i for i, ok in enumerate(design.estimable) if ok]
    g = np.array([np.ones((n_files, n_files))] + [design.matrices[i] for i in kept])
    levels = [["all"] * n_files] + [design.levels[i] for i in kept]
    names = ["shared"] + [comps[i].name for i in kept]
    full = _fit(engine, y, g, levels, reml)
    messages = list(full.warnings)
    if engine == "statsmodels":
        # MixedLM can stop short of the optimum with many components and still say it converged
        # (benchmarks/bench_decomposition.py; tests/reference fixture3): check it against the exact likelihood.
        exact = _fit("exact", y, g, levels, reml)
        if exact.log_likelihood > full.log_likelihood + 1e-3:
            messages.append(f"statsmodels.MixedLM stopped at logLik {full.log_likelihood:.4f}, below the optimum "
                            f"{exact.log_likelihood:.4f} of the same likelihood (exact engine): its estimates are not "
                            "the REML/ML estimates; use --engine exact")
    if not full.converged:
        messages.append(f"the fit did not converge: {full.message}")
    if full.at_boundary.any():
        at = [names[i] for i in np.flatnonzero(full.at_boundary)]
        messages.append(f"singular fit: {', '.join(at)} estimated at the boundary (variance 0)")
    lrt: dict[str, tuple[float, float, float, float]] = {}
    for j, name in enumerate(names if test else []):
        keep = [i for i in range(len(names)) if i != j]
        start = None if engine == "statsmodels" else _relative(full)[keep]
        null = _fit(engine, y, g[keep], [levels[i] for i in keep], reml, start)
        statistic = max(0.0, 2.0 * (full.log_likelihood - null.log_likelihood))
        # Cells that share an emotion are dependent: divide by the design effect (never below 1).
        deff = design_effect(lambda idx: _standardise(_resampled_cells(rdms, idx)[0], response), n, null,
                             g[keep], g[j])
        deff = max(deff, 1.0) if np.isfinite(deff) else float("nan")  # never more liberal than independent cells
        adjusted = statistic / deff
        lrt[name] = (statistic, chibar_pvalue(statistic), deff, chibar_pvalue(adjusted, denominator_df=n - 1))
        messages.extend(list(null.warnings))
        if not null.converged:
            messages.append(f"the fit without {name} (for its LRT) did not converge ({null.message}); "
                            f"that LRT is approximate")
    return _Fitted(names, g, levels, full, lrt, messages)


class _Intervals:
    """Bootstrap (and jackknife) intervals of functions of the replicate variances."""

    def __init__(self, reps: _Replicates | None, jack_var: np.ndarray | None, method: str, confidence: float,
                 messages: list[str]):
        self.reps, self.jack_var, self.method, self.confidence = reps, jack_var, method, confidence
        self.messages = messages

    def of(self, fn: Callable[[np.ndarray], np.ndarray], estimate: float, bounds: tuple[float, float] | None,
           what: str) -> tuple[float, float]:
        if self.reps is None:
            return _NAN2
        jack = fn(self.jack_var) if self.jack_var is not None else None
        return _interval(estimate, fn(self.reps.variances), jack, self.method, self.confidence, bounds,
                         self.messages, what)

    def share(self, idx: list[int], estimate: float, what: str) -> tuple[float, float]:
        return self.of(lambda v: np.clip(v[:, idx].sum(axis=1) / v.sum(axis=1), 0.0, 1.0), estimate, (0.0, 1.0),
                       f"the share of {what}")

    def variance(self, j: int, estimate: float, what: str) -> tuple[float, float]:
        return self.of(lambda v: v[:, j], estimate, None, f"the variance of {what}")


def _component_rows(fitted: _Fitted, design, comps, intervals: _Intervals) -> list[VarianceComponent]:
    est = np.append(fitted.full.variances, fitted.full.residual)
    shares = est / est.sum()
    boundary = fitted.full.at_boundary
    position = {name: j for j, name in enumerate(fitted.names)}
    rows = [("shared", "shared geometry", "(1 | cell)", 1, True, "")]
    for i, comp in enumerate(comps):
        n_levels = len({x for x in design.levels[i] if x is not None})
        rows.append((comp.name, comp.layer, comp.term, n_levels, design.estimable[i], design.reasons[i]))
    out = []
    nan = float("nan")
    for name, layer_name, term, n_levels, estimable, reason in rows:
        if not estimable:
            out.append(VarianceComponent(name, layer_name, term, n_levels, False, nan, nan, _NAN2, _NAN2, nan, nan, nan,
                                         nan, False, f"not estimable: {reason}"))
            continue
        j = position[name]
        notes = []
        if boundary[j]:
            notes.append("at the boundary: variance 0 (singular fit)")
        if name in design.absorbs:
            notes.append(f"includes {', '.join(design.absorbs[name])} (confounded in these files)")
        statistic, p, deff, p_adj = fitted.lrt.get(name, (nan,) * 4)
        out.append(VarianceComponent(name, layer_name, term, n_levels, True, float(est[j]), float(shares[j]),
                                     intervals.variance(j, est[j], name), intervals.share([j], shares[j], name),
                                     statistic, p, deff, p_adj, bool(boundary[j]), "; ".join(notes)))
    r = len(fitted.names)
    out.append(VarianceComponent("residual", "residual", "residual", len(fitted.levels[0]), True, float(est[r]),
                                 float(shares[r]), intervals.variance(r, est[r], "residual"),
                                 intervals.share([r], shares[r], "residual"),
                                 nan, nan, nan, nan, False, "file-level variation no component explains"))
    return out


def _layer_rows(components: list[VarianceComponent], fitted: _Fitted, intervals: _Intervals) -> list[LayerShare]:
    est = np.append(fitted.full.variances, fitted.full.residual)
    shares = est / est.sum()
    position = {name: j for j, name in enumerate(fitted.names)} | {"residual": len(fitted.names)}
    out = []
    for layer_name in LAYERS:
        members = [c for c in components if c.layer == layer_name]
        if not members:
            continue
        idx = [position[c.name] for c in members if c.estimable]
        missing = [c.name for c in members if not c.estimable]
        note = f"not estimable: {', '.join(missing)}" if missing else ""
        if not idx:
            out.append(LayerShare(layer_name, tuple(c.name for c in members), float("nan"), _NAN2, note))
            continue
        value = float(shares[idx].sum())
        out.append(LayerShare(layer_name, tuple(c.name for c in members if c.estimable), value,
                              intervals.share(idx, value, f"layer {layer_name}"), note))
    return out


def _pair_rows(pair_list, conds, names, observed_rho, implied, reps, jack_rho, ci_method, confidence,
               messages) -> list[PairContrast]:
    out = []
    for p, (layer_name, factor, f, h) in enumerate(pair_list):
        level_a, level_b = pair_levels(factor, conds[f], conds[h])
        ci = _NAN2
        if reps is not None:
            jack = jack_rho[:, p] if jack_rho is not None else None
            ci = _interval(observed_rho[p], reps.rho[:, p], jack, ci_method, confidence, (-1.0, 1.0), messages,
                           f"rho of {names[f]} vs {names[h]}")
        model = conds[f]["model"] if factor != "model" else f"{conds[f]['model']} vs {conds[h]['model']}"
        out.append(PairContrast(layer_name, factor, model, level_a, level_b, names[f], names[h],
                                float(observed_rho[p]), ci, float(implied[f, h])))
    return out


def _decompose_checked(rdms, emotions, conds, names, comps, *, response, n_boot, confidence, ci_method, engine, reml,
                       test, seed, progress, runner=None) -> DecompositionResult:
    """:func:`decompose_rdms` after its inputs were checked."""
    n_files, n = rdms.shape[:2]
    design = build_design(comps, conds)
    pairs = np.column_stack(np.triu_indices(n, 1))
    cells = rdms[:, pairs[:, 0], pairs[:, 1]]
    y = _standardise(cells, response)
    if np.allclose(y, y[:, :1], rtol=0, atol=1e-12):
        raise ValidationError(f"all {n_files} files have the same RDM (after the {response} transform): "
                              "there is no variation between them to decompose")
    if not any(design.estimable):
        # the fit would have no component: say why instead of failing inside it
        example = next(f"{c.name}: {r}" for c, r in zip(comps, design.reasons) if r)
        raise ValidationError(f"none of the variance components can be estimated from these {n_files} files: every "
                              f"factor is constant or has no two files at the same level (e.g. {example})")
    fitted = _fit_model(y, rdms, response, n, design, comps, engine, reml, test)

    pair_list = contrast_pairs(conds)
    pair_idx = np.array([[f, h] for _, _, f, h in pair_list], dtype=int).reshape(-1, 2)
    observed_rho = np.array([rank_correlation(cells[f], cells[h]) for f, h in pair_idx])
    start = _relative(fitted.full) if engine == "exact" else None
    reps = jack_var = jack_rho = None
    if n_boot:
        reps = _bootstrap(rdms, fitted.g, fitted.levels, pair_idx, response, engine, reml, start, n_boot, seed, progress,
                          runner)
        if ci_method == "bca":
            jack_var, jack_rho = _jackknife(rdms, fitted.g, fitted.levels, pair_idx, response, engine, reml, start)
        if reps.failed:
            fitted.warnings.append(f"{reps.failed} of {n_boot} bootstrap replicates failed (a file's resampled cells "
                                   "were all equal) and were left out of the CIs")
        if reps.nonconverged:
            fitted.warnings.append(f"{reps.nonconverged} of {n_boot} bootstrap fits did not converge (kept in the CIs)")
    intervals = _Intervals(reps, jack_var, ci_method, confidence, fitted.warnings)
    components_out = _component_rows(fitted, design, comps, intervals)
    layers_out = _layer_rows(components_out, fitted, intervals)
    implied = _implied_correlation(fitted.full, fitted.g)
    pair_rows = _pair_rows(pair_list, conds, names, observed_rho, implied, reps, jack_rho, ci_method, confidence,
                           fitted.warnings)
    contrasts_out = _summarise_contrasts(pair_rows, reps, jack_rho, observed_rho, ci_method, confidence, fitted.warnings)

    kept_terms = [c.term for c, ok in zip(comps, design.estimable) if ok]
    diagnostics = DecompositionDiagnostics(
        formula="y ~ 1 + " + " + ".join(["(1 | cell)"] + kept_terms),
        engine=engine,
        method="REML" if reml else "ML",
        response=response,
        converged=fitted.full.converged,
        singular=bool(fitted.full.at_boundary.any()),
        log_likelihood=fitted.full.log_likelihood,
        n_files=n_files,
        n_emotions=n,
        n_cells=pairs.shape[0],
        n_observations=pairs.shape[0] * n_files,
        n_boot=n_boot,
        n_boot_nonconverged=reps.nonconverged if reps is not None else 0,
        n_boot_failed=reps.failed if reps is not None else 0,
        ci_method=ci_method,
        confidence=confidence,
        seed=seed_to_int(seed),
        warnings=tuple(dict.fromkeys(fitted.warnings)),
        notes=tuple(design.notes),
    )
    files_out = tuple(FileCondition(nm, "rdm", "as given", dict(c)) for nm, c in zip(names, conds))
    n_est = len(fitted.names) + 1
    boot_shares = (reps.variances / reps.variances.sum(axis=1, keepdims=True)) if reps is not None else np.zeros((0, n_est))
    return DecompositionResult(tuple(components_out), tuple(layers_out), contrasts_out, tuple(pair_rows), files_out,
                               tuple(emotions), diagnostics, boot_shares)


def _summarise_contrasts(pair_rows, reps, jack_rho, observed_rho, ci_method, confidence,
                         messages) -> tuple[ConditionContrast, ...]:
    """Group pair contrasts by layer, factor and levels: mean rho with a CI from the same replicates."""
    groups: dict[tuple[str, str, str], list[int]] = {}
    for p, row in enumerate(pair_rows):
        if row.factor == "model":
            key = (row.layer, row.factor, "different models, same condition")
        else:
            a, b = sorted([row.level_a, row.level_b])
            key = (row.layer, row.factor, f"{a} vs {b}")
        groups.setdefault(key, []).append(p)
    order = {name: i for i, name in enumerate(LAYERS)}
    out = []
    for (layer_name, factor, levels), idx in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1], kv[0][2])):
        value = float(observed_rho[idx].mean())
        ci = _NAN2
        if reps is not None:
            jack = jack_rho[:, idx].mean(axis=1) if jack_rho is not None else None
            ci = _interval(value, reps.rho[:, idx].mean(axis=1), jack, ci_method, confidence, (-1.0, 1.0), messages,
                           f"mean rho of {factor} {levels}")
        models = tuple(dict.fromkeys(pair_rows[p].model for p in idx))
        out.append(ConditionContrast(layer_name, factor, levels, len(idx), models, value, ci,
                                     float(observed_rho[idx].min()), float(observed_rho[idx].max()),
                                     float(np.mean([pair_rows[p].implied_rho for p in idx]))))
    return tuple(out)


def decompose(
    inputs: Sequence[str | os.PathLike | xr.Dataset],
    *,
    layer: int | None = None,
    last_k: int | None = None,
    normalization: str = "raw",
    n_pcs: int = DEFAULT_N_PCS,
    rdm: str = "cosine",
    names: Sequence[str] | None = None,
    **options: Any,
) -> DecompositionResult:
    """Decompose emotion geometry across files of the same models under varied conditions.

    Parameters
    ----------
    inputs : activations or vector-set files (paths) or datasets, schema v1, whose attributes say
        the model, method, generation sub-parameters, precision and experiment.  RDM files are
        accepted when their dissimilarity is ``rdm``.
    layer : layer label, or a negative position from the end of each file's layers; default: every
        file's last layer.  ``last_k`` averages each file's final ``k`` layers instead.  Vector sets
        without a layer axis are used as stored.
    normalization : normalization of the emotion vectors (:data:`rsastats.vectors.NORMALIZATIONS`);
        ``n_pcs`` baseline components are removed by ``"neutral-pc"``.
    rdm : dissimilarity of the emotion vectors: ``"cosine"`` (default), ``"correlation"``, ``"euclidean"``.
    names : names of the inputs in results and messages (default: the paths; ``input0``, ... for datasets).
    **options : see :func:`decompose_rdms` (components, response, n_boot, confidence, ci_method,
        engine, reml, test, seed, progress).

    Every file must hold the same set of emotions (in any order); a file whose emotion set differs,
    has duplicated labels, NaN values or a zero vector stops the analysis with a one-line error
    naming it.
    """
    if isinstance(inputs, (str, os.PathLike, xr.Dataset)):
        raise ValidationError("inputs must be a sequence of files or datasets")
    inputs = list(inputs)
    if names is None:
        names = [str(x) if not isinstance(x, xr.Dataset) else f"input{i}" for i, x in enumerate(inputs)]
    names = [str(x) for x in names]
    if len(names) != len(inputs):
        raise ValidationError(f"{len(names)} names for {len(inputs)} inputs")
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise ValidationError(f"{dup[0]} is given more than once")
    rdm = rdm_method_name(rdm)
    datasets: list[tuple[str, xr.Dataset]] = []
    for item, name in zip(inputs, names):
        datasets.append(validate_dataset(item, name) if isinstance(item, xr.Dataset) else open_dataset(Path(item)))
    reference = [str(e) for e in datasets[0][1]["emotion"].values]
    ref_set = set(reference)
    rdms, layers_used, conditions = [], [], []
    for (kind, ds), name in zip(datasets, names):
        emotions = [str(e) for e in ds["emotion"].values]
        if set(emotions) != ref_set:
            missing = sorted(ref_set - set(emotions))
            extra = sorted(set(emotions) - ref_set)
            parts = ([f"lacks {', '.join(missing)}"] if missing else []) + ([f"has extra {', '.join(extra)}"] if extra else [])
            raise LabelError(f"its emotion set differs from {names[0]}'s: it {' and '.join(parts)}", path=name)
        has_layers = "layer" in ds.dims
        matrix = rdm_from_dataset(ds, method=rdm, layer=layer if has_layers else None,
                                  last_k=last_k if has_layers else None, normalization=normalization, n_pcs=n_pcs,
                                  source=name)
        if kind == "rdm" and matrix.method != rdm:
            raise ValidationError(f"is an RDM file of {matrix.method} dissimilarities; the decomposition uses {rdm} "
                                  "(choose it with rdm=/--rdm, or give the vectors)", path=name)
        order = [matrix.labels.index(e) for e in reference]
        rdms.append(np.asarray(matrix.matrix)[np.ix_(order, order)])
        layers_used.append("as stored (RDM file)" if kind == "rdm" else str(matrix.attrs.get("layer_selection", "")))
        conditions.append(file_condition(ds.attrs))
    result = decompose_rdms(np.array(rdms), reference, conditions, names, **options)
    files = tuple(FileCondition(f.name, kind, chosen, f.levels)
                  for f, (kind, _), chosen in zip(result.files, datasets, layers_used))
    diagnostics = replace(result.diagnostics, layer=layer, last_k=last_k, normalization=normalization_name(normalization),
                          rdm=rdm)
    stimulus_sets = {str(ds.attrs.get("stimulus_set", "")) for _, ds in datasets} - {""}
    if len(stimulus_sets) > 1 and not result.component("experiment").estimable:
        # Layer 4 is read from `experiment` only; say so when the files plainly come from several.
        note = (f"the files use {len(stimulus_sets)} stimulus sets but their experiment attribute does not separate "
                "them; set experiment (e.g. to the stimulus set) to estimate the cross-experiment layer")
        diagnostics = replace(diagnostics, notes=diagnostics.notes + (note,))
    return DecompositionResult(result.components, result.layers, result.contrasts, result.pairs, files,
                               result.emotions, diagnostics, result.bootstrap_shares)
