"""``rsastats import SRC --out FILE``: bring a published vector set into the rsastats format."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from ..options import json_option
from ..output import emit_json, stdout_console
from ...exceptions import ImportFormatError, ValidationError
from ...io import import_vectors, output_lock, write_dataset


def _read_meta(path: str | None) -> dict:
    if path is None:
        return {}
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(f"cannot read metadata file: {exc.strerror}", path=p) from None
    try:
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            meta = yaml.safe_load(text)
        else:
            meta = json.loads(text)
    except Exception as exc:
        raise ImportFormatError(f"metadata is not valid {'YAML' if p.suffix.lower() in ('.yaml', '.yml') else 'JSON'}: {' '.join(str(exc).split())[:160]}", path=p) from None
    if not isinstance(meta, dict):
        raise ImportFormatError("metadata must be a mapping of attribute names to values", path=p)
    return meta


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: compare the names
        return os.path.realpath(a) == os.path.realpath(b)


def _check_out(out: str, overwrite: bool, inputs: list[str]) -> None:
    """Refuse an --out that is one of the inputs (even with --overwrite), or that exists without --overwrite."""
    for given in inputs:
        if _same_file(out, given):
            raise ValidationError(f"is also an input of this import ({given}); give another --out", path=out)
    if os.path.lexists(out) and not overwrite:
        raise ValidationError("already exists; pass --overwrite to replace it", path=out)


@click.command("import")
@click.argument("source", type=click.Path(dir_okay=False, path_type=str))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=str), help="Vector-set NetCDF file to write.")
@click.option("--labels", help="Emotion labels in row order: comma-separated, or a file with one per line.")
@click.option("--key", help="Array holding the vectors in a multi-array .npz/.safetensors/.pt file.")
@click.option("--emotion-column", default="emotion", show_default=True, help="Label column of a CSV/TSV file.")
@click.option("--meta", "meta_path", type=click.Path(dir_okay=False, path_type=str),
              help="JSON/YAML file of provenance attributes (model, method, precision, pooling, experiment, ...).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists (never one of the inputs).")
@json_option
def import_command(source: str, out: str, labels: str | None, key: str | None, emotion_column: str,
                   meta_path: str | None, overwrite: bool, as_json: bool) -> None:
    """Import a published emotion-vector set (.npy, .npz, .pt, .safetensors, .csv) as a vector-set file.

    .pt files are read with torch.load(weights_only=True), which refuses pickled code. An existing
    --out is replaced only with --overwrite, and never when it is one of the inputs.

    \b
    Example:
      rsastats import paper_vectors.npy --labels emotions.txt --meta paper.json --out paper.nc
    """
    _check_out(out, overwrite, [source] + [p for p in (labels, meta_path) if p is not None and Path(p).is_file()])
    with output_lock(out):  # one writer of --out from the checks to the final rename
        ds = import_vectors(source, labels=labels, key=key, emotion_column=emotion_column, attrs=_read_meta(meta_path))
        path = write_dataset(ds, out, overwrite=overwrite)
    summary = {"out": str(path), "source": source, "n_emotions": int(ds.sizes["emotion"]), "hidden": int(ds.sizes["hidden"]),
               "source_sha256": ds.attrs["source_sha256"]}
    if as_json:
        emit_json(summary)
    else:
        stdout_console().print(f"wrote {path}: {summary['n_emotions']} emotions x {summary['hidden']} dims from {source}")
