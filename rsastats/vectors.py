"""Emotion vectors from activations: layer choice, prompt averaging and normalization.

An emotion vector is the mean, over the valid prompts of that emotion, of the activations at one
layer (or at the average of the final ``k`` layers).  The normalization controls the study's referee
asked for are applied either to every prompt row (when they are linear maps of a row, so that they
commute with averaging) or to the mean vectors (when they involve all emotions or are non-linear):

================  ===========================================================  ============
name              what it does                                                 applied to
================  ===========================================================  ============
``raw``           nothing (the study's "raw" vectors)                          --
``emotion-mean``  subtract the mean vector over emotions                       mean vectors
``baseline-mean`` subtract the mean of the baseline (emotion-free) activations prompt rows
``neutral-pc``    project out the top ``n_pcs`` principal components of the    prompt rows
                  (mean-centred) baseline activations; the mean is kept
``unit``          scale every emotion vector to unit length                    mean vectors
``zscore``        z-score every hidden dimension across emotions               mean vectors
================  ===========================================================  ============

The split matters for the prompt bootstrap: a resample averages the (transformed) prompt rows it
drew and then applies the mean-vector step, exactly as :func:`emotion_vectors` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import xarray as xr

from .checks import check_choice, check_count
from .io import make_vectors, validate_activations, validate_vectors
from .exceptions import LabelError, SchemaError, ValidationError

__all__ = [
    "NORMALIZATIONS",
    "ROW_NORMALIZATIONS",
    "BASELINE_NORMALIZATIONS",
    "DEFAULT_N_PCS",
    "PromptRows",
    "select_layers",
    "prompt_rows",
    "mean_vectors",
    "apply_post",
    "emotion_vectors",
    "vector_array",
    "near_zero_rows",
    "recorded_layers",
    "check_one_layer",
]

NORMALIZATIONS = ("raw", "emotion-mean", "baseline-mean", "neutral-pc", "unit", "zscore")
_NORMALIZATION_ALIASES = {
    "none": "raw",
    "centered": "emotion-mean",
    "centred": "emotion-mean",
    "emotion-centered": "emotion-mean",
    "emotion-centred": "emotion-mean",
    "baseline": "baseline-mean",
    "baseline-centered": "baseline-mean",
    "baseline-centred": "baseline-mean",
    "pc": "neutral-pc",
    "neutral-pcs": "neutral-pc",
    "unit-norm": "unit",
    "z-score": "zscore",
}
# Linear maps of one prompt row: they commute with the prompt mean.
ROW_NORMALIZATIONS = ("raw", "baseline-mean", "neutral-pc")
# Those that read the baseline (emotion-free) activations.
BASELINE_NORMALIZATIONS = ("baseline-mean", "neutral-pc")
# Applied to the mean vectors (all emotions at once, or non-linear).
_POST = {"raw": "none", "baseline-mean": "none", "neutral-pc": "none", "emotion-mean": "emotion-mean", "unit": "unit", "zscore": "zscore"}
DEFAULT_N_PCS = 3


@dataclass(frozen=True)
class PromptRows:
    """Per-prompt activation rows of one file after layer choice and row normalization.

    ``values`` is ``(emotion, prompt, hidden)`` float64 with the rows of invalid prompts set to
    zero; ``valid`` marks the usable prompts.  ``post`` is the step still to apply to mean vectors
    (``"none"``, ``"emotion-mean"``, ``"unit"`` or ``"zscore"``).
    """

    values: np.ndarray
    valid: np.ndarray
    emotions: tuple[str, ...]
    prompts: tuple[int, ...]
    post: str
    layers: tuple[int, ...]
    normalization: str
    n_pcs: int | None

    @property
    def n_valid(self) -> np.ndarray:
        return self.valid.sum(axis=1)


def normalization_name(normalization: str) -> str:
    """The canonical name of a normalization (accepts a few spellings, e.g. ``centred``)."""
    return check_choice("normalization", normalization, NORMALIZATIONS, _NORMALIZATION_ALIASES)


def select_layers(layer_labels: Sequence[int], layer: int | None = None, last_k: int | None = None,
                  source: str | None = None) -> tuple[list[int], str]:
    """The layer labels to average and a description of the choice.

    ``layer`` is a layer label of the file, or a negative position counted from the end
    (``-1`` = the last layer; ``"last"`` says the same); ``last_k`` averages the final ``k`` layers.  With neither, the last
    layer is used.
    """
    labels = [int(x) for x in layer_labels]
    if layer is not None and last_k is not None:
        raise ValidationError("give either layer or last_k, not both", path=source)
    if last_k is not None:
        k = check_count("last_k", last_k, 1)
        if k > len(labels):
            raise ValidationError(f"last_k={k} but the file has only {len(labels)} layer(s)", path=source)
        chosen = labels[-k:]
        return chosen, (f"layer {chosen[0]}" if k == 1 else f"mean of last {k} layers ({chosen[0]}-{chosen[-1]})")
    if layer is None:
        return [labels[-1]], f"layer {labels[-1]}"
    if isinstance(layer, str) and layer.strip().lower() == "last":
        layer = -1
    if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, (int, np.integer)):
        raise ValidationError(f"layer must be an integer; got {layer!r}", path=source)
    layer = int(layer)
    if layer in labels:
        return [layer], f"layer {layer}"
    if layer < 0 and -layer <= len(labels):
        chosen = labels[layer]
        return [chosen], f"layer {chosen}"
    raise ValidationError(f"no layer {layer} in this file (it has layers {_short(labels)})", path=source)


def _short(values: Sequence[int]) -> str:
    return ", ".join(map(str, values)) if len(values) <= 8 else f"{values[0]}..{values[-1]} ({len(values)} layers)"


def _neutral_pc_basis(baseline: np.ndarray, n_pcs: int, source: str | None) -> np.ndarray:
    """The top ``n_pcs`` principal directions (rows, orthonormal) of the baseline samples."""
    n_samples, hidden = baseline.shape
    if n_pcs > min(n_samples - 1, hidden):
        raise ValidationError(f"n_pcs={n_pcs} but the baseline has only {n_samples} samples of dimension {hidden}"
                              f" (at most {min(n_samples - 1, hidden)} components)", path=source)
    centred = baseline - baseline.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    if singular[n_pcs - 1] <= singular[0] * 1e-12:
        raise ValidationError(f"the baseline activations span fewer than n_pcs={n_pcs} directions", path=source)
    return vt[:n_pcs]


def _prompt_selection(acts: xr.Dataset, prompts: Any, source: str | None) -> np.ndarray:
    """A boolean (emotion, prompt) mask from prompt labels or a mask."""
    n_e, n_p = acts.sizes["emotion"], acts.sizes["prompt"]
    if prompts is None:
        return np.ones((n_e, n_p), dtype=bool)
    arr = np.asarray(prompts)
    if arr.ndim == 2:
        if arr.shape != (n_e, n_p):
            raise ValidationError(f"a prompt mask must have shape (emotion, prompt) = {(n_e, n_p)}; got {arr.shape}", path=source)
        return arr.astype(bool)
    labels = [int(x) for x in acts["prompt"].values]
    wanted = [int(x) for x in np.ravel(arr)]
    missing = sorted(set(wanted) - set(labels))
    if missing:
        raise LabelError(f"no prompt(s) {missing[:5]} in this file", path=source)
    return np.broadcast_to(np.isin(labels, wanted), (n_e, n_p)).copy()


def prompt_rows(acts: xr.Dataset, *, layer: int | None = None, last_k: int | None = None, normalization: str = "raw",
                n_pcs: int = DEFAULT_N_PCS, prompts: Any = None, source: str | None = None) -> PromptRows:
    """Layer-selected, row-normalized prompt activations of one activations dataset (float64)."""
    normalization = normalization_name(normalization)
    acts = validate_activations(acts, source)
    chosen, _ = select_layers(acts["layer"].values, layer, last_k, source)
    values = acts["activations"].sel(layer=chosen).values.astype(np.float64).mean(axis=2)  # (E, P, H)
    valid = np.ones(values.shape[:2], dtype=bool) if "valid" not in acts.data_vars else acts["valid"].values.astype(bool)
    valid &= _prompt_selection(acts, prompts, source)
    emotions = tuple(str(e) for e in acts["emotion"].values)
    empty = [e for e, row in zip(emotions, valid) if not row.any()]
    if empty:
        raise ValidationError(f"no valid prompt left for emotion(s): {', '.join(empty)}", path=source)
    values[~valid] = 0.0  # invalid rows may hold anything (even NaN); they never count
    used_pcs = None
    if normalization in BASELINE_NORMALIZATIONS:
        if "baseline" not in acts.data_vars:
            raise ValidationError(f"normalization {normalization!r} needs baseline activations; this file has none", path=source)
        baseline = acts["baseline"].sel(layer=chosen).values.astype(np.float64).mean(axis=1)  # (S, H)
        if normalization == "baseline-mean":
            values = values - baseline.mean(axis=0)
        else:
            used_pcs = check_count("n_pcs", n_pcs, 1)
            basis = _neutral_pc_basis(baseline, used_pcs, source)
            values = values - (values @ basis.T) @ basis
        values[~valid] = 0.0
    return PromptRows(values=values, valid=valid, emotions=emotions, prompts=tuple(int(p) for p in acts["prompt"].values),
                      post=_POST[normalization], layers=tuple(chosen), normalization=normalization, n_pcs=used_pcs)


def mean_vectors(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted prompt means: ``values`` (E, P, H), ``weights`` (..., E, P) -> (..., E, H)."""
    totals = weights.sum(axis=-1)
    return np.einsum("...ep,eph->...eh", weights, values) / totals[..., None]


def apply_post(vectors: np.ndarray, post: str, source: str | None = None) -> np.ndarray:
    """Apply the mean-vector step of a normalization to ``vectors`` (..., E, H)."""
    if post == "none":
        return vectors
    if post == "emotion-mean":
        return vectors - vectors.mean(axis=-2, keepdims=True)
    if post == "unit":
        norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
        if np.any(norms == 0):
            raise ValidationError("an emotion vector has zero norm and cannot be unit-normalized", path=source)
        return vectors / norms
    if post == "zscore":
        centred = vectors - vectors.mean(axis=-2, keepdims=True)
        sd = centred.std(axis=-2, keepdims=True)
        # A dimension that is constant across emotions carries no information: it stays 0
        # (its centred value) instead of becoming 0/0.
        return np.divide(centred, sd, out=np.zeros_like(centred), where=sd > 0)
    raise ValueError(f"unknown post step {post!r}")  # pragma: no cover - internal


def _vector_attrs(attrs: dict[str, Any], description: str, layers: Sequence[int], normalization: str,
                  n_pcs: int | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {k: v for k, v in attrs.items() if k not in ("schema", "created", "software", "hidden_size")}
    out.update({
        "layer_selection": description,
        "layers": ", ".join(map(str, layers)),
        "normalization": normalization,
        "n_pcs": "" if n_pcs is None else int(n_pcs),
    })
    out.update(extra or {})
    return out


def emotion_vectors(acts: xr.Dataset, *, layer: int | None = None, last_k: int | None = None, normalization: str = "raw",
                    n_pcs: int = DEFAULT_N_PCS, prompts: Any = None) -> xr.Dataset:
    """Emotion vectors (one per emotion) from an activations dataset.

    Parameters
    ----------
    acts : xarray.Dataset
        A schema-v1 activations dataset (see :func:`rsastats.io.make_activations`).
    layer : int, optional
        A layer label of the file, or a negative position from the end (``-1`` = last layer).
    last_k : int, optional
        Average the final ``k`` layers instead (per prompt, before the prompt mean).
    normalization : str
        One of :data:`NORMALIZATIONS` (see the module docstring).
    n_pcs : int
        Number of baseline principal components removed by ``"neutral-pc"``.
    prompts : sequence of prompt labels, or boolean array (emotion, prompt), optional
        Restrict the mean to these prompts (always only the valid ones).

    Returns
    -------
    xarray.Dataset
        A schema-v1 vectors dataset ``vectors(emotion, hidden)`` whose attributes record the
        layer choice (``layer_selection``, ``layers``), ``normalization``, ``n_pcs`` and the
        number of prompts averaged (``n_prompts_min``/``n_prompts_max``).
    """
    rows = prompt_rows(acts, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs, prompts=prompts)
    vectors = apply_post(mean_vectors(rows.values, rows.valid.astype(np.float64)), rows.post)
    _, description = select_layers(acts["layer"].values, layer, last_k)
    counts = rows.n_valid
    attrs = _vector_attrs(dict(acts.attrs), description, rows.layers, rows.normalization, rows.n_pcs,
                          {"n_prompts_min": int(counts.min()), "n_prompts_max": int(counts.max())})
    _check_nonzero(vectors, rows.emotions)
    return make_vectors(vectors, list(rows.emotions), attrs=attrs)


# Below this fraction of the largest norm, a vector's direction is rounding noise (float32 data
# carry about 7 significant digits; centring can cancel all of them).
NEAR_ZERO = 1e-6


def near_zero_rows(vectors: np.ndarray) -> np.ndarray:
    """True for vectors whose norm is zero or below ``NEAR_ZERO`` times the largest norm."""
    norms = np.sqrt((np.asarray(vectors, dtype=np.float64) ** 2).sum(axis=-1))
    return norms <= NEAR_ZERO * max(float(norms.max(initial=0.0)), np.finfo(float).tiny)


def _check_nonzero(vectors: np.ndarray, emotions: Sequence[str], source: str | None = None) -> None:
    zero = near_zero_rows(vectors)
    if zero.any():
        names = [emotions[i] for i in np.flatnonzero(zero)]
        raise ValidationError(f"all-zero (or numerically zero) emotion vector(s) after normalization: {', '.join(names)}",
                              path=source)


def recorded_layers(attrs: Any) -> tuple[int, ...] | None:
    """The layer labels a file without a layer axis was made from, as its attributes record them
    (``layers`` = ``"30"`` or ``"27, 28, 29, 30"``, or ``layer_selection`` = ``"layer 30"``); None when
    they are not recorded."""
    text = str(attrs.get("layers", "") or "").strip()
    if re.fullmatch(r"-?\d+(\s*,\s*-?\d+)*", text):
        return tuple(int(x) for x in text.split(","))
    match = re.fullmatch(r"layer (-?\d+)", str(attrs.get("layer_selection", "") or "").strip())
    return (int(match.group(1)),) if match else None


def check_one_layer(attrs: Any, layer: int | None, last_k: int | None, kind: str, source: str | None = None) -> None:
    """A file that holds one layer's vectors (or RDM) accepts a layer choice only when it picks that
    layer: none, ``last``/``-1``, ``last_k=1``, or the layer label the file records.  Anything else
    would silently compare another layer than the one asked for, so it is a one-line error."""
    stored = recorded_layers(attrs)
    if last_k is not None and last_k != 1:
        raise SchemaError(f"this {kind} file holds one layer ({_stored_text(stored)}); last_k={last_k} cannot be "
                          "applied to it", path=source)
    if layer is None or layer == -1 or (stored is not None and len(stored) == 1 and layer == stored[0]):
        return
    if stored is None:
        raise SchemaError(f"this {kind} file holds one layer and does not record which, so layer {layer} cannot be "
                          f"checked; give it as FILE@last (or without a layer)", path=source)
    raise SchemaError(f"this {kind} file holds {_stored_text(stored)} only, not layer {layer}; give it as FILE@last "
                      "to use what it holds", path=source)


def _stored_text(stored: tuple[int, ...] | None) -> str:
    if stored is None:
        return "which one is not recorded"
    return f"layer {stored[0]}" if len(stored) == 1 else f"the mean of layers {_short(list(stored))}"


def vector_array(ds: xr.Dataset, *, layer: int | None = None, last_k: int | None = None, normalization: str = "raw",
                 source: str | None = None) -> tuple[tuple[str, ...], np.ndarray, str]:
    """Labels, float64 vectors (E, H) and the layer description of a vectors dataset.

    Vector files have no prompts and no baseline: ``baseline-mean`` and ``neutral-pc`` are refused.
    """
    normalization = normalization_name(normalization)
    ds = validate_vectors(ds, source)
    if normalization not in ("raw", "emotion-mean", "unit", "zscore"):
        raise ValidationError(f"normalization {normalization!r} needs baseline activations; a vector file has none", path=source)
    var = ds["vectors"]
    if "layer" in var.dims:
        chosen, description = select_layers(ds["layer"].values, layer, last_k, source)
        values = var.sel(layer=chosen).values.astype(np.float64).mean(axis=1)
    else:
        check_one_layer(ds.attrs, layer, last_k, "vector", source)
        values = var.values.astype(np.float64)
        description = str(ds.attrs.get("layer_selection", "")) or "as stored"
    labels = tuple(str(e) for e in ds["emotion"].values)
    values = apply_post(values, _POST[normalization], source)
    _check_nonzero(values, labels, source)
    return labels, values, description
