"""The partial Mantel test: does RDM ``a`` correlate with RDM ``b`` beyond what confound RDMs explain?

The statistic is that of R ``vegan::mantel.partial`` (Smouse, Long & Sokal 1986; Legendre & Legendre
2012, section 10.5.2): the partial correlation of the upper-triangle cells of ``a`` and ``b`` given the
cells of the confound RDMs ``z_1 .. z_k``.  With one confound it is

    r_ab.z = (r_ab - r_az r_bz) / sqrt((1 - r_az^2) (1 - r_bz^2))

and with several it is the correlation of the residuals of ``a`` and ``b`` after least squares on
``[1, z_1 .. z_k]`` (pingouin's ``partial_corr``).  For ``spearman`` every RDM's cells are replaced
by their mid-ranks first (vegan's ``method = "spearman"``); ``pearson`` uses the values.

Test: the emotion labels of ``a`` are permuted (rows and columns together), ``b`` and the confounds
stay, and the statistic is recomputed, as vegan does; ``p = (k + 1)/(B + 1)`` (exact enumeration when
``n! <= permutations``), with the tie tolerance and alternatives of :mod:`.permutation`.  vegan's p is
``alternative="greater"``.  Interval: the emotions are the sampling unit, as for ``rho``
(:mod:`.engine`): an emotion resample is a weight vector over the cells (the same resamples as the
comparison's bootstrap with the same seed), a leave-one-emotion-out sample a zero weight on its
cells; the statistic of a weighted sample comes from the weighted correlation matrix of the cells
(``r_ab.Z = -P_ab / sqrt(P_aa P_bb)``, ``P`` its inverse).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..checks import check_choice, check_count
from ..exceptions import EstimationError, RsaStatsWarning, ValidationError
from ..hypotheses import load_hypothesis
from ..inputs import ModelInput, RDMOptions, load_models
from ..intervals import CORRELATION_BOUNDS, DEFAULT_CI, INTERVAL_METHODS, interval_note
from ..intervals.jackknife import MIN_UNITS
from ..measures import rank_measure
from ..rdm import upper_indices
from ..results import Record
from ..rng import SeedLike, seed_to_int
from .bootstrap import DEFAULT_N_BOOT, summarize_replicates
from .degeneracy import partial_second_order
from .engine import ResamplingEngine
from .permutation import (ALTERNATIVES, DEFAULT_PERMUTATIONS, PERM_BLOCK, draw_permutations, mantel_pvalue,
                          permutations_iv)
from .settings import comparison_settings, layer_text, streams

__all__ = ["PARTIAL_RANKS", "PartialMantelResult", "PartialMantelKernel", "partial_correlation", "partial_mantel",
           "partial_fit", "load_confounds", "partial_pair_columns"]

# Measures with a partial correlation: a linear correlation of (ranked) cells.
PARTIAL_RANKS = ("spearman", "pearson")


def partial_rank_name(rank: str) -> str:
    """``rank`` if the partial Mantel test supports it; otherwise a one-line error."""
    if rank not in PARTIAL_RANKS:
        raise ValidationError(f"the partial Mantel test takes --rank spearman or pearson (a partial correlation of "
                              f"ranked or raw cells); got {rank}")
    return rank


@dataclass(frozen=True)
class PartialMantelResult(Record):
    """``partial_rho`` of ``a`` and ``b`` given ``confounds`` (as measured), its interval over emotions,
    the permutation p; ``rho`` is the correlation of ``a`` and ``b`` without the confounds."""

    a: str
    b: str
    confounds: tuple[str, ...]
    partial_rho: float
    rho: float
    ci_low: float
    ci_high: float
    ci_method: str
    ci_note: str  # why there is no interval ("" with one)
    confidence: float
    p_value: float
    n_permutations: int
    permutation_exact: bool
    alternative: str
    bootstrap: str
    n_boot: int
    n_undefined: int
    standard_error: float
    rank: str
    rdm: str
    layer: str
    n_emotions: int
    seed: int | None
    permutation_distribution: np.ndarray = field(repr=False, metadata={"json": False})
    bootstrap_distribution: np.ndarray = field(repr=False, metadata={"json": False})


def _confound_basis(z: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Orthonormal basis (m, k + 1) of ``[1, z_1 .. z_k]``; collinear confounds are an error."""
    design = np.column_stack([np.ones(z.shape[1]), z.T])
    q, r = np.linalg.qr(design)
    diag = np.abs(np.diag(r))
    if np.any(diag <= 1e-10 * max(1.0, float(diag.max()))):
        raise ValidationError(f"the confound RDMs {', '.join(names)} are collinear (one is a linear function of the "
                              "others on the compared cells): give each confound once")
    return q


class PartialMantelKernel:
    """``r_ab.Z`` with the labels of ``a`` permuted, for batches of permutations.

    ``a`` is the transformed square matrix (its cells gathered, never re-ranked: permuting labels
    permutes the cells); ``b``'s residual on ``[1, Z]`` and the basis ``Q`` of ``[1, Z]`` are fixed, so
    ``r = (a_p . res_b) / sqrt((|a_p|^2 - |Q^T a_p|^2) |res_b|^2)``.  Sums are row by row
    (multiply-and-sum), so a permutation's value never depends on its batch.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, confounds: np.ndarray, rank: str,
                 names: Sequence[str] = ()):
        n = a.shape[0]
        self.iu, self.ju = upper_indices(n)
        measure = rank_measure(rank)
        ta = measure.transform(a[self.iu, self.ju])
        tb = measure.transform(b[self.iu, self.ju])
        tz = np.stack([measure.transform(c[self.iu, self.ju]) for c in confounds])
        self.q = _confound_basis(tz, names or [f"confound {i + 1}" for i in range(len(tz))])
        self.res_b = tb - self.q @ (self.q.T @ tb)
        self.norm_b = float(np.sqrt((self.res_b * self.res_b).sum()))
        if self.norm_b <= 1e-12 * max(1.0, float(np.abs(tb).max())):
            raise EstimationError("the confounds explain the second RDM completely: its partial correlation is undefined")
        self.square = np.zeros((n, n))
        self.square[self.iu, self.ju] = ta
        self.square[self.ju, self.iu] = ta

    def __call__(self, perms: np.ndarray) -> np.ndarray:
        gathered = self.square[perms[:, self.iu], perms[:, self.ju]]  # (batch, m)
        num = (gathered * self.res_b).sum(axis=-1)
        proj = (gathered[:, :, None] * self.q[None]).sum(axis=1)
        ss = (gathered * gathered).sum(axis=-1) - (proj * proj).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = num / np.sqrt(ss * self.norm_b**2)
        return np.clip(out, -1.0, 1.0)

    def statistics(self, perms: np.ndarray, batch_size: int = PERM_BLOCK) -> np.ndarray:
        return np.concatenate([self(perms[s:s + batch_size]) for s in range(0, len(perms), batch_size)])


def partial_correlation(uppers: np.ndarray, rank: str, weights: np.ndarray | None = None) -> np.ndarray:
    """``r_01.(2..)`` of rows ``(K, m)`` (``a``, ``b``, confounds) under cell weights ``(B, m)`` (None:
    the cells once each): (B,) or a scalar array, NaN where the weighted sample is degenerate."""
    measure = rank_measure(rank)
    rows = np.asarray(uppers, dtype=np.float64)
    order = np.argsort(rows, axis=-1) if measure.ranks else None
    w = np.ones((1, rows.shape[1])) if weights is None else np.atleast_2d(np.asarray(weights, dtype=np.float64))
    z = measure.standardized_fixed(rows, order, w)  # (K, B, m): dot products are weighted correlations
    corr = np.einsum("kbm,lbm->bkl", z, z)
    out = np.full(corr.shape[0], np.nan)
    for b in range(corr.shape[0]):
        try:
            p = np.linalg.inv(corr[b])
        except np.linalg.LinAlgError:
            continue
        if p[0, 0] > 0 and p[1, 1] > 0:
            out[b] = -p[0, 1] / np.sqrt(p[0, 0] * p[1, 1])
    out = np.clip(out, -1.0, 1.0)
    return out if weights is not None else out[:1]


def _cell_weights(counts: np.ndarray, iu: np.ndarray, ju: np.ndarray) -> np.ndarray:
    """Cell weights (B, m) of emotion counts (B, E): ``c_i c_j`` (self-pairs of duplicates dropped)."""
    return counts[:, iu] * counts[:, ju]


def partial_fit(models: Sequence[ModelInput], a: int, b: int, confounds: Sequence[int], *, rank: str, ci: str,
                confidence: float, n_boot: int, perms: np.ndarray | None, count: int, exact: bool, alternative: str,
                boot_seed: Any, perm_seed: Any) -> dict[str, Any]:
    """The partial Mantel numbers of aligned ``models[a]`` and ``models[b]`` given ``models[confounds]``:
    the fields of :class:`PartialMantelResult` that depend on the data (and the two distributions)."""
    matrices = [np.asarray(models[i].rdm.matrix) for i in (a, b, *confounds)]
    names = [models[i].name for i in confounds]
    kernel = PartialMantelKernel(matrices[0], matrices[1], np.stack(matrices[2:]), rank, names)
    n = matrices[0].shape[0]
    observed = float(kernel(np.arange(n)[None, :])[0])
    permuted = kernel.statistics(perms if perms is not None else draw_permutations(n, count, perm_seed))
    uppers = np.stack([models[i].rdm.upper() for i in (a, b, *confounds)])
    iu, ju = upper_indices(n)
    engine = ResamplingEngine([models[a], models[b]], rank=rank, scheme="emotions", rdm_method=models[a].rdm.method)
    ecounts, _ = engine.draws(n_boot, boot_seed)
    reps = partial_correlation(uppers, rank, _cell_weights(ecounts, iu, ju))
    undefined = int(np.count_nonzero(~np.isfinite(reps)))
    if reps.size - undefined < 2:  # e.g. the same RDM as A and B: r = 1 and every resample's correlation matrix singular
        warnings.warn(f"no interval for the partial rho: {undefined} of {reps.size} emotion resamples left it undefined "
                      "(the RDMs collinear in every resample, e.g. A and B the same RDM)", RsaStatsWarning, stacklevel=3)
        summary = {"ci_low": float("nan"), "ci_high": float("nan"), "standard_error": float("nan"),
                   "distribution": reps[np.isfinite(reps)],
                   "ci_note": "the partial rho is undefined in the emotion resamples (the RDMs collinear in each)"}
        return _fit_result(observed, uppers, rank, summary, undefined, permuted, alternative, exact)
    if undefined:  # said here: summarize_replicates would blame a constant RDM, not a singular correlation matrix
        warnings.warn(f"{undefined} of {reps.size} emotion resamples left the partial correlation undefined (an RDM "
                      "constant, or the RDMs collinear, in the resample) and were left out of its interval",
                      RsaStatsWarning, stacklevel=3)
    jack = None
    if INTERVAL_METHODS[ci].needs_jackknife:
        jack = [partial_correlation(uppers, rank, _cell_weights(1.0 - np.eye(n), iu, ju))]
    second = partial_second_order(uppers, observed, rank) if ci == "jackknife-t" else None
    summary = summarize_replicates(observed, reps[np.isfinite(reps)], ci=ci, confidence=confidence, jackknife=jack,
                                   bounds=CORRELATION_BOUNDS, second_order=second, label="the partial rho")
    summary["ci_note"] = _partial_note(ci, n, summary, jack)
    return _fit_result(observed, uppers, rank, summary, undefined, permuted, alternative, exact)


def _partial_note(ci: str, n: int, summary: dict[str, Any], jack: list[np.ndarray] | None) -> str:
    """Why the partial rho has no interval, or "" (as ``ci_note`` of ``compare``)."""
    if np.isfinite(summary["ci_low"]) and np.isfinite(summary["ci_high"]):
        return ""
    if jack is not None and n >= MIN_UNITS and not np.isfinite(jack[0]).all():
        return "leaving out an emotion leaves the partial rho undefined (an RDM constant, or the RDMs collinear)"
    return interval_note(ci, n, summary["ci_low"], summary["ci_high"])


def _fit_result(observed: float, uppers: np.ndarray, rank: str, summary: dict[str, Any], undefined: int,
                permuted: np.ndarray, alternative: str, exact: bool) -> dict[str, Any]:
    dist = summary["distribution"]
    dist.setflags(write=False)
    permuted.setflags(write=False)
    rho = float(rank_measure(rank).correlate(uppers[0], uppers[1]))
    return {"partial_rho": observed, "rho": rho, "ci_low": summary["ci_low"], "ci_high": summary["ci_high"],
            "ci_note": summary["ci_note"], "n_undefined": undefined, "standard_error": summary["standard_error"],
            "p_value": mantel_pvalue(observed, permuted, alternative, exact), "permutation_distribution": permuted,
            "bootstrap_distribution": dist}


def _confound_name(obj: Any, i: int) -> str:
    if isinstance(obj, (str, os.PathLike)):
        return Path(obj).stem
    return str(getattr(obj, "name", "") or getattr(obj, "source", "") or f"confound {i + 1}")


def load_confounds(first: ModelInput, confounds: Sequence[Any], rdm_method: str) -> list[ModelInput]:
    """The confound RDMs (feature CSVs, RDM files, RDMs, arrays) on ``first``'s emotions, as model inputs."""
    rdms = [load_hypothesis(c, first.labels, name=_confound_name(c, i)).rdm for i, c in enumerate(confounds)]
    return load_models([first.rdm, *rdms], RDMOptions(rdm=rdm_method),
                       names=[first.name] + [_confound_name(c, i) for i, c in enumerate(confounds)])[1:]


def partial_pair_columns(models: Sequence[ModelInput], pairs: Sequence[Sequence[int]], confounds: Sequence[ModelInput], *,
                         rank: str, ci: str, confidence: float, n_boot: int, permutations: Any, alternative: str,
                         seed: SeedLike) -> list[dict[str, Any]]:
    """For each pair ``(i, j)`` of ``models``: ``partial_rho, partial_ci_low, partial_ci_high, partial_ci_note,
    partial_p_value`` given ``confounds`` (from :func:`load_confounds`), the numbers of :func:`partial_mantel` of the
    pair with the same settings and ``seed`` (the same emotion resamples and permutations for every pair)."""
    everything = list(models) + list(confounds)
    extra = list(range(len(models), len(everything)))
    perms, count, exact = permutations_iv(permutations, models[0].rdm.n_emotions)
    seeds = streams(seed)
    return [partial_row(everything, int(i), int(j), extra, rank=rank, ci=ci, confidence=confidence, n_boot=n_boot,
                        perms=perms, count=count, exact=exact, alternative=alternative, boot_seed=seeds.bootstrap,
                        perm_seed=seeds.permutations) for i, j in pairs]


def partial_row(models: Sequence[ModelInput], a: int, b: int, confounds: Sequence[int],
                **settings: Any) -> dict[str, Any]:
    """The ``partial_*`` columns of one row of a table (``matrix``, ``hypotheses``): :func:`partial_fit`'s numbers, or
    nulls and the reason in ``partial_ci_note`` where the partial rho is undefined for this row alone (the confounds
    explain one of its RDMs completely), so that one such row does not stop the whole table."""
    try:
        v = partial_fit(models, a, b, confounds, **settings)
    except EstimationError as exc:
        nan = float("nan")
        return {"partial_rho": nan, "partial_ci_low": nan, "partial_ci_high": nan,
                "partial_ci_note": f"no partial rho: {exc}", "partial_p_value": nan}
    return {"partial_rho": v["partial_rho"], "partial_ci_low": v["ci_low"], "partial_ci_high": v["ci_high"],
            "partial_ci_note": v["ci_note"], "partial_p_value": v["p_value"]}


def partial_mantel(a: Any, b: Any, confounds: Any, *, rank: str = "spearman", permutations: Any = DEFAULT_PERMUTATIONS,
                   alternative: str = "two-sided", n_boot: int = DEFAULT_N_BOOT, ci: str = DEFAULT_CI,
                   confidence: float = 0.95, rdm: str = "cosine", layer: int | None = None, last_k: int | None = None,
                   normalization: str = "raw", n_pcs: int = 3, seed: SeedLike = 0) -> PartialMantelResult:
    """Partial Mantel test of ``a`` and ``b`` given one confound or a sequence of confounds.

    Parameters
    ----------
    a, b : file paths, datasets, RDMs or square arrays (emotions aligned by label); ``a``'s labels are permuted.
    confounds : one or more confound RDMs (RDM objects, RDM files, datasets or arrays) on the same emotions.
        :func:`rsastats.hypotheses.load_hypothesis` turns a feature CSV or an RDM file into one.
    rank : ``"spearman"`` (mid-ranks of every RDM's cells) or ``"pearson"``.
    permutations, alternative : as in :func:`~rsastats.inference.mantel`; vegan's p is ``"greater"``.
    n_boot, ci, confidence : the interval over emotions (``ci`` as for ``compare``: ``jackknife-z`` by
        default; the bootstrap resamples are those of ``compare`` with the same ``seed``).
    rdm, layer, last_k, normalization, n_pcs : how ``a`` and ``b`` become RDMs.
    seed : child 0 of it seeds the emotion resamples, child 1 the permutations (as ``compare``).
    """
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs)
    n_boot, ci, confidence, rank, _, options = comparison_settings(n_boot, ci, confidence, rank, None, options)
    rank = partial_rank_name(rank)
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    many = list(confounds) if isinstance(confounds, (list, tuple)) else [confounds]
    check_count("number of confounds", len(many), 1)
    data = load_models([a, b], options)
    conf = load_confounds(data[0], many, options.rdm)
    models = data + conf
    n = data[0].rdm.n_emotions
    perms, count, exact = permutations_iv(permutations, n)
    seeds = streams(seed)
    values = partial_fit(models, 0, 1, list(range(2, len(models))), rank=rank, ci=ci, confidence=confidence,
                         n_boot=n_boot, perms=perms, count=count, exact=exact, alternative=alternative,
                         boot_seed=seeds.bootstrap, perm_seed=seeds.permutations)
    return PartialMantelResult(a=data[0].name, b=data[1].name, confounds=tuple(m.name for m in conf), ci_method=ci,
                               confidence=confidence, n_permutations=count, permutation_exact=exact,
                               alternative=alternative, bootstrap="emotions", n_boot=n_boot, rank=rank, rdm=options.rdm,
                               layer=layer_text(data), n_emotions=n, seed=seed_to_int(seed), **values)
