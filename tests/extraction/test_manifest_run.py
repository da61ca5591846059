"""A manifest of real extractions (tiny llama saved as a local model folder) through the command
line: every file written and valid, a second run skips them, per-run options are refused."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from .conftest import make_model, make_tokenizer

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

from rsastats.cli import cli  # noqa: E402
from rsastats.io import open_activations  # noqa: E402


@pytest.fixture
def manifest(tmp_path):
    folder = tmp_path / "tiny-llama"
    make_model("llama").save_pretrained(folder)
    make_tokenizer().save_pretrained(folder)
    data = {"defaults": {"model": "tiny-llama", "stimuli": "named", "emotions": "happy,sad,calm,afraid", "limit": 2,
                         "baseline": "none", "layers": "0,-1", "batch_size": 2},
            "tasks": [{"precision": "fp32", "out": "runs/fp32.nc"}, {"precision": "bf16", "out": "runs/bf16.nc"}]}
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(data))
    return path


def test_manifest_runs_every_task_then_skips_them(manifest):
    runner = CliRunner()
    first = runner.invoke(cli, ["extract", "--manifest", str(manifest), "--json"])
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert (out["n_done"], out["n_skipped"], out["n_failed"]) == (2, 0, 0)
    for task, precision in zip(out["tasks"], ("fp32", "bf16")):
        ds = open_activations(task["out"])
        assert ds.attrs["precision"] == precision and ds.sizes["emotion"] == 4 and ds.sizes["prompt"] == 2
        assert task["tokens"] > 0
    again = json.loads(runner.invoke(cli, ["extract", "--manifest", str(manifest), "--json"]).stdout)
    assert [t["status"] for t in again["tasks"]] == ["skipped", "skipped"]


def test_per_run_options_are_refused_with_a_manifest(manifest):
    result = CliRunner().invoke(cli, ["extract", "--manifest", str(manifest), "--model", "default"])
    assert result.exit_code == 2 and "--model cannot be combined with --manifest" in result.stderr


def test_manifest_and_single_extraction_on_a_cluster_address(manifest, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0",
                                  silence_logs=50) as cluster:
        address = cluster.scheduler_address
        result = CliRunner().invoke(cli, ["extract", "--manifest", str(manifest), "--scheduler", address, "--json"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["n_done"] == 2 and out["scheduler"] == address
        single = CliRunner().invoke(cli, ["extract", "--model", str(tmp_path / "tiny-llama"), "--emotions", "happy,sad",
                                          "--limit", "1", "--baseline", "none", "--layers", "-1",
                                          "--out", str(tmp_path / "one.nc"), "--json"],
                                    env={"DASK_SCHEDULER_ADDRESS": address})
        assert single.exit_code == 0, single.output
        assert open_activations(tmp_path / "one.nc").sizes["emotion"] == 2
