import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from rsastats.io import open_rdm, write_dataset
from rsastats.exceptions import LabelError, ValidationError
from rsastats.rdm import RDM, crossvalidated_rdm, rdm_from_dataset, rdm_matrix, upper
from rsastats.simulate import simulate_activations
from rsastats.vectors import prompt_rows


@pytest.mark.parametrize("method", ["cosine", "correlation", "euclidean"])
def test_rdm_matrix_equals_scipy(method):
    v = np.random.default_rng(0).standard_normal((7, 20))
    np.testing.assert_allclose(rdm_matrix(v, method), squareform(pdist(v, method)), rtol=0, atol=1e-12)


def test_upper_is_row_major_like_squareform():
    m = squareform(np.arange(1.0, 11.0))
    np.testing.assert_array_equal(upper(m), np.arange(1.0, 11.0))


def test_zero_vector_under_cosine_names_the_emotion():
    v = np.random.default_rng(1).standard_normal((4, 3))
    v[2] = 0
    with pytest.raises(ValidationError, match="emotion vector c has .numerically. zero norm"):
        rdm_matrix(v, "cosine", labels=list("abcd"))
    rdm_matrix(v, "euclidean")  # fine: Euclidean distance to the origin is defined
    v[2] = 5.0
    with pytest.raises(ValidationError, match="constant"):
        rdm_matrix(v, "correlation", labels=list("abcd"))


def test_rdm_type_validates():
    m = squareform(np.arange(1.0, 7.0))
    with pytest.raises(ValidationError, match="symmetric"):
        bad = m.copy()
        bad[0, 1] += 1
        RDM(bad, tuple("abcd"))
    with pytest.raises(ValidationError, match="diagonal"):
        RDM(m + np.eye(4), tuple("abcd"))
    with pytest.raises(LabelError, match="duplicated"):
        RDM(m, ("a", "b", "a", "d"))
    with pytest.raises(ValidationError, match="NaN"):
        RDM(np.where(m == 1.0, np.nan, m), tuple("abcd"))
    r = RDM(m, tuple("abcd"), "euclidean", "src")
    assert not r.matrix.flags.writeable
    assert r.reorder("dcba").to_frame().loc["a", "b"] == r.to_frame().loc["a", "b"]
    with pytest.raises(LabelError, match="only in"):
        r.reorder("abce")


def test_rdm_file_roundtrip(tmp_path):
    m = squareform(np.random.default_rng(2).random(10))
    r = RDM(m, tuple("vwxyz"), "cosine", "model-x", {"layer_selection": "layer 3"})
    path = write_dataset(r.to_dataset(), tmp_path / "r.nc")
    back = RDM.from_dataset(open_rdm(path))
    np.testing.assert_array_equal(back.matrix, r.matrix)
    assert back.labels == r.labels and back.method == "cosine" and back.source == "model-x"
    assert back.attrs["layer_selection"] == "layer 3"


def test_rdm_from_dataset_kinds(vectors_ds, rdm_ds):
    acts = simulate_activations(n_emotions=5, n_prompts=4, n_layers=2, hidden=6, seed=3)
    r = rdm_from_dataset(acts)
    v = acts["activations"].values[:, :, -1].astype(np.float64).mean(axis=1)
    np.testing.assert_allclose(r.matrix, squareform(pdist(v, "cosine")), atol=1e-12)
    assert r.attrs["layer_selection"] == "layer 1"
    rv = rdm_from_dataset(vectors_ds, method="euclidean")
    np.testing.assert_allclose(rv.matrix, squareform(pdist(vectors_ds["vectors"].values.astype(float))), atol=1e-12)
    assert rdm_from_dataset(rdm_ds).method == "euclidean"
    with pytest.raises(ValidationError, match="needs per-prompt"):
        rdm_from_dataset(vectors_ds, method="crossval-euclidean")


def test_crossvalidated_distance_is_unbiased():
    # Its expectation is the noise-free squared distance; the plain one is inflated by noise.
    truth = np.random.default_rng(4).standard_normal((4, 30))
    layer_scale = np.linspace(0.5, 1.5, 1)[0]  # simulate_activations scales layer l's signal
    target = squareform(pdist(layer_scale * truth, "sqeuclidean"))
    cv, plain = [], []
    for s in range(60):
        acts = simulate_activations(4, 8, 1, 30, noise=2.0, vectors=truth, seed=100 + s)
        rows = prompt_rows(acts)
        cv.append(crossvalidated_rdm(rows, 2))
        plain.append(rdm_matrix(rows.values.sum(1) / 8, "euclidean") ** 2)
    scale = np.abs(target[target > 0]).mean()
    assert np.abs(np.mean(cv, axis=0) - target).max() < 0.15 * scale
    assert (np.mean(plain, axis=0) - target)[np.triu_indices(4, 1)].min() > 0.3 * scale


def test_crossvalidated_needs_enough_prompts():
    acts = simulate_activations(4, 2, 1, 5, seed=1)
    with pytest.raises(ValidationError, match="needs >= 3 valid prompts"):
        crossvalidated_rdm(prompt_rows(acts), 3)
