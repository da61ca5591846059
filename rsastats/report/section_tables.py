"""The tables of the report's further sections: rho across layers, anisotropy per layer, the
variance decomposition, the maturity rule, and a saved audit result (see
:mod:`rsastats.report.sections` for the numbers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..formatting import fmt_ci, fmt_number, fmt_with_ci, fmt_p, is_missing
from .captions import decomposition_caption, geometry_caption, layer_caption, maturity_caption
from .figures import unique_slugs
from .tables import ReportTable, display_frame

__all__ = ["layers_table", "anisotropy_table", "decomposition_tables", "maturity_table", "audit_tables"]


def layers_table(an) -> ReportTable | None:
    if an.layer_curve is None:
        return None
    curve = an.layer_curve.copy()
    curve["layers_a"] = [f"layer {x}" for x in curve["layer_a"]]
    curve["layers_b"] = [f"layer {x}" for x in curve["layer_b"]]
    parts = [curve[["a", "b", "depth", "layers_a", "layers_b", "rho", "ci_low", "ci_high"]]]
    if an.layer_last_k is not None:
        extra = an.layer_last_k.copy()
        extra["depth"] = np.nan
        extra["layers_a"] = extra["layers_b"] = [f"mean of last {k}" for k in extra["last_k"]]
        parts.append(extra[["a", "b", "depth", "layers_a", "layers_b", "rho", "ci_low", "ci_high"]])
    frame = pd.concat(parts, ignore_index=True)
    frame = frame.rename(columns={"layers_a": "layer_a", "layers_b": "layer_b"})
    display = display_frame(frame, {"depth": lambda d: "n/a" if is_missing(d) else f"{d:.2f}", "rho": fmt_number,
                               ("ci_low", "ci_high"): fmt_ci},
                       {"a": "A", "b": "B", "depth": "depth", "layer_a": "layer of A", "layer_b": "layer of B",
                        "rho": "rho", ("ci_low", "ci_high"): "CI"})
    caption = layer_caption(an)
    if an.layer_last_k is not None:
        caption += f" Rows 'mean of last {an.layer_settings['last_k']}' average the final layers' vectors before the RDM."
    return ReportTable("layers", "Layer sensitivity", caption, frame, display)


def anisotropy_table(an) -> ReportTable | None:
    if an.geometry is None or an.geometry.empty:
        return None
    g = an.geometry
    wide = None
    for name, short in (("baseline_anisotropy", "anisotropy"), ("emotion_mean_cosine", "emotion_cosine")):
        part = g[g["descriptor"] == name][["model", "layer", "depth", "estimate", "ci_low", "ci_high"]]
        part = part.rename(columns={"estimate": short, "ci_low": f"{short}_ci_low", "ci_high": f"{short}_ci_high"})
        wide = part if wide is None else wide.merge(part, on=["model", "layer", "depth"], how="outer")
    rank = {m.name: i for i, m in enumerate(an.models)}
    frame = wide.sort_values(["model", "layer"], key=lambda col: col.map(rank) if col.name == "model" else col,
                             kind="stable").reset_index(drop=True)
    display = display_frame(frame, {"layer": lambda x: str(int(x)), "depth": lambda d: f"{d:.2f}", "anisotropy": fmt_number,
                               ("anisotropy_ci_low", "anisotropy_ci_high"): fmt_ci, "emotion_cosine": fmt_number,
                               ("emotion_cosine_ci_low", "emotion_cosine_ci_high"): fmt_ci},
                       {"model": "model", "layer": "layer", "depth": "depth", "anisotropy": "baseline anisotropy",
                        ("anisotropy_ci_low", "anisotropy_ci_high"): "CI", "emotion_cosine": "emotion-vector mean cosine",
                        ("emotion_cosine_ci_low", "emotion_cosine_ci_high"): "CI "})
    return ReportTable("anisotropy", "Anisotropy per layer", geometry_caption(an), frame, display)


def decomposition_tables(an) -> list[ReportTable]:
    if an.decomposition is None:
        return []
    res = an.decomposition
    caption = decomposition_caption(an)
    comp = res.to_frame()
    comp_display = display_frame(comp, {"share": fmt_number, ("share_ci_low", "share_ci_high"): fmt_ci, "lrt_p_adjusted": fmt_p,
                                   "n_levels": fmt_number},
                            {"component": "component", "layer": "layer", "n_levels": "levels", "share": "share",
                             ("share_ci_low", "share_ci_high"): "CI", "lrt_p_adjusted": "LRT p (adjusted)",
                             "note": "note"})
    layers = res.layers_frame()
    layers["components"] = [", ".join(c) for c in layers["components"]]
    layer_display = display_frame(layers, {"share": fmt_number, ("share_ci_low", "share_ci_high"): fmt_ci},
                             {"layer": "layer", "components": "components", "share": "share",
                              ("share_ci_low", "share_ci_high"): "CI", "note": "note"})
    tables = [ReportTable("decomposition_layers", "Variance by layer of method choices", caption, layers, layer_display),
              ReportTable("decomposition", "Variance components", caption, comp, comp_display)]
    contrasts = res.contrasts_frame()
    if not contrasts.empty:
        contrasts["models"] = [", ".join(m) for m in contrasts["models"]]
        c_display = display_frame(contrasts, {"n_pairs": fmt_number, "mean_rho": fmt_number, ("ci_low", "ci_high"): fmt_ci,
                                         "implied_rho": fmt_number},
                             {"layer": "layer", "factor": "factor", "levels": "levels", "n_pairs": "pairs",
                              "mean_rho": "mean rho", ("ci_low", "ci_high"): "CI", "implied_rho": "rho implied by fit"})
        tables.append(ReportTable("decomposition_contrasts", "rho between files that differ in one factor",
                                  caption, contrasts, c_display))
    return tables


# --------------------------------------------------------------------------- maturity
_MATURITY_INPUTS = {"baseline_anisotropy": "baseline anisotropy", "rdm_reliability": "RDM split-half reliability"}


def maturity_table(an) -> ReportTable | None:
    """One row per base model and input of the rule: estimate, CI, threshold, side and class."""
    results = getattr(an, "maturity", ())
    if not results:
        return None
    names = {str(m.path): m.name for m in an.models}
    rows = []
    for r in results:
        for i in r.inputs:
            rows.append({"model": names.get(str(r.source), r.model or r.source), "source": r.source, "layer": r.layer,
                         "input": i.name, "estimate": i.estimate, "ci_low": i.ci_low, "ci_high": i.ci_high,
                         "threshold": i.threshold, "mature_when": i.mature_when, "side": i.side, "maturity": r.maturity,
                         "point_maturity": r.point_maturity, "n_boot": r.n_boot, "seed": r.seed,
                         "rule_fingerprint": r.rule.fingerprint()})
    frame = pd.DataFrame(rows)
    shown = frame.assign(input=[_MATURITY_INPUTS.get(x, x) for x in frame["input"]],
                         threshold=[f"{'<' if w == 'below' else '>'} {t:g}" for t, w in
                                    zip(frame["threshold"], frame["mature_when"])])
    display = display_frame(shown, {"layer": lambda x: str(int(x)), "estimate": fmt_number, ("ci_low", "ci_high"): fmt_ci},
                       {"model": "model", "layer": "layer", "input": "input", "estimate": "estimate",
                        ("ci_low", "ci_high"): "CI", "threshold": "mature if", "side": "CI says", "maturity": "class"})
    return ReportTable("maturity", "A-priori maturity rule (base models)", maturity_caption(an), frame, display)


# --------------------------------------------------------------------------- audit
def _scalar(x: Any) -> bool:
    return x is None or isinstance(x, (str, int, float, bool, np.number))


def _audit_caption(data: dict[str, Any]) -> str:
    bits = []
    for key, label in (("n_emotions", "n = {} emotions"), ("n", "n = {}"), ("ci_method", "{} CI"),
                       ("n_boot", "{} resamples"), ("n_permutations", "{} permutations"), ("seed", "seed {}")):
        if key in data and _scalar(data[key]):
            bits.append(label.format(data[key]))
    return ("As reported by rsastats audit: " + "; ".join(bits) + ".") if bits else "As reported by rsastats audit."


def audit_tables(data: dict[str, Any] | None) -> list[ReportTable]:
    """Tables of an ``rsastats audit --json`` result: the verdict and its numbers in words, then each
    list of records (method layers, attributes, reference runs) with readable headings."""
    if not data:
        return []
    caption = _audit_caption(data)
    tables = []
    rows = _audit_summary(data)
    if rows:
        frame = pd.DataFrame({"field": [r[0] for r in rows],
                              "value": [data[r[0]] if _scalar(data.get(r[0], [])) else r[2] for r in rows]})
        display = pd.DataFrame({"": [r[1] for r in rows], "value": [r[2] for r in rows]})
        tables.append(ReportTable("audit", "Audit", caption, frame, display))
    records = [k for k, v in data.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)]
    file_names = dict(zip(records, unique_slugs([str(k) for k in records])))  # keys are free text: no paths
    for key, value in data.items():
        if key in file_names:
            frame = pd.DataFrame(value)
            frame = frame[[c for c in frame.columns if frame[c].map(_scalar).all()]]
            if frame.empty:
                continue
            display = frame.map(_audit_value).rename(columns=lambda c: _AUDIT_HEADINGS.get(c, c.replace("_", " ")))
            tables.append(ReportTable(f"audit_{file_names[key]}", f"Audit: {str(key).replace('_', ' ')}", caption, frame,
                                      display))
    return tables


_AUDIT_HEADINGS = {"known_a": "recorded in A", "known_b": "recorded in B", "needed": "needed by the reference",
                   "a": "A", "b": "B", "file_a": "file A", "file_b": "file B", "ci_low": "CI low", "ci_high": "CI high",
                   "n_boot": "resamples", "complete": "recorded in both"}


def _audit_value(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return fmt_number(v)
    return "n/a" if v is None else ("none" if v == "" else str(v))


def _audit_summary(data: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(field, label, text) rows of the audit's verdict and numbers; fields the result lacks are left out."""
    def has(*keys: str) -> bool:
        return all(k in data and _scalar(data[k]) for k in keys)

    rows = []
    if has("verdict"):
        rows.append(("verdict", "verdict", str(data["verdict"])))
    if has("numbers_say") and data["numbers_say"] != data.get("verdict"):
        rows.append(("numbers_say", "what the numbers alone say", str(data["numbers_say"])))
    for side in ("a", "b"):
        if has(side):
            model = data.get(f"model_{side}")
            rows.append((side, side.upper(), str(data[side]) + (f" (model {model})" if model else "")))
    if has("rho", "ci_low", "ci_high"):
        level = f"{data['confidence']:.0%} " if has("confidence") else ""
        rows.append(("rho", "observed rho", f"{fmt_with_ci(data['rho'], data['ci_low'], data['ci_high'])} "
                     f"({level}CI, {data.get('ci_method', '')})"))
    if has("p_value"):
        rows.append(("p_value", "Mantel p", f"{fmt_p(data['p_value'])} ({data.get('n_permutations', '?')} permutations)"))
    if has("reference_rho", "reference_low", "reference_high"):
        runs = f", {data['reference_runs']} run(s)" if has("reference_runs") else ""
        rows.append(("reference_rho", "reference range", f"{fmt_number(data['reference_rho'])} "
                     f"{fmt_ci(data['reference_low'], data['reference_high'])} ({data.get('reference_model', '')}{runs})"))
    if has("gap"):
        rows.append(("gap", "observed minus reference rho", fmt_number(data["gap"])))
    for key, label in (("separating_layers", "method layers that separate A and B"),
                       ("unknown_layers", "method layers with unknown attributes"),
                       ("incomplete_layers", "method layers the reference cannot reproduce")):
        if has(key) and data[key]:
            rows.append((key, label, str(data[key])))
    if has("rdm", "rank", "layer", "normalization"):
        rows.append(("layer", "settings", f"{data['rdm']} RDM, {data['rank']}, {data['layer']}, {data['normalization']} "
                     f"vectors" + (f"; {data['n_emotions']} emotions" if has("n_emotions") else "")))
    for key, label in (("reasons", "why"), ("notes", "note")):
        for text in data.get(key) or []:
            rows.append((key, label, str(text)))
    return rows
