"""Per-file layers (issue 15): ``FILE@LAYER`` and ``--layer last`` wherever files are compared, a file
that holds one layer takes only that layer, and files of one model compared at different layers get a
note.  The rho is checked against a hand computation with scipy."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

import rsastats
from rsastats.cli import cli
from rsastats.inputs import load_model, split_file_layer
from rsastats.io import make_vectors, open_activations, write_dataset
from rsastats.simulate import simulate_activations, true_vectors

FAST = ["--n-boot", "40", "--permutations", "99", "--n-splits", "4", "--no-ceiling"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("layers")
    tv = true_vectors(8, 16, seed=5)
    out = {}
    for name, seed in (("a", 1), ("b", 2)):
        ds = simulate_activations(8, 5, 4, 16, noise=0.8, vectors=tv, n_baseline=6, seed=seed,
                                  attrs={"model": f"model-{name}"})
        out[name] = write_dataset(ds, tmp / f"{name}.nc")
    acts = open_activations(out["a"])
    labels = [str(e) for e in acts["emotion"].values]
    layer1 = acts["activations"].sel(layer=1).mean("prompt").values
    # One layer's vectors of model a, recording the layer they came from (as rsastats' own vector files do).
    out["vec1"] = write_dataset(make_vectors(layer1, labels, attrs={"model": "model-a", "layers": "1"}), tmp / "vec1.nc")
    out["unrecorded"] = write_dataset(make_vectors(layer1, labels, attrs={"model": "peer"}), tmp / "unrecorded.nc")
    weird = tmp / "copy.nc@2"  # a real file whose name ends like a layer choice
    shutil.copy(out["b"], weird)
    out["weird"] = weird
    return out


def _hand_rho(path_a, layer_a, path_b, layer_b) -> float:
    """Spearman rho of the upper triangles of the cosine RDMs of the prompt-mean vectors (scipy)."""
    cells = []
    for path, layer in ((path_a, layer_a), (path_b, layer_b)):
        ds = open_activations(path)
        label = ds["layer"].values[layer] if layer < 0 else layer
        cells.append(pdist(ds["activations"].sel(layer=label).mean("prompt").values.astype(np.float64), "cosine"))
    return float(spearmanr(cells[0], cells[1]).statistic)


def _run(args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result


def _json(args):
    result = _run([*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_file_layer_compares_the_named_layers_and_notes_the_difference(files):
    out = _json(["compare", f"{files['a']}@1", f"{files['a']}@last", *FAST])
    assert out["rho"] == pytest.approx(_hand_rho(files["a"], 1, files["a"], -1), abs=1e-12)
    assert out["a"] == "a@1" and out["b"] == "a@last"
    assert out["layer"] == "a@1: layer 1; a@last: layer 3; note: files of the same model are compared at different layers"
    other = _json(["compare", f"{files['a']}@1", f"{files['b']}@-1", *FAST])  # two models: their depths differ anyway
    assert other["rho"] == pytest.approx(_hand_rho(files["a"], 1, files["b"], 3), abs=1e-12)
    assert other["layer"] == "a@1: layer 1; b@-1: layer 3"


def test_default_layer_applies_to_files_without_their_own(files):
    out = _json(["compare", files["a"], f"{files['b']}@2", "--layer", "1", *FAST])
    assert out["rho"] == pytest.approx(_hand_rho(files["a"], 1, files["b"], 2), abs=1e-12)


def test_layer_last_is_the_last_layer(files):
    last = _json(["compare", files["a"], files["b"], "--layer", "last", *FAST])
    default = _json(["compare", files["a"], files["b"], *FAST])
    assert last["rho"] == default["rho"] == pytest.approx(_hand_rho(files["a"], 3, files["b"], 3), abs=1e-12)
    assert last["layer"] == "layer 3" and "different layers" not in last["layer"]


def test_one_layer_vector_file_takes_its_own_layer_only(files):
    same = _json(["compare", files["vec1"], files["a"], "--layer", "1", *FAST])
    assert same["rho"] == pytest.approx(_hand_rho(files["a"], 1, files["a"], 1), abs=1e-12)
    assert "different layers" not in same["layer"]
    noted = _json(["compare", f"{files['vec1']}@last", files["a"], *FAST])  # model-a's layer 1 vs its layer 3
    assert "compared at different layers" in noted["layer"]
    for args, message in (([files["vec1"], files["a"], "--layer", "2"], "holds layer 1 only, not layer 2"),
                          ([files["unrecorded"], files["a"], "--layer", "2"], "does not record which"),
                          ([files["vec1"], files["a"], "--last-k", "2"], "last_k=2 cannot be applied")):
        result = _run(["compare", *args, *FAST])
        lines = result.stderr.strip().splitlines()
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert _json(["compare", f"{files['unrecorded']}@last", files["a"], "--layer", "2", *FAST])["n_emotions"] == 8


def test_an_existing_name_with_at_wins(files):
    assert split_file_layer(str(files["weird"])) == (str(files["weird"]), None)
    assert split_file_layer(f"{files['weird']}@0") == (str(files["weird"]), 0)
    out = _json(["compare", f"{files['weird']}@0", files["a"], "--layer", "0", *FAST])
    assert out["rho"] == pytest.approx(_hand_rho(files["b"], 0, files["a"], 0), abs=1e-12)
    assert split_file_layer("no-such.nc@x") == ("no-such.nc@x", None)


def test_matrix_takes_file_layers(files):
    out = _json(["matrix", f"{files['a']}@0", f"{files['a']}@3", files["b"], *FAST])
    rho = {(p["a"], p["b"]): p["rho"] for p in out["pairs"]}
    assert rho[("a@0", "a@3")] == pytest.approx(_hand_rho(files["a"], 0, files["a"], 3), abs=1e-12)
    assert "compared at different layers" in out["layer"]


def test_bad_layer_value_is_one_error_line(files):
    result = _run(["compare", files["a"], files["b"], "--layer", "middle"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "'last'" in lines[0], lines


def test_python_api_takes_negative_layers_and_file_layers(files):
    ds = rsastats.open_activations(files["a"], layers=[-1])
    assert ds["layer"].values.tolist() == [3]
    assert rsastats.open_activations(files["a"], layers=[1, -1])["layer"].values.tolist() == [1, 3]
    model = load_model(f"{files['a']}@-2", name=None)
    assert model.layers == (2,) and model.name == "a@-2"


@pytest.fixture(scope="module")
def audit_files(tmp_path_factory):
    """The simulated audit case with A given two layers: layer 0 as simulated, layer 1 another geometry."""
    import xarray as xr

    from rsastats.simulate import simulate_audit_case

    tmp = tmp_path_factory.mktemp("audit-layers")
    datasets, _ = simulate_audit_case(noise=0.5, n_prompts=6, seed=3)
    a, b, ref_a, ref_b = datasets
    rng = np.random.default_rng(7)
    other = a.assign(activations=a["activations"] + 3.0 * rng.standard_normal(a["activations"].shape).astype("float32"))
    two = xr.concat([a, other.assign_coords(layer=[1])], dim="layer")
    two.attrs = dict(a.attrs)
    out = {"a": write_dataset(two, tmp / "a.nc")}
    for name, ds in (("b", b), ("ref_a", ref_a), ("ref_b", ref_b)):
        out[name] = write_dataset(ds, tmp / f"{name}.nc")
    return out


def _audit(files, a, *extra):
    return _json(["audit", a, files["b"], "--reference-files", files["ref_a"], files["ref_b"], "--n-boot", "30", *extra])


def test_audit_takes_layers(audit_files):
    from rsastats.inference.pairs import compare_models

    expected = {layer: compare_models(f"{audit_files['a']}@{layer}", audit_files["b"], n_boot=30, ceiling=False).rho
                for layer in (0, 1)}
    assert expected[0] != expected[1]
    assert _audit(audit_files, audit_files["a"])["rho"] == pytest.approx(expected[1])  # default: A's last layer
    at0 = _audit(audit_files, f"{audit_files['a']}@0")
    assert at0["rho"] == pytest.approx(expected[0]) and at0["observed"]["layer"] == "layer 0"
    assert _audit(audit_files, audit_files["a"], "--layer", "0")["rho"] == pytest.approx(expected[0])
    result = _run(["audit", audit_files["a"], audit_files["b"], "--reference-files", audit_files["ref_a"],
                   audit_files["ref_b"], "--layer", "1"])  # B holds layer 0 only
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "no layer 1" in lines[0] and "b.nc" in lines[0], lines


def test_piped_tables_are_not_cut_to_80_columns(files):
    result = _run(["compare", f"{files['a']}@1", f"{files['a']}@last", *FAST])  # CliRunner's stdout is no terminal
    assert result.exit_code == 0, result.output
    title = next(line for line in result.stdout.splitlines() if "vs" in line)
    assert "note: files of the same model are compared at different layers" in title and len(title.rstrip()) > 80


def test_an_unknown_layer_convention_is_reported_not_guessed(files, tmp_path):
    acts = open_activations(files["a"])
    labels = [str(e) for e in acts["emotion"].values]
    array = acts["activations"].sel(layer=[2, 3]).mean("prompt").values.transpose(0, 1, 2)  # (emotion, layer, hidden)
    np.save(tmp_path / "peer.npy", array)
    (tmp_path / "labels.txt").write_text("\n".join(labels))
    peer = rsastats.import_vectors(tmp_path / "peer.npy", labels=str(tmp_path / "labels.txt"), attrs={"model": "model-a"})
    assert rsastats.io.layer_offset(peer.attrs) is None  # a plain array says nothing of its layer indices
    write_dataset(peer, tmp_path / "peer.nc")
    out = _json(["compare", f"{tmp_path / 'peer.nc'}@last", files["a"], *FAST])
    assert "the layer convention of peer@last is unknown" in out["layer"]
    assert "compared at different layers" not in out["layer"]  # unknown, so not claimed either way
