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
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..rng import SeedLike, seed_to_int
from ..exceptions import ValidationError
from ..inputs import open_source
from ..intervals import small_sample_expansion
from ..results import Record
from .descriptors import descriptor, evaluate_descriptors
from .intervals import descriptor_interval
from .layers import LayerData, layer_data, resolve_layers
from .reliability import rdm_reliability
from .resampling import ResamplingSettings, group_replicates, resampling_settings, resampling_streams
from .results import keyed

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
class MaturityRule(Record):
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
        source = open_source(path, what="the maturity rule")
        return cls._checked(source.kind, source.dataset, str(path), assume_base)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, *, source: str | None = None, assume_base: bool = False) -> "BaseModel":
        if source is None:
            source = str(getattr(ds, "attrs", {}).get("source_path", "") or "<dataset>")
        if not isinstance(ds, xr.Dataset):
            raise ValidationError(f"expected an xarray.Dataset, got {type(ds).__name__}", path=source)
        checked = open_source(ds, what="the maturity rule")
        return cls._checked(checked.kind, checked.dataset, source, assume_base)

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
class MaturityInput(Record):
    """One input of the rule: estimate, CI, threshold, and which side of it the CI lies."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    threshold: float
    mature_when: str  # "below" or "above"
    side: str  # "mature", "immature", "straddles" or "missing"
    note: str = ""


@dataclass(frozen=True)
class MaturityClassification(Record):
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
        # inputs keyed by name, sensitivity rows as objects, and the rule with its fingerprint and statement
        return {"source": self.source, "model": self.model, "family": self.family, "layer": self.layer,
                "maturity": self.maturity, "reason": self.reason, "point_maturity": self.point_maturity,
                "inputs": keyed(self.inputs, "name"),
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


def _anisotropy_input(data: LayerData, stream: np.random.SeedSequence, settings: ResamplingSettings,
                      rule: MaturityRule) -> MaturityInput:
    """Baseline anisotropy and its interval, as :func:`rsastats.geometry.geometry` gives them (same resamples)."""
    threshold = rule.max_baseline_anisotropy
    if data.baseline is None:
        return MaturityInput("baseline_anisotropy", np.nan, np.nan, np.nan, threshold, "below", "missing",
                             data.baseline_note)
    anisotropy, rows = descriptor("baseline_anisotropy"), data.baseline
    reps = group_replicates(lambda w: evaluate_descriptors((anisotropy,), rows, w), rows.group_sizes, stream, settings)
    estimate = reps.point[anisotropy.name]
    interval = descriptor_interval(anisotropy, estimate, reps.resamples[anisotropy.name],
                                   None if reps.jackknife is None else reps.jackknife[anisotropy.name], settings,
                                   expansion=small_sample_expansion(rows.group_sizes))
    return MaturityInput("baseline_anisotropy", interval.estimate, interval.low, interval.high, threshold, "below",
                         _side(interval.low, interval.high, threshold, "below"), interval.note)


def _reliability_input(ds: xr.Dataset, data: LayerData, stream: np.random.SeedSequence,
                       rule: MaturityRule) -> MaturityInput:
    """Split-half reliability of the emotion RDM and its jackknife interval."""
    threshold = rule.min_rdm_reliability
    short = [e for e, size in zip(data.emotions, data.prompts.group_sizes) if size < 4]
    if short:
        return MaturityInput("rdm_reliability", np.nan, np.nan, np.nan, threshold, "above", "missing",
                             f"the split-half reliability and its jackknife need at least 4 valid prompts per emotion; "
                             f"{', '.join(short)} have fewer")
    est, low, high, note = rdm_reliability(ds, data.layer, data.prompts, stream, n_splits=rule.n_splits,
                                           confidence=rule.confidence)
    return MaturityInput("rdm_reliability", est, low, high, threshold, "above", _side(low, high, threshold, "above"),
                         note)


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
    settings = resampling_settings(rule.n_boot if n_boot is None else n_boot, rule.confidence, rule.ci_method,
                                   ds.sizes["emotion"])
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
    data = layer_data(ds, "activations", layer_label, model.source)
    streams = resampling_streams(seed)
    inputs = [_anisotropy_input(data, streams["baseline"], settings, rule),
              _reliability_input(ds, data, streams["reliability"], rule)]
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


def _reason(inputs: Sequence[MaturityInput], maturity: str) -> str:
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
