"""``rsastats describe FILE``: what a file holds, and whether it is valid."""

from __future__ import annotations

import click

from ..options import json_option
from ..output import emit_json, stdout_console
from ...io import unknown_attributes
from ...io.describe import describe_file

_SHOWN_ATTRS = ("model", "family", "variant", "method", "pooling", "precision", "experiment", "stimulus_set",
                "template", "chat_template", "temperature", "top_p", "max_new_tokens", "seed", "last_layer_norm",
                "rdm_method", "layer_convention", "layer_offset", "source_layer_convention", "model_hint", "source",
                "source_format", "created", "software", "imported_at", "imported_by")


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@json_option
def describe(file: str, as_json: bool) -> None:
    """Show what FILE holds (dimensions, labels, attributes) and check that it is valid.

    Exit status 0 for a valid file; 2 with a one-line 'error:' naming the problem otherwise.

    \b
    Example:
      rsastats describe runs/smollm2-comprehension.nc
      rsastats describe runs/smollm2-comprehension.nc --json
    """
    info = describe_file(file)
    if as_json:
        emit_json(info.to_dict())
        return
    from rich.table import Table

    table = Table(title=f"[green]valid[/green] {info.kind} file", show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("file", info.path)
    table.add_row("schema", info.schema)
    table.add_row("dimensions", ", ".join(f"{k}={v}" for k, v in info.dims.items()))
    table.add_row("emotions", f"{len(info.emotions)}: " + ", ".join(info.emotions))
    if info.layers is not None:
        table.add_row("layers", _ranges(info.layers))
    if info.prompts_valid is not None:
        counts = sorted(set(info.prompts_valid.values()))
        table.add_row("valid prompts", f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} per emotion")
    if info.kind == "activations":
        table.add_row("baseline", f"{info.n_baseline} samples" if info.has_baseline else "none")
    unknown = unknown_attributes(info.attrs)
    for key in _SHOWN_ATTRS:
        value = info.attrs.get(key)
        if value not in (None, "") and key not in unknown:
            table.add_row(key, str(value))
    if unknown:
        table.add_row("unknown", ", ".join(sorted(unknown)))
    stdout_console().print(table)


def _ranges(values: list[int]) -> str:
    """[0,1,2,3,7] -> '0-3, 7' (layer lists are long)."""
    out: list[str] = []
    start = prev = values[0]
    for v in values[1:] + [None]:  # type: ignore[list-item]
        if v is not None and v == prev + 1:
            prev = v
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(out) + f"  ({len(values)} layer{'' if len(values) == 1 else 's'})"
