"""Writing a report: figures (PNG, SVG), tables (LaTeX, CSV), ``report.md``, a self-contained
``index.html`` (figures embedded, no network), ``report.json`` (every table's numbers) and
``analysis.yaml`` (the settings, to rerun the report).  The report is written into a temporary
folder beside its target and moved into place whole."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._version import __version__
from ..exceptions import ValidationError
from ..io import atomic_folder, atomic_path, output_lock
from ..results import to_jsonable
from . import figures as fg
from . import pages, sections
from .analysis import ReportAnalyses
from .captions import SHARED_NOISE_NOTE, decomposition_caption, geometry_caption, inference_caption, layer_text, prompts_text
from .document import all_tables, build_document, build_tables
from .progress import NoProgress, ReportProgress
from .prose import key_numbers

__all__ = ["ReportOutput", "render_report", "check_report_folder", "REPORT_SCHEMA"]

REPORT_SCHEMA = "rsastats.report/1"
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


# --------------------------------------------------------------------------- figures
def _figures(an: ReportAnalyses, folder: Path, progress: ReportProgress) -> dict[str, list[fg.ReportFigure]]:
    c, res = an.config, an.comparison
    prompts = prompts_text(an.models)
    main = inference_caption(n_emotions=res.n_emotions, prompts=prompts, ci=res.ci_method, confidence=res.confidence,
                             scheme=res.bootstrap, n_boot=res.n_boot, seed=c.seed, permutations=res.n_permutations,
                             exact=res.permutation_exact, extra=f"{res.rdm} RDMs, {res.rank}; {layer_text(an)}")
    with_geometry = an.geometry is not None and sections.has_layer_curve(an.geometry)
    plan = len(an.models) + 2 + 2 * (an.layer_curve is not None) + with_geometry + (an.decomposition is not None)
    progress.step("drawing figures", plan)
    out: dict[str, list[fg.ReportFigure]] = {"rdms": [], "mds": [], "comparison": []}
    colour_label = {"cosine": "cosine distance (1 - cos)", "correlation": "correlation distance (1 - r)",
                    "euclidean": "Euclidean distance", "crossval-euclidean": "cross-validated squared distance"}
    no_resampling = (f"n = {res.n_emotions} emotions ({prompts or 'no prompts'}); point estimates, no CI (no "
                     f"resampling); {layer_text(an)}, {res.normalization} vectors; seed {c.seed}.")
    for (name, matrix), file_name in zip(an.rdms.items(), fg.unique_slugs(list(an.rdms))):
        fig = fg.rdm_heatmap(matrix, an.order, name, colour_label.get(an.rdm_method, an.rdm_method))
        caption = (f"RDM of {name}. Emotions in the order of an average-linkage clustering (optimal leaf order) of "
                   f"the reference model {an.reference}'s RDM, the same order in every panel; colour scale per model. "
                   + no_resampling)
        out["rdms"].append(fg.save_figure(fig, folder, f"rdm_{file_name}", f"RDM: {name}", caption))
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
    if with_geometry:
        out["geometry"] = [fg.save_figure(fg.anisotropy_figure(an.geometry, _GEOMETRY_LABELS), folder, "anisotropy",
                                          "Anisotropy per layer", geometry_caption(an))]
        progress.advance(1)
    if an.decomposition is not None:
        d = an.decomposition
        out["decomposition"] = [fg.save_figure(fg.variance_bars(d.to_frame(), d.layers_frame()), folder,
                                               "variance_components", "Variance components",
                                               decomposition_caption(an) + " Only estimable components are drawn.")]
        progress.advance(1)
    return out


# --------------------------------------------------------------------------- writers
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
    for key in ("hypotheses", "partial"):
        if getattr(c, key):
            data[key] = [rel(p) for p in getattr(c, key)]
    if c.common_emotions:
        data["common_emotions"] = True
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


def check_report_folder(out: Path) -> None:
    """Refuse a report folder that is a file, or that is (or holds) the current folder."""
    if out.exists() and not out.is_dir():
        raise ValidationError("exists and is not a folder; give a folder for the report", path=out)
    here, target = Path.cwd().resolve(), out.resolve()
    if here == target or target in here.parents:
        raise ValidationError("is the current folder or holds it; the report folder is replaced whole, so give a "
                              "folder of its own", path=out)


def _carry_over(out: Path, work: Path, written: set[str]) -> None:
    """Hard-link (or copy) into ``work`` every file of ``out`` that is neither the earlier report's
    (its ``report.json`` lists them) nor written anew, so that replacing the folder keeps them."""
    if not out.is_dir():
        return
    previous = {p.relative_to(out.resolve()).as_posix() for p in _previous_files(out)}
    for root, dirs, files in os.walk(out):
        rel_root = Path(root).relative_to(out)
        for name in dirs + files:
            rel = (rel_root / name).as_posix()
            source, target = Path(root) / name, work / rel
            if rel in written or rel in previous or os.path.lexists(target):
                continue
            if source.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(os.readlink(source), target)
            elif source.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(source, target)
                except OSError:
                    shutil.copy2(source, target)


def _write_files(an: ReportAnalyses, out: Path, work: Path, progress: ReportProgress) -> tuple[list[Path], dict, tuple]:
    """Write every file of the report into ``work`` (paths inside it are named as they will be in ``out``)."""
    figures = _figures(an, work / "figures", progress)
    tables = build_tables(an)
    progress.step("writing tables and pages", None)
    written: list[Path] = []
    for fig_list in figures.values():
        for f in fig_list:
            written += [f.png, f.svg]
    table_list = all_tables(tables)
    for t in table_list:
        written.append(_write_text(work / "tables" / f"{t.name}.tex", t.to_latex()))
        with atomic_path(work / "tables" / f"{t.name}.csv") as tmp:
            t.frame.to_csv(tmp, index=False)
        written.append(work / "tables" / f"{t.name}.csv")
    written.append(_write_text(work / "tables" / "all_tables.tex",
                               f"% rsastats {__version__}: every table of the report (needs \\usepackage{{booktabs}})\n"
                               + "\n".join(t.to_latex() for t in table_list)))
    doc = build_document(an, tables, figures)
    written.append(_write_text(work / "report.md", pages.markdown_page(doc, work)))
    written.append(_write_text(work / "index.html", pages.html_page(doc)))
    written.append(_write_text(work / "analysis.yaml", _config_yaml(an, out)))
    numbers = key_numbers(an)
    notes = tuple(n for group in an.notes.values() for n in group)
    rel = [p.relative_to(work).as_posix() for p in written] + ["report.json"]
    config = {**an.config.to_dict(), "files": [_relative(f, out) for f in an.config.files], "names": list(an.names),
              "reference": an.reference, "audit": None if an.config.audit is None else _relative(an.config.audit, out),
              **{k: [_relative(p, out) for p in getattr(an.config, k)] for k in ("hypotheses", "partial")
                 if getattr(an.config, k)}}
    manifest = {
        "schema": REPORT_SCHEMA, "title": an.config.title, "rsastats": __version__, "config": config,
        "models": [{**m.to_dict(), "path": _relative(m.path, out)} for m in an.models], "key_numbers": numbers,
        "notes": list(notes),
        "tables": {t.name: {"title": t.title, "caption": t.caption, "records": t.to_records()} for t in table_list},
        "figures": [{**f.to_dict(), "png": f.png.relative_to(work).as_posix(), "svg": f.svg.relative_to(work).as_posix()}
                    for fl in figures.values() for f in fl],
        "files": rel,
    }
    written.append(_write_text(work / "report.json", json.dumps(to_jsonable(manifest), indent=1, allow_nan=False) + "\n"))
    return written, numbers, notes


def render_report(an: ReportAnalyses, out: str | os.PathLike, progress: ReportProgress | None = None) -> ReportOutput:
    """Write every output of the report into the folder ``out``, whole or not at all.

    The report is written into a temporary folder beside ``out`` and moved into place only once
    complete, holding ``out``'s lock (:func:`rsastats.io.output_lock`) throughout: a failure while
    rendering leaves an earlier report in ``out`` as it was.  Files of an earlier report there
    (listed in its ``report.json``) that this one does not write are gone afterwards; every other
    file in ``out`` is kept (hard-linked into the new folder).
    """
    progress = progress or NoProgress()
    out = Path(out)
    check_report_folder(out)
    with output_lock(out), atomic_folder(out) as work:
        written, numbers, notes = _write_files(an, out, work, progress)
        _carry_over(out, work, {p.relative_to(work).as_posix() for p in written})
    return ReportOutput(out, tuple(out / p.relative_to(work) for p in written), numbers, notes)
