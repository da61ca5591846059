"""`rsastats geometry` and `rsastats maturity` through CliRunner: tables, JSON, pairing, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.io import make_vectors, write_dataset
from rsastats.geometry import DESCRIPTORS
from rsastats.simulate import simulate_activations


@pytest.fixture
def runner():
    return CliRunner()


def _write(tmp_path, name, variant="base", seed=0, n_baseline=20, family="sim", noise=1.0):
    ds = simulate_activations(n_emotions=6, n_prompts=8, n_layers=3, hidden=12, n_baseline=n_baseline, seed=seed,
                              noise=noise, attrs={"variant": variant, "family": family, "model": name,
                                                  "stimulus_set": "set-1"})
    return str(write_dataset(ds, tmp_path / f"{name}.nc"))


@pytest.fixture
def pair(tmp_path):
    return _write(tmp_path, "fam-base"), _write(tmp_path, "fam-instruct", "instruct", seed=1)


def test_table_for_each_model_and_the_base_instruct_comparison(runner, pair):
    result = runner.invoke(cli, ["geometry", *pair, "--n-boot", "40"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "fam-base (base), layer 2" in out and "fam-instruct (instruct), layer 2" in out
    assert "anisotropy (baseline)" in out and "95% CI (basic, small-sample expanded)" in out
    assert "base x instruct: fam-base vs fam-instruct, layer 2" in out and "RDM Spearman rho" in out
    assert "prompts paired (same texts)" in out


def test_json_has_everything(runner, pair):
    result = runner.invoke(cli, ["geometry", *pair, "--n-boot", "40", "--layer", "all", "--json", "--seed", "5"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["settings"] == {"layer": "all", "n_boot": 40, "confidence": 0.95, "ci_method": "basic", "seed": 5}
    assert len(doc["files"]) == 2
    layers = doc["files"][0]["layers"]
    assert [layer["layer"] for layer in layers] == [0, 1, 2]
    assert set(layers[0]["descriptors"]) == {d.name for d in DESCRIPTORS}
    assert len(doc["comparisons"]) == 3  # one per layer
    comp = doc["comparisons"][0]
    assert {"rho", "rho_ci_low", "rho_ci_high", "changes", "paired_prompts"} <= set(comp)
    assert comp["changes"]["baseline_anisotropy"]["ci_low"] is not None
    again = json.loads(runner.invoke(cli, ["geometry", *pair, "--n-boot", "40", "--layer", "all", "--json",
                                           "--seed", "5"]).stdout)
    assert again == doc


def test_missing_baseline_is_reported_and_the_rest_computed(runner, tmp_path):
    path = _write(tmp_path, "nobase", n_baseline=0)
    result = runner.invoke(cli, ["geometry", path, "--n-boot", "20", "--json"])
    assert result.exit_code == 0, result.output
    assert f"warning: {path}: baseline descriptors not computed: the file has no baseline" in result.stderr
    doc = json.loads(result.stdout)
    descriptors = doc["files"][0]["layers"][0]["descriptors"]
    assert descriptors["baseline_anisotropy"]["status"] == "missing"
    assert descriptors["baseline_anisotropy"]["estimate"] is None
    assert "no baseline" in descriptors["baseline_anisotropy"]["note"]
    assert descriptors["prompt_anisotropy"]["status"] == "ok"
    # noise as large as the signal in each of 8 prompts: noise-free descriptors say why they have no interval
    assert descriptors["emotion_mean_cosine"]["status"] == "no-ci" and descriptors["emotion_mean_cosine"]["estimate"]
    assert descriptors["emotion_mean_cosine"]["note"].startswith("no CI: prompt noise is")
    table = runner.invoke(cli, ["geometry", path, "--n-boot", "20"])
    assert "baseline descriptors" in table.stdout and "not computed" in table.stdout


def test_vector_set_file(runner, tmp_path):
    rng = np.random.default_rng(0)
    vs = make_vectors(rng.standard_normal((6, 9)) + 1, list("abcdef"), attrs={"model": "paper"})
    path = str(write_dataset(vs, tmp_path / "paper.nc"))
    result = runner.invoke(cli, ["geometry", path, "--json"])
    assert result.exit_code == 0, result.output
    layer = json.loads(result.stdout)["files"][0]["layers"][0]
    assert layer["layer"] is None and layer["descriptors"]["emotion_mean_cosine"]["status"] == "no-ci"


@pytest.mark.parametrize("mutate, message", [
    (lambda ds: ds["activations"].values.__setitem__((1, 2, 2, slice(None)), 0.0), "is an all-zero vector"),
    (lambda ds: ds["baseline"].values.__setitem__((3, 2, slice(None)), 0.0), "baseline sample 3 at layer 2"),
])
def test_zero_vectors_are_one_line_errors(runner, tmp_path, mutate, message):
    ds = simulate_activations(n_emotions=6, n_prompts=8, n_layers=3, hidden=12, n_baseline=20, seed=0)
    mutate(ds)
    path = str(write_dataset(ds, tmp_path / "zero.nc"))
    result = runner.invoke(cli, ["geometry", path, "--n-boot", "20"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and message in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("args, message", [
    (["--layer", "7"], "no layer 7"),
    (["--layer", "x"], "give a layer number"),
    (["--n-boot", "1"], "--n-boot"),
    (["--confidence", "1.5"], "--confidence"),
    (["--ci", "wild"], "--ci"),
])
def test_bad_options_exit_2_with_one_line(runner, pair, args, message):
    result = runner.invoke(cli, ["geometry", pair[0], *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_files_exit_2(runner, tmp_path, pair, rdm_ds):
    missing = runner.invoke(cli, ["geometry", pair[0], str(tmp_path / "nope.nc")])
    assert missing.exit_code == 2 and "nope.nc: file not found" in missing.stderr
    rdm = str(write_dataset(rdm_ds, tmp_path / "rdm.nc"))
    result = runner.invoke(cli, ["geometry", rdm])
    assert result.exit_code == 2 and "geometry needs an activations file or a vector-set file" in result.stderr


def test_unpaired_family_is_explained(runner, tmp_path):
    a = _write(tmp_path, "a-base", family="fam")
    b = _write(tmp_path, "b-base", family="fam", seed=2)
    result = runner.invoke(cli, ["geometry", a, b, "--n-boot", "20", "--json"])
    doc = json.loads(result.stdout)
    assert doc["comparisons"] == []
    assert any("2 base and 0 instruct" in w for w in doc["warnings"])


# --------------------------------------------------------------------------- maturity
def test_maturity_command_states_rule_inputs_and_class(runner, tmp_path):
    good = _write(tmp_path, "good-base", noise=0.5)
    noisy = _write(tmp_path, "noisy-base", noise=40.0, seed=3)
    result = runner.invoke(cli, ["maturity", good, noisy, "--n-boot", "100"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "rsastats-maturity/1" in out and "below 0.9 AND" in out
    assert "good-base" in out and "noisy-base" in out
    assert "declared sensitivity analysis" in out
    doc = json.loads(runner.invoke(cli, ["maturity", good, noisy, "--n-boot", "100", "--json"]).stdout)
    classes = {m["model"]: m["maturity"] for m in doc["models"]}
    assert classes == {"good-base": "mature", "noisy-base": "immature"}
    assert doc["rule"]["max_baseline_anisotropy"] == 0.9 and len(doc["rule_fingerprint"]) == 16


def test_maturity_refuses_instruct_files_before_any_work(runner, pair):
    result = runner.invoke(cli, ["maturity", pair[0], pair[1]])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: {pair[1]}: is an instruct model (variant=instruct): the maturity rule "
                                     "is computed from base models only, so that no base x instruct outcome can "
                                     "enter it")
    assert result.stdout == ""


def test_maturity_unknown_variant_needs_flag(runner, tmp_path):
    path = _write(tmp_path, "unknown", variant="")
    assert runner.invoke(cli, ["maturity", path]).exit_code == 2
    result = runner.invoke(cli, ["maturity", path, "--assume-base", "--n-boot", "50", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["models"][0]["assumed_base"] is True


def test_maturity_in_geometry_does_not_depend_on_the_instruct_partner(runner, tmp_path):
    base = _write(tmp_path, "fam-base")
    twin = _write(tmp_path, "twin-instruct", "instruct", seed=0)
    other = _write(tmp_path / "x", "fam-instruct", "instruct", seed=7, noise=8.0)

    def run(instruct):
        doc = json.loads(runner.invoke(cli, ["geometry", base, instruct, "--n-boot", "60", "--maturity",
                                             "--json"]).stdout)
        return doc["comparisons"][0]["rho"], doc["maturity"]

    rho_twin, maturity_twin = run(twin)
    rho_other, maturity_other = run(other)
    assert rho_twin > rho_other  # the outcomes differ ...
    assert maturity_twin == maturity_other  # ... the base model's class does not
    assert len(maturity_twin) == 1 and maturity_twin[0]["model"] == "fam-base"


def test_help_mentions_defaults(runner):
    result = runner.invoke(cli, ["geometry", "--help"])
    assert result.exit_code == 0 and "--layer" in result.stdout and "basic" in result.stdout
    assert runner.invoke(cli, ["maturity", "--help"]).exit_code == 0
