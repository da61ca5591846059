"""Run any extraction method: the two that write what the model read (:func:`extraction.run.extract`)
and the stage methods made from a reading (``mean-diff``, ``pca-diff``, ``baseline-diff``,
``neutral-pc``).

A stage method runs in two steps: a comprehension reading of the stimuli and their baseline, written
to ``<out>.reading.nc`` by :func:`extraction.run.extract` (resumable like any extraction), then the
vector stage of :mod:`extraction.vector_stages` on it, written atomically to ``out``; the reading is
then removed.  ``pca-diff`` writes a vector set ``vectors(emotion, layer, hidden)`` (one unit
direction per emotion and layer, as repeng publishes it); the other three write activations whose
prompt rows are the transformed rows (so the prompt bootstrap applies) and hold no baseline (it was
used up).  The file records the method, how its rows or vectors were made (``vector_stage``) and the
reading's settings.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from rsastats.exceptions import ValidationError
from rsastats.io import NETCDF_LOCK, make_activations, make_vectors, open_netcdf, output_lock, write_dataset

from .config import PAIRED_METHODS, READ_METHODS, ExtractionConfig, _config_iv
from .models import LoadedModel
from .parts import check_output
from .run import ExtractionResult, build_stimuli, extract
from .stimuli import CONTRAST_WORD
from .vector_stages import (NEUTRAL_PCS, baseline_subtracted, neutral_pc_projected, paired_differences,
                            pca_difference_vectors)

__all__ = ["VECTOR_STAGES", "run_extraction", "reading_path"]

VECTOR_STAGES = {
    "mean-diff": "prompt rows are the paired differences (positive minus its contrast text, which replaces the "
                 f"emotion word by {CONTRAST_WORD!r}); the emotion vector, their mean, is the mean difference",
    "pca-diff": "one unit vector per emotion and layer: the first principal component of the centred paired "
                "differences (positive minus its contrast text), signed so that more positives than negatives "
                "project above their partner (repeng's pca_diff)",
    "baseline-diff": "prompt rows minus the mean of the baseline (emotion-free) texts read with the same pooling",
    "neutral-pc": f"prompt rows with the top {NEUTRAL_PCS} principal components of the centred baseline (emotion-free "
                  "texts read with the same pooling) projected out; the mean is kept",
}


def reading_path(out: str | os.PathLike) -> Path:
    """Where the comprehension reading of a stage method is kept until the stage is done."""
    return Path(f"{out}.reading.nc")


def run_extraction(config: ExtractionConfig, out: str | os.PathLike, *, overwrite: bool = False,
                   restart: bool = False, progress: Any = None, loaded: LoadedModel | None = None) -> ExtractionResult:
    """Run ``config`` (any method of :data:`extraction.config.METHODS`) and write ``out``.

    ``comprehension`` and ``generation`` go to :func:`extraction.run.extract` unchanged; a stage
    method reads the stimuli first, then applies its stage (module docstring).  Arguments and
    errors are those of :func:`extraction.run.extract`.
    """
    config = _config_iv(config)
    if config.method in READ_METHODS:
        return extract(config, out, overwrite=overwrite, restart=restart, progress=progress, loaded=loaded)
    with output_lock(out):  # one writer per output, from the first check to the final rename
        return _run_stage(config, Path(out), overwrite, restart, progress, loaded)


def _run_stage(config: ExtractionConfig, out: Path, overwrite: bool, restart: bool, progress: Any,
               loaded: LoadedModel | None) -> ExtractionResult:
    """Read the stimuli and their baseline, apply the stage, write ``out`` (the lock is held)."""
    check_output(out, overwrite)
    stim = build_stimuli(config)
    if config.method in PAIRED_METHODS and not stim.paired:
        raise ValidationError(f"method {config.method} needs contrast pairs (--stimuli contrast)")
    if not stim.baseline:
        raise ValidationError(f"method {config.method} needs baseline texts; the stimuli have none")
    if config.method == "neutral-pc" and len(stim.baseline) <= NEUTRAL_PCS:
        raise ValidationError(f"neutral-pc removes {NEUTRAL_PCS} principal components of the baseline; "
                              f"{len(stim.baseline)} baseline text(s) give at most {len(stim.baseline) - 1}: "
                              f"read at least {NEUTRAL_PCS + 1} (--baseline-limit)")
    reading = reading_path(out)
    if reading.exists():
        reading.unlink()  # a finished reading whose stage did not finish: read again rather than trust it
    result = extract(replace(config, method="comprehension"), reading, restart=restart, progress=progress,
                     loaded=loaded)
    with NETCDF_LOCK, open_netcdf(reading) as handle:
        ds = handle.load()
    write_dataset(_stage_dataset(config, ds), out)
    ds.close()
    reading.unlink()
    return replace(result, out=str(out), method=config.method)


def _stage_dataset(config: ExtractionConfig, ds: xr.Dataset) -> xr.Dataset:
    """The recipe's file from the reading ``ds``."""
    rows = ds["activations"].values
    valid = ds["valid"].values.astype(bool) if "valid" in ds.data_vars else np.ones(rows.shape[:2], dtype=bool)
    baseline = ds["baseline"].values
    attrs = {k: v for k, v in ds.attrs.items() if k != "schema"}
    attrs.update(method=config.method, vector_stage=VECTOR_STAGES[config.method], baseline_pooling="",
                 n_pcs=NEUTRAL_PCS if config.method == "neutral-pc" else "",
                 contrast_texts=" | ".join(str(t) for t in ds["baseline_text"].values)
                 if config.method in PAIRED_METHODS and "baseline_text" in ds.coords else "")
    emotions = [str(e) for e in ds["emotion"].values]
    layers = [int(x) for x in ds["layer"].values]
    if config.method == "pca-diff":
        return make_vectors(pca_difference_vectors(rows, valid, baseline, emotions, layers), emotions, layers=layers,
                            attrs=attrs)
    if config.method == "mean-diff":
        values = paired_differences(rows, valid, baseline)
    elif config.method == "baseline-diff":
        values = baseline_subtracted(rows, valid, baseline)
    else:
        values = neutral_pc_projected(rows, valid, baseline)
    out = make_activations(values, emotions, prompts=[int(p) for p in ds["prompt"].values], layers=layers,
                           text=ds["text"].values, valid=valid.astype(np.int8), attrs=attrs)
    # Where each prompt was pooled (pool_start, pool_stop, n_tokens) stays with its row.
    return out.assign({name: ds[name] for name in ds.data_vars
                       if ds[name].dims == ("emotion", "prompt") and name not in out.data_vars})
