"""Question 12: an audit of two recipes.  What can a single rho between two studies say?

Two studies that report emotion geometries made with different recipes (the reference study's:
comprehension of named stimuli, last-token pooling, fp16; Jeong's: generation, mean over the
generated tokens) give one rho between their vector sets.  ``rsastats.audit`` lists the method
layers that separate the two files and compares the observed rho with the *reference range*: the
rho that the two recipes give on one and the same model, where nothing but method can differ.

Audits run here (every file from the shared cache, so the reference needs no new extraction):

1. the same model under both recipes (observed = the method effect itself); reference: the same
   recipes with another sampling seed for the generation side;
2. two different models under the two recipes (a cross-study comparison); reference: the audit
   model under the comprehension recipe of the first file and the generation recipe with another
   seed.

Run:  python -m analyses.audit --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import pandas as pd

from rsastats.audit import TRANSFER_CAVEAT, audit

from ._cache import COMPREHENSION
from ._common import ci_phrase, Context, collect_warnings, command, offline_limits, sizes_text
from ._document import AnalysisDocument, ci_text, fmt_p

NAME = "audit"
TITLE = "Audit: the study's recipe vs Jeong's generation recipe"
QUESTION = ("If two studies extract emotion vectors with different recipes (the study's comprehension recipe and "
            "Jeong's generation recipe) and report one rho between them, what can that rho say about whether the "
            "underlying geometries differ?")


def _plan(ms) -> list[dict]:
    """The audits: name, A, B and the reference pair, each (model, recipe)."""
    m = ms.audit_model or (ms.generation_models[0] if ms.generation_models else "")
    if not m:
        return []
    plans = [{"audit": "same model, two recipes", "a": (m, "study"), "b": (m, "gen"),
              "reference": ((m, "study"), (m, "gen-seed1"))}]
    other = next((e.name for e in ms.trained if e.name != m), None) or next(
        (e.name for e in ms.models if e.name != m), None)
    if other is not None:
        plans.append({"audit": "two models, two recipes", "a": (other, COMPREHENSION), "b": (m, "gen"),
                      "reference": ((m, COMPREHENSION), (m, "gen-seed1"))})
    return plans


def needs(ms):
    out = []
    for p in _plan(ms):
        for item in (p["a"], p["b"], *p["reference"]):
            if item not in out:
                out.append(item)
    return out


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    rec = ctx.cache.recipes
    doc.text(f"{sizes_text(ms, generation=True)} Recipes: `study` ({rec['study'].description}); `gen` "
             f"({rec['gen'].description}); `named` ({rec['named'].description}); `gen-seed1` (`gen` with another "
             "sampling seed). The audit compares the files' recorded settings layer by layer, computes the observed "
             "rho with its CI and the reference range on the reference files, and applies the verdict rule fixed in "
             "docs/audit.md. Last layer of every file, raw cosine RDMs.")
    plans = _plan(ms)
    if not plans:
        doc.summary.append("No audit model in this set.")
        return
    rows, layer_rows, notes = [], [], []
    for p in plans:
        fa, fb = ctx.file(*p["a"]), ctx.file(*p["b"])
        ra, rb = (ctx.file(*x) for x in p["reference"])
        with collect_warnings(notes):
            res = audit(fa, fb, reference_files=[ra, rb], n_boot=s.n_boot, seed=ctx.seed)
        sm = res.summary()
        rows.append({"audit": p["audit"], "a": "/".join(p["a"]), "b": "/".join(p["b"]),
                     "reference": " vs ".join("/".join(x) for x in p["reference"]),
                     "separating_layers": sm["separating_layers"] or "none", "rho": sm["rho"],
                     "ci_low": sm["ci_low"], "ci_high": sm["ci_high"], "p_value": sm["p_value"],
                     "reference_rho": sm["reference_rho"], "reference_low": sm["reference_low"],
                     "reference_high": sm["reference_high"], "verdict": sm["verdict"],
                     "numbers_say": sm["numbers_say"], "reasons": " ".join(res.verdict.reasons)})
        for layer in res.layers_frame().to_dict(orient="records"):
            layer_rows.append({"audit": p["audit"], **layer})
        notes.extend(n for n in res.notes if n not in notes)
        conf, ci, scheme = sm["confidence"], sm["ci_method"], sm["bootstrap"]
    frame, layers = pd.DataFrame(rows), pd.DataFrame(layer_rows)
    caption = (f"n = 21 emotions; observed rho: {ci_phrase(ci, conf, s.n_boot, scheme)}, "
               f"Mantel p; reference range: the same interval for rho between the reference files; verdict rule of "
               f"rsastats.audit (docs/audit.md); seed {ctx.seed}.")
    doc.table("audits", "Audits: observed rho, reference range, verdict", caption, frame,
              columns={"audit": "audit", "a": "A", "b": "B", "reference": "reference files",
                       "separating_layers": "layers that differ", "rho": "observed rho", "ci_low": "", "ci_high": "",
                       "p_value": "Mantel p", "reference_rho": "reference rho", "reference_low": "",
                       "reference_high": "", "verdict": "verdict"},
              cis=[("ci_low", "ci_high", "observed CI"), ("reference_low", "reference_high", "reference range")],
              kinds={"verdict": "text"})
    doc.table("layers", "Which method layers separate A and B",
              "From the files' recorded settings (rsastats.audit.compare_layers); 'unknown': a setting not recorded on "
              "one side (unknown is not the same).", layers,
              columns={"audit": "audit", "layer": "layer", "status": "status", "differing": "differing settings",
                       "unknown": "unknown settings", "complete": "recorded well enough"},
              kinds={"complete": "text"})
    doc.text("Reasons: " + " ".join(f"({r.audit}) {r.reasons}" for r in frame.itertuples()))
    doc.bullets(notes)
    doc.key("audits", frame.drop(columns=["reasons"]).to_dict(orient="records"))
    for r in frame.itertuples():
        doc.summary.append(f"{r.audit} ({r.a} vs {r.b}; layers that differ: {r.separating_layers}): observed rho = "
                           f"{ci_text(r.rho, r.ci_low, r.ci_high)} (Mantel p {fmt_p(r.p_value)}); reference range "
                           f"{ci_text(r.reference_rho, r.reference_low, r.reference_high)}; verdict: {r.verdict} "
                           f"({r.reasons.rstrip('.')}).")
    same = frame[frame["audit"] == "same model, two recipes"]
    if len(same):
        r = same.iloc[0]
        doc.summary.append(f"The same weights read through the two recipes agree at rho = {r['rho']:.2f} "
                           f"(CI {r['ci_low']:.2f} to {r['ci_high']:.2f}): that much disagreement is produced by method "
                           "alone, so a rho between two studies that used these recipes cannot by itself show that their "
                           "geometries differ; only a rho below the reference range can (the audit's rule).")
    doc.limits.append(f"The audit's caveat: {TRANSFER_CAVEAT}.")
    doc.limits.extend(offline_limits(ms))


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
