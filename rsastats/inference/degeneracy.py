"""The second-order part of the variance of an RDM correlation, which the jackknife counts twice.

A correlation of two RDMs over ``m = n(n-1)/2`` cells is, to first order, a U-statistic of degree 2 in the
``n`` emotions: ``r - rho ~ mean over cells i<j of k(i, j)`` with the kernel of a correlation (the delta
method for a ratio),

    k(i, j) = m (zx_ij zy_ij - r/2 (zx_ij^2 + zy_ij^2)),

``zx, zy`` the two rows as the measure standardizes them (mid-ranks for Spearman), scaled to unit norm.
Hoeffding's decomposition splits its variance into a first-order part ``4 zeta_1 / n`` (the emotions'
own effects) and a second-order part ``2 delta_2 / (n (n-1))``, ``delta_2`` the variance of the kernel's
degenerate (doubly centred) part.  The jackknife variance estimates the first part without bias but the
second with expectation ``4 delta_2 / (n (n-2))``: it counts it ``2 (n-1)/(n-2)`` times (Efron & Stein
1981; the excess is ``2 delta_2 / ((n-1)(n-2))``).  When the two RDMs share no structure the first part
vanishes (the statistic is degenerate) and the jackknife standard error is about 1.4 times too large.

``delta_2`` is estimated without bias from the U-centred kernel matrix (Szekely & Rizzo 2014, the
U-centring of partial distance covariance): ``sum_{i != j} K~_ij^2 / (n (n-3))``.
:func:`second_order_variance` returns the excess on the Fisher-z scale (divided by ``(1 - r^2)^2``), for
:func:`rsastats.intervals.jackknife_interval`'s ``jackknife-t`` method.

Low-rank kernels (since 2026-12-07).  The correction treats the degenerate part as a sum of many small terms.
Where the U-centred kernel has a few large eigenvalues -- emotions that vary along one or two directions
(valence, arousal) in both models -- the degenerate part is a skewed quadratic form in a few components, and the
jackknife variance moves with the estimate (correlation 0.45-0.9 across data sets in such designs): the data sets
with a low rho also have a small variance, and removing the excess from it narrows exactly the intervals that miss.
So for a correlation of two RDMs (and a partial correlation) the excess is scaled by :func:`low_rank_weight` of the
kernel's effective rank (the participation ratio of its eigenvalues, ``(sum l^2)^2 / sum l^4``) as a share of the
emotions: 0 below :data:`LOW_RANK_FROM`, 1 from :data:`LOW_RANK_TO`, linear between (docs/statistics.md,
'Low-rank emotion spaces').  So does rho_corrected's excess, estimated from leave-two-out values
(:func:`leave_two_out_excess` with ``low_rank``, the rank share of its own kernel ``D``; since the evening of
2026-12-07).  The difference of two correlations keeps the whole excess (its interval was calibrated with it).

Where the kernel's effective rank itself is below :data:`LOW_RANK_CAUTION_RANK` (emotions that vary along about one or
two directions) with :data:`LOW_RANK_CAUTION_EMOTIONS` or more emotions, the weight is not enough: rho's interval
still covers too rarely where the two models share part of that structure, missing on the side below the truth
(its standard error is small exactly where rho is low).  ``compare``, ``matrix`` and ``hypotheses`` give it with
:func:`low_rank_caution`'s sentence in ``ci_caution`` (since 2026-12-08; docs/statistics.md, 'Low-rank emotion
spaces', ``python -m analyses.calibration.low_rank_caution``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..measures import rank_measure

__all__ = ["second_order_variance", "partial_second_order", "difference_second_order", "pair_second_order",
           "leave_two_out_weights", "leave_two_out_excess", "low_rank_weight", "kernel_rank_share", "pair_rank_share",
           "pair_interval_terms", "low_rank_caution", "LOW_RANK_FROM", "LOW_RANK_TO",
           "LOW_RANK_CAUTION_RANK", "LOW_RANK_CAUTION_EMOTIONS"]

# The excess is removed in full where the kernel's effective rank is at least LOW_RANK_TO of the emotions, not at all
# below LOW_RANK_FROM (module docstring): chosen on 103 designs (the atlas, its weak designs, 66 of two generators
# with one to ten latent directions) and checked on 62 others (docs/statistics.md, 'Low-rank emotion spaces').
LOW_RANK_FROM = 0.1
LOW_RANK_TO = 0.3
# rho's interval is given with a caution where the kernel's effective rank is below LOW_RANK_CAUTION_RANK with at least
# LOW_RANK_CAUTION_EMOTIONS emotions (module docstring): chosen on the 128 designs of the low-rank study, checked on 84
# others (reports/calibration/low_rank_caution.md).
LOW_RANK_CAUTION_RANK = 2.5
LOW_RANK_CAUTION_EMOTIONS = 12


def _u_centred(kernel: np.ndarray) -> np.ndarray:
    """The U-centred symmetric kernel matrices (..., n, n), zero diagonal (Szekely & Rizzo 2014)."""
    n = kernel.shape[-1]
    k = kernel.copy()
    idx = np.arange(n)
    k[..., idx, idx] = 0.0
    rows = k.sum(axis=-1)
    total = rows.sum(axis=-1)
    centred = (k - rows[..., :, None] / (n - 2) - rows[..., None, :] / (n - 2)
               + total[..., None, None] / ((n - 1) * (n - 2)))
    centred[..., idx, idx] = 0.0
    return centred


def _delta2(centred: np.ndarray) -> np.ndarray:
    """Unbiased ``delta_2`` of U-centred kernel matrices (..., n, n) (:func:`_u_centred`)."""
    n = centred.shape[-1]
    return (centred**2).sum(axis=(-2, -1)) / (n * (n - 3))


def _u_centred_variance(kernel: np.ndarray) -> np.ndarray:
    """Unbiased ``delta_2`` of symmetric kernel matrices (..., n, n) (diagonal ignored)."""
    return _delta2(_u_centred(kernel))


def kernel_rank_share(centred: np.ndarray) -> np.ndarray:
    """The effective rank of U-centred kernel matrices (..., n, n) -- the participation ratio of their eigenvalues,
    ``(sum l^2)^2 / sum l^4`` (``sum l^4`` is the squared Frobenius norm of the matrix squared) -- over ``n``;
    NaN for a zero matrix."""
    n = centred.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        square = (centred**2).sum(axis=(-2, -1))
        fourth = (np.matmul(centred, centred) ** 2).sum(axis=(-2, -1))
        return square**2 / fourth / n


def low_rank_weight(share: Any) -> np.ndarray:
    """The share of the excess removed at a kernel rank share ``share`` (:func:`kernel_rank_share`): 0 below
    :data:`LOW_RANK_FROM`, 1 from :data:`LOW_RANK_TO`, linear between (module docstring); 1 where ``share`` is NaN
    (a zero kernel has no excess to remove)."""
    share = np.asarray(share, dtype=np.float64)
    weight = np.clip((share - LOW_RANK_FROM) / (LOW_RANK_TO - LOW_RANK_FROM), 0.0, 1.0)
    return np.where(np.isfinite(share), weight, 1.0)


def leave_two_out_weights(n: int, rows: range | None = None) -> np.ndarray:
    """Cell weights (n (n-1) / 2, m) that leave out emotions ``i < j`` (row-major pairs): a statistic of the
    weighted upper triangle with each pair of emotions left out in turn; ``rows``: only those pairs (a block)."""
    a, b = np.triu_indices(n, 1)
    rows = range(len(a)) if rows is None else rows
    keep = np.ones((len(rows), n))
    keep[np.arange(len(rows)), a[rows.start:rows.stop]] = keep[np.arange(len(rows)), b[rows.start:rows.stop]] = 0.0
    return keep[:, a] * keep[:, b]


def leave_two_out_excess(value: float, loo: np.ndarray, l2o: np.ndarray, *, low_rank: bool = False) -> float:
    """The second-order variance the jackknife counts twice (module docstring), of any statistic of the
    emotions, from its value, its leave-one-out values ``loo`` (n,) and its leave-two-out values ``l2o`` (pairs
    ``i < j`` row-major): the U-centred kernel ``D_ij = value - loo_i - loo_j + l2o_ij``, scaled so that for a
    statistic linear in the cells it is the kernel of the cell mean; ``2 delta_2 / ((n-1)(n-2))`` as for rho, with
    ``low_rank`` times :func:`low_rank_weight` of that kernel's rank share."""
    n = loo.size
    a, b = np.triu_indices(n, 1)
    cells = (value - loo[a] - loo[b] + l2o) * (n - 2) * (n - 3) / 2.0
    return float(_raw_excess(cells[None], n, low_rank=low_rank)[0])


def _kernel_cells(zx: np.ndarray, zy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The kernel ``k`` (module docstring) at each cell of rows ``zx``, ``zy`` (K, m) whose dot product, once scaled
    to unit norm, is the correlation ``r`` (K,)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        zx = zx / np.linalg.norm(zx, axis=-1, keepdims=True)
        zy = zy / np.linalg.norm(zy, axis=-1, keepdims=True)
        return zx.shape[-1] * (zx * zy - 0.5 * r[:, None] * (zx**2 + zy**2))


def _centred_kernels(cells: np.ndarray, n: int) -> np.ndarray:
    """The U-centred kernel matrices (K, n, n) of kernel values ``cells`` (K, m) at the cells i < j of ``n``
    emotions."""
    iu, ju = np.triu_indices(n, 1)
    kernel = np.zeros((cells.shape[0], n, n))
    kernel[:, iu, ju] = cells
    kernel[:, ju, iu] = cells
    return _u_centred(kernel)


def _raw_excess(cells: np.ndarray, n: int, *, low_rank: bool) -> np.ndarray:
    """``2 delta_2 / ((n-1)(n-2))`` of kernel values ``cells`` (K, m) at the cells i < j of ``n`` emotions; with
    ``low_rank``, times :func:`low_rank_weight` of the kernel's rank share (module docstring)."""
    return _excess_and_share(cells, n, low_rank=low_rank)[0]


def _excess_and_share(cells: np.ndarray, n: int, *, low_rank: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_raw_excess` and the kernel's rank share (:func:`kernel_rank_share`), from one U-centred kernel."""
    centred = _centred_kernels(cells, n)
    excess = 2.0 * np.maximum(_delta2(centred), 0.0) / ((n - 1) * (n - 2))
    share = kernel_rank_share(centred)
    return (excess * low_rank_weight(share) if low_rank else excess), share


def _excess(zx: np.ndarray, zy: np.ndarray, r: np.ndarray, n: int, low_rank: bool = True) -> np.ndarray:
    """The excess, on the Fisher-z scale, of rows ``zx``, ``zy`` (K, m) whose dot product is the correlation ``r``,
    with ``low_rank`` scaled down where the kernel has a low rank (module docstring)."""
    return _excess_terms(zx, zy, r, n, low_rank)[0]


def _excess_terms(zx: np.ndarray, zy: np.ndarray, r: np.ndarray, n: int,
                  low_rank: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_excess` and the kernel's rank share, from one kernel (both NaN at ``|r| = 1``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        raw, share = _excess_and_share(_kernel_cells(zx, zy, r), n, low_rank=low_rank)
        excess = raw / (1.0 - r**2) ** 2
    inside = np.abs(r) < 1.0
    return np.where(np.isfinite(excess) & inside, excess, np.nan), np.where(inside, share, np.nan)


def difference_second_order(a: np.ndarray, b: np.ndarray, c: np.ndarray, r_ab: float, r_ac: float,
                            rank: str) -> float:
    """The jackknife's excess variance of the difference ``r_ab - r_ac`` of two correlations of RDM upper triangles
    that share ``a`` (each (m,)), on the raw scale: the kernel of a difference is the difference of the two kernels,
    and its degenerate part is what the jackknife counts twice (module docstring).  NaN where
    :func:`second_order_variance` would be (a measure that is not a linear correlation of cells, fewer than 5
    emotions, a constant row)."""
    rows = _standardized_rows(np.stack([np.asarray(x, dtype=np.float64) for x in (a, b, c)]), rank)
    if rows is None:
        return float("nan")
    z, n = rows
    cells = (_kernel_cells(z[:1], z[1:2], np.array([float(r_ab)]))
             - _kernel_cells(z[:1], z[2:], np.array([float(r_ac)])))
    excess = float(_raw_excess(cells, n, low_rank=False)[0])  # the difference keeps its whole excess
    return excess if np.isfinite(excess) else float("nan")


def _n_emotions(m: int) -> int | None:
    n = int(round((1 + np.sqrt(1 + 8 * m)) / 2))
    return n if n * (n - 1) // 2 == m and n >= 5 else None


def _pair_rows(x: np.ndarray, y: np.ndarray, estimate: np.ndarray, rank: str):
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    r = np.atleast_1d(np.asarray(estimate, dtype=np.float64))
    measure = rank_measure(rank)
    n = _n_emotions(x.shape[-1])
    if measure.family != "linear" or n is None:
        return None, r
    zx, okx = measure.standardized(x)
    zy, oky = measure.standardized(y)
    return (zx, zy, okx & oky, n), r


def second_order_variance(x: np.ndarray, y: np.ndarray, estimate: np.ndarray, rank: str, *,
                          low_rank: bool = True) -> np.ndarray:
    """The jackknife's excess variance of ``atanh(r)`` for correlations ``estimate`` (K,) of RDM upper
    triangles ``x``, ``y`` (K, m) under the measure ``rank``: ``2 delta_2 / ((n-1)(n-2)) / (1 - r^2)^2``, with
    ``low_rank`` (the default, what ``jackknife-t`` removes) times :func:`low_rank_weight` of the kernel's rank share.

    NaN where it is not defined: a measure that is not a linear correlation of cells (Kendall's tau),
    fewer than 5 emotions, a constant row, or ``|r| = 1``.
    """
    rows, r = _pair_rows(x, y, estimate, rank)
    if rows is None:
        return np.full(r.shape, np.nan)
    zx, zy, ok, n = rows
    return np.where(ok, _excess(zx, zy, r, n, low_rank), np.nan)


def pair_rank_share(x: np.ndarray, y: np.ndarray, estimate: np.ndarray, rank: str) -> np.ndarray:
    """:func:`kernel_rank_share` of the kernel of each correlation ``estimate`` (K,) of RDM upper triangles ``x``,
    ``y`` (K, m) (as in :func:`second_order_variance`; NaN where that is)."""
    rows, r = _pair_rows(x, y, estimate, rank)
    if rows is None:
        return np.full(r.shape, np.nan)
    zx, zy, ok, n = rows
    return np.where(ok, _excess_terms(zx, zy, r, n)[1], np.nan)


def _standardized_rows(uppers: np.ndarray, rank: str) -> tuple[np.ndarray, int] | None:
    """Rows of ``uppers`` (K, m) standardized as the measure ``rank`` does, and the number of emotions; None where the
    excess is not defined (a measure that is not a linear correlation of cells, fewer than 5 emotions, a constant
    row)."""
    measure = rank_measure(rank)
    n = _n_emotions(uppers.shape[-1])
    if measure.family != "linear" or n is None:
        return None
    z, ok = measure.standardized(uppers)
    return (z, n) if ok.all() else None


def partial_second_order(uppers: np.ndarray, estimate: float, rank: str) -> float:
    """The same excess for the partial correlation of rows 0 and 1 of ``uppers`` (K, m) given rows 2..K-1:
    the correlation of the two rows' residuals after the confounds (standardized as the measure does),
    whose dot product is the partial correlation; the confounds' own estimation is left out (a
    lower-order term).  NaN where :func:`second_order_variance` would be."""
    rows = _standardized_rows(np.asarray(uppers, dtype=np.float64), rank)
    if rows is None:
        return float("nan")
    z, n = rows
    confounds = z[2:].T
    coef, *_ = np.linalg.lstsq(confounds, z[:2].T, rcond=None)
    resid = z[:2] - (confounds @ coef).T
    return float(_excess(resid[:1], resid[1:], np.array([float(estimate)]), n)[0])


def pair_second_order(engine, pairs: np.ndarray, point: np.ndarray, ci: str) -> np.ndarray | None:
    """:func:`second_order_variance` of each pair (i, j) of a resampling engine's full-data RDMs, for the
    interval ``ci`` (None unless it is ``jackknife-t``, the one method that uses it)."""
    return pair_interval_terms(engine, pairs, point, ci)[0]


def pair_interval_terms(engine, pairs: np.ndarray, point: np.ndarray,
                        ci: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """:func:`pair_second_order` and the effective rank of each pair's kernel (:func:`pair_rank_share` times the
    emotions; the caution's measure, :func:`low_rank_caution`), from one kernel per pair (None, None unless ``ci`` is
    ``jackknife-t``, the one method that uses the excess and whose coverage was measured against the rank)."""
    if ci != "jackknife-t":
        return None, None
    point = np.asarray(point, dtype=np.float64)
    terms = [_pair_terms(engine.fixed[i], engine.fixed[j], point[k], engine.rank) for k, (i, j) in enumerate(pairs)]
    return np.array([t[0] for t in terms]), np.array([t[1] for t in terms])


def _pair_terms(x: np.ndarray, y: np.ndarray, estimate: float, rank: str) -> tuple[float, float]:
    """:func:`second_order_variance` and the effective rank (:func:`pair_rank_share` times the emotions) of one pair."""
    rows, r = _pair_rows(x, y, estimate, rank)
    if rows is None:
        return float("nan"), float("nan")
    zx, zy, ok, n = rows
    excess, share = (np.where(ok, v, np.nan) for v in _excess_terms(zx, zy, r, n))
    return float(excess[0]), float(share[0] * n)


def low_rank_caution(effective_rank: float | None, n_emotions: int, ci_low: float | None) -> str:
    """``ci_caution`` of a correlation of two RDMs: a sentence where its ``jackknife-t`` interval is given
    (``ci_low`` finite) and the kernel's ``effective_rank`` (:func:`pair_interval_terms`) is below
    :data:`LOW_RANK_CAUTION_RANK` with at least :data:`LOW_RANK_CAUTION_EMOTIONS` emotions (module docstring);
    ``""`` otherwise."""
    if (effective_rank is None or ci_low is None or not np.isfinite(ci_low) or not np.isfinite(effective_rank)
            or n_emotions < LOW_RANK_CAUTION_EMOTIONS or effective_rank >= LOW_RANK_CAUTION_RANK):
        return ""
    return (f"the emotions vary along few directions in these RDMs (the effective rank of rho's kernel is "
            f"{effective_rank:.1f}, below {LOW_RANK_CAUTION_RANK:g}): in simulated designs like this the interval "
            "covered the truth less often than its level where the two models shared part of that structure, "
            "missing below it (docs/statistics.md, 'Low-rank emotion spaces')")
