"""The contrastive methods as attribute values: ``import --meta method: pca_diff`` is accepted (and
recorded as ``pca-diff``), an unknown method is one error line, and ``decompose`` treats the
contrastive methods as levels of its method factor."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.io import CONTRASTIVE_METHODS, open_vectors, write_dataset
from rsastats.simulate import simulate_condition_vectors


@pytest.fixture
def runner():
    return CliRunner()


@pytest.mark.parametrize("spelling, recorded", [("pca_diff", "pca-diff"), ("mean_diff", "mean-diff"),
                                                ("neutral-pc", "neutral-pc"), ("baseline_diff", "baseline-diff")])
def test_import_accepts_the_contrastive_methods_in_either_spelling(runner, tmp_path, spelling, recorded):
    labels = ["happy", "sad", "calm", "afraid"]
    np.save(tmp_path / "v.npy", np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32))
    (tmp_path / "meta.json").write_text(json.dumps({"method": spelling, "model": "peer", "recipe": "repeng"}))
    out = tmp_path / "peer.nc"
    result = runner.invoke(cli, ["import", str(tmp_path / "v.npy"), "--labels", ",".join(labels), "--meta",
                                 str(tmp_path / "meta.json"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert open_vectors(out).attrs["method"] == recorded


def test_an_unknown_method_is_one_error_line(runner, tmp_path):
    np.save(tmp_path / "v.npy", np.zeros((4, 8), dtype=np.float32) + np.arange(8))
    (tmp_path / "meta.json").write_text(json.dumps({"method": "pca_difff"}))
    result = runner.invoke(cli, ["import", str(tmp_path / "v.npy"), "--labels", "a,b,c,d", "--meta",
                                 str(tmp_path / "meta.json"), "--out", str(tmp_path / "x.nc")])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:") and "pca-diff" in lines[0]


def test_decompose_reports_the_contrastive_methods_as_method_levels(runner, tmp_path):
    methods = ("comprehension", *CONTRASTIVE_METHODS[:2])
    conditions = [dict(model=model, method=method, precision="fp32", experiment="A")
                  for model in ("qwen", "llama") for method in methods for _ in range(2)]
    datasets = simulate_condition_vectors(conditions, {"model": 0.5, "method": 0.6}, 10, 16, seed=1)
    files = [str(write_dataset(ds, tmp_path / f"f{i:02d}.nc")) for i, ds in enumerate(datasets)]
    result = runner.invoke(cli, ["decompose", *files, "--n-boot", "15", "--seed", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted({f["method"] for f in data["files"]}) == sorted(methods)
    method = {c["component"]: c for c in data["components"]}["method"]
    assert method["estimable"] is True and method["n_levels"] == 3 and method["share"] > 0
    compared = {c["levels"] for c in data["contrasts"] if c["factor"] == "method"}
    assert any("pca-diff" in levels for levels in compared) and any("mean-diff" in levels for levels in compared)


def test_audit_of_one_recipe_twice_prints_words_not_a_range(runner, tmp_path):
    from rsastats.simulate import simulate_audit_case

    files, _ = simulate_audit_case(n_emotions=10, noise=0.5, n_prompts=4, seed=5)
    a = write_dataset(files[0], tmp_path / "a.nc")
    b = write_dataset(files[1].assign_attrs(dict(files[0].attrs)), tmp_path / "b.nc")
    refs = [str(write_dataset(ds, tmp_path / f"ref{i}.nc")) for i, ds in enumerate(files[2:])]
    args = ["audit", str(a), str(b), "--reference-files", *refs, "--n-boot", "50", "--seed", "1"]
    result = runner.invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "inconclusive" and "record the same recipe" in data["reference_note"]
    assert data["reference_rho"] is None and data["reference_low"] is None and data["gap"] is None
    table = runner.invoke(cli, args)
    assert table.exit_code == 0 and "none, uninformative" in table.stdout
    assert not re.search(r"\[1\.000, 1\.000\]", table.stdout)


def test_audit_of_six_emotions_is_one_error_line(runner, tmp_path):
    from rsastats.simulate import simulate_audit_case

    files, _ = simulate_audit_case(n_emotions=6, n_prompts=3, seed=3)
    paths = [str(write_dataset(ds, tmp_path / f"f{i}.nc")) for i, ds in enumerate(files)]
    result = runner.invoke(cli, ["audit", paths[0], paths[1], "--reference-files", *paths[2:], "--n-boot", "50"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and "an audit needs at least 8" in lines[0]
