"""Numbers for people: how rsastats prints an estimate, a p-value or an interval in the tables of
the command line, of reports and of the analyses (JSON output is never formatted).

A missing value (``None``, NaN, +-Inf) prints as ``missing`` (``"n/a"`` unless a caller's table
uses another mark), never as ``nan``.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

__all__ = ["MISSING", "is_missing", "fmt_number", "fmt_p", "ci_digits", "fmt_ci", "fmt_estimate", "fmt_with_ci",
           "NO_CI",
           "fmt_significant"]

MISSING = "n/a"
# fmt_ci adds decimals up to this many where two different ends would print alike
_MAX_CI_DIGITS = 7


def is_missing(x: Any) -> bool:
    """``None`` or a float that is not finite."""
    return x is None or (isinstance(x, (float, np.floating)) and not math.isfinite(float(x)))


def fmt_number(x: Any, digits: int = 3, *, missing: str = MISSING) -> str:
    """``digits`` decimals (``0.812``); integers print whole (``21``)."""
    if is_missing(x):
        return missing
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return str(int(x))
    return f"{float(x):.{digits}f}"


def fmt_p(p: Any, digits: int = 4, *, floor: float | None = None, missing: str = MISSING) -> str:
    """A p-value: ``digits`` decimals, and below ``10**-digits`` one significant digit (``3.2e-06``).

    With ``floor``, a p below it prints as ``<floor`` (``<0.001``) instead.
    """
    if is_missing(p):
        return missing
    p = float(p)
    if floor is not None:
        return f"<{floor:g}" if p < floor else f"{p:.{digits}f}"
    return f"{p:.{digits}f}" if p >= float(f"1e-{digits}") else f"{p:.1e}"


NO_CI = "(no CI)"  # a table cell for an interval not given (a warning or note says why)


def ci_digits(low: Any, high: Any, digits: int = 3) -> int:
    """The decimals :func:`fmt_ci` shows ``low`` and ``high`` with: ``digits``, more -- up to 7 -- where two different
    ends would print alike at ``digits``."""
    if is_missing(low) or is_missing(high):
        return digits
    alike = lambda d: f"{float(low):.{d}f}" == f"{float(high):.{d}f}"  # noqa: E731
    while digits < _MAX_CI_DIGITS and float(low) != float(high) and alike(digits):
        digits += 1
    return digits


def fmt_ci(low: Any, high: Any, digits: int = 3, *, missing: str = MISSING, form: str = "[{low}, {high}]",
           number: Callable[[Any], str] | None = None) -> str:
    """An interval, ``[0.702, 0.893]``: ``form`` places the two ends, each shown by ``number``
    (default: :func:`ci_digits` decimals -- ``digits``, more where two different ends would print alike, so that
    ``[0.99965, 1.0]`` shows as ``[0.9997, 1.0000]``, not as an interval of width 0); ``missing`` when either end is."""
    if is_missing(low) or is_missing(high):
        return missing
    places = ci_digits(low, high, digits)
    show = number or (lambda x: f"{float(x):.{places}f}")
    return form.format(low=show(low), high=show(high))


def fmt_estimate(x: Any, low: Any, high: Any, digits: int = 3, *, missing: str = MISSING) -> str:
    """An estimate printed beside its interval ``[low, high]``, with the interval's decimals (:func:`ci_digits`).
    Rounding is monotone, so an estimate inside its interval also prints inside it: ``0.99995`` beside
    ``[0.9996, 0.9999]`` is ``0.9999``/``1.0000`` at 4 decimals, never ``1.000`` beside a printed ``0.9999``."""
    return fmt_number(x, ci_digits(low, high, digits), missing=missing)


def fmt_with_ci(x: Any, low: Any, high: Any, digits: int = 3, *, missing: str = MISSING) -> str:
    """``0.812 [0.702, 0.893]``: :func:`fmt_estimate` and :func:`fmt_ci` (``missing`` for a missing interval)."""
    return f"{fmt_estimate(x, low, high, digits)} {fmt_ci(low, high, digits, missing=missing)}"


def fmt_significant(x: Any, digits: int = 4, *, missing: str = "-") -> str:
    """``digits`` significant digits (``0.1234``, ``2.5``), in scientific notation when the value is
    at least 1e5 or below 1e-3 in size (``1.234e+06``): for quantities without a natural scale."""
    if is_missing(x):
        return missing
    x = float(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"
