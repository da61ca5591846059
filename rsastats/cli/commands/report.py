"""``rsastats report FILES... --out DIR``: statistical tables and figures as Markdown, HTML, LaTeX and JSON."""

from __future__ import annotations

from typing import Any

import click

from ...formatting import fmt_ci, fmt_estimate, fmt_number, fmt_p
from ..options import LAYER, LAYER_HELP, json_option, quiet_option
from ..output import emit_json, stdout_console
from ..progress import step_progress
from ._inference_options import DEFAULT_CI_HELP


def report_options(func):
    """Options of ``rsastats report`` (every one defaults to the analysis file's value, else the library's)."""
    options = [
        click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=str),
                     help="Folder to write the report into (created; files of an earlier report there are replaced)."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
                     help="Analysis file (YAML or JSON) listing the files, names and settings; options given here "
                          "override it. See docs/report.md."),
        click.option("--name", "names", multiple=True, help="Name of each file in tables (repeat once per file, in order)."),
        click.option("--reference", help="Model whose clustering orders the emotions, whose MDS anchors the others and "
                                         "against which layer curves are drawn [default: the first]."),
        click.option("--title", help="Title of the report."),
        click.option("--notes", help="A paragraph shown under the title."),
        click.option("--layer", type=LAYER, default=None,
                     help="Layer of the main comparison. " + LAYER_HELP),
        click.option("--last-k", type=int, default=None, help="Average the final K layers for the main comparison."),
        click.option("--normalization", default=None,
                     help="Vector normalization: raw, emotion-mean, baseline-mean, neutral-pc, unit, zscore [default: raw]."),
        click.option("--n-pcs", type=int, default=None, help="Baseline PCs removed by neutral-pc [default: 3]."),
        click.option("--rdm", "rdm_method", default=None,
                     help="Dissimilarity: cosine, correlation, euclidean, crossval-euclidean [default: cosine]."),
        click.option("--rank", default=None, help="RDM comparison: spearman, pearson, kendall-b, kendall-a, rho-a, cosine [default: spearman]."),
        click.option("--bootstrap", "scheme", default=None,
                     help="Resample emotions, prompts or both [default: emotions; prompts and both are not "
                          "calibrated, docs/calibration.md]."),
        click.option("--ci", default=None, help=DEFAULT_CI_HELP),
        click.option("--n-boot", type=int, default=None, help="Bootstrap resamples of the main comparison [default: 2000]."),
        click.option("--permutations", type=int, default=None, help="Mantel permutations [default: 9999]."),
        click.option("--confidence", type=float, default=None, help="Confidence level [default: 0.95]."),
        click.option("--adjust", default=None, help="Primary p adjustment, holm or bh (both are tabulated) [default: holm]."),
        click.option("--n-splits", type=int, default=None, help="Half splits for the noise ceilings [default: 100]."),
        click.option("--layer-points", type=int, default=None,
                     help="Relative depths of the layer-sensitivity curve; 0 = no curve [default: 8]."),
        click.option("--layer-n-boot", type=int, default=None, help="Resamples at each depth [default: 500]."),
        click.option("--last-k-check", type=int, default=None,
                     help="Also show rho for the mean of the final K layers; 0 = not [default: 4]."),
        click.option("--geometry-layers", type=int, default=None,
                     help="Layers per file for the anisotropy curves; 0 = no anisotropy section [default: 8]."),
        click.option("--geometry-n-boot", type=int, default=None, help="Resamples of the anisotropy CIs [default: 500]."),
        click.option("--decompose", "decompose_mode", type=click.Choice(["auto", "yes", "no"]), default=None,
                     help="Variance decomposition: auto (when the files vary method factors within a model), yes "
                          "(required), no [default: auto]."),
        click.option("--decompose-n-boot", type=int, default=None, help="Resamples of the decomposition CIs [default: 500]."),
        click.option("--maturity", "maturity_mode", type=click.Choice(["auto", "no"]), default=None,
                     help="The a-priori maturity rule on every base model's file (auto) or not (no) [default: auto]."),
        click.option("--maturity-n-boot", type=int, default=None,
                     help="Resamples of the maturity rule's anisotropy CI [default: 1000, the rule's]."),
        click.option("--audit", "audit_path", type=click.Path(dir_okay=False, path_type=str), default=None,
                     help="JSON written by 'rsastats audit --json': adds an audit section."),
        click.option("--hypotheses", "hypotheses", multiple=True, type=click.Path(dir_okay=False, path_type=str),
                     help="A hypothesis (feature CSV or RDM file, as in rsastats hypotheses --models): adds a section "
                          "with every file against every hypothesis. Repeat for several."),
        click.option("--common-emotions", "common_emotions", is_flag=True, default=None,
                     help="The hypotheses section on the emotions every hypothesis (and confound) has, named in the "
                          "report; otherwise a hypothesis that lacks an emotion of the files is an error. The other "
                          "sections use every emotion."),
        click.option("--partial", "partial", multiple=True, type=click.Path(dir_okay=False, path_type=str),
                     help="A confound RDM file or feature CSV: adds the partial Mantel test of every pair (and of every "
                          "file and hypothesis) given the confounds (--rank spearman or pearson). Repeat for several."),
        click.option("--seed", type=click.IntRange(min=0), default=None,
                     help="Seed of every random procedure [default: 0, or the analysis file's]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def config_from_options(files: tuple[str, ...], config_path: str | None, names: tuple[str, ...], **given: Any):
    """The :class:`~rsastats.report.ReportConfig` of the command line: analysis file, then options."""
    from ...report import ReportConfig, load_config

    overrides = {k: v for k, v in given.items() if v is not None}
    if files:
        overrides["files"] = tuple(files)
    if names:
        overrides["names"] = tuple(names)
    if config_path is not None:
        return load_config(config_path, **overrides)
    if not files:
        raise click.UsageError("give FILES or --config analysis.yaml")
    return ReportConfig(**overrides).checked()


@click.command("report")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, path_type=str))
@report_options
@quiet_option
@json_option
def report_command(files, out, config_path, names, reference, title, notes, layer, last_k, normalization, n_pcs,
                   rdm_method, rank, scheme, ci, n_boot, permutations, confidence, adjust, n_splits, layer_points,
                   layer_n_boot, last_k_check, geometry_layers, geometry_n_boot, decompose_mode, decompose_n_boot,
                   maturity_mode, maturity_n_boot, audit_path, hypotheses, common_emotions, partial, seed, quiet,
                   as_json) -> None:
    """Write a report on FILES (activations, vectors or RDMs; at least two): report.md, a self-contained
    index.html, LaTeX tables, report.json and figures (PNG and SVG) in the folder --out.

    It shows RDM heatmaps (emotions in the order of a hierarchical clustering of the reference
    model), 2-D MDS per model, rho for every pair with bootstrap CIs, Mantel p adjusted by Holm and
    Benjamini-Hochberg, noise ceilings and a forest plot, rho across layers, anisotropy per layer,
    when the files vary method factors within a model, the variance decomposition, and the a-priori
    maturity rule (with its text) for every base model; with --hypotheses, every file against each
    hypothesis RDM (as rsastats hypotheses) and with --partial the partial Mantel tests. Every
    caption states n, the interval method, the resamples and the seed; the same seed gives the same
    report. The settings are saved as analysis.yaml beside the report.

    \b
    Examples:
      rsastats report runs/*.nc --out reports/mine
      rsastats report a.nc b.nc c.nc --name qwen --name llama --name gemma --out reports/abc --n-boot 5000
      rsastats report --config analysis.yaml --out reports/study --json
      rsastats report a.nc b.nc --hypotheses valence_arousal.csv --partial token_count_rdm.nc --out reports/va
      rsastats report a.nc b.nc --hypotheses builtin:vader-valence --common-emotions --out reports/vader
    """
    from ...report import build_report

    config = config_from_options(
        files, config_path, names, reference=reference, title=title, notes=notes, layer=layer, last_k=last_k,
        normalization=normalization, n_pcs=n_pcs, rdm=rdm_method, rank=rank, bootstrap=scheme, ci=ci, n_boot=n_boot,
        permutations=permutations, confidence=confidence, adjust=adjust, n_splits=n_splits, layer_points=layer_points,
        layer_n_boot=layer_n_boot, last_k_check=last_k_check, geometry_layers=geometry_layers,
        geometry_n_boot=geometry_n_boot, decompose=decompose_mode, decompose_n_boot=decompose_n_boot,
        maturity=maturity_mode, maturity_n_boot=maturity_n_boot, audit=audit_path,
        hypotheses=tuple(hypotheses) or None, common_emotions=common_emotions or None, partial=tuple(partial) or None,
        seed=seed)
    with step_progress() as progress:
        result = build_report(config, out, progress)
    if as_json:
        emit_json(result.to_dict())
        return
    render_summary(result)


def render_summary(result) -> None:
    """Where the report is, and its pairs in one compact table."""
    from rich.table import Table

    k = result.key_numbers
    console = stdout_console()
    table = Table(title=(f"{k['n_models']} models, {k['n_emotions']} emotions: {k['rdm']} RDMs, {k['rank']}, {k['layer']}; "
                         f"{100 * k['confidence']:g}% {k['ci_method']} CI ({k['n_boot']} resamples over {k['bootstrap']}); "
                         f"Mantel p ({k['n_permutations']} permutations); seed {k['seed']}"), title_justify="left")
    ceiling = any(p.get("noise_ceiling") is not None for p in k["pairs"])
    table.add_column("pair", overflow="fold")
    for col in ["rho", "CI", "p (Holm)", "p (BH)"] + (["ceiling"] if ceiling else []):
        table.add_column(col, justify="right", no_wrap=True)
    for p in k["pairs"]:
        row = [f"{p['a']} vs {p['b']}", fmt_estimate(p["rho"], p["ci_low"], p["ci_high"]),
               fmt_ci(p["ci_low"], p["ci_high"]),
               fmt_p(p["p_holm"]),
               fmt_p(p["p_bh"])]
        if ceiling:
            row.append(fmt_number(p.get("noise_ceiling")))
        table.add_row(*row)
    console.print(table)
    hyp = k.get("hypotheses")
    if hyp:
        fits = Table(title=f"files against hypotheses: rho, CI, Mantel p adjusted by {hyp['adjust']}, noise ceiling",
                     title_justify="left")
        for col in ("file", "hypothesis", "rho", "CI", "p (adjusted)", "ceiling"):
            fits.add_column(col, justify="left" if col in ("file", "hypothesis") else "right")
        for f in hyp["fits"]:
            fits.add_row(f["data"], f["hypothesis"], fmt_estimate(f["rho"], f["ci_low"], f["ci_high"]),
                         fmt_ci(f["ci_low"], f["ci_high"]),
                         fmt_p(f["p_adjusted"]), fmt_number(f.get("noise_ceiling")))
        console.print(fits)
    for note in result.notes:
        console.print(f"  note: {note}", highlight=False)
    console.print(f"report written to {result.html} (and report.md, report.json, tables/, figures/ in {result.out})",
                  highlight=False)
