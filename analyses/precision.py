"""Question 8: numerical precision (layer 3 of the study's decomposition).

The study reports a precision effect (fp16 vs INT8) without saying which INT8 scheme.  Each model
of ``precision_models`` reads the same named stimuli at fp32, fp16, bf16 and three INT8 schemes
(weight-only, per-token dynamic activations, per-tensor dynamic activations); every precision's RDM
is compared with fp32's (the same texts: a paired bootstrap), and the decomposition of those files
gives the precision share.

Run:  python -m analyses.precision --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import pandas as pd

from rsastats.inference.pairs import compare_models

from ._cache import COMPREHENSION
from ._common import (ci_phrase, Context, collect_warnings, command, layer_shares, try_decompose, offline_limits,
                      sizes_text)
from ._document import AnalysisDocument, ci_text

NAME = "precision"
TITLE = "Precision: fp32, fp16, bf16 and three INT8 schemes"
QUESTION = ("How much does numerical precision move the emotion geometry (the study's layer 3: fp16 vs INT8), and does "
            "the answer depend on which INT8 scheme is meant?")
SCHEMES = {"fp16": "float16 weights and activations", "bf16": "bfloat16 weights and activations",
           "int8-weight": "int8 weights (per channel), float32 activations",
           "int8-token": "int8 weights, int8 activations with one scale per token",
           "int8-dynamic": "int8 weights, int8 activations with one scale per tensor (torch quantize_dynamic)"}


def needs(ms):
    return [(m, r) for m in ms.precision_models for r in (COMPREHENSION, *ms.precisions)]


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    doc.text(f"{sizes_text(ms)} Every run uses recipe `named` ({ctx.cache.recipes['named'].description}) at one precision: "
             + "; ".join(f"`{p}`: {SCHEMES[p]}" for p in ms.precisions)
             + ". INT8 quantizes the linear layers inside the transformer blocks (docs/extraction.md). Last layer.")
    if not ms.precision_models:
        doc.summary.append("No precision models in this set.")
        return
    rows, notes, files, names = [], [], [], []
    for m in ms.precision_models:
        ref = ctx.file(m, COMPREHENSION)
        files.append(ref)
        names.append(f"{m}/fp32")
        for p in ms.precisions:
            other = ctx.file(m, p)
            files.append(other)
            names.append(f"{m}/{p}")
            with collect_warnings(notes):
                res = compare_models(ref, other, n_boot=s.n_boot, permutations=s.permutations, n_splits=s.n_splits,
                                     seed=ctx.seed)
            rows.append({"model": m, "precision": p, "rho": res.rho, "ci_low": res.ci_low, "ci_high": res.ci_high,
                         "p_value": res.p_value, "reliability_fp32": res.reliability_a,
                         "reliability_other": res.reliability_b})
            conf, ci = res.confidence, res.ci_method
    frame = pd.DataFrame(rows)
    caption = (f"n = 21 emotions ({s.prompts} prompts per emotion, the same texts at every precision, so each resample "
               f"draws the same prompts in both files); {ci_phrase(ci, conf, s.n_boot)}; "
               f"Mantel p from {s.permutations} permutations; split-half reliabilities "
               f"({s.n_splits} splits); seed {ctx.seed}. Both files share their prompt noise, so rho is not attenuated by "
               "it and no noise ceiling applies.")
    doc.table("rho_vs_fp32", "Each precision against fp32", caption, frame,
              columns={"model": "model", "precision": "precision", "rho": "rho vs fp32", "ci_low": "", "ci_high": "",
                       "p_value": "Mantel p", "reliability_fp32": "reliability fp32",
                       "reliability_other": "reliability (this precision)"}, cis=[("ci_low", "ci_high", "CI")])
    doc.heading("Variance decomposition")
    dec = try_decompose(doc, files, names, n_boot=s.decompose_n_boot, seed=ctx.seed, notes=notes)
    doc.bullets(notes)
    doc.key("rho_vs_fp32", frame.to_dict(orient="records"))
    doc.key("layer_shares", layer_shares(dec) if dec is not None else None)
    for m in ms.precision_models:
        part = frame[frame["model"] == m]
        doc.summary.append(f"{m}, rho with fp32: " + "; ".join(f"{r.precision} {ci_text(r.rho, r.ci_low, r.ci_high)}"
                                                             for r in part.itertuples()) + ".")
    worst = frame.loc[frame["rho"].idxmin()]
    doc.summary.append(f"The largest precision effect: {worst['model']} at {worst['precision']}, rho with fp32 "
                       f"{ci_text(worst['rho'], worst['ci_low'], worst['ci_high'])}.")
    doc.limits.extend(offline_limits(ms))
    doc.limits.append("SmolLM2-135M's weights come from a 4-bit GGUF file, dequantized to fp32: 'fp32' here is already a "
                      "quantized model, so precision effects may differ from those of the original bf16 checkpoint.")
    doc.limits.append("Extraction runs on the CPU; GPU fp16/int8 kernels (and bitsandbytes LLM.int8) round differently "
                      "and are not covered.")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
