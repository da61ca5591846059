"""Building validated rsastats datasets from arrays and labels: ``make_activations``,
``make_vectors`` and ``make_rdm`` (schema v1, see :mod:`rsastats.io.schema`)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from ..exceptions import LabelError, ValidationError
from .schema import check_labels, make_attrs
from .validate import validate_activations, validate_rdm, validate_vectors

__all__ = ["make_activations", "make_vectors", "make_rdm"]

_FLOAT32 = np.finfo(np.float32)
CAST_TOLERANCE = 1e-6  # a vector's relative change in float32: rounding alone is below 6e-8 per value


def _float32(values: np.ndarray, what: str, dims: Sequence[str], emotions: Sequence[str] | None = None) -> np.ndarray:
    """``values`` as the float32 the file format stores, refusing what that would change: finite values beyond its
    range (they would become infinite) and vectors (the last axis) so small that float32 would flush them toward 0
    (their relative change above :data:`CAST_TOLERANCE`).  A single tiny entry beside larger ones changes nothing
    and passes.  An array that is float32 already, or an integer one, is cast as it is.  ``dims`` name the axes and
    ``emotions`` label the first one, for the message."""
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4:
        return values.astype(np.float32, copy=False)
    out = values.astype(np.float32)
    finite = np.isfinite(values)
    beyond = finite & ~np.isfinite(out)
    if beyond.any():
        first = _where(np.argwhere(beyond)[0], dims, emotions)
        raise ValidationError(f"{int(beyond.sum())} value(s) of {what}, first at {first}, lie beyond the range of "
                              f"float32, which the file format stores ({_FLOAT32.max:.3g}): "
                              f"{float(values[beyond].flat[0]):.3g}; rescale them (a common factor changes no cosine or "
                              "rank statistic)")
    rows = (finite & (values != 0) & (np.abs(values) < _FLOAT32.tiny)).any(axis=-1)  # vectors with a tiny entry
    if rows.any():
        exact, stored = values[rows].astype(np.float64), out[rows].astype(np.float64)
        scale = np.linalg.norm(np.where(np.isfinite(exact), exact, 0.0), axis=-1)
        change = np.linalg.norm(np.where(np.isfinite(exact), stored - exact, 0.0), axis=-1)
        lost = (scale > 0) & (change > CAST_TOLERANCE * scale)
        if lost.any():
            k = int(np.argmax(lost))
            at = _where(np.argwhere(rows)[k], dims, emotions)
            raise ValidationError(f"{what} at {at}: a vector of length {scale[k]:.3g} is too small "
                                  f"for float32, which the file format stores (normal values from {_FLOAT32.tiny:.3g}): "
                                  "it would lose its precision or become 0; rescale the values (a common factor changes "
                                  "no cosine or rank statistic)")
    return out


def _where(index: Sequence[int], dims: Sequence[str], emotions: Sequence[str] | None) -> str:
    parts = [f"{dim} {emotions[int(i)]!r}" if dim == "emotion" and emotions is not None else f"{dim} {int(i)}"
             for dim, i in zip(dims, index)]
    return ", ".join(parts)


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
        "emotion": check_labels(emotions, "emotion"),
        "prompt": np.arange(n_p) if prompts is None else np.asarray(prompts, dtype=np.int64),
        "layer": np.arange(n_l) if layers is None else np.asarray(layers, dtype=np.int64),
    }
    if len(coords["emotion"]) != n_e:
        raise LabelError(f"{len(coords['emotion'])} emotion labels for {n_e} rows of activations")
    dims = ("emotion", "prompt", "layer", "hidden")
    data_vars: dict[str, Any] = {"activations": (dims, _float32(values, "activations", dims, coords["emotion"]))}
    if text is not None:
        coords["text"] = (("emotion", "prompt"), np.asarray(text, dtype=object))
    if valid is not None:
        data_vars["valid"] = (("emotion", "prompt"), np.asarray(valid).astype(np.int8))
    if baseline is not None:
        base = np.asarray(baseline)
        base_dims = ("sample", "layer", "hidden")
        data_vars["baseline"] = (base_dims, _float32(base, "baseline", base_dims))
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
    coords: dict[str, Any] = {"emotion": check_labels(emotions, "emotion")}
    if len(coords["emotion"]) != values.shape[0]:
        raise LabelError(f"{len(coords['emotion'])} emotion labels for {values.shape[0]} vectors")
    if values.ndim == 3:
        coords["layer"] = np.arange(values.shape[1]) if layers is None else np.asarray(layers, dtype=np.int64)
    all_attrs = make_attrs("vectors", **{"hidden_size": values.shape[-1], **dict(attrs or {})})
    stored = _float32(values, "vectors", dims, coords["emotion"])
    try:
        ds = xr.Dataset({"vectors": (dims, stored)}, coords=coords, attrs=all_attrs)
    except ValueError as exc:
        raise ValidationError(f"arrays do not fit together: {exc}") from None
    return validate_vectors(ds)


def make_rdm(rdm: Any, emotions: Sequence[str], *, attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Build a validated RDM dataset ``rdm(emotion, emotion_)`` (square, symmetric, zero diagonal)."""
    values = np.asarray(rdm, dtype=np.float64)
    labels = check_labels(emotions, "emotion")
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

