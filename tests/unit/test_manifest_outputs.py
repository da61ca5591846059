"""Manifest runs and their outputs: outputs outside the manifest's folder need allow_outside; a
failed task's message names the task, its output and the reason, and advises a retry only when one
can succeed; one run of a manifest at a time (the state file's lock).  The task function is a
stand-in (no torch)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from extraction.manifest import load_manifest, run_manifest, state_path_for
from rsastats.cli import cli
from rsastats.exceptions import ModelLoadError, OutputBusyError, ValidationError

from .test_outputs import HOLDER, another_process


def _manifest(folder: Path, outs: list[str]) -> Path:
    path = folder / "tasks.json"
    path.write_text(json.dumps({"defaults": {"layers": "last", "limit": 2},
                                "tasks": [{"precision": p, "out": o} for p, o in zip(("fp32", "bf16", "int8-weight"), outs)]}))
    return path


class StandIn:
    """Writes ``out``; raises the given error for the given precision."""

    def __init__(self, errors: dict[str, BaseException] | None = None):
        self.errors = errors or {}

    def __call__(self, config, out, overwrite, threads):
        if config.precision in self.errors:
            raise self.errors[config.precision]
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(config.precision)
        return {"seconds": 0.0, "tokens": 1}


@pytest.mark.parametrize("out", ["../escape.nc", "runs/../../escape.nc", "/elsewhere/escape.nc"])
def test_outputs_outside_the_manifest_folder_need_allow_outside(tmp_path, out):
    folder = tmp_path / "study"
    folder.mkdir()
    path = _manifest(folder, [out])
    with pytest.raises(ValidationError, match="task 1: 'out' .* is outside the manifest's folder; pass --allow-outside"):
        load_manifest(path)
    with pytest.raises(ValidationError, match="outside the manifest's folder"):
        run_manifest(path, function=StandIn())
    assert not (tmp_path / "escape.nc").exists()
    [task] = load_manifest(path, allow_outside=True)
    assert task.out == str((folder / out).resolve())


def test_outputs_inside_the_folder_are_accepted_relative_or_absolute(tmp_path):
    path = _manifest(tmp_path, ["runs/a.nc", str(tmp_path / "b.nc"), "runs/sub/../c.nc"])
    result = run_manifest(path, function=StandIn())
    assert [o.status for o in result.outcomes] == ["done"] * 3 and (tmp_path / "runs" / "c.nc").exists()


def test_failure_message_names_task_output_reason_and_retry_only_when_it_can_help(tmp_path):
    path = _manifest(tmp_path, ["a.nc", "b.nc", "c.nc"])
    bad_input = ModelLoadError("model 'nope' is not a registry name, a local folder or a cached hub id")
    result = run_manifest(path, retries=0, function=StandIn({"fp32": bad_input, "bf16": RuntimeError("disk hiccup")}))
    assert [(o.status, o.retryable) for o in result.outcomes] == [("failed", False), ("failed", True), ("done", False)]
    message = result.failure_message()
    assert "2 of 3 tasks failed" in message and "\n" not in message
    assert f"task 1 (default, fp32 -> {tmp_path / 'a.nc'}): model 'nope' is not a registry name" in message
    assert f"task 2 (default, bf16 -> {tmp_path / 'b.nc'}): RuntimeError: disk hiccup" in message
    assert message.endswith("run the same command again to retry task(s) 2 (finished tasks are skipped)")
    assert json.loads(state_path_for(path).read_text())["tasks"][result.outcomes[0].task_id]["retryable"] is False
    only_input = run_manifest(path, retries=0, function=StandIn({"fp32": bad_input}))
    assert [o.status for o in only_input.outcomes] == ["failed", "done", "skipped"]
    assert only_input.failure_message().endswith("running the same command again would fail the same way: correct "
                                                 "the input first")
    assert "run the same command again" not in only_input.failure_message()


def test_an_output_another_process_is_writing_is_a_retryable_failure(tmp_path):
    path = _manifest(tmp_path, ["a.nc"])
    busy = OutputBusyError("another rsastats process (pid 1) is writing this output", path=tmp_path / "a.nc")
    result = run_manifest(path, retries=0, function=StandIn({"fp32": busy}))
    assert result.outcomes[0].retryable and "retry task(s) 1" in result.failure_message()


def test_one_run_of_a_manifest_at_a_time(tmp_path):
    path = _manifest(tmp_path, ["a.nc"])
    with another_process(HOLDER, state_path_for(path), tmp_path / "ready") as holder:
        with pytest.raises(OutputBusyError, match=f"pid {holder.pid}"):
            run_manifest(path, function=StandIn())
    assert not (tmp_path / "a.nc").exists()
    assert [o.status for o in run_manifest(path, function=StandIn()).outcomes] == ["done"]


def test_command_line_refuses_outside_outputs_in_one_line(tmp_path):
    folder = tmp_path / "study"
    folder.mkdir()
    path = _manifest(folder, ["../escape.nc"])
    result = CliRunner().invoke(cli, ["extract", "--manifest", str(path)])
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "--allow-outside" in lines[0]
    result = CliRunner().invoke(cli, ["extract", "--allow-outside", "--out", "x.nc"])
    assert result.exit_code == 2 and "--allow-outside applies to --manifest runs only" in result.stderr


@pytest.mark.parametrize("error, code, advice", [
    (ModelLoadError("model 'nope' cannot be loaded"), 2, "would fail the same way"),
    (RuntimeError("worker lost"), 1, "run the same command again to retry task(s) 1"),
])
def test_command_line_failure_line_and_exit_status(tmp_path, monkeypatch, error, code, advice):
    import extraction.manifest as manifest_module

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(manifest_module, "extract_task", failing)
    path = _manifest(tmp_path, ["a.nc"])
    result = CliRunner().invoke(cli, ["extract", "--manifest", str(path), "--retries", "0", "--json"])
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == code and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {path}: 1 of 1 tasks failed: task 1 (default, fp32 -> {tmp_path / 'a.nc'}): ")
    assert str(error) in lines[0] and advice in lines[0]
    [task] = json.loads(result.stdout)["tasks"]
    assert task["status"] == "failed" and task["retryable"] is (code == 1)
