"""The audit of two vector sets, step by step: open and align A and B, compare their attributes
layer by layer, the observed rho, the reference range, the verdict, and the notes that qualify it.

The cheap steps all come before the observed bootstrap and any reference extraction: the emotion
sets and their count (at least :data:`MIN_AUDIT_EMOTIONS`, or a one-line error), the recorded
recipes, the layer comparison (unknown attributes), and whether A and B record the same recipe
(then no reference is made: a recipe compared with itself says nothing, and the reference is
reported as uninformative in words).  A reference that turns out degenerate after it was made (one
extraction serving both sides, or a rho that no resample moves) is reported the same way.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Sequence

import xarray as xr

from ..rng import SeedLike, seed_to_int, spawn_sequences
from ..checks import check_choice, check_confidence, check_count
from ..exceptions import LabelError, ValidationError
from ..inference.bootstrap import DEFAULT_N_BOOT, BootstrapResult, bootstrap_rho
from ..inference.engine import SCHEMES
from ..inference.pairs import ComparisonResult, compare_models
from ..inputs import Source, layer_value, open_source, split_file_layer
from ..intervals import DEFAULT_CI, INTERVAL_METHODS, ci_method_name
from ..labels import emotion_difference
from ..vectors import BASELINE_NORMALIZATIONS, check_one_layer, normalization_name, select_layers
from .attributes import LayerComparison, check_recipe_recorded, compare_layers, layer_of
from .references import (ReferenceMaker, ReferenceRequest, References, emotions_of, given_references, labelled,
                         last_layer, made_references, references_hold_prompts, select_emotions)
from .results import AuditResult, ReferenceRange
from .verdict import MAX_INTERVAL_WIDTH, MIN_AUDIT_EMOTIONS, audit_verdict, check_max_width, reference_range

__all__ = ["TRANSFER_CAVEAT", "audit"]

TRANSFER_CAVEAT = ("the reference range measures how much these two recipes move the geometry of the reference model; "
                   "that the audited models respond to the same method changes in the same way is an assumption this "
                   "audit cannot test")


@dataclass(frozen=True)
class _Options:
    runs: int
    common_emotions: bool
    bootstrap: str | None
    n_boot: int
    ci: str
    confidence: float
    width: float
    baseline: bool


@dataclass(frozen=True)
class _AuditedPair:
    """A and B opened, validated and aligned on the audited emotions."""

    name_a: str
    name_b: str
    kind_a: str
    kind_b: str
    ds_a: xr.Dataset = field(repr=False)
    ds_b: xr.Dataset = field(repr=False)
    emotions: tuple[str, ...]
    left_out: dict[str, tuple[str, ...]]


def _audit_iv(a, b, reference_files, make_references, reference_runs, common_emotions, bootstrap, n_boot, ci,
              confidence, normalization, max_interval_width) -> _Options:
    for name, obj in (("A", a), ("B", b)):
        if not isinstance(obj, (str, os.PathLike, xr.Dataset)):
            raise ValidationError(f"{name} must be a file path or a dataset; got {type(obj).__name__}")
    if reference_files is not None:
        if make_references is not None:
            raise ValidationError("give either reference_files or make_references, not both")
        if isinstance(reference_files, (str, os.PathLike)) or len(reference_files) != 2:
            raise ValidationError("reference_files must be two files: the reference extractions of A's and B's recipes")
    elif make_references is None:
        raise ValidationError("give two reference files (reference_files=) or a callable that makes them "
                              "(make_references=, e.g. extraction.reference.ReferenceExtractor('default'))")
    elif not callable(make_references):
        raise ValidationError(f"make_references must be callable; got {type(make_references).__name__}")
    runs = check_count("reference_runs", reference_runs, 1)
    if bootstrap is not None:
        bootstrap = check_choice("bootstrap scheme", bootstrap, SCHEMES)
    n_boot = check_count("n_boot", n_boot, 2)
    ci = ci_method_name(ci)
    if ci == "bca" and runs > 1:
        raise ValidationError("BCa intervals of several reference runs cannot be pooled: use --ci basic or percentile")
    confidence = check_confidence(confidence)
    width = check_max_width(max_interval_width)
    baseline = normalization_name(normalization) in BASELINE_NORMALIZATIONS
    return _Options(runs, bool(common_emotions), bootstrap, n_boot, ci, confidence, width, baseline)


def _audited_emotions(name_a: str, name_b: str, ds_a: xr.Dataset, ds_b: xr.Dataset,
                      common_emotions: bool) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    ea, eb = emotions_of(ds_a), emotions_of(ds_b)
    if set(ea) == set(eb):
        if len(ea) < MIN_AUDIT_EMOTIONS:
            raise LabelError(f"{name_a} and {name_b} hold {len(ea)} emotions; an audit needs at least "
                             f"{MIN_AUDIT_EMOTIONS} for its bootstrap intervals to mean what they say")
        return ea, {}
    if not common_emotions:
        n_common = len(set(ea) & set(eb))
        raise LabelError(f"{emotion_difference(ea, eb, name_a, name_b)}; pass --common-emotions to audit the {n_common} "
                         "emotions both hold", path=name_b)
    common = [e for e in ea if e in set(eb)]
    if len(common) < MIN_AUDIT_EMOTIONS:
        raise LabelError(f"{name_a} and {name_b} share only {len(common)} emotion(s) ({', '.join(common) or 'none'}); "
                         f"an audit needs at least {MIN_AUDIT_EMOTIONS}")
    left_out = {"a": tuple(e for e in ea if e not in set(common)), "b": tuple(e for e in eb if e not in set(common))}
    return common, left_out


def _open_audited(obj: Any, name: str, layer: Any) -> Source:
    """One audited file at its layer: its own (``FILE@LAYER``), else ``layer``, else its last; only
    that layer is read, so everything after works on the last (only) layer."""
    obj, own = split_file_layer(obj)
    chosen = layer_value(own if own is not None else layer)
    if chosen is None:
        return open_source(obj, name=name, layers=last_layer, what="an audit")
    where = name if isinstance(obj, xr.Dataset) else str(obj)
    source = open_source(obj, name=name, layers=lambda labels: select_layers(labels, chosen, None, where)[0],
                         what="an audit")
    if "layer" not in source.dataset.dims:
        check_one_layer(source.attrs, chosen, None, source.kind if source.kind != "vectors" else "vector", where)
    elif isinstance(obj, xr.Dataset):
        labels = select_layers(source.dataset["layer"].values, chosen, None, where)[0]
        source = replace(source, dataset=source.dataset.sel(layer=labels))
    return source


def _audited_pair(a: Any, b: Any, common_emotions: bool, layer: Any = None) -> _AuditedPair:
    """Open A and B, align them on the audited emotions, and refuse a file that records no recipe."""
    name_a = str(a) if not isinstance(a, xr.Dataset) else "A"
    name_b = str(b) if not isinstance(b, xr.Dataset) else "B"
    if name_a == name_b:
        name_a, name_b = f"{name_a} (A)", f"{name_b} (B)"
    source_a = _open_audited(a, name_a, layer)
    source_b = _open_audited(b, name_b, layer)
    emotions, left_out = _audited_emotions(name_a, name_b, source_a.dataset, source_b.dataset, common_emotions)
    # cut to the audited emotions; each says where it came from, so that an error in it names its file
    ds_a, ds_b = (select_emotions(labelled(s, n), emotions) for s, n in ((source_a, name_a), (source_b, name_b)))
    for name, ds in ((name_a, ds_a), (name_b, ds_b)):
        check_recipe_recorded(name, ds.attrs)
    return _AuditedPair(name_a, name_b, source_a.kind, source_b.kind, ds_a, ds_b, tuple(emotions), left_out)


def _references(pair: _AuditedPair, reference_files: Sequence[Any] | None, make_references: ReferenceMaker | None,
                opts: _Options, notes: list[str]) -> References:
    if reference_files is not None:
        return given_references(reference_files, pair.emotions, (pair.ds_a.attrs, pair.ds_b.attrs), notes)
    requests = [ReferenceRequest(side, dict(ds.attrs), pair.emotions,
                                 int(ds.sizes["prompt"]) if kind == "activations" else None, opts.baseline,
                                 int(ds.sizes["sample"]) if "baseline" in ds.data_vars and ds.sizes.get("sample") else None)
                for side, kind, ds in (("A", pair.kind_a, pair.ds_a), ("B", pair.kind_b, pair.ds_b))]
    return made_references(make_references, requests, opts.runs, notes)


def _reference_range(refs: References, scheme: str, opts: _Options, rdm: str, normalization: str,
                     seeds: Sequence[Any]) -> ReferenceRange:
    """The bootstrap of each reference pair, pooled into the range; a sampled recipe has several
    runs, a deterministic one a single file that pairs with each of them.  A degenerate reference
    (one extraction for both sides, or a rho no resample moves) is returned uninformative."""
    n_pairs = max(len(refs.datasets_a), len(refs.datasets_b))
    index = [(i % len(refs.datasets_a), i % len(refs.datasets_b)) for i in range(n_pairs)]
    files_a, files_b = tuple(refs.files_a[ia] for ia, _ in index), tuple(refs.files_b[ib] for _, ib in index)
    if set(files_a) == set(files_b):
        return _uninformative(f"A's and B's recipes came out as one and the same reference extraction "
                              f"({', '.join(sorted(set(files_a)))}): rho would be 1 by construction", scheme, opts,
                              refs)
    boot = tuple(_reference_boot(refs.datasets_a[ia], refs.datasets_b[ib], f"reference {fa} vs {fb}", scheme=scheme,
                                 n_boot=opts.n_boot, ci=opts.ci, confidence=opts.confidence, rdm=rdm,
                                 normalization=normalization, seed=seed)
                 for (ia, ib), fa, fb, seed in zip(index, files_a, files_b, seeds))
    # width 0, or no jackknife interval at all (every leave-one-out rho the same: 'No spread', docs/statistics.md)
    if all(r.ci_low == r.ci_high or (INTERVAL_METHODS[r.ci_method].uses == "jackknife" and r.ci_low != r.ci_low)
           for r in boot):
        return _uninformative(f"no resample moves the reference rho ({', '.join(f'{r.rho:.3f}' for r in boot)}): the "
                              "two reference extractions have one geometry, so they bound nothing", scheme, opts, refs)
    rho, low, high = reference_range(boot, ci=opts.ci, confidence=opts.confidence)
    return ReferenceRange(refs.model, files_a, files_b, rho, low, high, scheme, opts.ci, opts.confidence, boot,
                          refs.plans, refs.assumptions)


def _reference_boot(a: xr.Dataset, b: xr.Dataset, pair: str, **options: Any) -> BootstrapResult:
    """:func:`bootstrap_rho` of one reference pair; a warning it gives names the pair (the observed pair's
    warnings do not: they are the audit's own)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = bootstrap_rho(a, b, **options)
    for w in caught:  # shown, or filtered, as the caller's filters say, once back outside
        warnings.warn(f"{pair}: {w.message}", w.category, stacklevel=3)
    return result


def _uninformative(why: str, scheme: str, opts: _Options, refs: References | None = None) -> ReferenceRange:
    """A reference range that says nothing, and why (its numbers are NaN; no range is shown)."""
    nan = float("nan")
    if refs is None:
        return ReferenceRange("", (), (), nan, nan, nan, scheme, opts.ci, opts.confidence, (), note=why)
    return ReferenceRange(refs.model, refs.files_a, refs.files_b, nan, nan, nan, scheme, opts.ci, opts.confidence, (),
                          refs.plans, refs.assumptions, note=why)


def _same_recipe(layers: Sequence[LayerComparison]) -> str:
    """Why no reference is made when A and B record one recipe (every setting a reference reproduces is
    recorded on both sides and the same; an experiment label is not a setting), or ``""``."""
    unequal = [a for x in layers for a in (*x.differing, *x.unknown) if a != "experiment"]
    if unequal or not all(x.complete for x in layers):
        return ""
    return ("A and B record the same recipe (every setting of the four layers agrees), so a reference would compare "
            "one extraction with itself (rho 1 by construction) and was not made; whether the two share a geometry "
            "is then a plain comparison (`rsastats compare`, with the noise ceiling as its bound)")


def audit(a: str | os.PathLike | xr.Dataset, b: str | os.PathLike | xr.Dataset, *,
          reference_files: Sequence[str | os.PathLike | xr.Dataset] | None = None,
          make_references: ReferenceMaker | None = None, reference_runs: int = 1, common_emotions: bool = False,
          bootstrap: str | None = None, n_boot: int = DEFAULT_N_BOOT, ci: str = DEFAULT_CI, confidence: float = 0.95,
          rdm: str = "cosine", normalization: str = "raw", max_interval_width: float = MAX_INTERVAL_WIDTH,
          seed: SeedLike = 0, progress: Callable[[int], None] | None = None, layer: Any = None) -> AuditResult:
    """Audit two vector sets: separating layers, observed rho vs the reference range, verdict.

    Parameters
    ----------
    a, b : activations or vector-set files (or RDM files, whose attributes say nothing of method), or datasets.
    reference_files : two precomputed reference extractions (A's recipe, B's recipe) on one model.
    make_references : instead, a callable that makes them (:class:`rsastats.audit.ReferenceMaker`),
        e.g. ``extraction.reference.ReferenceExtractor("default")``; it is called once, after every
        check that needs no extraction.
    reference_runs : runs of each sampled (stochastic) recipe, asked of ``make_references``.
    common_emotions : audit the emotions both files hold when their sets differ (otherwise an error).
    bootstrap : ``emotions`` (default, as ``compare``), ``prompts`` or ``both`` (which need a bootstrap ``ci`` and are
        not calibrated: docs/calibration.md, 'The other bootstrap schemes'); the reference uses the same scheme
        (emotions if its files hold no prompts).
    n_boot, ci, confidence : bootstrap of the observed rho and of the reference pair(s).
    rdm, normalization : how vectors become RDMs (as in ``rsastats compare``).
    layer : the layer of A and B (a label, a negative position, or ``"last"``; default: each file's last);
        a path may carry its own as ``FILE@LAYER``.  A file that holds one layer takes only that layer.
        Reference files are used at their last layer (or their own ``FILE@LAYER``).
    max_interval_width : intervals wider than this make the verdict inconclusive.
    seed : seed of every resample (observed: child 0; reference run i: child i + 1).
    progress : ``advance(n)`` for the observed bootstrap.

    Returns
    -------
    AuditResult
    """
    started = time.perf_counter()
    opts = _audit_iv(a, b, reference_files, make_references, reference_runs, common_emotions, bootstrap, n_boot, ci,
                     confidence, normalization, max_interval_width)
    pair = _audited_pair(a, b, opts.common_emotions, layer)
    attributes, layers = compare_layers(pair.ds_a.attrs, pair.ds_b.attrs)
    notes: list[str] = []
    if pair.left_out:
        notes.append(f"audited on the {len(pair.emotions)} emotions both files hold (--common-emotions); left out: "
                     f"{', '.join(pair.left_out['a']) or 'none'} of {pair.name_a}, "
                     f"{', '.join(pair.left_out['b']) or 'none'} of {pair.name_b}")
    same_recipe = _same_recipe(layers)
    seeds = spawn_sequences(seed, 1 + opts.runs)
    observed = compare_models(pair.ds_a, pair.ds_b, bootstrap=opts.bootstrap, n_boot=opts.n_boot, ci=opts.ci,
                              confidence=opts.confidence, rdm=rdm, normalization=normalization, seed=seeds[0],
                              progress=progress)
    scheme = observed.bootstrap
    refs = None if same_recipe else _references(pair, reference_files, make_references, opts, notes)
    if refs is None:
        reference = _uninformative(same_recipe, scheme, opts)
    else:
        if scheme != "emotions" and not references_hold_prompts(refs):
            notes.append(f"the reference files hold no prompts: their interval resamples emotions only, the observed "
                         f"one {scheme}")
            scheme = "emotions"
        reference = _reference_range(refs, scheme, opts, rdm, normalization, seeds[1:])
    incomplete = [x.layer for x in layers if not x.complete]
    blocking = sorted({layer_of(x.attribute) for x in reference.assumptions if x.blocking} - set(incomplete))
    verdict = audit_verdict((observed.ci_low, observed.ci_high), (reference.ci_low, reference.ci_high),
                            incomplete_layers=incomplete + blocking, n_emotions=len(pair.emotions),
                            max_interval_width=opts.width, uninformative_reference=reference.note)
    notes.extend(_notes(observed, scheme, pair, refs, opts.runs))
    return AuditResult(pair.name_a, pair.name_b, str(pair.ds_a.attrs.get("model", "") or ""),
                       str(pair.ds_b.attrs.get("model", "") or ""), pair.emotions, bool(pair.left_out), pair.left_out,
                       attributes, layers, observed, reference, verdict, opts.width, seed_to_int(seed), tuple(notes),
                       time.perf_counter() - started)


def _weights(ds: xr.Dataset) -> tuple[str, str]:
    return str(ds.attrs.get("model", "") or ""), str(ds.attrs.get("model_revision", "") or "")


def _notes(observed: ComparisonResult, scheme: str, pair: _AuditedPair, refs: References | None,
           runs: int) -> list[str]:
    if refs is None:
        return []
    notes = [TRANSFER_CAVEAT]
    if scheme == "emotions":
        notes.append("the intervals resample emotions only (the default jackknife interval, a vector set without prompts, "
                     "or --bootstrap emotions), so "
                     "neither rho is corrected for the attenuation prompt noise causes; if the audited studies averaged "
                     "fewer or noisier prompts than the reference, the observed rho is attenuated more and the verdict "
                     "leans toward 'different'")
    prompts = {n: int(ds.sizes["prompt"]) for n, ds in (("A", pair.ds_a), ("B", pair.ds_b)) if "prompt" in ds.dims}
    ref_prompts = sorted({int(r.sizes["prompt"]) for r in refs.datasets_a if "prompt" in r.dims})
    if prompts and ref_prompts and scheme != "emotions" and set(prompts.values()) != set(ref_prompts):
        notes.append(f"the reference read {'/'.join(map(str, ref_prompts))} prompt(s) per emotion, "
                     f"{', '.join(f'{k} {v}' for k, v in prompts.items())}: the two-factor basic interval targets the "
                     "noise-free rho (docs/calibration.md), which is how different prompt counts are allowed for")
    if refs.made and runs > 1 and len(refs.files_a) == len(refs.files_b) == 1:
        notes.append("neither recipe samples text, so one reference run was made (--reference-runs applies to sampled "
                     "generation)")
    # The same weights: the same model name and, where both record one, the same revision.
    shared = sorted({ma for ma, ra in map(_weights, (pair.ds_a, pair.ds_b)) for mr, rr in map(_weights, refs.datasets_a)
                     if ma and ma == mr and (not ra or not rr or ra == rr)})
    if shared:
        notes.append(f"the reference model ({', '.join(shared)}) is also an audited model: the "
                     "reference then re-runs that model's own recipes, a check of the method rather than independent "
                     "evidence")
    return notes
