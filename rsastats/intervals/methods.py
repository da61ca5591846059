"""The one table of interval methods (:data:`INTERVAL_METHODS`) and the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..checks import check_choice

__all__ = ["IntervalMethod", "INTERVAL_METHODS", "CI_METHODS", "FISHER_Z_METHODS", "BOOTSTRAP_CI_METHODS", "DEFAULT_CI", "BASIC_BOUNDED", "CORRELATION_BOUNDS",
           "ci_method_name", "interval_text"]


@dataclass(frozen=True)
class IntervalMethod:
    """One interval method: its name, what it is formed from (``"replicates"``: bootstrap replicates,
    with leave-one-out values for the acceleration when ``needs_jackknife``; ``"jackknife"``: the
    leave-one-out values alone), what it is, and ``point``: the point estimate it is built around (its
    limit as the confidence level goes to 0, the median of its confidence distribution; formed by
    :func:`rsastats.intervals.interval_estimate`), which always lies inside the interval."""

    name: str
    needs_jackknife: bool
    description: str
    uses: str = "replicates"
    point: str = "the estimate"
    label: str = ""  # how tables name a jackknife interval ("" for bootstrap intervals: named with their resamples)


INTERVAL_METHODS: dict[str, IntervalMethod] = {m.name: m for m in (
    IntervalMethod("jackknife-t", True, "Tukey's jackknife-t interval (n - 1 df) on the Fisher-z scale, the jackknife "
                   "variance corrected for the second-order part it counts twice, by the estimated degeneracy "
                   "(correlations; each end mapped to the mean on the correlation scale; estimate always inside, never "
                   "outside (-1, 1))", uses="jackknife",
                   label="Fisher-z jackknife-t over emotions, corrected for degeneracy"),
    IntervalMethod("jackknife-z", True, "normal interval on the Fisher-z scale, jackknife standard error "
                   "(correlations; each end mapped to the mean on the correlation scale; estimate always inside, never "
                   "outside (-1, 1))", uses="jackknife",
                   label="Fisher-z normal jackknife over emotions"),
    IntervalMethod("jackknife", True, "normal interval on the raw scale, jackknife standard error", uses="jackknife",
                   label="normal jackknife over emotions"),
    IntervalMethod("percentile", False, "quantiles of the replicates", point="the median of the replicates"),
    IntervalMethod("basic", False, "quantiles reflected about the estimate (bounded statistics: clipped)",
                   point="2 estimate - median of the replicates (the bootstrap median-bias-corrected estimate)"),
    IntervalMethod("normal", False, "normal interval about the basic interval's point: the estimate less the "
                   "bootstrap's median bias -+ the normal quantile times the replicates' standard deviation (bounded "
                   "statistics: clipped)",
                   point="2 estimate - median of the replicates (the bootstrap median-bias-corrected estimate)"),
    IntervalMethod("bca", True, "bias-corrected and accelerated percentile (acceleration from the jackknife)",
                   point="the replicate quantile at level Phi(z0 + z0 / (1 - a z0))"),
)}
CI_METHODS = tuple(INTERVAL_METHODS)
# The methods formed from bootstrap replicates (for statistics that are not a correlation of two RDMs).
BOOTSTRAP_CI_METHODS = tuple(name for name, m in INTERVAL_METHODS.items() if m.uses == "replicates")
# The jackknife intervals formed on the Fisher-z scale (correlations).
FISHER_Z_METHODS = ("jackknife-t", "jackknife-z")
# The interval of rho (as measured): chosen on the design atlas (docs/calibration.md).
DEFAULT_CI = "jackknife-t"
# How a basic interval for a bounded statistic stays inside the bounds: "clip" or "fisher-z".
BASIC_BOUNDED = "clip"
CORRELATION_BOUNDS = (-1.0, 1.0)
# atanh of a correlation of exactly +-1 (identical RDMs) is infinite: stay this far inside.
_Z_EDGE = 1e-12


def ci_method_name(method: Any, allowed: tuple[str, ...] = CI_METHODS) -> str:
    """The canonical name of an interval method (one of ``allowed``); an unknown name is a one-line error."""
    return check_choice("interval method", method, allowed)


def interval_text(ci_method: str, bootstrap: str, n_boot: int | None = None, n_undefined: int = 0) -> str:
    """How an interval was formed, in words: a jackknife interval's label (it draws no resamples), else the
    bootstrap scheme with its resamples (and how many were undefined); a scheme that resamples prompts is said to be
    uncalibrated (docs/calibration.md, 'The other bootstrap schemes')."""
    label = INTERVAL_METHODS[ci_method].label
    if label:
        return label
    undefined = f", {n_undefined} undefined" if n_undefined else ""
    counts = "" if n_boot is None else f" ({n_boot} resamples{undefined})"
    calibrated = "; not calibrated (see the warning)" if bootstrap in ("prompts", "both") else ""
    return f"{ci_method}, bootstrap over {bootstrap}{counts}{calibrated}"
