import numpy as np
import pytest

from rsastats.exceptions import LabelError, ValidationError
from rsastats.simulate import simulate_activations
from rsastats.vectors import NORMALIZATIONS, emotion_vectors, select_layers


@pytest.fixture
def acts():
    return simulate_activations(n_emotions=6, n_prompts=5, n_layers=4, hidden=8, n_baseline=10, seed=1)


def _values(ds):
    return ds["vectors"].values.astype(np.float64)


def test_raw_is_the_mean_over_prompts_at_the_last_layer(acts):
    v = emotion_vectors(acts)
    expected = acts["activations"].isel(layer=-1).mean("prompt").values
    np.testing.assert_allclose(_values(v), expected, rtol=1e-6)
    assert v.attrs["normalization"] == "raw" and v.attrs["layer_selection"] == "layer 3"
    assert v.attrs["model"] == "simulated" and v.attrs["n_prompts_min"] == 5


def test_layer_choice(acts):
    assert select_layers([0, 1, 2, 3], -2) == ([2], "layer 2")
    assert select_layers([0, 5, 9], 5) == ([5], "layer 5")
    chosen, text = select_layers([0, 1, 2, 3], last_k=3)
    assert chosen == [1, 2, 3] and "mean of last 3" in text
    v = emotion_vectors(acts, last_k=2)
    expected = acts["activations"].isel(layer=[2, 3]).mean(("layer", "prompt")).values
    np.testing.assert_allclose(_values(v), expected, rtol=1e-5)
    assert v.attrs["layers"] == "2, 3"
    with pytest.raises(ValidationError, match="either layer or last_k"):
        emotion_vectors(acts, layer=1, last_k=2)
    with pytest.raises(ValidationError, match="no layer 7"):
        emotion_vectors(acts, layer=7)
    with pytest.raises(ValidationError, match="only 4 layer"):
        emotion_vectors(acts, last_k=5)


def test_only_valid_prompts_are_averaged(acts):
    valid = np.ones((6, 5), dtype=np.int8)
    valid[0, :3] = 0
    values = acts["activations"].values.copy()
    values[0, :3] = np.nan  # invalid prompts may hold anything
    from rsastats.io import make_activations
    ds = make_activations(values, list(acts["emotion"].values), valid=valid, attrs=dict(acts.attrs))
    v = _values(emotion_vectors(ds))
    np.testing.assert_allclose(v[0], acts["activations"].values[0, 3:, -1].mean(axis=0), rtol=1e-6)


def test_prompt_subset(acts):
    v = _values(emotion_vectors(acts, prompts=[0, 1]))
    np.testing.assert_allclose(v, acts["activations"].values[:, :2, -1].mean(axis=1), rtol=1e-6)
    with pytest.raises(LabelError, match="no prompt"):
        emotion_vectors(acts, prompts=[9])


def test_normalizations(acts):
    raw = _values(emotion_vectors(acts))
    centred = _values(emotion_vectors(acts, normalization="emotion-mean"))
    np.testing.assert_allclose(centred, raw - raw.mean(axis=0), atol=1e-5)
    unit = _values(emotion_vectors(acts, normalization="unit"))
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-6)
    z = _values(emotion_vectors(acts, normalization="zscore"))
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-5)
    base = acts["baseline"].isel(layer=-1).values.astype(np.float64)
    b = _values(emotion_vectors(acts, normalization="baseline-mean"))
    np.testing.assert_allclose(b, raw - base.mean(axis=0), atol=1e-5)
    pc = _values(emotion_vectors(acts, normalization="neutral-pc", n_pcs=2))
    _, _, vt = np.linalg.svd(base - base.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(pc @ vt[:2].T, 0.0, atol=1e-5)  # no component left along the top PCs
    np.testing.assert_allclose(pc, raw - (raw @ vt[:2].T) @ vt[:2], atol=1e-5)
    assert emotion_vectors(acts, normalization="neutral-pc", n_pcs=2).attrs["n_pcs"] == 2
    assert set(NORMALIZATIONS) == {"raw", "emotion-mean", "baseline-mean", "neutral-pc", "unit", "zscore"}


def test_normalization_errors(acts):
    no_base = simulate_activations(n_emotions=6, n_prompts=5, n_layers=2, hidden=8, seed=1)
    with pytest.raises(ValidationError, match="needs baseline"):
        emotion_vectors(no_base, normalization="baseline-mean")
    with pytest.raises(ValidationError, match="n_pcs=20"):
        emotion_vectors(acts, normalization="neutral-pc", n_pcs=20)
    with pytest.raises(ValidationError, match="normalization must be one of"):
        emotion_vectors(acts, normalization="whiten")
    assert emotion_vectors(acts, normalization="centred").attrs["normalization"] == "emotion-mean"
