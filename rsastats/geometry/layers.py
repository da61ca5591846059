"""Geometry descriptors of a model's representation space, per layer, with bootstrap CIs.

For one activations file (one model under one extraction condition) and each layer:

baseline descriptors (need ``baseline(sample, layer, hidden)``: emotion-free texts; the bootstrap
resamples baseline texts)
    ``baseline_anisotropy``            mean cosine over pairs of distinct baseline texts
                                       (Ethayarajh 2019's anisotropy baseline, on pooled texts)
    ``baseline_top_dim_contribution``  largest contribution of one hidden dimension to that mean
                                       (a "rogue dimension", Timkey & van Schijndel 2021)
    ``baseline_participation_ratio``   (sum lambda)^2 / sum lambda^2 of the covariance eigenvalues,
                                       from unbiased U-statistics (consistent even when n << hidden)
    ``baseline_participation_ratio_plugin``  the same from the sample covariance (at most n - 1)
    ``baseline_pc1_share``             lambda_1 / sum lambda
    ``baseline_norm_mean``, ``baseline_norm_sd``, ``baseline_norm_max_median``
                                       activation norms (the ratio flags token-0-style outliers;
                                       it gets no CI: the bootstrap is inconsistent for a maximum)

emotion descriptors (need per-prompt activations; the bootstrap resamples prompts within
each emotion and recomputes the emotion vectors)
    ``prompt_anisotropy``              mean cosine over pairs of distinct prompt activations
    ``prompt_norm_mean``, ``prompt_norm_sd``, ``prompt_norm_max_median``
    ``emotion_mean_cosine``            mean cosine over the E(E-1)/2 pairs of emotion vectors: the
                                       anisotropy among emotion vectors, and one minus the mean
                                       off-diagonal cell of the raw cosine RDM (the same number)
    ``emotion_rdm_spread``             standard deviation of the RDM's off-diagonal cells
    ``emotion_participation_ratio``, ``emotion_pc1_share``
                                       of the emotion vectors centred on their mean

Descriptors are computed on the raw (unnormalised) space: they describe the space in which the
study's raw cosine RDMs live.  :func:`compare_geometry` compares a base and an instruct model:
the RDM rho with its CI and the change in every descriptor with a CI, paired over the same texts
when both files hold the same stimuli.  See ``docs/geometry.md``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from . import _descriptors as kernels
from .inference.bootstrap import bootstrap_rho, confidence_interval
from ._rng import SeedLike, seed_to_int, spawn_sequences
from .data import open_dataset
from .exceptions import EstimationError, LabelError, ValidationError

__all__ = [
    "Descriptor",
    "DESCRIPTORS",
    "CI_METHODS",
    "DEFAULT_CI_METHOD",
    "DescriptorEstimate",
    "LayerGeometry",
    "GeometryResult",
    "DescriptorChange",
    "GeometryComparison",
    "geometry",
    "compare_geometry",
    "resolve_layers",
]

CI_METHODS = ("percentile", "basic", "bca")
# Chosen from the coverage simulation in tests/simulation/test_geometry_coverage.py (docs/geometry.md).
DEFAULT_CI_METHOD = "basic"


@dataclass(frozen=True)
class Descriptor:
    """One geometry descriptor: its name, which rows it is computed from, its range, its meaning."""

    name: str
    group: str  # "baseline" (resample baseline texts) or "emotion" (resample prompts within emotion)
    label: str
    low: float
    high: float
    meaning: str
    has_ci: bool = True  # False: no valid bootstrap interval exists (a sample maximum)


_INF = math.inf
DESCRIPTORS: tuple[Descriptor, ...] = (
    Descriptor("baseline_anisotropy", "baseline", "anisotropy (baseline)", -1, 1,
               "mean cosine over pairs of distinct baseline texts"),
    Descriptor("baseline_top_dim_contribution", "baseline", "top-dimension share of it", -1, 1,
               "largest contribution of one hidden dimension to baseline_anisotropy"),
    Descriptor("baseline_participation_ratio", "baseline", "participation ratio (baseline)", 1, _INF,
               "(tr S)^2 / tr(S^2) of the population covariance S, from unbiased U-statistics"),
    Descriptor("baseline_participation_ratio_plugin", "baseline", "participation ratio, plug-in", 1, _INF,
               "the same from the sample covariance (at most n-1; biased low unless n >> PR)"),
    Descriptor("baseline_pc1_share", "baseline", "PC1 share (baseline)", 0, 1,
               "share of baseline variance on the first principal component"),
    Descriptor("baseline_norm_mean", "baseline", "norm mean (baseline)", 0, _INF, "mean activation norm"),
    Descriptor("baseline_norm_sd", "baseline", "norm sd (baseline)", 0, _INF, "standard deviation of activation norms"),
    Descriptor("baseline_norm_max_median", "baseline", "norm max/median (baseline)", 1, _INF,
               "largest norm over median norm (outlier texts)", has_ci=False),
    Descriptor("prompt_anisotropy", "emotion", "anisotropy (prompts)", -1, 1,
               "mean cosine over pairs of distinct prompt activations"),
    Descriptor("prompt_norm_mean", "emotion", "norm mean (prompts)", 0, _INF, "mean activation norm"),
    Descriptor("prompt_norm_sd", "emotion", "norm sd (prompts)", 0, _INF, "standard deviation of activation norms"),
    Descriptor("prompt_norm_max_median", "emotion", "norm max/median (prompts)", 1, _INF,
               "largest norm over median norm (outlier prompts)", has_ci=False),
    Descriptor("emotion_mean_cosine", "emotion", "mean cosine (emotion vectors)", -1, 1,
               "anisotropy among emotion vectors = 1 - mean off-diagonal cell of the raw cosine RDM"),
    Descriptor("emotion_rdm_spread", "emotion", "RDM spread (sd of cells)", 0, 1,
               "standard deviation of the off-diagonal cells of the raw cosine RDM"),
    Descriptor("emotion_participation_ratio", "emotion", "participation ratio (emotions)", 1, _INF,
               "of the emotion vectors centred on their mean"),
    Descriptor("emotion_pc1_share", "emotion", "PC1 share (emotions)", 0, 1,
               "share of between-emotion variance on the first principal component"),
)
_BY_NAME = {d.name: d for d in DESCRIPTORS}
_OUTSIDE_NOTE = ("the estimate lies outside its CI: the bootstrap found a bias larger than the sampling error "
                 "(see docs/geometry.md, 'Bias')")
_NO_CI_NOTE = "no CI: the bootstrap is inconsistent for a sample maximum (Bickel & Freedman 1981)"
_PROMPT_LEVEL = ("prompt_anisotropy", "prompt_norm_mean", "prompt_norm_sd", "prompt_norm_max_median")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class DescriptorEstimate:
    """One descriptor at one layer: estimate and bootstrap CI, or why there is none.

    ``status`` is ``"ok"``, ``"no-ci"`` (estimate without interval) or ``"missing"`` (not
    computable from this file); ``note`` says why, and reports resamples left out as undefined.
    """

    descriptor: str
    group: str
    estimate: float
    ci_low: float
    ci_high: float
    n_boot: int
    status: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"descriptor": self.descriptor, "group": self.group, "estimate": self.estimate,
                "ci_low": self.ci_low, "ci_high": self.ci_high, "n_boot": self.n_boot,
                "status": self.status, "note": self.note}


@dataclass(frozen=True)
class LayerGeometry:
    """All descriptors of one file at one layer."""

    layer: int | None
    n_emotions: int
    n_prompts: int
    n_baseline: int
    estimates: tuple[DescriptorEstimate, ...]

    def __getitem__(self, name: str) -> DescriptorEstimate:
        for est in self.estimates:
            if est.descriptor == name:
                return est
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "n_emotions": self.n_emotions, "n_prompts": self.n_prompts,
                "n_baseline": self.n_baseline,
                "descriptors": {e.descriptor: {k: v for k, v in e.to_dict().items() if k != "descriptor"}
                                for e in self.estimates}}


@dataclass(frozen=True)
class GeometryResult:
    """Descriptors of one file at every requested layer."""

    source: str
    model: str
    family: str
    variant: str
    kind: str
    layers: tuple[LayerGeometry, ...]
    n_boot: int
    confidence: float
    ci_method: str
    seed: int | None
    notes: tuple[str, ...] = ()

    def layer(self, layer: int | None) -> LayerGeometry:
        for item in self.layers:
            if item.layer == layer:
                return item
        raise KeyError(layer)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "model": self.model, "family": self.family, "variant": self.variant,
                "kind": self.kind, "n_boot": self.n_boot, "confidence": self.confidence,
                "ci_method": self.ci_method, "seed": self.seed, "notes": list(self.notes),
                "layers": [item.to_dict() for item in self.layers]}

    def to_frame(self) -> pd.DataFrame:
        """One row per layer x descriptor."""
        rows = [{"source": self.source, "model": self.model, "variant": self.variant, "layer": item.layer,
                 **est.to_dict()} for item in self.layers for est in item.estimates]
        return pd.DataFrame(rows)


@dataclass(frozen=True)
class DescriptorChange:
    """Instruct minus base for one descriptor, with a bootstrap CI of the difference."""

    descriptor: str
    base: float
    instruct: float
    change: float
    ci_low: float
    ci_high: float
    n_boot: int
    status: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"descriptor": self.descriptor, "base": self.base, "instruct": self.instruct,
                "change": self.change, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "n_boot": self.n_boot, "status": self.status, "note": self.note}


@dataclass(frozen=True)
class GeometryComparison:
    """A base and an instruct model at one layer: RDM rho with CI and every descriptor's change."""

    base_source: str
    instruct_source: str
    base_model: str
    instruct_model: str
    base_layer: int | None
    instruct_layer: int | None
    rho: float
    rho_ci_low: float
    rho_ci_high: float
    rho_n_boot: int
    paired_prompts: bool
    paired_baseline: bool
    pairing_note: str
    n_emotions: int
    changes: tuple[DescriptorChange, ...]
    n_boot: int
    confidence: float
    ci_method: str
    seed: int | None

    def __getitem__(self, name: str) -> DescriptorChange:
        for change in self.changes:
            if change.descriptor == name:
                return change
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base_source, "instruct": self.instruct_source, "base_model": self.base_model,
                "instruct_model": self.instruct_model, "base_layer": self.base_layer,
                "instruct_layer": self.instruct_layer, "rho": self.rho, "rho_ci_low": self.rho_ci_low,
                "rho_ci_high": self.rho_ci_high, "rho_n_boot": self.rho_n_boot, "rdm": "cosine",
                "rank": "spearman", "paired_prompts": self.paired_prompts,
                "paired_baseline": self.paired_baseline, "pairing_note": self.pairing_note,
                "n_emotions": self.n_emotions, "n_boot": self.n_boot, "confidence": self.confidence,
                "ci_method": self.ci_method, "seed": self.seed,
                "changes": {c.descriptor: {k: v for k, v in c.to_dict().items() if k != "descriptor"}
                            for c in self.changes}}

    def to_frame(self) -> pd.DataFrame:
        """One row per descriptor (and one for rho)."""
        rows = [{"descriptor": "rdm_rho", "base": np.nan, "instruct": np.nan, "change": self.rho,
                 "ci_low": self.rho_ci_low, "ci_high": self.rho_ci_high, "n_boot": self.rho_n_boot,
                 "status": "ok", "note": "Spearman rho between the raw cosine RDMs"}]
        rows += [c.to_dict() for c in self.changes]
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------- per-layer data
@dataclass(frozen=True)
class _Rows:
    """Rows (texts) of one layer and the per-layer quantities every kernel needs."""

    norms: np.ndarray
    unit: np.ndarray
    gram: np.ndarray  # inner products of the rows
    centred_gram: np.ndarray  # of the rows centred on their mean (spectra: no cancellation)
    groups: tuple[np.ndarray, ...]

    @property
    def group_sizes(self) -> list[int]:
        return [len(g) for g in self.groups]


def _rows(values: np.ndarray, group_sizes: Sequence[int], describe_row: Callable[[int], str], source: str | None) -> _Rows:
    values = np.asarray(values, dtype=np.float64)
    norms = np.linalg.norm(values, axis=1)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValidationError(f"{describe_row(int(zero[0]))} is an all-zero vector ({zero.size} in all): "
                              "its cosine with anything is undefined", path=source)
    bounds = np.cumsum([0, *group_sizes])
    groups = tuple(np.arange(bounds[i], bounds[i + 1]) for i in range(len(group_sizes)))
    centred = values - values.mean(axis=0)
    return _Rows(norms=norms, unit=values / norms[:, None], gram=values @ values.T, centred_gram=centred @ centred.T,
                 groups=groups)


@dataclass(frozen=True)
class _LayerData:
    layer: int | None
    emotions: tuple[str, ...]
    baseline: _Rows | None
    baseline_note: str
    prompts: _Rows  # one row per valid prompt, emotion after emotion (or per emotion for vector sets)
    prompt_keys: tuple[tuple[str, int], ...]  # (emotion, prompt) of each row
    per_prompt: bool  # False for a vector-set file (one row per emotion, nothing to resample)


def _layer_data(ds: xr.Dataset, kind: str, layer: int | None, source: str | None,
                keep: Mapping[str, Sequence[int]] | None = None) -> _LayerData:
    """Rows of one layer; ``keep`` restricts each emotion to the given prompt labels (pairing)."""
    emotions = tuple(str(e) for e in ds["emotion"].values)
    where = f" at layer {layer}" if layer is not None else ""
    if kind == "vectors":
        values = ds["vectors"].values if layer is None else ds["vectors"].sel(layer=layer).values
        rows = _rows(values, [1] * len(emotions), lambda i: f"vector of emotion {emotions[i]!r}{where}", source)
        return _LayerData(layer, emotions, None, "a vector-set file holds no baseline activations", rows,
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
    rows = _rows(np.concatenate(chosen), sizes,
                 lambda i: f"emotion {keys[i][0]!r}, prompt {keys[i][1]}{where}", source)
    baseline, note = None, ""
    if "baseline" not in ds.data_vars:
        note = "the file has no baseline(sample, layer, hidden) activations of emotion-free texts"
    elif ds.sizes["sample"] < 2:
        note = f"needs at least 2 baseline texts; the file has {ds.sizes['sample']}"
    else:
        base_values = ds["baseline"].sel(layer=layer).values
        baseline = _rows(base_values, [base_values.shape[0]], lambda i: f"baseline sample {i}{where}", source)
    return _LayerData(layer, emotions, baseline, note, rows, tuple(keys), per_prompt=True)


# --------------------------------------------------------------------------- evaluators
def _baseline_values(rows: _Rows, weights: np.ndarray) -> dict[str, np.ndarray]:
    out = {"baseline_anisotropy": kernels.mean_pairwise_cosine(weights, rows.unit),
           "baseline_top_dim_contribution": _top_dimension(weights, rows.unit)}
    spectrum = kernels.spectrum_statistics(weights, rows.centred_gram)
    out["baseline_participation_ratio"] = kernels.unbiased_participation_ratio(weights, rows.centred_gram)
    out["baseline_participation_ratio_plugin"] = spectrum["participation_ratio"]
    out["baseline_pc1_share"] = spectrum["pc1_share"]
    out.update({f"baseline_{k}": v for k, v in kernels.norm_statistics(weights, rows.norms).items()})
    return out


def _top_dimension(weights: np.ndarray, unit: np.ndarray) -> np.ndarray:
    contributions = kernels.dimension_contributions(weights, unit)
    out = np.full(len(weights), np.nan)
    finite = np.isfinite(contributions).all(axis=1)
    out[finite] = contributions[finite].max(axis=1)
    return out


def _emotion_values(rows: _Rows, weights: np.ndarray, per_prompt: bool) -> dict[str, np.ndarray]:
    out = kernels.emotion_statistics(kernels.group_gram(weights, rows.gram, rows.groups))
    if per_prompt:
        out["prompt_anisotropy"] = kernels.mean_pairwise_cosine(weights, rows.unit)
        out.update({f"prompt_{k}": v for k, v in kernels.norm_statistics(weights, rows.norms).items()})
    return out


def _evaluate(evaluate: Callable[[np.ndarray], dict[str, np.ndarray]], blocks: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """Concatenate ``evaluate`` over weight blocks.

    A short last block is padded to the full block size and the padding dropped: every block
    then goes through the same array shapes (the same BLAS code paths), so a replicate is
    bit-identical whatever ``n_boot`` is.
    """
    parts: dict[str, list[np.ndarray]] = {}
    for block in blocks:
        take = len(block)
        if take < kernels.DRAW_BLOCK:
            block = np.concatenate([block, np.repeat(block[:1], kernels.DRAW_BLOCK - take, axis=0)])
        for name, values in evaluate(block).items():
            parts.setdefault(name, []).append(values[:take])
    return {name: np.concatenate(values) for name, values in parts.items()}


@dataclass(frozen=True)
class _Settings:
    n_boot: int
    confidence: float
    ci_method: str


def _streams(seed: SeedLike) -> dict[str, np.random.SeedSequence]:
    """One child stream per resampling plan, the same for every layer and every file."""
    names = ("baseline", "prompts", "reliability", "partner", "rho")
    return dict(zip(names, spawn_sequences(seed, len(names))))


def _interval(name: str, estimate: float, replicates: np.ndarray, jackknife: np.ndarray | None,
              settings: _Settings, bounds: tuple[float, float] | None = None) -> tuple[float, float, int, str]:
    """CI from the finite replicates; say how many were undefined and left out."""
    desc = _BY_NAME.get(name)
    if desc is not None and not desc.has_ci:
        return np.nan, np.nan, 0, _NO_CI_NOTE
    bounds = bounds if bounds is not None else (desc.low, desc.high)
    finite = replicates[np.isfinite(replicates)]
    dropped = replicates.size - finite.size
    note = f"{dropped} of {replicates.size} resamples undefined (too few distinct texts drawn) and left out" if dropped else ""
    if not np.isfinite(estimate) or finite.size < 2:
        return np.nan, np.nan, int(finite.size), (note or "estimate undefined")
    jack = None
    if jackknife is not None:
        jack = [values[np.isfinite(values)] for values in jackknife]
        if sum(values.size for values in jack) < 2:
            return np.nan, np.nan, int(finite.size), "BCa needs at least 2 defined jackknife values"
    # The core forms the basic interval on the Fisher-z scale of a finite range; a half-open
    # range (norms, participation ratios) is kept by clipping instead.
    finite_bounds = bounds if np.isfinite(bounds).all() else None
    if finite_bounds is not None:  # rounding (a PC1 share of 1 + 4e-16 from a resample of one text) is not an error
        finite = np.clip(finite, *finite_bounds)
        estimate = float(np.clip(estimate, *finite_bounds))
    try:
        low, high = confidence_interval(estimate, finite, method=settings.ci_method, confidence=settings.confidence,
                                        jackknife=jack, bounds=finite_bounds)
    except EstimationError as exc:  # e.g. BCa with every replicate on one side of the estimate
        return np.nan, np.nan, int(finite.size), "; ".join(filter(None, [note, f"no CI: {exc.problem}"]))
    low, high = float(np.clip(low, *bounds)), float(np.clip(high, *bounds))
    if not low <= estimate <= high:
        note = "; ".join(filter(None, [note, _OUTSIDE_NOTE]))
    return low, high, int(finite.size), note


def _group_replicates(evaluate: Callable[[np.ndarray], dict[str, np.ndarray]], sizes: Sequence[int],
                      stream: np.random.SeedSequence, settings: _Settings) -> tuple[dict, dict, dict | None]:
    n_rows = sum(sizes)
    point = {k: float(v[0]) for k, v in evaluate(np.ones((1, n_rows))).items()}
    reps = _evaluate(evaluate, kernels.resampling_weights(stream, settings.n_boot, sizes))
    jack = None
    if settings.ci_method == "bca":
        weights = kernels.jackknife_weights(sizes)
        values = _evaluate(evaluate, [weights[i : i + kernels.DRAW_BLOCK] for i in range(0, len(weights), kernels.DRAW_BLOCK)])
        # one stratum per independently resampled group (emotion), as the core's acceleration expects
        bounds = np.cumsum([0] + [size for size in sizes if size > 1])
        jack = {name: [v[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)] for name, v in values.items()}
    return point, reps, jack


def _layer_geometry(data: _LayerData, streams: Mapping[str, np.random.SeedSequence], settings: _Settings) -> LayerGeometry:
    estimates: dict[str, DescriptorEstimate] = {}
    if data.baseline is not None:
        rows = data.baseline
        point, reps, jack = _group_replicates(lambda w: _baseline_values(rows, w), rows.group_sizes,
                                              streams["baseline"], settings)
        for name, value in point.items():
            low, high, used, note = _interval(name, value, reps[name], None if jack is None else jack[name], settings)
            estimates[name] = DescriptorEstimate(name, "baseline", value, low, high, used,
                                                 "ok" if np.isfinite(low) else "no-ci", note)
    else:
        for d in DESCRIPTORS:
            if d.group == "baseline":
                estimates[d.name] = DescriptorEstimate(d.name, "baseline", np.nan, np.nan, np.nan, 0, "missing",
                                                       data.baseline_note)
    rows = data.prompts
    if data.per_prompt:
        point, reps, jack = _group_replicates(lambda w: _emotion_values(rows, w, True), rows.group_sizes,
                                              streams["prompts"], settings)
        for name, value in point.items():
            low, high, used, note = _interval(name, value, reps[name], None if jack is None else jack[name], settings)
            estimates[name] = DescriptorEstimate(name, "emotion", value, low, high, used,
                                                 "ok" if np.isfinite(low) else "no-ci", note)
    else:
        point = {k: float(v[0]) for k, v in _emotion_values(rows, np.ones((1, len(data.emotions))), False).items()}
        for name, value in point.items():
            estimates[name] = DescriptorEstimate(name, "emotion", value, np.nan, np.nan, 0, "no-ci",
                                                 "a vector-set file has no prompts to resample")
        for name in _PROMPT_LEVEL:
            estimates[name] = DescriptorEstimate(name, "emotion", np.nan, np.nan, np.nan, 0, "missing",
                                                 "a vector-set file holds no per-prompt activations")
    n_baseline = 0 if data.baseline is None else len(data.baseline.norms)
    n_prompts = len(data.prompt_keys) if data.per_prompt else 0
    return LayerGeometry(data.layer, len(data.emotions), n_prompts, n_baseline,
                         tuple(estimates[d.name] for d in DESCRIPTORS))


# --------------------------------------------------------------------------- input validation
def _load(data: Any, what: str) -> tuple[str, xr.Dataset, str]:
    """``(kind, dataset, source)`` from a path or an in-memory dataset."""
    if isinstance(data, (str, os.PathLike)):
        kind, ds = open_dataset(data)
        source = str(data)
    elif isinstance(data, xr.Dataset):
        from .data import validate_dataset

        source = str(data.attrs.get("source_path", "") or f"<dataset {data.attrs.get('model', '')}>".replace(" >", ">"))
        kind, ds = validate_dataset(data, None)
    else:
        raise ValidationError(f"{what} must be a path or an xarray.Dataset, not {type(data).__name__}")
    if kind == "rdm":
        raise ValidationError("holds an RDM; geometry needs an activations or a vector-set file", path=source)
    return kind, ds, source


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


def _settings_iv(n_boot: Any, confidence: Any, ci_method: Any) -> _Settings:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or int(n_boot) < 2:
        raise ValidationError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    try:
        conf = float(confidence)
    except (TypeError, ValueError):
        raise ValidationError(f"confidence must be a number in (0, 1), got {confidence!r}") from None
    if not 0 < conf < 1:
        raise ValidationError(f"confidence must be in (0, 1), got {confidence!r}")
    if ci_method not in CI_METHODS:
        raise ValidationError(f"unknown interval method {ci_method!r}; choose one of {', '.join(CI_METHODS)}")
    return _Settings(int(n_boot), conf, str(ci_method))


def _geometry_iv(data: Any, layers: Any, n_boot: Any, confidence: Any, ci_method: Any):
    kind, ds, source = _load(data, "data")
    if ds.sizes["emotion"] < 3:
        raise ValidationError(f"geometry needs at least 3 emotions; the file has {ds.sizes['emotion']}", path=source)
    return kind, ds, source, resolve_layers(ds, layers, source), _settings_iv(n_boot, confidence, ci_method)


def _attr(ds: xr.Dataset, key: str) -> str:
    return str(ds.attrs.get(key, ""))


# --------------------------------------------------------------------------- public API
def geometry(
    data: xr.Dataset | str | os.PathLike,
    *,
    layers: Any = None,
    n_boot: int = 1000,
    confidence: float = 0.95,
    ci_method: str = DEFAULT_CI_METHOD,
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
    ci_method : ``"percentile"``, ``"basic"`` or ``"bca"`` (jackknife acceleration).
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
    streams = _streams(seed)
    results, notes = [], []
    for layer in layer_list:
        data = _layer_data(ds, kind, layer, source)
        if data.baseline is None and data.baseline_note and not notes and kind != "vectors":
            notes.append(f"baseline descriptors not computed: {data.baseline_note}")
        results.append(_layer_geometry(data, streams, settings))
    if kind == "vectors":
        notes.append("vector-set file: emotion descriptors without CIs (no prompts to resample); "
                     "prompt-level descriptors not computed")
    return GeometryResult(source=source, model=_attr(ds, "model"), family=_attr(ds, "family"),
                          variant=_attr(ds, "variant"), kind=kind, layers=tuple(results), n_boot=settings.n_boot,
                          confidence=settings.confidence, ci_method=settings.ci_method, seed=seed_to_int(seed),
                          notes=tuple(notes))


def _pairing(base: xr.Dataset, instruct: xr.Dataset) -> tuple[dict[str, list[int]] | None, bool, str]:
    """Whether the two files hold the same prompts (and baseline texts): then resample them together."""
    same_set = _attr(base, "stimulus_set") != "" and _attr(base, "stimulus_set") == _attr(instruct, "stimulus_set")
    notes = []
    keep = None
    prompts_b = [int(p) for p in base["prompt"].values]
    if prompts_b == [int(p) for p in instruct["prompt"].values]:
        same_text = "text" in base.coords and "text" in instruct.coords and np.array_equal(
            base["text"].values.astype(str), instruct["text"].sel(emotion=base["emotion"].values).values.astype(str))
        if same_text or same_set:
            vb = base["valid"].values.astype(bool) if "valid" in base.data_vars else np.ones((base.sizes["emotion"], len(prompts_b)), bool)
            vi = (instruct["valid"].sel(emotion=base["emotion"].values).values.astype(bool)
                  if "valid" in instruct.data_vars else np.ones_like(vb))
            both = vb & vi
            empty = [str(e) for e, row in zip(base["emotion"].values, both) if not row.any()]
            if empty:
                notes.append(f"prompts not paired: no prompt valid in both files for {', '.join(empty)}")
            else:
                keep = {str(e): [prompts_b[p] for p in np.flatnonzero(row)] for e, row in zip(base["emotion"].values, both)}
                dropped = int((vb | vi).sum() - both.sum())
                notes.append("prompts paired (same texts)" if same_text else "prompts paired (same stimulus_set)")
                if dropped:
                    notes.append(f"{dropped} prompt(s) valid in only one file left out of the paired analysis")
        else:
            notes.append("prompts not paired: texts and stimulus_set differ")
    else:
        notes.append("prompts not paired: different prompt labels")
    paired_baseline = False
    if "baseline" in base.data_vars and "baseline" in instruct.data_vars and base.sizes["sample"] == instruct.sizes["sample"]:
        same_text = ("baseline_text" in base.coords and "baseline_text" in instruct.coords
                     and np.array_equal(base["baseline_text"].values.astype(str), instruct["baseline_text"].values.astype(str)))
        paired_baseline = same_text or same_set
    notes.append("baseline texts paired" if paired_baseline else "baseline texts not paired")
    return keep, paired_baseline, "; ".join(notes)


def _compare_iv(base: Any, instruct: Any, layer: Any, n_boot: Any, confidence: Any, ci_method: Any):
    kind_b, ds_b, src_b = _load(base, "base")
    kind_i, ds_i, src_i = _load(instruct, "instruct")
    for kind, src in ((kind_b, src_b), (kind_i, src_i)):
        if kind != "activations":
            raise ValidationError("a base x instruct comparison needs activations files (prompts to resample)", path=src)
    if _attr(ds_b, "variant") == "instruct":
        raise ValidationError("is an instruct model (variant=instruct) but was given as the base model", path=src_b)
    if _attr(ds_i, "variant") == "base":
        raise ValidationError("is a base model (variant=base) but was given as the instruct model", path=src_i)
    emotions_b = [str(e) for e in ds_b["emotion"].values]
    emotions_i = [str(e) for e in ds_i["emotion"].values]
    if set(emotions_b) != set(emotions_i):
        only_b = sorted(set(emotions_b) - set(emotions_i))
        only_i = sorted(set(emotions_i) - set(emotions_b))
        raise LabelError(f"emotion sets differ: only in {src_b}: {only_b or 'none'}; only in {src_i}: {only_i or 'none'}",
                         path=src_i)
    if len(emotions_b) < 4:
        raise ValidationError(f"comparing RDMs needs at least 4 emotions; the files have {len(emotions_b)}", path=src_b)
    ds_i = ds_i.sel(emotion=emotions_b)  # align by label
    layer_b = resolve_layers(ds_b, layer, src_b)
    layer_i = resolve_layers(ds_i, layer, src_i)
    if len(layer_b) != 1 or len(layer_i) != 1:
        raise ValidationError(f"compare one layer at a time, got {layer!r}")
    return ds_b, src_b, ds_i, src_i, layer_b[0], layer_i[0], _settings_iv(n_boot, confidence, ci_method)


def compare_geometry(
    base: xr.Dataset | str | os.PathLike,
    instruct: xr.Dataset | str | os.PathLike,
    *,
    layer: Any = "last",
    n_boot: int = 1000,
    confidence: float = 0.95,
    ci_method: str = DEFAULT_CI_METHOD,
    seed: SeedLike = 0,
) -> GeometryComparison:
    """Base x instruct at one layer: RDM Spearman rho with a CI and the change of every descriptor.

    When the two files hold the same prompts (same prompt labels and texts, or the same
    non-empty ``stimulus_set``) every resample draws the same prompts in both files, so each CI
    is for a paired difference; prompts valid in only one file are then left out (and counted
    in ``pairing_note``).  Otherwise the files are resampled independently.  Baseline texts are
    paired likewise.  Emotions are aligned by label; the sets must match.

    Parameters are as in :func:`geometry`; ``layer`` is one layer label, a negative position,
    or ``"last"`` (each file's last layer).  Changes are ``instruct - base``.
    """
    ds_b, src_b, ds_i, src_i, layer_b, layer_i, settings = _compare_iv(base, instruct, layer, n_boot, confidence,
                                                                       ci_method)
    keep, paired_baseline, note = _pairing(ds_b, ds_i)
    data_b = _layer_data(ds_b, "activations", layer_b, src_b, keep)
    data_i = _layer_data(ds_i, "activations", layer_i, src_i, keep)
    streams_b = _streams(seed)
    streams_i = _streams(streams_b["partner"])
    prompt_stream_i = streams_b["prompts"] if keep is not None else streams_i["prompts"]
    baseline_stream_i = streams_b["baseline"] if paired_baseline else streams_i["baseline"]

    changes: dict[str, DescriptorChange] = {}
    groups = (
        ("emotion", lambda d: (lambda w: _emotion_values(d.prompts, w, True)), lambda d: d.prompts,
         streams_b["prompts"], prompt_stream_i, keep is not None),
        ("baseline", lambda d: (lambda w: _baseline_values(d.baseline, w)), lambda d: d.baseline,
         streams_b["baseline"], baseline_stream_i, paired_baseline),
    )
    gram_reps: dict[str, np.ndarray] = {}
    for group, make_eval, rows_of, stream_b, stream_i, paired in groups:
        if rows_of(data_b) is None or rows_of(data_i) is None:
            why = data_b.baseline_note if rows_of(data_b) is None else data_i.baseline_note
            for d in DESCRIPTORS:
                if d.group == group:
                    changes[d.name] = DescriptorChange(d.name, np.nan, np.nan, np.nan, np.nan, np.nan, 0, "missing", why)
            continue
        point_b, reps_b, jack_b = _group_replicates(make_eval(data_b), rows_of(data_b).group_sizes, stream_b, settings)
        point_i, reps_i, jack_i = _group_replicates(make_eval(data_i), rows_of(data_i).group_sizes, stream_i, settings)
        for name in point_b:
            desc = _BY_NAME[name]
            width = desc.high - desc.low
            diff = point_i[name] - point_b[name]
            jack = None
            if jack_b is not None:
                # paired: leave the same text out of both files; unpaired: the strata of both files
                jack = ([ji - jb for ji, jb in zip(jack_i[name], jack_b[name])] if paired else
                        [point_i[name] - jb for jb in jack_b[name]] + [ji - point_b[name] for ji in jack_i[name]])
            low, high, used, why = _interval(name, diff, reps_i[name] - reps_b[name], jack, settings, (-width, width))
            changes[name] = DescriptorChange(name, point_b[name], point_i[name], diff, low, high, used,
                                             "ok" if np.isfinite(low) else "no-ci", why)
    rho, rho_low, rho_high, rho_used = _rdm_rho(ds_b, ds_i, layer_b, layer_i, keep, streams_b["rho"], settings)
    return GeometryComparison(
        base_source=src_b, instruct_source=src_i, base_model=_attr(ds_b, "model"), instruct_model=_attr(ds_i, "model"),
        base_layer=layer_b, instruct_layer=layer_i, rho=rho, rho_ci_low=rho_low, rho_ci_high=rho_high,
        rho_n_boot=rho_used, paired_prompts=keep is not None, paired_baseline=paired_baseline, pairing_note=note,
        n_emotions=len(data_b.emotions), changes=tuple(changes[d.name] for d in DESCRIPTORS),
        n_boot=settings.n_boot, confidence=settings.confidence, ci_method=settings.ci_method, seed=seed_to_int(seed))


def _rdm_rho(ds_b: xr.Dataset, ds_i: xr.Dataset, layer_b: int, layer_i: int, keep: Mapping[str, Sequence[int]] | None,
             stream: np.random.SeedSequence, settings: _Settings) -> tuple[float, float, float, int]:
    """Spearman rho of the raw cosine RDMs with the core's prompt bootstrap.

    The core pairs two files when their prompt labels and valid masks agree.  Paired here, both
    files get the valid mask of the prompts kept for the paired analysis; not paired here, the
    instruct file's prompt labels are shifted so that the core resamples the files independently
    too.  Either way rho's resamples are coupled exactly as the descriptors' are.
    """
    def prepared(ds: xr.Dataset, layer: int) -> xr.Dataset:
        ds = ds.sel(layer=[layer])
        if keep is not None:
            mask = np.array([[int(p) in set(keep[str(e)]) for p in ds["prompt"].values] for e in ds["emotion"].values])
            ds = ds.assign(valid=(("emotion", "prompt"), mask.astype(np.int8)))
        return ds

    base, instruct = prepared(ds_b, layer_b), prepared(ds_i, layer_i)
    if keep is None and list(base["prompt"].values) == list(instruct["prompt"].values):
        instruct = instruct.assign_coords(prompt=instruct["prompt"].values + int(base["prompt"].values.max()) + 1)
    result = bootstrap_rho(base, instruct, scheme="prompts", n_boot=settings.n_boot, ci=settings.ci_method,
                           confidence=settings.confidence, rank="spearman", rdm="cosine", normalization="raw",
                           seed=stream)
    return result.estimate, result.ci_low, result.ci_high, result.n_boot - result.n_undefined
