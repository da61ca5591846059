"""rho_corrected's interval (:mod:`rsastats.inference.corrected`): a Fisher-z jackknife-t interval of the
cross-half ratio, and the BCa interval of its emotion-bootstrap replicates near the bound.

The ratio's leave-one-emotion-out values hold the half splits fixed, so the jackknife sees the emotions'
variability but not that of the random splits; and, as for rho (:mod:`rsastats.inference.degeneracy`), it counts
the second-order part of the variance twice.  :func:`jackknife_corrected` therefore uses Tukey's jackknife-t
interval on the Fisher-z scale (``n - 1`` degrees of freedom) with the variance of
:func:`~rsastats.intervals.jackknife.corrected_variance` -- the excess estimated from the leave-two-out ratios
(:func:`~rsastats.inference.degeneracy.leave_two_out_excess`) and, as rho's, scaled down where that kernel has a low
effective rank (:func:`~rsastats.inference.degeneracy.low_rank_weight`; docs/statistics.md, 'Low-rank emotion
spaces') -- plus the split variance
(:meth:`~rsastats.inference.corrected.CrossHalf.split_variance`, on the z scale by the delta method).
Near the bound the z scale fails the ratio, which can exceed 1: where the raw-scale interval
``|ratio| +- t sqrt(SE^2 + split variance)`` reaches 1 (``SE`` the plain jackknife standard error), or the ratio or
one of its leave-one- or leave-two-out values is not inside (-1, 1), the BCa interval of 2,000 emotion resamples is
used instead (:func:`bca_near_bound`; clipped to [-1, 1]).  With fewer than :data:`MIN_JACKKNIFE_EMOTIONS` emotions
the BCa interval is used for every pair: the route above is chosen by the data set's own standard error, which varies
so much over data sets at such sizes that the pairs sent to the jackknife-t interval are mostly those whose standard
error came out small, and that interval then under-covers (docs/statistics.md, 'rho_corrected with fewer than 20
emotions').  docs/statistics.md and docs/calibration.md give the coverage of each part over the generative models'
designs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from scipy.special import stdtrit

from ..formatting import fmt_ci
from ..intervals import bootstrap_interval, excluded_estimate, jackknife_interval
from ..intervals.jackknife import jackknife_se
from .degeneracy import leave_two_out_excess, leave_two_out_weights

__all__ = ["CORRECTED_CI", "NEAR_BOUND_CI", "BCA_NOTE_START", "NEAR_BOUND_NOTE", "FEW_EMOTIONS_NOTE", "MAX_LEAVE_TWO_OUT",
           "MIN_JACKKNIFE_EMOTIONS", "NARROW_AT_BOUND", "JOIN_NOTE", "jackknife_corrected", "bca_reason",
           "bca_near_bound", "narrow_at_bound", "joined_with_rho"]

CORRECTED_CI = "jackknife-t"
NEAR_BOUND_CI = "bca"
_EDGE = 1.0 - 1e-9
# More pairs of emotions than this (65 emotions and up): no second-order correction (the plain jackknife variance,
# conservative), since the leave-two-out ratios would cost more than the 2,000 resamples of BCa.
MAX_LEAVE_TWO_OUT = 2016
_BLOCK = 256
# An interval of rho_corrected narrower than this within this distance of the bound +-1 is joined with rho's interval
# and the bound (joined_with_rho).  Pooled over the calibration studies' designs, BCa intervals reaching 1 and narrower
# than 0.01 covered 27%, those 0.01-0.02 wide 76%, wider ones 87-100% (python -m analyses.calibration.near_bound;
# reports/calibration/near_bound_width.csv); joined, 18 designs of nearly identical models covered 98.5-100%, against
# 55-100% before (python -m analyses.calibration.near_identical; docs/statistics.md, 'Joined with rho's interval').
NARROW_AT_BOUND = 0.02
# Fewer emotions: the BCa interval for every pair.  The route by the data set's own standard error sent to the jackknife-t
# interval mostly the data sets whose standard error came out small; measured (2026-12-06, docs/statistics.md), that
# route covered 69.8-95.7% at 12 emotions (BCa 94.3-99.2%) and 91.5% at 16 in a design with hub emotions and shared
# prompt noise, 80.4% at 7 and 81.8% at 6 pooled over the few-emotions study, 82.7% and 90.9% on the real 12-emotion
# pairs of one model read twice; at 21 emotions 94.5% pooled over the stored designs.
MIN_JACKKNIFE_EMOTIONS = 20
JOIN_NOTE = "joined with rho's interval"  # the start of the note of a joined interval
BCA_NOTE_START = "BCa interval over emotion resamples"  # the start of every note of the BCa route
NEAR_BOUND_NOTE = (f"{BCA_NOTE_START}: the ratio is near the bound 1, where the Fisher-z jackknife "
                   "interval is not calibrated (docs/statistics.md)")
FEW_EMOTIONS_NOTE = (f"{BCA_NOTE_START}: with fewer than {MIN_JACKKNIFE_EMOTIONS} emotions the jackknife's standard error "
                     "varies too much between data sets to choose the Fisher-z jackknife interval by it "
                     "(docs/statistics.md, 'rho_corrected with fewer than 20 emotions')")


def _blocks(count: int) -> list[range]:
    """Row ranges of the leave-two-out weights, a block at a time (memory bounded)."""
    return [range(start, min(start + _BLOCK, count)) for start in range(0, count, _BLOCK)]


def jackknife_corrected(halves: Any, pairs: np.ndarray, point: np.ndarray, jack: np.ndarray,
                        confidence: float, *, low_rank: bool = True) -> list[tuple[float, float] | None]:
    """rho_corrected's interval for each pair (``point`` (n_pairs,), ``jack`` (n, n_pairs): the ratio and its
    leave-one-emotion-out values): ``jackknife-t`` on the Fisher-z scale, the variance corrected for the
    second-order part the jackknife counts twice (estimated from the leave-two-out ratios, with ``low_rank`` scaled by
    the low-rank weight of their kernel; not made above :data:`MAX_LEAVE_TWO_OUT` pairs of emotions) plus the variance of
    the random half splits (:meth:`~rsastats.inference.corrected.CrossHalf.split_variance`); None where the pair is near the bound and the
    BCa interval is used (the ratio, a leave-one- or leave-two-out ratio or the split variance undefined or
    not inside (-1, 1), or ``|ratio| + t sqrt(SE^2 + split variance) >= 1`` on the raw scale, ``SE`` the plain
    jackknife standard error); None for every pair with fewer than :data:`MIN_JACKKNIFE_EMOTIONS` emotions."""
    n = halves.n_emotions
    if n < MIN_JACKKNIFE_EMOTIONS:
        return [None] * len(pairs)
    with_two = n * (n - 1) // 2 <= MAX_LEAVE_TWO_OUT
    two = (np.concatenate([halves.batched(leave_two_out_weights(n, rows), pairs)
                           for rows in _blocks(n * (n - 1) // 2)]) if with_two else None)
    split_var = halves.split_variance(pairs)
    t = float(stdtrit(n - 1, 0.5 + confidence / 2.0))
    out: list[tuple[float, float] | None] = []
    for k in range(len(pairs)):
        values = np.concatenate([[point[k]], jack[:, k], two[:, k] if with_two else []])
        if not (np.isfinite(values).all() and np.abs(values).max() < _EDGE and np.isfinite(split_var[k])):
            out.append(None)
            continue
        loo = jack[:, k]
        if abs(point[k]) + t * np.sqrt(jackknife_se(loo, "raw") ** 2 + split_var[k]) >= 1.0:
            out.append(None)
            continue
        z = np.arctanh(values)
        excess = leave_two_out_excess(z[0], z[1:n + 1], z[n + 1:], low_rank=low_rank) if with_two else None
        low, high, _ = jackknife_interval(float(point[k]), loo, method="jackknife-t", confidence=confidence,
                                          second_order=excess,
                                          extra_variance=float(split_var[k] / (1.0 - point[k] ** 2) ** 2))
        out.append((low, high) if np.isfinite(low) and np.isfinite(high) else None)
    return out


def bca_reason(n_emotions: int) -> str:
    """The first part of a BCa interval's note: why :func:`jackknife_corrected` sent the pair there (the same rule,
    read at call time)."""
    return FEW_EMOTIONS_NOTE if n_emotions < MIN_JACKKNIFE_EMOTIONS else NEAR_BOUND_NOTE


def narrow_at_bound(low: float, high: float) -> bool:
    """Whether rho_corrected's interval ``(low, high)`` is narrower than :data:`NARROW_AT_BOUND` and has an end within
    that distance of the bound 1 or -1 (:func:`joined_with_rho`)."""
    return bool(high - low < NARROW_AT_BOUND and max(abs(low), abs(high)) >= 1.0 - NARROW_AT_BOUND)


def _given(x: Any) -> bool:
    return x is not None and bool(np.isfinite(x))


def joined_with_rho(corrected: Any, rho_low: float | None, rho_high: float | None, which: str = "") -> Any:
    """``corrected`` (a :class:`~rsastats.inference.corrected.CorrectedRho`) with an interval that is narrow at the
    bound (:func:`narrow_at_bound`) replaced by its hull with rho's interval ``(rho_low, rho_high)`` and that bound, or
    withheld where rho has no interval; other records unchanged.  ``which``, if given, says in the note which interval
    of rho that is (:func:`rsastats.inference.join.joined_records`: the default one, where another is shown).

    Where nearly every resampled ratio reaches 1 the bootstrap piles up at the bound and its interval with it; such
    intervals covered the noise-free rho far less than 95% (:data:`NARROW_AT_BOUND`), lying above it, or, with few
    prompts per half (where the ratio is biased away from the bound), below it.  Prompt noise attenuates rho, so the
    noise-free rho lies between the measured rho's expectation and the bound: rho's interval, which is calibrated
    there (its spread comes from emotions and, where they move nothing, prompts), extended to the bound covers it
    wherever rho's interval does, and the hull with the ratio's own interval cannot cover less.  The estimate does
    not move, so it stays inside."""
    low, high = corrected.corrected_ci_low, corrected.corrected_ci_high
    if corrected.rho_corrected is None or not (_given(low) and _given(high)) or not narrow_at_bound(low, high):
        return corrected
    if not (_given(rho_low) and _given(rho_high)):
        return replace(corrected, rho_corrected=None, corrected_ci_low=None, corrected_ci_high=None, corrected_note=(
            f"rho_corrected not given: its interval is narrower than {NARROW_AT_BOUND} at the bound, where the "
            "ratio's resampled and leave-one-out values pile up at 1 and such intervals under-cover, and rho has no "
            "interval to join it with (docs/statistics.md, 'Joined with rho's interval')"))
    bound = 1.0 if high >= -low else -1.0  # the bound the interval is near
    new_low, new_high = float(min(low, rho_low, bound)), float(max(high, rho_high, bound))
    if (new_low, new_high) == (low, high):
        return corrected
    which = f" ({which})" if which else ""
    note = (f"{JOIN_NOTE} {fmt_ci(rho_low, rho_high)}{which} and the bound {bound:+.0f}: intervals narrower than "
            f"{NARROW_AT_BOUND} at the bound, where the ratio's resampled and leave-one-out values pile up at 1, "
            "under-covered in the calibration studies; prompt noise attenuates rho, so the noise-free rho lies "
            "between rho and the bound (docs/statistics.md, 'Joined with rho's interval')")
    return replace(corrected, corrected_ci_low=new_low, corrected_ci_high=new_high,
                   corrected_note="; ".join(filter(None, (corrected.corrected_note, note))))


def bca_near_bound(point: float, reps: np.ndarray, jack: np.ndarray, confidence: float,
                   reason: str = NEAR_BOUND_NOTE) -> tuple[float, float, str]:
    """The BCa interval of the emotion-bootstrap replicates near the bound (or with few emotions: ``reason``, the
    note's first part), clipped to [-1, 1], and its note; NaN ends where it is undefined or excludes the estimate (the
    note says why)."""
    interval = bootstrap_interval(point, reps, method=NEAR_BOUND_CI, confidence=confidence, jackknife=[jack])
    if not np.isfinite(interval.low):
        return np.nan, np.nan, "rho_corrected not given: " + "; ".join(interval.notes or ("its bootstrap interval is undefined",))
    clip = lambda x: float(min(1.0, max(-1.0, x)))  # noqa: E731 - point and interval clipped alike
    low, high = clip(interval.low), clip(interval.high)
    excluded = excluded_estimate(NEAR_BOUND_CI, low, high, clip(point))
    if excluded:  # BCa moves both ends past the estimate when more than (1 + confidence) / 2 of its resamples
        # lie on one side of it: an interval that excludes its own estimate is not shown
        return np.nan, np.nan, f"rho_corrected not given: its {excluded.removeprefix('the ')}"
    notes = [reason, *interval.notes]
    if clip(point) == 1.0 or high == 1.0:
        notes.append("clipped at 1: the interval of the noise-free rho reaches 1, so it bounds it from below only "
                     "(it cannot miss below the truth; docs/calibration.md)")
    return low, high, "; ".join(filter(None, notes))
