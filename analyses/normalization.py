"""Question 5: normalization controls before the RDM.

The study builds raw cosine RDMs; with anisotropic spaces a shared direction can dominate raw
cosines.  Every pair of models is compared after each normalization of the emotion vectors
(raw, emotion-mean centred, baseline-mean centred, neutral principal components removed,
z-scored), and each model's raw RDM is compared with its own normalized RDMs.

Run:  python -m analyses.normalization --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rsastats.inputs import RDMOptions, load_model
from rsastats.inference.pairs import compare_all, compare_models
from rsastats.report.figures import pyplot

from ._cache import COMPREHENSION
from ._common import ci_phrase, Context, collect_warnings, command, offline_limits, role_of, sizes_text
from ._document import AnalysisDocument, ci_text

NAME = "normalization"
TITLE = "Normalization controls: how rho moves with centring, neutral PCs and z-scoring"
QUESTION = ("Does cross-model rho survive normalizations that remove a shared direction before the RDM (the referee: "
            "raw / centred / baseline-centred / neutral-PC / z-scored), or is it carried by anisotropy?")
NORMALIZATIONS = ("raw", "emotion-mean", "baseline-mean", "neutral-pc", "zscore")
DESCRIBE = {"raw": "raw vectors (the study)", "emotion-mean": "minus the mean of the 21 emotion vectors",
            "baseline-mean": "minus the mean of the emotion-free baseline texts",
            "neutral-pc": "top 3 principal components of the baseline texts projected out",
            "zscore": "every hidden dimension z-scored across emotions"}


def needs(ms):
    return [(m, COMPREHENSION) for m in ms.names]


def _figure(frame: pd.DataFrame, confidence: float):
    """Trained-trained pairs as lines with CIs; pairs with random models as a median line and a min-max band."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    cmap = plt.get_cmap("tab10")
    x = {n: i for i, n in enumerate(NORMALIZATIONS)}
    trained = frame[frame["pair_kind"] == "trained-trained"]
    for k, ((a, b), part) in enumerate(trained.groupby(["a", "b"], sort=False)):
        xs = [x[n] + 0.04 * k for n in part["normalization"]]
        ax.vlines(xs, part["ci_low"], part["ci_high"], color=cmap(k % 10), lw=1.5)
        ax.plot(xs, part["rho"], "o-", color=cmap(k % 10), ms=4, label=f"{a} vs {b} ({100 * confidence:g}% CI)")
    for kind, colour in (("trained-random", "tab:orange"), ("random-random", "0.45")):
        part = frame[frame["pair_kind"] == kind]
        if part.empty:
            continue
        stats = part.groupby("normalization")["rho"].agg(["min", "median", "max"]).reindex(NORMALIZATIONS)
        xs = np.arange(len(NORMALIZATIONS))
        ax.fill_between(xs, stats["min"], stats["max"], color=colour, alpha=0.15, lw=0)
        n_pairs = part[["a", "b"]].drop_duplicates().shape[0]
        ax.plot(xs, stats["median"], "s--", color=colour, ms=3,
                label=f"{kind.replace('-', ' x ')} pairs: median, min-max band ({n_pairs} pairs)")
    ax.set_xticks(range(len(NORMALIZATIONS)), NORMALIZATIONS)
    ax.axhline(0, color="0.6", lw=0.6)
    ax.set_ylabel("rho")
    ax.legend(fontsize=7, frameon=False, loc="best")
    fig.tight_layout()
    return fig


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    paths = [ctx.file(n, COMPREHENSION) for n in ms.names]
    notes: list[str] = []
    rows = []
    for norm in NORMALIZATIONS:
        with collect_warnings(notes):
            res = compare_all(paths, names=list(ms.names), normalization=norm, n_boot=s.n_boot,
                              permutations=s.permutations, n_splits=s.n_splits, seed=ctx.seed)
        for r in res.pairs.to_dict(orient="records"):
            rows.append({"a": r["a"], "b": r["b"], "pair_kind": role_of(ms, r["a"], r["b"]), "normalization": norm,
                         "rho": r["rho"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p_value": r["p_value"],
                         "p_holm": r["p_adjusted"], "noise_ceiling": r.get("noise_ceiling", float("nan"))})
        conf, ci = res.confidence, res.ci_method
    frame = pd.DataFrame(rows)
    self_rows = []
    for name, path in zip(ms.names, paths):
        raw = load_model(path, RDMOptions(), name=f"{name} raw")
        for norm in NORMALIZATIONS[1:]:
            other = load_model(path, RDMOptions(normalization=norm), name=f"{name} {norm}")
            with collect_warnings(notes):
                r = compare_models(raw, other, n_boot=s.n_boot, permutations=s.permutations, ceiling=False, seed=ctx.seed)
            self_rows.append({"model": name, "normalization": norm, "rho": r.rho, "ci_low": r.ci_low,
                              "ci_high": r.ci_high})
    self_frame = pd.DataFrame(self_rows)
    caption = (f"n = 21 emotions ({s.prompts} prompts per emotion); {ci_phrase(ci, conf, s.n_boot)}; Mantel p from {s.permutations} permutations, Holm-adjusted within each "
               f"normalization; last layer; seed {ctx.seed}.")
    doc.text(f"{sizes_text(ms)} Normalizations: " + "; ".join(f"`{n}`: {DESCRIBE[n]}" for n in NORMALIZATIONS)
             + " (docs/statistics.md). Centring happens on the prompt rows or the emotion means before the cosine RDM.")
    doc.figure(_figure(frame, conf), "rho_by_normalization", "rho of every pair under each normalization", caption)
    doc.table("pairs", "rho of every pair under each normalization", caption, frame,
              columns={"a": "model A", "b": "model B", "pair_kind": "pair", "normalization": "normalization",
                       "rho": "rho", "ci_low": "", "ci_high": "", "p_value": "Mantel p", "p_holm": "p (Holm)",
                       "noise_ceiling": "noise ceiling"}, cis=[("ci_low", "ci_high", "CI")])
    doc.table("self", "Each model's raw RDM against its normalized RDMs",
              f"The same prompts in both files; {ci_phrase(ci, conf, s.n_boot)}; seed {ctx.seed}. Low rho: the normalization changes that model's geometry.",
              self_frame, columns={"model": "model", "normalization": "normalization", "rho": "rho vs raw",
                                   "ci_low": "", "ci_high": ""}, cis=[("ci_low", "ci_high", "CI")])
    doc.bullets(notes)

    doc.key("pairs", frame.to_dict(orient="records"))
    for (a, b), part in frame[frame["pair_kind"] == "trained-trained"].groupby(["a", "b"], sort=False):
        parts = [f"{r.normalization} {ci_text(r.rho, r.ci_low, r.ci_high)}" for r in part.itertuples()]
        doc.summary.append(f"{a} vs {b}: " + "; ".join(parts) + ".")
    rr = frame[frame["pair_kind"] == "random-random"]
    if len(rr):
        stats = rr.groupby("normalization", sort=False)
        sig = stats["p_holm"].apply(lambda p: int((p < 0.05).sum()))
        med = stats["rho"].median()
        n_pairs = rr[["a", "b"]].drop_duplicates().shape[0]
        doc.key("random_pairs_by_normalization", {n: {"median_rho": float(med[n]), "n_holm_significant": int(sig[n]),
                                                      "n_pairs": n_pairs} for n in med.index})
        doc.summary.append("Random-random pairs, median rho (Holm-significant pairs of " + str(n_pairs) + "): "
                           + "; ".join(f"{n} {med[n]:.2f} ({sig[n]})" for n in med.index) + ".")
    tt = frame[frame["pair_kind"] == "trained-trained"]
    if len(tt) and len(rr):
        separated = []
        for norm in NORMALIZATIONS:
            top_random = float(rr.loc[rr["normalization"] == norm, "rho"].max())
            lows = tt.loc[tt["normalization"] == norm, "ci_low"]
            if len(lows) and float(lows.min()) > top_random:
                separated.append(f"{norm} (lowest trained CI bound {float(lows.min()):.2f} > highest random rho "
                                 f"{top_random:.2f})")
        doc.key("normalizations_separating_trained_from_random", separated)
        doc.summary.append("Normalizations under which every trained pair's CI lies above every random-random rho: "
                           + ("; ".join(separated) if separated else "none") + ".")
    low = self_frame.loc[self_frame["rho"].idxmin()]
    doc.summary.append(f"The largest change of one model's own geometry: {low['model']} under {low['normalization']}, "
                       f"rho with its raw RDM {ci_text(low['rho'], low['ci_low'], low['ci_high'])}.")
    doc.limits.extend(offline_limits(ms))
    doc.limits.append("A normalization that raises or lowers rho does not say which geometry is 'true': it says how "
                      "much of the agreement sits in the shared (anisotropic) direction that the normalization removes.")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
