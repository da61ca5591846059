"""Audit two emotion-vector sets: which method layers separate them, and is their rho lower than
method effects alone would make it?

Given two files A and B (from rsastats' extraction, or imported from a prior study with the
metadata of how they were made), :func:`audit`

1. compares their attributes layer by layer (:func:`compare_layers`): (1) coarse method
   (comprehension vs generation, pooling), (2) generation sub-parameters and templates, (3) precision
   including the INT8 scheme, (4) experiment (stimulus set, experiment label). Each attribute and
   layer is ``same``, ``differs``, ``unknown`` (not recorded on one side: unknown is not same) or
   ``n/a``;
2. re-extracts A's recipe and B's recipe on one *reference model* (or takes two reference files).
   Both reference files come from the same weights, so whatever separates their geometries is method,
   not geometry: the bootstrap interval of rho(reference A, reference B) is the **reference range**,
   the rho expected if A's and B's underlying geometry were identical;
3. computes the observed rho(A, B) with its bootstrap CI and Mantel p through the inference core
   (:func:`rsastats.inference.compare_models`), and the reference range with
   :func:`rsastats.inference.bootstrap_rho` under the same bootstrap scheme and interval method;
4. applies the verdict rule :func:`audit_verdict`, fixed before any real outcome was looked at.

The main caveat is stated in every result: a reference model's sensitivity to method choices
transfers to the audited models only as an assumption.  See ``docs/audit.md``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ._rng import SeedLike, seed_to_int, spawn_sequences
from ._validation import MIN_EMOTIONS, check_choice, check_confidence, check_count
from .variance.design import level_text
from .data import file_kind, open_dataset, validate_dataset
from .exceptions import LabelError, ValidationError
from .inference.bootstrap import (CI_METHODS, CORRELATION_BOUNDS, DEFAULT_CI, DEFAULT_N_BOOT, SCHEMES, BootstrapResult,
                                  bootstrap_rho, confidence_interval)
from .inference.pairs import ComparisonResult, compare_models

__all__ = [
    "LAYERS",
    "LAYER_ATTRIBUTES",
    "GENERATION_ONLY",
    "STATUSES",
    "COMPATIBLE",
    "DIFFERENT",
    "INCONCLUSIVE",
    "VERDICTS",
    "MAX_INTERVAL_WIDTH",
    "MIN_AUDIT_EMOTIONS",
    "TRANSFER_CAVEAT",
    "AttributeComparison",
    "LayerComparison",
    "AuditVerdict",
    "ReferenceRange",
    "AuditResult",
    "compare_layers",
    "audit_verdict",
    "reference_range",
    "audit",
]

# The study's four layers of method effects and the attributes that record each.
LAYER_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "1 method": ("method", "pooling"),
    "2 sub-parameters": ("temperature", "top_p", "top_k", "max_new_tokens", "template", "chat_template", "seed"),
    "3 precision": ("precision",),
    "4 experiment": ("stimulus_set", "experiment"),
}
LAYERS = tuple(LAYER_ATTRIBUTES)
# Sampling settings exist only for generated text.
GENERATION_ONLY = ("temperature", "top_p", "top_k", "max_new_tokens", "seed")
# Attributes a reference extraction does not need in order to reproduce a layer: a seed is an
# exchangeable draw, and an experiment label names the stimuli the stimulus_set hash identifies.
_NOT_NEEDED = ("seed", "experiment")
STATUSES = ("same", "differs", "unknown", "n/a")
_NA = "n/a"

COMPATIBLE = "compatible with identical geometry after method effects"
DIFFERENT = "different beyond method effects"
INCONCLUSIVE = "inconclusive"
VERDICTS = (COMPATIBLE, DIFFERENT, INCONCLUSIVE)
# An interval wider than this cannot separate the two outcomes for method drops of the size the
# study reports (0.1-0.3 in rho); it is about the width of the two-factor bootstrap interval at the
# heaviest prompt noise of the calibration (docs/calibration.md: reliability 0.54, width 0.47).
MAX_INTERVAL_WIDTH = 0.5
# Fewer emotions than this: a bootstrap resample holds about 63% distinct emotions (5 of 8, 10 of
# 28 cells) and the intervals were calibrated at 21 emotions only (docs/calibration.md): a guard
# for uncalibrated designs (docs/audit.md).  Below it the verdict is inconclusive whatever the
# intervals say.
MIN_AUDIT_EMOTIONS = 8
TRANSFER_CAVEAT = ("the reference range measures how much these two recipes move the geometry of the reference model; "
                   "that the audited models respond to the same method changes in the same way is an assumption this "
                   "audit cannot test")


# --------------------------------------------------------------------------- layers
@dataclass(frozen=True)
class AttributeComparison:
    """One attribute of the two files: values, status, and whether each side records it usably.

    ``known_a``/``known_b`` are False for an empty attribute and for a precision of bare ``int8``
    (the scheme decides the effect).  ``needed`` says whether a reference extraction needs it to
    reproduce the layer (not for ``seed`` and ``experiment``).
    """

    layer: str
    attribute: str
    a: str
    b: str
    status: str
    known_a: bool
    known_b: bool
    needed: bool

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "attribute": self.attribute, "a": self.a or "(unknown)", "b": self.b or "(unknown)",
                "status": self.status, "known_a": self.known_a, "known_b": self.known_b, "needed": self.needed}


@dataclass(frozen=True)
class LayerComparison:
    """One of the four layers: ``differs`` if any of its attributes differs, else ``unknown`` if one
    is not recorded, else ``same`` (``n/a`` if none applies).  ``complete`` is True when every
    attribute a reference needs is recorded on both sides."""

    layer: str
    status: str
    differing: tuple[str, ...]
    unknown: tuple[str, ...]
    complete: bool
    description: str

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "status": self.status, "differing": ", ".join(self.differing),
                "unknown": ", ".join(self.unknown), "complete": self.complete, "description": self.description}


def _attribute_value(attrs: Mapping[str, Any], name: str) -> str:
    if name in GENERATION_ONLY and level_text(attrs.get("method", "")) == "comprehension":
        return _NA
    return level_text(attrs.get(name, ""))


def _attribute_status(name: str, a: str, b: str) -> tuple[str, bool, bool]:
    known_a = bool(a) and not (name == "precision" and a == "int8")
    known_b = bool(b) and not (name == "precision" and b == "int8")
    if a == b == _NA:
        return "n/a", True, True
    if not a or not b:
        return "unknown", known_a, known_b
    if name == "precision" and "int8" in (a, b):
        # Bare "int8" (scheme not recorded) differs from a float precision but may equal any int8 scheme.
        return ("unknown" if a.startswith("int8") and b.startswith("int8") else "differs"), known_a, known_b
    return ("same" if a == b else "differs"), known_a, known_b


def compare_layers(attrs_a: Mapping[str, Any], attrs_b: Mapping[str, Any]) -> tuple[tuple[AttributeComparison, ...],
                                                                                       tuple[LayerComparison, ...]]:
    """Which of the four method layers separate two files, from their attributes.

    Values are compared as text, numbers in one spelling (``0.7 == "0.70"``).  Generation
    sub-parameters of a comprehension file are ``n/a``.  An empty attribute is ``unknown``, never
    ``same``.

    Returns
    -------
    (attributes, layers) : one :class:`AttributeComparison` per attribute of
        :data:`LAYER_ATTRIBUTES`, and one :class:`LayerComparison` per layer.
    """
    attributes: list[AttributeComparison] = []
    layers: list[LayerComparison] = []
    for layer, names in LAYER_ATTRIBUTES.items():
        rows = []
        for name in names:
            a, b = _attribute_value(attrs_a, name), _attribute_value(attrs_b, name)
            status, known_a, known_b = _attribute_status(name, a, b)
            rows.append(AttributeComparison(layer, name, a, b, status, known_a, known_b, name not in _NOT_NEEDED))
        attributes.extend(rows)
        differing = tuple(r.attribute for r in rows if r.status == "differs")
        unknown = tuple(r.attribute for r in rows if r.status == "unknown")
        if differing:
            status = "differs"
        elif unknown:
            status = "unknown"
        elif all(r.status == "n/a" for r in rows):
            status = "n/a"
        else:
            status = "same"
        complete = all(r.known_a and r.known_b for r in rows if r.needed)
        shown = [r for r in rows if r.status in ("differs", "unknown")]
        description = "; ".join(f"{r.attribute}: {r.a or '(unknown)'} vs {r.b or '(unknown)'}" for r in shown)
        layers.append(LayerComparison(layer, status, differing, unknown, complete, description))
    return tuple(attributes), tuple(layers)


# --------------------------------------------------------------------------- verdict
@dataclass(frozen=True)
class AuditVerdict:
    """The verdict, what the intervals alone say (``numbers_say``), and why."""

    verdict: str
    numbers_say: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "numbers_say": self.numbers_say, "reasons": list(self.reasons)}


def _max_width_iv(max_interval_width: Any) -> float:
    """The widest observed interval that may still be called compatible: a number in (0, 2]."""
    try:
        width = float(max_interval_width)
    except (TypeError, ValueError):
        raise ValidationError(f"max_interval_width must be a number; got {max_interval_width!r}") from None
    if not 0 < width <= 2:
        raise ValidationError(f"max_interval_width must be in (0, 2]; got {max_interval_width!r}")
    return width


def _interval_iv(name: str, interval: Any) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in interval)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a pair (low, high); got {interval!r}") from None
    if not (math.isnan(low) or math.isnan(high)) and low > high:
        raise ValidationError(f"{name} runs backwards: ({low}, {high})")
    return low, high


def audit_verdict(observed_ci: tuple[float, float], reference: tuple[float, float], *,
                  incomplete_layers: Sequence[str] = (), n_emotions: int | None = None,
                  max_interval_width: float = MAX_INTERVAL_WIDTH) -> AuditVerdict:
    """The audit's decision rule (fixed in code and in ``docs/audit.md``).

    With ``O`` the observed CI of rho(A, B) and ``R`` the reference range, in this order:

    1. ``inconclusive`` if either interval is undefined, or if fewer than
       :data:`MIN_AUDIT_EMOTIONS` emotions were compared (``n_emotions``);
    2. ``different beyond method effects`` if ``O`` lies entirely below ``R`` (``O.high < R.low``),
       however wide either interval is: non-overlap is decisive;
    3. ``inconclusive`` if ``O`` or ``R`` is wider than ``max_interval_width``: an overlap of wide
       intervals cannot tell identical geometry from a difference of the size method effects make;
    4. ``compatible with identical geometry after method effects`` otherwise: ``O`` overlaps ``R``,
       or lies above it (the audited files agree *more* than the reference's method effects allow;
       no sign of a geometric difference, and a reason says the reference overstates the method
       effect for these models).

    Whatever the intervals say (returned as ``numbers_say``), the verdict is ``inconclusive`` when a
    layer's settings are not recorded well enough for the reference to reproduce them
    (``incomplete_layers``).
    """
    o_low, o_high = _interval_iv("observed_ci", observed_ci)
    r_low, r_high = _interval_iv("reference", reference)
    width = _max_width_iv(max_interval_width)
    reasons: list[str] = []
    if any(math.isnan(x) for x in (o_low, o_high, r_low, r_high)):
        numbers_say = INCONCLUSIVE
        reasons.append("an interval is undefined")
    elif n_emotions is not None and n_emotions < MIN_AUDIT_EMOTIONS:
        numbers_say = INCONCLUSIVE
        reasons.append(f"only {n_emotions} emotions: an audit needs at least {MIN_AUDIT_EMOTIONS} for its bootstrap "
                       "intervals to mean what they say")
    elif o_high < r_low:
        numbers_say = DIFFERENT
        reasons.append(f"the observed CI [{o_low:.3f}, {o_high:.3f}] lies entirely below the reference range "
                       f"[{r_low:.3f}, {r_high:.3f}]")
    elif o_high - o_low > width:
        numbers_say = INCONCLUSIVE
        reasons.append(f"the observed CI [{o_low:.3f}, {o_high:.3f}] overlaps or exceeds the reference range "
                       f"[{r_low:.3f}, {r_high:.3f}] but is wider than {width:g}: too uncertain to call it compatible")
    elif r_high - r_low > width:
        numbers_say = INCONCLUSIVE
        reasons.append(f"the reference range [{r_low:.3f}, {r_high:.3f}] is wider than {width:g}: the reference "
                       "extraction is too noisy to say what rho to expect")
    else:
        numbers_say = COMPATIBLE
        if o_low > r_high:
            reasons.append(f"the observed CI [{o_low:.3f}, {o_high:.3f}] lies above the reference range "
                           f"[{r_low:.3f}, {r_high:.3f}]: the audited files agree more than the reference model's "
                           "method effects predict (no sign of a geometric difference; the reference overstates the "
                           "method effect for these models)")
        else:
            reasons.append(f"the observed CI [{o_low:.3f}, {o_high:.3f}] overlaps the reference range "
                           f"[{r_low:.3f}, {r_high:.3f}]")
    verdict = numbers_say
    incomplete = [str(x) for x in incomplete_layers]
    if incomplete:
        verdict = INCONCLUSIVE
        reasons.append(f"the files do not record layer {', '.join(incomplete)} fully, so the reference may not "
                       f"reproduce {'it' if len(incomplete) == 1 else 'them'} (the intervals alone say: {numbers_say})")
    return AuditVerdict(verdict, numbers_say, tuple(reasons))


# --------------------------------------------------------------------------- reference range
@dataclass(frozen=True)
class ReferenceRange:
    """The rho expected under identical geometry: rho between the reference model's extractions
    under A's and B's recipes, with its interval (pooled over runs of stochastic recipes)."""

    model: str
    files_a: tuple[str, ...]
    files_b: tuple[str, ...]
    rho: float
    low: float
    high: float
    scheme: str
    ci_method: str
    confidence: float
    runs: tuple[BootstrapResult, ...] = field(repr=False)
    plans: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    assumptions: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "rho": self.rho, "low": self.low, "high": self.high, "scheme": self.scheme,
                "ci_method": self.ci_method, "confidence": self.confidence, "n_runs": len(self.runs),
                "runs": [{"run": i, "file_a": fa, "file_b": fb, "rho": r.estimate, "ci_low": r.ci_low,
                          "ci_high": r.ci_high, "n_boot": r.n_boot}
                         for i, (fa, fb, r) in enumerate(zip(self.files_a, self.files_b, self.runs))],
                "plans": list(self.plans), "assumptions": [a.to_dict() for a in self.assumptions]}


def reference_range(runs: Sequence[BootstrapResult], *, ci: str = DEFAULT_CI,
                    confidence: float = 0.95) -> tuple[float, float, float]:
    """``(rho, low, high)`` of the reference from the bootstrap of one or more reference pairs.

    One pair: its estimate and its interval.  Several pairs (runs of a sampled recipe with other
    seeds): the mean estimate, and the central ``confidence`` range of the pooled bootstrap
    distributions, each run's replicates reflected about its estimate for the basic interval
    (``2 rho_i - rho*_i``, which for one run is exactly the basic interval) and used as they are
    for the percentile interval; so the range covers the run-to-run spread and each run's
    sampling uncertainty.  BCa does not pool and needs a single run.
    """
    runs = list(runs)
    if not runs:
        raise ValidationError("no reference runs")
    if len(runs) == 1:
        return runs[0].estimate, runs[0].ci_low, runs[0].ci_high
    ci = check_choice("interval method", ci, CI_METHODS)
    if ci == "bca":
        raise ValidationError("BCa intervals of several reference runs cannot be pooled: use --ci basic or percentile, "
                              "or one reference run")
    pooled = np.concatenate([(2.0 * r.estimate - r.bootstrap_distribution) if ci == "basic" else r.bootstrap_distribution
                             for r in runs])
    pooled = np.clip(pooled, *CORRELATION_BOUNDS)
    center = float(np.mean([r.estimate for r in runs]))
    low, high = confidence_interval(center, pooled, method="percentile", confidence=confidence, bounds=CORRELATION_BOUNDS)
    return center, low, high


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class AuditResult:
    """Everything :func:`audit` found.  ``to_dict()`` is flat where it can be (scalars first, then
    lists of records: layers, attributes, assumptions, reference runs, notes); ``to_frame()`` is
    one summary row; ``layers_frame()`` and ``attributes_frame()`` the layer tables."""

    a: str
    b: str
    model_a: str
    model_b: str
    emotions: tuple[str, ...]
    common_emotions: bool
    left_out: dict[str, tuple[str, ...]]
    attributes: tuple[AttributeComparison, ...]
    layers: tuple[LayerComparison, ...]
    observed: ComparisonResult
    reference: ReferenceRange
    verdict: AuditVerdict
    max_interval_width: float
    seed: int | None
    notes: tuple[str, ...]
    seconds: float

    def summary(self) -> dict[str, Any]:
        obs, ref = self.observed, self.reference
        return {
            "verdict": self.verdict.verdict, "numbers_say": self.verdict.numbers_say, "a": self.a, "b": self.b,
            "model_a": self.model_a, "model_b": self.model_b, "n_emotions": len(self.emotions),
            "common_emotions": self.common_emotions,
            "separating_layers": ", ".join(x.layer for x in self.layers if x.status == "differs"),
            "unknown_layers": ", ".join(x.layer for x in self.layers if x.status == "unknown"),
            "incomplete_layers": ", ".join(x.layer for x in self.layers if not x.complete),
            "rho": obs.rho, "ci_low": obs.ci_low, "ci_high": obs.ci_high, "ci_method": obs.ci_method,
            "confidence": obs.confidence, "bootstrap": obs.bootstrap, "n_boot": obs.n_boot, "p_value": obs.p_value,
            "n_permutations": obs.n_permutations, "rdm": obs.rdm, "rank": obs.rank, "layer": obs.layer,
            "normalization": obs.normalization, "reference_model": ref.model, "reference_rho": ref.rho,
            "reference_low": ref.low, "reference_high": ref.high, "reference_bootstrap": ref.scheme,
            "reference_runs": len(ref.runs), "gap": obs.rho - ref.rho, "max_interval_width": self.max_interval_width,
            "seed": self.seed, "seconds": self.seconds,
        }

    def to_dict(self) -> dict[str, Any]:
        out = self.summary()
        out["reasons"] = list(self.verdict.reasons)
        out["notes"] = list(self.notes)
        out["emotions"] = list(self.emotions)
        out["left_out"] = {k: list(v) for k, v in self.left_out.items()}
        out["layers"] = [x.to_dict() for x in self.layers]
        out["attributes"] = [x.to_dict() for x in self.attributes]
        out["assumptions"] = [x.to_dict() for x in self.reference.assumptions]
        out["reference_files"] = self.reference.to_dict()["runs"]
        out["reference_plans"] = list(self.reference.plans)
        out["observed"] = self.observed.to_dict()
        return out

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.summary()])

    def layers_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.layers])

    def attributes_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.attributes])


# --------------------------------------------------------------------------- audit
def _open(obj: Any, name: str) -> tuple[str, xr.Dataset]:
    if isinstance(obj, xr.Dataset):
        return validate_dataset(obj, name)
    return open_dataset(Path(obj))


def _emotions_of(ds: xr.Dataset) -> list[str]:
    return [str(e) for e in ds["emotion"].values]


def _difference(first: Sequence[str], second: Sequence[str]) -> str:
    missing = [e for e in first if e not in set(second)]
    extra = [e for e in second if e not in set(first)]
    parts = ([f"lacks {', '.join(missing)}"] if missing else []) + ([f"has extra {', '.join(extra)}"] if extra else [])
    return " and ".join(parts)


def _select(ds: xr.Dataset, emotions: Sequence[str]) -> xr.Dataset:
    return ds if _emotions_of(ds) == list(emotions) else ds.sel(emotion=list(emotions))


def _audit_iv(a, b, reference_model, reference_files, reference_runs, limit, common_emotions, bootstrap, n_boot, ci,
              confidence, max_interval_width):
    for name, obj in (("A", a), ("B", b)):
        if not isinstance(obj, (str, os.PathLike, xr.Dataset)):
            raise ValidationError(f"{name} must be a file path or a dataset; got {type(obj).__name__}")
    if reference_files is not None:
        if isinstance(reference_files, (str, os.PathLike)) or len(reference_files) != 2:
            raise ValidationError("reference_files must be two files: the reference extractions of A's and B's recipes")
    elif not str(reference_model or "").strip():
        raise ValidationError("give a reference model (e.g. 'default') or two reference files")
    reference_runs = check_count("reference_runs", reference_runs, 1)
    if limit is not None:
        limit = check_count("limit", limit, 1)
    if bootstrap is not None:
        bootstrap = check_choice("bootstrap scheme", bootstrap, SCHEMES)
    n_boot = check_count("n_boot", n_boot, 2)
    ci = check_choice("interval method", ci, CI_METHODS)
    if ci == "bca" and reference_runs > 1:
        raise ValidationError("BCa intervals of several reference runs cannot be pooled: use --ci basic or percentile")
    confidence = check_confidence(confidence)
    width = _max_width_iv(max_interval_width)
    return reference_runs, limit, bool(common_emotions), bootstrap, n_boot, ci, confidence, width


def _audited_emotions(name_a: str, name_b: str, ds_a: xr.Dataset, ds_b: xr.Dataset,
                      common_emotions: bool) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    ea, eb = _emotions_of(ds_a), _emotions_of(ds_b)
    if set(ea) == set(eb):
        return ea, {}
    if not common_emotions:
        n_common = len(set(ea) & set(eb))
        raise LabelError(f"its emotion set differs from {name_a}'s: it {_difference(ea, eb)}; pass --common-emotions "
                         f"to audit the {n_common} emotions both hold", path=name_b)
    common = [e for e in ea if e in set(eb)]
    if len(common) < MIN_EMOTIONS:
        raise LabelError(f"{name_a} and {name_b} share only {len(common)} emotion(s) ({', '.join(common) or 'none'}); "
                         f"an audit needs at least {MIN_EMOTIONS}")
    left_out = {"a": tuple(e for e in ea if e not in set(common)), "b": tuple(e for e in eb if e not in set(common))}
    return common, left_out


def _n_prompts(kind: str, ds: xr.Dataset) -> int | None:
    return int(ds.sizes["prompt"]) if kind == "activations" else None


def _reference_files(reference_files, emotions, attrs_a, attrs_b, notes) -> tuple[list[list[str]], list[xr.Dataset], list[xr.Dataset]]:
    datasets = []
    for side, path, attrs in (("A", reference_files[0], attrs_a), ("B", reference_files[1], attrs_b)):
        name = str(path) if not isinstance(path, xr.Dataset) else f"reference {side}"
        kind, ds = _open(path, name)
        if kind == "rdm":
            raise ValidationError("a reference must hold vectors or activations, not an RDM", path=name)
        have = _emotions_of(ds)
        missing = [e for e in emotions if e not in set(have)]
        if missing:
            raise LabelError(f"lacks {', '.join(missing)}, which the audited files hold", path=name)
        extra = [e for e in have if e not in set(emotions)]
        if extra:
            notes.append(f"reference {side} ({name}) holds {len(extra)} emotion(s) the audited files lack "
                         f"({', '.join(extra)}); only the audited emotions were used")
        _, layers = compare_layers(attrs, ds.attrs)
        moved = [x.description for x in layers if x.status == "differs"]
        if moved:
            notes.append(f"reference {side} was not made with {side}'s recipe: {'; '.join(moved)} "
                         f"({side} vs reference {side})")
        datasets.append((name, _select(ds, emotions)))
    return [[datasets[0][0]], [datasets[1][0]]], [datasets[0][1]], [datasets[1][1]]


def _built_reference(model, reference_dir, runs, limit, emotions, normalization, kinds, datasets, progress):
    from ._audit_reference import BASELINE_NORMALIZATIONS, default_reference_dir, plan_reference, run_reference

    baseline = normalization in BASELINE_NORMALIZATIONS
    plans = [plan_reference(ds.attrs, side, model=model, emotions=emotions, n_prompts=_n_prompts(kind, ds), limit=limit,
                            baseline=baseline)
             for side, kind, ds in zip(("A", "B"), kinds, datasets)]
    folder = Path(reference_dir) if reference_dir is not None else default_reference_dir()
    files, extra_assumptions, notes = run_reference(plans, folder, runs=runs, progress=progress)
    assumptions = [x for plan in plans for x in plan.assumptions] + extra_assumptions
    opened = []
    for side_files in files:
        opened.append([_select(open_dataset(f)[1], emotions) for f in side_files])
    return plans, assumptions, notes, [[str(f) for f in side] for side in files], opened[0], opened[1]


def audit(a: str | os.PathLike | xr.Dataset, b: str | os.PathLike | xr.Dataset, *,
          reference_model: str = "default", reference_files: Sequence[str | os.PathLike | xr.Dataset] | None = None,
          reference_dir: str | os.PathLike | None = None, reference_runs: int = 1, limit: int | None = None,
          common_emotions: bool = False, bootstrap: str | None = None, n_boot: int = DEFAULT_N_BOOT,
          ci: str = DEFAULT_CI, confidence: float = 0.95,
          rdm: str = "cosine", normalization: str = "raw", max_interval_width: float = MAX_INTERVAL_WIDTH,
          seed: SeedLike = 0, progress: Callable[[int], None] | None = None,
          extraction_progress: Callable[[str], Any] | None = None) -> AuditResult:
    """Audit two vector sets: separating layers, observed rho vs the reference range, verdict.

    Parameters
    ----------
    a, b : activations or vector-set files (or RDM files, whose attributes say nothing of method), or datasets.
    reference_model : model that re-extracts A's and B's recipes (registry name such as ``default``
        or ``minilm``, a local folder, a ``.gguf`` file, or a hub id in the local cache).
    reference_files : two precomputed reference files (A's recipe, B's recipe) instead of extracting.
    reference_dir : where reference extractions are kept and reused (default
        ``<rsastats cache>/audit-references``); an interrupted extraction resumes there.
    reference_runs : runs of each sampled (stochastic) recipe, with seeds ``seed, seed + 1, ...``.
    limit : at most this many prompts per emotion in the reference extractions (default: as many
        as the audited file has; the recipe's full set for vector sets).
    common_emotions : audit the emotions both files hold when their sets differ (otherwise an error).
    bootstrap : ``emotions``, ``prompts`` or ``both`` (default: both when A and B hold prompts, else
        emotions); the reference uses the same scheme (emotions if its files hold no prompts).
    n_boot, ci, confidence : bootstrap of the observed rho and of the reference pair(s).
    rdm, normalization : how vectors become RDMs (as in ``rsastats compare``); the last layer of every file is used.
    max_interval_width : intervals wider than this make the verdict inconclusive.
    seed : seed of every resample (observed: child 0; reference run i: child i + 1).
    progress : ``advance(n)`` for the observed bootstrap; ``extraction_progress(description)``
        returns a progress object for each reference extraction.

    Returns
    -------
    AuditResult
    """
    started = time.perf_counter()
    runs, limit, common_emotions, bootstrap, n_boot, ci, confidence, width = _audit_iv(
        a, b, reference_model, reference_files, reference_runs, limit, common_emotions, bootstrap, n_boot, ci,
        confidence, max_interval_width)
    name_a = str(a) if not isinstance(a, xr.Dataset) else "A"
    name_b = str(b) if not isinstance(b, xr.Dataset) else "B"
    if name_a == name_b:
        name_a, name_b = f"{name_a} (A)", f"{name_b} (B)"
    kind_a, ds_a = _open(a, name_a)
    kind_b, ds_b = _open(b, name_b)
    emotions, left_out = _audited_emotions(name_a, name_b, ds_a, ds_b, common_emotions)
    ds_a, ds_b = _select(ds_a, emotions), _select(ds_b, emotions)
    for name, ds in ((name_a, ds_a), (name_b, ds_b)):
        _check_recipe_recorded(name, ds.attrs)
    attributes, layers = compare_layers(ds_a.attrs, ds_b.attrs)
    notes: list[str] = []
    if left_out:
        notes.append(f"audited on the {len(emotions)} emotions both files hold (--common-emotions); left out: "
                     f"{', '.join(left_out['a']) or 'none'} of {name_a}, {', '.join(left_out['b']) or 'none'} of {name_b}")

    seeds = spawn_sequences(seed, 1 + runs)
    observed = compare_models(ds_a, ds_b, bootstrap=bootstrap, n_boot=n_boot, ci=ci, confidence=confidence, rdm=rdm,
                              normalization=normalization, seed=seeds[0], progress=progress)

    plans: list[Any] = []
    assumptions: list[Any] = []
    if reference_files is not None:
        files, refs_a, refs_b = _reference_files(reference_files, emotions, ds_a.attrs, ds_b.attrs, notes)
        model = ", ".join(sorted({str(r.attrs.get("model", "") or "(unknown)") for r in refs_a + refs_b}))
    else:
        model = str(reference_model)
        plans, assumptions, run_notes, files, refs_a, refs_b = _built_reference(
            model, reference_dir, runs, limit, emotions, normalization, (kind_a, kind_b), (ds_a, ds_b),
            extraction_progress)
        notes.extend(run_notes)
    scheme = observed.bootstrap
    if scheme != "emotions" and not all(file_kind(r) == "activations" for r in refs_a + refs_b):
        notes.append(f"the reference files hold no prompts: their interval resamples emotions only, the observed one "
                     f"{scheme}")
        scheme = "emotions"
    # A sampled recipe has several runs, a deterministic one a single file that pairs with each of them.
    n_pairs = max(len(refs_a), len(refs_b))
    pairs = [(refs_a[i % len(refs_a)], refs_b[i % len(refs_b)]) for i in range(n_pairs)]
    boot = [bootstrap_rho(ra, rb, scheme=scheme, n_boot=n_boot, ci=ci, confidence=confidence, rdm=rdm,
                          normalization=normalization, seed=seeds[1 + i])
            for i, (ra, rb) in enumerate(pairs)]
    ref_rho, ref_low, ref_high = reference_range(boot, ci=ci, confidence=confidence)
    pair_files_a = tuple(files[0][i % len(files[0])] for i in range(n_pairs))
    pair_files_b = tuple(files[1][i % len(files[1])] for i in range(n_pairs))
    reference = ReferenceRange(model, pair_files_a, pair_files_b, ref_rho, ref_low, ref_high, scheme, ci, confidence,
                               tuple(boot), tuple(p.to_dict() for p in plans), tuple(assumptions))

    incomplete = [x.layer for x in layers if not x.complete]
    blocking = sorted({_layer_of(x.attribute) for x in assumptions if x.blocking} - set(incomplete))
    verdict = audit_verdict((observed.ci_low, observed.ci_high), (ref_low, ref_high),
                            incomplete_layers=incomplete + blocking, n_emotions=len(emotions),
                            max_interval_width=width)
    notes.extend(_notes(observed, scheme, kind_a, kind_b, ds_a, ds_b, refs_a, runs, plans, model))
    return AuditResult(name_a, name_b, str(ds_a.attrs.get("model", "") or ""), str(ds_b.attrs.get("model", "") or ""),
                       tuple(emotions), bool(left_out), left_out, attributes, layers, observed, reference, verdict, width,
                       seed_to_int(seed), tuple(notes), time.perf_counter() - started)


def _check_recipe_recorded(name: str, attrs: Mapping[str, Any]) -> None:
    """A file that records none of the four layers' settings cannot be audited: every layer would be
    unknown and the reference would re-extract rsastats' defaults, not the file's recipe."""
    # chat_template is left out: the schema's default 0 cannot be told apart from "not recorded".
    recorded = [n for names in LAYER_ATTRIBUTES.values() for n in names
                if n != "chat_template" and level_text(attrs.get(n, ""))]
    if not recorded:
        raise ValidationError("records none of the attributes that say how its vectors were made "
                              f"({', '.join(n for names in LAYER_ATTRIBUTES.values() for n in names)}); add what is "
                              "known with `rsastats import ... --meta FILE.json`", path=name)


def _layer_of(attribute: str) -> str:
    for layer, names in LAYER_ATTRIBUTES.items():
        if attribute in names:
            return layer
    return "4 experiment" if attribute.startswith("stimul") else attribute


def _notes(observed, scheme, kind_a, kind_b, ds_a, ds_b, refs_a, runs, plans, model) -> list[str]:
    notes = [TRANSFER_CAVEAT]
    if scheme == "emotions":
        notes.append("the intervals resample emotions only (a vector set has no prompts, or emotions were asked for), so "
                     "neither rho is corrected for "
                     "the attenuation prompt noise causes; if the audited studies averaged fewer or noisier prompts "
                     "than the reference, the observed rho is attenuated more and the verdict leans toward 'different'")
    prompts = {n: int(ds.sizes["prompt"]) for n, ds in (("A", ds_a), ("B", ds_b)) if "prompt" in ds.dims}
    ref_prompts = sorted({int(r.sizes["prompt"]) for r in refs_a if "prompt" in r.dims})
    if prompts and ref_prompts and scheme != "emotions" and set(prompts.values()) != set(ref_prompts):
        notes.append(f"the reference read {'/'.join(map(str, ref_prompts))} prompt(s) per emotion, "
                     f"{', '.join(f'{k} {v}' for k, v in prompts.items())}: the two-factor basic interval targets the "
                     "noise-free rho (docs/calibration.md), which is how different prompt counts are allowed for")
    if plans and runs > 1 and not any(plan.stochastic for plan in plans):
        notes.append("neither recipe samples text, so one reference run was made (--reference-runs applies to sampled "
                     "generation)")
    # The same weights: the same model name and, where both record one, the same revision.
    def weights(ds: xr.Dataset) -> tuple[str, str]:
        return str(ds.attrs.get("model", "") or ""), str(ds.attrs.get("model_revision", "") or "")

    shared = sorted({ma for ma, ra in (weights(d) for d in (ds_a, ds_b)) for mr, rr in (weights(r) for r in refs_a)
                     if ma and ma == mr and (not ra or not rr or ra == rr)})
    if shared:
        notes.append(f"the reference model ({', '.join(shared)}) is also an audited model: the "
                     "reference then re-runs that model's own recipes, a check of the method rather than independent "
                     "evidence")
    return notes
