"""Intervals from replicates some of which may be undefined (NaN): notes instead of exceptions."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
from scipy import stats
from scipy.special import ndtr

from ..exceptions import EstimationError, RsaStatsWarning
from ..results import Record
from .bootstrap import confidence_interval, interval_estimate
from .jackknife import MIN_UNITS
from .methods import INTERVAL_METHODS

__all__ = ["Interval", "Expansion", "small_sample_expansion", "bootstrap_interval", "excluded_estimate",
           "missing_interval_text", "interval_note"]


@dataclass(frozen=True)
class Expansion:
    """How a bootstrap interval is widened for a small sample: the replicates' deviations from the estimate
    are multiplied by ``scale``, and the level is raised so that its normal quantile is Student's t quantile
    with ``df`` degrees of freedom (:func:`small_sample_expansion`)."""

    scale: float
    df: float

    def confidence(self, confidence: float) -> float:
        """The level whose normal quantile is t_df's at ``confidence`` (below 1 by at least 1e-12: with one or two
        degrees of freedom it can round to 1, and the interval then spans the replicates)."""
        return float(min(2.0 * ndtr(stats.t.ppf((1.0 + confidence) / 2.0, self.df)) - 1.0, 1.0 - 1e-12))


def small_sample_expansion(group_sizes: Sequence[int]) -> Expansion | None:
    """The expansion of a bootstrap that resamples rows with replacement within groups of ``group_sizes``.

    Within a group of ``n`` rows such a bootstrap gives the variance of a mean ``(n - 1)/n`` times its
    unbiased estimate, and so the linear part of any smooth statistic: with ``N`` rows in ``S`` groups whose rows
    contribute alike, ``(N - S)/N`` of it (Davison & Hinkley 1997, sec. 3.7, on stratified resampling with small
    strata).  The expansion undoes that, ``scale = sqrt(N / (N - S))``, and takes the t quantile with ``N - S``
    degrees of freedom for the normal one; with one group it is Hesterberg's (2015) expanded percentile interval.
    Groups of one row are not resampled (they add to ``S`` and ``N`` alike).  None where ``N - S < 1``."""
    sizes = [int(n) for n in group_sizes]
    n_rows, n_groups = sum(sizes), len(sizes)
    if n_rows - n_groups < 1:
        return None
    return Expansion(float(np.sqrt(n_rows / (n_rows - n_groups))), float(n_rows - n_groups))


@dataclass(frozen=True)
class Interval(Record):
    """A bootstrap interval formed from replicates some of which may be undefined (NaN).

    ``low``/``high`` are NaN when no interval could be formed; ``notes`` say why, and report
    replicates left out; ``method`` is the method actually used (a BCa interval with an infinite
    bias correction may fall back to the percentile interval, see :func:`bootstrap_interval`).
    ``estimate`` is the point estimate the interval is built around (:func:`interval_estimate` of
    ``method``; inside ``[low, high]``), NaN without an interval.
    """

    low: float
    high: float
    method: str
    n_used: int
    n_undefined: int
    notes: tuple[str, ...] = ()
    replicates: np.ndarray = field(default=None, repr=False, metadata={"json": False})
    estimate: float = float("nan")


def bootstrap_interval(estimate: float, replicates: Any, *, method: str, confidence: float, jackknife: Any = None,
                       bounds: tuple[float, float] | None = None, clip_to_bounds: bool = False,
                       bca_fallback: str | None = None, min_replicates: int = 2,
                       warnings_as_notes: bool = True, expansion: Expansion | None = None) -> Interval:
    """An interval from replicates that may hold NaN (resamples whose statistic is undefined).

    Undefined replicates (and undefined jackknife values) are left out and counted.  With
    ``clip_to_bounds`` the estimate and replicates are first clipped to finite ``bounds`` (rounding
    can put a share at 1 + 4e-16); half-open bounds (``inf``) are applied to the endpoints only.
    When BCa's bias correction is infinite (every replicate on one side of the estimate),
    ``bca_fallback`` names the method used instead (a note says so); without it the interval is
    NaN with a note.  Warnings of :func:`confidence_interval` (too few replicates for the level)
    become notes, or with ``warnings_as_notes=False`` reach the caller as warnings.  Never raises for
    undefined data: ``low``/``high`` are NaN and ``notes`` say why.  ``expansion``
    (:func:`small_sample_expansion`) scales the replicates' deviations from the estimate and raises the level
    before the interval is formed (the replicates kept in the result are the scaled ones).
    """
    reps = np.asarray(replicates, dtype=np.float64)
    finite = reps[np.isfinite(reps)]
    asked = confidence
    if expansion is not None and np.isfinite(estimate):
        finite = estimate + expansion.scale * (finite - estimate)
        confidence = expansion.confidence(confidence)
    n_undefined = int(reps.size - finite.size)
    notes: list[str] = []
    nan = float("nan")
    if not np.isfinite(estimate) or finite.size < min_replicates:
        return Interval(nan, nan, method, int(finite.size), n_undefined, ("estimate undefined",) if not np.isfinite(estimate)
                        else (f"only {finite.size} of {reps.size} resamples defined",), finite)
    jack = None
    if jackknife is not None:
        jack = [np.asarray(v, dtype=np.float64) for v in (jackknife if not isinstance(jackknife, np.ndarray)
                                                          or jackknife.ndim > 1 else [jackknife])]
        jack = [v[np.isfinite(v)] for v in jack]
        if INTERVAL_METHODS[method].needs_jackknife and sum(v.size for v in jack) < 2:
            what = "BCa" if method == "bca" else f"the {method} interval"
            return Interval(nan, nan, method, int(finite.size), n_undefined,
                            (f"{what} needs at least 2 defined jackknife values",), finite)
    finite_bounds = None if bounds is None or not np.isfinite(bounds).all() else (float(bounds[0]), float(bounds[1]))
    if clip_to_bounds and finite_bounds is not None:
        finite = np.clip(finite, *finite_bounds)
        estimate = float(np.clip(estimate, *finite_bounds))
    used, failed = method, ""
    with _recorded_warnings() as caught:
        try:
            low, high = confidence_interval(float(estimate), finite, method=method, confidence=confidence,
                                            jackknife=jack, bounds=finite_bounds)
        except EstimationError as exc:
            if method != "bca" or bca_fallback is None:
                low = high = nan
                failed = f"no CI: {exc.problem}"
            else:
                used = bca_fallback
                notes.append(f"BCa interval undefined (every replicate on one side of the estimate); {used} interval "
                             "given")
                low, high = confidence_interval(float(estimate), finite, method=used, confidence=confidence,
                                                bounds=finite_bounds)
    level = f"a {confidence:.0%} {used} interval"
    said = [(" ".join(str(w.message).split()), w.category) for w in caught]
    if confidence != asked:  # a note or warning names the level asked for, not the expansion's own
        said = [(x.replace(level, f"a {asked:.0%} {used} interval (formed at {confidence:.1%} by the small-sample "
                                  "expansion)"), category) for x, category in said]
    if warnings_as_notes:
        notes.extend(x for x, category in said if issubclass(category, RsaStatsWarning))
    else:
        for x, category in said:
            warnings.warn(x, category, stacklevel=2)
    if failed:  # its notes say only why there is no interval
        return Interval(nan, nan, method, int(finite.size), n_undefined, (failed,), finite)
    point = interval_estimate(float(estimate), finite, method=used, jackknife=jack, bounds=finite_bounds)
    if bounds is not None:
        low, high = float(np.clip(low, *bounds)), float(np.clip(high, *bounds))
        point = float(np.clip(point, *bounds))
    return Interval(float(low), float(high), used, int(finite.size), n_undefined, tuple(notes), finite, point)


def excluded_estimate(method: str, low: float, high: float, estimate: float, label: str = "") -> str:
    """Why a bootstrap interval of ``method`` is not given: it excludes ``estimate`` (its resamples are shifted
    from the estimate: a basic interval reflects the shift past it, BCa's bias correction moves both ends
    past it when more than ``(1 + confidence) / 2`` of the resamples lie on one side); "" when it does not,
    or for a jackknife interval (built around the estimate, it always contains it).  ``label`` names what
    the interval is of (e.g. ``"rho of a vs b"``)."""
    if INTERVAL_METHODS[method].uses == "jackknife" or not (np.isfinite(low) and np.isfinite(high)):
        return ""
    if low <= estimate <= high:
        return ""
    of = f" of {label}" if label else ""
    return (f"the {method} interval{of} came out as [{low:.3f}, {high:.3f}], which excludes the estimate "
            f"{estimate:.3f} (its resamples are shifted from the estimate)")


def interval_note(method: str, n_units: int, low: float | None, high: float | None) -> str:
    """``ci_note`` of a result: "" where the interval ``(low, high)`` was given, else why not
    (:func:`missing_interval_text`)."""
    given = low is not None and high is not None and np.isfinite(low) and np.isfinite(high)
    return "" if given else missing_interval_text(method, n_units)


def missing_interval_text(method: str, n_units: int) -> str:
    """Why an interval of ``method`` over ``n_units`` emotions is missing, in words for a table."""
    if INTERVAL_METHODS[method].uses == "jackknife" and n_units < MIN_UNITS:
        return f"the {method} interval needs at least {MIN_UNITS} emotions ({n_units} here)"
    if INTERVAL_METHODS[method].uses == "jackknife":
        return "no leave-one-out value differs from the estimate, so the jackknife sees no variation (see the warning)"
    return f"the {method} interval excluded the estimate (see the warning)"


@contextlib.contextmanager
def _recorded_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Record the warnings raised in the block (the package's own always, however the caller filters them)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RsaStatsWarning)
        yield caught
