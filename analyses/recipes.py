"""Issue 16: the peers' contrastive recipes against the study's recipe, through ``audit`` and ``decompose``.

Most published emotion and steering vectors are contrastive: repeng's control vector is the first
principal component of the differences of paired positive/negative prompts (``pca-diff``),
steering-vectors' is their mean difference (``mean-diff``).  Here two models each read the stimuli
with the study's recipe (comprehension of the named stimuli, last token, the model's chat-template
default; at fp32, the peers' precision here, so that the recipes differ in method alone) and with the
two peers' recipes (the contrast pairs: each named text against the same text with the emotion word
replaced).  Then:

1. ``rsastats.audit`` of the observed model's study file against its peer file (one audit per peer):
   the reference maker plans both recipes from the files' recorded attributes on the reference model
   (``extraction.reference``'s plan, extracted through the shared cache), so the reference range is the
   rho the two recipes give on one and the same model;
2. ``rsastats.decompose`` over the six files (2 models x 3 recipes): the method factor has the levels
   comprehension, mean-diff and pca-diff, and its pair contrasts say how far each recipe moves the
   geometry from the others.
3. per model, the paired difference rho(study, steering-vectors) - rho(study, repeng)
   (``compare_difference``: which peer recipe stays nearer the study's);
4. when the study's recipe read the reference model through its chat template (the peers' recipes never
   do), ``compare_models`` of that file with the audit's chat-free reference extraction of the same recipe.

Run:  python -m analyses.recipes --models analyses/configs/offline.yaml
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import pandas as pd

from rsastats.audit import TRANSFER_CAVEAT, audit

from ._cache import PEER_RECIPES
from ._common import Context, collect_warnings, command, offline_limits, sizes_text, try_decompose
from ._document import AnalysisDocument, ci_text, fmt_p

NAME = "recipes"
TITLE = "The peers' contrastive recipes (repeng, steering-vectors) against the study's recipe"
QUESTION = ("Published emotion and steering vectors are mostly contrastive (repeng: the first principal component of "
            "paired differences; steering-vectors: their mean): how far does each recipe move the emotion geometry "
            "from the study's recipe on the same model, and can an audit of a peer's vectors against a study's tell a "
            "difference of geometry from a difference of recipe?")

STUDY = "study-fp32"
RECIPES = (STUDY, *PEER_RECIPES)


def models_of(ms) -> tuple[str, str]:
    """``(observed, reference)``: the audit model is the reference; the observed model is another
    trained model (else any other model of the set)."""
    reference = ms.audit_model or (ms.trained[0].name if ms.trained else ms.models[0].name)
    observed = next((e.name for e in ms.trained if e.name != reference), None) or next(
        e.name for e in ms.models if e.name != reference)
    return observed, reference


def needs(ms):
    return [(m, r) for m in models_of(ms) for r in RECIPES]


class CacheReferences:
    """The audit's reference maker through the shared cache: each audited side's recipe is planned on
    the reference model from the file's recorded attributes (:class:`extraction.reference.ReferenceExtractor`'s
    plans, limited to the model set's prompts) and extracted in ``<cache>/<model>/reference-*.nc``, so that
    a randomly initialised model of the set can be the reference too.  A sampled recipe is made ``runs``
    times with seeds ``s, s + 1, ...``; a deterministic one once."""

    def __init__(self, ctx: Context, model: str):
        self.ctx, self.model = ctx, model
        self.labels: list[str] = []

    def __call__(self, requests: Sequence[Any], *, runs: int = 1):
        from extraction.reference import ReferenceExtractions, ReferenceExtractor, reference_path

        entry = self.ctx.model_set.entry(self.model)
        planner = ReferenceExtractor(entry.name if entry.is_random else entry.model,
                                     reference_dir=self.ctx.cache.folder, limit=self.ctx.sizes.prompts)
        plans = planner.plans(requests)
        files: list[tuple[str, ...]] = []
        for plan in plans:
            side = []
            for run in range(runs if plan.stochastic else 1):
                config = replace(plan.config, seed=plan.config.seed + run)
                label = f"reference-{reference_path(config, '.').stem}"
                self.labels.append(label)
                side.append(str(self.ctx.cache.get_config(self.model, config, label)))
            files.append(tuple(side))
        return ReferenceExtractions(
            self.model, files[0], files[1], tuple(a for p in plans for a in p.assumptions),
            tuple(p.to_dict() for p in plans),
            (f"reference extractions made or reused in the analysis cache ({self.ctx.cache.folder})",))


def _audit_rows(ctx: Context, observed: str, reference: str, notes: list[str]):
    """One audit per peer recipe: the observed model's study file against its peer file."""
    s = ctx.sizes
    maker = CacheReferences(ctx, reference)
    rows, layer_rows, plan_rows, reference_a = [], [], [], ""
    for peer in PEER_RECIPES:
        with collect_warnings(notes):
            res = audit(ctx.file(observed, STUDY), ctx.file(observed, peer), make_references=maker, n_boot=s.n_boot,
                        seed=ctx.seed)
        sm = res.summary()
        name = f"{STUDY} vs {peer}"
        width = sm["reference_high"] - sm["reference_low"]
        rows.append({"audit": name, "a": f"{observed}/{STUDY}", "b": f"{observed}/{peer}",
                     "reference_model": reference, "n_emotions": sm["n_emotions"],
                     "separating_layers": sm["separating_layers"] or "none",
                     "incomplete_layers": sm["incomplete_layers"] or "none", "rho": sm["rho"],
                     "ci_low": sm["ci_low"], "ci_high": sm["ci_high"], "ci_method": sm["ci_method"],
                     "interval": _interval_text(sm["ci_method"], sm["bootstrap"], sm["n_boot"]),
                     "bootstrap": sm["bootstrap"], "p_value": sm["p_value"], "n_permutations": sm["n_permutations"],
                     "reference_rho": sm["reference_rho"],
                     "reference_low": sm["reference_low"], "reference_high": sm["reference_high"],
                     "reference_width": width, "reference_informative": bool(res.reference.informative),
                     "reference_note": sm["reference_note"], "verdict": sm["verdict"],
                     "numbers_say": sm["numbers_say"], "reasons": " ".join(res.verdict.reasons)})
        layer_rows += [{"audit": name, **x} for x in res.layers_frame().to_dict(orient="records")]
        for p in res.reference.plans:
            c = p["config"]
            plan_rows.append({"audit": name, "side": p["side"], "method": c["method"], "pooling": c["pooling"],
                              "stimuli": c["stimuli"], "chat_template": c["chat_template"],
                              "precision": c["precision"], "limit": c["limit"], "recipe": c["recipe"],
                              "assumed": "; ".join(f"{a['attribute']}={a['value']}" for a in p["assumptions"])
                              or "nothing"})
        notes.extend(n for n in res.notes if n not in notes)
        reference_a = reference_a or res.reference.files_a[0]
    return pd.DataFrame(rows), pd.DataFrame(layer_rows), pd.DataFrame(plan_rows), maker.labels, reference_a


def _interval_text(ci_method: str, scheme: str, n_boot: int) -> str:
    if ci_method.startswith("jackknife"):
        return f"{ci_method}: leave-one-out over {scheme}"
    return f"{ci_method} bootstrap over {scheme}, {n_boot} resamples"


def _audit_section(ctx: Context, doc: AnalysisDocument, frame, layers, plans) -> None:
    first = frame.iloc[0]
    caption = (f"n = {first['n_emotions']} emotions; observed rho: 95% interval as the 'interval' column says "
               f"(Fisher-z scale for jackknife-t and jackknife-z), Mantel p ({first['n_permutations']} permutations); reference "
               "range: the same interval for rho between the reference model's re-made recipes; verdict rule of "
               f"rsastats.audit (docs/audit.md); last layer, raw cosine RDMs; seed {ctx.seed}.")
    doc.table("audits", "Audits: observed rho, reference range, verdict", caption, frame,
              columns={"audit": "audit", "a": "A", "b": "B", "reference_model": "reference model",
                       "separating_layers": "layers that differ", "rho": "observed rho", "ci_low": "", "ci_high": "",
                       "p_value": "Mantel p", "reference_rho": "reference rho", "reference_low": "",
                       "reference_high": "", "reference_width": "range width", "interval": "interval",
                       "verdict": "verdict"},
              cis=[("ci_low", "ci_high", "observed CI"), ("reference_low", "reference_high", "reference range")],
              kinds={"verdict": "text", "interval": "text"})
    doc.table("audit_layers", "Which method layers separate A and B",
              "From the files' recorded settings (rsastats.audit.compare_layers); 'unknown': a setting not recorded on "
              "one side (unknown is not the same).", layers,
              columns={"audit": "audit", "layer": "layer", "status": "status", "differing": "differing settings",
                       "unknown": "unknown settings", "complete": "recorded well enough"},
              kinds={"complete": "text"})
    doc.table("reference_plans", "How the reference model re-made each side's recipe",
              "The reference plan of each audited side (extraction.reference_plan.plan_reference), from the file's "
              "recorded attributes; 'assumed': settings the file did not record.", plans,
              kinds={"limit": "int"})
    doc.text("Reasons: " + " ".join(f"({r.audit}) {r.reasons}" for r in frame.itertuples()))


def _method_contrasts(dec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The decomposition's method-level contrasts: pooled over models, and per model."""
    pooled = dec.contrasts_frame()
    pooled = pooled[pooled["factor"] == "method"].copy() if not pooled.empty else pooled
    if not pooled.empty:
        pooled["models"] = [", ".join(m) for m in pooled["models"]]
    pairs = dec.pairs_frame()
    pairs = pairs[pairs["factor"] == "method"].copy() if not pairs.empty else pairs
    if not pairs.empty:  # the model set's name of each file's model (the files are named model/recipe)
        pairs.insert(0, "model_name", [str(f).split("/")[0] for f in pairs["file_a"]])
    return pooled.reset_index(drop=True), pairs.reset_index(drop=True)


def _overlap(a: pd.Series, b: pd.Series) -> bool:
    return not (a["ci_high"] < b["ci_low"] or b["ci_high"] < a["ci_low"])


def contrast_sentences(pooled: pd.DataFrame) -> list[str]:
    """Plain words from the pooled method contrasts (rows with ``levels``, ``mean_rho``, ``ci_low``,
    ``ci_high``, ``n_pairs``): each contrast with its interval, then which peer recipe stays nearer the
    study's, and whether the intervals separate them."""
    if pooled.empty:
        return []
    rows = {r["levels"]: r for _, r in pooled.iterrows()}
    out = ["Method contrasts (mean rho between files of one model that differ in method alone, "
           f"{int(pooled['n_pairs'].max())} model(s)): "
           + "; ".join(f"{lv} {ci_text(r['mean_rho'], r['ci_low'], r['ci_high'])}" for lv, r in rows.items()) + "."]
    mean, pca = rows.get("comprehension vs mean-diff"), rows.get("comprehension vs pca-diff")
    if mean is not None and pca is not None:
        near, far = (("steering-vectors (mean-diff)", "repeng (pca-diff)") if mean["mean_rho"] >= pca["mean_rho"]
                     else ("repeng (pca-diff)", "steering-vectors (mean-diff)"))
        sep = ("the two intervals do not overlap" if not _overlap(mean, pca)
               else "the two intervals overlap, so these files do not order the two recipes")
        out.append(f"{near[0].upper() + near[1:]} keeps the study recipe's geometry more closely than {far} "
                   f"(mean rho {max(mean['mean_rho'], pca['mean_rho']):.2f} against "
                   f"{min(mean['mean_rho'], pca['mean_rho']):.2f}); {sep}.")
    return out


def audit_sentence(r: pd.Series) -> str:
    """One audit in plain words, from its row of the audits table."""
    if r["reference_informative"]:
        kind = "a proper interval" if r["reference_width"] > 0 else "degenerate"
        ref = (f"reference range {ci_text(r['reference_rho'], r['reference_low'], r['reference_high'])} "
               f"(width {r['reference_width']:.2f}, {kind})")
    else:
        ref = f"no reference range ({r['reference_note']})"
    return (f"Audit {r['a']} vs {r['b']} (reference model {r['reference_model']}; layers that differ: "
            f"{r['separating_layers']}): observed rho {ci_text(r['rho'], r['ci_low'], r['ci_high'])} (Mantel p "
            f"{fmt_p(r['p_value'])}); {ref}; verdict: {r['verdict']} ({r['reasons'].rstrip('.')}).")


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms = ctx.model_set
    rec = ctx.cache.recipes
    observed, reference = models_of(ms)
    doc.text(f"{sizes_text(ms)} Recipes: " + "; ".join(f"`{r}` ({rec[r].description})" for r in RECIPES)
             + f". Files: {observed} and {reference} under each recipe. The audits compare {observed}'s study file "
             f"with its peer files; their reference extractions re-make both recipes on {reference} from the files' "
             "recorded settings. The decomposition takes the six files of the two models (the reference extractions "
             "are left out: they repeat the reference model's recipes, so they would add near-duplicate files). The "
             "contrast pairs are the named texts, each against the same text with the emotion word replaced, so every "
             "file records the experiment `named`; their stimulus sets differ (the contrast set adds the contrast "
             "texts), which the audit lists under layer 4.")
    notes: list[str] = []
    doc.heading("Audits: the study's recipe against each peer's")
    frame, layers, plans, labels, reference_a = _audit_rows(ctx, observed, reference, notes)
    _audit_section(ctx, doc, frame, layers, plans)
    doc.settings["reference_extractions"] = {f"{reference}/{x}": ctx.cache.record(reference, x) for x in labels}
    doc.key("audits", frame.to_dict(orient="records"))
    doc.summary.extend(audit_sentence(r) for _, r in frame.iterrows())
    doc.heading("Decomposition: the recipes as levels of the method factor")
    _decomposition_part(ctx, doc, notes)
    _difference_part(ctx, doc)
    _chat_part(ctx, doc, reference, reference_a)
    doc.bullets(notes)
    doc.limits.append(f"The audit's caveat: {TRANSFER_CAVEAT}.")
    # no random model is read here, so the set's note on random models does not apply
    doc.limits.extend(x for x in offline_limits(ms) if not x.startswith("The randomly initialised"))


def _decomposition_part(ctx: Context, doc: AnalysisDocument, notes: list[str]) -> None:
    """``decompose`` over the six files, the per-model method pairs, and the sentences."""
    items = needs(ctx.model_set)
    dec = try_decompose(doc, [ctx.file(m, r) for m, r in items], [f"{m}/{r}" for m, r in items],
                        n_boot=ctx.sizes.decompose_n_boot, seed=ctx.seed, notes=notes, prefix="decomposition")
    if dec is None:
        doc.summary.append(f"The {len(items)} files could not be decomposed (see the report).")
        return
    pooled, per_model = _method_contrasts(dec)
    if not per_model.empty:
        doc.table("method_pairs", "rho between one model's files that differ in method alone",
                  "From rsastats.decompose (pair contrasts: Spearman rho of the two files' last-layer cosine RDMs, "
                  f"bootstrap CI over emotions, {dec.diagnostics.n_boot} resamples, seed {ctx.seed}).", per_model,
                  columns={"model_name": "model", "level_a": "method A", "level_b": "method B", "rho": "rho",
                           "ci_low": "", "ci_high": ""}, cis=[("ci_low", "ci_high", "CI")])
    components = {c.name: c for c in dec.components}
    method = components.get("method")
    doc.key("method_contrasts", pooled.to_dict(orient="records"))
    doc.key("method_pairs", per_model.to_dict(orient="records"))
    doc.key("method_component", method.to_dict() if method is not None else None)
    doc.summary.extend(contrast_sentences(pooled))
    if method is not None and method.estimable:
        interaction = components.get("model:method")
        why = (" (one file per model and method, so how the method effect differs between the models is in the "
               "residual)" if interaction is not None and not interaction.estimable else "")
        doc.summary.append("The method component's share of RDM-cell variance is "
                           f"{ci_text(method.share, method.share_ci_low, method.share_ci_high)}"
                           + (" (at the boundary: a singular fit)" if method.at_boundary else "")
                           + f" with {len(items)} files{why}; the pair contrasts above measure the method effect "
                           "more directly than this share.")


def _difference_part(ctx: Context, doc: AnalysisDocument) -> None:
    """Per model, the paired test of which peer recipe stays nearer the study's:
    rho(study, steering-vectors) - rho(study, repeng), both correlations resampled together."""
    from rsastats.inference.pairs import compare_difference

    rows = []
    for model in models_of(ctx.model_set):
        d = compare_difference(ctx.file(model, STUDY), ctx.file(model, "steering-vectors"), ctx.file(model, "repeng"),
                               n_boot=ctx.sizes.n_boot, seed=ctx.seed)
        rows.append({"model": model, "rho_mean_diff": d.rho_ab, "rho_pca_diff": d.rho_ac, "difference": d.difference,
                     "ci_low": d.ci_low, "ci_high": d.ci_high, "p_value": d.p_value, "ci_method": d.ci_method,
                     "bootstrap": d.bootstrap, "n_boot": d.n_boot, "n_emotions": d.n_emotions})
    frame = pd.DataFrame(rows)
    first = frame.iloc[0]
    interval = _interval_text(first["ci_method"], first["bootstrap"], first["n_boot"])
    caption = (f"rho(study, steering-vectors) - rho(study, repeng) on each model's three files; n = "
               f"{first['n_emotions']} emotions; 95% {interval} "
               "(the two correlations share the study file; each left-out emotion or resample applies to both); p "
               f"inverts the interval; seed {ctx.seed}.")
    doc.table("recipe_difference", "Which peer recipe stays nearer the study's: the paired difference", caption, frame,
              columns={"model": "model", "rho_mean_diff": "rho with steering-vectors",
                       "rho_pca_diff": "rho with repeng", "difference": "difference", "ci_low": "", "ci_high": "",
                       "p_value": "p"}, cis=[("ci_low", "ci_high", "CI")])
    doc.key("recipe_difference", frame.to_dict(orient="records"))
    above, below = int((frame["ci_low"] > 0).sum()), int((frame["ci_high"] < 0).sum())
    doc.summary.append("Paired test per model, rho(study, steering-vectors) - rho(study, repeng): " + "; ".join(
        f"{r.model} {ci_text(r.difference, r.ci_low, r.ci_high)} (p {fmt_p(r.p_value)})" for r in frame.itertuples())
        + f". The interval lies above 0 (steering-vectors nearer the study's recipe) on {above} of {len(frame)} "
        f"models, below 0 (repeng nearer) on {below}, and contains 0 on {len(frame) - above - below}.")


def _chat_part(ctx: Context, doc: AnalysisDocument, model: str, reference_a: str) -> None:
    """When the study's recipe read ``model`` through its chat template (the peers' recipes read without
    one), how far the chat template alone moves the geometry: the study file against the audit's reference
    extraction of the study side (the same recipe without a chat template)."""
    import xarray as xr

    from rsastats.inference.pairs import compare_models

    study = ctx.file(model, STUDY)
    with xr.open_dataset(study, engine="netcdf4") as ds:
        chat = str(ds.attrs.get("chat_template", "0")) in ("1", "1.0")
    with xr.open_dataset(reference_a, engine="netcdf4") as ds:
        plain = str(ds.attrs.get("chat_template", "0")) in ("0", "0.0")
    if not (chat and plain):
        return
    s = ctx.sizes
    res = compare_models(study, reference_a, n_boot=s.n_boot, permutations=s.permutations, seed=ctx.seed)
    row = {"model": model, "a": f"{STUDY} (chat template)", "b": f"{STUDY} without chat template (the audit's "
           "reference extraction of side A)", "rho": res.rho, "ci_low": res.ci_low, "ci_high": res.ci_high,
           "p_value": res.p_value, "ci_method": res.ci_method, "bootstrap": res.bootstrap, "n_boot": res.n_boot}
    doc.heading("The chat template inside the study's recipe")
    caption = (f"n = {res.n_emotions} emotions; 95% {_interval_text(res.ci_method, res.bootstrap, res.n_boot)}; "
               f"Mantel p, {res.n_permutations} permutations; last layer, raw cosine RDMs; seed {ctx.seed}.")
    doc.table("chat_template", "The study's recipe with and without the chat template", caption, pd.DataFrame([row]),
              columns={"model": "model", "a": "A", "b": "B", "rho": "rho", "ci_low": "", "ci_high": "",
                       "p_value": "Mantel p"}, cis=[("ci_low", "ci_high", "CI")])
    doc.key("chat_template", row)
    doc.summary.append(f"On {model} the study's recipe reads through the model's chat template (its default) and the "
                       f"peers' recipes do not; the chat template alone moves the geometry to rho "
                       f"{ci_text(res.rho, res.ci_low, res.ci_high)} (the same recipe with and without it), so "
                       f"{model}'s method contrasts carry the chat template too (the decomposition has no "
                       "chat-template factor).")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
