"""The one table of geometry descriptors (:data:`DESCRIPTORS`): the only place a descriptor is declared.

Each :class:`Descriptor` gives its name (the JSON key), its group, a label for tables, the range
it cannot leave, what it means, why no valid bootstrap interval exists for it (if so), whether it needs
per-prompt rows, and the row kernel that computes it.  A row kernel is a function
``(rows, weights) -> array`` (or a dict of arrays, of which ``output`` names one) of a layer's
rows (:class:`rsastats.geometry.layers.LayerRows`) and a batch of resampling weights; its maths
lives in :mod:`rsastats.geometry.kernels`.  Several descriptors may share one kernel (the norm
statistics, the spectrum, the emotion-vector Gram matrix): :func:`evaluate_descriptors` runs each
kernel once per batch.

Groups say what the bootstrap resamples:

``baseline``  emotion-free baseline texts (``baseline(sample, layer, hidden)``);
``emotion``   prompts within each emotion (the emotion vectors are recomputed).  Descriptors with
              ``per_prompt=True`` describe the prompt activations themselves and are missing for a
              vector-set file; the others are computed from a vector set too (without an interval).

To add a descriptor: its maths in ``kernels.py`` (unless an existing kernel already gives it), a
one-line row kernel below if the kernel is new, and one entry in :data:`DESCRIPTORS`.  Everything
else (``geometry``, ``compare_geometry``, the JSON, the tables of the command line) follows the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from ..exceptions import ValidationError
from . import kernels

__all__ = ["Descriptor", "DESCRIPTORS", "GROUPS", "descriptor", "group_descriptors", "evaluate_descriptors"]

GROUPS = ("baseline", "emotion")
RowKernel = Callable[[Any, np.ndarray], Any]


@dataclass(frozen=True)
class Descriptor:
    """One geometry descriptor: its name, which rows it is computed from, its range, its meaning,
    and the row kernel that computes it."""

    name: str
    group: str  # "baseline" (resample baseline texts) or "emotion" (resample prompts within emotion)
    label: str
    low: float
    high: float
    meaning: str
    no_ci: str = ""  # why no valid interval exists for it (a sample maximum, a biased plug-in); "" when one does
    per_prompt: bool = False  # True: describes prompt activations (missing for a vector-set file)
    kernel: RowKernel = field(default=None, repr=False, compare=False)
    output: str | None = None  # the key of the kernel's dict that is this descriptor (None: an array)
    noise_free: bool = False  # True: the estimand is the value of noise-free emotion vectors (unlimited prompts)
    centred: bool = False  # True: of the emotion vectors centred on their mean (their noise is measured against that)
    undercovers: bool = False  # True: its default interval covered below nominal on planted designs (a note says so)
    # the interval it takes where the default (basic) is asked for, measured to cover better on planted designs
    # (docs/geometry.md, 'Per-descriptor intervals'); "" for the default
    ci_method: str = ""

    @property
    def bounds(self) -> tuple[float, float]:
        return (self.low, self.high)

    @property
    def has_ci(self) -> bool:
        return not self.no_ci


# --------------------------------------------------------------------------- row kernels
def _pairwise_cosine(rows: Any, weights: np.ndarray) -> np.ndarray:
    return kernels.mean_pairwise_cosine(weights, rows.unit, rows.groups)


def _top_dimension(rows: Any, weights: np.ndarray) -> np.ndarray:
    return kernels.top_dimension_contribution(weights, rows.unit)


def _unbiased_participation(rows: Any, weights: np.ndarray) -> np.ndarray:
    return kernels.unbiased_participation_ratio(weights, rows.centred_gram)


def _spectrum(rows: Any, weights: np.ndarray) -> dict[str, np.ndarray]:
    return kernels.spectrum_statistics(weights, rows.centred_gram)


def _norms(rows: Any, weights: np.ndarray) -> dict[str, np.ndarray]:
    return kernels.norm_statistics(weights, rows.norms)


def _emotion_vectors(rows: Any, weights: np.ndarray) -> dict[str, np.ndarray]:
    return kernels.emotion_statistics(kernels.group_gram(weights, rows.gram, rows.groups))


# --------------------------------------------------------------------------- the table
_INF = math.inf
_MAXIMUM = "no CI: the bootstrap is inconsistent for a sample maximum (Bickel & Freedman 1981)"
_PLUGIN_PR = ("no CI: the plug-in participation ratio cannot exceed n - 1 and is biased low for the population "
              "value, which no interval around it covers (docs/geometry.md); baseline_participation_ratio has one")
DESCRIPTORS: tuple[Descriptor, ...] = (
    Descriptor("baseline_anisotropy", "baseline", "anisotropy (baseline)", -1, 1,
               "mean cosine over pairs of distinct baseline texts", kernel=_pairwise_cosine),
    Descriptor("baseline_top_dim_contribution", "baseline", "top-dimension share of it", -1, 1,
               "largest contribution of one hidden dimension to baseline_anisotropy", kernel=_top_dimension),
    Descriptor("baseline_participation_ratio", "baseline", "participation ratio (baseline)", 1, _INF,
               "(tr S)^2 / tr(S^2) of the population covariance S, from unbiased U-statistics",
               kernel=_unbiased_participation),
    Descriptor("baseline_participation_ratio_plugin", "baseline", "participation ratio, plug-in", 1, _INF,
               "the same from the sample covariance (at most n-1; biased low unless n >> PR)", no_ci=_PLUGIN_PR,
               kernel=_spectrum, output="participation_ratio"),
    Descriptor("baseline_pc1_share", "baseline", "PC1 share (baseline)", 0, 1,
               "share of baseline variance on the first principal component", kernel=_spectrum, output="pc1_share",
               ci_method="normal"),
    Descriptor("baseline_norm_mean", "baseline", "norm mean (baseline)", 0, _INF, "mean activation norm",
               kernel=_norms, output="norm_mean"),
    Descriptor("baseline_norm_sd", "baseline", "norm sd (baseline)", 0, _INF, "standard deviation of activation norms",
               kernel=_norms, output="norm_sd", undercovers=True),
    Descriptor("baseline_norm_max_median", "baseline", "norm max/median (baseline)", 1, _INF,
               "largest norm over median norm (outlier texts)", no_ci=_MAXIMUM, kernel=_norms, output="norm_max_median"),
    Descriptor("prompt_anisotropy", "emotion", "anisotropy (prompts)", -1, 1,
               "mean cosine over pairs of distinct prompt activations", per_prompt=True, kernel=_pairwise_cosine),
    Descriptor("prompt_norm_mean", "emotion", "norm mean (prompts)", 0, _INF, "mean activation norm",
               per_prompt=True, kernel=_norms, output="norm_mean"),
    Descriptor("prompt_norm_sd", "emotion", "norm sd (prompts)", 0, _INF, "standard deviation of activation norms",
               per_prompt=True, kernel=_norms, output="norm_sd", undercovers=True),
    Descriptor("prompt_norm_max_median", "emotion", "norm max/median (prompts)", 1, _INF,
               "largest norm over median norm (outlier prompts)", no_ci=_MAXIMUM, per_prompt=True, kernel=_norms,
               output="norm_max_median"),
    Descriptor("emotion_mean_cosine", "emotion", "mean cosine (emotion vectors)", -1, 1,
               "anisotropy among emotion vectors = 1 - mean off-diagonal cell of the raw cosine RDM",
               kernel=_emotion_vectors, output="emotion_mean_cosine", noise_free=True),
    Descriptor("emotion_rdm_spread", "emotion", "RDM spread (sd of cells)", 0, 1,
               "standard deviation of the off-diagonal cells of the raw cosine RDM",
               kernel=_emotion_vectors, output="emotion_rdm_spread", noise_free=True),
    Descriptor("emotion_participation_ratio", "emotion", "participation ratio (emotions)", 1, _INF,
               "of the emotion vectors centred on their mean", kernel=_emotion_vectors,
               output="emotion_participation_ratio", noise_free=True, centred=True),
    Descriptor("emotion_pc1_share", "emotion", "PC1 share (emotions)", 0, 1,
               "share of between-emotion variance on the first principal component", kernel=_emotion_vectors,
               output="emotion_pc1_share", noise_free=True, centred=True, undercovers=True),
)


def descriptor(name: str) -> Descriptor:
    """The table entry called ``name``; an unknown name is a one-line error."""
    for entry in DESCRIPTORS:
        if entry.name == name:
            return entry
    raise ValidationError(f"unknown geometry descriptor {name!r}; the descriptors are "
                          f"{', '.join(d.name for d in DESCRIPTORS)}")


def group_descriptors(group: str, *, per_prompt: bool = True) -> tuple[Descriptor, ...]:
    """The descriptors of ``group`` in table order; ``per_prompt=False`` leaves out those that need
    per-prompt rows (what a vector-set file can give)."""
    if group not in GROUPS:
        raise ValidationError(f"unknown descriptor group {group!r}; the groups are {', '.join(GROUPS)}")
    return tuple(d for d in DESCRIPTORS if d.group == group and (per_prompt or not d.per_prompt))


def evaluate_descriptors(descriptors: Iterable[Descriptor], rows: Any, weights: np.ndarray) -> dict[str, np.ndarray]:
    """``{name: values (b,)}`` of each descriptor for a batch of weights ``(b, n_rows)``; each row
    kernel runs once, whatever number of descriptors it gives."""
    computed: dict[RowKernel, Any] = {}
    out: dict[str, np.ndarray] = {}
    for d in descriptors:
        if d.kernel not in computed:
            computed[d.kernel] = d.kernel(rows, weights)
        value = computed[d.kernel]
        out[d.name] = value if d.output is None else value[d.output]
    return out
