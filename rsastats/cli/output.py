"""What the command line prints on stdout: exactly one JSON object with ``--json``, otherwise rich
tables for people (rich is imported only when a table is printed)."""

from __future__ import annotations

import json
from typing import Any

import click

from ..results import to_jsonable

__all__ = ["emit_json", "stdout_console"]


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout."""
    click.echo(json.dumps(to_jsonable(obj), indent=2, allow_nan=False))


# Width of the text written to a pipe or file: wide enough that no table or note is cut or wrapped.
PIPE_WIDTH = 1000


def stdout_console():
    """A rich console on stdout (imported lazily: rich is only needed for people).  On a terminal it
    takes the terminal's width; written to a pipe or file (no terminal, no ``COLUMNS``) it is not cut to
    rich's default 80 columns."""
    import os
    import sys

    from rich.console import Console

    piped = not sys.stdout.isatty() and not os.environ.get("COLUMNS")
    return Console(highlight=False, soft_wrap=False, width=PIPE_WIDTH if piped else None)
