"""The report's tables of hypothesis RDMs and confounds: every file against every hypothesis (rho,
interval, Mantel p adjusted, noise-ceiling bound), the paired differences between hypotheses, and the
partial Mantel tests given the confounds (of every pair of files, and of every file and hypothesis).
The numbers are those of ``rsastats hypotheses`` and ``rsastats matrix --partial`` with the report's
settings (:func:`rsastats.report.sections.hypotheses`, :func:`rsastats.report.analysis.analyse`)."""

from __future__ import annotations

from ..formatting import fmt_ci, fmt_number, fmt_p, is_missing
from .captions import differences_caption, hypotheses_caption, partial_caption
from .tables import ReportTable, display_frame

__all__ = ["hypotheses_tables", "partial_tables"]

PARTIAL_COLUMNS = ("partial_rho", "partial_ci_low", "partial_ci_high", "partial_p_value")


def _adjust_label(adjust: str) -> str:
    return "Holm" if adjust == "holm" else "BH"


def hypotheses_tables(an) -> list[ReportTable]:
    """The data x hypothesis fits and, with two or more hypotheses, their paired differences."""
    h = an.hypotheses
    if h is None:
        return []
    interval = ("ci_low", "ci_high", "ci_caution")
    fits = h.fits[["data", "hypothesis", "rho", *interval, "p_value", "p_adjusted", "noise_ceiling",
                   "ceiling_note", "standard_error", "n_undefined"]].copy()
    notes: list[str] = []

    def mark(note):
        if note not in notes:
            notes.append(note)
        return f"[{notes.index(note) + 1}]"

    def ceiling(value, note):
        return fmt_number(value) if not is_missing(value) else f"n/a {mark(note)}"

    def ci(low, high, caution):
        return f"{fmt_ci(low, high)} {mark('caution: ' + caution)}" if caution else fmt_ci(low, high)

    display = display_frame(fits, {"rho": fmt_number, interval: ci, "p_value": fmt_p,
                                   "p_adjusted": fmt_p, ("noise_ceiling", "ceiling_note"): ceiling},
                            {"data": "file", "hypothesis": "hypothesis", "rho": "rho", interval: "CI",
                             "p_value": "Mantel p", "p_adjusted": f"p ({_adjust_label(h.adjust)})",
                             ("noise_ceiling", "ceiling_note"): "noise ceiling"})
    caption = hypotheses_caption(an) + "".join(f" [{k}] {note}" for k, note in enumerate(notes, 1))
    tables = [ReportTable("hypotheses", "Files against hypothesis RDMs", caption, fits, display)]
    if len(h.differences):
        diffs = h.differences.copy()
        d_display = display_frame(diffs, {"rho_a": fmt_number, "rho_b": fmt_number, "difference": fmt_number,
                                          ("ci_low", "ci_high"): fmt_ci, "p_value": fmt_p},
                                  {"data": "file", "hypothesis_a": "a", "hypothesis_b": "b", "rho_a": "rho_a",
                                   "rho_b": "rho_b", "difference": "rho_a - rho_b", ("ci_low", "ci_high"): "CI",
                                   "p_value": "p"})
        tables.append(ReportTable("hypothesis_differences", "Which hypothesis fits better", differences_caption(an),
                                  diffs, d_display))
    return tables


def partial_tables(an) -> list[ReportTable]:
    """The partial Mantel tests: every pair of files and, with hypotheses, every file and hypothesis."""
    if not an.comparison.confounds:
        return []
    confounds = an.comparison.confounds
    formats = {"rho": fmt_number, "partial_rho": fmt_number, ("partial_ci_low", "partial_ci_high"): fmt_ci,
               "partial_p_value": fmt_p, "partial_p_adjusted": fmt_p}
    pairs = an.pairs[["a", "b", "rho", *PARTIAL_COLUMNS, "partial_p_adjusted"]].copy()
    display = display_frame(pairs, formats, {"a": "A", "b": "B", "rho": "rho", "partial_rho": "partial rho",
                                             ("partial_ci_low", "partial_ci_high"): "CI", "partial_p_value": "partial p",
                                             "partial_p_adjusted": f"p ({_adjust_label(an.config.adjust)})"})
    tables = [ReportTable("partial", "Pairs of files given the confounds", partial_caption(an, confounds, True), pairs,
                          display)]
    if an.hypotheses is not None:
        fits = an.hypotheses.fits[["data", "hypothesis", "rho", *PARTIAL_COLUMNS]].copy()
        h_display = display_frame(fits, formats, {"data": "file", "hypothesis": "hypothesis", "rho": "rho",
                                                  "partial_rho": "partial rho",
                                                  ("partial_ci_low", "partial_ci_high"): "CI",
                                                  "partial_p_value": "partial p"})
        tables.append(ReportTable("partial_hypotheses", "Files against hypotheses given the confounds",
                                  partial_caption(an, confounds, False), fits, h_display))
    return tables
