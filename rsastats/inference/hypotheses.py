"""Data RDMs against hypothesis RDMs (``rsastats hypotheses``): how well does each hypothesis fit each
model's geometry, which fits better, and how high could a fit be?

For every data input ``D`` and hypothesis ``H`` (:mod:`rsastats.hypotheses`): ``rho(D, H)`` as measured
with the interval and the Mantel p of ``compare`` (the same resamples, left-out emotions and
permutations: for one pair the numbers are those of ``compare D H`` with the same seed); for every two
hypotheses ``rho(D, H1) - rho(D, H2)`` with the paired interval and p of ``compare_difference``; the
noise ceiling of ``D`` (a hypothesis is noise-free, so the bound on ``rho(D, H)`` is ``sqrt(r_D)``, the
square root of ``D``'s split-half reliability stepped up by Spearman-Brown) and, for >= 3 data inputs, the
leave-one-out group bounds of Nili et al. (2014).  With confounds, the partial Mantel test of each
``(D, H)`` given them (:mod:`.partial`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..checks import MIN_EMOTIONS, check_choice, check_count
from ..exceptions import LabelError
from ..hypotheses import Hypothesis, hypothesis_emotions, load_hypotheses
from ..inputs import RDMOptions, load_model, load_models
from ..intervals import CORRELATION_BOUNDS, DEFAULT_CI, INTERVAL_METHODS
from ..intervals.undefined import interval_note
from ..results import Record
from ..rng import SeedLike, seed_to_int
from .bootstrap import DEFAULT_N_BOOT, summarize_replicates
from .ceiling import DEFAULT_N_SPLITS, ceilings_for, unsplittable
from .corrected import ceiling_withheld, screen_ceilings
from .difference import DIFFERENCE_CI, difference_summary
from .degeneracy import low_rank_caution, pair_interval_terms
from .engine import ResamplingEngine
from .multiple import ADJUSTMENTS, adjust_pvalues
from .partial import partial_rank_name, partial_row
from .permutation import ALTERNATIVES, DEFAULT_PERMUTATIONS, mantel_counts, permutations_iv, pvalue_from_count, draw_permutations
from .prompt_jackknife import prompt_strata
from .settings import comparison_settings, layer_text, scheme_for, streams

__all__ = ["HypothesisResult", "compare_hypotheses", "common_emotions_of"]


@dataclass(frozen=True)
class HypothesisResult(Record):
    """Every data input against every hypothesis.

    ``fits``: one row per (data, hypothesis): ``rho, ci_low, ci_high, ci_note, ci_caution, p_value, p_adjusted,
    standard_error, n_undefined, noise_ceiling, ceiling_note`` and, with confounds, ``partial_rho, partial_ci_low,
    partial_ci_high, partial_ci_note, partial_p_value``.  ``differences``: one row per data input and two hypotheses:
    ``difference = rho_a - rho_b`` with ``ci_low, ci_high, ci_note, p_value`` (``difference_ci_method``).
    ``ci_note`` says why an interval is missing (``""`` where there is one); ``ci_caution`` why a fit's given interval
    may cover too rarely (as ``compare``'s: :func:`~rsastats.inference.degeneracy.low_rank_caution`).
    ``noise_ceiling``: the data inputs' split-half reliabilities and, for >= 3, the group bounds.
    ``left_out``: the data's emotions left out because a hypothesis or confound lacks them
    (``common_emotions``).
    """

    data: tuple[str, ...]
    hypotheses: tuple[dict[str, Any], ...]
    confounds: tuple[dict[str, Any], ...]
    fits: pd.DataFrame
    differences: pd.DataFrame
    ci_method: str
    difference_ci_method: str
    confidence: float
    bootstrap: str
    n_boot: int
    n_permutations: int
    permutation_exact: bool
    alternative: str
    adjust: str
    rank: str
    rdm: str
    layer: str
    normalization: str
    n_emotions: int
    seed: int | None
    noise_ceiling: dict[str, Any] | None
    bootstrap_distribution: np.ndarray = field(repr=False, metadata={"json": False})
    left_out: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.fits.copy()

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["fits"] = self.fits.to_dict(orient="records")
        out["differences"] = self.differences.to_dict(orient="records")
        return out


def _ceiling(split_half: float | None, reliability: float | None, rhos: np.ndarray,
             n_emotions: int, thin: bool = False) -> tuple[float | None, str]:
    """``sqrt(r_D)`` and a note; withheld (as in ``compare``: :func:`~.corrected.ceiling_withheld`) when the
    reliability is missing, there are fewer than :data:`~.corrected.MIN_CORRECTED_EMOTIONS` emotions, the
    split-half correlation is below :data:`~.corrected.MIN_SPLIT_HALF`, or the bound is below an observed fit."""
    why = ceiling_withheld(split_half, n_emotions, thin) or ("" if reliability is not None else "no reliability")
    if why:
        return None, why
    bound = float(np.sqrt(reliability))
    if np.any(np.abs(rhos) > bound):
        return None, (f"sqrt(reliability) {bound:.3f} is below an observed |rho|: the split-half model does not hold "
                      "for this input")
    return bound, ""


def _differences(name: str, hyps: Sequence[Hypothesis], point: np.ndarray, reps: np.ndarray,
                 jack: list[np.ndarray] | None, ci: str, confidence: float, uppers: np.ndarray,
                 rank: str, n_units: int) -> list[dict[str, Any]]:
    """The data's rho with hypothesis j less that with hypothesis k, for every j < k: pairs (0, j + 1) and (0, k + 1)
    of the engine whose RDM upper triangles are ``uppers`` (:func:`~rsastats.inference.difference.difference_summary`,
    as ``compare_difference`` forms them)."""
    rows = []
    for j in range(len(hyps)):
        for k in range(j + 1, len(hyps)):
            summary = difference_summary(reps[:, [j, k]], None if jack is None else [s[:, [j, k]] for s in jack],
                                         point[[j, k]], uppers, (0, j + 1, k + 1), ci=ci, confidence=confidence,
                                         rank=rank, label=f"{name}: {hyps[j].name} - {hyps[k].name}",
                                         n_units=n_units)
            rows.append({"data": name, "hypothesis_a": hyps[j].name, "hypothesis_b": hyps[k].name,
                         "rho_a": float(point[j]), "rho_b": float(point[k]), "difference": float(point[j] - point[k]),
                         "ci_low": summary["ci_low"], "ci_high": summary["ci_high"], "ci_note": summary["ci_note"],
                         "p_value": summary["p_value"], "standard_error": summary["standard_error"]})
    return rows


def _partial_columns(models, n_hyp: int, rank: str, ci: str, confidence: float, n_boot: int, perm_args: tuple,
                     alternative: str, seeds) -> list[dict[str, Any]]:
    """Partial rho of the data (model 0) with each hypothesis (1 .. n_hyp) given the rest (the confounds)."""
    confounds = list(range(1 + n_hyp, len(models)))
    return [partial_row(models, 0, j, confounds, rank=rank, ci=ci, confidence=confidence, n_boot=n_boot,
                        perms=perm_args[0], count=perm_args[1], exact=perm_args[2], alternative=alternative,
                        boot_seed=seeds.bootstrap, perm_seed=seeds.permutations) for j in range(1, 1 + n_hyp)]


def common_emotions_of(labels: Sequence[str], others: Sequence[Any], path: str | None = None) -> tuple[list[str], tuple[str, ...]]:
    """The emotions of ``labels`` (in that order) that every hypothesis and confound in ``others`` has, and
    those left out; a one-line error (naming ``path``, the data) when fewer than a comparison needs."""
    sets = [set(e) for e in map(hypothesis_emotions, others) if e is not None]
    keep = [e for e in labels if all(e in held for held in sets)]
    if len(keep) < MIN_EMOTIONS:
        raise LabelError(f"with common emotions, {len(keep)} of the data's {len(labels)} emotions are in every "
                         f"hypothesis and confound ({', '.join(keep) or 'none'}); a comparison needs at least "
                         f"{MIN_EMOTIONS}", path=path)
    return keep, tuple(e for e in labels if e not in keep)


def _load_data(data: Sequence[Any], options: RDMOptions, others: Sequence[Any], common_emotions: bool,
               names: Sequence[str] | None = None):
    """The data inputs (named ``names`` when given), cut (with ``common_emotions``) to the emotions every
    hypothesis and confound in ``others`` has; and the emotions left out."""
    names = None if names is None else list(names)
    if not common_emotions:
        return load_models(list(data), options, names=names, minimum=1), ()
    first = load_model(data[0], options, None if names is None else names[0])  # its labels set the order, as load_models aligns to the first input
    keep, left_out = common_emotions_of(first.labels, others, first.path)
    return load_models(list(data), options, names=names, minimum=1, emotions=keep if left_out else None), left_out


def compare_hypotheses(data: Sequence[Any], hypotheses: Sequence[Any], *, confounds: Sequence[Any] = (),
                       bootstrap: str | None = None, n_boot: int = DEFAULT_N_BOOT, ci: str = DEFAULT_CI,
                       confidence: float = 0.95, permutations: Any = DEFAULT_PERMUTATIONS,
                       alternative: str = "two-sided", adjust: str = "holm", rank: str = "spearman", rdm: str = "cosine",
                       layer: int | None = None, last_k: int | None = None, normalization: str = "raw", n_pcs: int = 3,
                       n_splits: int = DEFAULT_N_SPLITS, ceiling: bool = True, seed: SeedLike = 0, batch_size: int = 256,
                       progress: Callable[[int], None] | None = None, common_emotions: bool = False,
                       names: Sequence[str] | None = None) -> HypothesisResult:
    """Each of ``data`` (paths, datasets, RDMs; the same emotions) against each of ``hypotheses``
    (feature tables or RDM files, :func:`rsastats.hypotheses.load_hypothesis`).

    ``ci`` is rho's interval (as ``compare``); the differences use the raw-scale jackknife-t interval when
    ``ci`` is a jackknife interval (as ``compare_difference``), else the same bootstrap interval.  The
    Mantel p-values of all (data, hypothesis) pairs are adjusted together (``holm`` or ``bh``).
    ``confounds`` (feature tables or RDM files) add the partial Mantel test of every pair (``rank``
    ``spearman`` or ``pearson``).  With ``common_emotions``, the data are cut to the emotions every
    hypothesis and confound has (before their RDMs are made; ``left_out`` names the others); without
    it, an emotion a hypothesis lacks is an error.  ``names``: the data's names in the result (default: as
    :func:`~rsastats.inputs.load_models` names them).  Other settings as in
    :func:`~rsastats.inference.compare_models`.
    """
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs)
    n_boot, ci, confidence, rank, bootstrap, options = comparison_settings(n_boot, ci, confidence, rank, bootstrap,
                                                                           options)
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    adjust = check_choice("p-value adjustment", adjust, ADJUSTMENTS, {"fdr_bh": "bh", "fdr": "bh"})
    n_splits = check_count("n_splits", n_splits, 1)
    batch_size = check_count("batch_size", batch_size, 1)
    check_count("number of hypotheses", len(hypotheses), 1)
    if confounds:
        partial_rank_name(rank)
    loaded, left_out = _load_data(data, options, list(hypotheses) + list(confounds), common_emotions, names)
    emotions = loaded[0].labels
    hyps = load_hypotheses(list(hypotheses), emotions)
    confs = load_hypotheses(list(confounds), emotions)
    extra_opts = RDMOptions(rdm=options.rdm)
    diff_ci = DIFFERENCE_CI if INTERVAL_METHODS[ci].uses == "jackknife" else ci
    n = loaded[0].rdm.n_emotions
    perms, count, exact = permutations_iv(permutations, n)
    seeds = streams(seed)
    fits, diffs, all_reps = [], [], []
    for model in loaded:
        models = load_models([model] + [h.rdm for h in hyps] + [c.rdm for c in confs], extra_opts,
                             names=[model.name] + [h.name for h in hyps] + [c.name for c in confs])
        fit_models = models[:1 + len(hyps)]
        scheme = scheme_for(fit_models, bootstrap, ci)
        engine = ResamplingEngine(fit_models, rank=rank, scheme=scheme, rdm_method=options.rdm)
        pairs = np.array([[0, j] for j in range(1, len(fit_models))])
        point = engine.point(pairs)
        reps = engine.replicates(pairs, n_boot, seeds.bootstrap, batch_size, progress)
        jack = engine.jackknife(pairs) if INTERVAL_METHODS[ci].needs_jackknife else None
        matrices = np.stack([np.asarray(m.rdm.matrix) for m in fit_models])
        exceed = mantel_counts(matrices, pairs, rank, perms if perms is not None
                               else draw_permutations(n, count, seeds.permutations), alternative)
        partial = (_partial_columns(models, len(hyps), rank, ci, confidence, n_boot, (perms, count, exact), alternative,
                                    seeds) if confs else [{}] * len(hyps))
        prompts = prompt_strata(fit_models, pairs, jack, ci=ci, rank=rank, rdm_method=options.rdm)
        terms = pair_interval_terms(engine, pairs, point, ci)
        fits += _fit_rows(model.name, hyps, point, reps, jack, terms, _pvalues(exceed, count, exact), ci, confidence,
                          partial, prompts, n)
        diffs += _differences(model.name, hyps, point, reps, jack, diff_ci, confidence, engine.fixed, rank, n)
        all_reps.append(reps)
    table = pd.DataFrame(fits)
    table.insert(table.columns.get_loc("p_value") + 1, "p_adjusted", adjust_pvalues(table["p_value"].to_numpy(), adjust))
    nc = _add_ceilings(table, loaded, rank, options.rdm, n_splits, seeds.splits) if ceiling else None
    if not ceiling:
        table["noise_ceiling"], table["ceiling_note"] = None, "not computed (--no-ceiling)"
    dist = np.stack(all_reps, axis=1)
    dist.setflags(write=False)
    columns = ["data", "hypothesis_a", "hypothesis_b", "rho_a", "rho_b", "difference", "ci_low", "ci_high", "ci_note",
               "p_value", "standard_error"]
    return HypothesisResult(
        data=tuple(m.name for m in loaded), hypotheses=tuple(h.to_dict() for h in hyps),
        confounds=tuple(c.to_dict() for c in confs), fits=table, differences=pd.DataFrame(diffs, columns=columns),
        ci_method=ci, difference_ci_method=diff_ci, confidence=confidence, bootstrap=scheme, n_boot=n_boot,
        n_permutations=count, permutation_exact=exact, alternative=alternative, adjust=adjust, rank=rank, rdm=options.rdm,
        layer=layer_text(loaded), normalization=options.normalization, n_emotions=n, seed=seed_to_int(seed),
        noise_ceiling=nc, bootstrap_distribution=dist, left_out=left_out)


def _pvalues(exceed: np.ndarray, count: int, exact: bool) -> list[float]:
    return [pvalue_from_count(int(k), count, exact) for k in exceed]


def _fit_rows(name: str, hyps, point, reps, jack, terms, pvalues, ci: str, confidence: float,
              partial, prompts, n_units: int) -> list[dict[str, Any]]:
    """One row per hypothesis: rho, its interval (``terms``: the jackknife's excess and the kernel's effective rank,
    for ``jackknife-t``; else None), the Mantel p and the partial columns."""
    rows = []
    second, ranks = terms
    for j, h in enumerate(hyps):
        s = summarize_replicates(float(point[j]), reps[:, j], ci=ci, confidence=confidence,
                                 jackknife=None if jack is None else [x[:, j] for x in jack], bounds=CORRELATION_BOUNDS,
                                 second_order=None if second is None else float(second[j]),
                                 label=f"rho of {name} vs {h.name}", prompts=None if prompts is None else prompts[j])
        rows.append({"data": name, "hypothesis": h.name, "rho": float(point[j]), "ci_low": s["ci_low"],
                     "ci_high": s["ci_high"],
                     "ci_note": s.get("ci_note") or interval_note(ci, n_units, s["ci_low"], s["ci_high"]),
                     "ci_caution": low_rank_caution(None if ranks is None else float(ranks[j]), n_units, s["ci_low"]),
                     "p_value": pvalues[j], "standard_error": s["standard_error"],
                     "n_undefined": s["n_undefined"], **partial[j]})
    return rows


def _add_ceilings(table: pd.DataFrame, loaded, rank: str, rdm_method: str, n_splits: int, seed) -> dict[str, Any] | None:
    """Columns ``noise_ceiling``/``ceiling_note`` of ``table`` and the ceilings' dict (None when nothing applies)."""
    if not any(m.has_prompts for m in loaded) and len(loaded) < 3:
        table["noise_ceiling"] = None
        table["ceiling_note"] = ceiling_withheld(None, 0)
        return None
    nc = ceilings_for(loaded, rank=rank, rdm_method=rdm_method, n_splits=n_splits, seed=seed, strict=False)
    thin = unsplittable(loaded)
    bounds, notes = [], []
    for m in loaded:
        rhos = table.loc[table["data"] == m.name, "rho"].to_numpy()
        i = nc.names.index(m.name)
        b, note = _ceiling(nc.split_half[i], nc.reliability[i], rhos, m.rdm.n_emotions, m.name in thin)
        bounds += [b] * len(rhos)
        notes += [note] * len(rhos)
    table["noise_ceiling"], table["ceiling_note"] = bounds, notes
    return screen_ceilings(nc.to_dict(), loaded[0].rdm.n_emotions, thin=thin)
