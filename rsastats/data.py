"""The labelled file formats of rsastats (schema v1) and their validated readers and writers.

Three kinds of file, all NetCDF4 written through xarray (see ``docs/file-format.md``):

``activations``  ``activations(emotion, prompt, layer, hidden)`` float32, one model x one
                 extraction condition, optional ``valid(emotion, prompt)`` int8 mask,
                 optional ``baseline(sample, layer, hidden)`` for emotion-free texts, and the
                 ``text(emotion, prompt)`` the model read or generated.
``vectors``      ``vectors(emotion, hidden)`` or ``vectors(emotion, layer, hidden)`` float32: one
                 vector per emotion, e.g. imported from a published study.
``rdm``          ``rdm(emotion, emotion_)`` float64: a representational dissimilarity matrix.

Every reader validates the whole file and raises one subclass of
:class:`~rsastats.exceptions.InputError` whose one-line message starts with the file's path.
Every writer validates first and then writes atomically: to a temporary name in the same
folder, renamed over the final name only once complete.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import os
import platform
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import xarray as xr

from ._version import __version__
from .exceptions import FileFormatError, LabelError, SchemaError, ValidationError

__all__ = [
    "SCHEMA_ACTIVATIONS",
    "SCHEMA_VECTORS",
    "SCHEMA_RDM",
    "METHODS",
    "PRECISIONS",
    "VARIANTS",
    "LAST_LAYER_NORM",
    "REQUIRED_ATTRS",
    "make_attrs",
    "make_activations",
    "make_vectors",
    "make_rdm",
    "validate_activations",
    "validate_vectors",
    "validate_rdm",
    "validate_dataset",
    "file_kind",
    "open_activations",
    "open_vectors",
    "open_rdm",
    "open_dataset",
    "write_dataset",
    "atomic_path",
    "software_versions",
    "attribute_text",
]

SCHEMA_ACTIVATIONS = "rsastats.activations/1"
SCHEMA_VECTORS = "rsastats.vectors/1"
SCHEMA_RDM = "rsastats.rdm/1"
_KIND_OF_SCHEMA = {SCHEMA_ACTIVATIONS: "activations", SCHEMA_VECTORS: "vectors", SCHEMA_RDM: "rdm"}
_SCHEMA_OF_KIND = {v: k for k, v in _KIND_OF_SCHEMA.items()}

# "" means unknown / not applicable: NetCDF attributes hold no None.
METHODS = ("comprehension", "generation", "")
VARIANTS = ("base", "instruct", "")
# INT8 is not one scheme; see docs/file-format.md.  "int8" alone is accepted for imported
# vector sets whose paper does not say which scheme was used.
PRECISIONS = ("fp32", "fp16", "bf16", "int8-dynamic", "int8-token", "int8-weight", "int8", "")
# What the last entry of the layer axis is, for models with a final normalisation.
LAST_LAYER_NORM = ("post-final-norm", "pre-final-norm", "no-final-norm", "")

# Attributes every activations or vectors file carries, with the value used when unknown.
REQUIRED_ATTRS: dict[str, Any] = {
    "schema": "",
    "model": "",
    "model_revision": "",
    "family": "",
    "variant": "",
    "method": "",
    "pooling": "",
    "precision": "",
    "experiment": "",
    "stimulus_set": "",
    "template": "",
    "chat_template": 0,
    "temperature": "",
    "top_p": "",
    "max_new_tokens": "",
    "seed": "",
    "created": "",
    "software": "",
}
_RDM_REQUIRED_ATTRS = ("schema", "rdm_method", "source")
_ALLOWED = {"method": METHODS, "variant": VARIANTS, "precision": PRECISIONS, "last_layer_norm": LAST_LAYER_NORM}


# --------------------------------------------------------------------------- attributes
def software_versions() -> str:
    """A one-line record of the software that made a file (no torch import here)."""
    import importlib.metadata as md

    parts = [f"rsastats {__version__}", f"python {platform.python_version()}"]
    for name in ("numpy", "xarray", "netCDF4", "torch", "transformers"):
        with contextlib.suppress(md.PackageNotFoundError):
            parts.append(f"{name} {md.version(name)}")
    return "; ".join(parts)


def attribute_text(value: Any) -> str:
    """An attribute value as text, numbers in one spelling (``0.7 == "0.70"``, ``100 == "100.0"``);
    ``""`` for a missing value (None).  Lists and arrays become comma-separated text."""
    if value is None:
        return ""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return ", ".join(attribute_text(v) for v in value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return format(number, "g") if math.isfinite(number) else text


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _netcdf_attr(name: str, value: Any) -> Any:
    """Coerce one attribute value to something NetCDF stores, or raise."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.dtype.kind in "iuf" and arr.ndim == 1:
            return arr
        if all(isinstance(v, str) for v in np.ravel(arr)):
            return ", ".join(map(str, np.ravel(arr)))
    raise ValidationError(f"attribute {name!r} has a value NetCDF cannot store: {value!r}")


def make_attrs(kind: str = "activations", /, **attrs: Any) -> dict[str, Any]:
    """Attributes for a new file of ``kind``: defaults for every required key, then ``attrs``.

    ``None`` becomes ``""`` and booleans become 0/1 (NetCDF stores neither).  ``created``
    and ``software`` are filled in when not given.
    """
    if kind not in _SCHEMA_OF_KIND:
        raise ValidationError(f"unknown file kind {kind!r}; expected one of {sorted(_SCHEMA_OF_KIND)}")
    base: dict[str, Any] = dict(REQUIRED_ATTRS) if kind != "rdm" else {"rdm_method": "", "source": ""}
    base.update({k: _netcdf_attr(k, v) for k, v in attrs.items()})
    base["schema"] = _SCHEMA_OF_KIND[kind]
    base.setdefault("created", "")
    base["created"] = base["created"] or _now()
    base["software"] = base.get("software") or software_versions()
    return base


# --------------------------------------------------------------------------- constructors
def _labels(values: Iterable[Any], what: str, source: str | None = None) -> np.ndarray:
    labels = [str(v) for v in values]
    if not labels:
        raise LabelError(f"no {what} labels", path=source)
    stripped = [lab.strip() for lab in labels]
    if any(not lab for lab in stripped):
        raise LabelError(f"empty {what} label at position {stripped.index('')}", path=source)
    seen: dict[str, int] = {}
    for i, lab in enumerate(stripped):
        if lab in seen:
            raise LabelError(f"duplicated {what} label {lab!r} (positions {seen[lab]} and {i})", path=source)
        seen[lab] = i
    return np.array(stripped, dtype=object)


def make_activations(
    activations: Any,
    emotions: Sequence[str],
    *,
    prompts: Sequence[int] | None = None,
    layers: Sequence[int] | None = None,
    text: Any = None,
    valid: Any = None,
    baseline: Any = None,
    baseline_text: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Build a validated activations dataset from arrays and labels.

    Parameters
    ----------
    activations : array (n_emotion, n_prompt, n_layer, n_hidden)
    emotions : emotion labels, unique and non-empty.
    prompts, layers : integer coordinates; default ``0..n-1``.
    text : array of str (n_emotion, n_prompt), optional; the exact text of each prompt.
    valid : array of 0/1 (n_emotion, n_prompt), optional; 0 marks prompts without a usable
        activation (their values are ignored everywhere).
    baseline : array (n_sample, n_layer, n_hidden), optional; emotion-free activations.
    baseline_text : the texts of the baseline samples, optional.
    attrs : file attributes; see :data:`REQUIRED_ATTRS` and :func:`make_attrs`.
    """
    values = np.asarray(activations)
    if values.ndim != 4:
        raise ValidationError(f"activations must have 4 dimensions (emotion, prompt, layer, hidden), got shape {values.shape}")
    n_e, n_p, n_l, n_h = values.shape
    coords: dict[str, Any] = {
        "emotion": _labels(emotions, "emotion"),
        "prompt": np.arange(n_p) if prompts is None else np.asarray(prompts, dtype=np.int64),
        "layer": np.arange(n_l) if layers is None else np.asarray(layers, dtype=np.int64),
    }
    if len(coords["emotion"]) != n_e:
        raise LabelError(f"{len(coords['emotion'])} emotion labels for {n_e} rows of activations")
    data_vars: dict[str, Any] = {"activations": (("emotion", "prompt", "layer", "hidden"), values.astype(np.float32, copy=False))}
    if text is not None:
        coords["text"] = (("emotion", "prompt"), np.asarray(text, dtype=object))
    if valid is not None:
        data_vars["valid"] = (("emotion", "prompt"), np.asarray(valid).astype(np.int8))
    if baseline is not None:
        base = np.asarray(baseline)
        data_vars["baseline"] = (("sample", "layer", "hidden"), base.astype(np.float32, copy=False))
        if baseline_text is not None:
            coords["baseline_text"] = (("sample",), np.asarray(list(baseline_text), dtype=object))
    all_attrs = make_attrs("activations", **{"hidden_size": n_h, **dict(attrs or {})})
    try:
        ds = xr.Dataset(data_vars, coords=coords, attrs=all_attrs)
    except ValueError as exc:  # xarray's own shape checks
        raise ValidationError(f"arrays do not fit together: {exc}") from None
    return validate_activations(ds)


def make_vectors(
    vectors: Any,
    emotions: Sequence[str],
    *,
    layers: Sequence[int] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> xr.Dataset:
    """Build a validated vector-set dataset: ``vectors(emotion, hidden)`` or, with a 3-D
    array, ``vectors(emotion, layer, hidden)``."""
    values = np.asarray(vectors)
    if values.ndim == 2:
        dims: tuple[str, ...] = ("emotion", "hidden")
    elif values.ndim == 3:
        dims = ("emotion", "layer", "hidden")
    else:
        raise ValidationError(f"vectors must have 2 (emotion, hidden) or 3 (emotion, layer, hidden) dimensions, got shape {values.shape}")
    coords: dict[str, Any] = {"emotion": _labels(emotions, "emotion")}
    if len(coords["emotion"]) != values.shape[0]:
        raise LabelError(f"{len(coords['emotion'])} emotion labels for {values.shape[0]} vectors")
    if values.ndim == 3:
        coords["layer"] = np.arange(values.shape[1]) if layers is None else np.asarray(layers, dtype=np.int64)
    all_attrs = make_attrs("vectors", **{"hidden_size": values.shape[-1], **dict(attrs or {})})
    try:
        ds = xr.Dataset({"vectors": (dims, values.astype(np.float32, copy=False))}, coords=coords, attrs=all_attrs)
    except ValueError as exc:
        raise ValidationError(f"arrays do not fit together: {exc}") from None
    return validate_vectors(ds)


def make_rdm(rdm: Any, emotions: Sequence[str], *, attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Build a validated RDM dataset ``rdm(emotion, emotion_)`` (square, symmetric, zero diagonal)."""
    values = np.asarray(rdm, dtype=np.float64)
    labels = _labels(emotions, "emotion")
    if values.ndim != 2:
        raise ValidationError(f"an RDM must be a 2-D matrix, got shape {values.shape}")
    if values.shape[0] != len(labels):
        raise LabelError(f"{len(labels)} emotion labels for an RDM with {values.shape[0]} rows")
    try:
        ds = xr.Dataset(
            {"rdm": (("emotion", "emotion_"), values)},
            coords={"emotion": labels, "emotion_": labels.copy()},
            attrs=make_attrs("rdm", **dict(attrs or {})),
        )
    except ValueError as exc:
        raise ValidationError(f"arrays do not fit together: {exc}") from None
    return validate_rdm(ds)


# --------------------------------------------------------------------------- validation
def file_kind(ds: xr.Dataset, source: str | None = None) -> str:
    """``"activations"``, ``"vectors"`` or ``"rdm"`` from the ``schema`` attribute, or raise."""
    schema = ds.attrs.get("schema")
    if schema is None:
        raise SchemaError("not an rsastats file: no 'schema' attribute (another program's NetCDF?)", path=source)
    if schema not in _KIND_OF_SCHEMA:
        known = ", ".join(sorted(_KIND_OF_SCHEMA))
        raise SchemaError(f"unknown schema {schema!r}; this version reads {known}", path=source)
    return _KIND_OF_SCHEMA[schema]


def _check_schema(ds: xr.Dataset, kind: str, source: str | None) -> None:
    found = file_kind(ds, source)
    if found != kind:
        raise SchemaError(f"holds {found}, not {kind}", path=source)


def _check_attrs(ds: xr.Dataset, required: Iterable[str], source: str | None) -> None:
    missing = [k for k in required if k not in ds.attrs]
    if missing:
        raise SchemaError(f"missing required attribute(s): {', '.join(missing)}", path=source)
    for key, allowed in _ALLOWED.items():
        if key in ds.attrs and str(ds.attrs[key]) not in allowed:
            shown = ", ".join(repr(a) for a in allowed if a)
            raise SchemaError(f"attribute {key}={ds.attrs[key]!r} is not one of {shown} (or '' for unknown)", path=source)


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


def _check_labels(ds: xr.Dataset, dim: str, source: str | None) -> None:
    if dim not in ds.coords:
        raise SchemaError(f"no '{dim}' coordinate (labels)", path=source)
    _labels(ds[dim].values.tolist(), dim.rstrip("_"), source)


def _check_int_coord(ds: xr.Dataset, dim: str, source: str | None) -> None:
    if dim not in ds.coords:
        raise SchemaError(f"no '{dim}' coordinate", path=source)
    values = ds[dim].values
    if values.dtype.kind not in "iu":
        raise SchemaError(f"'{dim}' coordinate must hold integers, found {values.dtype}", path=source)
    if len(np.unique(values)) != len(values):
        raise LabelError(f"duplicated '{dim}' values", path=source)


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


def validate_activations(ds: xr.Dataset, source: str | os.PathLike | None = None) -> xr.Dataset:
    """Check an activations dataset against schema v1; return it in canonical dimension order.

    Raises a subclass of :class:`~rsastats.exceptions.InputError` naming ``source``.
    """
    src = None if source is None else str(source)
    _check_schema(ds, "activations", src)
    _check_attrs(ds, REQUIRED_ATTRS, src)
    dims4 = ("emotion", "prompt", "layer", "hidden")
    # Accept any dimension order on disk; hand back the canonical one.
    for name, dims in (("activations", dims4), ("baseline", ("sample", "layer", "hidden")), ("valid", ("emotion", "prompt")), ("text", ("emotion", "prompt"))):
        if name in ds.variables and set(ds[name].dims) == set(dims) and ds[name].dims != dims:
            ds = ds.assign({name: ds[name].transpose(*dims)}) if name in ds.data_vars else ds.assign_coords({name: ds[name].transpose(*dims)})
    _check_variable(ds, "activations", [dims4], src)
    _check_labels(ds, "emotion", src)
    _check_int_coord(ds, "prompt", src)
    _check_int_coord(ds, "layer", src)
    if "text" in ds.variables:
        if ds["text"].dims != ("emotion", "prompt"):
            raise SchemaError(f"'text' has dimensions ({', '.join(ds['text'].dims)}) {tuple(ds['text'].shape)}, expected (emotion, prompt) {(ds.sizes['emotion'], ds.sizes['prompt'])}", path=src)
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
    _check_schema(ds, "vectors", src)
    _check_attrs(ds, REQUIRED_ATTRS, src)
    var = _check_variable(ds, "vectors", [("emotion", "hidden"), ("emotion", "layer", "hidden")], src)
    _check_labels(ds, "emotion", src)
    if "layer" in var.dims:
        _check_int_coord(ds, "layer", src)
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
    _check_schema(ds, "rdm", src)
    _check_attrs(ds, _RDM_REQUIRED_ATTRS, src)
    var = _check_variable(ds, "rdm", [("emotion", "emotion_")], src)
    _check_labels(ds, "emotion", src)
    _check_labels(ds, "emotion_", src)
    if list(ds["emotion"].values) != list(ds["emotion_"].values):
        raise LabelError("row and column labels of the RDM differ", path=src)
    _check_finite(ds, "rdm", src)
    m = np.asarray(var.values)
    scale = max(1.0, float(np.abs(m).max()))
    if not np.allclose(m, m.T, rtol=0, atol=atol * scale):
        i, j = np.unravel_index(np.argmax(np.abs(m - m.T)), m.shape)
        raise ValidationError(f"RDM is not symmetric (cell {ds['emotion'].values[i]!r},{ds['emotion'].values[j]!r})", path=src)
    if np.abs(np.diag(m)).max() > atol * scale:
        raise ValidationError("RDM has a non-zero diagonal", path=src)
    return ds


_VALIDATORS = {"activations": validate_activations, "vectors": validate_vectors, "rdm": validate_rdm}


def validate_dataset(ds: xr.Dataset, source: str | os.PathLike | None = None) -> tuple[str, xr.Dataset]:
    """Validate a dataset of any of the three kinds; return ``(kind, dataset)``."""
    src = None if source is None else str(source)
    kind = file_kind(ds, src)
    return kind, _VALIDATORS[kind](ds, src)


# --------------------------------------------------------------------------- reading
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


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


def _read(path: str | os.PathLike, layers: Sequence[int] | Callable[[list[int]], Sequence[int]] | None = None) -> xr.Dataset:
    """Open a NetCDF file and load it into memory, mapping every failure to one error.

    ``layers`` selects layer labels before anything is loaded: a list, or a function of the file's
    layer labels that returns the list (so a choice like "the last 4" needs one opening of the file).
    """
    p = Path(path)
    _check_readable(p)
    try:
        with xr.open_dataset(p, engine="netcdf4", decode_times=False, mask_and_scale=False) as handle:
            if callable(layers):
                layers = layers([int(x) for x in handle["layer"].values]) if "layer" in handle.coords else None
            if layers is not None and "layer" in handle.dims:
                missing = sorted(set(int(x) for x in layers) - set(int(x) for x in handle["layer"].values))
                if missing:
                    raise ValidationError(f"no layer(s) {missing} in this file (it has {handle['layer'].values.tolist()})", path=p)
                handle = handle.sel(layer=list(layers))
            return handle.load()
    except (ValidationError, SchemaError):
        raise
    except (OSError, RuntimeError, ValueError, KeyError, IndexError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise FileFormatError(f"cannot be read as NetCDF (truncated or corrupt?): {reason}", path=p) from None


def open_dataset(path: str | os.PathLike, *, layers: Any = None) -> tuple[str, xr.Dataset]:
    """Read and validate any rsastats file; return ``(kind, dataset)``.  ``layers``: a list of layer
    labels, or a function of the file's layer labels returning one (only those are loaded)."""
    ds = _read(path, layers)
    return validate_dataset(ds, path)


def _open_kind(kind: str, path: str | os.PathLike, layers: Sequence[int] | None = None) -> xr.Dataset:
    ds = _read(path, layers)
    _check_schema(ds, kind, str(path))
    return _VALIDATORS[kind](ds, path)


def open_activations(path: str | os.PathLike, *, layers: Sequence[int] | None = None) -> xr.Dataset:
    """Read and validate an activations file (optionally only some ``layers``)."""
    return _open_kind("activations", path, layers)


def open_vectors(path: str | os.PathLike, *, layers: Sequence[int] | None = None) -> xr.Dataset:
    """Read and validate a vector-set file."""
    return _open_kind("vectors", path, layers)


def open_rdm(path: str | os.PathLike) -> xr.Dataset:
    """Read and validate an RDM file."""
    return _open_kind("rdm", path)


# --------------------------------------------------------------------------- writing
@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    On any exception (KeyboardInterrupt included) the temporary file is removed and nothing
    appears under the final name.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _encoding(ds: xr.Dataset) -> dict[str, dict[str, Any]]:
    enc: dict[str, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        if var.dtype == object:
            enc[str(name)] = {"dtype": str}
        elif var.dtype.kind == "f":
            enc[str(name)] = {"_FillValue": None}  # no fill value: NaN is never data here
    return enc


def write_dataset(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Validate ``ds`` and write it atomically as NetCDF4; return the final path."""
    kind, ds = validate_dataset(ds, path)
    out = Path(path)
    with atomic_path(out) as tmp:
        ds.to_netcdf(tmp, engine="netcdf4", format="NETCDF4", encoding=_encoding(ds))
    return out
