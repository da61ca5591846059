"""Readers of array files: ``.npy``, ``.npz``, ``.safetensors``, ``.pt``/``.pth`` and CSV/TSV.

``.npy``          a 2-D (emotion, hidden) or 3-D (emotion, layer, hidden) array; labels required.
``.npz``          one such array (``--key``, or the only 2-D/3-D array) with labels from an
                  ``emotions``/``labels`` array or ``--labels`` (layer indices from a ``layers``
                  array), or one array per emotion keyed by emotion name: 1-D (hidden,) or 2-D
                  (layer, hidden).
``.safetensors``  the same layouts as ``.npz``; read with ``safetensors.numpy`` (no torch).
``.pt``/``.pth``  a tensor, a dict emotion -> tensor, a dict with a tensor plus a list of labels,
                  or a nested dict ``{emotion: {layer: 1-D tensor}}`` (steering-vectors'
                  ``layer_activations``).  Loaded with ``torch.load(weights_only=True)``, which
                  refuses pickled objects; needs torch.
``.csv``/``.tsv`` one row per emotion: an emotion column and numeric columns for the dimensions.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ...exceptions import DependencyError, ImportFormatError, InputError, LabelError
from ...limits import check_declared_size
from ..text import check_utf8, separator_problem
from .entries import VectorTable, shape_text, stack_entries

__all__ = ["ARRAY_FORMATS", "read_array_file", "read_mapping", "load_csv_table", "load_torch", "load_npy"]

ARRAY_FORMATS = {".npy": "npy", ".npz": "npz", ".safetensors": "safetensors", ".pt": "pt", ".pth": "pt", ".csv": "csv", ".tsv": "csv"}
_LABEL_KEYS = ("emotions", "emotion", "labels", "label", "names")
_LAYER_KEYS = ("layers", "layer")


def _from_mapping(arrays: Mapping[str, Any], labels: list[str] | None, key: str | None, path: Path) -> VectorTable:
    """Turn a name -> array mapping (npz, safetensors, torch dict) into a vector table."""
    arrays = {str(k): v for k, v in arrays.items()}
    label_key = next((k for k in _LABEL_KEYS if k in arrays), None)
    if label_key is not None and labels is None:
        labels = [str(x) for x in np.asarray(arrays[label_key]).ravel().tolist()]
    layer_key = next((k for k in _LAYER_KEYS if k in arrays and label_key is not None), None)
    numeric = {k: v for k, v in arrays.items() if k not in (label_key, layer_key)}
    if any(isinstance(v, Mapping) for v in numeric.values()) and key is None:
        values, names, layers = stack_entries(numeric, path, labels)
        return VectorTable(values, names, layers)
    numeric = {k: np.asarray(v) if not isinstance(v, np.ndarray) else v for k, v in numeric.items()}
    if key is not None:
        if key not in numeric:
            raise ImportFormatError(f"no array named {key!r} (found: {', '.join(sorted(numeric))}); check --key", path=path)
        matrix = numeric[key]
    else:
        stacked = [k for k, v in numeric.items() if v.ndim in (2, 3)]
        if len(stacked) == 1 and len(numeric) == 1 and (label_key is not None or labels is not None):
            matrix = numeric[stacked[0]]
        elif numeric and all(v.ndim == 1 for v in numeric.values()) or (
                len(numeric) >= 2 and all(v.ndim == 2 for v in numeric.values()) and label_key is None
                and (labels is None or sorted(labels) == sorted(numeric))):
            values, names, layers = stack_entries(numeric, path, labels)
            return VectorTable(values, names, layers)
        elif len(stacked) == 1 and all(v.ndim != 1 for v in numeric.values()):
            matrix = numeric[stacked[0]]
        else:
            shapes = ", ".join(f"{k} {shape_text(v.shape)}" for k, v in numeric.items())
            raise ImportFormatError(f"cannot tell which array holds the vectors ({shapes}); name it with --key", path=path)
    if labels is None:
        raise LabelError("the file holds no emotion labels; give --labels (comma-separated, or a file with one per line)", path=path)
    layers = None
    if layer_key is not None and np.asarray(matrix).ndim == 3:
        layers = [int(x) for x in np.asarray(arrays[layer_key]).ravel().tolist()]
    return VectorTable(np.asarray(matrix), labels, layers)


def _npy_header(fh: Any, what: str, path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a .npy header (nothing else read), or a one-line error."""
    try:
        version = np.lib.format.read_magic(fh)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _fortran, dtype = read(fh)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, zipfile.BadZipFile, zlib.error, RuntimeError,
            NotImplementedError) as exc:
        raise ImportFormatError(f"{what} is not a readable .npy array: {' '.join(str(exc).split())[:160]}", path=path) from None
    if dtype.hasobject:
        raise ImportFormatError(f"{what} holds pickled objects (dtype {dtype}), which are not loaded", path=path)
    return tuple(int(n) for n in shape), dtype


def _array_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    return int(np.prod(shape, dtype=object)) * max(dtype.itemsize, 1)


def load_npy(path: Path) -> Any:
    """A .npy array, its header checked first: no objects, a size that fits memory and the file."""
    with open(path, "rb") as fh:
        shape, dtype = _npy_header(fh, "the file", path)
        data_bytes = path.stat().st_size - fh.tell()
    declared = _array_bytes(shape, dtype)
    check_declared_size(f"its header (shape {shape}, {dtype})", declared, None, path)
    if declared > data_bytes:
        raise ImportFormatError(f"truncated: the header declares shape {shape} ({declared} bytes of {dtype}) but "
                                f"{data_bytes} bytes follow it", path=path)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ImportFormatError(f"not a readable .npy array: {' '.join(str(exc).split())[:160]}", path=path) from None


def _check_zip(path: Path, what: str) -> list[zipfile.ZipInfo]:
    """The members of a zip archive (.npz, torch's .pt), their declared sizes checked against memory and
    against the archive's size before anything is decompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ImportFormatError(f"not a readable {what} archive: {' '.join(str(exc).split())[:160]}", path=path) from None
    declared = sum(m.file_size for m in members)
    check_declared_size(f"its {len(members)} archive member(s)", declared, path.stat().st_size, path)
    return members


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a .npz archive; every member's declared size (zip directory) and array header
    (shape, dtype) are checked before any member is decompressed in full."""
    members = _check_zip(path, ".npz")
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in members:
                name = member.filename[:-4] if member.filename.endswith(".npy") else member.filename
                with archive.open(member) as fh:
                    shape, dtype = _npy_header(fh, f"member {name!r}", path)
                    declared = _array_bytes(shape, dtype)
                    if declared > member.file_size:
                        raise ImportFormatError(f"member {name!r} declares shape {shape} of {dtype} ({declared} bytes) "
                                                f"in a member of {member.file_size} bytes (corrupt)", path=path)
                with archive.open(member) as fh:
                    arrays[name] = np.lib.format.read_array(fh, allow_pickle=False)
    except InputError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, KeyError, RuntimeError,
            NotImplementedError) as exc:  # RuntimeError: encrypted; NotImplementedError: unknown compression
        raise ImportFormatError(f"not a readable .npz archive: {' '.join(str(exc).split())[:160]}", path=path) from None
    return arrays


def _refusal(exc: Exception, path: Path) -> ImportFormatError:
    """The one-line error for a .pt file that ``torch.load(weights_only=True)`` refuses."""
    text = " ".join(str(exc).split())
    if "SteeringVector" in text:
        return ImportFormatError(
            "holds a pickled steering_vectors SteeringVector object, which is not loaded because unpickling can run "
            "code; save its layer activations instead, one dict per emotion: torch.save({'happy': "
            "sv_happy.layer_activations, 'sad': sv_sad.layer_activations}, 'vectors.pt')", path=path)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    what = f"a pickled {found.group(1)} object" if found else f"content that is not plain tensors ({type(exc).__name__})"
    return ImportFormatError(f"holds {what}, which is not loaded because unpickling can run code; save plain tensors "
                             "instead: a tensor, a dict of tensors, or a dict {emotion: {layer: tensor}}", path=path)


def load_torch(path: Path) -> Any:
    """A .pt file loaded with ``weights_only=True``, every tensor (at any depth of dicts) as a
    float64 numpy array; lists and tuples of strings stay lists."""
    try:
        import torch
    except ImportError:
        raise DependencyError("reading .pt files needs torch: pip install 'rsastats[extract]' (or import .safetensors/.npy instead)", path=path) from None
    if not zipfile.is_zipfile(path):
        raise ImportFormatError(
            "not a torch zip archive (the format of torch.save since torch 1.6): a legacy or corrupt .pt file is not "
            "read, because torch would allocate the storage sizes it declares before they could be checked; save it "
            "again with torch.save in a current torch", path=path)
    _check_zip(path, ".pt")  # torch's format since 1.6: the storages are zip members, their sizes checked here
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError ... depending on the content
        raise _refusal(exc, path) from None

    def to_numpy(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            return x.detach().to(torch.float64).cpu().numpy() if x.is_floating_point() else x.cpu().numpy()
        if isinstance(x, dict):
            return {k: to_numpy(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)) and all(isinstance(v, str) for v in x):
            return np.asarray(x, dtype=object)
        return x

    return to_numpy(obj)


def load_csv_table(path: Path, emotion_column: str, text_column: str | None = None, text_required: bool = False
                   ) -> tuple[np.ndarray, list[str], list[str] | None]:
    """The numeric columns of a CSV/TSV file (rows x columns), its emotion column and, where ``text_column`` is
    given and present, that column of text (else None; an error where ``text_required``)."""
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    check_utf8(path, "table")
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:
        raise ImportFormatError(f"cannot be parsed as {'TSV' if sep == chr(9) else 'CSV'}: {' '.join(str(exc).split())[:160]}", path=path) from None
    if frame.shape[1] == 1 and separator_problem(str(frame.columns[0]), sep):
        raise ImportFormatError(separator_problem(str(frame.columns[0]), sep), path=path)
    if emotion_column not in frame.columns:
        raise ImportFormatError(f"no {emotion_column!r} column (columns: {', '.join(map(str, frame.columns[:8]))}...)", path=path)
    if text_required and text_column not in frame.columns:
        raise ImportFormatError(f"no {text_column!r} column (the --text-column given; columns: "
                                f"{', '.join(map(str, frame.columns[:8]))}...)", path=path)
    text = frame[text_column].tolist() if text_column is not None and text_column in frame.columns else None
    dims = [c for c in frame.columns if c != emotion_column and (text is None or c != text_column)]
    if not dims:
        raise ImportFormatError("no dimension columns besides the emotion column", path=path)
    values = np.empty((len(frame), len(dims)), dtype=np.float64)
    for j, col in enumerate(dims):
        numeric = pd.to_numeric(frame[col].str.strip(), errors="coerce")
        # NaN/Inf written as text are numbers (rejected later as non-finite, with a clearer message)
        spelled_nan = frame[col].str.strip().str.lower().isin(("nan", "inf", "+inf", "-inf", "infinity", "-infinity"))
        bad = (numeric.isna() & ~spelled_nan).to_numpy()
        if bad.any():
            i = int(np.argmax(bad))
            raise ImportFormatError(f"non-numeric cell {frame[col].iloc[i]!r} at row {i + 2}, column {col!r}", path=path)
        values[:, j] = numeric.to_numpy()
    return values, frame[emotion_column].tolist(), text


def read_mapping(p: Path, fmt: str) -> dict[str, np.ndarray]:
    """The named arrays of a ``.npz`` or ``.safetensors`` file (``fmt``)."""
    if fmt == "npz":
        return _load_npz(p)
    try:
        from safetensors.numpy import load_file
    except ImportError:
        raise DependencyError("reading .safetensors needs the safetensors package: pip install safetensors",
                              path=p) from None
    try:
        return load_file(str(p))
    except Exception as exc:
        raise ImportFormatError(f"not a readable safetensors file: {' '.join(str(exc).split())[:160]}", path=p) from None


def read_array_file(p: Path, fmt: str, given: list[str] | None, key: str | None, emotion_column: str) -> VectorTable:
    """The vectors of one array file and their labels, by format."""
    if fmt == "csv":
        matrix, found, _ = load_csv_table(p, emotion_column)
        if given is not None and given != [str(x).strip() for x in found]:
            raise LabelError("--labels differ from the file's emotion column", path=p)
        return VectorTable(matrix, found)
    if fmt == "npy":
        matrix = load_npy(p)
        if given is None:
            raise LabelError("a .npy file holds no labels; give --labels (comma-separated, or a file with one per line)", path=p)
        return VectorTable(matrix, given)
    if fmt in ("npz", "safetensors"):
        return _from_mapping(read_mapping(p, fmt), given, key, p)
    obj = load_torch(p)
    if isinstance(obj, dict) and obj and all(isinstance(k, int) for k in obj):
        raise ImportFormatError(f"holds one {{layer: tensor}} dict (keys {sorted(obj)[:6]}), i.e. one concept; import a "
                                "folder of such files named by emotion (happy.pt, sad.pt, ...), or save "
                                "{emotion: layer_activations} in one file", path=p)
    if isinstance(obj, dict):
        return _from_mapping(obj, given, key, p)
    if not isinstance(obj, np.ndarray):
        raise ImportFormatError(f"holds a {type(obj).__name__}, not a tensor or a dict of tensors", path=p)
    if given is None:
        raise LabelError("the tensor holds no labels; give --labels (comma-separated, or a file with one per line)", path=p)
    return VectorTable(obj, given)
