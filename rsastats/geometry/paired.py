"""Base x instruct at one layer (:func:`compare_geometry`): the RDM Spearman rho with its CI and the
change of every descriptor with a CI, paired over the same texts when both files hold the same stimuli."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from ..rng import SeedLike, seed_to_int
from ..exceptions import ValidationError
from ..inference.bootstrap import bootstrap_rho
from ..inputs import check_same_emotions, open_source
from ..intervals import Expansion, small_sample_expansion
from . import descriptors
from .descriptors import Descriptor, evaluate_descriptors, group_descriptors
from .intervals import DEFAULT_CI_METHOD, NoiseSupport, descriptor_interval, noise_free_support
from .layers import LayerData, LayerRows, layer_data, resolve_layers
from .resampling import Replicates, ResamplingSettings, group_replicates, resampling_settings, resampling_streams
from .results import DescriptorChange, GeometryComparison

__all__ = ["Pairing", "pairing", "compare_geometry"]


@dataclass(frozen=True)
class Pairing:
    """Which texts two files share: ``keep`` (per emotion, the prompt labels valid in both; ``None``
    when prompts are not paired), whether baseline texts are paired, and a note saying so."""

    keep: dict[str, list[int]] | None
    paired_baseline: bool
    note: str

    @property
    def paired_prompts(self) -> bool:
        return self.keep is not None


def _attr(ds: xr.Dataset, key: str) -> str:
    return str(ds.attrs.get(key, ""))


def _prompt_pairing(base: xr.Dataset, instruct: xr.Dataset, same_set: bool,
                    notes: list[str]) -> dict[str, list[int]] | None:
    prompts_b = [int(p) for p in base["prompt"].values]
    if prompts_b != [int(p) for p in instruct["prompt"].values]:
        notes.append("prompts not paired: different prompt labels")
        return None
    same_text = "text" in base.coords and "text" in instruct.coords and np.array_equal(
        base["text"].values.astype(str), instruct["text"].sel(emotion=base["emotion"].values).values.astype(str))
    if not (same_text or same_set):
        notes.append("prompts not paired: texts and stimulus_set differ")
        return None
    vb = base["valid"].values.astype(bool) if "valid" in base.data_vars else np.ones((base.sizes["emotion"], len(prompts_b)), bool)
    vi = (instruct["valid"].sel(emotion=base["emotion"].values).values.astype(bool)
          if "valid" in instruct.data_vars else np.ones_like(vb))
    both = vb & vi
    empty = [str(e) for e, row in zip(base["emotion"].values, both) if not row.any()]
    if empty:
        notes.append(f"prompts not paired: no prompt valid in both files for {', '.join(empty)}")
        return None
    keep = {str(e): [prompts_b[p] for p in np.flatnonzero(row)] for e, row in zip(base["emotion"].values, both)}
    dropped = int((vb | vi).sum() - both.sum())
    notes.append("prompts paired (same texts)" if same_text else "prompts paired (same stimulus_set)")
    if dropped:
        notes.append(f"{dropped} prompt(s) valid in only one file left out of the paired analysis")
    return keep


def pairing(base: xr.Dataset, instruct: xr.Dataset) -> Pairing:
    """Whether the two files hold the same prompts (and baseline texts): then resample them together.

    Prompts are paired when the prompt labels agree and the texts (or a non-empty ``stimulus_set``)
    are the same; baseline texts likewise when both files have the same number of them.
    """
    same_set = _attr(base, "stimulus_set") != "" and _attr(base, "stimulus_set") == _attr(instruct, "stimulus_set")
    notes: list[str] = []
    keep = _prompt_pairing(base, instruct, same_set, notes)
    paired_baseline = False
    if "baseline" in base.data_vars and "baseline" in instruct.data_vars and base.sizes["sample"] == instruct.sizes["sample"]:
        same_text = ("baseline_text" in base.coords and "baseline_text" in instruct.coords
                     and np.array_equal(base["baseline_text"].values.astype(str), instruct["baseline_text"].values.astype(str)))
        paired_baseline = same_text or same_set
    notes.append("baseline texts paired" if paired_baseline else "baseline texts not paired")
    return Pairing(keep, paired_baseline, "; ".join(notes))


def _compare_iv(base: Any, instruct: Any, layer: Any, n_boot: Any, confidence: Any, ci_method: Any):
    sources = [open_source(obj, kinds=("activations", "vectors"), what="geometry") for obj in (base, instruct)]
    for source in sources:
        if source.kind != "activations":
            raise ValidationError("a base x instruct comparison needs activations files (prompts to resample)",
                                  path=source.where)
    (ds_b, src_b), (ds_i, src_i) = ((s.dataset, s.where) for s in sources)
    if _attr(ds_b, "variant") == "instruct":
        raise ValidationError("is an instruct model (variant=instruct) but was given as the base model", path=src_b)
    if _attr(ds_i, "variant") == "base":
        raise ValidationError("is a base model (variant=base) but was given as the instruct model", path=src_i)
    check_same_emotions(sources)
    emotions_b = list(sources[0].emotions)
    if len(emotions_b) < 4:
        raise ValidationError(f"comparing RDMs needs at least 4 emotions; the files have {len(emotions_b)}", path=src_b)
    ds_i = ds_i.sel(emotion=emotions_b)  # align by label
    layer_b = resolve_layers(ds_b, layer, src_b)
    layer_i = resolve_layers(ds_i, layer, src_i)
    if len(layer_b) != 1 or len(layer_i) != 1:
        raise ValidationError(f"compare one layer at a time, got {layer!r}")
    # a change keeps one method for every descriptor: the default (None) is basic, without a descriptor's own
    settings = resampling_settings(n_boot, confidence, DEFAULT_CI_METHOD if ci_method is None else ci_method,
                                   len(emotions_b))
    return ds_b, src_b, ds_i, src_i, layer_b[0], layer_i[0], settings


def compare_geometry(
    base: xr.Dataset | str | os.PathLike,
    instruct: xr.Dataset | str | os.PathLike,
    *,
    layer: Any = "last",
    n_boot: int = 1000,
    confidence: float = 0.95,
    ci_method: str | None = DEFAULT_CI_METHOD,
    seed: SeedLike = 0,
) -> GeometryComparison:
    """Base x instruct at one layer: RDM Spearman rho with a CI and the change of every descriptor.

    When the two files hold the same prompts (same prompt labels and texts, or the same
    non-empty ``stimulus_set``) every resample draws the same prompts in both files, so each CI
    is for a paired difference; prompts valid in only one file are then left out (and counted
    in ``pairing_note``).  Otherwise the files are resampled independently.  Baseline texts are
    paired likewise.  Emotions are aligned by label; the sets must match.

    Parameters are as in :func:`rsastats.geometry.geometry`; ``layer`` is one layer label, a negative
    position, or ``"last"`` (each file's last layer).  Changes are ``instruct - base``; every change takes the one
    method asked for (None: ``basic``; a descriptor's own method is for its estimate, where it was measured).
    """
    ds_b, src_b, ds_i, src_i, layer_b, layer_i, settings = _compare_iv(base, instruct, layer, n_boot, confidence,
                                                                       ci_method)
    pair = pairing(ds_b, ds_i)
    data_b = layer_data(ds_b, "activations", layer_b, src_b, pair.keep)
    data_i = layer_data(ds_i, "activations", layer_i, src_i, pair.keep)
    streams_b = resampling_streams(seed)
    streams_i = resampling_streams(streams_b["partner"])
    changes: dict[str, DescriptorChange] = {}
    for group, paired in (("emotion", pair.paired_prompts), ("baseline", pair.paired_baseline)):
        stream = "prompts" if group == "emotion" else "baseline"
        # paired: the instruct file draws the same resamples as the base file
        changes.update(_group_changes(group, data_b, data_i, streams_b[stream],
                                      streams_b[stream] if paired else streams_i[stream], paired, settings))
    rho, rho_low, rho_high, rho_used = _rdm_rho(ds_b, ds_i, layer_b, layer_i, pair.keep, streams_b["rho"], settings)
    return GeometryComparison(
        base_source=src_b, instruct_source=src_i, base_model=_attr(ds_b, "model"), instruct_model=_attr(ds_i, "model"),
        base_layer=layer_b, instruct_layer=layer_i, rho=rho, rho_ci_low=rho_low, rho_ci_high=rho_high,
        rho_n_boot=rho_used, rdm="cosine", rank="spearman", paired_prompts=pair.paired_prompts,
        paired_baseline=pair.paired_baseline, pairing_note=pair.note, n_emotions=len(data_b.emotions),
        n_boot=settings.n_boot, confidence=settings.confidence, ci_method=settings.ci_method, seed=seed_to_int(seed),
        changes=tuple(changes[d.name] for d in descriptors.DESCRIPTORS))


def _rows_of(data: LayerData, group: str) -> LayerRows | None:
    return data.prompts if group == "emotion" else data.baseline


def _group_changes(group: str, data_b: LayerData, data_i: LayerData, stream_b: np.random.SeedSequence,
                   stream_i: np.random.SeedSequence, paired: bool,
                   settings: ResamplingSettings) -> dict[str, DescriptorChange]:
    """Instruct minus base for every descriptor of ``group``, with the interval of the difference."""
    entries = group_descriptors(group)
    rows_b, rows_i = _rows_of(data_b, group), _rows_of(data_i, group)
    if rows_b is None or rows_i is None:
        why = data_b.baseline_note if rows_b is None else data_i.baseline_note
        return {d.name: DescriptorChange(d.name, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 0, "missing", why)
                for d in entries}
    reps_b = _replicates(entries, rows_b, stream_b, settings)
    reps_i = _replicates(entries, rows_i, stream_i, settings)
    unsupported = NoiseSupport()
    if any(d.noise_free for d in entries):  # the change of a noise-free descriptor needs both files reliable
        unsupported = noise_free_support(rows_b) | noise_free_support(rows_i)
    expansions = (small_sample_expansion(rows_b.group_sizes), small_sample_expansion(rows_i.group_sizes))
    return {d.name: _change(d, reps_b, reps_i, paired, settings, unsupported, expansions) for d in entries}


def _replicates(entries: Sequence[Descriptor], rows: LayerRows, stream: np.random.SeedSequence,
                settings: ResamplingSettings) -> Replicates:
    return group_replicates(lambda w: evaluate_descriptors(entries, rows, w), rows.group_sizes, stream, settings)


def _change(d: Descriptor, reps_b: Replicates, reps_i: Replicates, paired: bool, settings: ResamplingSettings,
            unsupported: NoiseSupport = NoiseSupport(),
            expansions: tuple[Expansion | None, Expansion | None] = (None, None)) -> DescriptorChange:
    """Instruct minus base of ``d``.  Each file's replicates are widened about its own estimate by its small-sample
    expansion (``expansions``: base, instruct), and the level of the difference takes the smaller of their degrees of
    freedom."""
    point_b, point_i = reps_b.point[d.name], reps_i.point[d.name]
    with np.errstate(invalid="ignore"):  # an undefined (infinite) value or replicate gives NaN: left out, counted
        diff = point_i - point_b
        scaled = [p + (1.0 if e is None else e.scale) * (r.resamples[d.name] - p)
                  for p, r, e in ((point_b, reps_b, expansions[0]), (point_i, reps_i, expansions[1]))]
        changes = scaled[1] - scaled[0]
    dfs = [e.df for e in expansions if e is not None]
    expansion = Expansion(1.0, min(dfs)) if dfs else None
    jack = None
    if reps_b.jackknife is not None:
        jack_b, jack_i = reps_b.jackknife[d.name], reps_i.jackknife[d.name]
        # paired: leave the same text out of both files; unpaired: the strata of both files
        with np.errstate(invalid="ignore"):
            jack = ([ji - jb for ji, jb in zip(jack_i, jack_b)] if paired else
                    [point_i - jb for jb in jack_b] + [ji - point_b for ji in jack_i])
    width = d.high - d.low
    interval = descriptor_interval(d, diff, changes, jack, settings, (-width, width), unsupported, expansion)
    return DescriptorChange(d.name, point_b, point_i, interval.estimate, diff, interval.low, interval.high,
                            interval.n_used, interval.status, interval.note)


def _rdm_rho(ds_b: xr.Dataset, ds_i: xr.Dataset, layer_b: int, layer_i: int, keep: Mapping[str, Sequence[int]] | None,
             stream: np.random.SeedSequence, settings: ResamplingSettings) -> tuple[float, float, float, int]:
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
    return result.rho, result.ci_low, result.ci_high, result.n_boot - result.n_undefined
