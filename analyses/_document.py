"""The report of one analysis: ``reports/<name>/report.md`` with its figures and tables, and
``results.json`` (every table at full precision, the key numbers and the plain-words summary that
``reports/README.md`` is built from).

Tables and figures go through the report module (:class:`rsastats.report.ReportTable`,
:func:`rsastats.report.figures.save_figure`) and the number formats of :mod:`rsastats.formatting`, so
an analysis report reads like the report of ``rsastats report`` and every number shown is the one
stored.  Files are written atomically; files an
earlier run of the same analysis wrote and this one does not are removed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from rsastats import __version__
from rsastats.formatting import ci_digits, fmt_ci, fmt_estimate, fmt_number, fmt_p, is_missing
from rsastats.io import atomic_path
from rsastats.report.figures import ReportFigure, save_figure
from rsastats.report.tables import ReportTable
from rsastats.results import to_jsonable

__all__ = ["AnalysisDocument", "fmt_ci", "fmt_number", "fmt_p", "ci_text", "RESULTS_SCHEMA"]

RESULTS_SCHEMA = "rsastats.analysis/1"


def ci_text(value: Any, low: Any, high: Any, digits: int = 2) -> str:
    """``0.81 [0.70, 0.89]``."""
    return f"{fmt_estimate(value, low, high, digits)} {fmt_ci(low, high, digits)}"


def _format_column(values: pd.Series, kind: str) -> list[str]:
    if kind == "p":
        return [fmt_p(v) for v in values]
    if kind == "int":
        return [str(int(v)) if not is_missing(v) else "n/a" for v in values]
    if kind == "num":
        return [fmt_number(v) for v in values]
    return ["" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]


@dataclass
class AnalysisDocument:
    """Collects the blocks of one analysis report, then writes them (:meth:`write`)."""

    name: str
    title: str
    question: str
    out: Path
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    tables: list[ReportTable] = field(default_factory=list)
    figures: list[ReportFigure] = field(default_factory=list)
    key_numbers: dict[str, Any] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.out = Path(self.out)

    # ------------------------------------------------------------------ blocks
    def heading(self, text: str) -> None:
        self.blocks.append(("heading", text))

    def text(self, text: str) -> None:
        if text:
            self.blocks.append(("text", text))

    def bullets(self, items: Sequence[str]) -> None:
        items = [i for i in items if i]
        if items:
            self.blocks.append(("bullets", list(items)))

    def table(self, name: str, title: str, caption: str, frame: pd.DataFrame, *,
              columns: Mapping[str, str] | None = None, cis: Sequence[tuple[str, str, str]] = (),
              kinds: Mapping[str, str] | None = None) -> ReportTable:
        """Add a table: ``frame`` (numbers, stored at full precision) and its display.

        ``columns`` maps frame columns to display headers (default: every column as it is);
        ``cis`` adds ``(low column, high column, header)`` interval columns (shown after the
        column before ``low`` in ``columns`` order); ``kinds`` says how to show a column: ``p``
        (p-value), ``num`` (3 decimals), ``int`` or ``text`` (default: ``num`` for floats, ``p`` for
        columns whose name starts with ``p_``).
        """
        frame = frame.reset_index(drop=True)
        columns = dict(columns) if columns is not None else {c: c for c in frame.columns}
        kinds = dict(kinds or {})
        ci_after = {}
        for low, high, header in cis:
            keys = list(columns)
            anchor = None
            for k in keys:
                if k == low:
                    break
                anchor = k
            ci_after.setdefault(anchor, []).append((low, high, header))
        headers = [h for c, h in columns.items() if c not in {x for ci in cis for x in ci[:2]}] + [ci[2] for ci in cis]
        if len(set(headers)) != len(headers):
            raise ValueError(f"table {name!r}: duplicated column headers {headers}")
        display = pd.DataFrame(index=frame.index)
        for col, header in columns.items():
            if col in (c[0] for c in cis) or col in (c[1] for c in cis):
                continue
            kind = kinds.get(col)
            if kind is None:
                if col.startswith("p_") or col == "p":
                    kind = "p"
                elif pd.api.types.is_float_dtype(frame[col]):
                    kind = "num"
                elif pd.api.types.is_integer_dtype(frame[col]):
                    kind = "int"
                else:
                    kind = "text"
            display[header] = _format_column(frame[col], kind)
            for low, high, _ in ci_after.get(col, [])[:1]:  # an estimate beside its interval: the interval's decimals
                if kind == "num":
                    display[header] = [fmt_estimate(v, a, b) if ci_digits(a, b) > 3 else shown
                                       for v, a, b, shown in zip(frame[col], frame[low], frame[high], display[header])]
            for low, high, ci_header in ci_after.get(col, []):
                display[ci_header] = [fmt_ci(a, b) for a, b in zip(frame[low], frame[high])]
        table = ReportTable(name=name, title=title, caption=caption, frame=frame, display=display.reset_index(drop=True))
        self.tables.append(table)
        self.blocks.append(("table", table))
        return table

    def figure(self, fig: Any, name: str, title: str, caption: str) -> ReportFigure:
        figure = save_figure(fig, self.out / "figures", name, title, caption)
        self.figures.append(figure)
        self.blocks.append(("figure", figure))
        return figure

    def key(self, name: str, value: Any) -> Any:
        """Record a key number (read by ``reports/README.md``)."""
        self.key_numbers[name] = value
        return value

    # ------------------------------------------------------------------ writing
    def _markdown(self) -> str:
        lines = [f"# {self.title}", "", f"**Question.** {self.question}", ""]
        if self.summary:
            lines += ["## Summary", ""] + [f"- {s}" for s in self.summary] + [""]
        n_table = n_figure = 0
        for kind, block in self.blocks:
            if kind == "heading":
                lines += [f"## {block}", ""]
            elif kind == "text":
                lines += [block, ""]
            elif kind == "bullets":
                lines += [f"- {b}" for b in block] + [""]
            elif kind == "table":
                n_table += 1
                shown = block.display.map(lambda s: str(s).replace("|", "\\|"))
                lines += [f"**Table {n_table}. {block.title}.** {block.caption}", "",
                          shown.to_markdown(index=False, disable_numparse=True), "",
                          f"Numbers: [`tables/{block.name}.csv`](tables/{block.name}.csv); "
                          f"LaTeX: [`tables/{block.name}.tex`](tables/{block.name}.tex)", ""]
            elif kind == "figure":
                n_figure += 1
                png = block.png.relative_to(self.out).as_posix()
                svg = block.svg.relative_to(self.out).as_posix()
                lines += [f"![{block.title}]({png})", "", f"*Figure {n_figure}. {block.title}.* {block.caption} "
                          f"([SVG]({svg}))", ""]
        if self.limits:
            lines += ["## What these models can and cannot say", ""] + [f"- {s}" for s in self.limits] + [""]
        rerun = self.settings.get("command", f"python -m analyses.{self.name}")
        lines += ["## Reproduce", "", f"`{rerun}` (rsastats {__version__}). Sizes and settings: "
                  "`results.json` (`settings`).", ""]
        return "\n".join(lines).rstrip() + "\n"

    def write(self) -> Path:
        """Write ``report.md``, ``results.json``, ``tables/`` and (already written) ``figures/``."""
        out = self.out
        out.mkdir(parents=True, exist_ok=True)
        previous = self._previous()
        written = [f.png for f in self.figures] + [f.svg for f in self.figures]
        for t in self.tables:
            with atomic_path(out / "tables" / f"{t.name}.csv") as tmp:
                t.frame.to_csv(tmp, index=False)
            with atomic_path(out / "tables" / f"{t.name}.tex") as tmp:
                tmp.write_text(t.to_latex(), encoding="utf-8")
            written += [out / "tables" / f"{t.name}.csv", out / "tables" / f"{t.name}.tex"]
        with atomic_path(out / "report.md") as tmp:
            tmp.write_text(self._markdown(), encoding="utf-8")
        written.append(out / "report.md")
        rel = sorted(p.relative_to(out).as_posix() for p in written) + ["results.json"]
        results = {"schema": RESULTS_SCHEMA, "name": self.name, "title": self.title, "question": self.question,
                   "rsastats": __version__, "summary": self.summary, "limits": self.limits,
                   "key_numbers": self.key_numbers, "settings": self.settings,
                   "tables": {t.name: {"title": t.title, "caption": t.caption, "records": t.to_records()}
                              for t in self.tables},
                   "figures": [{"name": f.name, "title": f.title, "caption": f.caption,
                                "png": f.png.relative_to(out).as_posix()} for f in self.figures],
                   "files": rel}
        with atomic_path(out / "results.json") as tmp:
            tmp.write_text(json.dumps(to_jsonable(results), indent=1, allow_nan=False) + "\n", encoding="utf-8")
        keep = {p.resolve() for p in written} | {(out / "results.json").resolve()}
        for old in previous:
            if old not in keep and old.is_file():
                old.unlink()
        return out / "report.md"

    def _previous(self) -> list[Path]:
        try:
            data = json.loads((self.out / "results.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        if not isinstance(data, dict) or data.get("schema") != RESULTS_SCHEMA:
            return []
        root = self.out.resolve()
        return [p for p in ((root / str(r)).resolve() for r in data.get("files", [])) if root in p.parents]
