"""The audit's decision rule and the reference range it compares the observed interval with.

:func:`audit_verdict` is fixed in code and in ``docs/audit.md`` (section 4) before any real
outcome was looked at; :func:`reference_range` pools the bootstrap of one or more reference pairs
(runs of a sampled recipe) into the range the rule reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..exceptions import ValidationError
from ..inference.bootstrap import BootstrapResult
from ..intervals import CORRELATION_BOUNDS, DEFAULT_CI, ci_method_name, confidence_interval
from ..results import Record

__all__ = [
    "COMPATIBLE",
    "DIFFERENT",
    "INCONCLUSIVE",
    "VERDICTS",
    "MAX_INTERVAL_WIDTH",
    "MIN_AUDIT_EMOTIONS",
    "AuditVerdict",
    "audit_verdict",
    "check_max_width",
    "reference_range",
]

COMPATIBLE = "compatible with identical geometry after method effects"
DIFFERENT = "different beyond method effects"
INCONCLUSIVE = "inconclusive"
VERDICTS = (COMPATIBLE, DIFFERENT, INCONCLUSIVE)
# An interval wider than this cannot separate the two outcomes for method drops of the size the
# study reports (0.1-0.3 in rho); it is about the width of the two-factor bootstrap interval at the
# heaviest prompt noise of the calibration (docs/calibration.md: reliability 0.54, width 0.47).
MAX_INTERVAL_WIDTH = 0.5
# Fewer emotions than this: a bootstrap resample holds about 63% distinct emotions (5 of 8, 10 of
# 28 cells) and the intervals were calibrated at 21 emotions only (docs/calibration.md): a guard
# for uncalibrated designs (docs/audit.md).  Below it the verdict is inconclusive whatever the
# intervals say.
MIN_AUDIT_EMOTIONS = 8


@dataclass(frozen=True)
class AuditVerdict(Record):
    """The verdict, what the intervals alone say (``numbers_say``), and why."""

    verdict: str
    numbers_say: str
    reasons: tuple[str, ...]


def check_max_width(max_interval_width: Any) -> float:
    """The widest observed interval that may still be called compatible: a number in (0, 2]."""
    try:
        width = float(max_interval_width)
    except (TypeError, ValueError):
        raise ValidationError(f"max_interval_width must be a number; got {max_interval_width!r}") from None
    if not 0 < width <= 2:
        raise ValidationError(f"max_interval_width must be in (0, 2]; got {max_interval_width!r}")
    return width


def _interval_iv(name: str, interval: Any) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in interval)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a pair (low, high); got {interval!r}") from None
    if not (math.isnan(low) or math.isnan(high)) and low > high:
        raise ValidationError(f"{name} runs backwards: ({low}, {high})")
    return low, high


def _numbers_say(o_low: float, o_high: float, r_low: float, r_high: float, n_emotions: int | None,
                 width: float) -> tuple[str, str]:
    """Steps 1-4 of the rule: what the intervals say, and why."""
    observed, reference = f"[{o_low:.3f}, {o_high:.3f}]", f"[{r_low:.3f}, {r_high:.3f}]"
    if any(math.isnan(x) for x in (o_low, o_high, r_low, r_high)):
        return INCONCLUSIVE, "an interval is undefined"
    if n_emotions is not None and n_emotions < MIN_AUDIT_EMOTIONS:
        return INCONCLUSIVE, (f"only {n_emotions} emotions: an audit needs at least {MIN_AUDIT_EMOTIONS} for its "
                              "bootstrap intervals to mean what they say")
    if o_high < r_low:
        return DIFFERENT, f"the observed CI {observed} lies entirely below the reference range {reference}"
    if o_high - o_low > width:
        return INCONCLUSIVE, (f"the observed CI {observed} overlaps or exceeds the reference range {reference} but is "
                              f"wider than {width:g}: too uncertain to call it compatible")
    if r_high - r_low > width:
        return INCONCLUSIVE, (f"the reference range {reference} is wider than {width:g}: the reference extraction is "
                              "too noisy to say what rho to expect")
    if o_low > r_high:
        return COMPATIBLE, (f"the observed CI {observed} lies above the reference range {reference}: the audited files "
                            "agree more than the reference model's method effects predict (no sign of a geometric "
                            "difference; the reference overstates the method effect for these models)")
    return COMPATIBLE, f"the observed CI {observed} overlaps the reference range {reference}"


def audit_verdict(observed_ci: tuple[float, float], reference: tuple[float, float], *,
                  incomplete_layers: Sequence[str] = (), n_emotions: int | None = None,
                  max_interval_width: float = MAX_INTERVAL_WIDTH, uninformative_reference: str = "") -> AuditVerdict:
    """The audit's decision rule (fixed in code and in ``docs/audit.md``).

    With ``O`` the observed CI of rho(A, B) and ``R`` the reference range, in this order:

    1. ``inconclusive`` if either interval is undefined, or if fewer than
       :data:`MIN_AUDIT_EMOTIONS` emotions were compared (``n_emotions``);
    2. ``different beyond method effects`` if ``O`` lies entirely below ``R`` (``O.high < R.low``),
       however wide either interval is: non-overlap is decisive;
    3. ``inconclusive`` if ``O`` or ``R`` is wider than ``max_interval_width``: an overlap of wide
       intervals cannot tell identical geometry from a difference of the size method effects make;
    4. ``compatible with identical geometry after method effects`` otherwise: ``O`` overlaps ``R``,
       or lies above it (the audited files agree *more* than the reference's method effects allow;
       no sign of a geometric difference, and a reason says the reference overstates the method
       effect for these models).

    Whatever the intervals say (returned as ``numbers_say``), the verdict is ``inconclusive`` when a
    layer's settings are not recorded well enough for the reference to reproduce them
    (``incomplete_layers``).  ``uninformative_reference`` (words: why there is no reference range)
    makes it ``inconclusive`` before step 1, whatever ``reference`` holds.
    """
    o_low, o_high = _interval_iv("observed_ci", observed_ci)
    r_low, r_high = _interval_iv("reference", reference)
    width = check_max_width(max_interval_width)
    if uninformative_reference:
        numbers_say, reason = INCONCLUSIVE, f"there is no reference range: {uninformative_reference}"
    else:
        numbers_say, reason = _numbers_say(o_low, o_high, r_low, r_high, n_emotions, width)
    reasons = [reason]
    verdict = numbers_say
    incomplete = [str(x) for x in incomplete_layers]
    if incomplete:
        verdict = INCONCLUSIVE
        reasons.append(f"the files do not record layer {', '.join(incomplete)} fully, so the reference may not "
                       f"reproduce {'it' if len(incomplete) == 1 else 'them'} (the intervals alone say: {numbers_say})")
    return AuditVerdict(verdict, numbers_say, tuple(reasons))


def reference_range(runs: Sequence[BootstrapResult], *, ci: str = DEFAULT_CI,
                    confidence: float = 0.95) -> tuple[float, float, float]:
    """``(rho, low, high)`` of the reference from the bootstrap of one or more reference pairs.

    One pair: its estimate and its interval.  Several pairs (runs of a sampled recipe with other
    seeds): the mean estimate, and the central ``confidence`` range of the pooled bootstrap
    distributions, each run's replicates reflected about its estimate for the basic interval
    (``2 rho_i - rho*_i``, which for one run is exactly the basic interval) and used as they are
    for the percentile interval; so the range covers the run-to-run spread and each run's
    sampling uncertainty.  BCa does not pool and needs a single run.
    """
    runs = list(runs)
    if not runs:
        raise ValidationError("no reference runs")
    if len(runs) == 1:
        return runs[0].rho, runs[0].ci_low, runs[0].ci_high
    ci = ci_method_name(ci)
    if ci == "bca":
        raise ValidationError("BCa intervals of several reference runs cannot be pooled: use --ci basic or percentile, "
                              "or one reference run")
    pooled = np.concatenate([(2.0 * r.rho - r.bootstrap_distribution) if ci == "basic" else r.bootstrap_distribution
                             for r in runs])
    pooled = np.clip(pooled, *CORRELATION_BOUNDS)
    center = float(np.mean([r.rho for r in runs]))
    low, high = confidence_interval(center, pooled, method="percentile", confidence=confidence, bounds=CORRELATION_BOUNDS)
    return center, low, high
