"""An a-priori maturity rule, computed from the base model alone.

The reference study called five models "mature" and one "immature" from the same base x
instruct outcomes it then explained (the referee's objection).  This module fixes the rule in
advance (``MATURITY_RULE``; justification in ``docs/maturity.md``) and makes it structurally
impossible to feed it a base x instruct comparison:

* its only data input is one :class:`BaseModel` (a file whose ``variant`` attribute is
  ``base``); an instruct file is refused with an error, and no other data argument exists;
* its two inputs are measured on that file only, at the analysis layer:

  1. ``baseline_anisotropy``: mean cosine over pairs of distinct emotion-free baseline texts;
  2. ``rdm_reliability``: split-half reliability of the emotion RDM over prompts
     (Spearman rho between the raw cosine RDMs of two random halves of each emotion's
     prompts, averaged over random splits, stepped up to the full prompt count with the
     Spearman-Brown formula ``2r / (1 + r)``).

Classes, from the two-sided ``confidence`` CIs:

``mature``         anisotropy CI entirely below its threshold *and* reliability CI entirely above;
``immature``       anisotropy CI entirely above its threshold *or* reliability CI entirely below;
``indeterminate``  anything else (a CI straddles a threshold, or an input cannot be measured).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from . import _descriptors as kernels
from ._rng import SeedLike, seed_to_int, spawn_sequences
from .data import open_dataset, validate_dataset
from .exceptions import ValidationError
from .inference.ceiling import noise_ceiling, spearman_brown
from .geometry import _evaluate, _interval, _layer_data, _Settings, _settings_iv, _streams, resolve_layers

__all__ = [
    "MaturityRule",
    "MATURITY_RULE",
    "SENSITIVITY_THRESHOLDS",
    "BaseModel",
    "MaturityInput",
    "MaturityClassification",
    "classify_maturity",
    "classify",
]


@dataclass(frozen=True)
class MaturityRule:
    """The thresholds and conventions of the maturity rule (see ``docs/maturity.md``)."""

    name: str = "rsastats-maturity/1"
    max_baseline_anisotropy: float = 0.90
    min_rdm_reliability: float = 0.70
    layer: str = "last"  # the analysis layer: the one the base x instruct RDMs are compared at
    confidence: float = 0.95
    ci_method: str = "basic"  # anisotropy bootstrap interval (the best-covering method in docs/geometry.md)
    n_boot: int = 1000
    n_splits: int = 100  # random half splits averaged (the same splits in every jackknife replicate)
    reliability_interval: str = "grouped jackknife of atanh(mean split-half r), t(G-1), through Spearman-Brown"

    def statement(self) -> str:
        """The rule in one paragraph, as reports print it."""
        pct = f"{100 * self.confidence:g}%"
        return (f"{self.name}: measured on the base model only, at the analysis layer ({self.layer} by default). "
                f"Mature if the {pct} CI of baseline anisotropy (mean cosine between distinct emotion-free texts) "
                f"lies entirely below {self.max_baseline_anisotropy:g} AND the {pct} CI of the split-half "
                f"(Spearman-Brown) reliability of the raw cosine emotion RDM lies entirely above "
                f"{self.min_rdm_reliability:g}; immature if either CI lies entirely on the other side; "
                f"indeterminate otherwise (a CI straddles a threshold or an input cannot be measured).")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """First 16 hex digits of the SHA-256 of the rule's canonical JSON: any change shows."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


# Fixed before any base x instruct outcome was computed with this project; do not tune.
MATURITY_RULE = MaturityRule()
# Declared alongside the rule: the class is also reported under these (anisotropy, reliability)
# thresholds, so that a reader sees whether it hinges on the exact cut-offs.
SENSITIVITY_THRESHOLDS: tuple[tuple[float, float], ...] = (
    (0.80, 0.60), (0.80, 0.80), (0.95, 0.60), (0.95, 0.80), (0.90, 0.60), (0.90, 0.80), (0.80, 0.70), (0.95, 0.70),
)


@dataclass(frozen=True)
class BaseModel:
    """A validated activations dataset of a *base* model: the only data the rule accepts.

    Build it with :meth:`from_file` or :meth:`from_dataset`; both refuse an instruct model,
    and a model whose ``variant`` is unknown unless ``assume_base=True`` (recorded).
    """

    dataset: xr.Dataset
    source: str
    assumed_base: bool = False

    @classmethod
    def from_file(cls, path: str | os.PathLike, *, assume_base: bool = False) -> "BaseModel":
        kind, ds = open_dataset(path)
        return cls._checked(kind, ds, str(path), assume_base)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, *, source: str | None = None, assume_base: bool = False) -> "BaseModel":
        if source is None:
            source = str(getattr(ds, "attrs", {}).get("source_path", "") or "<dataset>")
        if not isinstance(ds, xr.Dataset):
            raise ValidationError(f"expected an xarray.Dataset, got {type(ds).__name__}", path=source)
        kind, ds = validate_dataset(ds, source)
        return cls._checked(kind, ds, source, assume_base)

    @classmethod
    def _checked(cls, kind: str, ds: xr.Dataset, source: str, assume_base: bool) -> "BaseModel":
        if kind != "activations":
            raise ValidationError(f"the maturity rule needs an activations file (prompts and baseline texts), not {kind}",
                                  path=source)
        variant = str(ds.attrs.get("variant", ""))
        if variant == "instruct":
            raise ValidationError("is an instruct model (variant=instruct): the maturity rule is computed from base "
                                  "models only, so that no base x instruct outcome can enter it", path=source)
        if variant != "base" and not assume_base:
            raise ValidationError(f"variant is {variant or 'unknown'!r}, not 'base': the maturity rule applies to base "
                                  "models only (pass assume_base / --assume-base if this is a base model)", path=source)
        return cls(ds, source, assumed_base=variant != "base")


@dataclass(frozen=True)
class MaturityInput:
    """One input of the rule: estimate, CI, threshold, and which side of it the CI lies."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    threshold: float
    mature_when: str  # "below" or "above"
    side: str  # "mature", "immature", "straddles" or "missing"
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class MaturityClassification:
    """The rule applied to one base model."""

    source: str
    model: str
    family: str
    layer: int
    maturity: str
    reason: str
    point_maturity: str
    inputs: tuple[MaturityInput, ...]
    sensitivity: tuple[tuple[float, float, str], ...]
    rule: MaturityRule
    assumed_base: bool
    n_boot: int
    seed: int | None

    def __getitem__(self, name: str) -> MaturityInput:
        for item in self.inputs:
            if item.name == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "model": self.model, "family": self.family, "layer": self.layer,
                "maturity": self.maturity, "reason": self.reason, "point_maturity": self.point_maturity,
                "inputs": {i.name: {k: v for k, v in i.to_dict().items() if k != "name"} for i in self.inputs},
                "sensitivity": [{"max_baseline_anisotropy": a, "min_rdm_reliability": r, "maturity": c}
                                for a, r, c in self.sensitivity],
                "rule": self.rule.to_dict(), "rule_fingerprint": self.rule.fingerprint(),
                "rule_statement": self.rule.statement(), "assumed_base": self.assumed_base,
                "n_boot": self.n_boot, "seed": self.seed}

    def to_frame(self) -> pd.DataFrame:
        """One row per input."""
        return pd.DataFrame([{"source": self.source, "model": self.model, "layer": self.layer,
                              "maturity": self.maturity, **i.to_dict()} for i in self.inputs])


# --------------------------------------------------------------------------- the two inputs
def _side(low: float, high: float, threshold: float, mature_when: str) -> str:
    if not (np.isfinite(low) and np.isfinite(high)):
        return "missing"
    below, above = high < threshold, low > threshold
    if mature_when == "below":
        return "mature" if below else "immature" if above else "straddles"
    return "mature" if above else "immature" if below else "straddles"


def classify(sides: dict[str, str]) -> str:
    """The rule's decision from the side of each input's CI (the order of inputs is irrelevant)."""
    values = list(sides.values())
    if "immature" in values:
        return "immature"
    if values and all(v == "mature" for v in values):
        return "mature"
    return "indeterminate"


def _half_masks(rng: np.random.Generator, sizes: list[int], n_splits: int) -> np.ndarray:
    """``(n_splits, N)`` 0/1 masks: a random half (floor(n/2) prompts) of each emotion's prompts."""
    masks = np.zeros((n_splits, sum(sizes)))
    offset = 0
    for size in sizes:
        keys = rng.random((n_splits, size))
        chosen = np.argsort(keys, axis=1)[:, : size // 2]
        np.put_along_axis(masks[:, offset : offset + size], chosen, 1.0, axis=1)
        offset += size
    return masks


def _split_half(rows: Any, weights: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Mean over splits of the Spearman rho between the two halves' RDMs, per weight vector ``(b,)``.

    ``weights`` ``(b, N)``: which prompts are in the data (0 = left out); ``masks`` ``(K, N)``:
    which prompts form half A of each split.  A split whose half lost every prompt of an
    emotion is undefined and skipped.
    """
    n_rep, n_rows = weights.shape
    half_a = (weights[:, None, :] * masks[None]).reshape(-1, n_rows)
    half_b = (weights[:, None, :] * (1.0 - masks[None])).reshape(-1, n_rows)
    upper_a = kernels.rdm_uppers(kernels.group_gram(half_a, rows.gram, rows.groups))
    upper_b = kernels.rdm_uppers(kernels.group_gram(half_b, rows.gram, rows.groups))
    rho = kernels.rowwise_spearman(upper_a, upper_b).reshape(n_rep, len(masks))
    rho = np.where(np.isfinite(rho), rho, np.nan)
    counts = np.sum(np.isfinite(rho), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.nansum(rho, axis=1) / np.maximum(counts, 1), np.nan)


def _reliability(ds: xr.Dataset, layer: int, rows: Any, stream: np.random.SeedSequence,
                 rule: MaturityRule) -> tuple[float, float, float, str]:
    """Split-half (Spearman-Brown) reliability of the raw cosine RDM and its CI.

    The estimate is the core's (:func:`rsastats.inference.noise_ceiling`: the mean split-half
    Spearman rho over ``rule.n_splits`` random splits, stepped up with Spearman-Brown).  The CI is
    a grouped jackknife: group g holds the g-th valid prompt of every emotion; each group is left
    out in turn (the same random splits throughout); the standard error of ``atanh(mean split-half
    r)`` is ``sqrt((G-1)/G * sum (z_g - zbar)^2)``, and ``tanh(z +- t_{G-1} SE)`` is mapped through
    Spearman-Brown.  (A prompt bootstrap would be biased here: a resample holds only ~63% distinct
    prompts, so its reliability is that of a shorter test.)
    """
    from scipy import stats

    point_stream, split_stream = spawn_sequences(stream, 2)
    ceiling = noise_ceiling(ds.sel(layer=[layer]), rank="spearman", n_splits=rule.n_splits, seed=point_stream,
                            rdm="cosine", normalization="raw")
    r_full = ceiling.split_half[0]
    if r_full is None:
        return np.nan, np.nan, np.nan, "split-half correlation undefined (a half's RDM is constant)"
    sizes = rows.group_sizes
    masks = _half_masks(np.random.default_rng(split_stream), sizes, rule.n_splits)
    n_groups = max(sizes)
    leave_out = np.ones((n_groups, sum(sizes)))
    for start, size in zip(np.cumsum([0, *sizes[:-1]]), sizes):
        leave_out[np.arange(size), start + np.arange(size)] = 0.0
    r_jack = _split_half(rows, leave_out, masks)
    estimate = float(spearman_brown(r_full))
    with np.errstate(invalid="ignore", divide="ignore"):
        z_full, z_jack = np.arctanh(np.clip(r_full, -1, 1)), np.arctanh(np.clip(r_jack, -1, 1))
    if not (np.isfinite(z_full) and np.isfinite(z_jack).all()):
        return estimate, np.nan, np.nan, "jackknife undefined (a split-half correlation of +-1)"
    se = float(np.sqrt((n_groups - 1) / n_groups * np.sum((z_jack - z_jack.mean()) ** 2)))
    q = float(stats.t.ppf(0.5 + rule.confidence / 2, df=n_groups - 1))
    low, high = np.tanh(z_full - q * se), np.tanh(z_full + q * se)
    return estimate, float(max(-1.0, spearman_brown(low))), float(spearman_brown(high)), ""


def _anisotropy(rows: Any, stream: np.random.SeedSequence, settings: _Settings) -> tuple[float, np.ndarray]:
    sizes = rows.group_sizes
    point = float(kernels.mean_pairwise_cosine(np.ones((1, sum(sizes))), rows.unit)[0])
    reps = _evaluate(lambda w: {"a": kernels.mean_pairwise_cosine(w, rows.unit)},
                     kernels.resampling_weights(stream, settings.n_boot, sizes))["a"]
    return point, reps


# --------------------------------------------------------------------------- the rule
def _maturity_iv(base: Any, rule: Any, layer: Any, n_boot: Any, assume_base: bool):
    if isinstance(base, BaseModel):
        model = base
    elif isinstance(base, xr.Dataset):
        model = BaseModel.from_dataset(base, assume_base=assume_base)
    elif isinstance(base, (str, os.PathLike)):
        model = BaseModel.from_file(base, assume_base=assume_base)
    else:
        raise ValidationError(f"the maturity rule takes one base-model file or dataset, not {type(base).__name__}")
    if not isinstance(rule, MaturityRule):
        raise ValidationError(f"rule must be a MaturityRule, not {type(rule).__name__}")
    ds = model.dataset
    layers = resolve_layers(ds, rule.layer if layer is None else layer, model.source)
    if len(layers) != 1:
        raise ValidationError("the maturity rule is evaluated at one analysis layer", path=model.source)
    settings = _settings_iv(rule.n_boot if n_boot is None else n_boot, rule.confidence, rule.ci_method)
    return model, layers[0], settings


def classify_maturity(
    base: BaseModel | xr.Dataset | str | os.PathLike,
    *,
    rule: MaturityRule = MATURITY_RULE,
    layer: Any = None,
    n_boot: int | None = None,
    seed: SeedLike = 0,
    assume_base: bool = False,
) -> MaturityClassification:
    """Apply the a-priori maturity rule to one base model.

    Parameters
    ----------
    base : the base model's activations (a :class:`BaseModel`, a path or a dataset).  This is the
        only data argument: an instruct model, or any base x instruct quantity, cannot be given.
    rule : the rule; :data:`MATURITY_RULE` unless you are running a declared sensitivity analysis.
    layer : the analysis layer (default: the rule's, i.e. the last layer of the file).
    n_boot : resamples for the CIs (default: the rule's).
    seed : resampling seed; the anisotropy resamples are those of :func:`rsastats.geometry.geometry`
        with the same seed.
    assume_base : accept a file whose ``variant`` attribute is unknown as a base model (recorded).
    """
    model, layer_label, settings = _maturity_iv(base, rule, layer, n_boot, assume_base)
    ds = model.dataset
    data = _layer_data(ds, "activations", layer_label, model.source)
    streams = _streams(seed)
    inputs: list[MaturityInput] = []

    if data.baseline is None:
        inputs.append(MaturityInput("baseline_anisotropy", np.nan, np.nan, np.nan, rule.max_baseline_anisotropy,
                                    "below", "missing", data.baseline_note))
    else:
        est, reps = _anisotropy(data.baseline, streams["baseline"], settings)
        low, high, _, note = _interval("baseline_anisotropy", est, reps, None, settings)
        inputs.append(MaturityInput("baseline_anisotropy", est, low, high, rule.max_baseline_anisotropy, "below",
                                    _side(low, high, rule.max_baseline_anisotropy, "below"), note))

    short = [e for e, size in zip(data.emotions, data.prompts.group_sizes) if size < 4]
    if short:
        inputs.append(MaturityInput("rdm_reliability", np.nan, np.nan, np.nan, rule.min_rdm_reliability, "above",
                                    "missing", f"the split-half reliability and its jackknife need at least 4 valid "
                                               f"prompts per emotion; "
                                               f"{', '.join(short)} have fewer"))
    else:
        est, low, high, note = _reliability(ds, layer_label, data.prompts, streams["reliability"], rule)
        inputs.append(MaturityInput("rdm_reliability", est, low, high, rule.min_rdm_reliability, "above",
                                    _side(low, high, rule.min_rdm_reliability, "above"), note))

    maturity = classify({i.name: i.side for i in inputs})
    point = classify({i.name: _side(i.estimate, i.estimate, i.threshold, i.mature_when) for i in inputs})
    sensitivity = []
    for max_aniso, min_rel in SENSITIVITY_THRESHOLDS:
        thresholds = {"baseline_anisotropy": max_aniso, "rdm_reliability": min_rel}
        sensitivity.append((max_aniso, min_rel, classify(
            {i.name: _side(i.ci_low, i.ci_high, thresholds[i.name], i.mature_when) for i in inputs})))
    return MaturityClassification(
        source=model.source, model=str(ds.attrs.get("model", "")), family=str(ds.attrs.get("family", "")),
        layer=int(layer_label), maturity=maturity, reason=_reason(inputs, maturity), point_maturity=point,
        inputs=tuple(inputs), sensitivity=tuple(sensitivity), rule=rule, assumed_base=model.assumed_base,
        n_boot=settings.n_boot, seed=seed_to_int(seed))


def _reason(inputs: list[MaturityInput], maturity: str) -> str:
    parts = []
    for i in inputs:
        if i.side == "missing":
            parts.append(f"{i.name} not measurable ({i.note})")
            continue
        if i.side == "straddles":
            relation = "straddles"
        else:
            below = (i.side == "mature") == (i.mature_when == "below")
            relation = "below" if below else "above"
        parts.append(f"{i.name} CI [{i.ci_low:.3f}, {i.ci_high:.3f}] {relation} {i.threshold:g}")
    return f"{maturity}: " + "; ".join(parts)
