"""Leave-one-prompt-out values of rho, for the pairs whose jackknife over emotions sees no variation.

Two RDMs of the same rank order on every subset of emotions (one model read at two precisions, a base and an instruct
model that differ in a handful of distances, a hypothesis RDM taken from another run of the model) give rho = 1 and
every leave-one-emotion-out rho = 1, although a new sample of emotions or prompts would sometimes break a tie: the
truth, rho's mean over such samples, lies just below 1, and an interval of width 0 misses it every time.  Where an
input holds prompts, leaving out one prompt of one emotion at a time still moves rho; those values, one stratum per
emotion of each input (or of a pair of inputs that read the same prompts, left out of both at once), give
:func:`rsastats.intervals.jackknife.jackknife_interval` its standard error there (docs/statistics.md, 'No spread').
An input without prompts (vectors, an RDM, a hypothesis) is held fixed.  They are computed only for such pairs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..inputs import ModelInput
from ..intervals import INTERVAL_METHODS
from ..intervals.jackknife import no_spread
from ..measures import correlate_rows
from .engine import ResamplingEngine

__all__ = ["prompt_strata"]


def _against_fixed(model: ModelInput, fixed: np.ndarray, rank: str, rdm_method: str) -> list[np.ndarray]:
    """rho of ``model`` with one prompt left out at a time against the fixed upper triangle ``fixed``, one array per
    emotion with at least 2 valid prompts."""
    engine = ResamplingEngine([model], rank=rank, scheme="prompts", rdm_method=rdm_method)
    base = engine.full_prompt_counts()[0]
    strata = []
    for e, slots in enumerate(engine.groups[0].slots):
        if len(slots) < 2:
            continue  # a single prompt cannot be left out
        counts = np.repeat(base, len(slots), axis=0)
        counts[np.arange(len(slots)), e, slots] = 0.0
        uppers = engine.rdm_uppers([counts])[0]
        strata.append(correlate_rows(uppers, np.broadcast_to(fixed, uppers.shape), rank))
    return strata


def prompt_strata(models: Sequence[ModelInput], pairs: np.ndarray, jack: Sequence[np.ndarray] | None, *, ci: str,
                  rank: str, rdm_method: str) -> list[list[np.ndarray] | None]:
    """For pair ``k`` of ``pairs`` (i, j) whose leave-one-emotion-out values ``jack[0][:, k]`` are all the same
    (:func:`~rsastats.intervals.jackknife.no_spread`) and of which at least one input holds prompts: rho's
    leave-one-prompt-out values, one array per stratum (both inputs with prompts: the resampling engine's prompt
    jackknife; one: that input's prompts against the other's fixed RDM); None for every other pair (and for all of
    them without ``jack``, for an interval ``ci`` that is not a jackknife interval, or with the cross-validated RDM,
    whose prompts are its folds)."""
    out: list[list[np.ndarray] | None] = [None] * len(pairs)
    if jack is None or INTERVAL_METHODS[ci].uses != "jackknife" or rdm_method == "crossval-euclidean":
        return out
    for k, (i, j) in enumerate(np.asarray(pairs)):
        a, b = models[i], models[j]
        if not no_spread(jack[0][:, k]) or not (a.has_prompts or b.has_prompts):
            continue
        if a.has_prompts and b.has_prompts:
            engine = ResamplingEngine([a, b], rank=rank, scheme="prompts", rdm_method=rdm_method)
            out[k] = [s[:, 0] for s in engine.jackknife(np.array([[0, 1]]))]
        else:
            held, fixed = (a, b) if a.has_prompts else (b, a)
            out[k] = _against_fixed(held, fixed.rdm.upper(), rank, rdm_method)
    return out
