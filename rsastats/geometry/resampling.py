"""How the geometry bootstrap resamples: settings, seed streams, and the replicates of a group of rows.

Every resampling plan has its own child stream of the seed (:func:`resampling_streams`), the same for
every layer and every file, so a result depends only on the seed, not on which layers or other files
are analysed.  Replicates are evaluated block by block (:func:`evaluate_blocks`): the first k
resamples are bit-identical whatever ``n_boot`` is, and memory is bounded by the block size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from ..rng import SeedLike, spawn_sequences
from ..checks import check_confidence, check_count
from ..intervals import BOOTSTRAP_CI_METHODS, ci_method_name
from ..limits import check_count_fits
from . import kernels
from .descriptors import DESCRIPTORS

__all__ = ["DEFAULT_CI_METHOD", "ResamplingSettings", "resampling_settings", "replicate_bytes", "STREAMS",
           "resampling_streams", "evaluate_blocks", "Replicates", "group_replicates"]

Evaluate = Callable[[np.ndarray], Mapping[str, np.ndarray]]
# One child stream per resampling plan, in this order (part of the seed -> result map).
STREAMS = ("baseline", "prompts", "reliability", "partner", "rho")
# Chosen from the coverage simulation in analyses/geometry_coverage.py (docs/geometry.md); a descriptor may name its
# own (``Descriptor.ci_method``), taken where the default is asked for.
DEFAULT_CI_METHOD = "basic"


@dataclass(frozen=True)
class ResamplingSettings:
    """Resamples, interval level and interval method, validated."""

    n_boot: int
    confidence: float
    ci_method: str
    own_methods: bool = False  # the default was asked for: descriptors that name their own method take it


def resampling_settings(n_boot: Any, confidence: Any, ci_method: Any, n_emotions: int = 0) -> ResamplingSettings:
    """Checked settings: ``n_boot`` an integer >= 2 whose replicates fit the memory limit
    (:func:`replicate_bytes` for ``n_emotions``), ``confidence`` in (0, 1), ``ci_method`` a name
    of :data:`rsastats.intervals.CI_METHODS`, or None for the default (``basic``, with a descriptor's own method
    where it names one: ``Descriptor.ci_method``)."""
    n_boot = check_count_fits("--n-boot", check_count("n_boot", n_boot, 2), replicate_bytes(n_emotions))
    if ci_method is None:
        return ResamplingSettings(n_boot, check_confidence(confidence), DEFAULT_CI_METHOD, own_methods=True)
    return ResamplingSettings(n_boot, check_confidence(confidence), ci_method_name(ci_method, BOOTSTRAP_CI_METHODS))


def replicate_bytes(n_emotions: int) -> int:
    """Bytes one bootstrap replicate keeps until its intervals are computed: each descriptor's value
    with two working copies (the interval sorts and clips a copy), and, for the RDM rho of a base x
    instruct pair (:func:`rsastats.inference.bootstrap_rho`), the emotion counts, the weight of every
    RDM cell and a few copies of rho, as :func:`rsastats.inference.settings.check_resample_memory`
    counts them.  Blocks of resamples (:data:`kernels.DRAW_BLOCK`) are freed as they are evaluated."""
    cells = n_emotions * (n_emotions - 1) // 2
    return 8 * (3 * len(DESCRIPTORS) + n_emotions + cells + 3)


def resampling_streams(seed: SeedLike) -> dict[str, np.random.SeedSequence]:
    """One child stream per resampling plan (:data:`STREAMS`), the same for every layer and every file."""
    return dict(zip(STREAMS, spawn_sequences(seed, len(STREAMS))))


def evaluate_blocks(evaluate: Evaluate, blocks: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
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
class Replicates:
    """Point estimates, bootstrap replicates and (for BCa) jackknife values of several statistics.

    ``jackknife[name]`` is a list of arrays, one per independently resampled group (stratum) with
    more than one row, as :func:`rsastats.intervals.acceleration` expects; ``None`` unless BCa.
    """

    point: dict[str, float]
    resamples: dict[str, np.ndarray]
    jackknife: dict[str, list[np.ndarray]] | None


def group_replicates(evaluate: Evaluate, sizes: Sequence[int], stream: np.random.SeedSequence,
                     settings: ResamplingSettings) -> Replicates:
    """Replicates of ``evaluate`` when rows are resampled within groups of ``sizes`` (laid out group
    after group); jackknife values (leave one row out) only for a BCa interval."""
    n_rows = sum(sizes)
    point = {k: float(v[0]) for k, v in evaluate(np.ones((1, n_rows))).items()}
    reps = evaluate_blocks(evaluate, kernels.resampling_weights(stream, settings.n_boot, sizes))
    jack = None
    if settings.ci_method == "bca":
        weights = kernels.jackknife_weights(sizes)
        if not len(weights):  # every group holds one row: nothing can be left out
            return Replicates(point, reps, {name: [] for name in point})
        step = kernels.DRAW_BLOCK
        values = evaluate_blocks(evaluate, [weights[i : i + step] for i in range(0, len(weights), step)])
        bounds = np.cumsum([0] + [size for size in sizes if size > 1])
        jack = {name: [v[bounds[i] : bounds[i + 1]] for i in range(len(bounds) - 1)] for name, v in values.items()}
    return Replicates(point, reps, jack)
