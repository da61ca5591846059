"""The ``rsastats`` command line.

Subcommands live in ``rsastats/cli/commands/`` and are imported only when used, so that
``rsastats --help`` stays fast and never imports torch.  This module only wires them up;
the plumbing is beside it: ``errors`` (exit codes, one-line errors, the lazy group), ``options``,
``output`` (JSON and tables) and ``progress``.
"""

from __future__ import annotations

import click

from .._version import __version__
from .errors import DEBUG_KEY, LazyGroup

__all__ = ["cli", "main", "SUBCOMMANDS"]

# name -> "module:attribute"; each module defines one click command.
SUBCOMMANDS = {
    "audit": "rsastats.cli.commands.audit:audit_command",
    "decompose": "rsastats.cli.commands.decompose:decompose",
    "describe": "rsastats.cli.commands.describe:describe",
    "extract": "rsastats.cli.commands.extract:extract_command",
    "geometry": "rsastats.cli.commands.geometry:geometry_command",
    "import": "rsastats.cli.commands.import_vectors:import_command",
    "maturity": "rsastats.cli.commands.maturity:maturity_command",
    "compare": "rsastats.cli.commands.compare:compare",
    "matrix": "rsastats.cli.commands.matrix:matrix",
    "hypotheses": "rsastats.cli.commands.hypotheses:hypotheses_command",
    "report": "rsastats.cli.commands.report:report_command",
    "demo": "rsastats.cli.commands.demo:demo_command",
}


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[DEBUG_KEY] = True
    return value


@click.group(cls=LazyGroup, lazy_subcommands=SUBCOMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="rsastats")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
              help="Show a traceback for errors (also RSASTATS_DEBUG=1).")
def cli() -> None:
    """Representational similarity statistics for emotion geometry in language models.

    Every subcommand prints a table, or exactly one JSON object with --json; bad input exits with
    status 2 and one 'error:' line (--debug shows the traceback). See docs/cli.md.

    \b
    Examples:
      rsastats demo                                  # the whole pipeline on the offline models
      rsastats extract --out runs/smollm2.nc         # activations of the default model
      rsastats compare a.nc b.nc                     # rho, CI, Mantel p, n, noise ceilings
      rsastats report runs/*.nc --out reports/mine   # tables and figures: HTML, Markdown, LaTeX
      rsastats describe activations.nc --json
    """


def main() -> None:
    """Console-script entry point."""
    cli.main(prog_name="rsastats")


if __name__ == "__main__":  # pragma: no cover
    main()
