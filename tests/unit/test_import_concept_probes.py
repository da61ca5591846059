"""Probe directions saved by concept-probes 0.1.0 (``save_probe``), one concept per emotion:
``ROOT/<concept>/<model>/layer_<L>/weights.npy`` beside ``bias.json`` and ``meta.json``; ``L`` indexes
``hidden_states``.  Before 2026-12-07 ``rsastats import ROOT`` read each concept folder as "a folder per emotion
with one file per layer" and stopped: it holds a model folder, not layer files.  The root is written here as
``save_probe`` writes it (its lines quoted); where the package can be imported (it asks for Python 3.12; ``make
install`` puts it beside this Python with ``--no-deps --ignore-requires-python``), one more test uses its own code."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rsastats.exceptions import ImportFormatError
from rsastats.io import import_vectors, known_attribute

CONCEPTS = ["happy", "sad", "calm", "afraid", "angry"]
MODEL = "Qwen/Qwen2.5-0.5B"


def save_probe(weights, bias, layer, meta, concept, model_name, root):
    """concept-probes 0.1.0, ``probe_dir`` and ``save_probe``, line for line (the probe's fields passed apart)."""
    out_dir = root / concept / model_name.replace("/", "_") / f"layer_{layer}"
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "weights.npy", weights)
    (out_dir / "bias.json").write_text(json.dumps(bias))
    if meta:
        (out_dir / "meta.json").write_text(json.dumps(meta, indent=2))
    return out_dir


@pytest.fixture
def weights():
    rng = np.random.default_rng(3)
    return {c: {layer: rng.standard_normal(12) for layer in (6, 12)} for c in CONCEPTS}


def _root(tmp_path, weights, model=MODEL, token_position="final"):
    root = tmp_path / "probes"
    for concept, layers in weights.items():
        for layer, w in layers.items():
            meta = {"concept": concept, "model_name": model, "site": "resid_post", "token_position": token_position,
                    "val_auroc": 0.93}
            save_probe(w, -0.2, layer, meta, concept, model, root)
    return root


def test_a_probe_root_imports_each_concept_as_an_emotion(tmp_path, weights):
    ds = import_vectors(_root(tmp_path, weights))
    assert [str(e) for e in ds["emotion"].values] == sorted(CONCEPTS) and list(ds["layer"].values) == [6, 12]
    assert ds.attrs["layer_convention"] == "hidden-states" and ds.attrs["source_format"] == "concept-probes"
    assert known_attribute(ds.attrs, "model") == MODEL and known_attribute(ds.attrs, "pooling") == "last"
    assert ds.attrs["producer_method"].startswith("linear probe") and known_attribute(ds.attrs, "method") == ""
    for concept in CONCEPTS:
        np.testing.assert_allclose(ds["vectors"].sel(emotion=concept, layer=12).values, weights[concept][12],
                                   rtol=1e-6)


def test_several_models_need_one_named(tmp_path, weights):
    root = _root(tmp_path, weights)
    for concept, layers in weights.items():
        for layer, w in layers.items():
            save_probe(2 * w, 0.0, layer, {"model_name": "other/model"}, concept, "other/model", root)
    with pytest.raises(ImportFormatError, match=r"concept 'afraid' holds probes of 2 model folder\(s\).*--key MODEL"):
        import_vectors(root)
    ds = import_vectors(root, key="other/model")
    assert known_attribute(ds.attrs, "model") == "other/model"
    np.testing.assert_allclose(ds["vectors"].sel(emotion="sad", layer=6).values, 2 * weights["sad"][6], rtol=1e-6)


def test_a_concept_without_a_layer_of_the_others_is_one_error(tmp_path, weights):
    root = _root(tmp_path, weights)
    for f in (root / "sad" / MODEL.replace("/", "_") / "layer_12").iterdir():
        f.unlink()
    (root / "sad" / MODEL.replace("/", "_") / "layer_12").rmdir()
    with pytest.raises(ImportFormatError, match="ragged layers"):
        import_vectors(root)


def test_the_root_concept_probes_itself_writes(tmp_path, weights):
    probe = pytest.importorskip("concept_probes.probe")
    root = tmp_path / "probes"
    for concept, layers in weights.items():
        for layer, w in layers.items():
            p = probe.LinearProbe(weights=w, bias=0.1, layer=layer,
                                  meta={"concept": concept, "model_name": MODEL, "site": "resid_post",
                                        "token_position": "mean"})
            probe.save_probe(p, concept, MODEL, root)
    ds = import_vectors(root)
    assert [str(e) for e in ds["emotion"].values] == sorted(CONCEPTS) and known_attribute(ds.attrs, "pooling") == "mean"
    np.testing.assert_allclose(ds["vectors"].sel(emotion="calm", layer=6).values, weights["calm"][6], rtol=1e-6)


def test_comparing_probe_directions_with_mean_activations_warns(tmp_path, weights):
    import warnings

    from rsastats.exceptions import RsaStatsWarning
    from rsastats.inference import compare_models
    from rsastats.io import make_vectors

    probes = import_vectors(_root(tmp_path, weights))
    means = make_vectors(np.random.default_rng(4).standard_normal((5, 2, 12)), sorted(CONCEPTS), layers=[6, 12])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare_models(probes, means, n_boot=20, permutations=19, ceiling=False)
    assert any("linear-probe directions compared with vectors that are not" in str(w.message)
               for w in caught if issubclass(w.category, RsaStatsWarning))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compare_models(probes, probes, n_boot=20, permutations=19, ceiling=False)
    assert not any("linear-probe" in str(w.message) for w in caught)
