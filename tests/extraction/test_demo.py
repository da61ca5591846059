"""`rsastats demo --quick` end to end on tiny randomly initialised models (a llama in place of
SmolLM2, a bert in place of MiniLM): every step runs, the report is written, a second run skips
everything, and a deleted or interrupted step is redone alone.  The full demo on the real models
is not part of the test suite (it takes about ten minutes)."""

from __future__ import annotations

import json

import pytest

from rsastats.cli.demo import QUICK, demo_steps, run_demo

from .conftest import make_loaded

pytestmark = pytest.mark.extraction


def _loader(calls):
    def load(model: str, precision: str):
        calls.append((model, precision))
        if model == "minilm":
            return make_loaded("bert", seed=2, variant="base")
        return make_loaded("llama", seed=1, variant="instruct")

    return load


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("demo")
    calls: list[tuple[str, str]] = []
    lines: list[str] = []
    out, work = tmp / "report", tmp / "work"
    result = run_demo(out, work=work, quick=True, threads=1, loader=_loader(calls), log=lines.append)
    return result, calls, lines


def test_quick_demo_runs_every_step_and_writes_the_report(first_run):
    result, calls, lines = first_run
    out, work = result.out, result.work
    steps = demo_steps(QUICK)
    assert [s["status"] for s in result.steps] == ["extracted"] * len(steps)
    assert {(c[0], c[1]) for c in calls} >= {("default", "fp32"), ("default", "bf16"), ("default", "int8-weight"),
                                             ("minilm", "fp32")}
    for step in steps:
        assert (work / f"{step.name}.nc").is_file()
    assert (out / "index.html").is_file() and (out / "report.md").is_file()
    manifest = json.loads((out / "report.json").read_text())
    assert manifest["key_numbers"]["n_models"] == len(steps) and manifest["key_numbers"]["n_emotions"] == 21
    assert f"first {QUICK.prompts} stimuli per emotion" in (out / "report.md").read_text()
    assert any(line.startswith("[1/") for line in lines)


def test_a_second_run_skips_everything_and_a_missing_step_is_redone_alone(first_run):
    result = first_run[0]
    calls: list[tuple[str, str]] = []
    again = run_demo(result.out, work=result.work, quick=True, threads=1, loader=_loader(calls))
    assert not calls and {s["status"] for s in again.steps} == {"up to date"}
    assert again.report_status == "up to date" and again.report is None
    (result.work / "minilm.nc").unlink()
    third = run_demo(result.out, work=result.work, quick=True, threads=1, loader=_loader(calls))
    assert [s["name"] for s in third.steps if s["status"] != "up to date"] == ["minilm"]
    assert calls == [("minilm", "fp32")]
    # the re-extracted file holds the same data (only its `created` time differs): the report is up to date
    assert third.report_status == "up to date"


def test_demo_cli_json_and_bad_options(first_run, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from rsastats.cli import demo as demo_module
    from rsastats.cli import cli

    original = demo_module.run_demo
    monkeypatch.setattr(demo_module, "run_demo", lambda *a, **k: original(*a, loader=_loader([]), **k))
    work = first_run[0].work  # extraction is up to date there; the report is new
    result = CliRunner().invoke(cli, ["demo", "--quick", "--out", str(tmp_path / "r"), "--work", str(work), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["report_status"] == "written" and out["html"].endswith("index.html")
    assert len(out["steps"]) == len(demo_steps(QUICK))
    bad = CliRunner().invoke(cli, ["demo", "--threads", "0"])
    assert bad.exit_code == 2 and bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1


def test_a_change_of_the_analysis_code_rebuilds_the_report(first_run, monkeypatch):
    from rsastats.cli import demo as demo_module

    result = first_run[0]
    recorded = json.loads((result.out / "report.json").read_text())["config"]["extra"]["code_sha256"]
    assert recorded == demo_module.code_sha256() and len(recorded) == 64
    monkeypatch.setattr(demo_module, "code_sha256", lambda: "0" * 64)
    calls: list[tuple[str, str]] = []
    again = run_demo(result.out, work=result.work, quick=True, threads=1, loader=_loader(calls))
    assert not calls and {s["status"] for s in again.steps} == {"up to date"}
    assert again.report_status != "up to date" and again.report is not None
    assert json.loads((result.out / "report.json").read_text())["config"]["extra"]["code_sha256"] == "0" * 64
