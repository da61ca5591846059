"""Report tables: each is a DataFrame of numbers (``frame``, written to CSV and JSON at full
precision) and the same rows formatted for people (``display``, written to Markdown, HTML and
LaTeX), with a caption that states n, the interval method, the resamples and the seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..formatting import fmt_ci, fmt_number, fmt_p, is_missing

__all__ = ["ReportTable", "inference_caption", "latex_escape", "build_tables",
           "audit_tables", "maturity_table", "SCHEME_TEXT"]

SHARED_NOISE_NOTE = ("The ceiling assumes the two models' prompt noise is independent: files that read the same "
                     "texts (e.g. one model at two precisions) share it, and their rho can exceed the ceiling.")
SCHEME_TEXT = {"emotions": "emotions", "prompts": "prompts within each emotion",
               "both": "emotions and prompts within each emotion"}


@dataclass(frozen=True)
class ReportTable:
    """One table of the report: ``frame`` holds the numbers, ``display`` the same rows as text."""

    name: str
    title: str
    caption: str
    frame: pd.DataFrame
    display: pd.DataFrame

    def to_markdown(self) -> str:
        shown = self.display.map(lambda s: str(s).replace("|", "\\|"))
        return shown.to_markdown(index=False, disable_numparse=True)

    def to_html(self) -> str:
        import html

        numeric = [_numeric_column(self.display[c]) for c in self.display.columns]
        head = "".join(f'<th class="{"num" if n else "txt"}">{html.escape(str(c))}</th>'
                       for c, n in zip(self.display.columns, numeric))
        def cell_class(value: Any, is_numeric: bool) -> str:
            if is_numeric:
                return "num"
            return "txt long" if len(str(value)) > 40 else "txt"  # only long notes wrap

        rows = "".join("<tr>" + "".join(f'<td class="{cell_class(v, n)}">{html.escape(str(v))}</td>'
                                        for v, n in zip(row, numeric)) + "</tr>"
                       for row in self.display.itertuples(index=False))
        return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'

    def to_latex(self) -> str:
        """A LaTeX ``table`` environment (booktabs rules; needs jinja2, a declared dependency)."""
        align = "".join("l" if not _numeric_column(self.display[c]) else "r" for c in self.display.columns)
        body = self.display.to_latex(index=False, escape=True, column_format=align)
        label = "tab:" + self.name.replace("_", "-")
        return ("\\begin{table}[htbp]\n\\centering\n\\small\n"
                f"\\caption{{{latex_escape(self.title)}. {latex_escape(self.caption)}}}\n\\label{{{label}}}\n"
                f"{body}\\end{{table}}\n")

    def to_records(self) -> list[dict[str, Any]]:
        return self.frame.to_dict(orient="records")


def _numeric_column(values: pd.Series) -> bool:
    def numeric(s: str) -> bool:
        s = str(s).strip()
        if s in ("n/a", ""):
            return True
        try:
            float(s.replace("<", "").replace("−", "-"))
            return True
        except ValueError:
            return False
    return all(numeric(v) for v in values)


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in str(text))


def layer_text(an) -> str:
    """The layer selection of the main comparison in a few words ("layer 30", or grouped by layer)."""
    used = [m.layer_used for m in an.models]
    if len(set(used)) == 1:
        return used[0]
    groups: dict[str, list[str]] = {}
    for m in an.models:
        groups.setdefault(m.layer_used, []).append(m.name)
    lead = "the last layer of each file" if an.config.layer is None and an.config.last_k is None else "per file"
    return f"{lead} (" + "; ".join(f"{k}: {len(v)} file{'s' if len(v) > 1 else ''}" for k, v in groups.items()) + ")"


def _prompts_text(models) -> str:
    counts = [(m.prompts_min, m.prompts_max) for m in models if m.prompts_min is not None]
    if not counts:
        return ""
    low = min(c[0] for c in counts)
    high = max(c[1] for c in counts)
    return f"{low} prompts per emotion" if low == high else f"{low}-{high} prompts per emotion"


def inference_caption(*, n_emotions: int, ci: str, confidence: float, scheme: str, n_boot: int, seed: int,
                      prompts: str = "", permutations: int | None = None, exact: bool = False, extra: str = "") -> str:
    """The sentence every table and figure of inference carries: n, interval, resamples, seed."""
    n = f"n = {n_emotions} emotions" + (f" ({prompts})" if prompts else "")
    parts = [n, f"{100 * confidence:g}% {ci} bootstrap CI over {SCHEME_TEXT.get(scheme, scheme)}, {n_boot} resamples"]
    if permutations is not None:
        parts.append(f"Mantel p from {'all ' if exact else ''}{permutations} label permutations")
    if extra:
        parts.append(extra)
    parts.append(f"seed {seed}")
    return "; ".join(parts) + "."


def _display(frame: pd.DataFrame, formats: dict[str, Any], rename: dict[str, str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for col, target in rename.items():
        fmt = formats.get(col, str)
        if isinstance(col, tuple):
            out[target] = [fmt(*vals) for vals in zip(*(frame[c] for c in col))]
        else:
            out[target] = [fmt(v) if not is_missing(v) or fmt in (fmt_number, fmt_p) else "n/a" for v in frame[col]]
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- the tables
def _main_caption(an) -> str:
    c, res = an.config, an.comparison
    return inference_caption(n_emotions=res.n_emotions, prompts=_prompts_text(an.models), ci=res.ci_method,
                             confidence=res.confidence, scheme=res.bootstrap, n_boot=res.n_boot, seed=c.seed,
                             permutations=res.n_permutations, exact=res.exact,
                             extra=f"{res.rdm} RDMs compared by {res.rank}; {layer_text(an)}; {res.normalization} vectors")


def inputs_table(an) -> ReportTable:
    frame = pd.DataFrame([m.to_dict() for m in an.models])
    frame = frame[["name", "kind", "model", "method", "precision", "experiment", "n_emotions", "prompts_min",
                   "prompts_max", "n_layers", "layer_used"]]

    def prompts(lo, hi):
        return "n/a" if is_missing(lo) else (str(int(lo)) if lo == hi else f"{int(lo)}-{int(hi)}")

    display = _display(frame, {("prompts_min", "prompts_max"): prompts, "n_emotions": fmt_number, "n_layers": fmt_number},
                       {"name": "name", "kind": "kind", "model": "model", "method": "method", "precision": "precision",
                        "experiment": "experiment", "n_emotions": "emotions", ("prompts_min", "prompts_max"): "prompts",
                        "n_layers": "layers", "layer_used": "analysed"})
    display = display.replace("", "n/a")
    caption = (f"{len(frame)} files, n = {an.comparison.n_emotions} emotions in common (every file holds the same set); "
               f"'analysed' is the layer selection of the main comparison; no resampling in this table; seed {an.config.seed}.")
    return ReportTable("inputs", "Inputs", caption, frame, display)


def pairs_table(an) -> ReportTable:
    frame = an.pairs.copy()
    cols = ["a", "b", "rho", "ci_low", "ci_high", "p_value", "p_holm", "p_bh"]
    has_ceiling = "noise_ceiling" in frame.columns
    if has_ceiling:
        cols += ["noise_ceiling", "rho_disattenuated"]
    frame = frame[cols + ["standard_error", "bias", "n_undefined"]]
    rename = {"a": "A", "b": "B", "rho": "rho", ("ci_low", "ci_high"): "CI", "p_value": "Mantel p",
              "p_holm": "p (Holm)", "p_bh": "p (BH)"}
    if has_ceiling:
        rename.update({"noise_ceiling": "noise ceiling", "rho_disattenuated": "disattenuated rho"})
    display = _display(frame, {"rho": fmt_number, ("ci_low", "ci_high"): fmt_ci, "p_value": fmt_p, "p_holm": fmt_p,
                               "p_bh": fmt_p, "noise_ceiling": fmt_number, "rho_disattenuated": fmt_number}, rename)
    caption = _main_caption(an) + (" p adjusted across all pairs by Holm (family-wise) and Benjamini-Hochberg (FDR)."
                                   + (" Noise ceiling = sqrt(r_A r_B) of the split-half reliabilities; disattenuated "
                                      "rho = rho / ceiling. " + SHARED_NOISE_NOTE if has_ceiling else ""))
    return ReportTable("pairs", "Pairwise comparisons", caption, frame, display)


def rho_matrix_table(an) -> ReportTable:
    names = list(an.names)
    frame = an.comparison.rho_matrix().loc[names, names]
    ci = {(r.a, r.b): (r.ci_low, r.ci_high) for r in an.pairs.itertuples()}
    cells = []
    for a in names:
        row = {"model": a}
        for b in names:
            if a == b:
                row[b] = "1"
            else:
                lo, hi = ci.get((a, b), ci.get((b, a), (None, None)))
                row[b] = f"{frame.loc[a, b]:.2f} {fmt_ci(lo, hi, 2)}"
        cells.append(row)
    display = pd.DataFrame(cells)
    out = frame.copy()
    out.index.name = "model"
    return ReportTable("rho_matrix", "rho between every pair of models", _main_caption(an),
                       out.reset_index(), display)


def ceilings_table(an) -> ReportTable | None:
    if an.ceilings is None:
        return None
    frame = an.ceilings.copy()
    nc = an.comparison.noise_ceiling
    display = _display(frame, {k: fmt_number for k in ("split_half", "reliability", "loo_lower", "loo_upper")},
                       {"name": "model", "split_half": "split-half r", "reliability": "reliability (Spearman-Brown)",
                        "loo_lower": "LOO lower bound", "loo_upper": "LOO upper bound"})
    group = ""
    if nc.get("lower") is not None:
        group = f" Group noise ceiling (leave-one-out, mean over models): lower {fmt_number(nc['lower'])}, upper {fmt_number(nc['upper'])}."
    caption = (f"n = {an.comparison.n_emotions} emotions ({_prompts_text(an.models) or 'no prompts'}); split-half "
               f"reliability of each model's RDM over {nc.get('n_splits')} random halves of the prompts, stepped up by "
               f"Spearman-Brown; leave-one-out bounds correlate each model with the mean of the others (upper: "
               f"all models); no bootstrap; seed {an.config.seed}.{group}")
    return ReportTable("ceilings", "Noise ceilings", caption, frame, display)


def _layer_caption(an) -> str:
    s = an.layer_settings
    return inference_caption(n_emotions=an.comparison.n_emotions, prompts=_prompts_text(an.models), ci=an.config.ci,
                             confidence=an.config.confidence, scheme=s["bootstrap"], n_boot=s["n_boot"],
                             seed=an.config.seed,
                             extra=(f"rho at {s['points']} relative depths (0 = embedding output, 1 = last layer; "
                                    f"each file's nearest layer), {an.rdm_method} RDMs, {an.comparison.rank}"))


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
    display = _display(frame, {"depth": lambda d: "n/a" if is_missing(d) else f"{d:.2f}", "rho": fmt_number,
                               ("ci_low", "ci_high"): fmt_ci},
                       {"a": "A", "b": "B", "depth": "depth", "layer_a": "layer of A", "layer_b": "layer of B",
                        "rho": "rho", ("ci_low", "ci_high"): "CI"})
    caption = _layer_caption(an)
    if an.layer_last_k is not None:
        caption += f" Rows 'mean of last {an.layer_settings['last_k']}' average the final layers' vectors before the RDM."
    return ReportTable("layers", "Layer sensitivity", caption, frame, display)


def _geometry_caption(an) -> str:
    s = an.geometry_settings
    texts = an.geometry.groupby("descriptor")["n_texts"].max().to_dict() if an.geometry is not None else {}
    return (f"Baseline anisotropy: mean cosine between distinct emotion-free baseline texts "
            f"(n = {texts.get('baseline_anisotropy', 'n/a')} texts per model, resampled); emotion-vector mean cosine: "
            f"mean cosine between the {an.comparison.n_emotions} emotion vectors (1 - mean cell of the raw cosine RDM; "
            f"prompts resampled within emotions). {100 * s['confidence']:g}% {s['ci_method']} bootstrap CIs, "
            f"{s['n_boot']} resamples; seed {s['seed']}.")


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
    display = _display(frame, {"layer": lambda x: str(int(x)), "depth": lambda d: f"{d:.2f}", "anisotropy": fmt_number,
                               ("anisotropy_ci_low", "anisotropy_ci_high"): fmt_ci, "emotion_cosine": fmt_number,
                               ("emotion_cosine_ci_low", "emotion_cosine_ci_high"): fmt_ci},
                       {"model": "model", "layer": "layer", "depth": "depth", "anisotropy": "baseline anisotropy",
                        ("anisotropy_ci_low", "anisotropy_ci_high"): "CI", "emotion_cosine": "emotion-vector mean cosine",
                        ("emotion_cosine_ci_low", "emotion_cosine_ci_high"): "CI "})
    return ReportTable("anisotropy", "Anisotropy per layer", _geometry_caption(an), frame, display)


def _decomposition_caption(an) -> str:
    d = an.decomposition.diagnostics
    return (f"n = {d.n_emotions} emotions ({d.n_cells} RDM cells) x {d.n_files} files; mixed model of the within-file "
            f"{'ranks' if d.response == 'rank' else 'z-scores'} of the {d.rdm or 'cosine'} RDM cells ({d.engine} {d.method}); {100 * d.confidence:g}% {d.ci_method} bootstrap "
            f"CIs over emotions, {d.n_boot} resamples ({d.n_boot_nonconverged} not converged, {d.n_boot_failed} failed); "
            f"likelihood-ratio p adjusted for cells that share an emotion; seed {d.seed}.")


def decomposition_tables(an) -> list[ReportTable]:
    if an.decomposition is None:
        return []
    res = an.decomposition
    caption = _decomposition_caption(an)
    comp = res.to_frame()
    comp_display = _display(comp, {"share": fmt_number, ("share_ci_low", "share_ci_high"): fmt_ci, "lrt_p_adjusted": fmt_p,
                                   "n_levels": fmt_number},
                            {"component": "component", "layer": "layer", "n_levels": "levels", "share": "share",
                             ("share_ci_low", "share_ci_high"): "CI", "lrt_p_adjusted": "LRT p (adjusted)",
                             "note": "note"})
    layers = res.layers_frame()
    layers["components"] = [", ".join(c) for c in layers["components"]]
    layer_display = _display(layers, {"share": fmt_number, ("share_ci_low", "share_ci_high"): fmt_ci},
                             {"layer": "layer", "components": "components", "share": "share",
                              ("share_ci_low", "share_ci_high"): "CI", "note": "note"})
    tables = [ReportTable("decomposition_layers", "Variance by layer of method choices", caption, layers, layer_display),
              ReportTable("decomposition", "Variance components", caption, comp, comp_display)]
    contrasts = res.contrasts_frame()
    if not contrasts.empty:
        contrasts["models"] = [", ".join(m) for m in contrasts["models"]]
        c_display = _display(contrasts, {"n_pairs": fmt_number, "mean_rho": fmt_number, ("ci_low", "ci_high"): fmt_ci,
                                         "implied_rho": fmt_number},
                             {"layer": "layer", "factor": "factor", "levels": "levels", "n_pairs": "pairs",
                              "mean_rho": "mean rho", ("ci_low", "ci_high"): "CI", "implied_rho": "rho implied by fit"})
        tables.append(ReportTable("decomposition_contrasts", "rho between files that differ in one factor",
                                  caption, contrasts, c_display))
    return tables


# --------------------------------------------------------------------------- maturity
_MATURITY_INPUTS = {"baseline_anisotropy": "baseline anisotropy", "rdm_reliability": "RDM split-half reliability"}


def maturity_caption(an) -> str:
    """The rule's full text, then n, the interval methods, the resamples and the seed."""
    first = an.maturity[0]
    rule = first.rule
    classified = {str(r.source) for r in an.maturity}
    prompts = _prompts_text([m for m in an.models if str(m.path) in classified])
    return (f"The rule, fixed before any base x instruct result (docs/maturity.md; fingerprint {rule.fingerprint()}): "
            f"{rule.statement()} n = {an.comparison.n_emotions} emotions, {prompts}. Intervals: anisotropy, "
            f"{100 * rule.confidence:g}% {rule.ci_method} bootstrap over the baseline texts, {first.n_boot} resamples; "
            f"reliability, {rule.reliability_interval}, {rule.n_splits} random half splits; seed {first.seed}.")


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
    display = _display(shown, {"layer": lambda x: str(int(x)), "estimate": fmt_number, ("ci_low", "ci_high"): fmt_ci},
                       {"model": "model", "layer": "layer", "input": "input", "estimate": "estimate",
                        ("ci_low", "ci_high"): "CI", "threshold": "mature if", "side": "CI says", "maturity": "class"})
    return ReportTable("maturity", "A-priori maturity rule (base models)", maturity_caption(an), frame, display)


# --------------------------------------------------------------------------- audit
def _scalar(x: Any) -> bool:
    return x is None or isinstance(x, (str, int, float, bool, np.number))


def _audit_caption(data: dict[str, Any]) -> str:
    bits = []
    for key, label in (("n_emotions", "n = {} emotions"), ("n", "n = {}"), ("ci_method", "{} bootstrap CI"),
                       ("n_boot", "{} resamples"), ("n_permutations", "{} permutations"), ("seed", "seed {}")):
        if key in data and _scalar(data[key]):
            bits.append(label.format(data[key]))
    return ("As reported by rsastats audit: " + "; ".join(bits) + ".") if bits else "As reported by rsastats audit."


def audit_tables(data: dict[str, Any] | None) -> list[ReportTable]:
    """Tables of an ``rsastats audit --json`` result: its scalar fields, then each list of records."""
    if not data:
        return []
    caption = _audit_caption(data)
    tables = []
    scalars = {k: v for k, v in data.items() if _scalar(v)}
    if scalars:
        frame = pd.DataFrame({"field": list(scalars), "value": list(scalars.values())})
        display = pd.DataFrame({"field": frame["field"],
                                "value": [fmt_number(v) if isinstance(v, (float, np.floating)) else ("n/a" if v is None else str(v))
                                          for v in frame["value"]]})
        tables.append(ReportTable("audit", "Audit", caption, frame, display))
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            frame = pd.DataFrame(value)
            frame = frame[[c for c in frame.columns if frame[c].map(_scalar).all()]]
            if frame.empty:
                continue
            display = frame.map(lambda v: fmt_number(v) if isinstance(v, (float, np.floating)) else ("n/a" if v is None else str(v)))
            tables.append(ReportTable(f"audit_{key}", f"Audit: {key.replace('_', ' ')}", caption, frame, display))
    return tables


def build_tables(an) -> dict[str, list[ReportTable]]:
    """Every table of the report, by section."""
    sections: dict[str, list[ReportTable]] = {"inputs": [inputs_table(an)],
                                              "comparison": [rho_matrix_table(an), pairs_table(an)]}
    ceil = ceilings_table(an)
    if ceil is not None:
        sections["comparison"].append(ceil)
    if (t := layers_table(an)) is not None:
        sections["layers"] = [t]
    if (t := anisotropy_table(an)) is not None:
        sections["geometry"] = [t]
    if tables := decomposition_tables(an):
        sections["decomposition"] = tables
    if (t := maturity_table(an)) is not None:
        sections["maturity"] = [t]
    if tables := audit_tables(an.audit):
        sections["audit"] = tables
    return sections


def all_tables(sections: dict[str, Sequence[ReportTable]]) -> list[ReportTable]:
    return [t for tables in sections.values() for t in tables]
