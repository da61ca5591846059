"""Writing a report: figures (PNG, SVG), tables (LaTeX, CSV), ``report.md``, a self-contained
``index.html`` (figures embedded, no network), ``report.json`` (every table's numbers) and
``analysis.yaml`` (the settings, to rerun the report).  Every file is written atomically."""

from __future__ import annotations

import base64
import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .._version import __version__
from ..results import to_jsonable
from ..data import atomic_path
from . import figures as fg
from .analysis import ReportAnalyses, ReportProgress, _NoProgress
from .tables import (SCHEME_TEXT, SHARED_NOISE_NOTE, ReportTable, all_tables, build_tables, fmt_ci, fmt_number,
                     inference_caption, layer_text, _prompts_text)

__all__ = ["ReportOutput", "render_report", "REPORT_SCHEMA"]

REPORT_SCHEMA = "rsastats.report/1"
_SECTIONS = {
    "inputs": "Inputs",
    "rdms": "Representational dissimilarity matrices",
    "mds": "Emotion geometry in two dimensions",
    "comparison": "Comparing every pair of models",
    "layers": "Layer sensitivity",
    "geometry": "Anisotropy per layer",
    "decomposition": "Variance decomposition of method effects",
    "maturity": "Maturity: the a-priori rule",
    "audit": "Audit",
    "methods": "Methods",
    "notes": "Notes",
}
_GEOMETRY_LABELS = {"baseline_anisotropy": "baseline anisotropy (emotion-free texts)",
                    "emotion_mean_cosine": "mean cosine between emotion vectors"}


@dataclass(frozen=True)
class ReportOutput:
    """What :func:`render_report` wrote and the key numbers (``to_dict()`` is ``--json``'s output)."""

    out: Path
    files: tuple[Path, ...]
    key_numbers: dict[str, Any]
    notes: tuple[str, ...] = ()

    @property
    def html(self) -> Path:
        return self.out / "index.html"

    @property
    def markdown(self) -> Path:
        return self.out / "report.md"

    def to_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "html": str(self.html), "markdown": str(self.markdown),
                "json": str(self.out / "report.json"), "files": [str(p) for p in self.files],
                **self.key_numbers, "notes": list(self.notes)}


# --------------------------------------------------------------------------- document blocks
@dataclass(frozen=True)
class _Heading:
    text: str
    level: int
    anchor: str


@dataclass(frozen=True)
class _Paragraph:
    text: str


@dataclass(frozen=True)
class _Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class _Table:
    table: ReportTable
    number: int


@dataclass(frozen=True)
class _Figure:
    figure: fg.ReportFigure
    number: int


@dataclass
class _Document:
    title: str
    blocks: list[Any] = field(default_factory=list)
    n_tables: int = 0
    n_figures: int = 0

    def heading(self, key: str) -> None:
        self.blocks.append(_Heading(_SECTIONS[key], 2, key))

    def text(self, text: str) -> None:
        if text:
            self.blocks.append(_Paragraph(text))

    def bullets(self, items: Sequence[str]) -> None:
        if items:
            self.blocks.append(_Bullets(tuple(items)))

    def table(self, table: ReportTable) -> None:
        self.n_tables += 1
        self.blocks.append(_Table(table, self.n_tables))

    def figure(self, figure: fg.ReportFigure) -> None:
        self.n_figures += 1
        self.blocks.append(_Figure(figure, self.n_figures))


# --------------------------------------------------------------------------- figures
def _figures(an: ReportAnalyses, folder: Path, progress: ReportProgress) -> dict[str, list[fg.ReportFigure]]:
    c, res = an.config, an.comparison
    prompts = _prompts_text(an.models)
    main = inference_caption(n_emotions=res.n_emotions, prompts=prompts, ci=res.ci_method, confidence=res.confidence,
                             scheme=res.bootstrap, n_boot=res.n_boot, seed=c.seed, permutations=res.n_permutations,
                             exact=res.exact, extra=f"{res.rdm} RDMs, {res.rank}; {layer_text(an)}")
    plan = len(an.models) + 2 + 2 * (an.layer_curve is not None) + (an.geometry is not None) + (an.decomposition is not None)
    progress.step("drawing figures", plan)
    out: dict[str, list[fg.ReportFigure]] = {"rdms": [], "mds": [], "comparison": []}
    colour_label = {"cosine": "cosine distance (1 - cos)", "correlation": "correlation distance (1 - r)",
                    "euclidean": "Euclidean distance", "crossval-euclidean": "cross-validated squared distance"}
    no_resampling = (f"n = {res.n_emotions} emotions ({prompts or 'no prompts'}); point estimates, no CI (no "
                     f"resampling); {layer_text(an)}, {res.normalization} vectors; seed {c.seed}.")
    for name, matrix in an.rdms.items():
        fig = fg.rdm_heatmap(matrix, an.order, name, colour_label.get(an.rdm_method, an.rdm_method))
        caption = (f"RDM of {name}. Emotions in the order of an average-linkage clustering (optimal leaf order) of "
                   f"the reference model {an.reference}'s RDM, the same order in every panel; colour scale per model. "
                   + no_resampling)
        out["rdms"].append(fg.save_figure(fig, folder, f"rdm_{fg.slug(name)}", f"RDM: {name}", caption))
        progress.advance(1)
    mds_caption = (f"Classical (Torgerson) MDS of each model's RDM, embedding {an.mds[an.reference].transform}; "
                   f"each configuration rotated/reflected onto the reference ({an.reference}) by orthogonal Procrustes "
                   f"and scaled to unit RMS radius; colour: each emotion's position in the reference's clustering order (the "
                   f"heatmaps' order), so emotions that neighbour in the reference share a hue. " + no_resampling)
    out["mds"].append(fg.save_figure(fg.mds_panels(an.mds, an.order, an.reference), folder, "mds", "2-D MDS per model",
                                     mds_caption))
    progress.advance(1)
    primary = "p_holm" if res.adjust == "holm" else "p_bh"
    label = "Holm" if res.adjust == "holm" else "BH"
    out["comparison"].append(fg.save_figure(
        fg.rho_matrix_figure(an.names, an.pairs, res.rank, primary, label), folder, "rho_matrix",
        "rho between every pair of models", main + f" Stars: {label}-adjusted Mantel p."))
    progress.advance(1)
    ceiling = None
    nc = res.noise_ceiling or {}
    if nc.get("lower") is not None:
        ceiling = (nc["lower"], nc["upper"])
    forest_caption = main + (" Open diamonds: the pair's noise ceiling sqrt(r_A r_B) from split-half reliabilities "
                             f"({nc.get('n_splits')} splits). {SHARED_NOISE_NOTE}"
                             if "noise_ceiling" in an.pairs.columns else "") + (
        " Grey band: the group's leave-one-out noise ceiling [lower, upper]." if ceiling else "")
    out["comparison"].append(fg.save_figure(fg.forest_plot(an.pairs, res.confidence, ceiling), folder, "forest",
                                            "Pairwise rho with CIs and noise ceilings", forest_caption))
    progress.advance(1)
    if an.layer_curve is not None:
        s = an.layer_settings
        caption = inference_caption(
            n_emotions=res.n_emotions, prompts=prompts, ci=c.ci, confidence=c.confidence, scheme=s["bootstrap"],
            n_boot=s["n_boot"], seed=c.seed,
            extra=(f"each file's nearest layer to {s['points']} relative depths; {an.rdm_method} RDMs, {res.rank}"
                   + (f"; squares: mean of the last {s['last_k']} layers" if an.layer_last_k is not None else "")))
        out["layers"] = [fg.save_figure(fg.layer_curve_figure(an.layer_curve, an.layer_last_k, c.confidence, res.rank),
                                        folder, "layer_sensitivity", "rho across layers", caption)]
        progress.advance(2)
    if an.geometry is not None:
        from .tables import _geometry_caption

        out["geometry"] = [fg.save_figure(fg.anisotropy_figure(an.geometry, _GEOMETRY_LABELS), folder, "anisotropy",
                                          "Anisotropy per layer", _geometry_caption(an))]
        progress.advance(1)
    if an.decomposition is not None:
        from .tables import _decomposition_caption

        d = an.decomposition
        out["decomposition"] = [fg.save_figure(fg.variance_bars(d.to_frame(), d.layers_frame()), folder,
                                               "variance_components", "Variance components",
                                               _decomposition_caption(an) + " Only estimable components are drawn.")]
        progress.advance(1)
    return out


# --------------------------------------------------------------------------- key numbers and prose
def key_numbers(an: ReportAnalyses) -> dict[str, Any]:
    res = an.comparison
    out: dict[str, Any] = {
        "n_models": len(an.models), "n_emotions": res.n_emotions, "reference": an.reference, "seed": an.config.seed,
        "ci_method": res.ci_method, "confidence": res.confidence, "bootstrap": res.bootstrap, "n_boot": res.n_boot,
        "n_permutations": res.n_permutations, "rank": res.rank, "rdm": res.rdm, "layer": res.layer,
        "emotion_order": list(an.order),
        "pairs": an.pairs[[c for c in ("a", "b", "rho", "ci_low", "ci_high", "p_value", "p_holm", "p_bh", "noise_ceiling",
                                       "rho_disattenuated") if c in an.pairs.columns]].to_dict(orient="records"),
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
    if an.decomposition is not None:
        out["variance_layers"] = an.decomposition.layers_frame()[["layer", "share", "share_ci_low", "share_ci_high"]] \
            .to_dict(orient="records")
    return out


def _summary(an: ReportAnalyses) -> list[str]:
    res = an.comparison
    pairs = an.pairs.sort_values("rho", ascending=False)
    top, bottom = pairs.iloc[0], pairs.iloc[-1]
    primary = "p_holm" if res.adjust == "holm" else "p_bh"
    n_sig = int((pairs[primary] < 0.05).sum())
    pct = f"{100 * res.confidence:g}%"
    items = [
        f"{len(an.models)} models, {res.n_emotions} emotions, {len(pairs)} pairs; {res.rdm} RDMs compared by {res.rank} "
        f"at {layer_text(an)}.",
        f"Highest rho: {top.a} vs {top.b}, {fmt_number(top.rho)} ({pct} CI {fmt_ci(top.ci_low, top.ci_high)}); "
        f"lowest: {bottom.a} vs {bottom.b}, {fmt_number(bottom.rho)} ({pct} CI {fmt_ci(bottom.ci_low, bottom.ci_high)}).",
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
                f"{r.model} {fmt_number(r.estimate)} {fmt_ci(r.ci_low, r.ci_high)}" for r in last.itertuples()) + ".")
    if an.maturity:
        names = {str(m.path): m.name for m in an.models}
        items.append("A-priori maturity rule (base models only): " + "; ".join(
            f"{names.get(str(r.source), r.source)} {r.maturity}" for r in an.maturity) + ".")
    if an.decomposition is not None:
        layers = an.decomposition.layers_frame()
        method_layers = layers[layers["layer"].str[0].str.isdigit()].dropna(subset=["share"])
        if not method_layers.empty:
            best = method_layers.sort_values("share", ascending=False).iloc[0]
            items.append(f"Largest layer of method effects: {best.layer}, {fmt_number(best.share)} of the variance "
                         f"({pct} CI {fmt_ci(best.share_ci_low, best.share_ci_high)}).")
    return items


def _methods(an: ReportAnalyses) -> list[str]:
    res = an.comparison
    items = [
        f"RDMs: {res.rdm} dissimilarity between emotion vectors (the mean over each emotion's valid prompts), "
        f"{res.normalization} vectors, {layer_text(an)}.",
        f"rho: {res.rank} correlation of the RDMs' upper triangles (emotions matched by label). The p-value is a Mantel "
        f"test: emotion labels permuted (rows and columns together), p = (k + 1) / (B + 1), "
        f"{'exact enumeration' if res.exact else f'{res.n_permutations} random permutations'}; the p of a correlation "
        "over RDM cells would not be valid (cells that share an emotion are dependent) and is not shown.",
        f"CIs: {res.ci_method} bootstrap over {SCHEME_TEXT.get(res.bootstrap, res.bootstrap)} ({res.n_boot} resamples, "
        "one joint bootstrap for all pairs; duplicated emotions' self-pairs dropped); intervals for a correlation are "
        "clipped to [-1, 1]. See docs/statistics.md and docs/calibration.md.",
        "Multiple comparisons: Holm (family-wise error) and Benjamini-Hochberg (false discovery rate) across all pairs.",
        "Noise ceilings: split-half reliability of each model's RDM over random halves of its prompts, stepped up by "
        "Spearman-Brown; the ceiling of a pair is sqrt(r_A r_B), and rho / ceiling is the disattenuated rho.",
        "Emotion order and MDS: hierarchical clustering (average linkage, optimal leaf order) of the reference model's "
        "RDM; classical MDS (eigendecomposition of the double-centred squared distances).",
    ]
    if an.geometry is not None:
        items.append("Anisotropy: rsastats geometry (docs/geometry.md): baseline anisotropy is the mean cosine between "
                     "distinct emotion-free texts; the emotion-vector mean cosine is 1 - the mean raw cosine RDM cell.")
    if an.decomposition is not None:
        items.append(f"Variance decomposition: rsastats decompose (docs/decomposition.md): "
                     f"{an.decomposition.diagnostics.formula}.")
    if an.maturity:
        items.append("Maturity: rsastats maturity (docs/maturity.md), the rule stated in its section, applied to each "
                     "base model's own file only (no base x instruct quantity enters it).")
    items.append(f"Software: rsastats {__version__}, numpy {np.__version__}, pandas {pd.__version__}. "
                 f"Every random procedure used seed {an.config.seed}; rerun with "
                 "`rsastats report --config analysis.yaml --out <folder>` (analysis.yaml is written beside this report).")
    return items


def _document(an: ReportAnalyses, tables: dict[str, list[ReportTable]], figures: dict[str, list[fg.ReportFigure]]) -> _Document:
    doc = _Document(an.config.title)
    doc.text(an.config.notes)
    doc.bullets(_summary(an))
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
    for key in ("layers", "geometry", "decomposition", "maturity"):
        if key in tables or key in figures or an.notes.get(key):
            doc.heading(key)
            if key == "maturity" and key not in tables:
                from ..geometry import MATURITY_RULE

                doc.text(f"The rule (docs/maturity.md): {MATURITY_RULE.statement()}")
            for f in figures.get(key, []):
                doc.figure(f)
            for t in tables.get(key, []):
                doc.table(t)
            doc.bullets(an.notes.get(key, []))
    if "audit" in tables:
        doc.heading("audit")
        for t in tables["audit"]:
            doc.table(t)
    doc.heading("methods")
    doc.bullets(_methods(an))
    return doc


# --------------------------------------------------------------------------- writers
def _md_inline(text: str) -> str:
    return text.replace("*", "\\*").replace("_", "\\_") if "`" not in text else text


def _markdown(doc: _Document, out: Path) -> str:
    lines = [f"# {doc.title}", ""]
    for block in doc.blocks:
        if isinstance(block, _Heading):
            lines += [f"{'#' * block.level} {block.text}", ""]
        elif isinstance(block, _Paragraph):
            lines += [block.text, ""]
        elif isinstance(block, _Bullets):
            lines += [f"- {item}" for item in block.items] + [""]
        elif isinstance(block, _Table):
            t = block.table
            lines += [f"**Table {block.number}. {t.title}.** {t.caption}", "", t.to_markdown(), "",
                      f"LaTeX: [`tables/{t.name}.tex`](tables/{t.name}.tex); numbers: [`tables/{t.name}.csv`](tables/{t.name}.csv)", ""]
        elif isinstance(block, _Figure):
            f = block.figure
            rel_png, rel_svg = f.png.relative_to(out).as_posix(), f.svg.relative_to(out).as_posix()
            lines += [f"![{f.title}]({rel_png})", "",
                      f"*Figure {block.number}. {f.title}.* {f.caption} ([SVG]({rel_svg}))", ""]
    return "\n".join(lines).rstrip() + "\n"


_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1280px;margin:2em auto;padding:0 1.2em;
color:#1d1d1f;line-height:1.45}
h1{font-size:1.7em;border-bottom:2px solid #ddd;padding-bottom:.3em}h2{margin-top:2em;border-bottom:1px solid #eee}
nav ol{columns:2;font-size:.92em}figure{margin:1.2em 0;text-align:center}figure img{max-width:100%;height:auto}
figcaption,.caption{font-size:.86em;color:#444;text-align:left;margin:.4em 0}
table.data{border-collapse:collapse;font-size:.84em;margin:.6em 0 1.4em 0}
table.data th,table.data td{padding:3px 8px;border-bottom:1px solid #e3e3e3;white-space:nowrap}
table.data td.long{white-space:normal;min-width:22em;max-width:36em}table.data th{white-space:normal;vertical-align:bottom}
table.data th{background:#f5f5f7;border-bottom:2px solid #ccc}.num{text-align:right}.txt{text-align:left}
.tablewrap{overflow-x:auto}.grid{display:flex;flex-wrap:wrap;gap:8px;justify-content:center}
.grid figure{flex:1 1 480px;max-width:600px;margin:.4em 0}ul.summary li{margin:.25em 0}
code{background:#f3f3f3;padding:0 3px;border-radius:3px}
"""


def _html_text(text: str) -> str:
    """Escape, then show `code` spans."""
    parts = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def _html(doc: _Document) -> str:
    toc = [b for b in doc.blocks if isinstance(b, _Heading)]
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{html.escape(doc.title)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           f"<h1>{html.escape(doc.title)}</h1>",
           "<nav><ol>" + "".join(f'<li><a href="#{h.anchor}">{html.escape(h.text)}</a></li>' for h in toc) + "</ol></nav>"]
    first_bullets = True
    i = 0
    blocks = doc.blocks
    while i < len(blocks):
        block = blocks[i]
        if isinstance(block, _Heading):
            out.append(f'<h{block.level} id="{block.anchor}">{html.escape(block.text)}</h{block.level}>')
        elif isinstance(block, _Paragraph):
            out.append(f"<p>{_html_text(block.text)}</p>")
        elif isinstance(block, _Bullets):
            cls = ' class="summary"' if first_bullets else ""
            first_bullets = False
            out.append(f"<ul{cls}>" + "".join(f"<li>{_html_text(x)}</li>" for x in block.items) + "</ul>")
        elif isinstance(block, _Table):
            t = block.table
            out.append(f'<p class="caption"><b>Table {block.number}. {html.escape(t.title)}.</b> {_html_text(t.caption)}</p>')
            out.append(f'<div class="tablewrap">{t.to_html()}</div>')
        elif isinstance(block, _Figure):
            run = [block]
            while (i + 1 < len(blocks) and isinstance(blocks[i + 1], _Figure)
                   and blocks[i + 1].figure.name.startswith("rdm_") and block.figure.name.startswith("rdm_")):
                i += 1
                run.append(blocks[i])
            if len(run) > 1:  # RDM heatmaps side by side, one shared caption
                out.append('<div class="grid">' + "".join(
                    f"<figure>{_img(b.figure.png, b.figure.title)}<figcaption><b>Figure {b.number}.</b> "
                    f"{html.escape(b.figure.title)}</figcaption></figure>" for b in run) + "</div>")
                out.append(f'<p class="caption">Figures {run[0].number}-{run[-1].number}: '
                           f"{_html_text(run[0].figure.caption.split('. ', 1)[1])}</p>")
            else:
                f = block.figure
                out.append(f"<figure>{_img(f.png, f.title)}<figcaption><b>Figure {block.number}. "
                           f"{html.escape(f.title)}.</b> {_html_text(f.caption)}</figcaption></figure>")
        i += 1
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _write_text(path: Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _relative(path: str, out: Path) -> str:
    """``path`` relative to the report folder (so that the folder can move with its inputs)."""
    try:
        return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(out))).as_posix()
    except ValueError:  # another drive (Windows)
        return os.path.abspath(path)


def _config_yaml(an: ReportAnalyses, out: Path) -> str:
    import yaml

    c = an.config

    def rel(p: str) -> str:
        return _relative(p, out)

    data = {
        "title": c.title, "notes": c.notes, "seed": c.seed, "reference": an.reference,
        "models": [{"path": rel(f), "name": m.name} for f, m in zip(c.files, an.models)],
        "compare": {"layer": c.layer, "last_k": c.last_k, "normalization": c.normalization, "n_pcs": c.n_pcs, "rdm": c.rdm, "rank": c.rank,
                    "bootstrap": c.bootstrap, "ci": c.ci, "n_boot": c.n_boot, "permutations": c.permutations,
                    "confidence": c.confidence, "adjust": c.adjust, "n_splits": c.n_splits},
        "layers": {"points": c.layer_points, "n_boot": c.layer_n_boot, "last_k": c.last_k_check} if c.layer_points else False,
        "geometry": {"layers": c.geometry_layers, "n_boot": c.geometry_n_boot} if c.geometry_layers else False,
        "decompose": {"mode": c.decompose, "n_boot": c.decompose_n_boot},
        "maturity": {"mode": c.maturity, "n_boot": c.maturity_n_boot},
    }
    if c.audit:
        data["audit"] = rel(c.audit)
    if c.extra:
        data["extra"] = to_jsonable(dict(c.extra))
    header = (f"# rsastats {__version__} analysis file: rerun with\n"
              f"#   rsastats report --config analysis.yaml --out <folder>\n")
    return header + yaml.safe_dump(to_jsonable(data), sort_keys=False, allow_unicode=True)


def _previous_files(out: Path) -> list[Path]:
    manifest = out / "report.json"
    if not manifest.is_file():
        return []
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict) or data.get("schema") != REPORT_SCHEMA:
        return []
    files = []
    for rel in data.get("files", []):
        p = (out / str(rel)).resolve()
        if out.resolve() in p.parents:  # never outside the report folder
            files.append(p)
    return files


def render_report(an: ReportAnalyses, out: str | os.PathLike, progress: ReportProgress | None = None) -> ReportOutput:
    """Write every output of the report into the folder ``out`` (created if needed).

    Files that a previous report in ``out`` wrote (listed in its ``report.json``) and this one
    does not are removed, so the folder never mixes two reports; nothing else is touched.
    """
    progress = progress or _NoProgress()
    out = Path(out)
    if out.exists() and not out.is_dir():
        from ..exceptions import ValidationError

        raise ValidationError("exists and is not a folder; give a folder for the report", path=out)
    out.mkdir(parents=True, exist_ok=True)
    previous = _previous_files(out)
    figures = _figures(an, out / "figures", progress)
    tables = build_tables(an)
    progress.step("writing tables and pages", None)
    written: list[Path] = []
    for fig_list in figures.values():
        for f in fig_list:
            written += [f.png, f.svg]
    table_list = all_tables(tables)
    for t in table_list:
        written.append(_write_text(out / "tables" / f"{t.name}.tex", t.to_latex()))
        with atomic_path(out / "tables" / f"{t.name}.csv") as tmp:
            t.frame.to_csv(tmp, index=False)
        written.append(out / "tables" / f"{t.name}.csv")
    written.append(_write_text(out / "tables" / "all_tables.tex",
                               f"% rsastats {__version__}: every table of the report (needs \\usepackage{{booktabs}})\n"
                               + "\n".join(t.to_latex() for t in table_list)))
    doc = _document(an, tables, figures)
    written.append(_write_text(out / "report.md", _markdown(doc, out)))
    written.append(_write_text(out / "index.html", _html(doc)))
    written.append(_write_text(out / "analysis.yaml", _config_yaml(an, out)))
    numbers = key_numbers(an)
    notes = tuple(n for group in an.notes.values() for n in group)
    rel = [p.relative_to(out).as_posix() for p in written] + ["report.json"]
    config = {**an.config.to_dict(), "files": [_relative(f, out) for f in an.config.files], "names": list(an.names),
              "reference": an.reference, "audit": None if an.config.audit is None else _relative(an.config.audit, out)}
    manifest = {
        "schema": REPORT_SCHEMA, "title": an.config.title, "rsastats": __version__, "config": config,
        "models": [{**m.to_dict(), "path": _relative(m.path, out)} for m in an.models], "key_numbers": numbers,
        "notes": list(notes),
        "tables": {t.name: {"title": t.title, "caption": t.caption, "records": t.to_records()} for t in table_list},
        "figures": [{**f.to_dict(), "png": f.png.relative_to(out).as_posix(), "svg": f.svg.relative_to(out).as_posix()}
                    for fl in figures.values() for f in fl],
        "files": rel,
    }
    written.append(_write_text(out / "report.json", json.dumps(to_jsonable(manifest), indent=1, allow_nan=False) + "\n"))
    keep = {p.resolve() for p in written}
    for old in previous:
        if old not in keep and old.is_file():
            old.unlink()
    return ReportOutput(out, tuple(written), numbers, notes)
