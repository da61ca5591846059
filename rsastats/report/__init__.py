"""Reports: statistical tables and figures for a set of files, as Markdown, a self-contained HTML
page, LaTeX tables and JSON (``rsastats report``; see docs/report.md).

>>> from rsastats.report import ReportConfig, build_report
>>> out = build_report(ReportConfig(files=("a.nc", "b.nc", "c.nc"), seed=0), "reports/abc")  # doctest: +SKIP
>>> out.html  # doctest: +SKIP
PosixPath('reports/abc/index.html')
"""

from __future__ import annotations

import os
from pathlib import Path

from ..io import output_lock
from .analysis import ReportAnalyses, analyse
from .config import ReportConfig, load_config
from .document import build_tables
from .ordination import MDSResult, classical_mds, cluster_order, procrustes_align
from .progress import ReportProgress
from .render import ReportOutput, check_report_folder, render_report
from .tables import ReportTable

__all__ = [
    "ReportConfig",
    "load_config",
    "ReportAnalyses",
    "ReportProgress",
    "ReportOutput",
    "ReportTable",
    "MDSResult",
    "analyse",
    "render_report",
    "build_report",
    "build_tables",
    "classical_mds",
    "cluster_order",
    "procrustes_align",
]


def build_report(config: ReportConfig, out: str | os.PathLike, progress: ReportProgress | None = None) -> ReportOutput:
    """Analyse the files of ``config`` and write the report into the folder ``out``.

    Every random procedure draws from ``config.seed``, so the same files and settings give the
    same report, byte for byte.  The lock of ``out`` is held from the start (a second report into
    the same folder fails at once), and the report is moved into place whole: an interrupted
    report leaves an earlier one as it was.
    """
    check_report_folder(Path(out))
    with output_lock(out):
        analyses = analyse(config, progress)
        return render_report(analyses, out, progress)
