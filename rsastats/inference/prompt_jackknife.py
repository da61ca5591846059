"""Leave-one-prompt-out values of rho, for the pairs whose jackknife over emotions sees no variation.

Two RDMs of the same rank order on every subset of emotions (one model read at two precisions, a base and an instruct
model that differ in a handful of distances) give rho = 1 and every leave-one-emotion-out rho = 1, although a new
sample of emotions or prompts would sometimes break a tie: the truth, rho's mean over such samples, lies just below 1,
and an interval of width 0 misses it every time.  Where both inputs hold prompts, leaving out one prompt of one emotion
at a time still moves rho; those values, one stratum per emotion of each input (or of a pair of inputs that read the
same prompts), give :func:`rsastats.intervals.jackknife.jackknife_interval` its standard error there
(docs/statistics.md, 'No spread').  They are computed only for such pairs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..inputs import ModelInput
from ..intervals.jackknife import no_spread
from .engine import ResamplingEngine

__all__ = ["prompt_strata"]


def prompt_strata(models: Sequence[ModelInput], pairs: np.ndarray, jack: Sequence[np.ndarray] | None, *, rank: str,
                  rdm_method: str) -> list[list[np.ndarray] | None]:
    """For pair ``k`` of ``pairs`` (i, j) whose leave-one-emotion-out values ``jack[0][:, k]`` are all the same
    (:func:`~rsastats.intervals.jackknife.no_spread`) and whose inputs both hold prompts: rho's leave-one-prompt-out
    values, one array per stratum; None for every other pair (and for all of them without ``jack``)."""
    out: list[list[np.ndarray] | None] = [None] * len(pairs)
    if jack is None:
        return out
    for k, (i, j) in enumerate(np.asarray(pairs)):
        a, b = models[i], models[j]
        if not (no_spread(jack[0][:, k]) and a.has_prompts and b.has_prompts and rdm_method != "crossval-euclidean"):
            continue
        engine = ResamplingEngine([a, b], rank=rank, scheme="prompts", rdm_method=rdm_method)
        out[k] = [s[:, 0] for s in engine.jackknife(np.array([[0, 1]]))]
    return out
