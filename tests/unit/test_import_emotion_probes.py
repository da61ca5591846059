"""The probe folder of emotion-probes 0.1.0 (``EmotionExtractor.extract_all``): ``layer_<L>_<emotion>.npy`` vectors,
centred on their mean over emotions, ``layer_<L>_mean.npy`` that mean, and ``checkpoints/`` the vectors before it
was subtracted; ``L`` indexes ``model.model.layers``, whose output a forward hook read (the block convention).

Before 2026-12-07 ``rsastats import`` refused the folder (files beside a sub-folder) and, given the files, imported
each file as an emotion named by its stem: ``layer_20_happy``, and the mean as an emotion ``layer_20_mean``.  The
folder is written here as ``EmotionExtractor._save_layer`` and ``extract_all`` write it (their lines quoted); where
the package itself can be imported (it asks for Python 3.12; ``make install`` puts it beside this Python with
``--no-deps --ignore-requires-python``), one more test makes the folder with its own code."""

from __future__ import annotations

import numpy as np
import pytest

from rsastats.exceptions import ImportFormatError, LabelError
from rsastats.io import import_vectors, layer_offset

EMOTIONS = ["happy", "sad", "calm", "afraid", "angry"]
LAYERS = [10, 20]


def save_layer(vectors: dict[str, np.ndarray], output_dir, layer: int) -> None:
    """emotion-probes 0.1.0, ``EmotionExtractor._save_layer``, line for line."""
    output_dir.mkdir(parents=True, exist_ok=True)
    mean_vec = np.mean(list(vectors.values()), axis=0)
    for emo in vectors:
        vectors[emo] -= mean_vec
    np.save(output_dir / f"layer_{layer}_mean.npy", mean_vec)
    for emo, vec in vectors.items():
        np.save(output_dir / f"layer_{layer}_{emo}.npy", vec)


@pytest.fixture
def raw_vectors():
    rng = np.random.default_rng(5)
    return {layer: {e: rng.standard_normal(16) + 3.0 for e in EMOTIONS} for layer in LAYERS}


@pytest.fixture
def probe_dir(tmp_path, raw_vectors):
    folder = tmp_path / "probe"
    for layer in LAYERS:
        for emo, vec in raw_vectors[layer].items():  # extract_all's checkpoint of each vector before centring
            (folder / "checkpoints").mkdir(parents=True, exist_ok=True)
            np.save(folder / "checkpoints" / f"layer_{layer}_{emo}.npy", vec)
        save_layer({e: v.copy() for e, v in raw_vectors[layer].items()}, folder, layer)
    return folder


def test_a_probe_folder_imports_its_emotions_at_the_right_layers(probe_dir, raw_vectors):
    ds = import_vectors(probe_dir)
    assert sorted(str(e) for e in ds["emotion"].values) == sorted(EMOTIONS)  # no "mean", no "layer_10_happy"
    assert list(ds["layer"].values) == [11, 21] and layer_offset(ds.attrs) == 0  # block L = hidden_states[L + 1]
    assert ds.attrs["source_layers"] == "10, 20" and ds.attrs["source_layer_convention"] == "block"
    assert ds.attrs["source_format"] == "emotion-probes" and ds.attrs["producer_centring"].startswith("emotion-mean")
    for layer in LAYERS:  # the centred vectors, as the folder holds them
        mean = np.mean([raw_vectors[layer][e] for e in EMOTIONS], axis=0)
        for emo in EMOTIONS:
            np.testing.assert_allclose(ds["vectors"].sel(emotion=emo, layer=layer + 1).values,
                                       raw_vectors[layer][emo] - mean, rtol=1e-6, atol=1e-6)


def test_the_files_listed_and_the_labels_order(probe_dir):
    files = sorted(probe_dir.glob("layer_20_*.npy"))
    ds = import_vectors(files, labels=list(reversed(EMOTIONS)))
    assert [str(e) for e in ds["emotion"].values] == list(reversed(EMOTIONS)) and list(ds["layer"].values) == [21]
    with pytest.raises(LabelError, match="do not match the emotions named by the files"):
        import_vectors(files, labels=EMOTIONS[:-1])
    kept = import_vectors(probe_dir, keep_layer_indices=True)
    assert list(kept["layer"].values) == LAYERS and layer_offset(kept.attrs) == 1


def test_a_broken_probe_folder_is_one_error(probe_dir):
    (probe_dir / "layer_20_mean.npy").unlink()  # means for one layer of two
    with pytest.raises(ImportFormatError, match=r"mean over emotions \(mean\) for layer\(s\) \[10\] but vectors for"):
        import_vectors(probe_dir)
    (probe_dir / "layer_20_sad.npy").unlink()
    with pytest.raises(ImportFormatError, match="ragged layers"):
        import_vectors(probe_dir)


def test_layer_named_files_without_means_keep_an_unknown_convention(tmp_path):
    rng = np.random.default_rng(1)
    for emo in EMOTIONS:
        np.save(tmp_path / f"layer_7_{emo}.npy", rng.standard_normal(8))
    ds = import_vectors(tmp_path)
    assert sorted(str(e) for e in ds["emotion"].values) == sorted(EMOTIONS) and list(ds["layer"].values) == [7]
    assert ds.attrs["source_format"] == "npy-layer-named" and "producer_centring" not in ds.attrs
    assert "layer_convention" in ds.attrs["unknown_attributes"]


def test_the_folder_emotion_probes_itself_writes(tmp_path, raw_vectors):
    """emotion-probes' own ``EmotionExtractor.extract_all`` on activations from a loader of our own."""
    probe = pytest.importorskip("emotion_probes.probe")

    class Loader(probe.ActivationLoader):
        @property
        def layers(self):
            return LAYERS

        def load_batch(self, prompt_filepaths):  # each story's tokens: the emotion's vector plus a little noise
            rng = np.random.default_rng(0)
            emo = [p.stem.rsplit("_", 2)[-2] for p in prompt_filepaths]
            return {layer: [raw_vectors[layer][e] + 0.01 * rng.standard_normal((120, 16)) for e in emo]
                    for layer in LAYERS}

    stories = tmp_path / "stories"
    stories.mkdir()
    for emo in EMOTIONS:
        for i in range(2):
            (stories / f"house_{emo}_{i}.txt").write_text(f"a story of {emo}")
    probe.EmotionExtractor(EMOTIONS, Loader(), emo_sink=100).extract_all(stories, tmp_path / "probe")
    ds = import_vectors(tmp_path / "probe")
    assert sorted(str(e) for e in ds["emotion"].values) == sorted(EMOTIONS) and list(ds["layer"].values) == [11, 21]
    centred = ds["vectors"].values.mean(axis=0)
    np.testing.assert_allclose(centred, 0.0, atol=1e-5)  # the producer's centring, kept as it wrote it


def test_comparing_centred_probe_vectors_with_raw_ones_warns(probe_dir, tmp_path):
    """Their cosine RDMs differ by the producer's centring alone; --normalization emotion-mean centres both alike."""
    import warnings

    from rsastats.exceptions import RsaStatsWarning
    from rsastats.inference import compare_models
    from rsastats.io import make_vectors

    probe = import_vectors(probe_dir)
    rng = np.random.default_rng(2)
    ours = make_vectors(rng.standard_normal((len(EMOTIONS), 16)) + 3.0, EMOTIONS, attrs={"model": "ours"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare_models(probe, ours, n_boot=20, permutations=19, ceiling=False)
    said = [str(w.message) for w in caught if issubclass(w.category, RsaStatsWarning)]
    assert any("the producer centred these vectors on their mean over emotions" in s for s in said), said
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare_models(probe, ours, n_boot=20, permutations=19, ceiling=False, normalization="emotion-mean")
    assert not any("producer centred" in str(w.message) for w in caught)
