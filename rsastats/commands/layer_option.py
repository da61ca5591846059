"""The ``--layer`` option of ``rsastats geometry`` and ``rsastats maturity``: which layers to analyse."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["parse_layer_option"]


def parse_layer_option(value: str) -> Any:
    """``"all"``, ``"last"``, one integer or a comma-separated list of integers/``last``."""
    text = value.strip().lower()
    if text in ("all", "last"):
        return text
    items = []
    for part in text.split(","):
        part = part.strip()
        if part == "last":
            items.append("last")
            continue
        try:
            items.append(int(part))
        except ValueError:
            raise click.BadParameter(f"{value!r}: give a layer number, a negative position (-1 = last), "
                                     "'last', 'all' or a comma-separated list") from None
    return items
