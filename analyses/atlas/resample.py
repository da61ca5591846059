"""Emotion resamples as weight vectors over fixed RDM cells, and the weighted Spearman correlations
they need (the same arithmetic as ``rsastats.inference.engine``: a resample of emotions with counts
``c`` gives cell ``{i, j}`` the weight ``c_i c_j``; self-pairs of duplicates are dropped).

Every statistic here -- rho, split-half and cross-half correlations, the corrected estimators -- is a
function of a few fixed cell vectors and the emotion weights, so a resample of a resample (double
bootstrap) or a leave-one-out of a resample (studentized bootstrap) costs only weighted rank
correlations: no RDM is ever recomputed.
"""

from __future__ import annotations

import numpy as np

from rsastats.measures.kernels import standardize, weighted_midranks

from . import _fast

__all__ = ["CellSet", "emotion_counts", "inner_counts", "cell_weights", "jackknife_counts"]


def emotion_counts(rng: np.random.Generator, n_boot: int, n: int) -> np.ndarray:
    """Counts (B, n) of ``n`` emotions drawn with replacement, ``n_boot`` times."""
    idx = rng.integers(0, n, size=(n_boot, n))
    rows = np.arange(n_boot)[:, None]
    return np.bincount((idx + n * rows).ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)


def inner_counts(rng: np.random.Generator, outer: np.ndarray, n_inner: int) -> np.ndarray:
    """Resamples of resamples: for each outer count vector (B, n), ``n_inner`` multinomial draws of
    ``n`` from it (B, n_inner, n): each is again a count vector over the original emotions."""
    n_b, n = outer.shape
    total = int(outer[0].sum())
    out = np.empty((n_b, n_inner, n))
    for b in range(n_b):
        out[b] = rng.multinomial(total, outer[b] / total, size=n_inner)
    return out


def jackknife_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-draw-out counts of each resample: (B, n, n) counts (row ``i`` removes one copy of
    emotion ``i``) and (B, n) multiplicities (how many draws give that leave-one-out sample; 0 where
    emotion ``i`` was not drawn)."""
    n = counts.shape[-1]
    loo = counts[:, None, :] - np.eye(n)[None]
    return np.maximum(loo, 0.0), counts.copy()


def cell_weights(counts: np.ndarray) -> np.ndarray:
    """Cell weights (..., m) from emotion counts (..., n)."""
    n = counts.shape[-1]
    iu, ju = np.triu_indices(n, 1)
    return counts[..., iu] * counts[..., ju]


class CellSet:
    """Fixed cell vectors (K, m) of RDM upper triangles; weighted Spearman correlations of chosen
    pairs of rows for many weight vectors at once."""

    def __init__(self, cells: np.ndarray):
        self.cells = np.ascontiguousarray(cells, dtype=np.float64)
        self.order = np.argsort(self.cells, axis=-1)
        ordered = np.take_along_axis(self.cells, self.order, axis=-1)
        self.no_ties = bool(np.all(np.diff(ordered, axis=-1) > 0))

    def correlate(self, pairs: np.ndarray, weights: np.ndarray | None = None, batch: int = 512) -> np.ndarray:
        """Weighted Spearman (B, n_pairs) for weights (B, m) (None: unweighted, B = 1)."""
        pairs = np.asarray(pairs)
        used = np.unique(pairs)
        if weights is None:
            weights = np.ones((1, self.cells.shape[1]))
        if _fast.AVAILABLE and self.no_ties:
            return _fast.weighted_spearman_pairs(self.cells, self.order, pairs, weights)
        out = np.empty((weights.shape[0], len(pairs)))
        vals = self.cells[used][:, None, :]
        order = self.order[used][:, None, :]
        pos = {u: k for k, u in enumerate(used)}
        for s in range(0, weights.shape[0], batch):
            w = weights[s:s + batch][None]
            ranks = weighted_midranks(np.broadcast_to(vals, (len(used), w.shape[1], vals.shape[2])), w, order)
            z, _ = standardize(ranks, w)
            for k, (i, j) in enumerate(pairs):
                out[s:s + batch, k] = np.einsum("bm,bm->b", z[pos[i]], z[pos[j]])
        return np.clip(out, -1.0, 1.0)
