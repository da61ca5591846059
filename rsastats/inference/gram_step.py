"""The Gram step of the prompt bootstrap: Gram matrices of resampled emotion means from precomputed Gram blocks,
and the RDM cells that follow from them (:class:`rsastats.inference.engine.ResamplingEngine`).

For each model the Gram matrix of all prompt rows ``K = X X^T`` is computed once and kept as one block per emotion
``f``: the rows of emotion ``f`` against the rows of emotions ``e <= f``, ``(P, (f+1) P)``.  For prompt counts
``c`` (B, E, P) the Gram matrix of the count-weighted prompt sums is ``G[e, f] = c_e^T K[e, f] c_f``: one matrix
product ``c_f^T K[f, :f+1 blocks]`` per emotion and model serves every resample of a batch, and a contraction with
``c_e`` gives column ``f`` of ``G`` for ``e <= f`` (:func:`gram_columns`).

Where the RDM is a function of ``G`` alone (cosine and correlation RDMs of vectors that need no mean-vector step
across emotions, and Euclidean RDMs of unnormalized vectors), :func:`cells_from_lower` turns the lower triangles of
those Gram matrices into the RDMs' upper triangles cell by cell, with the same floating-point operations, in the same
order, as dividing ``G`` by the prompt totals and calling :func:`rsastats.rdm.rdm_from_gram`: the same numbers, bit for
bit, without building, symmetrizing and gathering the full ``E x E`` matrices (8.5 ms of a 65-ms batch of 128
resamples with 21 emotions and 12 models in a single-threaded profile; docs/performance.md).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

__all__ = ["gram_columns", "plain_cells", "lower_grams", "cells_from_lower", "stand_in_cells"]


def gram_columns(counts: np.ndarray, blocks: Sequence[Sequence[np.ndarray]],
                 present: np.ndarray | None = None) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(f, k, column)`` for every emotion ``f`` and model ``k`` of a paired group: ``column[b, e]`` (B, f + 1) is
    ``G[e, f]`` of resample ``b``, for prompt counts ``counts`` (B, E, P) and Gram blocks ``blocks[f][k]``
    (P, (f+1) P).  The column is a view into a buffer reused by the next step: copy it before asking for more.

    ``present`` (B, E) bool: where emotion ``f`` is not drawn in resample ``b`` (an emotion bootstrap's count of 0),
    nobody needs ``G[., f]`` of that resample, and column ``f`` holds only the rows ``flatnonzero(present[:, f])``
    (about 63% of them in an emotion bootstrap): each row is computed by the same operations as without
    ``present``, so the rows it holds are the same numbers."""
    cb = np.ascontiguousarray(counts)
    n_b, n_e, n_p = cb.shape
    # One buffer for every product of the batch: a fresh (B, (f+1) P) array each time costs page faults
    # where malloc hands large blocks straight to mmap (as in dask workers: MALLOC_TRIM_THRESHOLD_).
    buffer = np.empty(n_b * n_e * n_p)
    for f in range(n_e):
        rows = None if present is None else np.flatnonzero(present[:, f])
        if rows is None or len(rows) == n_b:
            cf, below, n_rows = cb[:, f, :], cb[:, : f + 1, :], n_b
        else:  # the drawn resamples only, gathered once for every model
            cf, below, n_rows = cb[rows, f, :], cb[rows, : f + 1, :], len(rows)
        product = buffer[: n_rows * (f + 1) * n_p].reshape(n_rows, (f + 1) * n_p)
        for k, block in enumerate(blocks[f]):
            # (B, P) @ (P, (f+1) P): one model, every resample of the batch, emotions e <= f (one model at a
            # time keeps the product small enough to stay in cache for the contraction that follows).
            t = np.matmul(cf, block, out=product).reshape(n_rows, f + 1, n_p)
            yield f, k, np.einsum("bep,bep->be", t, below)


def plain_cells(post: str, rdm_method: str) -> bool:
    """Whether the RDM is a function of the Gram matrix of the prompt means alone (no mean-vector step across
    emotions): :func:`cells_from_lower` then applies.  ``unit`` scaling changes only the Euclidean RDM."""
    return post == "none" or (post == "unit" and rdm_method != "euclidean")


def lower_grams(counts: np.ndarray, blocks: Sequence[Sequence[np.ndarray]],
                present: np.ndarray | None = None) -> np.ndarray:
    """Gram matrices (K, B, E, E) of the count-weighted prompt sums of the K models of a paired group, of which
    only the lower triangle and the diagonal are written (:func:`cells_from_lower` reads nothing else).

    ``present`` (B, E) bool (:func:`gram_columns`): row ``f`` of resample ``b`` is computed only where emotion ``f``
    is drawn; elsewhere it is the Gram row of an orthonormal vector (1 on the diagonal, 0 below it), so every cell
    that follows is finite, and a cell with an emotion not drawn has weight 0 in the resample's correlation."""
    n_b, n_e, _ = counts.shape
    lower = np.empty((len(blocks[0]), n_b, n_e, n_e))
    if present is not None and not present.all():
        absent_b, absent_f = np.nonzero(~np.asarray(present, dtype=bool))
        lower[:, absent_b, absent_f, :] = 0.0
        lower[:, absent_b, absent_f, absent_f] = 1.0
    for f, k, column in gram_columns(counts, blocks, present):
        if present is None or column.shape[0] == n_b:
            lower[k, :, f, : f + 1] = column  # row f, columns e <= f: G[f, e] = G[e, f]
        else:
            lower[k, np.flatnonzero(present[:, f]), f, : f + 1] = column
    return lower


def cells_from_lower(lower: np.ndarray, totals: np.ndarray, iu: np.ndarray, ju: np.ndarray, method: str) -> np.ndarray:
    """RDM upper triangles (K, B, m), cells ``(iu, ju)`` with ``iu < ju``, from Gram matrices ``lower`` (K, B, E, E)
    of prompt sums (lower triangle and diagonal) whose prompt totals are ``totals`` (B, E).

    The numbers are those of ``rdm_from_gram(G / (t t^T), method)[..., iu, ju]`` bit for bit: the same divisions,
    the products ``G_ij inv_i inv_j`` in both orders that ``rdm_from_gram`` symmetrizes, and the Euclidean cell
    that its symmetrization leaves unchanged."""
    idx = np.arange(lower.shape[-1])
    g = lower[..., ju, iu]
    g /= totals[:, iu] * totals[:, ju]
    diag = lower[..., idx, idx] / (totals * totals)
    del lower  # the caller's temporary: freed here, before the cell-sized arrays below
    if method in ("cosine", "correlation"):
        with np.errstate(invalid="ignore", divide="ignore"):  # a squared norm of 0 (a prompt left out of a
            inv = 1.0 / np.sqrt(diag)  # constant vector): NaN cells, which the callers treat as undefined
            a, b = inv[..., iu], inv[..., ju]
            left = np.multiply(g, a)
            left *= b  # (G_ij inv_i) inv_j, as rdm_from_gram's cell (i, j)
            g *= b
            g *= a  # (G_ij inv_j) inv_i, its cell (j, i)
        np.subtract(1.0, left, out=left)
        np.subtract(1.0, g, out=g)
        left += g
        left *= 0.5
        return left
    g *= -2.0
    g += diag[..., iu] + diag[..., ju]  # (d_i + d_j) - 2 G_ij: adding -2 G_ij is subtracting 2 G_ij
    return np.sqrt(np.maximum(g, 0.0, out=g), out=g)


def stand_in_cells(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """RDM cells (K, B, m) whose weight (B, m) is 0 set to distinct values above every cell of their row.

    A cell of weight 0 adds nothing to a weighted correlation, whatever its value; but cells of equal value are ties,
    and one tie sends a whole batch down the slower tie-handling path of the mid-ranks (twice the time of the ranks of
    21 emotions x 12 models x 128 resamples).  The cells that :func:`lower_grams` does not compute are such cells,
    and its stand-ins (an orthonormal vector's Gram row) are all equal: here each gets its own value, so ties are
    those of the computed cells only, and the correlations are the numbers they would be with every cell computed."""
    absent = np.asarray(weights) == 0
    top = values.max(axis=-1, keepdims=True)  # finite: lower_grams' stand-ins are
    return np.where(absent, top + 1.0 + np.arange(values.shape[-1]), values)
