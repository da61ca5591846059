"""Classical MDS against scikit-bio's PCoA and against PCA by SVD, Procrustes alignment, and the
emotion order of the hierarchical clustering."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from rsastats.exceptions import ValidationError
from rsastats.rdm import rdm_matrix
from rsastats.report.ordination import classical_mds, cluster_order, embedding_distances, procrustes_align


def _same_up_to_axis_signs(a, b, atol=1e-8):
    signs = np.sign((a * b).sum(axis=0))
    np.testing.assert_allclose(a, b * signs, atol=atol)


def test_classical_mds_equals_skbio_pcoa():
    from skbio import DistanceMatrix
    from skbio.stats.ordination import pcoa

    x = np.random.default_rng(0).standard_normal((9, 5))
    d = squareform(pdist(x))
    ours = classical_mds(d, 3)
    ref = pcoa(DistanceMatrix(d), number_of_dimensions=3)
    _same_up_to_axis_signs(ours.coordinates, ref.samples.to_numpy()[:, :3])
    np.testing.assert_allclose(ours.eigenvalues[:3], ref.eigvals.to_numpy()[:3], rtol=1e-10)
    np.testing.assert_allclose(ours.explained, ref.proportion_explained.to_numpy()[:3], rtol=1e-8)


def test_mds_of_a_cosine_rdm_is_pca_of_the_unit_vectors():
    """sqrt(2 d) of a cosine RDM is the chord distance of unit vectors: its classical MDS equals
    the principal-component scores (SVD) of the centred unit vectors."""
    v = np.random.default_rng(1).standard_normal((12, 30))
    rdm = rdm_matrix(v, "cosine")
    dist, _ = embedding_distances(rdm, "cosine")
    ours = classical_mds(dist, 2).coordinates
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    centred = unit - unit.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    _same_up_to_axis_signs(ours, u[:, :2] * s[:2])


def test_mds_recovers_planar_points_exactly():
    xy = np.random.default_rng(2).standard_normal((10, 2))
    res = classical_mds(squareform(pdist(xy)), 2)
    np.testing.assert_allclose(squareform(pdist(res.coordinates)), squareform(pdist(xy)), atol=1e-10)
    np.testing.assert_allclose(res.explained.sum(), 1.0)
    assert res.eigenvalues[2:].max() < 1e-10


def test_mds_sign_is_deterministic():
    d = squareform(pdist(np.random.default_rng(3).standard_normal((7, 3))))
    a, b = classical_mds(d, 2).coordinates, classical_mds(d.copy(), 2).coordinates
    np.testing.assert_array_equal(a, b)
    for j in range(2):
        assert a[np.argmax(np.abs(a[:, j])), j] > 0


@pytest.mark.parametrize("bad", [np.ones((3, 4)), np.array([[0, 1, 2], [1, 0, 1], [3, 1, 0.0]]), np.zeros((2, 2)),
                                 np.array([[0, np.nan, 1], [np.nan, 0, 1], [1, 1, 0]])])
def test_mds_refuses_bad_matrices(bad):
    with pytest.raises(ValidationError):
        classical_mds(bad, 2)


def test_procrustes_undoes_a_rotation_and_reflection():
    xy = np.random.default_rng(4).standard_normal((8, 2))
    angle = 0.7
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]) @ np.diag([1, -1])
    moved = xy @ rot + 3.0
    aligned = procrustes_align(moved, xy)
    np.testing.assert_allclose(aligned, xy - xy.mean(axis=0), atol=1e-10)


def test_cluster_order_puts_each_tight_group_together():
    rng = np.random.default_rng(5)
    centres = 10 * rng.standard_normal((3, 4))
    points = np.vstack([c + 0.1 * rng.standard_normal((4, 4)) for c in centres])
    labels = [f"g{i // 4}-{i % 4}" for i in range(12)]
    perm = rng.permutation(12)
    d = squareform(pdist(points[perm]))
    order = cluster_order(d, [labels[i] for i in perm])
    groups = [name.split("-")[0] for name in order]
    # each group occupies one contiguous run of the order
    runs = [g for i, g in enumerate(groups) if i == 0 or g != groups[i - 1]]
    assert sorted(runs) == ["g0", "g1", "g2"]
    assert sorted(order) == sorted(labels)


def test_cluster_order_does_not_depend_on_input_order():
    rng = np.random.default_rng(6)
    points = rng.standard_normal((9, 3))
    labels = [f"e{i}" for i in range(9)]
    d = squareform(pdist(points))
    first = cluster_order(d, labels)
    perm = rng.permutation(9)
    second = cluster_order(d[np.ix_(perm, perm)], [labels[i] for i in perm])
    assert first == second or first == tuple(reversed(second))
