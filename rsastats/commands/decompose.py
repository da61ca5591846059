"""``rsastats decompose FILES…``: how much each layer of method choices moves the emotion geometry."""

from __future__ import annotations

import math

import click

from ..cliutil import emit_json, json_option, progress_bar, quiet_option, scheduler_option, seed_option, stdout_console
from ..intervals import CI_METHODS


def _fmt(x: float, digits: int = 3) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _fmt_ci(ci: tuple[float, float]) -> str:
    return "—" if not all(math.isfinite(v) for v in ci) else f"{ci[0]:.3f}–{ci[1]:.3f}"


def _short_note(note: str) -> str:
    """A few words for the table; the full note is printed under it."""
    if not note:
        return ""
    if note.startswith("not estimable"):
        return "not estimable"
    parts = []
    if "boundary" in note:
        parts.append("singular")
    if "includes" in note:
        parts.append("confounded")
    return ", ".join(parts) or "see note"


def _fmt_p(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--layer", type=int, default=None,
              help="Layer label, or a negative position from the end of each file's layers [default: each file's last layer].")
@click.option("--last-k", type=int, default=None, help="Average each file's final K layers instead of one layer.")
@click.option("--normalization", default="raw", show_default=True,
              help="Vector normalization before the RDM: raw, emotion-mean, baseline-mean, neutral-pc, unit, zscore.")
@click.option("--n-pcs", type=int, default=3, show_default=True, help="Baseline PCs removed by --normalization neutral-pc.")
@click.option("--rdm", "rdm_method", default="cosine", show_default=True,
              help="Dissimilarity of the emotion vectors: cosine, correlation or euclidean.")
@click.option("--n-boot", type=click.IntRange(min=0), default=1000, show_default=True,
              help="Bootstrap replicates over emotions for the CIs (0: no CIs).")
@click.option("--ci", "ci_method", type=click.Choice(CI_METHODS), default="bca", show_default=True,
              help="Bootstrap interval method (BCa: coverage nearest nominal in the calibration, docs/decomposition.md).")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence level of the intervals.")
@click.option("--response", type=click.Choice(["rank", "zscore"]), default="rank", show_default=True,
              help="Transform of each file's RDM cells: ranks (shares speak Spearman) or z-scores.")
@click.option("--components", default=None, metavar="LIST",
              help="Comma-separated components to fit, factors joined by ':' (default: model, method, precision, "
                   "experiment, the generation sub-parameters, model:method, model:precision, model:experiment).")
@click.option("--engine", type=click.Choice(["exact", "statsmodels"]), default="exact", show_default=True,
              help="exact: REML on per-cell sufficient statistics (fast); statsmodels: the same model via MixedLM (slow).")
@click.option("--no-test", "no_test", is_flag=True, help="Skip the likelihood-ratio tests.")
@seed_option
@scheduler_option
@quiet_option
@json_option
def decompose(files: tuple[str, ...], layer: int | None, last_k: int | None, normalization: str, n_pcs: int,
              rdm_method: str, n_boot: int, ci_method: str, confidence: float, response: str, components: str | None,
              engine: str, no_test: bool, seed: int, scheduler: str | None, quiet: bool, as_json: bool) -> None:
    """Partition the variation of emotion geometry across FILES into the study's method layers.

    FILES are activations or vector-set files (or RDM files of the --rdm dissimilarity) of the same
    models and emotions under varied conditions; their attributes (model, method, temperature,
    top_p, max_new_tokens, template, seed, precision, experiment) define the design.  Each file's
    RDM (cosine by default) is rank-transformed and
    a mixed model with random cell-by-factor effects gives every component's share of the variance,
    a bootstrap CI over emotions and a likelihood-ratio test (p adjusted for cells that share an
    emotion).  Components the files cannot estimate are listed with the reason.  Also shown: rho
    between files that differ in one layer only.  See docs/decomposition.md.

    \b
    Example:
      rsastats decompose runs/*.nc --n-boot 2000 --seed 1
      rsastats decompose runs/*.nc --json > decomposition.json
    """
    from ..variance import decompose as run_decompose

    comps = None if components is None else [c.strip() for c in components.split(",") if c.strip()]
    with progress_bar("bootstrap over emotions", n_boot) as advance:
        result = run_decompose(list(files), layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs,
                               rdm=rdm_method, components=comps, response=response, n_boot=n_boot,
                               confidence=confidence, ci_method=ci_method, engine=engine, test=not no_test,
                               seed=seed, progress=advance, scheduler=scheduler)
    if as_json:
        emit_json(result.to_dict())
        return
    _render(result)


def _render(result) -> None:
    from rich import box
    from rich.table import Table

    from ..variance import LAYERS

    console = stdout_console()
    diag = result.diagnostics
    level = int(round(diag.confidence * 100))
    title = (f"Variance decomposition: {diag.n_files} files, {diag.n_emotions} emotions, {diag.n_cells} cells "
             f"({diag.method}, {diag.response} response)")
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for name, justify in (("layer / component", "left"), ("share", "right"), (f"{level}% CI", "right"),
                          ("LRT p", "right"), ("note", "left")):
        table.add_column(name, justify=justify, no_wrap=True)
    layer_rows = {row.layer: row for row in result.layers}
    for layer_name in LAYERS:
        members = [c for c in result.components if c.layer == layer_name]
        if not members:
            continue
        if len(members) > 1:  # a layer heading with its total, then its components indented
            total = layer_rows[layer_name]
            table.add_row(f"[bold]{layer_name}[/bold]", f"[bold]{_fmt(total.share)}[/bold]", _fmt_ci(total.share_ci),
                          "", "")
        for comp in members:
            label = f"  {comp.name}" if len(members) > 1 else f"[bold]{layer_name}[/bold]"
            short = "" if comp.name == "residual" else _short_note(comp.note)
            table.add_row(label, _fmt(comp.share), _fmt_ci(comp.share_ci), _fmt_p(comp.lrt_p_adjusted), short,
                          style=None if comp.estimable else "dim")
    console.print(table)
    for comp in result.components:
        if comp.note and comp.name != "residual":
            console.print(f"  {comp.name}: {comp.note}")

    if result.contrasts:
        simple = Table(title="Spearman rho between files that differ in one layer only", title_justify="left",
                       box=box.SIMPLE_HEAD)
        for name in ("factor", "levels", "pairs", "mean rho", f"{level}% CI", "implied"):
            simple.add_column(name, overflow="fold", no_wrap=name != "levels")
        for row in result.contrasts:
            levels = "between models" if row.factor == "model" else row.levels
            simple.add_row(row.factor, levels, str(row.n_pairs), _fmt(row.mean_rho), _fmt_ci(row.ci),
                           _fmt(row.implied_rho))
        console.print(simple)

    console.print(f"model: {diag.formula}")
    console.print(f"fit: {diag.engine} {diag.method}, converged={'yes' if diag.converged else 'NO'}, "
                  f"singular={'yes' if diag.singular else 'no'}, logLik={diag.log_likelihood:.3f}; "
                  f"CIs: {diag.ci_method} bootstrap over emotions, {diag.n_boot} replicates, seed {diag.seed}; "
                  "LRT p: chi-bar-square, adjusted for cells sharing an emotion")
    for line in diag.warnings:
        console.print(f"[yellow]warning:[/yellow] {line}")
    for line in diag.notes:
        console.print(f"note: {line}")
