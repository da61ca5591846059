"""Comparing two RDMs (on their upper triangles), aligned by emotion label.

The measures (``spearman``, ``pearson``, ``kendall-b``, ``kendall-a``, ``rho-a``, ``cosine``) are the
table of :mod:`rsastats.measures`.

A correlation of a constant input is undefined: it raises an error instead of returning NaN.
The p-value of a correlation over RDM cells is *not* a valid test (cells sharing an emotion are
dependent); use :func:`rsastats.inference.mantel`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .checks import MIN_EMOTIONS, check_finite_array
from .exceptions import LabelError, ValidationError
from .labels import emotion_difference
from .measures import RANK_METHODS, correlate_rows, rank_method_name
from .measures.kernels import degenerate
from .rdm import RDM

__all__ = ["RANK_METHODS", "rank_method_name", "rank_correlation", "compare_rdms", "align_rdms", "as_rdm", "correlate_rows"]


def _rank_correlation_iv(x: Any, y: Any, method: str) -> tuple[np.ndarray, np.ndarray, str]:
    method = rank_method_name(method)
    x = check_finite_array("x", x, 1)
    y = check_finite_array("y", y, 1)
    if x.shape != y.shape:
        raise ValidationError(f"x and y must have the same length; got {x.size} and {y.size}")
    if x.size < 3:
        raise ValidationError(f"need at least 3 values to correlate; got {x.size}")
    for name, v in (("x", x), ("y", y)):
        if np.all(v == v[0]):
            raise ValidationError(f"{name} is constant: its rank correlation is undefined")
    return x, y, method


def rank_correlation(x: Any, y: Any, method: str = "spearman") -> float:
    """Correlation between two 1-D arrays (e.g. RDM upper triangles).

    Parameters
    ----------
    x, y : 1-D arrays of equal length (>= 3), finite, not constant.
    method : ``"spearman"`` (default), ``"pearson"``, ``"kendall-b"`` (alias ``"kendall"``) or
        ``"kendall-a"``.

    Returns
    -------
    float
        The coefficient (equal to ``scipy.stats.spearmanr``/``pearsonr``/``kendalltau`` to
        rounding).  No p-value: cells of an RDM are not independent.
    """
    x, y, method = _rank_correlation_iv(x, y, method)
    return float(correlate_rows(x, y, method))


def as_rdm(obj: Any, name: str = "") -> RDM:
    """An :class:`RDM` from an RDM, a schema-v1 RDM dataset or a square array (labels 0..n-1)."""
    if isinstance(obj, RDM):
        return obj
    if isinstance(obj, xr.Dataset):
        return RDM.from_dataset(obj, name or None)
    m = check_finite_array(name or "RDM", obj, 2)
    return RDM(m, tuple(str(i) for i in range(m.shape[0])), "", name)


def align_rdms(a: RDM, b: RDM, name_a: str = "A", name_b: str = "B") -> tuple[RDM, RDM]:
    """``b`` reordered to ``a``'s labels when both hold the same emotions; a one-line
    :class:`LabelError` naming the difference when they do not."""
    if a.labels == b.labels:
        return a, b
    if set(a.labels) != set(b.labels):
        raise LabelError(emotion_difference(a.labels, b.labels, a.source or name_a, b.source or name_b))
    return a, b.reorder(a.labels)


def check_emotion_count(n: int, source: str | None = None) -> None:
    if n < MIN_EMOTIONS:
        raise ValidationError(f"need at least {MIN_EMOTIONS} emotions to compare geometries; got {n}", path=source)


# Cosine and correlation distances lie in [0, 2] and are computed to about 1e-16; those of float32 vectors that
# differ at all in direction differ by far more than this, so an RDM whose cells span less is constant up to
# rounding, and a correlation of its cells would rank rounding noise.
ROUNDING_SPREAD = 1e-12


def check_not_constant(rdm: RDM, layer: str = "") -> None:
    """A one-line error when every off-diagonal cell of ``rdm`` is equal (for a cosine or correlation RDM, within
    :data:`ROUNDING_SPREAD`); ``layer`` (e.g. ``"layer 0"``) says which layer it was made from."""
    cells = rdm.upper()
    exact = bool(degenerate(cells))
    if exact or (rdm.method in ("cosine", "correlation") and float(np.ptp(cells)) <= ROUNDING_SPREAD):
        at = f" at {layer}" if layer else ""
        why = "; e.g. every text ends on the same template token at this layer" if layer.startswith("layer") else ""
        equal = "equal" if exact else "equal up to rounding"
        raise ValidationError(f"RDM is constant{at} (all off-diagonal dissimilarities {equal}{why}): its rank "
                              "correlation is undefined", path=rdm.source or None)


def compare_rdms(a: Any, b: Any, method: str = "spearman") -> float:
    """Rank correlation between two RDMs' upper triangles, after aligning ``b`` to ``a`` by label.

    ``a`` and ``b`` may be :class:`~rsastats.rdm.RDM` objects, schema-v1 RDM datasets or square
    arrays (arrays carry no labels and must already be in the same order).
    """
    method = rank_method_name(method)
    ra, rb = align_rdms(as_rdm(a, "A"), as_rdm(b, "B"))
    check_emotion_count(ra.n_emotions, ra.source or None)
    check_not_constant(ra)
    check_not_constant(rb)
    return float(correlate_rows(ra.upper(), rb.upper(), method))


