"""Validation of rsastats datasets against schema v1.

Every validator raises one subclass of :class:`~rsastats.exceptions.InputError` whose one-line
message names the file (``source``) and the problem, and returns the dataset in canonical
dimension order.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np
import xarray as xr

from ..exceptions import LabelError, SchemaError, ValidationError
from .schema import ALLOWED_VALUES, KIND_OF_SCHEMA, RDM_REQUIRED_ATTRS, REQUIRED_ATTRS, attribute_text, check_labels

__all__ = ["file_kind", "check_schema", "check_int_coord", "validate_activations", "validate_vectors", "validate_rdm",
           "validate_dataset", "VALIDATORS"]


def file_kind(ds: xr.Dataset, source: str | None = None) -> str:
    """``"activations"``, ``"vectors"`` or ``"rdm"`` from the ``schema`` attribute, or raise."""
    schema = ds.attrs.get("schema")
    if schema is None:
        raise SchemaError("not an rsastats file: no 'schema' attribute (another program's NetCDF?)", path=source)
    if not isinstance(schema, str):
        shown = " ".join(repr(_scalar(schema) if np.ndim(schema) == 0 else np.asarray(schema).tolist()).split())
        raise SchemaError(f"the 'schema' attribute is {shown[:60]}, not text; this version reads "
                          f"{', '.join(sorted(KIND_OF_SCHEMA))}", path=source)
    if schema not in KIND_OF_SCHEMA:
        known = ", ".join(sorted(KIND_OF_SCHEMA))
        raise SchemaError(f"unknown schema {schema!r}; this version reads {known}", path=source)
    return KIND_OF_SCHEMA[schema]


def check_schema(ds: xr.Dataset, kind: str, source: str | None) -> None:
    found = file_kind(ds, source)
    if found != kind:
        raise SchemaError(f"holds {found}, not {kind}", path=source)


def _check_attrs(ds: xr.Dataset, required: Iterable[str], source: str | None) -> None:
    missing = [k for k in required if k not in ds.attrs]
    if missing:
        raise SchemaError(f"missing required attribute(s): {', '.join(missing)}", path=source)
    for key in [*required, "hidden_size"]:
        if key in ds.attrs and np.ndim(ds.attrs[key]) != 0:
            shown = " ".join(repr(np.asarray(ds.attrs[key]).tolist()).split())
            raise SchemaError(f"attribute {key} is an array ({shown[:60]}); expected one value", path=source)
    for key, allowed in ALLOWED_VALUES.items():
        if key in ds.attrs and (not isinstance(ds.attrs[key], str) or ds.attrs[key] not in allowed):
            shown = ", ".join(repr(a) for a in allowed if a)
            raise SchemaError(f"attribute {key}={ds.attrs[key]!r} is not one of {shown} (or '' for unknown)", path=source)
    if "chat_template" in ds.attrs and attribute_text(ds.attrs["chat_template"]) not in ("0", "1", ""):
        shown = _scalar(ds.attrs["chat_template"])
        raise SchemaError(f"attribute chat_template={shown!r} is not 0 or 1 (whether the texts went through the model's "
                          "chat template; '' for unknown)", path=source)


def _check_variable(ds: xr.Dataset, name: str, dims: Sequence[tuple[str, ...]], source: str | None) -> xr.DataArray:
    if name not in ds.data_vars:
        raise SchemaError(f"no '{name}' variable", path=source)
    var = ds[name]
    if var.dims not in [tuple(d) for d in dims]:
        want = " or ".join(f"({', '.join(d)})" for d in dims)
        raise SchemaError(f"'{name}' has dimensions ({', '.join(var.dims)}), expected {want}", path=source)
    if var.dtype.kind != "f":
        raise SchemaError(f"'{name}' has dtype {var.dtype}, expected floating point", path=source)
    for dim in var.dims:
        if var.sizes[dim] == 0:
            raise ValidationError(f"'{name}' has an empty '{dim}' dimension", path=source)
    return var


def _check_label_coord(ds: xr.Dataset, dim: str, source: str | None) -> xr.Dataset:
    """``ds`` with the labels of ``dim`` checked and stripped of surrounding spaces (as every
    other reader of labels strips them, so that " calm " in a file matches "calm")."""
    if dim not in ds.coords:
        raise SchemaError(f"no '{dim}' coordinate (labels)", path=source)
    if ds[dim].ndim != 1:
        raise SchemaError(f"the '{dim}' coordinate has dimensions {ds[dim].dims}, expected ({dim},)", path=source)
    raw = ds[dim].values.tolist()
    labels = check_labels(raw, dim.rstrip("_"), source)
    if [str(x) for x in raw] != labels.tolist():
        ds = ds.assign_coords({dim: (dim, labels, ds[dim].attrs)})
    return ds


def check_int_coord(ds: xr.Dataset, dim: str, source: str | None) -> None:
    """A one-line error unless ``ds`` has a coordinate ``dim`` of distinct integers."""
    if dim not in ds.coords:
        raise SchemaError(f"no '{dim}' coordinate", path=source)
    values = ds[dim].values
    if values.dtype.kind not in "iu":
        raise SchemaError(f"'{dim}' coordinate must hold integers, found {values.dtype}", path=source)
    labels, counts = np.unique(values, return_counts=True)
    if len(labels) != len(values):
        raise LabelError(f"duplicated '{dim}' values: {', '.join(str(v) for v in labels[counts > 1][:5])}", path=source)


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _first_bad(values: np.ndarray, mask: np.ndarray, dims: Sequence[str], ds: xr.Dataset) -> str:
    idx = np.argwhere(mask)[0]
    where = ", ".join(f"{d}={_scalar(ds[d].values[i])!r}" if d in ds.coords else f"{d}={i}" for d, i in zip(dims, idx))
    return f"{int(mask.sum())} value(s), first at {where} ({values[tuple(idx)]})"


def _check_finite(ds: xr.Dataset, name: str, source: str | None, ignore: np.ndarray | None = None) -> None:
    var = ds[name]
    values = np.asarray(var.values)
    skip = None if ignore is None else np.broadcast_to(ignore, values.shape)
    # One slice of the first axis at a time, so the masks stay small for large files (a streamed
    # extraction writes through here); the full mask is built only to describe a failure.
    for i in range(values.shape[0]) if values.ndim > 1 else [Ellipsis]:
        bad = ~np.isfinite(values[i])
        if skip is not None:
            bad &= ~skip[i]
        if bad.any():
            full = ~np.isfinite(values)
            if skip is not None:
                full &= ~skip
            raise ValidationError(f"NaN or Inf in '{name}': {_first_bad(values, full, var.dims, ds)}", path=source)


def _check_hidden_size(ds: xr.Dataset, source: str | None) -> None:
    declared = ds.attrs.get("hidden_size")
    if declared in (None, ""):
        return
    actual = ds.sizes.get("hidden")
    try:
        declared_int = int(declared)
    except (TypeError, ValueError):
        raise SchemaError(f"attribute hidden_size={declared!r} is not an integer", path=source) from None
    if declared_int != actual:
        raise ValidationError(f"hidden size {actual} disagrees with its metadata (hidden_size={declared_int})", path=source)


def _check_text(values: np.ndarray, source: str | None) -> None:
    """The ``text`` coordinate holds the exact texts the model read or generated: strings, nothing else."""
    values = np.asarray(values)
    if values.dtype.kind in "US":
        return
    if values.dtype.kind == "O":
        other = next((v for v in values.ravel() if not isinstance(v, (str, bytes))), None)
        if other is None:
            return
        found = f"a {type(other).__name__} ({other!r:.40})"
    else:
        found = f"{values.dtype} values"
    raise SchemaError(f"'text' holds {found}; expected the texts the model read or generated (strings)", path=source)


def validate_activations(ds: xr.Dataset, source: str | os.PathLike | None = None) -> xr.Dataset:
    """Check an activations dataset against schema v1; return it in canonical dimension order.

    Raises a subclass of :class:`~rsastats.exceptions.InputError` naming ``source``.
    """
    src = None if source is None else str(source)
    check_schema(ds, "activations", src)
    _check_attrs(ds, REQUIRED_ATTRS, src)
    dims4 = ("emotion", "prompt", "layer", "hidden")
    # Accept any dimension order on disk; hand back the canonical one.
    for name, dims in (("activations", dims4), ("baseline", ("sample", "layer", "hidden")), ("valid", ("emotion", "prompt")), ("text", ("emotion", "prompt"))):
        if name in ds.variables and set(ds[name].dims) == set(dims) and ds[name].dims != dims:
            ds = ds.assign({name: ds[name].transpose(*dims)}) if name in ds.data_vars else ds.assign_coords({name: ds[name].transpose(*dims)})
    _check_variable(ds, "activations", [dims4], src)
    ds = _check_label_coord(ds, "emotion", src)
    check_int_coord(ds, "prompt", src)
    check_int_coord(ds, "layer", src)
    if "text" in ds.variables:
        if ds["text"].dims != ("emotion", "prompt"):
            raise SchemaError(f"'text' has dimensions ({', '.join(ds['text'].dims)}) {tuple(ds['text'].shape)}, expected (emotion, prompt) {(ds.sizes['emotion'], ds.sizes['prompt'])}", path=src)
        _check_text(ds["text"].values, src)
    invalid = None
    if "valid" in ds.data_vars:
        valid = ds["valid"]
        if valid.dims != ("emotion", "prompt"):
            raise SchemaError(f"'valid' has dimensions ({', '.join(valid.dims)}), expected (emotion, prompt)", path=src)
        v = np.asarray(valid.values)
        if not np.isin(v, (0, 1)).all():
            raise ValidationError("'valid' must hold only 0 and 1", path=src)
        empty = [str(e) for e, row in zip(ds["emotion"].values, v) if not row.any()]
        if empty:
            raise ValidationError(f"no valid prompt for emotion(s): {', '.join(empty)}", path=src)
        invalid = (v == 0)[:, :, None, None]
    _check_finite(ds, "activations", src, ignore=invalid)
    if "baseline" in ds.data_vars:
        _check_variable(ds, "baseline", [("sample", "layer", "hidden")], src)
        _check_finite(ds, "baseline", src)
    _check_hidden_size(ds, src)
    return ds


def validate_vectors(ds: xr.Dataset, source: str | os.PathLike | None = None) -> xr.Dataset:
    """Check a vector-set dataset against schema v1 (finite, labelled, no all-zero vector)."""
    src = None if source is None else str(source)
    check_schema(ds, "vectors", src)
    _check_attrs(ds, REQUIRED_ATTRS, src)
    var = _check_variable(ds, "vectors", [("emotion", "hidden"), ("emotion", "layer", "hidden")], src)
    ds = _check_label_coord(ds, "emotion", src)
    if "layer" in var.dims:
        check_int_coord(ds, "layer", src)
    _check_finite(ds, "vectors", src)
    values = np.asarray(var.values)
    zero = ~np.any(values != 0, axis=-1)
    if zero.any():
        raise ValidationError(f"all-zero vector(s): {_first_bad(values[..., 0], zero, var.dims[:-1], ds)}", path=src)
    _check_hidden_size(ds, src)
    return ds


def validate_rdm(ds: xr.Dataset, source: str | os.PathLike | None = None, *, atol: float = 1e-8) -> xr.Dataset:
    """Check an RDM dataset: square, labelled alike on both axes, finite, symmetric, zero diagonal."""
    src = None if source is None else str(source)
    check_schema(ds, "rdm", src)
    _check_attrs(ds, RDM_REQUIRED_ATTRS, src)
    var = _check_variable(ds, "rdm", [("emotion", "emotion_")], src)
    ds = _check_label_coord(ds, "emotion", src)
    ds = _check_label_coord(ds, "emotion_", src)
    if list(ds["emotion"].values) != list(ds["emotion_"].values):
        order = "in another order" if sorted(map(str, ds["emotion"].values)) == sorted(map(str, ds["emotion_"].values)) \
            else "not the same labels"
        raise LabelError(f"row and column labels of the RDM differ ({order}; 'emotion' and 'emotion_' must list the "
                         "same labels in the same order)", path=src)
    _check_finite(ds, "rdm", src)
    m = np.asarray(var.values)
    scale = max(1.0, float(np.abs(m).max()))
    if not np.allclose(m, m.T, rtol=0, atol=atol * scale):
        i, j = np.unravel_index(np.argmax(np.abs(m - m.T)), m.shape)
        a, b = str(ds["emotion"].values[i]), str(ds["emotion"].values[j])
        raise ValidationError(f"RDM is not symmetric: cell ({a!r}, {b!r}) holds {m[i, j]:.6g}, cell ({b!r}, {a!r}) "
                              f"{m[j, i]:.6g}", path=src)
    if np.abs(np.diag(m)).max() > atol * scale:
        k = int(np.argmax(np.abs(np.diag(m))))
        raise ValidationError(f"RDM has a non-zero diagonal: cell ({str(ds['emotion'].values[k])!r}, "
                              f"{str(ds['emotion'].values[k])!r}) holds {m[k, k]:.6g}", path=src)
    return ds


VALIDATORS = {"activations": validate_activations, "vectors": validate_vectors, "rdm": validate_rdm}


def validate_dataset(ds: xr.Dataset, source: str | os.PathLike | None = None) -> tuple[str, xr.Dataset]:
    """Validate a dataset of any of the three kinds; return ``(kind, dataset)``."""
    src = None if source is None else str(source)
    kind = file_kind(ds, src)
    return kind, VALIDATORS[kind](ds, src)

