"""Question 9: cross-experiment effects (layer 4 of the study's decomposition) and repeated runs.

The study finds a cross-experiment bias that moves different models in opposite directions.  Every
model reads two stimulus styles (named emotions, implicit stories) and, as a repeated run, a fresh
draw of named stimuli (the next prompts of the same set).  One joint bootstrap over all these files
gives: each model's rho between experiments and between repeated runs, and, for every pair of
models, the change of their rho from one experiment to the other with a CI (the same resamples for
both rhos).

Run:  python -m analyses.cross_experiment --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rsastats.inference.bootstrap import confidence_interval, interval_pvalue
from rsastats.exceptions import RsaStatsError
from rsastats.inference.pairs import compare_all

from ._confounds import MIN_DISTINCT_LENGTHS, length_rdm, mean_token_counts, word_rdm
from ._common import Context, caption_of, collect_warnings, command, offline_limits, role_of, sizes_text
from ._document import AnalysisDocument, ci_text, fmt_p

NAME = "cross_experiment"
TITLE = "Cross-experiment effects and repeated runs"
QUESTION = ("Does the stimulus style (named emotions vs implicit stories: the study's layer 4) change a model's emotion "
            "geometry and the agreement between models, in which direction for which pair, and how does that compare "
            "with simply repeating the run with fresh stimuli?")
RECIPES = ("named", "implicit", "named-rep")
PERMUTATIONS = 999  # many pairs here; the p-values of this table are secondary to the CIs
# The change of a pair's rho between experiments, from the joint emotion resamples (a difference: raw scale).
CHANGE_CI = "percentile"


def needs(ms):
    return [(m, r) for m in ms.names for r in RECIPES]


def _word_rdm(path: str, model: str, experiment: str):
    """Cosine RDM of the emotions' bag-of-words vectors of one file (:func:`._confounds.word_rdm`)."""
    import xarray as xr

    with xr.open_dataset(path, engine="netcdf4") as ds:
        return word_rdm(ds, f"{model}/{experiment}")


def _length_check(ctx: Context, ms, s, notes: list[str]) -> pd.DataFrame:
    """rho between each model's RDM and the RDM of its mean pooled token counts, per experiment."""
    import xarray as xr

    from rsastats.inference.permutation import mantel

    rows = []
    for m in ms.names:
        for exp in ("named", "implicit"):
            path = ctx.file(m, exp)
            with xr.open_dataset(path, engine="netcdf4") as ds:
                tokens = mean_token_counts(ds)
                lengths = length_rdm(ds, f"{m}/{exp}").load()
            word_rho = word_p = float("nan")
            try:
                with collect_warnings(notes):
                    wres = mantel(path, _word_rdm(path, m, exp), permutations=s.permutations, seed=ctx.seed)
                word_rho, word_p = wres.statistic, wres.p_value
            except RsaStatsError as exc:  # e.g. every emotion's texts differ only in the emotion word
                note = f"{exp}: no word RDM ({' '.join(str(exc).split(': ')[1:]) or exc})"
                if note not in notes:
                    notes.append(note)
            if np.unique(np.round(tokens, 9)).size < MIN_DISTINCT_LENGTHS:
                notes.append(f"{m}/{exp}: the emotions' mean pooled token counts take fewer than 3 distinct values; "
                             "no length RDM (length cannot order the emotions)")
                rows.append({"model": m, "experiment": exp, "tokens_min": float(tokens.min()),
                             "tokens_max": float(tokens.max()), "rho": float("nan"), "p_value": float("nan"),
                             "rho_words": word_rho, "p_words": word_p})
                continue
            with collect_warnings(notes):
                res = mantel(path, lengths, permutations=s.permutations, seed=ctx.seed)
            rows.append({"model": m, "experiment": exp, "tokens_min": float(tokens.min()),
                         "tokens_max": float(tokens.max()), "rho": res.statistic, "p_value": res.p_value,
                         "rho_words": word_rho, "p_words": word_p})
    return pd.DataFrame(rows)


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    recipes = ctx.cache.recipes
    doc.text(f"{sizes_text(ms)} Experiments: `named` ({recipes['named'].description}); `implicit` "
             f"({recipes['implicit'].description}); repeated run `named-rep` ({recipes['named-rep'].description}). "
             "Each file's last layer, raw cosine RDMs.")
    files, names = [], []
    for m in ms.names:
        for r in RECIPES:
            files.append(ctx.file(m, r))
            names.append(f"{m}|{r}")
    notes: list[str] = []
    with collect_warnings(notes):
        res = compare_all(files, names=names, n_boot=s.n_boot, permutations=PERMUTATIONS, ceiling=False, seed=ctx.seed)
    pairs = res.pairs.reset_index(drop=True)
    index = {(a, b): k for k, (a, b) in enumerate(zip(pairs["a"], pairs["b"]))}
    reps = res.bootstrap_distribution

    def pair(x: str, y: str) -> tuple[float, np.ndarray, pd.Series]:
        k = index.get((x, y), index.get((y, x)))
        return float(pairs.loc[k, "rho"]), reps[:, k], pairs.loc[k]

    within = []
    for m in ms.names:
        for other, label in (("implicit", "named vs implicit (another experiment)"),
                             ("named-rep", "named vs named-rep (a repeated run)")):
            _, _, row = pair(f"{m}|named", f"{m}|{other}")
            within.append({"model": m, "comparison": label, "rho": row["rho"], "ci_low": row["ci_low"],
                           "ci_high": row["ci_high"], "p_value": row["p_value"]})
    within = pd.DataFrame(within)
    between = []
    for i, a in enumerate(ms.names):
        for b in ms.names[i + 1:]:
            rn, tn, rown = pair(f"{a}|named", f"{b}|named")
            ri, ti, rowi = pair(f"{a}|implicit", f"{b}|implicit")
            rr, tr, rowr = pair(f"{a}|named-rep", f"{b}|named-rep")
            ok = np.isfinite(tn) & np.isfinite(ti)
            change = ri - rn
            with collect_warnings(notes):
                low, high = confidence_interval(change, (ti - tn)[ok], method=CHANGE_CI, confidence=res.confidence)
                p = interval_pvalue(change, np.sort((ti - tn)[ok]), method=CHANGE_CI)
            between.append({"a": a, "b": b, "pair_kind": role_of(ms, a, b), "rho_named": rn,
                            "ci_low_named": rown["ci_low"], "ci_high_named": rown["ci_high"], "rho_implicit": ri,
                            "ci_low_implicit": rowi["ci_low"], "ci_high_implicit": rowi["ci_high"], "rho_rep": rr,
                            "p_named": rown["p_value"], "p_implicit": rowi["p_value"],
                            "change": change, "ci_low": low, "ci_high": high, "p_value": p})
    between = pd.DataFrame(between)
    caption = caption_of(res, ctx, "Mantel p unadjusted")
    doc.heading("Within each model")
    doc.table("within", "Each model across experiments and across repeated runs", caption, within,
              columns={"model": "model", "comparison": "comparison", "rho": "rho", "ci_low": "", "ci_high": "",
                       "p_value": "Mantel p"}, cis=[("ci_low", "ci_high", "CI")])
    doc.heading("Between models: does the experiment change their agreement?")
    doc.table("between", "rho of every pair of models in each experiment, and the change",
              caption + f" change = rho(implicit) - rho(named), {CHANGE_CI} CI from the same joint emotion resamples "
              f"({s.n_boot}; raw scale); p inverts that interval. rho (repeat) is the pair's rho on the repeated named "
              "run.", between,
              columns={"a": "model A", "b": "model B", "pair_kind": "pair", "rho_named": "rho (named)",
                       "ci_low_named": "", "ci_high_named": "", "rho_implicit": "rho (implicit)", "ci_low_implicit": "",
                       "ci_high_implicit": "", "rho_rep": "rho (repeat)", "change": "change", "ci_low": "",
                       "ci_high": "", "p_value": "p (change)", "p_named": "Mantel p (named)",
                       "p_implicit": "Mantel p (implicit)"},
              cis=[("ci_low_named", "ci_high_named", "CI (named)"), ("ci_low_implicit", "ci_high_implicit", "CI (implicit)"),
                   ("ci_low", "ci_high", "CI (change)")])
    length = _length_check(ctx, ms, s, notes)
    doc.heading("Is it the stimuli? Each model's RDM against RDMs made from the texts alone")
    doc.table("length", "rho between each model's RDM and two stimulus-only RDMs",
              f"Length RDM: |mean number of pooled tokens of emotion i - of emotion j| in that model's own tokenization "
              f"(Euclidean in one dimension); Spearman rho with the model's raw cosine RDM (last layer), Mantel p from "
              f"{s.permutations} permutations (unadjusted); seed {ctx.seed}. A high rho: the geometry follows how long "
              "each emotion's texts are. Word RDM: cosine distances between the emotions' bag-of-words vectors (lower-case "
              "word counts over the texts the model read); a high rho: the geometry follows the wording.", length,
              columns={"model": "model", "experiment": "experiment", "tokens_min": "mean tokens (min emotion)",
                       "tokens_max": "mean tokens (max emotion)", "rho": "rho with length RDM", "p_value": "Mantel p",
                       "rho_words": "rho with word RDM", "p_words": "Mantel p (words)"})
    doc.bullets(notes)
    doc.key("length", length.to_dict(orient="records"))
    length_lines = []
    for exp in ("named", "implicit"):
        part = length[length["experiment"] == exp]
        rnd = part[part["model"].isin([m.name for m in ms.random])]
        words = part[part["rho_words"].notna()]
        wr = words[words["model"].isin([m.name for m in ms.random])]
        if len(words):
            length_lines.append(f"{exp}: rho between a model's RDM and the bag-of-words RDM of its stimuli from "
                                f"{words['rho_words'].min():.2f} to {words['rho_words'].max():.2f}; "
                                f"{int((words['p_words'] < 0.05).sum())} of {len(words)} models with unadjusted Mantel "
                                f"p < 0.05" + (f" ({int((wr['p_words'] < 0.05).sum())} of {len(wr)} random models)."
                                               if len(wr) else "."))
        part = part[part["rho"].notna()]
        if len(part):
            length_lines.append(f"{exp}: rho between a model's RDM and its pooled-token-count RDM from {part['rho'].min():.2f} "
                               f"to {part['rho'].max():.2f}; {int((part['p_value'] < 0.05).sum())} of {len(part)} models "
                               f"with unadjusted Mantel p < 0.05"
                               + (f" ({int((rnd['p_value'] < 0.05).sum())} of {len(rnd)} random models)." if len(rnd)
                                  else "."))
    doc.key("within", within.to_dict(orient="records"))
    doc.key("between", between.to_dict(orient="records"))
    up = between[between["ci_low"] > 0]
    down = between[between["ci_high"] < 0]
    doc.key("pairs_up", len(up))
    doc.key("pairs_down", len(down))
    for m in ms.trained:
        w = within[within["model"] == m.name]
        e, r = w.iloc[0], w.iloc[1]
        doc.summary.append(f"{m.name}: named vs implicit rho = {ci_text(e['rho'], e['ci_low'], e['ci_high'])}; "
                           f"named vs a repeated run with fresh named stimuli rho = "
                           f"{ci_text(r['rho'], r['ci_low'], r['ci_high'])}.")
    for r in between[between["pair_kind"] == "trained-trained"].itertuples():
        doc.summary.append(f"{r.a} vs {r.b}: rho {r.rho_named:.2f} (named) -> {r.rho_implicit:.2f} (implicit), change "
                           f"{ci_text(r.change, r.ci_low, r.ci_high)} (p {fmt_p(r.p_value)}).")
    doc.summary.append(f"Of {len(between)} model pairs, {len(up)} agree more and {len(down)} agree less on implicit "
                       f"stories than on named stimuli (CI of the change excludes 0); the rest show no clear change.")
    rr_pairs = between[between["pair_kind"] == "random-random"]
    if len(rr_pairs):
        per = {}
        for exp in ("named", "implicit"):
            rho, p = rr_pairs[f"rho_{exp}"], rr_pairs[f"p_{exp}"]
            per[exp] = {"rho_min": float(rho.min()), "rho_max": float(rho.max()), "rho_median": float(rho.median()),
                        "n_unadjusted_p_below_05": int((p < 0.05).sum()), "n_pairs": len(rr_pairs)}
        doc.key("random_pairs_by_experiment", per)
        doc.summary.append(
            f"Randomly initialised models ({len(rr_pairs)} pairs), rho between models: named "
            f"{per['named']['rho_min']:.2f} to {per['named']['rho_max']:.2f} (median {per['named']['rho_median']:.2f}, "
            f"{per['named']['n_unadjusted_p_below_05']} with unadjusted Mantel p < 0.05); implicit "
            f"{per['implicit']['rho_min']:.2f} to {per['implicit']['rho_max']:.2f} (median "
            f"{per['implicit']['rho_median']:.2f}, {per['implicit']['n_unadjusted_p_below_05']} with p < 0.05); about "
            f"{0.05 * len(rr_pairs):.1f} expected by chance in each. Where random weights agree, the stimuli (their "
            "lengths, tokens and wording per emotion), not learning, make the shared geometry.")
    rnd = within[within["model"].isin([m.name for m in ms.random])]
    if len(rnd):
        e = rnd[rnd["comparison"].str.contains("implicit")]
        doc.summary.append(f"Random models, named vs implicit within a model: rho from {e['rho'].min():.2f} to "
                           f"{e['rho'].max():.2f}.")
    doc.summary.extend(length_lines)
    doc.limits.extend(offline_limits(ms))
    doc.limits.append("The implicit stories are longer than the named sentences and share no emotion words with them: a "
                      "change between experiments mixes the stimulus style with length and vocabulary.")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
