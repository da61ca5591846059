"""Argument checks shared by the statistics modules.

Each public function validates its inputs once, in a private ``_xxx_iv`` helper built from
these checks, and the computing code never re-checks.  Every check raises a one-line
:class:`~rsastats.exceptions.ValidationError` that says what was wrong and what is allowed.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from .exceptions import ValidationError

__all__ = ["check_choice", "check_count", "check_confidence", "check_finite_array", "MIN_EMOTIONS"]

# Fewer than 4 conditions leave at most 6 RDM cells and (for Mantel) at most 24 permutations:
# nothing a rank correlation or a permutation test can say is worth reporting.
MIN_EMOTIONS = 4


def check_choice(name: str, value: Any, choices: Sequence[str], aliases: dict[str, str] | None = None) -> str:
    """Return ``value`` (or what its alias stands for) if it is one of ``choices``."""
    key = str(value).strip().lower() if isinstance(value, str) else value
    if aliases and key in aliases:
        key = aliases[key]
    if key not in choices:
        raise ValidationError(f"{name} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return key


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (booleans and non-integral floats are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValidationError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if int(value) < minimum:
        raise ValidationError(f"{name} must be >= {minimum}; got {int(value)}")
    return int(value)


def check_confidence(confidence: Any) -> float:
    """A confidence level strictly between 0 and 1."""
    try:
        level = float(confidence)
    except (TypeError, ValueError):
        raise ValidationError(f"confidence must be a number between 0 and 1 (exclusive); got {confidence!r}") from None
    if not (0.0 < level < 1.0) or math.isnan(level):
        raise ValidationError(f"confidence must be between 0 and 1 (exclusive), e.g. 0.95; got {confidence!r}")
    return level


def check_finite_array(name: str, values: Any, ndim: int | None = None) -> np.ndarray:
    """A finite float64 array (optionally of a given number of dimensions)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be numeric") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValidationError(f"{name} must be {ndim}-D; got shape {arr.shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValidationError(f"{name} has {int(bad.sum())} NaN/Inf value(s), first at index {where}")
    return arr
