"""Import emotion-vector sets published by other studies into the rsastats vector format.

Supported sources (chosen by file suffix):

``.npy``          a 2-D array (emotion, hidden); labels are required.
``.npz``          either one 2-D array (``key=`` or the only 2-D array) with labels from an
                  ``emotions``/``labels`` array or the ``labels`` argument, or one 1-D array per
                  emotion, keyed by emotion name.
``.safetensors``  the same two layouts as ``.npz``; read with ``safetensors.numpy`` (no torch).
``.pt``/``.pth``  a tensor (labels required), a dict emotion -> 1-D tensor, or a dict with a
                  2-D tensor plus a list of labels.  Loaded with ``torch.load(weights_only=True)``,
                  which refuses pickled code; needs torch installed.
``.csv``/``.tsv`` one row per emotion: an emotion column (``emotion_column``, default
                  ``"emotion"``) and numeric columns for the dimensions.

The result is a validated vector-set dataset whose attributes record where it came from:
``source`` (file name), ``source_format``, ``source_sha256``, ``imported`` (UTC time), and any
provenance the caller passes in ``attrs`` (model, method, precision, ...).
"""

from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from ..exceptions import DependencyError, ImportFormatError, InputError, LabelError
from .construct import make_vectors
from ..limits import check_declared_size
from .files import file_sha256
from .schema import utc_now
from .text import read_text_file

__all__ = ["IMPORT_FORMATS", "import_vectors", "read_labels"]

IMPORT_FORMATS = {".npy": "npy", ".npz": "npz", ".safetensors": "safetensors", ".pt": "pt", ".pth": "pt", ".csv": "csv", ".tsv": "csv"}
_LABEL_KEYS = ("emotions", "emotion", "labels", "label", "names")


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


def _from_mapping(arrays: Mapping[str, np.ndarray], labels: list[str] | None, key: str | None, path: Path) -> tuple[np.ndarray, list[str]]:
    """Turn a name -> array mapping (npz, safetensors, torch dict) into (matrix, labels)."""
    arrays = {str(k): v for k, v in arrays.items()}
    label_key = next((k for k in _LABEL_KEYS if k in arrays), None)
    if label_key is not None and labels is None:
        labels = [str(x) for x in np.asarray(arrays[label_key]).ravel().tolist()]
    numeric = {k: np.asarray(v) for k, v in arrays.items() if k != label_key}
    if key is not None:
        if key not in numeric:
            raise ImportFormatError(f"no array named {key!r} (found: {', '.join(sorted(numeric))})", path=path)
        matrix = numeric[key]
    else:
        two_d = [k for k, v in numeric.items() if v.ndim == 2]
        if len(two_d) == 1 and all(v.ndim != 1 for v in numeric.values()):
            matrix = numeric[two_d[0]]
        elif numeric and all(v.ndim == 1 for v in numeric.values()):
            sizes = {v.shape[0] for v in numeric.values()}
            if len(sizes) != 1:
                raise ImportFormatError(f"per-emotion vectors have different lengths {sorted(sizes)}", path=path)
            names = list(numeric)
            if labels is not None and sorted(labels) != sorted(names):
                raise LabelError(f"labels given do not match the emotion keys in the file ({', '.join(names)})", path=path)
            order = labels if labels is not None else names
            return np.stack([numeric[n] for n in order]), list(order)
        else:
            shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in numeric.items())
            raise ImportFormatError(f"cannot tell which array holds the vectors ({shapes}); pass key=", path=path)
    if labels is None:
        raise LabelError("the file holds no emotion labels; pass labels (a list or a file with one per line)", path=path)
    return matrix, labels


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


def _load_npy(path: Path) -> Any:
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


def _load_pt(path: Path) -> Any:
    try:
        import torch
    except ImportError:
        raise DependencyError("reading .pt files needs torch: pip install 'rsastats[extract]' (or import .safetensors/.npy instead)", path=path) from None
    if zipfile.is_zipfile(path):  # torch's format since 1.6: the storages are zip members
        _check_zip(path, ".pt")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ... depending on the content
        first = " ".join(str(exc).split())[:160]
        raise ImportFormatError(f"refused to load: not plain tensors (weights_only=True refuses pickled code): {first}", path=path) from None

    def to_numpy(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            return x.detach().to(torch.float64).cpu().numpy() if x.is_floating_point() else x.cpu().numpy()
        return x

    if isinstance(obj, dict):
        return {str(k): (np.asarray(v, dtype=object) if isinstance(v, (list, tuple)) else to_numpy(v)) for k, v in obj.items()}
    return to_numpy(obj)


def _load_csv(path: Path, emotion_column: str) -> tuple[np.ndarray, list[str]]:
    import pandas as pd

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    except Exception as exc:
        raise ImportFormatError(f"cannot be parsed as {'TSV' if sep == chr(9) else 'CSV'}: {' '.join(str(exc).split())[:160]}", path=path) from None
    if emotion_column not in frame.columns:
        raise ImportFormatError(f"no {emotion_column!r} column (columns: {', '.join(map(str, frame.columns[:8]))}...)", path=path)
    dims = [c for c in frame.columns if c != emotion_column]
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
    return values, frame[emotion_column].tolist()


def _read_matrix(p: Path, fmt: str, given: list[str] | None, key: str | None,
                 emotion_column: str) -> tuple[Any, list[str]]:
    """The (emotion, hidden) array of a source file and its labels, by format."""
    if fmt == "csv":
        matrix, found = _load_csv(p, emotion_column)
        if given is not None and given != [str(x).strip() for x in found]:
            raise LabelError("labels given differ from the file's emotion column", path=p)
        return matrix, found
    if fmt == "npy":
        matrix = _load_npy(p)
        if given is None:
            raise LabelError("a .npy file holds no labels; pass labels (a list or a file with one per line)", path=p)
        return matrix, given
    if fmt == "npz":
        return _from_mapping(_load_npz(p), given, key, p)
    if fmt == "safetensors":
        try:
            from safetensors.numpy import load_file
        except ImportError:
            raise DependencyError("reading .safetensors needs the safetensors package: pip install safetensors", path=p) from None
        try:
            arrays = load_file(str(p))
        except Exception as exc:
            raise ImportFormatError(f"not a readable safetensors file: {' '.join(str(exc).split())[:160]}", path=p) from None
        return _from_mapping(arrays, given, key, p)
    obj = _load_pt(p)
    if isinstance(obj, dict):
        return _from_mapping(obj, given, key, p)
    if given is None:
        raise LabelError("the tensor holds no labels; pass labels (a list or a file with one per line)", path=p)
    return obj, given


def import_vectors(
    path: str | os.PathLike,
    *,
    labels: Sequence[str] | str | os.PathLike | None = None,
    key: str | None = None,
    emotion_column: str = "emotion",
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Read a published vector set and return a validated vector-set dataset.

    Parameters
    ----------
    path : the source file; its suffix selects the reader (see the module docstring).
    labels : emotion labels in row order (a list, a comma-separated string, or a text file with
        one per line); required when the file holds none.
    key : name of the array that holds the vectors in a multi-array file.
    emotion_column : the label column of a CSV/TSV file.
    attrs : provenance to record (``model``, ``method``, ``precision``, ``hidden_size``, ...).
        A ``hidden_size`` that disagrees with the data is an error.
    """
    p = Path(path)
    if not p.exists():
        raise ImportFormatError("file not found", path=p)
    fmt = IMPORT_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise ImportFormatError(f"unknown vector-set format {p.suffix!r}; expected one of {', '.join(sorted(IMPORT_FORMATS))}", path=p)
    given = read_labels(labels)
    try:
        matrix, found = _read_matrix(p, fmt, given, key, emotion_column)
        matrix = np.asarray(matrix)
        if matrix.dtype.kind not in "iuf":
            raise ImportFormatError(f"vectors are not numeric (dtype {matrix.dtype})", path=p)
        if matrix.ndim != 2:
            raise ImportFormatError(f"expected a 2-D (emotion, hidden) array, got shape {matrix.shape}", path=p)
        if len(found) != matrix.shape[0]:
            raise LabelError(f"{len(found)} labels for {matrix.shape[0]} vectors", path=p)
        provenance = {
            "hidden_size": matrix.shape[1],
            **dict(attrs or {}),
            "source": p.name,
            "source_format": fmt,
            "source_sha256": file_sha256(p),
            "imported": utc_now(),
        }
        return make_vectors(matrix.astype(np.float32), found, attrs=provenance)
    except InputError as exc:
        if exc.path is None:  # errors from make_vectors: attach the source file
            raise type(exc)(exc.problem, path=p) from None
        raise
