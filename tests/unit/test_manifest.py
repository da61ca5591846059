"""Extraction manifests: reading, the state file, skipping what is done, retrying what failed (in
process, and on a LocalCluster whose worker dies), refusing outputs the manifest did not make.
The task function is a stand-in that writes a small file (no torch); tests/extraction runs the
real extraction through a manifest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from extraction.manifest import load_manifest, run_manifest, state_path_for
from rsastats.exceptions import FileFormatError, ValidationError


def _write(path: Path, data) -> Path:
    path.write_text(json.dumps(data) if path.suffix == ".json" else _yaml(data), encoding="utf-8")
    return path


def _yaml(data) -> str:
    import yaml

    return yaml.safe_dump(data)


def _manifest(tmp_path: Path, n: int = 3, suffix: str = ".yaml") -> Path:
    return _write(tmp_path / f"tasks{suffix}", {
        "defaults": {"layers": "last", "limit": 2, "emotions": "happy,sad,calm,afraid"},
        "tasks": [{"model": "default", "precision": p, "out": f"out/run-{p}.nc"} for p in ("fp32", "bf16", "int8-weight")[:n]],
    })


class Recorder:
    """Stand-in task: writes ``out``; fails (raise, or kill the process) where told, once or always."""

    def __init__(self, fail: dict[str, str] | None = None, marker_dir: Path | None = None):
        self.fail = fail or {}
        self.marker_dir = marker_dir
        self.calls: list[str] = []

    def __call__(self, config, out, overwrite, threads):
        self.calls.append(config.precision)
        how = self.fail.get(config.precision)
        if how == "always":
            raise RuntimeError(f"simulated failure of {config.precision}")
        if how == "once" and not (self.marker_dir / config.precision).exists():
            (self.marker_dir / config.precision).write_text("failed once")
            raise RuntimeError(f"simulated transient failure of {config.precision}")
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(config.precision)
        return {"seconds": 0.01, "tokens": 7}


def test_manifest_merges_defaults_and_resolves_paths(tmp_path):
    for suffix in (".yaml", ".json"):
        tasks = load_manifest(_manifest(tmp_path, suffix=suffix))
        assert [t.config.precision for t in tasks] == ["fp32", "bf16", "int8-weight"]
        assert all(t.config.layers == "last" and t.config.limit == 2 for t in tasks)
        assert tasks[0].config.emotions == ("happy", "sad", "calm", "afraid")
        assert tasks[1].out == str((tmp_path / "out" / "run-bf16.nc").resolve())
        assert len({t.task_id for t in tasks}) == 3


@pytest.mark.parametrize("data, message", [
    ({"tasks": [{"model": "default"}]}, "task 1: 'out'"),
    ({"tasks": [{"out": "a.nc", "modle": "x"}]}, "task 1: unknown option(s) modle"),
    ({"tasks": [{"out": "a.nc", "precision": "fp8"}]}, "task 1: precision must be one of"),
    ({"tasks": [{"out": "a.nc"}, {"out": "a.nc", "precision": "bf16"}]}, "task 2 writes"),
    ({"jobs": []}, "a mapping with a 'tasks' list"),
])
def test_bad_manifests_are_one_line_errors(tmp_path, data, message):
    path = _write(tmp_path / "bad.json", data)
    with pytest.raises((ValidationError, FileFormatError), match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        load_manifest(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_failed_task_is_rerun_without_redoing_the_rest(tmp_path):
    manifest = _manifest(tmp_path)
    first = Recorder(fail={"bf16": "always"})
    result = run_manifest(manifest, function=first, retries=0)
    assert [o.status for o in result.outcomes] == ["done", "failed", "done"] and result.n_failed == 1
    assert "simulated failure of bf16" in result.outcomes[1].error
    state = json.loads(state_path_for(manifest).read_text())["tasks"]
    assert sorted(r["status"] for r in state.values()) == ["done", "done", "failed"]
    second = Recorder()
    again = run_manifest(manifest, function=second)
    assert second.calls == ["bf16"]  # only the failed one ran
    assert [o.status for o in again.outcomes] == ["skipped", "done", "skipped"]
    assert again.outcomes[1].attempts == 2
    third = Recorder()
    assert [o.status for o in run_manifest(manifest, function=third).outcomes] == ["skipped"] * 3 and third.calls == []


def test_in_process_retries_a_transient_failure(tmp_path):
    manifest = _manifest(tmp_path, n=2)
    recorder = Recorder(fail={"fp32": "once"}, marker_dir=tmp_path)
    result = run_manifest(manifest, function=recorder, retries=1)
    assert [o.status for o in result.outcomes] == ["done", "done"]
    assert recorder.calls == ["fp32", "fp32", "bf16"] and result.outcomes[0].attempts == 2


def test_output_not_made_by_the_task_is_refused_unless_overwrite(tmp_path):
    manifest = _manifest(tmp_path, n=1)
    out = tmp_path / "out" / "run-fp32.nc"
    out.parent.mkdir()
    out.write_text("someone else's file")
    with pytest.raises(ValidationError, match="already exists and the state file does not record it"):
        run_manifest(manifest, function=Recorder())
    assert [o.status for o in run_manifest(manifest, function=Recorder(), overwrite=True).outcomes] == ["done"]
    # A changed task is another task: its old output is not taken for the new configuration.
    data = json.loads(json.dumps(__import__("yaml").safe_load(manifest.read_text())))
    data["defaults"]["limit"] = 3
    _write(manifest, data)
    with pytest.raises(ValidationError, match="already exists"):
        run_manifest(manifest, function=Recorder())


def test_a_dead_worker_task_is_rescheduled_on_a_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    manifest = _manifest(tmp_path)
    marker_dir = tmp_path

    def dies_once(config, out, overwrite, threads):  # defined here: shipped to the workers by value
        marker = marker_dir / f"died-{config.precision}"
        if config.precision == "bf16" and not marker.exists():
            marker.write_text("the worker running this task was killed")
            os._exit(1)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(config.precision)
        return {"seconds": 0.0, "tokens": 0, "pid": os.getpid()}

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        result = run_manifest(manifest, function=dies_once, scheduler=client, retries=0)
    assert [o.status for o in result.outcomes] == ["done", "done", "done"]
    assert (marker_dir / "died-bf16").exists() and (tmp_path / "out" / "run-bf16.nc").read_text() == "bf16"
