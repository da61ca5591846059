"""Report tables: each is a DataFrame of numbers (``frame``, written to CSV and JSON at full
precision) and the same rows formatted for people (``display``, written to Markdown, HTML and
LaTeX), with a caption that states n, the interval method, the resamples and the seed.

This module holds the table type and the tables of the main comparison (inputs, pairs, rho
matrix, noise ceilings); :mod:`rsastats.report.section_tables` those of the further sections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..formatting import fmt_ci, fmt_estimate, fmt_number, fmt_p, is_missing
from .captions import CORRECTED_TEXT, SHARED_NOISE_NOTE, main_caption, prompts_text

__all__ = ["ReportTable", "latex_escape", "display_frame", "inputs_table", "pairs_table", "rho_matrix_table",
           "ceilings_table"]


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


def display_frame(frame: pd.DataFrame, formats: dict[str, Any], rename: dict[str, str]) -> pd.DataFrame:
    """The rows of ``frame`` as text: each column of ``rename`` (a name, or a tuple of names shown
    together, like an interval's two ends) under its new name, formatted by ``formats`` (default
    ``str``; a missing value shows as n/a)."""
    out = pd.DataFrame(index=frame.index)
    for col, target in rename.items():
        fmt = formats.get(col, str)
        if isinstance(col, tuple):
            out[target] = [fmt(*vals) for vals in zip(*(frame[c] for c in col))]
        else:
            out[target] = [fmt(v) if not is_missing(v) or fmt in (fmt_number, fmt_p) else "n/a" for v in frame[col]]
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- the main comparison
def inputs_table(an) -> ReportTable:
    frame = pd.DataFrame([m.to_dict() for m in an.models])
    frame = frame[["name", "kind", "model", "method", "precision", "experiment", "n_emotions", "prompts_min",
                   "prompts_max", "n_layers", "layer_used"]]

    def prompts(lo, hi):
        return "n/a" if is_missing(lo) else (str(int(lo)) if lo == hi else f"{int(lo)}-{int(hi)}")

    def layers(n):
        return "as stored" if is_missing(n) else fmt_number(n)

    display = display_frame(frame, {("prompts_min", "prompts_max"): prompts, "n_emotions": fmt_number, "n_layers": layers},
                       {"name": "name", "kind": "kind", "model": "model", "method": "method", "precision": "precision",
                        "experiment": "experiment", "n_emotions": "emotions", ("prompts_min", "prompts_max"): "prompts",
                        "n_layers": "layers", "layer_used": "analysed"})
    display = display.replace("", "n/a")
    caption = (f"{len(frame)} files, n = {an.comparison.n_emotions} emotions in common (every file holds the same set); "
               f"'analysed' is the layer selection of the main comparison; no resampling in this table; seed {an.config.seed}.")
    return ReportTable("inputs", "Inputs", caption, frame, display)


def pairs_table(an) -> ReportTable:
    frame = an.pairs.copy()
    cols = ["a", "b", "rho", "ci_low", "ci_high", "ci_caution", "p_value", "p_holm", "p_bh"]
    has_corrected = "rho_corrected" in frame.columns
    if has_corrected:
        cols += ["rho_corrected", "corrected_ci_low", "corrected_ci_high", "noise_ceiling", "corrected_note", "ceiling_note"]
    frame = frame[cols + ["standard_error", "bias", "n_undefined"]]
    notes: list[str] = []
    interval = ("ci_low", "ci_high", "ci_caution")
    rename = {"a": "A", "b": "B", "rho": "rho", interval: "CI", "p_value": "Mantel p",
              "p_holm": "p (Holm)", "p_bh": "p (BH)"}
    if has_corrected:
        rename.update({"rho_corrected": "rho_corrected", ("corrected_ci_low", "corrected_ci_high"): "CI (noise-free)",
                       "noise_ceiling": "noise ceiling", ("corrected_note", "ceiling_note"): "note"})
    display = display_frame(frame, {"rho": fmt_number, interval: lambda lo, hi, caution: " ".join(
                                        t for t in (fmt_ci(lo, hi), _note_mark(notes, caution and f"caution: {caution}"))
                                        if t),
                                    "p_value": fmt_p, "p_holm": fmt_p,
                                    "p_bh": fmt_p, "rho_corrected": fmt_number,
                                    ("corrected_ci_low", "corrected_ci_high"): fmt_ci, "noise_ceiling": fmt_number,
                                    ("corrected_note", "ceiling_note"): lambda a, b: _note_mark(notes, a, b)}, rename)
    caption = main_caption(an) + (" p adjusted across all pairs by Holm (family-wise) and Benjamini-Hochberg (FDR).")
    if has_corrected:
        caption += (f" {CORRECTED_TEXT} Noise ceiling = sqrt(r_A r_B) of the split-half reliabilities (Spearman-Brown). "
                    + SHARED_NOISE_NOTE)
    caption += "".join(f" [{k}] {note}" for k, note in enumerate(notes, 1))
    return ReportTable("pairs", "Pairwise comparisons", caption, frame, display)


def _note_mark(notes: list[str], *texts: Any) -> str:
    """``[k]`` for each distinct note of a row (the notes are listed in the caption)."""
    marks = []
    for text in texts:
        if isinstance(text, str) and text and not text.startswith("clipped at 1"):
            if text not in notes:
                notes.append(text)
            mark = f"[{notes.index(text) + 1}]"
            if mark not in marks:
                marks.append(mark)
    return " ".join(marks)


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
                row[b] = f"{fmt_estimate(frame.loc[a, b], lo, hi, 2)} {fmt_ci(lo, hi, 2)}"
        cells.append(row)
    display = pd.DataFrame(cells)
    out = frame.copy()
    out.index.name = "model"
    return ReportTable("rho_matrix", "rho between every pair of models", main_caption(an),
                       out.reset_index(), display)


def ceilings_table(an) -> ReportTable | None:
    if an.ceilings is None:
        return None
    frame = an.ceilings.copy()
    nc = an.comparison.noise_ceiling
    columns = {"name": "model", "split_half": "split-half r", "reliability": "reliability (Spearman-Brown)",
               "loo_lower": "LOO lower bound", "loo_upper": "LOO upper bound"}
    if "note" in frame and frame["note"].fillna("").astype(bool).any():  # why a reliability is not given
        columns["note"] = "note"
    display = display_frame(frame, {k: fmt_number for k in ("split_half", "reliability", "loo_lower", "loo_upper")},
                            columns)
    group = ""
    if nc.get("lower") is not None:
        group = f" Group noise ceiling (leave-one-out, mean over models): lower {fmt_number(nc['lower'])}, upper {fmt_number(nc['upper'])}."
    caption = (f"n = {an.comparison.n_emotions} emotions ({prompts_text(an.models) or 'no prompts'}); split-half "
               f"reliability of each model's RDM over {nc.get('n_splits')} random halves of the prompts, stepped up by "
               f"Spearman-Brown; leave-one-out bounds correlate each model with the mean of the others (upper: "
               f"all models); no bootstrap; seed {an.config.seed}.{group}")
    return ReportTable("ceilings", "Noise ceilings", caption, frame, display)
