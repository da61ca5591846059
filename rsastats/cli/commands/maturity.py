"""``rsastats maturity BASE_FILES...``: the a-priori maturity rule, from base models only."""

from __future__ import annotations

from typing import Any, Sequence

import click

from ...cliutil import emit_json, json_option, progress_bar, quiet_option, seed_option, stdout_console
from .geometry import fmt, fmt_ci, parse_layer_option


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=str))
@click.option("--layer", "layer_text", default="last", show_default=True, metavar="L|last",
              help="The analysis layer: the layer at which base and instruct RDMs are (or will be) compared.")
@click.option("--n-boot", type=click.IntRange(min=2), default=None,
              help="Bootstrap resamples for the anisotropy CI (default: the rule's, 1000).")
@click.option("--assume-base", is_flag=True,
              help="Accept files whose 'variant' attribute is unknown as base models (recorded in the output). "
                   "Instruct files are always refused.")
@seed_option
@quiet_option
@json_option
def maturity_command(files: tuple[str, ...], layer_text: str, n_boot: int | None, assume_base: bool, seed: int,
                     quiet: bool, as_json: bool) -> None:
    """Classify each base model as mature, immature or indeterminate with the a-priori rule.

    The rule was fixed before any base x instruct outcome was looked at and uses only two
    quantities measured on the base model at the analysis layer: baseline anisotropy (must be
    below 0.90) and the split-half reliability of the emotion RDM (must be above 0.70), each with
    its 95% CI; a CI that straddles a threshold gives 'indeterminate'.  Instruct files are refused.
    See docs/maturity.md for the justification.

    \b
    Examples:
      rsastats maturity qwen-base.nc llama-base.nc gemma-base.nc
      rsastats maturity runs/*-base.nc --layer 12 --json
    """
    from ...maturity import MATURITY_RULE, BaseModel, classify_maturity

    layer = parse_layer_option(layer_text)
    if layer == "all" or (isinstance(layer, list) and len(layer) != 1):
        raise click.BadParameter("the rule is evaluated at one analysis layer", param_hint="--layer")
    layer = layer if isinstance(layer, str) else layer[0]
    models = [BaseModel.from_file(path, assume_base=assume_base) for path in files]  # refuse before any work
    results = []
    with progress_bar("maturity", len(models)) as advance:
        for model in models:
            results.append(classify_maturity(model, layer=layer, n_boot=n_boot, seed=seed))
            advance(1)
    for result in results:
        for item in result.inputs:
            if item.side == "missing":
                click.echo(f"warning: {result.source}: {item.name} not measurable: {item.note}", err=True)
    if as_json:
        emit_json({"rule": MATURITY_RULE.to_dict(), "rule_fingerprint": MATURITY_RULE.fingerprint(),
                   "rule_statement": MATURITY_RULE.statement(), "seed": seed,
                   "models": [r.to_dict() for r in results]})
        return
    render_maturity(results, stdout_console())


def render_maturity(results: Sequence[Any], console: Any) -> None:
    """The rule, each model's inputs with CIs, its class, and the declared sensitivity analysis."""
    from rich.table import Table

    rule = results[0].rule
    console.print(f"[bold]Maturity rule[/bold] {rule.name} (fingerprint {rule.fingerprint()})")
    console.print(rule.statement())
    pct = f"{100 * rule.confidence:g}% CI"
    table = Table(title="maturity of base models (inputs measured on the base model only)", title_justify="left")
    for column in ("model", "layer", "anisotropy", pct, "reliability", pct + " ", "class", "by point estimates"):
        table.add_column(column, overflow="fold")
    for r in results:
        a, rel = r["baseline_anisotropy"], r["rdm_reliability"]
        table.add_row(r.model or r.source, str(r.layer), fmt(a.estimate), fmt_ci(a.ci_low, a.ci_high),
                      fmt(rel.estimate), fmt_ci(rel.ci_low, rel.ci_high), f"[bold]{r.maturity}[/bold]",
                      r.point_maturity)
    console.print(table)
    for r in results:
        console.print(f"  {r.model or r.source}: {r.reason}" + (" (variant assumed base)" if r.assumed_base else ""))
    sens = Table(title="declared sensitivity analysis: class under other thresholds", title_justify="left")
    sens.add_column("max anisotropy / min reliability")
    for r in results:
        sens.add_column(r.model or r.source, overflow="fold")
    for k, (a, rel, _) in enumerate(results[0].sensitivity):
        sens.add_row(f"{a:g} / {rel:g}", *[r.sensitivity[k][2] for r in results])
    console.print(sens)
