"""Question 7: the generation sub-parameter sweep (layer 2 of the study's decomposition).

From the generation recipe (temperature 0.7, top_p 0.9, short continuations, the plain template,
sampling seed 0), one sub-parameter at a time is changed: temperature 1.0, top_p 1.0 (off), twice
as many new tokens, another prompt template, another sampling seed.  Each variant's RDM is
compared with the reference run's; the seed variant is the yardstick (pure sampling noise): a
sub-parameter matters when its rho is clearly below the seed replicate's.  The variance
decomposition of the six files gives each sub-parameter's share with a CI.

Run:  python -m analyses.generation_sweep --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import pandas as pd

from rsastats.inference.pairs import compare_difference, compare_models

from ._cache import GENERATION_RECIPES
from ._common import (ci_phrase, difference_phrase, Context, collect_warnings, command, layer_shares, try_decompose, offline_limits,
                      sizes_text)
from ._document import AnalysisDocument, ci_text

NAME = "generation_sweep"
TITLE = "Generation sub-parameter sweep"
QUESTION = ("How much does each generation sub-parameter (temperature, top_p, length, template, seed) move the emotion "
            "geometry (the study's layer 2), compared with the noise of sampling alone?")
REFERENCE = "gen"
SEED_VARIANT = "gen-seed1"


def needs(ms):
    return [(m, r) for m in ms.generation_models for r in GENERATION_RECIPES]


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    recipes = ctx.cache.recipes
    doc.text(f"{sizes_text(ms, generation=True)} Reference run: `{REFERENCE}` ({recipes[REFERENCE].description}). Variants "
             "(one sub-parameter changed each): " + "; ".join(f"`{r}`: {recipes[r].description}"
                                                          for r in GENERATION_RECIPES[1:]) + ". Each file's last layer.")
    if not ms.generation_models:
        doc.summary.append("No model of this set generates.")
        return
    rows, notes, diffs = [], [], []
    dphrase = "no variant besides the seed replicate"
    files, names = [], []
    for m in ms.generation_models:
        ref = ctx.file(m, REFERENCE)
        seed_file = ctx.file(m, SEED_VARIANT)
        files.append(ref)
        names.append(f"{m}/{REFERENCE}")
        for r in GENERATION_RECIPES[1:]:
            other = ctx.file(m, r)
            files.append(other)
            names.append(f"{m}/{r}")
            with collect_warnings(notes):
                res = compare_models(ref, other, n_boot=s.n_boot, permutations=s.permutations, n_splits=s.n_splits,
                                     seed=ctx.seed)
            rows.append({"model": m, "variant": r, "factor": recipes[r].factor, "rho": res.rho, "ci_low": res.ci_low,
                         "ci_high": res.ci_high, "p_value": res.p_value, "noise_ceiling": res.noise_ceiling})
            if r != SEED_VARIANT:
                with collect_warnings(notes):
                    d = compare_difference(ref, other, seed_file, n_boot=s.n_boot, seed=ctx.seed)
                diffs.append({"model": m, "variant": r, "factor": recipes[r].factor, "difference": d.difference,
                              "ci_low": d.ci_low, "ci_high": d.ci_high, "p_value": d.p_value})
                dphrase = difference_phrase(d, "emotions and generated texts")
            conf, ci = res.confidence, res.ci_method
    frame, diff = pd.DataFrame(rows), pd.DataFrame(diffs)
    caption = (f"n = 21 emotions ({s.samples} generated texts per emotion); "
               f"{ci_phrase(ci, conf, s.n_boot, 'emotions and generated texts')}; Mantel p from {s.permutations} permutations; noise ceiling "
               f"from split-half reliabilities ({s.n_splits} splits); seed {ctx.seed}.")
    doc.table("rho_vs_reference", f"Each variant against the reference run `{REFERENCE}`", caption, frame,
              columns={"model": "model", "variant": "variant", "factor": "factor changed", "rho": "rho", "ci_low": "",
                       "ci_high": "", "p_value": "Mantel p", "noise_ceiling": "noise ceiling"},
              cis=[("ci_low", "ci_high", "CI")])
    doc.table("difference_to_seed", "rho(reference, variant) - rho(reference, seed replicate)",
              f"{dphrase}; p inverts the interval; seed {ctx.seed}. Negative: the sub-parameter moves the geometry more than "
              "resampling does.", diff,
              columns={"model": "model", "variant": "variant", "factor": "factor", "difference": "difference",
                       "ci_low": "", "ci_high": "", "p_value": "p"}, cis=[("ci_low", "ci_high", "CI")])
    doc.heading("Variance decomposition of the sweep")
    dec = try_decompose(doc, files, names, n_boot=s.decompose_n_boot, seed=ctx.seed, notes=notes)
    doc.bullets(notes)
    doc.key("rho_vs_reference", frame.to_dict(orient="records"))
    doc.key("difference_to_seed", diff.to_dict(orient="records"))
    doc.key("layer_shares", layer_shares(dec) if dec is not None else None)
    for m in ms.generation_models:
        part = frame[frame["model"] == m]
        seed_row = part[part["variant"] == SEED_VARIANT].iloc[0]
        kind = " (random weights)" if ms.entry(m).is_random else ""
        text = "; ".join(f"{r.factor} {ci_text(r.rho, r.ci_low, r.ci_high)}" for r in part.itertuples()
                         if r.variant != SEED_VARIANT)
        doc.summary.append(f"{m}{kind}: rho with the reference run: {text}; the seed replicate (sampling noise alone): "
                           f"{ci_text(seed_row['rho'], seed_row['ci_low'], seed_row['ci_high'])}.")
        dpart = diff[diff["model"] == m]
        below = dpart[dpart["ci_high"] < 0]
        doc.summary.append(f"{m}: {len(below)} of {len(dpart)} sub-parameters move the geometry more than a new sampling "
                           "seed (paired CI of the difference entirely below 0)"
                           + (": " + ", ".join(below["factor"]) if len(below) else "") + ".")
    doc.limits.extend(offline_limits(ms))
    doc.limits.append("The one-factor variants use the reference run's sampling seed (common random numbers): where a "
                      "sub-parameter leaves most sampled tokens unchanged they share the reference's sampling noise, so "
                      "their rho with it can exceed the seed replicate's even when the sub-parameter matters; the seed "
                      "replicate shares none of it.")
    doc.limits.append(f"Each variant is one run ({s.samples} x {s.new_tokens} tokens per emotion): a sub-parameter effect "
                      "and the sampling noise of that one run cannot be told apart except through the seed replicate.")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
