"""Import vector sets and RDMs made by other tools into the rsastats formats.

Vector sets (:func:`import_vectors`): one file whose suffix selects the reader (``arrays``:
``.npy .npz .safetensors .pt .pth .csv .tsv``; ``controlvector``: a repeng ``.gguf`` control
vector, one emotion named by the file's stem), or several files / a folder holding one emotion
each (``folders``).  RDMs (:func:`import_rdm`): a square CSV/TSV or an rsatoolbox hdf5 file
(``rdms``).  Per-prompt activations (:func:`import_activations`): the same array formats and per-emotion files with a
prompt axis (``prompts``), written as an activations file.

Layers: a source with a layer axis records how its indices map onto rsastats layers (layer k =
Hugging Face ``hidden_states[k]``, 0 = embeddings) in ``layer_convention`` and ``layer_offset``
(rsastats layer = stored index + offset).  repeng files are in the "block" convention (block i =
``hidden_states[i + 1]``); other sources say theirs with ``layer_convention=`` (``--layer-convention``),
else it is recorded as unknown.  By default the indices are converted to rsastats layers (the
producer's are kept in ``source_layers``); ``keep_layer_indices=True`` stores the producer's.

Provenance: ``source``, ``source_format``, ``source_sha256``, ``imported_by`` (this program's
software), ``imported_at``, and what the caller passes in ``attrs``.  Every required attribute not
given, the producer's ``software`` and ``created`` included, is stored as ``""`` and named in
``unknown_attributes``: never a default value.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from ...exceptions import ImportFormatError, InputError, LabelError
from ..construct import make_activations, make_rdm, make_vectors
from ..files import file_sha256
from ..schema import LAYER_CONVENTIONS, layer_convention_name, software_versions, utc_now
from ..text import read_text_file
from .arrays import ARRAY_FORMATS, read_array_file
from .controlvector import read_control_vector
from .entries import VectorTable, shape_text
from .folders import PER_EMOTION_SUFFIXES, folder_files, layer_named, read_layer_named_files, read_per_emotion_files
from .probes import is_concept_probe_root, read_concept_probes
from .prompts import read_prompt_table
from .rdms import RDM_FORMATS, read_rdm_file

__all__ = ["IMPORT_FORMATS", "RDM_FORMATS", "import_vectors", "import_activations", "import_rdm", "read_labels"]

IMPORT_FORMATS = {**ARRAY_FORMATS, ".gguf": "gguf"}


def read_labels(labels: Sequence[str] | str | os.PathLike | None) -> list[str] | None:
    """Labels as a list: given directly, or read from a text file with one label per line."""
    if labels is None:
        return None
    if isinstance(labels, (str, os.PathLike)) and Path(labels).is_file():
        lines = read_text_file(labels, "labels file").splitlines()
        return [line.strip() for line in lines if line.strip()]
    if isinstance(labels, str):
        return [part.strip() for part in labels.split(",")]
    return [str(x) for x in labels]


def _sources_sha256(paths: Sequence[Path]) -> str:
    """One checksum for several files: sha256 of their ``sha256sum`` lines, sorted by name."""
    base = paths[0] if paths[0].is_dir() else paths[0].parent
    files = sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file())
    lines = "".join(f"{file_sha256(f)}  {f.relative_to(base).as_posix() if f.is_relative_to(base) else f.name}\n"
                    for f in files)
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _read_table(paths: list[Path], given: list[str] | None, key: str | None, emotion_column: str) -> tuple[VectorTable, str]:
    """The vector table of the sources and their format name."""
    if len(paths) == 1 and paths[0].is_dir() and is_concept_probe_root(paths[0]):
        return read_concept_probes(paths[0], given, key), "concept-probes"
    if len(paths) > 1 or paths[0].is_dir():
        members = folder_files(paths[0]) if paths[0].is_dir() else paths
        if layer_named(members):
            table = read_layer_named_files(members, given, paths[0])
            return table, "emotion-probes" if table.convention == "block" else "npy-layer-named"
        kind = "npy-folder" if members[0].is_dir() else members[0].suffix.lower().lstrip(".").replace("pth", "pt")
        return read_per_emotion_files(members, given, paths[0]), f"{kind}-per-emotion"
    p = paths[0]
    suffix = p.suffix.lower()
    if suffix == ".gguf":
        directions, info = read_control_vector(p)
        labels = given or [p.stem]
        if len(labels) != 1:
            raise LabelError(f"a control-vector file holds one emotion; {len(labels)} --labels given", path=p)
        layers = sorted(directions)
        table = VectorTable(np.stack([directions[i] for i in layers])[None], labels, layers, "block", info)
        return table, "gguf-controlvector"
    fmt = ARRAY_FORMATS.get(suffix)
    if fmt is None:
        raise ImportFormatError(f"unknown vector-set format {p.suffix!r}; expected one of "
                                f"{', '.join(sorted(IMPORT_FORMATS))}, or a folder of per-emotion files", path=p)
    return read_array_file(p, fmt, given, key, emotion_column), fmt


def _layer_attrs(table: VectorTable, n_layers: int, convention: str | None, keep: bool) -> tuple[list[int], dict[str, Any]]:
    """The stored layer coordinate and the attributes that say its convention."""
    layers = list(table.layers) if table.layers is not None else list(range(n_layers))
    if len(layers) != n_layers:
        raise ImportFormatError(f"{len(layers)} layer indices for a layer axis of length {n_layers}")
    conv = layer_convention_name(convention) if convention is not None else table.convention
    if conv is None:
        return layers, {"layer_convention": None}
    offset = LAYER_CONVENTIONS[conv]
    if keep:
        return layers, {"layer_convention": conv, "layer_offset": offset}
    converted = [layer + offset for layer in layers]
    return converted, {"layer_convention": "hidden-states", "layer_offset": 0, "source_layer_convention": conv,
                       "source_layers": ", ".join(str(layer) for layer in layers)}


def _provenance(paths: list[Path], fmt: str, attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    one = paths[0] if len(paths) == 1 else None
    return {
        "software": None,  # the producer's, unknown unless the caller gives it
        "created": None,
        **dict(attrs or {}),
        "source": one.name if one is not None else ", ".join(p.name for p in paths),
        "source_format": fmt,
        "source_sha256": file_sha256(one) if one is not None and one.is_file() else _sources_sha256(paths),
        "imported_by": software_versions(),
        "imported_at": utc_now(),
    }


def _source_paths(source: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    paths = [Path(source)] if isinstance(source, (str, os.PathLike)) else [Path(s) for s in source]
    if not paths:
        raise ImportFormatError("no source file given")
    for p in paths:
        if not p.exists():
            raise ImportFormatError("file not found", path=p)
    if len(paths) > 1 and any(p.is_dir() for p in paths):
        raise ImportFormatError("give one folder, or several per-emotion files, not both", path=paths[0])
    if len(paths) > 1 and any(p.suffix.lower() not in PER_EMOTION_SUFFIXES for p in paths):
        bad = next(p for p in paths if p.suffix.lower() not in PER_EMOTION_SUFFIXES)
        raise ImportFormatError(f"several sources must each hold one emotion ({', '.join(PER_EMOTION_SUFFIXES)})", path=bad)
    return paths


def import_vectors(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    labels: Sequence[str] | str | os.PathLike | None = None,
    key: str | None = None,
    emotion_column: str = "emotion",
    attrs: Mapping[str, Any] | None = None,
    layer_convention: str | None = None,
    keep_layer_indices: bool = False,
) -> xr.Dataset:
    """Read a vector set made elsewhere and return a validated vector-set dataset.

    Parameters
    ----------
    source : a file (its suffix selects the reader), a folder of per-emotion files, or several
        per-emotion files (see the module docstring).
    labels : emotion labels in row order (a list, a comma-separated string, or a text file with
        one per line); required when the source holds none; for per-emotion files, the order.
    key : name of the array that holds the vectors in a multi-array file.
    emotion_column : the label column of a CSV/TSV file.
    attrs : provenance to record (``model``, ``method``, ``precision``, ``software``,
        ``created``, ...).  A ``hidden_size`` that disagrees with the data is an error.
    layer_convention : what the source's layer indices mean: ``hidden-states`` (``hf``), or
        ``block`` (``repeng``, ``steering-vectors``); default: the format's own (repeng GGUF:
        block), else unknown.
    keep_layer_indices : store the producer's indices instead of rsastats layers.
    """
    paths = _source_paths(source)
    where = paths[0]
    given = read_labels(labels)
    try:
        table, fmt = _read_table(paths, given, key, emotion_column)
        values = np.asarray(table.values)
        if values.dtype.kind not in "iuf":
            raise ImportFormatError(f"vectors are not numeric (dtype {values.dtype})", path=where)
        if values.ndim not in (2, 3):
            raise ImportFormatError(f"expected a 2-D (emotion, hidden) or 3-D (emotion, layer, hidden) array, got shape "
                                    f"{shape_text(values.shape)}", path=where)
        if len(table.labels) != values.shape[0]:
            raise LabelError(f"{len(table.labels)} labels for {values.shape[0]} vectors", path=where)
        layer_coords, layer_attrs = None, {}
        if values.ndim == 3:
            layer_coords, layer_attrs = _layer_attrs(table, values.shape[1], layer_convention, keep_layer_indices)
        elif layer_convention is not None:
            raise ImportFormatError("holds one vector per emotion (no layer axis); --layer-convention does not apply",
                                    path=where)
        provenance = {"hidden_size": values.shape[-1], **dict(table.attrs or {}), **_provenance(paths, fmt, attrs),
                      **layer_attrs}
        return make_vectors(values, table.labels, layers=layer_coords, attrs=provenance)
    except InputError as exc:
        if exc.path is None:  # errors from make_vectors: attach the source file
            raise type(exc)(exc.problem, path=where) from None
        raise


def import_activations(
    source: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    labels: Sequence[str] | str | os.PathLike | None = None,
    key: str | None = None,
    emotion_column: str = "emotion",
    attrs: Mapping[str, Any] | None = None,
    layer_convention: str | None = None,
    keep_layer_indices: bool = False,
    text_column: str | None = None,
) -> xr.Dataset:
    """Read per-prompt activations made elsewhere and return a validated activations dataset.

    The sources (:mod:`rsastats.io.importers.prompts`): an (emotion, prompt, hidden) or (emotion, prompt, layer,
    hidden) array in a ``.npy``, ``.npz``, ``.safetensors`` or ``.pt`` file, one (prompt[, layer], hidden) array per
    emotion (in one such file, or in per-emotion files or a folder of them), or a CSV/TSV file with one row per
    prompt.  Emotions may have different numbers of prompts; prompts all NaN in a padded array are marked invalid.
    ``text_column`` names the column of a CSV/TSV file that holds each prompt's text (default: ``text``, where
    there is one).  The other parameters are those of :func:`import_vectors`; a source without a layer axis is
    stored as the one layer that ``attrs['layers']`` names (``"15"``, in the producer's convention), else as layer 0,
    its convention unknown.
    """
    paths = _source_paths(source)
    where = paths[0]
    given = read_labels(labels)
    try:
        if len(paths) > 1 or where.is_dir():
            members = folder_files(where) if where.is_dir() else paths
            table = read_prompt_table(paths, None, given, key, emotion_column, members, text_column)
            fmt = "per-emotion-prompts"
        else:
            fmt = ARRAY_FORMATS.get(where.suffix.lower())
            if fmt is None:
                raise ImportFormatError(f"unknown format {where.suffix!r} for per-prompt activations; expected one "
                                        f"of {', '.join(sorted(ARRAY_FORMATS))}, or a folder of per-emotion files",
                                        path=where)
            table = read_prompt_table(paths, fmt, given, key, emotion_column, text_column=text_column)
        values = table.values if table.values.ndim == 4 else table.values[:, :, None, :]
        attrs = dict(attrs or {})
        layer_coords, layer_attrs = [0], {"layer_convention": None}
        if table.values.ndim == 3:  # one layer: the one the metadata's 'layers' names, else 0 (unknown)
            recorded = str(attrs.pop("layers", "") or "").strip()
            if not re.fullmatch(r"-?\d+", recorded):
                if recorded or layer_convention is not None:
                    raise ImportFormatError(f"holds no layer axis; {'its layer' if recorded else '--layer-convention'} "
                                            "needs the metadata's 'layers' to name one layer (e.g. layers: 15)"
                                            + (f", not {recorded!r}" if recorded else ""), path=where)
            else:
                table = dataclasses.replace(table, layers=[int(recorded)])
        if table.values.ndim == 4 or table.layers is not None:
            layer_coords, layer_attrs = _layer_attrs(table, values.shape[2], layer_convention, keep_layer_indices)
        provenance = {"hidden_size": values.shape[-1], **_provenance(paths, fmt, attrs), **layer_attrs}
        return make_activations(values, table.labels, layers=layer_coords, valid=table.valid.astype(np.int8),
                                text=table.text, attrs=provenance)
    except InputError as exc:
        if exc.path is None:  # errors from make_activations: attach the source file
            raise type(exc)(exc.problem, path=where) from None
        raise


def import_rdm(
    source: str | os.PathLike,
    *,
    labels: Sequence[str] | str | os.PathLike | None = None,
    index: int = 0,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Read an RDM made elsewhere (square CSV/TSV with the emotion labels as header and first
    column, or an rsatoolbox ``RDMs`` hdf5 file) and return a validated RDM dataset.

    ``labels`` names the rows of an rsatoolbox RDM without emotion descriptors; ``index`` picks
    one RDM of an rsatoolbox file holding several.  ``rdm_method`` comes from the rsatoolbox file
    (its dissimilarity measure) or ``attrs``, else it is unknown.
    """
    p = Path(source)
    if not p.exists():
        raise ImportFormatError("file not found", path=p)
    fmt = RDM_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ImportFormatError(f"unknown RDM format {p.suffix!r}; expected one of {', '.join(sorted(RDM_FORMATS))}", path=p)
    given = read_labels(labels)
    try:
        matrix, found, info = read_rdm_file(p, fmt, index)
        if given is not None:
            if fmt == "csv" and given != found:
                raise LabelError("--labels differ from the CSV's header", path=p)
            if len(given) != len(found):
                raise LabelError(f"{len(given)} --labels for an RDM with {len(found)} rows", path=p)
            found = given
        provenance = {"rdm_method": None, **info, **_provenance([p], fmt, attrs)}
        provenance["source"] = p.name
        return make_rdm(matrix, found, attrs=provenance)
    except InputError as exc:
        if exc.path is None:
            raise type(exc)(exc.problem, path=p) from None
        raise
