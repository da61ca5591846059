"""The response of the decomposition: how a file's RDM cells become the modelled values.

Each file's upper-triangle cells are ranked (``"rank"``, the default: shares speak Spearman) or
kept as values (``"zscore"``), then centred and scaled to unit (population) variance within the
file, so that ``Y'Y / K`` is the matrix of Spearman (Pearson) correlations between the files'
RDMs.  The bootstrap and the design effect rebuild the cells over resampled emotions.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["RESPONSES", "standardise", "resampled_cells", "pair_correlations"]

RESPONSES = ("rank", "zscore")


def standardise(cells: np.ndarray, response: str) -> np.ndarray:
    """(F, K) cell values -> (K, F) responses: ranks (or values) centred and scaled to unit
    (population) variance within each file, so that Y'Y / K is the files' Spearman (Pearson) matrix."""
    values = stats.rankdata(cells, axis=1) if response == "rank" else np.asarray(cells, dtype=np.float64)
    centred = values - values.mean(axis=1, keepdims=True)
    scale = centred.std(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (centred / scale).T


def resampled_cells(rdms: np.ndarray, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cells of the RDMs over resampled emotions (self-pairs that duplicates create dropped):
    values (F, K*) and the positions (K*, 2) of each cell's two emotions in ``index``."""
    n = index.size
    a, b = np.triu_indices(n, 1)
    keep = index[a] != index[b]
    a, b = a[keep], b[keep]
    return rdms[:, index[a], index[b]], np.column_stack([a, b])


def pair_correlations(ranks: np.ndarray, pair_idx: np.ndarray) -> np.ndarray:
    """Spearman rho of the file pairs ``pair_idx`` (P, 2) from standardised ranks (K, F)."""
    rho = np.einsum("kp,kp->p", ranks[:, pair_idx[:, 0]], ranks[:, pair_idx[:, 1]]) / ranks.shape[0]
    return np.clip(rho, -1.0, 1.0)  # identical rankings give 1 + rounding
