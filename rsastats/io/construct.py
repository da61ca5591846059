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
    coords: dict[str, Any] = {"emotion": check_labels(emotions, "emotion")}
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

