"""Question 6: comprehension vs generation (layer 1 of the study's decomposition).

The study finds a coarse dissociation between vectors read from stimuli (comprehension) and
vectors from the model's own generated text.  For each model that can generate: rho between its
comprehension RDM and its generation RDM, against the rho between two generation runs that differ
only in the sampling seed (how far generation agrees with itself), with a paired bootstrap of the
difference, and the variance decomposition of the three files.

Run:  python -m analyses.comprehension_generation --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import pandas as pd

from rsastats.inference.pairs import compare_difference, compare_models

from ._cache import COMPREHENSION
from ._common import (ci_phrase, difference_phrase, Context, collect_warnings, command, layer_shares, try_decompose, offline_limits,
                      sizes_text)
from ._document import AnalysisDocument, ci_text, fmt_p

NAME = "comprehension_generation"
TITLE = "Comprehension vs generation"
QUESTION = ("Do vectors read from stimuli (comprehension) and vectors from the model's own generated text (generation) "
            "give the same emotion geometry (the study's layer 1: a coarse dissociation), beyond the noise of sampling?")
RECIPES = (COMPREHENSION, "gen", "gen-seed1")


def needs(ms):
    return [(m, r) for m in ms.generation_models for r in RECIPES]


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    doc.text(f"{sizes_text(ms, generation=True)} Comprehension: recipe `named` ({ctx.cache.recipes['named'].description}). "
             f"Generation: recipe `gen` ({ctx.cache.recipes['gen'].description}); `gen-seed1` repeats it with another "
             "sampling seed, so rho(gen, gen-seed1) is the agreement of generation with itself. Each file's last layer.")
    if not ms.generation_models:
        doc.summary.append("No model of this set generates.")
        return
    rows, diffs, notes = [], [], []
    decomp_files, decomp_names = [], []
    for m in ms.generation_models:
        comp, gen, rep = (ctx.file(m, r) for r in RECIPES)
        with collect_warnings(notes):
            cg = compare_models(comp, gen, n_boot=s.n_boot, permutations=s.permutations, n_splits=s.n_splits,
                                seed=ctx.seed)
            gg = compare_models(gen, rep, n_boot=s.n_boot, permutations=s.permutations, n_splits=s.n_splits,
                                seed=ctx.seed)
            d = compare_difference(gen, comp, rep, n_boot=s.n_boot, seed=ctx.seed)
        for label, r in (("comprehension vs generation", cg), ("generation vs generation (seed 0 vs 1)", gg)):
            rows.append({"model": m, "comparison": label, "rho": r.rho, "ci_low": r.ci_low, "ci_high": r.ci_high,
                         "p_value": r.p_value, "reliability_a": r.reliability_a, "reliability_b": r.reliability_b,
                         "noise_ceiling": r.noise_ceiling})
        diffs.append({"model": m, "difference": d.difference, "ci_low": d.ci_low, "ci_high": d.ci_high,
                      "p_value": d.p_value})
        decomp_files += [comp, gen, rep]
        decomp_names += [f"{m}/{r}" for r in RECIPES]
        conf, ci, dphrase = cg.confidence, cg.ci_method, difference_phrase(d)
    frame, diff = pd.DataFrame(rows), pd.DataFrame(diffs)
    caption = (f"n = 21 emotions ({s.prompts} stimuli per emotion for comprehension, {s.samples} generated texts per "
               f"emotion for generation); {ci_phrase(ci, conf, s.n_boot)}; Mantel p from {s.permutations} permutations; reliabilities: split-half with Spearman-Brown "
               f"({s.n_splits} splits); seed {ctx.seed}.")
    doc.table("rho", "Comprehension vs generation, and generation against itself", caption, frame,
              columns={"model": "model", "comparison": "comparison", "rho": "rho", "ci_low": "", "ci_high": "",
                       "p_value": "Mantel p", "reliability_a": "reliability A", "reliability_b": "reliability B",
                       "noise_ceiling": "noise ceiling"}, cis=[("ci_low", "ci_high", "CI")])
    doc.table("difference", "rho(generation, comprehension) - rho(generation, generation with another seed)",
              f"{dphrase}; raw scale; p inverts the interval (H0: no difference); seed {ctx.seed}. A negative "
              "difference: comprehension agrees with generation less than generation agrees with itself.", diff,
              columns={"model": "model", "difference": "difference", "ci_low": "", "ci_high": "", "p_value": "p"},
              cis=[("ci_low", "ci_high", "CI")])
    doc.heading("Variance decomposition of these files")
    dec = try_decompose(doc, decomp_files, decomp_names, n_boot=s.decompose_n_boot, seed=ctx.seed, notes=notes)
    doc.bullets(notes)
    doc.key("rho", frame.to_dict(orient="records"))
    doc.key("difference", diff.to_dict(orient="records"))
    doc.key("layer_shares", layer_shares(dec) if dec is not None else None)
    for m in ms.generation_models:
        a = frame[(frame["model"] == m) & frame["comparison"].str.startswith("comprehension")].iloc[0]
        b = frame[(frame["model"] == m) & frame["comparison"].str.startswith("generation")].iloc[0]
        d = diff[diff["model"] == m].iloc[0]
        kind = " (random weights)" if ms.entry(m).is_random else ""
        doc.summary.append(f"{m}{kind}: comprehension vs generation rho = {ci_text(a['rho'], a['ci_low'], a['ci_high'])} "
                           f"(Mantel p {fmt_p(a['p_value'])}); generation vs generation with another seed rho = "
                           f"{ci_text(b['rho'], b['ci_low'], b['ci_high'])}; difference "
                           f"{ci_text(d['difference'], d['ci_low'], d['ci_high'])} (p {fmt_p(d['p_value'])}).")
    doc.limits.extend(offline_limits(ms))
    doc.limits.append(f"Generation here is short ({s.samples} continuations of {s.new_tokens} tokens per emotion, the study's "
                      "recipe uses 10 x 100): its RDM is noisy, which lowers every rho involving it; the seed replicate "
                      "and the noise ceilings show how much.")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
