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


def stdout_console():
    """A rich console on stdout (imported lazily: rich is only needed for people)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)
