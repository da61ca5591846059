"""Question 13: is a model's emotion geometry the emotions' valence (issue 16, hypothesis RDMs)?

The hypothesis is the VADER lexicon's mean human valence rating of each emotion word
(``rsastats/resources/hypotheses/vader_valence.csv``, ``builtin:vader-valence``, made by ``analyses/hypothesis_data.py``; MIT licence).  It
covers 18 of the 21 emotions (afraid, reflective and neutral are not in the lexicon) and has no
arousal, so this tests valence alone, on those 18 emotions: each file is restricted to them before its
RDM is made.  For every model and both comprehension experiments (named stimuli, implicit stories):
``rsastats.inference.compare_hypotheses`` gives rho with the valence RDM (interval, Mantel p, the
noise ceiling as the bound), the paired test of valence against the two stimulus confound RDMs as
rival hypotheses (pooled token count, bag of words: :mod:`._confounds`), and the partial Mantel test
of valence given those confounds; ``compare_difference`` with the valence RDM as the shared model
contrasts each trained model with each randomly initialised control (the same emotions left out, or resampled, for both).

Run:  python -m analyses.hypotheses --models analyses/configs/offline.yaml
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from rsastats.exceptions import RsaStatsError
from rsastats.hypotheses import Hypothesis, load_hypothesis
from rsastats.inference.corrected import MIN_SPLIT_HALF
from rsastats.inference.difference import compare_difference
from rsastats.inference.hypotheses import compare_hypotheses
from rsastats.inference.multiple import adjust_pvalues
from rsastats.inputs import ModelInput, RDMOptions, load_model, open_source
from rsastats.io.features import read_feature_table

from ._common import Context, collect_warnings, paired_words, command, offline_limits, sizes_text
from ._confounds import MIN_DISTINCT_LENGTHS, length_rdm, mean_token_counts, word_rdm
from ._document import AnalysisDocument, ci_text, fmt_p

NAME = "hypotheses"
TITLE = "Emotion geometry against a valence hypothesis"
QUESTION = ("Does a model's emotion geometry follow the emotions' valence (human ratings of the emotion words, VADER "
            "lexicon; it has no arousal), beyond what the stimuli's length and wording explain, and more in trained "
            "models than in randomly initialised ones?")
RECIPES = ("named", "implicit")
VALENCE = Path(__file__).resolve().parents[1] / "rsastats" / "resources" / "hypotheses" / "vader_valence.csv"
TOKENS, WORDS = "token count", "bag of words"
ALPHA = 0.05


def needs(ms):
    return [(m, r) for m in ms.names for r in RECIPES]


@dataclass(frozen=True)
class Restricted:
    """One model x experiment on the emotions the valence table has, with its usable confound RDMs."""

    model: str
    experiment: str
    random: bool
    data: ModelInput
    valence: Hypothesis
    confounds: tuple[Hypothesis, ...]


def valence_emotions(table_emotions: Sequence[str], emotions: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(kept, left out)``: the data's emotions that the table has (in the data's order) and the others."""
    have = set(table_emotions)
    return [e for e in emotions if e in have], [e for e in emotions if e not in have]


def upper_spearman(a: np.ndarray, b: np.ndarray) -> float:
    """scipy's Spearman rho of the upper triangles of two RDMs (the hand check of rho)."""
    from scipy.stats import spearmanr

    iu = np.triu_indices(a.shape[0], 1)
    return float(spearmanr(a[iu], b[iu]).statistic)


# Why a confound RDM is left out of a file (the report lists the files under each reason).
GAP_TOKENS = (f"no token-count RDM: the emotions' mean pooled token counts take fewer than {MIN_DISTINCT_LENGTHS} "
              "distinct values, so length cannot order them")
GAP_WORDS = ("no bag-of-words RDM: every pair of emotions is equally far apart in bag of words, so the wording cannot "
             "order them")


def _confounds(ds, label: str, keep: Sequence[str], gaps: list[tuple[str, str]]) -> tuple[Hypothesis, ...]:
    """The token-count and bag-of-words RDMs of ``ds``; one that cannot order the emotions is left out and
    ``(reason, label)`` goes into ``gaps``."""
    out = []
    if np.unique(np.round(mean_token_counts(ds), 9)).size < MIN_DISTINCT_LENGTHS:
        gaps.append((GAP_TOKENS, label))
    else:
        out.append(load_hypothesis(length_rdm(ds, label), keep, name=TOKENS))
    words = load_hypothesis(word_rdm(ds, label), keep, name=WORDS)
    upper = words.rdm.matrix[np.triu_indices(len(keep), 1)]
    if np.ptp(upper) <= 1e-12 * max(1.0, float(np.abs(upper).max())):
        gaps.append((GAP_WORDS, label))
    else:
        out.append(words)
    return tuple(out)


def grouped(pairs: Sequence[tuple[str, str]]) -> list[str]:
    """``[(reason, what)]`` as one line per reason naming everything it applies to (first-seen order)."""
    by: dict[str, list[str]] = {}
    for reason, what in pairs:
        by.setdefault(reason, []).append(what)
    return [f"{reason} ({len(whats)}: {', '.join(whats)})." for reason, whats in by.items()]


def restrict(ctx: Context, model: str, experiment: str, keep: Sequence[str], gaps: list[tuple[str, str]]) -> Restricted:
    """The file of ``model`` x ``experiment`` on the emotions ``keep`` (last layer, raw cosine RDM)."""
    source = open_source(ctx.file(model, experiment), name=model)
    ds = source.dataset.sel(emotion=list(keep))
    data = load_model(replace(source, dataset=ds), RDMOptions(), name=model)
    label = f"{model}/{experiment}"
    return Restricted(model, experiment, ctx.model_set.entry(model).is_random, data,
                      load_hypothesis(str(VALENCE), keep, name="valence"), _confounds(ds, label, keep, gaps))


def fit(item: Restricted, ctx: Context) -> tuple[dict, list[dict], list[dict], tuple]:
    """(the valence row, every hypothesis's row, the paired differences, the settings) of one model x experiment."""
    s = ctx.sizes
    settings = dict(n_boot=s.n_boot, permutations=s.permutations, n_splits=s.n_splits, seed=ctx.seed)
    res = compare_hypotheses([item.data], [item.valence, *item.confounds], **settings)
    head = {"model": item.model, "kind": "random" if item.random else "trained", "experiment": item.experiment}
    rows = [head | r for r in res.fits.to_dict(orient="records")]
    valence = dict(rows[0])
    valence["scipy_rho"] = upper_spearman(np.asarray(item.data.rdm.matrix), np.asarray(item.valence.rdm.matrix))
    valence["confounds"] = ", ".join(c.name for c in item.confounds) or "none"
    if item.confounds:
        part = compare_hypotheses([item.data], [item.valence], confounds=list(item.confounds), **settings).fits.iloc[0]
        valence.update({k: float(part[k]) for k in ("partial_rho", "partial_ci_low", "partial_ci_high",
                                                    "partial_p_value")})
    else:
        valence.update(partial_rho=np.nan, partial_ci_low=np.nan, partial_ci_high=np.nan, partial_p_value=np.nan)
    diffs = [head | r for r in res.differences.to_dict(orient="records")]
    return valence, rows, diffs, (res.ci_method, res.difference_ci_method, res.confidence, res.n_permutations, res.layer)


def contrasts(items: Sequence[Restricted], ctx: Context) -> list[dict]:
    """rho(valence, trained) - rho(valence, random) for every trained x random model of one experiment."""
    trained = [i for i in items if not i.random]
    controls = [i for i in items if i.random]
    rows = []
    for t in trained:
        for r in controls:
            d = compare_difference(t.valence.rdm, t.data, r.data, n_boot=ctx.sizes.n_boot, seed=ctx.seed)
            rows.append({"experiment": t.experiment, "trained": t.model, "random": r.model, "rho_a": d.rho_ab,
                         "rho_b": d.rho_ac, "difference": d.difference, "ci_low": d.ci_low, "ci_high": d.ci_high,
                         "p_value": d.p_value, "ci_method": d.ci_method})
    return rows


def _figure(valence: pd.DataFrame, confidence: float):
    from rsastats.report.figures import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(1, len(RECIPES), figsize=(8.0, 0.32 * valence["model"].nunique() + 1.8), sharey=True)
    for ax, exp in zip(np.atleast_1d(axes), RECIPES):
        part = valence[valence["experiment"] == exp].reset_index(drop=True)
        y = np.arange(len(part))[::-1]
        colour = ["tab:blue" if k == "trained" else "0.45" for k in part["kind"]]
        ax.hlines(y, part["ci_low"], part["ci_high"], color=colour, lw=2)
        ax.scatter(part["rho"], y, c=colour, zorder=3, label="rho with valence")
        ax.scatter(part["partial_rho"], y - 0.25, marker="x", color="tab:orange", label="partial rho given confounds")
        ax.scatter(part["noise_ceiling"].astype(float), y, marker="D", facecolors="none", edgecolors="tab:red",
                   label="noise ceiling")
        ax.axvline(0, color="0.6", lw=0.8)
        ax.set_title(exp)
        ax.set_xlim(-1, 1.05)
        ax.set_xlabel("Spearman rho")
        ax.set_yticks(y, part["model"], fontsize=8)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.35 / fig.get_figheight(), 1, 1))
    return fig


def _tables(doc: AnalysisDocument, valence, fits, diffs, contrast, caption: str, meta) -> None:
    ci_method, diff_ci, confidence, _, _ = meta
    doc.heading("Valence: rho, interval, Mantel p, noise ceiling, and the partial Mantel test")
    doc.table("valence", "Each model's RDM against the valence RDM", caption + " p (Holm) adjusts the Mantel p over the "
              "models of one experiment. Partial: Spearman partial correlation given the confound RDMs named (the "
              f"partial Mantel test of vegan's mantel.partial, {ci_method} interval over emotions, permutation p "
              "unadjusted). rho (scipy) is scipy.stats.spearmanr of the two RDMs' upper triangles: the hand check.",
              valence, columns={"model": "model", "kind": "kind", "experiment": "experiment", "rho": "rho",
                                "ci_low": "", "ci_high": "", "p_value": "Mantel p", "p_holm": "p (Holm)",
                                "noise_ceiling": "ceiling", "confounds": "confounds", "partial_rho": "partial rho",
                                "partial_ci_low": "", "partial_ci_high": "", "partial_p_value": "partial p",
                                "scipy_rho": "rho (scipy)"},
              cis=[("ci_low", "ci_high", "CI"), ("partial_ci_low", "partial_ci_high", "CI (partial)")],
              kinds={"p_holm": "p", "partial_p_value": "p", "noise_ceiling": "num"})
    doc.heading("Which fits better: valence or the stimuli?")
    doc.table("fits", "rho of each model's RDM with each hypothesis", caption + " The stimulus RDMs are taken as rival "
              "hypotheses here; p (adjusted) is Holm over one file's hypotheses.", fits,
              columns={"model": "model", "experiment": "experiment", "hypothesis": "hypothesis", "rho": "rho",
                       "ci_low": "", "ci_high": "", "p_value": "Mantel p", "p_adjusted": "p (adjusted)"},
              cis=[("ci_low", "ci_high", "CI")], kinds={"p_adjusted": "p"})
    if len(diffs):
        doc.table("differences", "Paired difference of two hypotheses' rho with the same model",
                  caption + f" difference = rho(hypothesis A) - rho(hypothesis B), {paired_words(diff_ci)}; "
                  f"{diff_ci} interval; p inverts it.", diffs,
                  columns={"model": "model", "experiment": "experiment", "hypothesis_a": "A", "hypothesis_b": "B",
                           "rho_a": "rho A", "rho_b": "rho B", "difference": "difference", "ci_low": "", "ci_high": "",
                           "p_value": "p"}, cis=[("ci_low", "ci_high", "CI")])
    doc.heading("Trained models against randomly initialised controls")
    if len(contrast):
        doc.table("trained_vs_random", "rho(valence, trained model) - rho(valence, random model)",
                  caption + " compare_difference with the valence RDM as the shared model: "
                  f"{paired_words(contrast['ci_method'].iloc[0])}; {contrast['ci_method'].iloc[0]} interval; p inverts it "
                  "(unadjusted).", contrast,
                  columns={"experiment": "experiment", "trained": "trained", "random": "random",
                           "rho_a": "rho trained", "rho_b": "rho random", "difference": "difference", "ci_low": "",
                           "ci_high": "", "p_value": "p"}, cis=[("ci_low", "ci_high", "CI")])
    else:
        doc.text("No contrast: the model set needs trained and randomly initialised models.")
    doc.figure(_figure(valence, confidence), "valence_rho", "rho with the valence RDM",
               caption + " Dots: rho with its interval (blue: trained, grey: random); crosses: partial rho given the "
               "confounds; diamonds: the model's noise ceiling.")


def _ceiling_gap(note: str) -> str:
    """The reason of a withheld noise ceiling without the file's own numbers (so that files can be grouped)."""
    if note.startswith("split-half correlation"):
        return f"no noise ceiling: the split-half correlation of the prompts is below {MIN_SPLIT_HALF} (too noisy)"
    return f"no noise ceiling: {note}"


def verdict(p: float, low: float, estimate: float, what: str) -> str:
    """What a Mantel-type p and an interval over emotions say together about a positive association."""
    if not (pd.notna(p) and p < ALPHA and estimate > 0):
        return f"no {what} detected"
    if low > 0:
        return f"{what} (the permutation test and the interval over emotions agree)"
    return (f"{what} on these emotions by the permutation test, but the interval over emotions includes 0 (it may not "
            "hold for other emotions)")


def _trained_line(r, versus: pd.DataFrame) -> str:
    ceiling = f"noise ceiling {r.noise_ceiling:.2f}" if pd.notna(r.noise_ceiling) else "no noise ceiling"
    if pd.notna(r.partial_rho):
        partial = (f"given {r.confounds}: partial rho {ci_text(r.partial_rho, r.partial_ci_low, r.partial_ci_high)}, "
                   f"p {fmt_p(r.partial_p_value)}: "
                   + verdict(r.partial_p_value, r.partial_ci_low, r.partial_rho, "valence ordering beyond the confounds"))
    else:
        partial = "no usable confound RDM, so nothing is partialled out"
    above = int((versus["ci_low"] > 0).sum()) if len(versus) else 0
    return (f"{r.model} ({r.experiment}): rho with valence {ci_text(r.rho, r.ci_low, r.ci_high)}, Mantel p "
            f"{fmt_p(r.p_value)} (Holm {fmt_p(r.p_holm)}), {ceiling}: "
            + verdict(r.p_holm, r.ci_low, r.rho, "valence ordering") + f"; {partial}; above {above} of {len(versus)} "
            "random controls (interval of the difference above 0).")


def _conclusions(valence: pd.DataFrame, diffs: pd.DataFrame, contrast: pd.DataFrame) -> list[str]:
    """Plain-words results, each computed from the tables."""
    out = []
    for exp in RECIPES:
        part = valence[valence["experiment"] == exp]
        for r in part[part["kind"] == "trained"].itertuples():
            versus = contrast[(contrast["experiment"] == exp) & (contrast["trained"] == r.model)] if len(contrast) \
                else contrast
            out.append(_trained_line(r, versus))
        rnd = part[part["kind"] == "random"]
        if len(rnd):
            out.append(f"Random-init controls ({exp}): rho with valence from {rnd['rho'].min():.2f} to "
                       f"{rnd['rho'].max():.2f}; {int(((rnd['p_holm'] < ALPHA) & (rnd['rho'] > 0)).sum())} of "
                       f"{len(rnd)} with Holm-adjusted Mantel p < {ALPHA} and rho > 0.")
        if not len(diffs):
            continue
        for r in diffs[(diffs["experiment"] == exp) & (diffs["kind"] == "trained")
                       & (diffs["hypothesis_a"] == "valence")].itertuples():
            better = ("valence fits better" if r.ci_low > 0 else f"{r.hypothesis_b} fits better" if r.ci_high < 0
                      else "neither fits clearly better")
            out.append(f"{r.model} ({exp}), valence vs {r.hypothesis_b} as the hypothesis: rho {r.rho_a:.2f} vs "
                       f"{r.rho_b:.2f}, difference {ci_text(r.difference, r.ci_low, r.ci_high)}: {better}.")
    return out


def _intro(doc: AnalysisDocument, ms, table: pd.DataFrame, keep: Sequence[str], left_out: Sequence[str]) -> None:
    doc.text(f"{sizes_text(ms)} Hypothesis: `rsastats/resources/hypotheses/{VALENCE.name}` (`builtin:vader-valence`), the VADER lexicon's mean human "
             f"valence rating of each emotion word (Hutto & Gilbert 2014; PyPI package vaderSentiment 3.3.2, MIT "
             f"licence), made by `python -m analyses.hypothesis_data`. It has {len(table)} of the study's emotions and "
             f"no arousal: every file is restricted to the {len(keep)} emotions it has (left out: "
             f"{', '.join(left_out) or 'none'}), and only valence is tested. Its RDM is |valence_i - valence_j| "
             "(the Euclidean distance of the z-scored feature). Confounds (analyses/_confounds.py, as in "
             "cross_experiment): each file's pooled-token-count RDM and bag-of-words RDM of the same emotions.")


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms = ctx.model_set
    table = read_feature_table(VALENCE)
    notes: list[str] = []
    gaps: list[tuple[str, str]] = []
    with collect_warnings(notes):
        keep, left_out = valence_emotions(table.index, open_source(ctx.file(ms.names[0], RECIPES[0])).emotions)
        if len(keep) < 4:
            raise RsaStatsError(f"only {len(keep)} emotions of the data are in {VALENCE.name}: too few to compare")
        items = {exp: [restrict(ctx, m, exp, keep, gaps) for m in ms.names] for exp in RECIPES}
        results = [fit(i, ctx) for exp in RECIPES for i in items[exp]]
        contrast = pd.DataFrame([row for exp in RECIPES for row in contrasts(items[exp], ctx)])
    valence = pd.DataFrame([r[0] for r in results])
    valence.insert(valence.columns.get_loc("p_value") + 1, "p_holm", np.nan)
    for exp in RECIPES:
        rows = valence["experiment"] == exp
        valence.loc[rows, "p_holm"] = adjust_pvalues(valence.loc[rows, "p_value"].to_numpy(), "holm")
    diffs = pd.DataFrame([d for r in results for d in r[2]])
    ci_method, _, confidence, n_perm, layer = results[0][3]
    _intro(doc, ms, table, keep, left_out)
    caption = (f"n = {len(keep)} emotions; {layer}; raw cosine RDMs compared by Spearman rho; {100 * confidence:g}% "
               f"{ci_method} interval over emotions"
               + (" (leave-one-emotion-out)" if ci_method.startswith("jackknife") else f", {ctx.sizes.n_boot} resamples")
               + f"; Mantel p from {n_perm} "
               f"permutations of the emotion labels; noise ceiling sqrt(split-half reliability) from "
               f"{ctx.sizes.n_splits} splits of the prompts; seed {ctx.seed}.")
    _tables(doc, valence, pd.DataFrame([row for r in results for row in r[1]]), diffs, contrast, caption, results[0][3])
    ceilings = [(_ceiling_gap(note), f"{m}/{e}") for m, e, note in
                zip(valence["model"], valence["experiment"], valence["ceiling_note"]) if isinstance(note, str) and note]
    doc.bullets(grouped(gaps) + grouped(ceilings) + notes)
    check = float(np.max(np.abs(valence["rho"] - valence["scipy_rho"])))
    for name, value in (("emotions", keep), ("left_out", left_out), ("valence", valence.to_dict(orient="records")),
                        ("differences", diffs.to_dict(orient="records")),
                        ("trained_vs_random", contrast.to_dict(orient="records")),
                        ("scipy_check_max_abs_difference", check)):
        doc.key(name, value)
    doc.summary.append(f"Hypothesis: valence only (the VADER lexicon has no arousal ratings, so the valence-arousal "
                       f"hypothesis is not tested), on {len(keep)} of {len(keep) + len(left_out)} emotions "
                       f"({', '.join(left_out) or 'none left out'} not in the lexicon).")
    doc.summary.extend(_conclusions(valence, diffs, contrast))
    doc.summary.append(f"Hand check: every rho with valence equals scipy.stats.spearmanr of the RDMs' upper triangles "
                       f"(largest difference {check:.1e}).")
    doc.limits.extend(offline_limits(ms))
    doc.limits.append("VADER's ratings are of words as sentiment cues in short social-media texts; the named stimuli "
                      "contain the emotion word itself, so a valence ordering there may be the word's lexical "
                      "sentiment; the implicit stories do not name the emotion.")
    doc.limits.append("One feature: the valence RDM ranks emotion pairs by |valence difference| only; emotions of "
                      "similar valence count as close whatever their arousal.")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
