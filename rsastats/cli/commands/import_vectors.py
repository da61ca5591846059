"""``rsastats import SRC --out FILE``: bring a published vector set, an RDM or per-prompt activations made by another
tool into the rsastats format."""

from __future__ import annotations

import os
from pathlib import Path

import click
import numpy as np

from ..options import json_option
from ..output import emit_json, stdout_console
from ...exceptions import ImportFormatError, ValidationError
from ...io import import_activations, import_rdm, import_vectors, load_mapping_text, output_lock, write_dataset
from ...io.schema import netcdf_attributes


def _read_meta(path: str | None) -> dict:
    """The ``--meta`` attributes: a JSON or YAML mapping (UTF-8), each value one NetCDF stores."""
    if path is None:
        return {}
    p = Path(path)
    meta = load_mapping_text(p, "metadata file")
    if not isinstance(meta, dict):
        raise ImportFormatError("metadata must be a mapping of attribute names to values", path=p)
    netcdf_attributes(meta, p)  # every value storable, or an error naming the metadata file
    return meta


_CONVENTIONS = ("hidden-states", "hf", "block", "repeng", "steering-vectors")


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
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--out", "-o", required=True, type=click.Path(dir_okay=False, path_type=str), help="NetCDF file to write.")
@click.option("--labels", help="Emotion labels in row order: comma-separated, or a file with one per line.")
@click.option("--key", help="Array holding the vectors in a multi-array .npz/.safetensors/.pt file.")
@click.option("--emotion-column", default="emotion", show_default=True, help="Label column of a CSV/TSV file.")
@click.option("--meta", "meta_path", type=click.Path(dir_okay=False, path_type=str),
              help="JSON/YAML file of provenance attributes (model, method, precision, pooling, experiment, chat_template, "
                   "and the producer's software and created date). Attributes not given are recorded as unknown.")
@click.option("--layer-convention", type=click.Choice(_CONVENTIONS), default=None,
              help="What the source's layer indices mean: hidden-states (hf: index k = hidden_states[k], 0 = embeddings, "
                   "as rsastats), or block (repeng, steering-vectors: block i = hidden_states[i+1]). Default: block for "
                   "repeng .gguf files, else unknown.")
@click.option("--keep-layer-indices", is_flag=True,
              help="Store the producer's layer indices (with their convention) instead of converting them to rsastats layers.")
@click.option("--rdm", "as_rdm", is_flag=True,
              help="The source is an RDM: a square CSV/TSV with the emotion labels as header and first column "
                   "(implied by an rsatoolbox .hdf5/.h5 file).")
@click.option("--rdm-index", type=int, default=0, show_default=True, help="Which RDM of an rsatoolbox file holding several.")
@click.option("--prompts", "per_prompt", is_flag=True,
              help="The sources hold one activation per prompt: an (emotion, prompt, hidden) or (emotion, prompt, "
                   "layer, hidden) array, one (prompt, hidden) array per emotion, or a CSV/TSV with one row per prompt "
                   "(and an optional text column). Writes an activations file, which rho_corrected and the noise "
                   "ceilings need. Emotions may have different numbers of prompts; a prompt all NaN in a padded array "
                   "is invalid.")
@click.option("--text-column", help="With --prompts: the column of a CSV/TSV file that holds each prompt's text "
                                    "(default: 'text', where there is one).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists (never one of the inputs).")
@json_option
def import_command(sources: tuple[str, ...], out: str, labels: str | None, key: str | None, emotion_column: str,
                   meta_path: str | None, layer_convention: str | None, keep_layer_indices: bool, as_rdm: bool,
                   rdm_index: int, per_prompt: bool, text_column: str | None, overwrite: bool, as_json: bool) -> None:
    """Import vectors or an RDM made by another tool as an rsastats file.

    SOURCES: one file (.npy .npz .pt .safetensors .csv .tsv, or a repeng control-vector .gguf), a folder
    of per-emotion files (happy.gguf, happy.npy, happy.pt, or happy/layer_12.npy), or several per-emotion
    files. With --rdm (or an rsatoolbox .hdf5 file): an RDM. With --prompts: per-prompt activations
    (an activations file, as `rsastats extract` writes). .pt files are read with
    torch.load(weights_only=True), which refuses pickled objects. Layer indices are converted to
    rsastats layers (hidden_states index) when their convention is known; see docs/file-format.md.
    An existing --out is replaced only with --overwrite, and never when it is one of the inputs.

    \b
    Examples:
      rsastats import paper_vectors.npy --labels emotions.txt --meta paper.json --out paper.nc
      rsastats import repeng_vectors/ --out repeng.nc          # happy.gguf, sad.gguf, ...
      rsastats import sv.pt --layer-convention steering-vectors --out sv.nc
      rsastats import rdm.csv --rdm --out rdm.nc
      rsastats import acts.npy --prompts --labels emotions.txt --out acts.nc   # (emotion, prompt, hidden)
    """
    _check_out(out, overwrite, list(sources) + [p for p in (labels, meta_path) if p is not None and Path(p).is_file()])
    meta = _read_meta(meta_path)
    rdm_suffix = all(Path(s).suffix.lower() in (".hdf5", ".h5") for s in sources)
    with output_lock(out):  # one writer of --out from the checks to the final rename
        ds = _read_sources(sources, meta, as_rdm or rdm_suffix, labels=labels, key=key, emotion_column=emotion_column,
                           layer_convention=layer_convention, keep_layer_indices=keep_layer_indices, rdm_index=rdm_index,
                           per_prompt=per_prompt, text_column=text_column)
        path = write_dataset(ds, out, overwrite=overwrite)
    summary = _summary(ds, path, sources)
    if as_json:
        emit_json(summary)
    else:
        stdout_console().print(_summary_line(summary))


def _read_sources(sources: tuple[str, ...], meta: dict, rdm: bool, *, labels, key, emotion_column, layer_convention,
                  keep_layer_indices: bool, rdm_index: int, per_prompt: bool = False, text_column: str | None = None):
    """The dataset of the sources: an RDM, or vectors or activations with their layers converted by convention."""
    if rdm and per_prompt:
        raise ImportFormatError("--prompts reads per-prompt activations, not an RDM; give one of --prompts and --rdm "
                                "(an .hdf5/.h5 file is an RDM)", path=sources[0])
    if text_column is not None and not per_prompt:
        raise ImportFormatError("--text-column applies with --prompts only (a vector set holds no prompts)",
                                path=sources[0])
    if per_prompt:
        return import_activations(list(sources) if len(sources) > 1 else sources[0], labels=labels, key=key,
                                  emotion_column=emotion_column, attrs=meta, layer_convention=layer_convention,
                                  keep_layer_indices=keep_layer_indices, text_column=text_column)
    if rdm:
        if len(sources) != 1:
            raise ImportFormatError("an RDM is imported from one file; several were given", path=sources[1])
        if layer_convention or keep_layer_indices:
            raise ImportFormatError("an RDM has no layer axis; --layer-convention and --keep-layer-indices do not apply",
                                    path=sources[0])
        return import_rdm(sources[0], labels=labels, index=rdm_index, attrs=meta)
    return import_vectors(list(sources) if len(sources) > 1 else sources[0], labels=labels, key=key,
                          emotion_column=emotion_column, attrs=meta, layer_convention=layer_convention,
                          keep_layer_indices=keep_layer_indices)


def _summary(ds, path: Path, sources: tuple[str, ...]) -> dict:
    kind = next(k for k, var in (("rdm", "rdm"), ("activations", "activations"), ("vectors", "vectors"))
                if var in ds.data_vars)
    summary = {"out": str(path), "source": ", ".join(sources), "kind": kind,
               "n_emotions": int(ds.sizes["emotion"]), "source_sha256": ds.attrs["source_sha256"],
               "unknown_attributes": [x for x in str(ds.attrs.get("unknown_attributes", "")).split(", ") if x]}
    if kind == "activations":
        valid = ds["valid"].values.astype(bool) if "valid" in ds.data_vars else np.ones(
            (ds.sizes["emotion"], ds.sizes["prompt"]), dtype=bool)
        counts = valid.sum(axis=1)
        summary.update({"n_prompts": int(ds.sizes["prompt"]), "valid_prompts_per_emotion": [int(counts.min()),
                                                                                             int(counts.max())]})
    if "hidden" in ds.sizes:
        summary["hidden"] = int(ds.sizes["hidden"])
    if "layer" in ds.sizes:
        summary["layers"] = [int(x) for x in ds["layer"].values]
        summary["layer_convention"] = str(ds.attrs.get("layer_convention", "")) or "unknown"
    return summary


def _summary_line(summary: dict) -> str:
    if summary["kind"] == "rdm":
        what = f"an RDM of {summary['n_emotions']} emotions"
    else:
        what = f"{summary['n_emotions']} emotion{'' if summary['n_emotions'] == 1 else 's'}"
        if summary["kind"] == "activations":
            low, high = summary["valid_prompts_per_emotion"]
            what += f" x {low if low == high else f'{low}-{high}'} prompts"
        what += f" x {summary['hidden']} dims"
        if "layers" in summary:
            layers = summary["layers"]
            what += (f" x {len(layers)} layers ({layers[0]}..{layers[-1]}, convention {summary['layer_convention']})"
                     if len(layers) > 1 else f" at layer {layers[0]} (convention {summary['layer_convention']})")
            if summary["kind"] == "vectors" and len(layers) > 1 and summary["layer_convention"] == "unknown":
                what += " (if that axis holds prompts, not layers, import with --prompts)"
    unknown = summary["unknown_attributes"]
    tail = f"; unknown: {', '.join(unknown)} (give them with --meta)" if unknown else ""
    return f"wrote {summary['out']}: {what} from {summary['source']}{tail}"
