"""Adjusting p-values for many comparisons: Holm (family-wise error) and Benjamini-Hochberg (FDR).

Holm (1979) controls the family-wise error rate under any dependence between the tests.
Benjamini & Hochberg (1995) control the false discovery rate for independent or positively
dependent tests (the Mantel tests of all pairs of models share models, and are positively
dependent in the cases that matter).  Both equal ``statsmodels.stats.multitest.multipletests``
(``holm``, ``fdr_bh``) to rounding; checked in ``tests/reference``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..checks import check_choice
from ..exceptions import ValidationError

__all__ = ["ADJUSTMENTS", "adjust_pvalues"]

ADJUSTMENTS = ("holm", "bh")
_ALIASES = {"fdr_bh": "bh", "fdr": "bh", "benjamini-hochberg": "bh", "hochberg-fdr": "bh", "bonferroni-holm": "holm"}


def _adjust_pvalues_iv(p: Any, method: str) -> tuple[np.ndarray, str]:
    method = check_choice("p-value adjustment", method, ADJUSTMENTS, _ALIASES)
    try:
        values = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValidationError("p-values must be numbers") from None
    if values.ndim != 1:
        raise ValidationError(f"p-values must be a 1-D array; got shape {values.shape}")
    if np.isnan(values).any() or (values < 0).any() or (values > 1).any():
        raise ValidationError("p-values must lie in [0, 1] (no NaN)")
    return values, method


def adjust_pvalues(p: Any, method: str = "holm") -> np.ndarray:
    """Adjusted p-values, in the order given.

    Parameters
    ----------
    p : 1-D array of p-values in [0, 1].
    method : ``"holm"`` (step-down Bonferroni) or ``"bh"`` (Benjamini-Hochberg step-up).

    Returns
    -------
    numpy.ndarray
        Adjusted p-values (never below the raw ones, never above 1).
    """
    values, method = _adjust_pvalues_iv(p, method)
    n = values.size
    if n == 0:
        return values.copy()
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    if method == "holm":
        adjusted = np.maximum.accumulate((n - np.arange(n)) * ranked)
    else:
        adjusted = np.minimum.accumulate((n / np.arange(n, 0, -1)) * ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out
