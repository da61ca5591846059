"""Two-dimensional pictures of an emotion geometry: classical MDS, Procrustes alignment, and the
emotion order of a hierarchical clustering.

Classical (Torgerson) MDS of a distance matrix ``D``: double-centre ``B = -1/2 J D**2 J`` and take
the top eigenvectors scaled by the square roots of their eigenvalues.  For cosine and correlation
RDMs, ``d = 1 - cos`` is half a *squared* chord distance between unit vectors, so the embedding
uses ``sqrt(2 d)``, which is exactly Euclidean: the 2-D MDS is then the principal-component view
of the unit-length emotion vectors.  Euclidean RDMs are embedded as they are; a cross-validated
(squared, possibly negative) distance as ``sqrt(max(d, 0))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..checks import check_count, check_finite_array
from ..exceptions import LabelError, ValidationError

__all__ = ["MDSResult", "embedding_distances", "classical_mds", "procrustes_align", "cluster_order",
           "CLUSTER_LINKAGE"]

# Average linkage (UPGMA) is the usual choice for RDMs; optimal leaf ordering puts similar
# emotions next to each other inside each cluster.
CLUSTER_LINKAGE = "average"


@dataclass(frozen=True)
class MDSResult:
    """A classical MDS embedding.

    ``coordinates`` is ``(n, n_components)``; ``eigenvalues`` are all eigenvalues of the
    double-centred matrix, largest first (negative ones mean the distances are not Euclidean);
    ``explained`` is the share of the positive eigenvalue sum that each kept axis carries.
    """

    labels: tuple[str, ...]
    coordinates: np.ndarray
    eigenvalues: np.ndarray
    explained: np.ndarray
    transform: str

    def to_frame(self) -> pd.DataFrame:
        cols = {f"dim{k + 1}": self.coordinates[:, k] for k in range(self.coordinates.shape[1])}
        return pd.DataFrame(cols, index=pd.Index(self.labels, name="emotion"))

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "coordinates": self.coordinates.tolist(),
                "explained": self.explained.tolist(), "transform": self.transform}


def embedding_distances(rdm: Any, method: str) -> tuple[np.ndarray, str]:
    """The distances classical MDS embeds for an RDM of ``method``, and a description."""
    d = check_finite_array("RDM", rdm, 2)
    if method in ("cosine", "correlation"):
        return np.sqrt(np.maximum(2.0 * d, 0.0)), "sqrt(2 d) (chord distance of unit vectors)"
    if method == "crossval-euclidean":
        return np.sqrt(np.maximum(d, 0.0)), "sqrt(max(d, 0)) of the cross-validated squared distance"
    return d, "d"


def _mds_iv(distances: Any, n_components: Any, labels: Sequence[str] | None) -> tuple[np.ndarray, int, tuple[str, ...]]:
    d = check_finite_array("distance matrix", distances, 2)
    if d.shape[0] != d.shape[1]:
        raise ValidationError(f"a distance matrix must be square; got shape {d.shape}")
    n = d.shape[0]
    if n < 3:
        raise ValidationError(f"MDS needs at least 3 points; got {n}")
    if not np.allclose(d, d.T, atol=1e-10 * max(1.0, float(np.abs(d).max()))):
        raise ValidationError("distance matrix is not symmetric")
    k = check_count("n_components", n_components, 1)
    if k >= n:
        raise ValidationError(f"n_components must be smaller than the number of points ({n}); got {k}")
    names = tuple(str(x) for x in labels) if labels is not None else tuple(str(i) for i in range(n))
    if len(names) != n:
        raise LabelError(f"{len(names)} labels for {n} points")
    return 0.5 * (d + d.T), k, names


def classical_mds(distances: Any, n_components: int = 2, *, labels: Sequence[str] | None = None,
                  transform: str = "d") -> MDSResult:
    """Classical (Torgerson) multidimensional scaling.

    Parameters
    ----------
    distances : square symmetric array of distances (not squared).
    n_components : dimensions to keep.
    labels : names of the points.
    transform : how the distances were obtained from the RDM (recorded only).

    Returns
    -------
    MDSResult
        Coordinates ``V_k * sqrt(lambda_k)`` of the top eigenpairs of ``-1/2 J D**2 J``; each
        axis's sign is fixed so that its largest-magnitude coordinate is positive.  Equal to the
        principal coordinates of ``skbio.stats.ordination.pcoa`` up to the sign of each axis.
    """
    d, k, names = _mds_iv(distances, n_components, labels)
    n = d.shape[0]
    centring = np.eye(n) - np.full((n, n), 1.0 / n)
    b = -0.5 * centring @ (d**2) @ centring
    values, vectors = np.linalg.eigh(0.5 * (b + b.T))
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    kept = np.maximum(values[:k], 0.0)
    coords = vectors[:, :k] * np.sqrt(kept)
    for j in range(k):  # a deterministic sign: eigenvectors are defined only up to it
        if coords[np.argmax(np.abs(coords[:, j])), j] < 0:
            coords[:, j] = -coords[:, j]
    positive = values[values > 0].sum()
    explained = kept / positive if positive > 0 else np.zeros(k)
    return MDSResult(names, coords, values, explained, transform)


def procrustes_align(coordinates: Any, target: Any, *, scale: bool = False) -> np.ndarray:
    """``coordinates`` rotated (or reflected) to best match ``target`` (least squares), both
    centred; with ``scale`` also scaled to it.  Rows must correspond (same labels, same order)."""
    from scipy.linalg import orthogonal_procrustes

    x = check_finite_array("coordinates", coordinates, 2)
    y = check_finite_array("target", target, 2)
    if x.shape != y.shape:
        raise ValidationError(f"coordinates {x.shape} and target {y.shape} must have the same shape")
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    rotation, singular_sum = orthogonal_procrustes(x, y)
    out = x @ rotation
    if scale:
        norm = float((x**2).sum())
        if norm > 0:
            out = out * (singular_sum / norm)
    return out


def cluster_order(rdm: Any, labels: Sequence[str], *, method: str = CLUSTER_LINKAGE) -> tuple[str, ...]:
    """Emotion labels in the leaf order of a hierarchical clustering of ``rdm``
    (``scipy.cluster.hierarchy.linkage`` with optimal leaf ordering)."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import squareform

    d = check_finite_array("RDM", rdm, 2)
    names = tuple(str(x) for x in labels)
    if d.shape != (len(names), len(names)):
        raise LabelError(f"{len(names)} labels for an RDM of shape {d.shape}")
    if len(names) < 3:
        return names
    condensed = squareform(0.5 * (d + d.T), checks=False)
    # linkage needs non-negative distances; a cross-validated RDM can dip below zero
    condensed = condensed - min(0.0, float(condensed.min()))
    tree = linkage(condensed, method=method, optimal_ordering=True)
    return tuple(names[i] for i in leaves_list(tree))
