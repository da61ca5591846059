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


def note_mark(notes: list[str], note: str) -> str:
    """``[k]``: the number of ``note`` among the notes a table prints below itself (``notes``, added if new)."""
    if note not in notes:
        notes.append(note)
    return f"[{notes.index(note) + 1}]"


def with_ci_note(notes: list[str], value, low, high, note: str, caution: str = "") -> str:
    """The value with its interval; where the interval is missing, a footnote mark (:func:`note_mark`) for why, and
    where it is given with a ``caution`` (``ci_caution``), a mark for that."""
    from ..formatting import NO_CI, fmt_with_ci, is_missing

    text = fmt_with_ci(value, low, high, missing=NO_CI)
    if is_missing(low) or is_missing(high):
        return f"{text} {note_mark(notes, note)}" if note else text
    return f"{text} {note_mark(notes, 'caution: ' + caution)}" if caution else text
