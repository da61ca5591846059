"""Reading and writing rsastats files (NetCDF4 through xarray).

Every reader validates the file (its structure whole; the values of the layers it loads, all of
them unless ``layers=`` selects some) after checking its declared sizes against the memory limit
(:mod:`rsastats.limits`), and raises one subclass of
:class:`~rsastats.exceptions.InputError` whose one-line message starts with the file's path.
Every writer validates first and then writes atomically: to a temporary name in the same
folder, renamed over the final name only once complete.
"""

from __future__ import annotations

import hashlib
import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import xarray as xr

from ..exceptions import FileFormatError, InputError, ValidationError
from ..limits import check_declared_size
from .outputs import atomic_path, output_lock
from .validate import VALIDATORS, check_int_coord, check_schema, validate_dataset

__all__ = ["open_activations", "open_vectors", "open_rdm", "open_dataset", "write_dataset", "atomic_path", "NETCDF_LOCK",
           "open_netcdf", "netcdf_encoding", "file_sha256"]


# --------------------------------------------------------------------------- reading
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# The HDF5 library under netCDF4 is not thread-safe, and xarray's own locks did not keep two worker threads of
# one process (a dask worker running two extraction tasks) from writing at once: that crashed the process
# (a segmentation fault in a test run). Every NetCDF read and write of rsastats holds this lock.
NETCDF_LOCK = threading.RLock()


@contextmanager
def open_netcdf(path: str | os.PathLike, *, check_header: bool = False, **options: Any) -> Iterator[xr.Dataset]:
    """A NetCDF file opened lazily by xarray on one netCDF4 handle of our own, closed on leaving the block; hold
    :data:`NETCDF_LOCK` around it.  ``check_header``: first refuse a file whose header declares more than memory
    allows (:func:`_check_header`), on the same handle.

    One handle per reading, not ``xr.open_dataset(path)`` after a header check of its own: with the same file open
    elsewhere in the process (a dataset the user opened with xarray or netCDF4 and has not closed), a second opening
    followed by a read of its strings (the emotion labels) crashed the process in HDF5 (a segmentation fault;
    Unidata/netcdf4-python#1444, netCDF4 1.7.5.1; tests/unit/test_io_open_elsewhere.py)."""
    import netCDF4

    try:
        nc = netCDF4.Dataset(path, "r")
    except Exception as exc:  # netCDF4 raises OSError, RuntimeError, AttributeError, ... on corrupt bytes
        raise FileFormatError(f"cannot be read as NetCDF (truncated or corrupt?): {_reason(exc)}", path=path) from None
    try:
        if check_header:
            _check_header(nc, Path(path))
        opened = xr.open_dataset(xr.backends.NetCDF4DataStore(nc), **options)
    except BaseException:
        nc.close()
        raise
    with opened as ds:  # closing it closes the handle
        yield ds


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200]


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise FileFormatError("file not found", path=path)
    if path.is_dir():
        raise FileFormatError("is a directory, not a file", path=path)
    size = path.stat().st_size
    if size == 0:
        raise FileFormatError("empty file (0 bytes)", path=path)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if not (head.startswith(_HDF5_MAGIC) or head[:3] == b"CDF"):
        raise FileFormatError("not a NetCDF file (no NetCDF/HDF5 signature)", path=path)


def _declared_bytes(variables: Any) -> int:
    """Bytes the variables declare (shape x item size; 8 per string), read from the header only."""
    return sum(int(np.prod(v.shape, dtype=object)) * max(int(getattr(v.dtype, "itemsize", 8)), 1) for v in variables)


def _check_header(nc: Any, path: Path) -> None:
    """Refuse a file whose header declares more data than memory allows, or than its size can hold
    compressed, before xarray reads anything (it loads index coordinates as it opens)."""
    try:
        variables = list(nc.variables.values())
        indexes = [v for name, v in nc.variables.items() if v.dimensions == (name,)]
        declared, eager = _declared_bytes(variables), _declared_bytes(indexes)
    except Exception as exc:  # corrupt bytes in the header
        raise FileFormatError(f"cannot be read as NetCDF (truncated or corrupt?): {_reason(exc)}", path=path) from None
    check_declared_size("its coordinates", eager, None, path)
    check_declared_size("its arrays", declared, path.stat().st_size, path)


def _layer_labels(layers: Sequence[Any], labels: list[int]) -> list[Any]:
    """Layer labels from a request: a label of the file stays; a negative number that is not one
    counts from the end (-1 = the last layer), ``"last"`` is the last layer."""
    out = []
    for x in layers:
        if isinstance(x, str) and x.strip().lower() == "last":
            x = -1
        if isinstance(x, (int, np.integer)) and int(x) not in labels and 0 < -int(x) <= len(labels):
            x = labels[int(x)]
        out.append(x)
    return out


def _read(path: str | os.PathLike, layers: Sequence[int] | Callable[[list[int]], Sequence[int]] | None = None) -> xr.Dataset:
    """Open a NetCDF file and load it into memory, mapping every failure to one error.

    ``layers`` selects layer labels before anything is loaded: a list, or a function of the file's
    layer labels that returns the list (so a choice like "the last 4" needs one opening of the file).
    The bytes to be loaded are checked against the memory limit (:mod:`rsastats.limits`) first.
    """
    p = Path(path)
    _check_readable(p)
    try:
        with NETCDF_LOCK, open_netcdf(p, check_header=True, decode_times=False, mask_and_scale=False) as handle:
            if "layer" in handle.coords and "layer" not in handle.dims:  # one layer kept as a scalar (ds.sel(layer=k))
                handle = _scalar_layer(handle, p)
            if "layer" in handle.coords:  # before a selection by label: a float or repeated label is said as such
                check_int_coord(handle, "layer", str(p))
            if callable(layers):
                layers = layers([int(x) for x in handle["layer"].values]) if "layer" in handle.coords else None
            if layers is not None and "layer" in handle.dims:
                layers = _layer_labels(layers, [int(x) for x in handle["layer"].values])
                missing = sorted(set(int(x) for x in layers) - set(int(x) for x in handle["layer"].values))
                if missing:
                    raise ValidationError(f"no layer(s) {missing} in this file (it has {handle['layer'].values.tolist()})", path=p)
                handle = handle.sel(layer=list(layers))
            check_declared_size("the arrays to read", _declared_bytes(handle.variables.values()), None, p)
            return handle.load()
    except InputError:
        raise
    except MemoryError:
        raise FileFormatError("does not fit in memory (raise the limit with RSASTATS_MAX_MEMORY only if the machine "
                              "has the memory)", path=p) from None
    except Exception as exc:  # any failure of the NetCDF/HDF5 libraries on a corrupt file
        raise FileFormatError(f"cannot be read as NetCDF (truncated or corrupt?): {_reason(exc)}", path=p) from None


def _scalar_layer(handle: xr.Dataset, path: Path) -> xr.Dataset:
    """A file with a scalar ``layer`` coordinate (written after ``ds.sel(layer=k)``) holds that one layer: the label
    becomes the ``layers`` attribute a file without a layer axis records (it read as a corrupt file before)."""
    value = handle["layer"].values
    if value.dtype.kind not in "iu":
        raise ValidationError(f"'layer' coordinate must hold integers, found {value.dtype}", path=path)
    recorded = str(handle.attrs.get("layers", "") or "").strip()
    if recorded and recorded != str(int(value)):
        raise ValidationError(f"its scalar 'layer' coordinate ({int(value)}) and its 'layers' attribute ({recorded}) "
                              "disagree", path=path)
    return handle.drop_vars("layer").assign_attrs(layers=str(int(value)))


def open_dataset(path: str | os.PathLike, *, layers: Any = None) -> tuple[str, xr.Dataset]:
    """Read and validate any rsastats file; return ``(kind, dataset)``.  ``layers``: a list of layer
    labels, or a function of the file's layer labels returning one (only those are loaded)."""
    ds = _read(path, layers)
    return validate_dataset(ds, path)


def _open_kind(kind: str, path: str | os.PathLike, layers: Sequence[int] | None = None) -> xr.Dataset:
    ds = _read(path, layers)
    check_schema(ds, kind, str(path))
    return VALIDATORS[kind](ds, path)


def open_activations(path: str | os.PathLike, *, layers: Sequence[int] | None = None) -> xr.Dataset:
    """Read and validate an activations file (optionally only some ``layers``: labels of the file, or
    negative positions from the end, ``-1`` = the last)."""
    return _open_kind("activations", path, layers)


def open_vectors(path: str | os.PathLike, *, layers: Sequence[int] | None = None) -> xr.Dataset:
    """Read and validate a vector-set file."""
    return _open_kind("vectors", path, layers)


def open_rdm(path: str | os.PathLike) -> xr.Dataset:
    """Read and validate an RDM file."""
    return _open_kind("rdm", path)


# --------------------------------------------------------------------------- writing
def netcdf_encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        if var.dtype == object:
            enc[str(name)] = {"dtype": str}
        elif var.dtype.kind == "f":
            enc[str(name)] = {"_FillValue": None}  # no fill value: NaN is never data here
            if var.dtype.itemsize < 4:  # NetCDF has no float16: stored as float32, which holds it exactly
                enc[str(name)]["dtype"] = "float32"
    return enc


def write_dataset(ds: xr.Dataset, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
    """Validate ``ds`` and write it atomically as NetCDF4, holding the output's lock; return the
    final path.  With ``overwrite=False`` an existing ``path`` (also one that appears while writing)
    is refused with a one-line :class:`ValidationError`."""
    kind, ds = validate_dataset(ds, path)
    out = Path(path)
    with output_lock(out):
        if not overwrite and os.path.lexists(out):
            raise ValidationError("already exists; pass --overwrite to replace it", path=out)
        try:
            with atomic_path(out, overwrite=overwrite) as tmp, NETCDF_LOCK:
                ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=netcdf_encoding(ds))
        except (OSError, RuntimeError) as exc:  # read-only folder, full disk ("NetCDF: HDF error"), ...
            reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())[:160]
            raise FileFormatError(f"cannot be written: {reason} (is the folder writable and the disk not full?); "
                                  "nothing was written", path=out) from None
    return out


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
