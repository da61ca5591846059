"""`rsastats import` of other tools' files through the CLI: import, then `rsastats compare` at the
matching layer gives the rho that scipy gives on the cosine RDMs' upper triangles; bad inputs give one
`error:` line, exit 2, naming the file, and write nothing."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from rsastats.cli import cli
from rsastats.io import open_vectors

gguf = pytest.importorskip("gguf")
torch = pytest.importorskip("torch")

EMOTIONS = ["happy", "sad", "calm", "afraid", "angry", "proud", "bored"]
BLOCKS = [0, 1, 2, 3]  # producer's block indices = rsastats layers 1..4
FAST = ["--n-boot", "20", "--permutations", "19", "--json"]


def run(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def export_gguf(path, directions, arch="controlvector"):
    """As repeng 0.4's ControlVector.export_gguf writes a control vector."""
    writer = gguf.GGUFWriter(path, arch)
    writer.add_string(f"{arch}.model_hint", "llama")
    writer.add_uint32(f"{arch}.layer_count", len(directions))
    for layer in directions.keys():
        writer.add_tensor(f"direction.{layer}", directions[layer])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def hand_rho(x, y):
    """Spearman's rho of the cosine RDMs' upper triangles (pdist lists the upper triangle row by row)."""
    return spearmanr(pdist(x, "cosine"), pdist(y, "cosine")).statistic


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Peer vectors per block, and 'ours': an (emotion, hidden_states layer, hidden) array imported as hf."""
    tmp = tmp_path_factory.mktemp("imp")
    rng = np.random.default_rng(21)
    ours = rng.standard_normal((len(EMOTIONS), 5, 16)).astype(np.float32)  # hidden_states 0..4
    peer = {e: {b: (ours[i, b + 1] + 0.8 * rng.standard_normal(16)).astype(np.float32) for b in BLOCKS}
            for i, e in enumerate(EMOTIONS)}
    np.save(tmp / "ours.npy", ours)
    code, out = run("import", tmp / "ours.npy", "--labels", ",".join(EMOTIONS), "--layer-convention", "hf",
                    "--out", tmp / "ours.nc")
    assert code == 0, out
    return tmp, ours, peer


def _check_compare(tmp, peer_file, ours, peer, layer):
    code, out = run("compare", peer_file, tmp / "ours.nc", "--layer", layer, *FAST)
    assert code == 0, out
    got = json.loads(out)["rho"]
    peer_vectors = np.stack([peer[e][layer - 1] for e in EMOTIONS])
    expected = hand_rho(peer_vectors.astype(np.float64), ours[:, layer].astype(np.float64))
    assert got == pytest.approx(expected, abs=1e-12)
    wrong = hand_rho(peer_vectors.astype(np.float64), ours[:, layer - 1].astype(np.float64))
    assert abs(got - wrong) > 1e-6  # the block index alone would line up the wrong layer


def test_repeng_folder_round_trip(made):
    tmp, ours, peer = made
    folder = tmp / "repeng"
    folder.mkdir()
    for e in EMOTIONS:
        export_gguf(folder / f"{e}.gguf", peer[e])
    code, out = run("import", folder, "--out", tmp / "repeng.nc", "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert summary["layers"] == [b + 1 for b in BLOCKS] and summary["layer_convention"] == "hidden-states"
    assert {"chat_template", "software", "created"} <= set(summary["unknown_attributes"])
    for layer in (2, 4):
        _check_compare(tmp, tmp / "repeng.nc", ours, peer, layer)


def test_steering_vectors_dict_round_trip(made):
    tmp, ours, peer = made
    torch.save({e: {b: torch.from_numpy(v) for b, v in d.items()} for e, d in peer.items()}, tmp / "sv.pt")
    code, out = run("import", tmp / "sv.pt", "--layer-convention", "steering-vectors", "--out", tmp / "sv.nc")
    assert code == 0, out
    assert "4 layers (1..4, convention hidden-states)" in " ".join(out.split())
    _check_compare(tmp, tmp / "sv.nc", ours, peer, 3)


def test_per_layer_npy_folders_round_trip(made):
    tmp, ours, peer = made
    for e in EMOTIONS:
        (tmp / "npy" / e).mkdir(parents=True)
        for b in BLOCKS:
            np.save(tmp / "npy" / e / f"block_{b}.npy", peer[e][b])
    code, out = run("import", tmp / "npy", "--layer-convention", "block", "--out", tmp / "npy.nc")
    assert code == 0, out
    _check_compare(tmp, tmp / "npy.nc", ours, peer, 1)


def test_keep_layer_indices_through_the_cli(made):
    tmp, _, peer = made
    torch.save({e: {b: torch.from_numpy(v) for b, v in d.items()} for e, d in peer.items()}, tmp / "kept.pt")
    code, out = run("import", tmp / "kept.pt", "--layer-convention", "repeng", "--keep-layer-indices", "--out",
                    tmp / "kept.nc")
    assert code == 0, out
    ds = open_vectors(tmp / "kept.nc")
    assert ds["layer"].values.tolist() == BLOCKS and ds.attrs["layer_convention"] == "block"
    assert int(ds.attrs["layer_offset"]) == 1


def test_rdm_csv_round_trip(made):
    tmp, ours, _ = made
    d = np.abs(np.random.default_rng(4).standard_normal((7, 7)))
    d = d + d.T
    np.fill_diagonal(d, 0.0)
    lines = ["emotion," + ",".join(EMOTIONS)] + [f"{e}," + ",".join(repr(float(x)) for x in row)
                                                 for e, row in zip(EMOTIONS, d)]
    (tmp / "rdm.csv").write_text("\n".join(lines) + "\n")
    code, out = run("import", tmp / "rdm.csv", "--rdm", "--out", tmp / "rdm.nc", "--json")
    assert code == 0, out
    assert json.loads(out)["kind"] == "rdm"
    np.save(tmp / "layer2.npy", ours[:, 2])  # an RDM takes no --layer: compare with one layer's vectors
    code, out = run("import", tmp / "layer2.npy", "--labels", ",".join(EMOTIONS), "--out", tmp / "layer2.nc")
    assert code == 0, out
    code, out = run("compare", tmp / "rdm.nc", tmp / "layer2.nc", *FAST)
    assert code == 0, out
    expected = spearmanr(d[np.triu_indices(7, 1)], pdist(ours[:, 2].astype(np.float64), "cosine")).statistic
    assert json.loads(out)["rho"] == pytest.approx(expected, abs=1e-12)


def test_rsatoolbox_hdf5_through_the_cli(made):
    tmp, _, _ = made
    rdm_mod = pytest.importorskip("rsatoolbox.rdm")
    d = np.random.default_rng(8).random(21)
    rdm_mod.RDMs(d[None], dissimilarity_measure="correlation",
                 pattern_descriptors={"emotion": EMOTIONS}).save(str(tmp / "tb.hdf5"), file_type="hdf5")
    code, out = run("import", tmp / "tb.hdf5", "--out", tmp / "tb.nc", "--json")
    assert code == 0, out
    code, out = run("describe", tmp / "tb.nc", "--json")
    assert code == 0 and json.loads(out)["attrs"]["rdm_method"] == "correlation"


@dataclasses.dataclass
class SteeringVector:
    """Stands in for steering_vectors.SteeringVector (same class name and fields)."""

    layer_activations: dict
    layer_type: str = "decoder_block"


def _bad_inputs(tmp):
    bad = tmp / "bad"
    bad.mkdir()
    export_gguf(bad / "model.gguf", {0: np.ones(4, np.float32)}, arch="llama")
    export_gguf(bad / "full.gguf", {0: np.ones(64, np.float32)})
    (bad / "truncated.gguf").write_bytes((bad / "full.gguf").read_bytes()[:200])
    torch.save({"happy": {3: torch.ones(4)}, "sad": {3: [1.0, 2.0]}}, bad / "leaves.pt")
    torch.save({"happy": {3: torch.ones(4)}, "sad": {3: torch.ones(6)}}, bad / "hidden.pt")
    torch.save({"happy": {3: torch.ones(4), 5: torch.ones(4)}, "sad": {3: torch.ones(4)}}, bad / "ragged.pt")
    torch.save({"happy": SteeringVector({3: torch.ones(4)})}, bad / "object.pt")
    np.save(bad / "four.npy", np.ones((2, 3, 4, 5)))
    return {
        "model.gguf": ("architecture 'llama'", []),
        "truncated.gguf": ("truncated or corrupt", []),
        "leaves.pt": ("emotion 'sad', layer 3 holds a list, not a tensor", []),
        "hidden.pt": ("different hidden sizes (happy 4, sad 6)", []),
        "ragged.pt": ("ragged layers: emotion 'sad' lacks layer(s) [5]", []),
        "object.pt": ("save its layer activations instead", []),
        "four.npy": ("got shape (2, 3, 4, 5)", ["--labels", "a,b"]),
    }


def test_bad_inputs_one_error_line_exit_2_nothing_written(tmp_path):
    for name, (fragment, extra) in _bad_inputs(tmp_path).items():
        out_file = tmp_path / f"{name}.nc"
        code, out = run("import", tmp_path / "bad" / name, *extra, "--out", out_file)
        lines = out.strip().splitlines()
        assert code == 2, (name, out)
        assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], (name, out)
        assert fragment in lines[0], (name, out)
        assert "key=" not in lines[0] and "()" not in lines[0], (name, out)
        assert not out_file.exists()
