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

__all__ = ["gram_columns", "plain_cells", "lower_grams", "cells_from_lower"]


def gram_columns(counts: np.ndarray, blocks: Sequence[Sequence[np.ndarray]]) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(f, k, column)`` for every emotion ``f`` and model ``k`` of a paired group: ``column[b, e]`` (B, f + 1) is
    ``G[e, f]`` of resample ``b``, for prompt counts ``counts`` (B, E, P) and Gram blocks ``blocks[f][k]``
    (P, (f+1) P).  The column is a view into a buffer reused by the next step: copy it before asking for more."""
    cb = np.ascontiguousarray(counts)
    n_b, n_e, n_p = cb.shape
    # One buffer for every product of the batch: a fresh (B, (f+1) P) array each time costs page faults
    # where malloc hands large blocks straight to mmap (as in dask workers: MALLOC_TRIM_THRESHOLD_).
    buffer = np.empty(n_b * n_e * n_p)
    for f in range(n_e):
        cf = cb[:, f, :]
        below = cb[:, : f + 1, :]
        product = buffer[: n_b * (f + 1) * n_p].reshape(n_b, (f + 1) * n_p)
        for k, block in enumerate(blocks[f]):
            # (B, P) @ (P, (f+1) P): one model, every resample of the batch, emotions e <= f (one model at a
            # time keeps the product small enough to stay in cache for the contraction that follows).
            t = np.matmul(cf, block, out=product).reshape(n_b, f + 1, n_p)
            yield f, k, np.einsum("bep,bep->be", t, below)


def plain_cells(post: str, rdm_method: str) -> bool:
    """Whether the RDM is a function of the Gram matrix of the prompt means alone (no mean-vector step across
    emotions): :func:`cells_from_lower` then applies.  ``unit`` scaling changes only the Euclidean RDM."""
    return post == "none" or (post == "unit" and rdm_method != "euclidean")


def lower_grams(counts: np.ndarray, blocks: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Gram matrices (K, B, E, E) of the count-weighted prompt sums of the K models of a paired group, of which
    only the lower triangle and the diagonal are written (:func:`cells_from_lower` reads nothing else)."""
    n_b, n_e, _ = counts.shape
    lower = np.empty((len(blocks[0]), n_b, n_e, n_e))
    for f, k, column in gram_columns(counts, blocks):
        lower[k, :, f, : f + 1] = column  # row f, columns e <= f: G[f, e] = G[e, f]
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
        inv = 1.0 / np.sqrt(diag)
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
