"""``rsastats maturity BASE_FILES...``: the a-priori maturity rule, from base models only."""

from __future__ import annotations

import click

from ..cliutil import emit_json, json_option, progress_bar, quiet_option, seed_option, stdout_console
from ..geometry import MATURITY_RULE, BaseModel, classify_maturity
from .geometry_tables import render_maturity
from .layer_option import parse_layer_option


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
