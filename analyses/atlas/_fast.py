"""Optional numba kernel for the weighted Spearman correlations of fixed cell vectors (the study's
hot loop).  Same numbers as :class:`analyses.atlas.resample.CellSet`'s numpy path (tested to 1e-12)
for cell vectors without ties (cosine RDMs of continuous data); the numpy path is used where numba
is not installed."""

from __future__ import annotations

import numpy as np

try:  # pragma: no cover - depends on the environment
    import numba
except ImportError:  # pragma: no cover
    numba = None

__all__ = ["AVAILABLE", "weighted_spearman_pairs"]

AVAILABLE = numba is not None


def _kernel(cells, order, used, pairs_pos, weights, out):
    n_b, m = weights.shape
    n_used = used.shape[0]
    for b in numba.prange(n_b):
        w = weights[b]
        total = 0.0
        for k in range(m):
            total += w[k]
        z = np.empty((n_used, m))
        for u in range(n_used):
            o = order[used[u]]
            cum = 0.0
            for k in range(m):
                c = o[k]
                wc = w[c]
                z[u, c] = cum + 0.5 * (wc + 1.0)
                cum += wc
            mean = 0.0
            for k in range(m):
                mean += w[k] * z[u, k]
            mean /= total
            ss = 0.0
            for k in range(m):
                d = z[u, k] - mean
                z[u, k] = d
                ss += w[k] * d * d
            inv = 1.0 / np.sqrt(ss) if ss > 0 else np.nan
            for k in range(m):
                z[u, k] *= inv
        for p in range(pairs_pos.shape[0]):
            i = pairs_pos[p, 0]
            j = pairs_pos[p, 1]
            s = 0.0
            for k in range(m):
                s += w[k] * z[i, k] * z[j, k]
            out[b, p] = min(1.0, max(-1.0, s))


if AVAILABLE:  # pragma: no cover
    _compiled = numba.njit(parallel=True, cache=True, fastmath=False)(_kernel)


def weighted_spearman_pairs(cells: np.ndarray, order: np.ndarray, pairs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    used = np.unique(pairs)
    pos = {u: k for k, u in enumerate(used)}
    pairs_pos = np.array([[pos[i], pos[j]] for i, j in pairs], dtype=np.int64)
    out = np.empty((weights.shape[0], len(pairs)))
    _compiled(cells, order.astype(np.int64), used.astype(np.int64), pairs_pos, np.ascontiguousarray(weights, dtype=np.float64), out)
    return out
