"""The interval of a geometry descriptor (or of its base x instruct change), with the notes that say
what it is and is not.

The interval maths is :func:`rsastats.intervals.bootstrap_interval` (the one home of intervals);
this module adds what is particular to descriptors:

* a descriptor without a valid bootstrap interval (``Descriptor.no_ci``: a sample maximum, the
  plug-in participation ratio) gets none, with the descriptor's reason as the note;
* the bounds come from the descriptor's range; replicates that overshoot a finite bound by
  rounding are clipped, half-open ranges (norms, participation ratios) bound the endpoints only;
* a descriptor whose default interval covered below nominal on planted designs
  (``Descriptor.undercovers``) gets :data:`UNDERCOVERS_NOTE` beside its basic interval;
* where the default is asked for (no method named), a descriptor that names its own method
  (``Descriptor.ci_method``: measured to cover better than the basic interval on planted designs, docs/geometry.md)
  takes that one, and says so (``DescriptorInterval.method``);
* a noise-free descriptor (``Descriptor.noise_free``) gets none when the prompts are too noisy for
  the bootstrap's bias correction (:func:`noise_free_support`, :data:`MAX_NOISE_FRACTION`), and
  the note says so; a descriptor of the emotion vectors centred on their mean (``Descriptor.centred``) measures
  the noise against their squared distance from their mean (:data:`MAX_CENTRED_NOISE_FRACTION`);
* resamples whose descriptor is undefined (too few distinct texts drawn) are left out and counted
  in the note;
* the estimate is the point the interval is built around (:func:`rsastats.intervals.interval_estimate`:
  for the default basic interval, the plug-in value corrected by the bootstrap's median bias), so it
  lies inside its interval; the plug-in value is kept beside it (docs/geometry.md, "Bias").

Warnings of the interval maths (too few replicates for the level) reach the caller as warnings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..intervals import Expansion, bootstrap_interval
from . import kernels
from .descriptors import Descriptor
from .resampling import DEFAULT_CI_METHOD, ResamplingSettings

__all__ = ["DEFAULT_CI_METHOD", "MAX_NOISE_FRACTION", "MAX_CENTRED_NOISE_FRACTION", "UNDERCOVERS_NOTE", "NoiseSupport",
           "noise_free_support", "DescriptorInterval", "descriptor_interval"]

# The prompt noise (share of the emotion vectors' squared norm, kernels.emotion_noise_fraction) up to which
# the intervals of noise-free descriptors are given: measured in analyses/geometry_coverage.py (designs at
# 3% cover, designs at 14% and more do not; reports/geometry_coverage, docs/geometry.md).
MAX_NOISE_FRACTION = 0.05
# The same limit on the noise's share of the centred emotion vectors' squared distance from their mean
# (kernels.emotion_noise_fraction(centred=True)), for the descriptors of the centred vectors (Descriptor.centred):
# measured in analyses/geometry_centred_noise.py (reports/geometry_coverage/centred_noise.md): the PC1 share covered
# 94.6-95.9% up to 5% and 67-90% between 5% and 30%, where the plain share stayed below 5%.
MAX_CENTRED_NOISE_FRACTION = 0.05
UNDERCOVERS_NOTE = ("this descriptor's basic interval covered less than nominal on planted designs "
                    "(reports/geometry_coverage): read it as narrower than its level says")


@dataclass(frozen=True)
class NoiseSupport:
    """Why the noise-free descriptors get no interval from a layer's prompts (``""``: they get one): ``plain`` for
    every one of them (the noise against the emotion vectors' squared norm), ``centred`` for the descriptors of the
    centred vectors (against their squared distance from their mean)."""

    plain: str = ""
    centred: str = ""

    def note(self, descriptor: Descriptor) -> str:
        """The reason ``descriptor`` gets no interval, ``""`` when it gets one."""
        if not descriptor.noise_free:
            return ""
        return self.plain or (self.centred if descriptor.centred else "")

    def __or__(self, other: "NoiseSupport") -> "NoiseSupport":
        """Both files' prompts must be reliable enough (a change between two files)."""
        return NoiseSupport(self.plain or other.plain, self.centred or other.centred)


def _too_noisy(fraction: float, limit: float, of_what: str, which: str) -> str:
    if fraction <= limit:
        return ""
    return (f"no CI: prompt noise is {fraction:.0%} of {of_what} (above {limit:.0%}), too much for the bootstrap's "
            f"bias correction to reach the noise-free value{which} (docs/geometry.md); more prompts per emotion "
            "would give one")


def noise_free_support(rows: Any) -> NoiseSupport:
    """Whether the prompts of ``rows`` (a layer's :class:`~rsastats.geometry.layers.LayerRows`) are reliable enough
    for the intervals of the noise-free descriptors (``Descriptor.noise_free``), and if not the note that says why."""
    fraction, centred = kernels.emotion_noise_fractions(rows.gram, rows.groups)
    if not np.isfinite(fraction):
        return NoiseSupport("no CI: an emotion has fewer than 2 prompts, so the prompt noise in the emotion vectors "
                            "cannot be measured")
    plain = _too_noisy(fraction, MAX_NOISE_FRACTION, "the emotion vectors' squared norm", "")
    if not np.isfinite(centred):  # every emotion vector the same: nothing to centre
        return NoiseSupport(plain, "no CI: the emotion vectors do not differ, so the prompt noise cannot be measured "
                                   "against their spread")
    return NoiseSupport(plain, _too_noisy(centred, MAX_CENTRED_NOISE_FRACTION,
                                          "the emotion vectors' squared distance from their mean",
                                          " of a descriptor of the centred vectors"))


@dataclass(frozen=True)
class DescriptorInterval:
    """``estimate`` (the point the interval is built around; the plug-in value without an interval),
    ``low``/``high`` (NaN when there is no interval), resamples used, and a note saying why."""

    estimate: float
    low: float
    high: float
    n_used: int
    note: str
    method: str = ""  # the interval method that formed it

    @property
    def status(self) -> str:
        """``"ok"`` with an interval, ``"no-ci"`` without."""
        return "ok" if np.isfinite(self.low) else "no-ci"


def _joined(*notes: str) -> str:
    return "; ".join(filter(None, notes))


def descriptor_interval(descriptor: Descriptor, estimate: float, replicates: np.ndarray,
                        jackknife: Sequence[np.ndarray] | None, settings: ResamplingSettings,
                        bounds: tuple[float, float] | None = None, unsupported: NoiseSupport = NoiseSupport(),
                        expansion: Expansion | None = None) -> DescriptorInterval:
    """The interval of ``descriptor`` (or of a change in it, with ``bounds`` of the change) from
    replicates that may be undefined (NaN).

    ``jackknife``: leave-one-out values per stratum (BCa only).  ``bounds`` default to the
    descriptor's range.  ``unsupported`` (from :func:`noise_free_support`): why a noise-free
    descriptor gets no interval from these prompts (its note ``""``: it gets one).  ``expansion``: the small-sample
    expansion of the resampling design (:func:`rsastats.intervals.small_sample_expansion` of the groups' sizes).
    Where ``settings`` ask for the default (``settings.own_methods``), the descriptor's own method
    (``Descriptor.ci_method``) forms the interval.
    """
    method = descriptor.ci_method if settings.own_methods and descriptor.ci_method else settings.ci_method
    if not descriptor.has_ci:
        return DescriptorInterval(estimate, math.nan, math.nan, 0, descriptor.no_ci, method)
    why = unsupported.note(descriptor)
    if why:
        return DescriptorInterval(estimate, math.nan, math.nan, 0, why, method)
    bounds = descriptor.bounds if bounds is None else bounds
    interval = bootstrap_interval(estimate, replicates, method=method, confidence=settings.confidence,
                                  jackknife=jackknife, bounds=bounds, clip_to_bounds=True, warnings_as_notes=False,
                                  expansion=expansion)
    undefined = (f"{interval.n_undefined} of {replicates.size} resamples undefined (too few distinct texts drawn) "
                 "and left out" if interval.n_undefined else "")
    if not np.isfinite(interval.low):
        return DescriptorInterval(estimate, math.nan, math.nan, interval.n_used,
                                  _failure_note(estimate, interval, undefined), method)
    caveat = UNDERCOVERS_NOTE if descriptor.undercovers and method == DEFAULT_CI_METHOD else ""
    return DescriptorInterval(interval.estimate, interval.low, interval.high, interval.n_used,
                              _joined(undefined, caveat), interval.method)


def _failure_note(estimate: float, interval: Any, undefined: str) -> str:
    """Why no interval: nothing to form it from; the interval maths failed (e.g. BCa's bias
    correction is infinite); or BCa lacks defined jackknife values."""
    if not np.isfinite(estimate) or interval.n_used < 2:
        return undefined or "estimate undefined"
    if interval.notes[0].startswith("no CI:"):
        return _joined(undefined, *interval.notes)
    return _joined(*interval.notes)
