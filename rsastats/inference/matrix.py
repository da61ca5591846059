"""All pairs of a set of models (``rsastats matrix``): rho with its interval, the noise-free rho, the
Mantel p and p adjusted across pairs, from one joint bootstrap, one set of permutations and one set of
half splits that serve every pair."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..checks import check_choice, check_count
from ..inputs import RDMOptions, load_models
from ..intervals import CORRELATION_BOUNDS, DEFAULT_CI, INTERVAL_METHODS, interval_note
from ..parallel import runner_for
from ..results import Record
from ..rng import SeedLike, seed_to_int
from .bootstrap import DEFAULT_N_BOOT, summarize_replicates
from .ceiling import ceilings_for, unsplittable
from .corrected import DEFAULT_N_SPLITS, corrected_rhos, screen_ceilings
from .join import joined_records
from .degeneracy import low_rank_caution, pair_interval_terms
from .engine import ResamplingEngine, all_pairs
from .engine_tasks import bootstrap_replicates
from .multiple import ADJUSTMENTS, adjust_pvalues
from .partial import load_confounds, partial_pair_columns, partial_rank_name
from .prompt_jackknife import prompt_strata
from .permutation import ALTERNATIVES, DEFAULT_PERMUTATIONS, permutations_iv, pvalue_from_count, run_mantel
from .settings import check_resample_memory, comparison_settings, layer_text, scheme_for, streams

__all__ = ["CompareAllResult", "compare_all"]


@dataclass(frozen=True)
class CompareAllResult(Record):
    """Every pair of a set of models.

    ``pairs`` is a DataFrame with one row per pair: ``a, b, rho, ci_low, ci_high, ci_note, ci_caution, p_value,
    p_adjusted, standard_error, bias, n_undefined`` and the noise-free ``rho_corrected, corrected_ci_low,
    corrected_ci_high, corrected_ci_method`` (``jackknife-t``, or ``bca`` near the bound), ``corrected_note`` with the pair's ``noise_ceiling`` (and ``ceiling_note``), as in
    :class:`~rsastats.inference.ComparisonResult`; with ``confounds``, the partial Mantel test of every pair
    given them: ``partial_rho, partial_ci_low, partial_ci_high, partial_ci_note, partial_p_value, partial_p_adjusted``.
    ``noise_ceiling`` holds the split-half reliabilities
    and, for >= 3 models, the leave-one-out group bounds; ``bootstrap_distribution`` is (n_boot, n_pairs).
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
    bootstrap_distribution: np.ndarray = field(repr=False, metadata={"json": False})
    confounds: tuple[str, ...] = field(default=(), metadata={"json": False})

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
        out = super().to_dict()
        out.pop("names")
        if self.confounds:  # only with confounds: the JSON of a plain matrix is unchanged
            out["confounds"] = list(self.confounds)
        # a value that is not given is None, as in CompareResult (the frame holds it as NaN)
        pairs = self.pairs.astype(object).where(self.pairs.notna(), None)
        return {"models": list(self.names), **out, "pairs": pairs.to_dict(orient="records")}


_PAIR_CORRECTED = ("rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_ci_method", "corrected_note",
                   "noise_ceiling", "ceiling_note")


def _pair_rows(loaded, pairs, point, reps, jack, exceed, count, exact, ci, confidence, corrected,
               second=None, prompts=None, *, scheme: str, rank: str, rdm_method: str,
               ranks: np.ndarray | None = None) -> list[dict[str, Any]]:
    rows = []
    n = loaded[0].rdm.n_emotions
    for k, (i, j) in enumerate(pairs):
        summary = summarize_replicates(float(point[k]), reps[:, k], ci=ci, confidence=confidence,
                                       jackknife=None if jack is None else [s[:, k] for s in jack], bounds=CORRELATION_BOUNDS,
                                       second_order=None if second is None else float(second[k]),
                                       label=f"rho of {loaded[i].name} vs {loaded[j].name}",
                                       prompts=None if prompts is None else prompts[k])
        row = {"a": loaded[i].name, "b": loaded[j].name, "rho": float(point[k]), "ci_low": summary["ci_low"],
               "ci_high": summary["ci_high"],
               "ci_note": summary.get("ci_note") or interval_note(ci, n, summary["ci_low"], summary["ci_high"]),
               "ci_caution": low_rank_caution(None if ranks is None else float(ranks[k]), n, summary["ci_low"]),
               "p_value": pvalue_from_count(int(exceed[k]), count, exact),
               "standard_error": summary["standard_error"], "bias": summary["bias"], "n_undefined": summary["n_undefined"]}
        rows.append(row)
    if corrected is not None:
        joined = joined_records(corrected, [(r["ci_low"], r["ci_high"]) for r in rows], models=loaded, pairs=pairs,
                                point=point, ci=ci, scheme=scheme, confidence=confidence, rank=rank,
                                rdm_method=rdm_method)
        for row, record in zip(rows, joined):
            values = asdict(record)
            row.update({key: values[key] for key in _PAIR_CORRECTED})
    return rows


def compare_all(models: Sequence[Any], *, bootstrap: str | None = None, n_boot: int = DEFAULT_N_BOOT, ci: str = DEFAULT_CI,
                confidence: float = 0.95, permutations: Any = DEFAULT_PERMUTATIONS, alternative: str = "two-sided",
                adjust: str = "holm", rank: str = "spearman", rdm: str = "cosine", layer: int | None = None,
                last_k: int | None = None, normalization: str = "raw", n_pcs: int = 3, n_splits: int = DEFAULT_N_SPLITS,
                ceiling: bool = True, names: Sequence[str] | None = None, seed: SeedLike = 0, batch_size: int = 256,
                progress: Callable[[int], None] | None = None, scheduler: Any = None,
                confounds: Sequence[Any] = ()) -> CompareAllResult:
    """All pairs of ``models``: rho and its interval (one joint bootstrap and jackknife serve every pair),
    Mantel p (the same permutations for every pair) and p adjusted across pairs (``holm`` or ``bh``).
    With ``ceiling``, the noise-free ``rho_corrected`` and the noise ceiling of every pair (one set of half
    splits) and, for >= 3 models, the leave-one-out group bounds.  Settings as in
    :func:`~rsastats.inference.compare_models`; ``scheduler`` runs the bootstrap and the (pairs x
    permutations) chunks on a cluster with the in-process result.  ``confounds`` (feature CSVs or RDM
    files; ``rank`` spearman or pearson) add every pair's partial Mantel test given them, each pair's
    numbers those of :func:`~rsastats.inference.partial_mantel` with the same seed, its p adjusted across
    pairs as the Mantel p is."""
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs)
    n_boot, ci, confidence, rank, bootstrap, options = comparison_settings(n_boot, ci, confidence, rank, bootstrap,
                                                                           options)
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    adjust = check_choice("p-value adjustment", adjust, ADJUSTMENTS, {"fdr_bh": "bh", "fdr": "bh"})
    n_splits = check_count("n_splits", n_splits, 1)
    batch_size = check_count("batch_size", batch_size, 1)
    if confounds:
        partial_rank_name(rank)
    loaded = load_models(models, options, names)
    confs = load_confounds(loaded[0], list(confounds), options.rdm) if confounds else []
    n = loaded[0].rdm.n_emotions
    perms, count, exact = permutations_iv(permutations, n)
    check_resample_memory(loaded, len(loaded) * (len(loaded) - 1) // 2, n_boot, count, n_splits)
    scheme = scheme_for(loaded, bootstrap, ci)
    seeds = streams(seed)

    engine = ResamplingEngine(loaded, rank=rank, scheme=scheme, rdm_method=options.rdm)
    pairs = all_pairs(len(loaded))
    point = engine.point(pairs)
    matrices = np.stack([np.asarray(m.rdm.matrix) for m in loaded])
    with runner_for(scheduler) as runner:
        reps = bootstrap_replicates(runner, engine, models, loaded, options, pairs, n_boot, seeds.bootstrap, batch_size,
                                    progress)
        exceed = run_mantel(runner, matrices, pairs, rank, alternative, perms, count, seeds.permutations, counts_only=True)
    jack = engine.jackknife(pairs) if INTERVAL_METHODS[ci].needs_jackknife else None
    corrected = (corrected_rhos(loaded, pairs, point, rank=rank, rdm_method=options.rdm, n_splits=n_splits, n_boot=n_boot,
                                confidence=confidence, split_seed=seeds.splits, boot_seed=seeds.corrected,
                                world_seed=seeds.worlds)
                 if ceiling else None)
    second, ranks = pair_interval_terms(engine, pairs, point, ci)
    table = pd.DataFrame(_pair_rows(loaded, pairs, point, reps, jack, exceed, count, exact, ci, confidence, corrected,
                                    second, prompt_strata(loaded, pairs, jack, ci=ci, rank=rank, rdm_method=options.rdm),
                                    scheme=scheme, rank=rank, rdm_method=options.rdm, ranks=ranks))
    table.insert(table.columns.get_loc("p_value") + 1, "p_adjusted", adjust_pvalues(table["p_value"].to_numpy(), adjust))
    if confs:
        partial = pd.DataFrame(partial_pair_columns(loaded, pairs, confs, rank=rank, ci=ci, confidence=confidence,
                                                    n_boot=n_boot, permutations=permutations, alternative=alternative,
                                                    seed=seed))
        p = partial["partial_p_value"].to_numpy(dtype=np.float64)
        given = np.isfinite(p)  # a pair whose partial rho is undefined has no test, so it is not in the family
        adjusted = np.full(p.shape, np.nan)
        if given.any():
            adjusted[given] = adjust_pvalues(p[given], adjust)
        partial["partial_p_adjusted"] = adjusted
        table = pd.concat([table, partial], axis=1)
    nc = None
    if ceiling and (len(loaded) >= 3 or all(m.has_prompts for m in loaded)):
        nc = screen_ceilings(ceilings_for(loaded, rank=rank, rdm_method=options.rdm, n_splits=n_splits,
                                          seed=seeds.splits, strict=False).to_dict(), n,
                             {(a, b): r for a, b, r in zip(table["a"], table["b"], table["rho"])}, unsplittable(loaded))
    reps.setflags(write=False)
    return CompareAllResult(names=tuple(m.name for m in loaded), pairs=table, ci_method=ci, confidence=confidence,
                            bootstrap=scheme, n_boot=n_boot, n_permutations=count, permutation_exact=exact, adjust=adjust,
                            rank=rank, rdm=options.rdm, layer=layer_text(loaded), normalization=options.normalization,
                            n_emotions=n, seed=seed_to_int(seed), noise_ceiling=nc, bootstrap_distribution=reps,
                            confounds=tuple(m.name for m in confs))
