"""The report as a document: its sections in order, each a list of blocks (heading, paragraph,
bullets, table, figure) that :mod:`rsastats.report.pages` writes as Markdown and HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from .analysis import ReportAnalyses
from .figures import ReportFigure
from .hypothesis_tables import hypotheses_tables, partial_tables
from .prose import methods_items, summary_items
from .section_tables import anisotropy_table, audit_tables, decomposition_tables, layers_table, maturity_table
from .tables import ReportTable, ceilings_table, inputs_table, pairs_table, rho_matrix_table

__all__ = ["SECTIONS", "Heading", "Paragraph", "Bullets", "TableBlock", "FigureBlock", "Document", "build_tables",
           "all_tables", "build_document"]

SECTIONS = {
    "inputs": "Inputs",
    "rdms": "Representational dissimilarity matrices",
    "mds": "Emotion geometry in two dimensions",
    "comparison": "Comparing every pair of models",
    "hypotheses": "Hypothesis RDMs",
    "partial": "Confounds partialled out",
    "layers": "Layer sensitivity",
    "geometry": "Anisotropy per layer",
    "decomposition": "Variance decomposition of method effects",
    "maturity": "Maturity: the a-priori rule",
    "audit": "Audit",
    "notes": "Sections left out",
    "methods": "Methods",
}


# --------------------------------------------------------------------------- blocks
@dataclass(frozen=True)
class Heading:
    text: str
    level: int
    anchor: str


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class TableBlock:
    table: ReportTable
    number: int


@dataclass(frozen=True)
class FigureBlock:
    figure: ReportFigure
    number: int


@dataclass
class Document:
    """The blocks of a report in order; tables and figures are numbered as they are added."""

    title: str
    blocks: list[Any] = field(default_factory=list)
    n_tables: int = 0
    n_figures: int = 0

    def heading(self, key: str) -> None:
        self.blocks.append(Heading(SECTIONS[key], 2, key))

    def text(self, text: str) -> None:
        if text:
            self.blocks.append(Paragraph(text))

    def bullets(self, items: Sequence[str]) -> None:
        if items:
            self.blocks.append(Bullets(tuple(items)))

    def table(self, table: ReportTable) -> None:
        self.n_tables += 1
        self.blocks.append(TableBlock(table, self.n_tables))

    def figure(self, figure: ReportFigure) -> None:
        self.n_figures += 1
        self.blocks.append(FigureBlock(figure, self.n_figures))


# --------------------------------------------------------------------------- assembly
def build_tables(an) -> dict[str, list[ReportTable]]:
    """Every table of the report, by section."""
    sections: dict[str, list[ReportTable]] = {"inputs": [inputs_table(an)],
                                              "comparison": [rho_matrix_table(an), pairs_table(an)]}
    ceil = ceilings_table(an)
    if ceil is not None:
        sections["comparison"].append(ceil)
    if tables := hypotheses_tables(an):
        sections["hypotheses"] = tables
    if tables := partial_tables(an):
        sections["partial"] = tables
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


def _rule_text(key: str) -> str:
    """The maturity rule itself, for the line that says why no model was classified."""
    if key != "maturity":
        return ""
    from ..geometry import MATURITY_RULE

    return f" The rule (docs/maturity.md): {MATURITY_RULE.statement()}"


def build_document(an: ReportAnalyses, tables: dict[str, list[ReportTable]], figures: dict[str, list[ReportFigure]]) -> Document:
    doc = Document(an.config.title)
    doc.text(an.config.notes)
    doc.bullets(summary_items(an))
    doc.heading("inputs")
    for t in tables["inputs"]:
        doc.table(t)
    doc.bullets(an.notes.get("inputs", []))
    doc.heading("rdms")
    doc.text(f"Emotions are ordered by a hierarchical clustering of the reference model ({an.reference}); the order is "
             "the same in every heatmap, table and figure.")
    for f in figures["rdms"]:
        doc.figure(f)
    doc.heading("mds")
    for f in figures["mds"]:
        doc.figure(f)
    doc.heading("comparison")
    comp_tables = tables["comparison"]
    doc.figure(figures["comparison"][0])
    doc.table(comp_tables[0])
    doc.figure(figures["comparison"][1])
    for t in comp_tables[1:]:
        doc.table(t)
    doc.bullets(an.notes.get("comparison", []))
    for key in ("hypotheses", "partial"):  # only when the settings name hypotheses or confounds
        if key in tables:
            doc.heading(key)
            for t in tables[key]:
                doc.table(t)
            doc.bullets(an.notes.get(key, []))
    left_out = []
    for key in ("layers", "geometry", "decomposition", "maturity"):
        if key in tables or key in figures:
            doc.heading(key)
            for f in figures.get(key, []):
                doc.figure(f)
            for t in tables.get(key, []):
                doc.table(t)
            doc.bullets(an.notes.get(key, []))
        elif an.notes.get(key):  # nothing to show: one line saying why, no empty section
            left_out.append(f"{SECTIONS[key]}: not shown; " + "; ".join(an.notes[key]) + _rule_text(key))
    if "audit" in tables:
        doc.heading("audit")
        for t in tables["audit"]:
            doc.table(t)
    if left_out:
        doc.heading("notes")
        doc.text("Sections left out of this report, and why:")
        doc.bullets(left_out)
    doc.heading("methods")
    doc.bullets(methods_items(an))
    return doc
