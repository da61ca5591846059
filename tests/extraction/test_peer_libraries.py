"""Files made by repeng 0.4 (``ControlVector.train`` + ``export_gguf``) and steering-vectors 0.12
(``train_steering_vector``, saved with ``torch.save``) on a tiny random llama: imported through the CLI,
compared at the matching layer with the rho scipy gives; steering-vectors' layer i is hidden_states[i+1].

Neither library is a dependency of rsastats (repeng 0.4 does not import under numpy 2 without the
``np.float_`` alias set below); ``make install`` puts both beside this Python with ``--no-deps`` (their pins of
old numpy and transformers left out), and this module is skipped where they are not importable."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from rsastats.cli import cli

from .conftest import make_model, make_tokenizer

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction
if importlib.util.find_spec("repeng") is None or importlib.util.find_spec("steering_vectors") is None:
    pytest.skip("repeng and steering-vectors are not installed (see the module docstring)", allow_module_level=True)
if not hasattr(np, "float_"):
    np.float_ = np.float64  # repeng 0.4 names np.float_ in a type hint (removed in numpy 2)
repeng = pytest.importorskip("repeng")
steering_vectors = pytest.importorskip("steering_vectors")

EMOTIONS = ["happy", "sad", "calm", "afraid", "angry", "proud"]


def _run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("peers")
    model, tok = make_model("llama", layers=4, hidden=32), make_tokenizer("causal")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    words = [w for w in tok.get_vocab() if w.isalpha()][:60]
    rng = np.random.default_rng(0)
    (tmp / "repeng").mkdir()
    cvs, svs, ours = {}, {}, []
    for i, emotion in enumerate(EMOTIONS):
        pairs = [(" ".join(rng.choice(words, 6)) + " " + words[i], " ".join(rng.choice(words, 6))) for _ in range(8)]
        cvs[emotion] = repeng.ControlVector.train(model, tok, [repeng.DatasetEntry(p, n) for p, n in pairs], batch_size=4)
        cvs[emotion].export_gguf(tmp / "repeng" / f"{emotion}.gguf")
        svs[emotion] = steering_vectors.train_steering_vector(model, tok, pairs, read_token_index=-1).layer_activations
        with torch.no_grad():
            runs = [(model(**tok(p, return_tensors="pt"), output_hidden_states=True).hidden_states,
                     model(**tok(n, return_tensors="pt"), output_hidden_states=True).hidden_states) for p, n in pairs]
        ours.append(np.stack([np.mean([h[k][0, -1].numpy() for h, _ in runs], axis=0) for k in range(5)]))
        for layer in range(3):  # not the last block: hidden_states[4] is after the final norm
            diff = np.mean([h[layer + 1][0, -1].numpy() - g[layer + 1][0, -1].numpy() for h, g in runs], axis=0)
            np.testing.assert_allclose(svs[emotion][layer].numpy(), diff, rtol=1e-5, atol=1e-6)
    torch.save(svs, tmp / "sv.pt")
    np.save(tmp / "ours.npy", np.stack(ours).astype(np.float32))
    _run("import", tmp / "repeng", "--out", tmp / "repeng.nc")
    _run("import", tmp / "sv.pt", "--layer-convention", "steering-vectors", "--out", tmp / "sv.nc")
    _run("import", tmp / "ours.npy", "--labels", ",".join(EMOTIONS), "--layer-convention", "hf", "--out", tmp / "ours.nc")
    return tmp, cvs, svs, np.stack(ours).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("producer,block", [("repeng", 1), ("repeng", 2), ("sv", 0), ("sv", 2)])
def test_peer_vectors_compare_at_the_matching_layer(made, producer, block):
    tmp, cvs, svs, ours = made
    out = _run("compare", tmp / f"{producer}.nc", tmp / "ours.nc", "--layer", block + 1, "--json",
               "--n-boot", "20", "--permutations", "19")
    get = (lambda e: cvs[e].directions[block]) if producer == "repeng" else (lambda e: svs[e][block].numpy())
    peer = np.stack([get(e) for e in EMOTIONS]).astype(np.float32).astype(np.float64)
    expected = spearmanr(pdist(peer, "cosine"), pdist(ours[:, block + 1], "cosine")).statistic
    assert json.loads(out)["rho"] == pytest.approx(expected, abs=1e-12)
