"""Question 10: the full four-layer decomposition of method effects.

Every file of the trained models (comprehension, the generation sweep, the precisions, the second
experiment) goes into one mixed model of the RDM cells (``rsastats.variance.decompose``):
components for the model, (1) method, (2) generation sub-parameters, (3) precision and
(4) experiment, each with a bootstrap CI and a likelihood-ratio test; layer shares sum the
components of each layer.  The study reports this decomposition without uncertainty.

Run:  python -m analyses.decomposition --models analyses/configs/offline.yaml
"""

from __future__ import annotations

from ._cache import COMPREHENSION, GENERATION_RECIPES
from ._common import Context, command, layer_shares, offline_limits, sizes_text, try_decompose
from ._document import AnalysisDocument, ci_text

NAME = "decomposition"
TITLE = "Four-layer decomposition of method effects"
QUESTION = ("How much of the variation between emotion RDMs comes from the model, and how much from each layer of "
            "method choices: (1) comprehension vs generation, (2) generation sub-parameters, (3) precision, "
            "(4) experiment, each with a CI (the study reports the decomposition without uncertainty)?")


def _models(ms):
    """The models decomposed: the trained ones (random models would only add a huge model component)."""
    return [m.name for m in (ms.trained or ms.models)]


def files_of(ms) -> list[tuple[str, str]]:
    out = []
    for m in _models(ms):
        out += [(m, COMPREHENSION), (m, "implicit")]
        if m in ms.generation_models:
            out += [(m, r) for r in GENERATION_RECIPES]
        if m in ms.precision_models:
            out += [(m, r) for r in ms.precisions]
    return out


def needs(ms):
    return files_of(ms)


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    items = files_of(ms)
    doc.text(f"{sizes_text(ms, generation=True)} Files decomposed ({len(items)}): "
             + "; ".join(f"{m}: " + ", ".join(r for mm, r in items if mm == m) for m in _models(ms))
             + ". The response is the within-file rank of each RDM cell at each file's last layer; each component is a "
             "random effect of the cell crossed with the factor (docs/decomposition.md). A component is estimable only "
             "when its factor varies within a model and is not confounded with another.")
    notes: list[str] = []
    dec = try_decompose(doc, [ctx.file(m, r) for m, r in items], [f"{m}/{r}" for m, r in items],
                        n_boot=s.decompose_n_boot, seed=ctx.seed, notes=notes)
    doc.bullets(notes)
    if dec is None:
        doc.summary.append("The files of this set cannot be decomposed (see the report).")
        return
    shares = layer_shares(dec)
    doc.key("layer_shares", shares)
    doc.key("n_files", len(items))
    doc.key("components", [c.to_dict() for c in dec.components])
    parts = [f"{layer} {ci_text(v['share'], v['ci_low'], v['ci_high'])}" for layer, v in shares.items()
             if v["share"] == v["share"]]  # NaN: not estimable
    doc.summary.append(f"Shares of RDM-cell variance ({len(items)} files, {dec.diagnostics.n_boot} resamples): "
                       + "; ".join(parts) + ".")
    sig = [c for c in dec.components if c.estimable and c.lrt_p_adjusted < 0.05]
    doc.summary.append("Components with an adjusted likelihood-ratio p < 0.05: "
                       + (", ".join(f"{c.name} (share {c.share:.3f})" for c in sig) if sig else "none") + ".")
    seed = next((c for c in dec.components if c.name == "seed" and c.estimable), None)
    layer2 = shares.get("2 sub-parameters")
    if seed is not None and layer2 is not None and layer2["share"] == layer2["share"]:
        doc.key("seed_share", {"share": seed.share, "ci_low": seed.share_ci[0], "ci_high": seed.share_ci[1]})
        doc.summary.append(f"Of the sub-parameter layer's share ({layer2['share']:.2f}), the sampling seed alone, which is "
                           f"sampling noise rather than a method choice, carries {ci_text(seed.share, *seed.share_ci)}.")
        others = [c for c in dec.components if c.layer == "2 sub-parameters" and c.name != "seed" and c.estimable]
        above = [c.name for c in others if c.share_ci[0] > seed.share_ci[1]]
        doc.key("sub_parameters_above_seed", above)
        doc.summary.append(f"{len(above)} of {len(others)} sub-parameter components have a share whose CI lies above the "
                           "seed component's CI" + (f" ({', '.join(above)})" if above else "") + ": each variant is a "
                           "single run, so its component also carries that run's sampling noise, which the seed "
                           "component measures.")
    doc.limits.extend(offline_limits(ms))
    doc.limits.append("Only the factors that vary within a model can be separated: here two models, one of which "
                      "(an encoder) cannot generate, so the method and sub-parameter layers rest on one model.")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
