"""Geometry descriptors of one file, per layer, with bootstrap CIs (:func:`geometry`), and the rows of
one layer that every descriptor is computed from (:func:`layer_data`).

For one activations file (one model under one extraction condition) and each layer, every
descriptor of :data:`rsastats.geometry.DESCRIPTORS`: baseline descriptors from the emotion-free
baseline texts (the bootstrap resamples them), emotion descriptors from the per-prompt activations
(the bootstrap resamples prompts within each emotion and recomputes the emotion vectors).
Descriptors are computed on the raw (unnormalised) space: they describe the space in which the
study's raw cosine RDMs live.  See ``docs/geometry.md``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import xarray as xr

from ..rng import SeedLike, seed_to_int
from ..exceptions import ValidationError
from ..inputs import open_source
from ..intervals import small_sample_expansion
from . import descriptors
from .descriptors import Descriptor, evaluate_descriptors, group_descriptors
from .intervals import NoiseSupport, descriptor_interval, noise_free_support
from .resampling import ResamplingSettings, group_replicates, resampling_settings, resampling_streams
from .results import DescriptorEstimate, GeometryResult, LayerGeometry

__all__ = ["LayerRows", "layer_rows", "LayerData", "layer_data", "resolve_layers", "geometry_source", "geometry"]


# --------------------------------------------------------------------------- per-layer data
@dataclass(frozen=True)
class LayerRows:
    """Rows (texts) of one layer and the per-layer quantities every kernel needs."""

    norms: np.ndarray
    unit: np.ndarray
    gram: np.ndarray  # inner products of the rows
    centred_gram: np.ndarray  # of the rows centred on their mean (spectra: no cancellation)
    groups: tuple[np.ndarray, ...]

    @property
    def group_sizes(self) -> list[int]:
        return [len(g) for g in self.groups]


def layer_rows(values: np.ndarray, group_sizes: Sequence[int], describe_row: Callable[[int], str],
               source: str | None) -> LayerRows:
    """:class:`LayerRows` of ``values`` (rows laid out group after group); an all-zero row is an
    error that ``describe_row(index)`` names."""
    values = np.asarray(values, dtype=np.float64)
    norms = np.linalg.norm(values, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValidationError(f"{describe_row(int(zero[0]))} is an all-zero vector ({zero.size} in all): "
                              "its cosine with anything is undefined", path=source)
    bounds = np.cumsum([0, *group_sizes])
    groups = tuple(np.arange(bounds[i], bounds[i + 1]) for i in range(len(group_sizes)))
    centred = values - values.mean(axis=0)
    return LayerRows(norms=norms, unit=values / norms[:, None], gram=values @ values.T,
                     centred_gram=centred @ centred.T, groups=groups)


@dataclass(frozen=True)
class LayerData:
    """Everything one layer of one file gives the descriptors."""

    layer: int | None
    emotions: tuple[str, ...]
    baseline: LayerRows | None
    baseline_note: str  # why there is no baseline ("" when there is one)
    prompts: LayerRows  # one row per valid prompt, emotion after emotion (or per emotion for vector sets)
    prompt_keys: tuple[tuple[str, int], ...]  # (emotion, prompt) of each row
    per_prompt: bool  # False for a vector-set file (one row per emotion, nothing to resample)


def layer_data(ds: xr.Dataset, kind: str, layer: int | None, source: str | None,
               keep: Mapping[str, Sequence[int]] | None = None) -> LayerData:
    """Rows of one layer; ``keep`` restricts each emotion to the given prompt labels (pairing)."""
    emotions = tuple(str(e) for e in ds["emotion"].values)
    where = f" at layer {layer}" if layer is not None else ""
    if kind == "vectors":
        values = ds["vectors"].values if layer is None else ds["vectors"].sel(layer=layer).values
        rows = layer_rows(values, [1] * len(emotions), lambda i: f"vector of emotion {emotions[i]!r}{where}", source)
        return LayerData(layer, emotions, None, "a vector-set file holds no baseline activations", rows,
                         tuple((e, -1) for e in emotions), per_prompt=False)
    acts = ds["activations"].sel(layer=layer).values  # (emotion, prompt, hidden)
    prompts = [int(p) for p in ds["prompt"].values]
    valid = np.asarray(ds["valid"].values, dtype=bool) if "valid" in ds.data_vars else np.ones(acts.shape[:2], bool)
    chosen, keys, sizes = [], [], []
    for e, emotion in enumerate(emotions):
        allowed = set(keep[emotion]) if keep is not None else None
        idx = [p for p in range(len(prompts)) if valid[e, p] and (allowed is None or prompts[p] in allowed)]
        chosen.append(acts[e, idx])
        keys.extend((emotion, prompts[p]) for p in idx)
        sizes.append(len(idx))
    rows = layer_rows(np.concatenate(chosen), sizes,
                      lambda i: f"emotion {keys[i][0]!r}, prompt {keys[i][1]}{where}", source)
    baseline, note = None, ""
    if "baseline" not in ds.data_vars:
        note = "the file has no baseline(sample, layer, hidden) activations of emotion-free texts"
    elif ds.sizes["sample"] < 2:
        note = f"needs at least 2 baseline texts; the file has {ds.sizes['sample']}"
    else:
        base_values = ds["baseline"].sel(layer=layer).values
        baseline = layer_rows(base_values, [base_values.shape[0]], lambda i: f"baseline sample {i}{where}", source)
    return LayerData(layer, emotions, baseline, note, rows, tuple(keys), per_prompt=True)


def resolve_layers(ds: xr.Dataset, layers: Any, source: str | None = None) -> list[int | None]:
    """Layer labels from ``None``/``"all"`` (every layer), ``"last"``, an int or a list of ints.

    A non-negative int is a layer label (0 = embedding output); a negative int counts from the
    end (-1 = the last layer entry of the file).  Vector sets without a layer axis have one
    unnamed layer (``None``).
    """
    if "layer" not in ds.dims:
        if layers not in (None, "all", "last", -1, [-1]):
            raise ValidationError(f"the file has no layer axis, so layer {layers!r} cannot be chosen", path=source)
        return [None]
    labels = [int(x) for x in ds["layer"].values]
    if layers is None or (isinstance(layers, str) and layers == "all"):
        return labels
    if isinstance(layers, str) and layers == "last":
        return [labels[-1]]
    items = [layers] if isinstance(layers, (int, np.integer)) else list(layers)
    out: list[int | None] = []
    for item in items:
        if isinstance(item, str) and item in ("last", "all"):
            out.extend(resolve_layers(ds, item, source))
            continue
        try:
            value = int(item)
        except (TypeError, ValueError):
            raise ValidationError(f"layer {item!r} is not an integer, 'last' or 'all'", path=source) from None
        if value < 0:
            if -value > len(labels):
                raise ValidationError(f"layer {value} counts back past the first of {len(labels)} layers", path=source)
            value = labels[value]
        elif value not in labels:
            raise ValidationError(f"no layer {value} in this file (it has {_span(labels)})", path=source)
        if value not in out:
            out.append(value)
    if not out:
        raise ValidationError("no layer chosen", path=source)
    return out


def _span(labels: Sequence[int]) -> str:
    return f"{labels[0]}-{labels[-1]}" if labels == list(range(labels[0], labels[-1] + 1)) else str(list(labels))


def geometry_source(data: Any) -> tuple[str, xr.Dataset, str]:
    """``(kind, dataset, source)`` of an activations or vector-set file (a path or a dataset)."""
    source = open_source(data, kinds=("activations", "vectors"), what="geometry")
    return source.kind, source.dataset, source.where


# --------------------------------------------------------------------------- descriptors of one layer
def _estimates(entries: Sequence[Descriptor], rows: LayerRows, stream: np.random.SeedSequence,
               settings: ResamplingSettings) -> list[DescriptorEstimate]:
    """Estimate and interval of each descriptor, resampling the groups of ``rows``."""
    reps = group_replicates(lambda w: evaluate_descriptors(entries, rows, w), rows.group_sizes, stream, settings)
    unsupported = noise_free_support(rows) if any(d.noise_free for d in entries) else NoiseSupport()
    expansion = small_sample_expansion(rows.group_sizes)
    identical = _identical_rows(rows)
    out = []
    for d in entries:
        value = reps.point[d.name]
        interval = descriptor_interval(d, value, reps.resamples[d.name],
                                       None if reps.jackknife is None else reps.jackknife[d.name], settings,
                                       unsupported=unsupported, expansion=expansion)
        note = interval.note
        if identical and (not np.isfinite(value) or "undefined" in note):
            note = IDENTICAL_ROWS_NOTE  # the true reason, not "too few distinct texts drawn"
        out.append(DescriptorEstimate(d.name, d.group, interval.estimate, value, interval.low, interval.high,
                                      interval.n_used, interval.status, note, interval.method))
    return out


IDENTICAL_ROWS_NOTE = ("undefined: every text has the same activation vector at this layer (e.g. all end on the "
                       "same template token), so there is no spread to describe")


def _identical_rows(rows: LayerRows) -> bool:
    """Whether all rows are the same vector (up to rounding): their centred Gram matrix vanishes."""
    scale = float(np.max(np.diag(rows.gram))) if rows.gram.size else 0.0
    return bool(rows.centred_gram.size) and float(np.max(np.abs(rows.centred_gram))) <= 1e-12 * scale


def _missing(entries: Sequence[Descriptor], why: str) -> list[DescriptorEstimate]:
    return [DescriptorEstimate(d.name, d.group, np.nan, np.nan, np.nan, np.nan, 0, "missing", why) for d in entries]


def _vector_set_estimates(rows: LayerRows, n_emotions: int) -> list[DescriptorEstimate]:
    """Point estimates of what a vector-set file gives (nothing to resample); the rest missing."""
    given = group_descriptors("emotion", per_prompt=False)
    point = evaluate_descriptors(given, rows, np.ones((1, n_emotions)))
    out = [DescriptorEstimate(d.name, d.group, float(point[d.name][0]), float(point[d.name][0]), np.nan, np.nan, 0, "no-ci",
                              "a vector-set file has no prompts to resample") for d in given]
    prompt_level = [d for d in group_descriptors("emotion") if d.per_prompt]
    return out + _missing(prompt_level, "a vector-set file holds no per-prompt activations")


def _layer_geometry(data: LayerData, streams: Mapping[str, np.random.SeedSequence],
                    settings: ResamplingSettings) -> LayerGeometry:
    estimates: list[DescriptorEstimate] = []
    if data.baseline is not None:
        estimates += _estimates(group_descriptors("baseline"), data.baseline, streams["baseline"], settings)
    else:
        estimates += _missing(group_descriptors("baseline"), data.baseline_note)
    if data.per_prompt:
        estimates += _estimates(group_descriptors("emotion"), data.prompts, streams["prompts"], settings)
    else:
        estimates += _vector_set_estimates(data.prompts, len(data.emotions))
    by_name = {e.descriptor: e for e in estimates}
    n_baseline = 0 if data.baseline is None else len(data.baseline.norms)
    n_prompts = len(data.prompt_keys) if data.per_prompt else 0
    return LayerGeometry(data.layer, len(data.emotions), n_prompts, n_baseline,
                         tuple(by_name[d.name] for d in descriptors.DESCRIPTORS))


# --------------------------------------------------------------------------- public API
def _geometry_iv(data: Any, layers: Any, n_boot: Any, confidence: Any, ci_method: Any):
    kind, ds, source = geometry_source(data)
    if ds.sizes["emotion"] < 3:
        raise ValidationError(f"geometry needs at least 3 emotions; the file has {ds.sizes['emotion']}", path=source)
    return kind, ds, source, resolve_layers(ds, layers, source), resampling_settings(n_boot, confidence, ci_method,
                                                                                  ds.sizes["emotion"])


def geometry(
    data: xr.Dataset | str | os.PathLike,
    *,
    layers: Any = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    ci_method: str | None = None,
    seed: SeedLike = 0,
) -> GeometryResult:
    """Every geometry descriptor of one file at each layer, with bootstrap CIs.

    Parameters
    ----------
    data : activations or vector-set file (path or validated ``xarray.Dataset``).
    layers : ``None`` or ``"all"`` (every layer in ``data``), ``"last"``, a layer label, a negative
        position (-1 = last) or a list of these.
    n_boot : bootstrap resamples (>= 2).  Baseline descriptors resample baseline texts; emotion
        descriptors resample prompts within each emotion.
    confidence : two-sided confidence level of the intervals.
    ci_method : a name of :data:`rsastats.intervals.BOOTSTRAP_CI_METHODS` (``"percentile"``, ``"basic"``, ``"normal"``
        or ``"bca"``, with the jackknife acceleration) for every descriptor; None (the default): ``"basic"``, and for
        a descriptor that names its own (``Descriptor.ci_method``: ``baseline_pc1_share``) that one (docs/geometry.md,
        'Per-descriptor intervals').
    seed : int, ``SeedSequence`` or ``Generator``.  Each block of resamples has its own child
        stream and is evaluated on its own, so results depend only on ``seed`` (not on which
        layers or other files are analysed) and the first k resamples are bit-identical
        whatever ``n_boot`` is.  Memory is bounded by the block size.

    Returns
    -------
    GeometryResult
        A descriptor that this file cannot give (no baseline texts, fewer than 2 baseline texts,
        a vector set without prompts) has status ``"missing"`` and a note saying why.

    Raises
    ------
    ValidationError
        An all-zero activation (cosine undefined), fewer than 3 emotions, bad arguments.
    """
    kind, ds, source, layer_list, settings = _geometry_iv(data, layers, n_boot, confidence, ci_method)
    streams = resampling_streams(seed)
    results, notes = [], []
    for layer in layer_list:
        rows = layer_data(ds, kind, layer, source)
        if rows.baseline is None and rows.baseline_note and not notes and kind != "vectors":
            notes.append(f"baseline descriptors not computed: {rows.baseline_note}")
        results.append(_layer_geometry(rows, streams, settings))
    if kind == "vectors":
        notes.append("vector-set file: emotion descriptors without CIs (no prompts to resample); "
                     "prompt-level descriptors not computed")
    attrs = ds.attrs
    return GeometryResult(source=source, model=str(attrs.get("model", "")), family=str(attrs.get("family", "")),
                          variant=str(attrs.get("variant", "")), kind=kind, n_boot=settings.n_boot,
                          confidence=settings.confidence, ci_method=settings.ci_method, seed=seed_to_int(seed),
                          notes=tuple(notes), layers=tuple(results))
