"""Question 4: layer sensitivity.  How does cross-model rho depend on the layer, and does the last
layer give the same answer as the average of the final k layers (the referee's question)?

For each of evenly spaced relative depths every model uses its nearest layer and every pair is
compared (bootstrap CI, Mantel p); then every pair at the last layer against the mean of the
last k layers, and, per model, rho between its own last-layer RDM and its last-k RDM (how much the
choice moves one model's geometry; paired: the same prompts).

Run:  python -m analyses.layer_sensitivity --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from rsastats.inputs import RDMOptions, load_model
from rsastats.inference.pairs import compare_all, compare_models
from rsastats.report.figures import layer_curve_figure

from ._cache import COMPREHENSION
from ._common import ci_phrase, Context, collect_warnings, command, offline_limits, role_of, sizes_text
from ._document import AnalysisDocument, ci_text, fmt_p

NAME = "layer_sensitivity"
TITLE = "Layer and pooling sensitivity: rho across depth, last layer vs the mean of the final layers, mean vs last token"
QUESTION = ("Does cross-model agreement depend on which layer the vectors come from, and does the last layer give the "
            "same rho as the average of the final k layers (the referee asks; the study uses one layer)? And does pooling "
            "(mean over the stimulus tokens vs the study's last token) matter?")
CURVE_PERMUTATIONS = 999
POOLING_RECIPE = "named-last"  # the study pools the last token; `named` averages the stimulus tokens


def needs(ms):
    return [(m, r) for m in ms.names for r in (COMPREHENSION, POOLING_RECIPE)]


def _labels(path: str) -> list[int]:
    with xr.open_dataset(path, engine="netcdf4") as ds:
        return sorted(int(x) for x in ds["layer"].values)


def _pooling_section(ctx: Context, doc: AnalysisDocument, notes: list[str]) -> list[str]:
    """Mean over the stimulus tokens (`named`) vs the last stimulus token (`named-last`, the study's pooling)."""
    ms, s = ctx.model_set, ctx.sizes
    rows = []
    for n in ms.names:
        with collect_warnings(notes):
            r = compare_models(ctx.file(n, COMPREHENSION), ctx.file(n, POOLING_RECIPE), n_boot=s.n_boot,
                               permutations=s.permutations, ceiling=False, seed=ctx.seed)
        rows.append({"model": n, "rho": r.rho, "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value})
    own = pd.DataFrame(rows)
    with collect_warnings(notes):
        last_tok = compare_all([ctx.file(n, POOLING_RECIPE) for n in ms.names], names=list(ms.names), n_boot=s.n_boot,
                               permutations=s.permutations, ceiling=False, seed=ctx.seed)
    pairs = last_tok.pairs[["a", "b", "rho", "ci_low", "ci_high", "p_value"]].copy()
    pairs.insert(2, "pair_kind", [role_of(ms, a, b) for a, b in zip(pairs["a"], pairs["b"])])
    doc.heading("Pooling: mean over the stimulus tokens vs the last stimulus token")
    caption = (f"n = 21 emotions ({s.prompts} prompts per emotion, the same texts in both files); "
               f"{ci_phrase(last_tok.ci_method, last_tok.confidence, s.n_boot)}; Mantel p from {s.permutations} permutations; last layer; seed {ctx.seed}.")
    doc.table("pooling_self", "Each model: mean-pooled RDM vs last-token RDM", caption, own,
              columns={"model": "model", "rho": "rho", "ci_low": "", "ci_high": "", "p_value": "Mantel p"},
              cis=[("ci_low", "ci_high", "CI")])
    doc.table("pooling_pairs", "Every pair with last-token pooling", caption, pairs,
              columns={"a": "model A", "b": "model B", "pair_kind": "pair", "rho": "rho", "ci_low": "", "ci_high": "",
                       "p_value": "Mantel p"}, cis=[("ci_low", "ci_high", "CI")])
    doc.key("pooling_self", own.to_dict(orient="records"))
    doc.key("pooling_pairs", pairs.to_dict(orient="records"))
    lines = ["Mean vs last-token pooling, each model's own RDMs: rho from "
             f"{own['rho'].min():.2f} ({own.loc[own['rho'].idxmin(), 'model']}) to {own['rho'].max():.2f}."]
    for r in pairs[pairs["pair_kind"] == "trained-trained"].itertuples():
        lines.append(f"{r.a} vs {r.b} with last-token pooling: rho {ci_text(r.rho, r.ci_low, r.ci_high)} "
                     f"(Mantel p {fmt_p(r.p_value)}).")
    return lines


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    paths = {n: ctx.file(n, COMPREHENSION) for n in ms.names}
    labels = {n: _labels(p) for n, p in paths.items()}
    depths = np.linspace(0.0, 1.0, s.geometry_layers)
    notes: list[str] = []
    curve_rows = []
    for depth in depths:
        inputs, used = [], {}
        for n in ms.names:
            top = labels[n][-1]
            chosen = min(labels[n], key=lambda lab: abs(lab / top - depth))
            used[n] = chosen
            inputs.append(load_model(paths[n], RDMOptions(layer=chosen), name=n))
        with collect_warnings(notes):
            res = compare_all(inputs, names=list(ms.names), n_boot=s.layer_n_boot, permutations=CURVE_PERMUTATIONS,
                              ceiling=False, seed=ctx.seed)
        for r in res.pairs.itertuples():
            curve_rows.append({"a": r.a, "b": r.b, "pair_kind": role_of(ms, r.a, r.b), "depth": float(depth),
                               "layer_a": used[r.a], "layer_b": used[r.b], "rho": r.rho, "ci_low": r.ci_low,
                               "ci_high": r.ci_high, "p_value": r.p_value})
        curve_ci, curve_conf = res.ci_method, res.confidence
    curve = pd.DataFrame(curve_rows)

    # last layer vs mean of the last k layers, every pair
    k = min(s.last_k, min(len(v) for v in labels.values()))
    with collect_warnings(notes):
        last = compare_all([paths[n] for n in ms.names], names=list(ms.names), n_boot=s.n_boot,
                           permutations=s.permutations, ceiling=False, seed=ctx.seed)
        mean_k = compare_all([paths[n] for n in ms.names], names=list(ms.names), n_boot=s.n_boot,
                             permutations=s.permutations, ceiling=False, last_k=k, seed=ctx.seed)
    both = last.pairs[["a", "b", "rho", "ci_low", "ci_high", "p_value"]].merge(
        mean_k.pairs[["a", "b", "rho", "ci_low", "ci_high", "p_value"]], on=["a", "b"], suffixes=("_last", "_lastk"))
    both.insert(2, "pair_kind", [role_of(ms, a, b) for a, b in zip(both["a"], both["b"])])
    both["difference"] = both["rho_lastk"] - both["rho_last"]
    lastk_frame = mean_k.pairs[["a", "b", "rho", "ci_low", "ci_high"]].assign(last_k=k)

    # per model: its last-layer RDM against its own last-k RDM (same prompts: a paired bootstrap)
    self_rows = []
    for n in ms.names:
        a = load_model(paths[n], RDMOptions(), name=f"{n} last")
        b = load_model(paths[n], RDMOptions(last_k=k), name=f"{n} last-{k}")
        with collect_warnings(notes):
            r = compare_models(a, b, n_boot=s.n_boot, permutations=s.permutations, ceiling=False, seed=ctx.seed)
        self_rows.append({"model": n, "last_layer": labels[n][-1], "layers_averaged": f"{labels[n][-k]}-{labels[n][-1]}",
                          "rho": r.rho, "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value})
    self_frame = pd.DataFrame(self_rows)

    doc.text(f"{sizes_text(ms)} Layers are matched by relative depth (layer / number of blocks; 0 = embedding output, "
             f"1 = last layer after the final norm): at each of {len(depths)} depths every model uses its nearest layer.")
    doc.heading("rho across depth")
    for kind in ("trained-trained", "trained-random", "random-random"):
        shown = curve[curve["pair_kind"] == kind]
        if len(shown):
            break
    doc.figure(layer_curve_figure(shown.rename(columns={}), lastk_frame[lastk_frame.set_index(["a", "b"]).index.isin(
        shown.set_index(["a", "b"]).index)], curve_conf, last.rank),
        "layer_curve", "rho against relative depth",
        f"{kind.replace('-', ' x ')} pairs (the others are in the tables); n = 21 emotions ({s.prompts} prompts per emotion); bands: "
        f"{ci_phrase(curve_ci, curve_conf, s.layer_n_boot)}; squares at the right: the "
        f"mean of the last {k} layers with its CI ({s.n_boot} resamples); seed {ctx.seed}.")
    rr = curve[curve["pair_kind"] == "random-random"]
    if len(rr):
        band = rr.groupby("depth")["rho"].agg(["min", "median", "max"]).reset_index()
        doc.table("random_band", "Random-random pairs across depth",
                  f"Distribution over the {rr[['a', 'b']].drop_duplicates().shape[0]} pairs of randomly initialised models "
                  f"(their CIs are in tables/curve.csv).", band,
                  columns={"depth": "relative depth", "min": "min rho", "median": "median rho", "max": "max rho"})
    doc.table("curve", "rho at each relative depth, every pair",
              f"n = 21 emotions; {ci_phrase(curve_ci, curve_conf, s.layer_n_boot)}; "
              f"Mantel p from {CURVE_PERMUTATIONS} permutations (unadjusted); seed {ctx.seed}.",
              curve[curve["pair_kind"] != "random-random"] if len(rr) and len(rr) < len(curve) else curve,
              columns={"a": "model A", "b": "model B", "depth": "depth", "layer_a": "layer A", "layer_b": "layer B",
                       "rho": "rho", "ci_low": "", "ci_high": "", "p_value": "Mantel p"},
              cis=[("ci_low", "ci_high", "CI")], kinds={"layer_a": "int", "layer_b": "int"})
    doc.heading(f"Last layer vs the mean of the last {k} layers")
    doc.table("last_vs_lastk", f"Every pair: last layer and mean of the last {k} layers",
              f"n = 21 emotions ({s.prompts} prompts per emotion); "
              f"{ci_phrase(last.ci_method, last.confidence, s.n_boot)}; Mantel p from {s.permutations} permutations (unadjusted); seed {ctx.seed}.", both,
              columns={"a": "model A", "b": "model B", "pair_kind": "pair", "rho_last": "rho (last)", "ci_low_last": "",
                       "ci_high_last": "", "rho_lastk": f"rho (last {k})", "ci_low_lastk": "", "ci_high_lastk": "",
                       "difference": "difference", "p_value_last": "p (last)", "p_value_lastk": f"p (last {k})"},
              cis=[("ci_low_last", "ci_high_last", "CI (last)"), ("ci_low_lastk", "ci_high_lastk", f"CI (last {k})")])
    doc.table("self", f"Each model: last-layer RDM vs its own mean-of-last-{k} RDM",
              f"The same prompts in both files; {ci_phrase(last.ci_method, last.confidence, s.n_boot)}; Mantel p from {s.permutations} permutations; seed {ctx.seed}. rho = 1 would mean the choice "
              "does not matter.", self_frame,
              columns={"model": "model", "last_layer": "last layer", "layers_averaged": "layers averaged", "rho": "rho",
                       "ci_low": "", "ci_high": "", "p_value": "Mantel p"}, cis=[("ci_low", "ci_high", "CI")],
              kinds={"last_layer": "int"})
    pooling_lines = _pooling_section(ctx, doc, notes)
    doc.bullets(notes)

    doc.key("last_k", k)
    doc.key("self", self_frame.to_dict(orient="records"))
    doc.key("pairs_last_vs_lastk", both.to_dict(orient="records"))
    lowest = self_frame.loc[self_frame["rho"].idxmin()]
    doc.summary.append(f"Own last layer vs own mean of the last {k} layers: rho from {self_frame['rho'].min():.2f} "
                       f"({lowest['model']}, CI {ci_text(lowest['rho'], lowest['ci_low'], lowest['ci_high'])}) to "
                       f"{self_frame['rho'].max():.2f}.")
    tt = both[both["pair_kind"] == "trained-trained"]
    for r in tt.itertuples():
        doc.summary.append(f"{r.a} vs {r.b}: rho {ci_text(r.rho_last, r.ci_low_last, r.ci_high_last)} at the last layer, "
                           f"{ci_text(r.rho_lastk, r.ci_low_lastk, r.ci_high_lastk)} with the last {k} layers averaged.")
    tcurve = curve[curve["pair_kind"] == "trained-trained"]
    if len(tcurve):
        top = tcurve.loc[tcurve["rho"].idxmax()]
        doc.key("trained_curve_max", {"a": top["a"], "b": top["b"], "depth": top["depth"], "rho": top["rho"],
                                      "ci_low": top["ci_low"], "ci_high": top["ci_high"]})
        doc.summary.append(f"Across depth, the trained pair's rho peaks at relative depth {top['depth']:.2f} "
                           f"({ci_text(top['rho'], top['ci_low'], top['ci_high'])}) and ranges "
                           f"{tcurve['rho'].min():.2f} to {tcurve['rho'].max():.2f}.")
    tr = curve[curve["pair_kind"] == "trained-random"]
    if len(tr):
        top = tr.loc[tr["rho"].idxmax()]
        doc.key("trained_random_curve_max", {"a": top["a"], "b": top["b"], "depth": top["depth"], "rho": top["rho"],
                                             "ci_low": top["ci_low"], "ci_high": top["ci_high"],
                                             "p_value": top["p_value"]})
        doc.summary.append(f"Trained vs random pairs across depth: the highest rho is {top['a']} vs {top['b']} at relative "
                           f"depth {top['depth']:.2f} ({ci_text(top['rho'], top['ci_low'], top['ci_high'])}, unadjusted "
                           f"Mantel p {fmt_p(top['p_value'])}).")
    if len(rr):
        doc.key("random_curve_abs_max", float(rr["rho"].abs().max()))
        doc.summary.append(f"Random-random pairs across all depths: rho between {rr['rho'].min():.2f} and "
                           f"{rr['rho'].max():.2f}.")
    doc.summary.extend(pooling_lines)
    doc.limits.extend(offline_limits(ms))
    doc.limits.append("Relative depth matches layers only roughly between architectures of different depth (30 blocks, "
                      "6 blocks, 4 blocks here); the curve is descriptive, and its per-depth p-values are unadjusted.")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
