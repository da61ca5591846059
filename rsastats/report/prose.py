"""The report's words around its numbers: the key numbers (``report.json``), the summary bullets at
the top, and the methods section."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..formatting import fmt_ci, fmt_estimate, fmt_number, fmt_with_ci
from .analysis import ReportAnalyses
from ..inference.corrected import MIN_CORRECTED_EMOTIONS, MIN_SPLIT_HALF
from .captions import CORRECTED_TEXT, SCHEME_TEXT, layer_text

__all__ = ["key_numbers", "summary_items", "methods_items"]


def key_numbers(an: ReportAnalyses) -> dict[str, Any]:
    res = an.comparison
    out: dict[str, Any] = {
        "n_models": len(an.models), "n_emotions": res.n_emotions, "reference": an.reference, "seed": an.config.seed,
        "ci_method": res.ci_method, "confidence": res.confidence, "bootstrap": res.bootstrap, "n_boot": res.n_boot,
        "n_permutations": res.n_permutations, "rank": res.rank, "rdm": res.rdm, "layer": res.layer,
        "emotion_order": list(an.order),
        "pairs": an.pairs[[c for c in ("a", "b", "rho", "ci_low", "ci_high", "ci_caution", "p_value", "p_holm", "p_bh",
                                       "rho_corrected",
                                       "corrected_ci_low", "corrected_ci_high", "corrected_note", "noise_ceiling",
                                       "ceiling_note") if c in an.pairs.columns]].to_dict(orient="records"),
        "group_noise_ceiling": None,
    }
    nc = res.noise_ceiling or {}
    if nc.get("lower") is not None:
        out["group_noise_ceiling"] = {"lower": nc["lower"], "upper": nc["upper"]}
    if an.geometry is not None:
        last = (an.geometry.sort_values("depth").groupby(["model", "descriptor"]).tail(1))
        out["anisotropy_last_layer"] = [
            {"model": r.model, "layer": int(r.layer), "descriptor": r.descriptor, "estimate": r.estimate,
             "ci_low": r.ci_low, "ci_high": r.ci_high} for r in last.itertuples()]
    if an.maturity:
        names = {str(m.path): m.name for m in an.models}
        out["maturity"] = [{"model": names.get(str(r.source), r.source), "maturity": r.maturity, "reason": r.reason,
                            "rule_fingerprint": r.rule.fingerprint()} for r in an.maturity]
    out.update(_hypothesis_numbers(an))
    if an.decomposition is not None:
        out["variance_layers"] = an.decomposition.layers_frame()[["layer", "share", "share_ci_low", "share_ci_high"]] \
            .to_dict(orient="records")
    return out


def _hypothesis_numbers(an: ReportAnalyses) -> dict[str, Any]:
    """``hypotheses`` and ``partial`` of the key numbers, only when the report has them."""
    out: dict[str, Any] = {}
    h = an.hypotheses
    if h is not None:
        fit_cols = [c for c in ("data", "hypothesis", "rho", "ci_low", "ci_high", "ci_caution", "p_value", "p_adjusted",
                                "noise_ceiling",
                                "ceiling_note", "partial_rho", "partial_ci_low", "partial_ci_high", "partial_p_value")
                    if c in h.fits.columns]
        out["hypotheses"] = {
            "hypotheses": [x["name"] for x in h.hypotheses], "n_emotions": h.n_emotions, "left_out": list(h.left_out),
            "ci_method": h.ci_method, "bootstrap": h.bootstrap,
            "adjust": h.adjust, "difference_ci_method": h.difference_ci_method,
            "fits": h.fits[fit_cols].to_dict(orient="records"),
            "differences": h.differences[["data", "hypothesis_a", "hypothesis_b", "difference", "ci_low", "ci_high",
                                          "p_value"]].to_dict(orient="records")}
    if an.comparison.confounds:
        out["partial"] = {"confounds": list(an.comparison.confounds), "bootstrap": "emotions",
                          "pairs": an.pairs[["a", "b", "partial_rho", "partial_ci_low", "partial_ci_high", "partial_p_value",
                                             "partial_p_adjusted"]].to_dict(orient="records")}
    return out


def _with_ci(x: Any, low: Any, high: Any, pct: str, after: str = "") -> str:
    """``0.812 (95% CI [0.702, 0.893])``: the estimate with its interval's decimals (``after`` between them)."""
    return f"{fmt_estimate(x, low, high)}{after} ({pct} CI {fmt_ci(low, high)})"


def summary_items(an: ReportAnalyses) -> list[str]:
    res = an.comparison
    pairs = an.pairs.sort_values("rho", ascending=False)
    top, bottom = pairs.iloc[0], pairs.iloc[-1]
    primary = "p_holm" if res.adjust == "holm" else "p_bh"
    n_sig = int((pairs[primary] < 0.05).sum())
    pct = f"{100 * res.confidence:g}%"
    items = [
        f"{len(an.models)} models, {res.n_emotions} emotions, {len(pairs)} pairs; {res.rdm} RDMs compared by {res.rank} "
        f"at {layer_text(an)}.",
        f"Highest rho: {top.a} vs {top.b}, {_with_ci(top.rho, top.ci_low, top.ci_high, pct)}; "
        f"lowest: {bottom.a} vs {bottom.b}, {_with_ci(bottom.rho, bottom.ci_low, bottom.ci_high, pct)}.",
        f"{n_sig} of {len(pairs)} pairs have a {'Holm' if res.adjust == 'holm' else 'Benjamini-Hochberg'}-adjusted Mantel "
        f"p below 0.05.",
    ]
    nc = res.noise_ceiling or {}
    if nc.get("lower") is not None:
        items.append(f"Group noise ceiling (leave-one-out): {fmt_number(nc['lower'])} to {fmt_number(nc['upper'])}; "
                     "a rho near it is as high as the models' own prompt noise allows.")
    if an.geometry is not None:
        g = an.geometry[an.geometry["descriptor"] == "baseline_anisotropy"].dropna(subset=["estimate"])
        if not g.empty:
            last = g.sort_values("depth").groupby("model").tail(1)
            items.append("Baseline anisotropy at the last layer: " + "; ".join(
                f"{r.model} {fmt_with_ci(r.estimate, r.ci_low, r.ci_high)}" for r in last.itertuples()) + ".")
    if an.maturity:
        names = {str(m.path): m.name for m in an.models}
        items.append("A-priori maturity rule (base models only): " + "; ".join(
            f"{names.get(str(r.source), r.source)} {r.maturity}" for r in an.maturity) + ".")
    if an.hypotheses is not None:
        best = an.hypotheses.fits.sort_values("rho", ascending=False).iloc[0]
        items.append(f"Best-fitting hypothesis: {best.hypothesis} with {best.data}, rho "
                     f"{_with_ci(best.rho, best.ci_low, best.ci_high, pct)}; see the hypotheses section for every "
                     "file.")
    if an.decomposition is not None:
        layers = an.decomposition.layers_frame()
        method_layers = layers[layers["layer"].str[0].str.isdigit()].dropna(subset=["share"])
        if not method_layers.empty:
            best = method_layers.sort_values("share", ascending=False).iloc[0]
            items.append(f"Largest layer of method effects: {best.layer}, "
                         f"{_with_ci(best.share, best.share_ci_low, best.share_ci_high, pct, ' of the variance')}.")
    return items


def methods_items(an: ReportAnalyses) -> list[str]:
    res = an.comparison
    items = [
        f"RDMs: {res.rdm} dissimilarity between emotion vectors (the mean over each emotion's valid prompts), "
        f"{res.normalization} vectors, {layer_text(an)}.",
        f"rho: {res.rank} correlation of the RDMs' upper triangles (emotions matched by label). The p-value is a Mantel "
        f"test: emotion labels permuted (rows and columns together), p = (k + 1) / (B + 1), "
        f"{'exact enumeration' if res.permutation_exact else f'{res.n_permutations} random permutations'}; the p of a correlation "
        "over RDM cells would not be valid (cells that share an emotion are dependent) and is not shown.",
        _ci_item(res),
        CORRECTED_TEXT,
        "Multiple comparisons: Holm (family-wise error) and Benjamini-Hochberg (false discovery rate) across all pairs.",
        "Noise ceilings: split-half reliability of each model's RDM over random halves of its prompts, stepped up by "
        f"Spearman-Brown; the ceiling of a pair is sqrt(r_A r_B), shown under the rule of rho_corrected (>= "
        f"{MIN_CORRECTED_EMOTIONS} emotions, both split-half correlations >= {MIN_SPLIT_HALF}) and when it is not below "
        "|rho|.",
        "Emotion order and MDS: hierarchical clustering (average linkage, optimal leaf order) of the reference model's "
        "RDM; classical MDS (eigendecomposition of the double-centred squared distances).",
    ]
    if an.geometry is not None:
        items.append("Anisotropy: rsastats geometry (docs/geometry.md): baseline anisotropy is the mean cosine between "
                     "distinct emotion-free texts; the emotion-vector mean cosine is 1 - the mean raw cosine RDM cell.")
    if an.decomposition is not None:
        items.append(f"Variance decomposition: rsastats decompose (docs/decomposition.md): "
                     f"{an.decomposition.diagnostics.formula}.")
    if an.hypotheses is not None:
        items.append("Hypotheses: rsastats hypotheses (docs/hypotheses.md): each file's RDM against each hypothesis RDM "
                     "with the interval and Mantel test of rho above, p adjusted across file-hypothesis pairs; the "
                     "difference of two hypotheses' rho is paired (the same emotions left out, or resampled, for both); the "
                     "bound is sqrt(r_D).")
    if an.comparison.confounds:
        items.append("Confounds: the partial Mantel test (docs/hypotheses.md; vegan's mantel.partial): the partial "
                     "correlation of the RDM cells given the confound RDMs, its interval over emotions, its p from "
                     "permuting the first RDM's labels.")
    if an.maturity:
        items.append("Maturity: rsastats maturity (docs/maturity.md), the rule stated in its section, applied to each "
                     "base model's own file only (no base x instruct quantity enters it).")
    items.append(f"Software: rsastats {__version__}, numpy {np.__version__}, pandas {pd.__version__}. "
                 f"Every random procedure used seed {an.config.seed}; rerun with "
                 "`rsastats report --config analysis.yaml --out <folder>` (analysis.yaml is written beside this report).")
    return items


def _ci_item(res) -> str:
    if res.ci_method == "jackknife-t":
        return ("CIs of rho (as measured: the value a replication with the same number of prompts would find on "
                "average): Tukey's jackknife-t interval on the Fisher-z scale over emotions, its variance corrected for "
                "the second-order part the jackknife counts twice, chosen on the design atlas. See docs/statistics.md "
                "and docs/calibration.md.")
    if res.ci_method == "jackknife-z":
        return ("CIs of rho (as measured: the value a replication with the same number of prompts would find on "
                "average): Fisher-z normal interval with the leave-one-emotion-out jackknife standard error. See "
                "docs/statistics.md and docs/calibration.md.")
    return (f"CIs of rho (as measured): {res.ci_method} bootstrap over {SCHEME_TEXT.get(res.bootstrap, res.bootstrap)} "
            f"({res.n_boot} resamples, one joint bootstrap for all pairs; duplicated emotions' self-pairs dropped); "
            "intervals for a correlation are clipped to [-1, 1]. See docs/statistics.md and docs/calibration.md."
            + (" A scheme that resamples prompts is not calibrated for rho (docs/calibration.md, 'The other bootstrap "
               "schemes')." if res.bootstrap in ("prompts", "both") else ""))
