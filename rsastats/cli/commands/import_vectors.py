"""``rsastats import SRC --out FILE``: bring a published vector set into the rsastats format."""

from __future__ import annotations

from pathlib import Path

import click

from ..options import json_option
from ..output import emit_json, stdout_console
from ...exceptions import ImportFormatError
from ...io import import_vectors, load_mapping_text, write_dataset
from ...io.schema import netcdf_attributes


def _read_meta(path: str | None) -> dict:
    """The ``--meta`` attributes: a JSON or YAML mapping (UTF-8), each value one NetCDF stores."""
    if path is None:
        return {}
    p = Path(path)
    meta = load_mapping_text(p, "metadata file")
    if not isinstance(meta, dict):
        raise ImportFormatError("metadata must be a mapping of attribute names to values", path=p)
    return netcdf_attributes(meta, p)


@click.command("import")
@click.argument("source", type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=str), help="Vector-set NetCDF file to write.")
@click.option("--labels", help="Emotion labels in row order: comma-separated, or a file with one per line.")
@click.option("--key", help="Array holding the vectors in a multi-array .npz/.safetensors/.pt file.")
@click.option("--emotion-column", default="emotion", show_default=True, help="Label column of a CSV/TSV file.")
@click.option("--meta", "meta_path", type=click.Path(dir_okay=False, path_type=str),
              help="JSON/YAML file of provenance attributes (model, method, precision, pooling, experiment, ...).")
@json_option
def import_command(source: str, out: str, labels: str | None, key: str | None, emotion_column: str,
                   meta_path: str | None, as_json: bool) -> None:
    """Import a published emotion-vector set (.npy, .npz, .pt, .safetensors, .csv) as a vector-set file.

    .pt files are read with torch.load(weights_only=True), which refuses pickled code.

    \b
    Example:
      rsastats import paper_vectors.npy --labels emotions.txt --meta paper.json --out paper.nc
    """
    ds = import_vectors(source, labels=labels, key=key, emotion_column=emotion_column, attrs=_read_meta(meta_path))
    path = write_dataset(ds, out)
    summary = {"out": str(path), "source": source, "n_emotions": int(ds.sizes["emotion"]), "hidden": int(ds.sizes["hidden"]),
               "source_sha256": ds.attrs["source_sha256"]}
    if as_json:
        emit_json(summary)
    else:
        stdout_console().print(f"wrote {path}: {summary['n_emotions']} emotions x {summary['hidden']} dims from {source}")
