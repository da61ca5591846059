"""Question 11: the a-priori maturity classification.

The study calls some models "mature" after seeing their base x instruct results (post hoc).  The
project's rule (``rsastats.maturity``, docs/maturity.md) was fixed before any outcome: measured on
the base model only, mature if the CI of baseline anisotropy lies below 0.90 and the CI of the
RDM's split-half reliability lies above 0.70.  Each base model of the set is classified, with the
class under the declared alternative thresholds.

Run:  python -m analyses.maturity --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import pandas as pd
import xarray as xr

from rsastats.maturity import MATURITY_RULE, classify_maturity

from ._cache import COMPREHENSION
from ._common import Context, collect_warnings, command, offline_limits, sizes_text
from ._document import AnalysisDocument, ci_text

NAME = "maturity"
TITLE = "A-priori maturity classification"
QUESTION = ("Which models are 'mature' under a rule fixed in advance and computed from the base model alone (the "
            "referee: the study's maturity criterion is post hoc)?")


def needs(ms):
    return [(m.name, COMPREHENSION) for m in ms.models]  # the file says whether a model is instruct


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    rule = MATURITY_RULE
    doc.text(f"{sizes_text(ms)} The rule ({rule.name}, fingerprint `{rule.fingerprint()}`): {rule.statement()}")
    rows, sens, notes, skipped = [], [], [], []
    for entry in ms.models:
        path = ctx.file(entry.name, COMPREHENSION)
        with xr.open_dataset(path, engine="netcdf4") as ds:
            variant = str(ds.attrs.get("variant", "") or entry.variant)
        if variant == "instruct":
            skipped.append(entry.name)
            continue
        with collect_warnings(notes):
            res = classify_maturity(path, n_boot=s.geometry_n_boot, seed=ctx.seed, assume_base=True)
        an, rel = res["baseline_anisotropy"], res["rdm_reliability"]
        rows.append({"model": entry.name, "kind": "random" if entry.is_random else "trained", "layer": res.layer,
                     "maturity": res.maturity, "point_maturity": res.point_maturity,
                     "anisotropy": an.estimate, "anisotropy_ci_low": an.ci_low, "anisotropy_ci_high": an.ci_high,
                     "reliability": rel.estimate, "reliability_ci_low": rel.ci_low, "reliability_ci_high": rel.ci_high,
                     "assumed_base": res.assumed_base, "reason": res.reason})
        for a, r, c in res.sensitivity:
            sens.append({"model": entry.name, "max_baseline_anisotropy": a, "min_rdm_reliability": r, "maturity": c})
    frame = pd.DataFrame(rows)
    caption = (f"Last layer; {100 * rule.confidence:g}% CIs: anisotropy {rule.ci_method} bootstrap over baseline texts "
               f"({s.geometry_n_boot} resamples, {s.baseline} texts), reliability {rule.reliability_interval} "
               f"({s.prompts} prompts per emotion); seed {ctx.seed}.")
    doc.table("classification", "Maturity of each base model", caption, frame,
              columns={"model": "model", "kind": "kind", "layer": "layer", "maturity": "class",
                       "point_maturity": "class from point estimates", "anisotropy": "baseline anisotropy",
                       "anisotropy_ci_low": "", "anisotropy_ci_high": "", "reliability": "RDM reliability",
                       "reliability_ci_low": "", "reliability_ci_high": "", "reason": "reason"},
              cis=[("anisotropy_ci_low", "anisotropy_ci_high", "anisotropy CI"),
                   ("reliability_ci_low", "reliability_ci_high", "reliability CI")], kinds={"layer": "int"})
    sens_frame = pd.DataFrame(sens)
    wide = sens_frame.assign(thresholds=[f"A<{a:g}, R>{r:g}" for a, r in zip(sens_frame["max_baseline_anisotropy"],
                                                                             sens_frame["min_rdm_reliability"])])
    wide = wide.pivot(index="model", columns="thresholds", values="maturity").reset_index()
    doc.table("sensitivity", "The class under the declared alternative thresholds",
              "A: maximum baseline anisotropy, R: minimum RDM reliability (declared with the rule, docs/maturity.md).",
              wide, kinds={c: "text" for c in wide.columns})
    if skipped:
        doc.text("Not classified (instruct models: the rule uses base models only, so that no base x instruct outcome "
                 "can enter it): " + ", ".join(skipped) + ".")
    doc.bullets(notes)
    doc.key("classification", frame.drop(columns=["reason"]).to_dict(orient="records"))
    doc.key("skipped_instruct", skipped)
    for r in frame.itertuples():
        doc.summary.append(f"{r.model} ({r.kind}): {r.maturity} (anisotropy "
                           f"{ci_text(r.anisotropy, r.anisotropy_ci_low, r.anisotropy_ci_high)}, reliability "
                           f"{ci_text(r.reliability, r.reliability_ci_low, r.reliability_ci_high)}).")
    if skipped:
        doc.summary.append(f"Not classified (instruct): {', '.join(skipped)}.")
    doc.limits.extend(offline_limits(ms))
    doc.limits.append("Random models are treated as base models (they were never instruction-tuned); a random model "
                      "classed 'mature' would show that the rule's two inputs cannot by themselves tell learned geometry "
                      "from a reliable artefact of the stimuli.")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
