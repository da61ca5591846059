"""The content hash of a file: what it holds, not the bytes NetCDF/HDF5 wrote.

Two runs that compute the same arrays with the same settings hold the same content, but their
files differ byte for byte (HDF5 stores object addresses and the library versions; the attributes
say when, where and with which software the file was made).  :func:`content_sha256` hashes each
variable's name, dtype, shape and values in a canonical byte order, and every attribute except the
provenance ones (:data:`PROVENANCE_ATTRS`), so that a re-extraction reproducing the same data, in
this clone or another, on this machine or another, with newer libraries, has the same hash; any
change of a value (one ulp) or of a setting that defines the data has another.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import numpy as np
import xarray as xr

from .files import NETCDF_LOCK, open_netcdf

__all__ = ["PROVENANCE_ATTRS", "content_sha256"]

# When, where, with what and on how many threads a file was made: recorded, but not what it holds.
# Software versions, the thread count and the CPU's instruction set can change the values (then
# the arrays, hence the hash, change); when they do not, the content is the same.
PROVENANCE_ATTRS = ("created", "model_path", "software", "torch_threads", "cpu_capability")


def _canonical(value: Any) -> Any:
    return value.tolist() if hasattr(value, "tolist") else value


def _array_bytes(values: np.ndarray) -> bytes:
    if values.dtype.kind in "OUS":  # text: each element as JSON, independent of the fixed width
        return json.dumps([str(v) for v in values.ravel().tolist()]).encode("utf-8")
    little = values.astype(values.dtype.newbyteorder("<"), copy=False)
    return np.ascontiguousarray(little).tobytes()


def content_sha256(data: str | os.PathLike | xr.Dataset) -> str:
    """Hex SHA-256 of what a file (or dataset) holds: every variable (name, dtype, shape, values) and
    every attribute except :data:`PROVENANCE_ATTRS`."""
    if isinstance(data, xr.Dataset):
        return _dataset_sha256(data)
    with NETCDF_LOCK, open_netcdf(data, decode_times=False) as ds:
        return _dataset_sha256(ds)


def _dataset_sha256(ds: xr.Dataset) -> str:
    digest = hashlib.sha256()
    attrs = {str(k): _canonical(v) for k, v in ds.attrs.items() if k not in PROVENANCE_ATTRS}
    digest.update(json.dumps(attrs, sort_keys=True, default=str).encode("utf-8"))
    for name in sorted(map(str, ds.variables)):
        values = np.asarray(ds[name].values)
        header = {"name": name, "dtype": values.dtype.newbyteorder("<").str if values.dtype.kind not in "OUS" else "text",
                  "shape": list(values.shape)}
        digest.update(json.dumps(header, sort_keys=True).encode("utf-8"))
        digest.update(_array_bytes(values))
    return digest.hexdigest()
