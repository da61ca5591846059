"""`rsastats decompose` through click's CliRunner: table, JSON, notes, warnings and one-line errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rsastats.variance import fit as variance_fit
from rsastats.cli import cli
from rsastats.data import write_dataset
from rsastats.simulate import simulate_condition_vectors


def _conditions():
    out = []
    for model in ("qwen", "llama"):
        out += [dict(model=model, method="comprehension", precision="fp16", experiment="A") for _ in range(2)]
        out.append(dict(model=model, method="comprehension", precision="int8-token", experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="fp16", experiment="B"))
        for temperature in (0.7, 1.0):
            out.append(dict(model=model, method="generation", precision="fp16", experiment="A", temperature=temperature,
                            top_p=0.9, max_new_tokens=100, template="chat", seed=1))
    return out


@pytest.fixture
def files(tmp_path):
    datasets = simulate_condition_vectors(_conditions(), {"model": 0.5, "method": 0.4, "precision": 0.3,
                                                          "temperature": 0.2}, 10, 16, seed=0)
    return [str(write_dataset(ds, tmp_path / f"run{i:02d}.nc")) for i, ds in enumerate(datasets)]


@pytest.fixture
def runner():
    return CliRunner()


def test_table_output(runner, files):
    result = runner.invoke(cli, ["decompose", *files, "--n-boot", "20"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    for text in ("Variance decomposition: 12 files, 10 emotions, 45 cells", "shared geometry", "  precision",
                 "  model:experiment", "3 precision", "comprehension vs generation", "fp16 vs int8-token",
                 "between models", "y ~ 1 + (1 | cell)", "LRT p"):
        assert text in out, text
    assert "top_p: not estimable: top_p does not vary: it is 0.9 in all 4 generation files" in out


def test_json_output(runner, files):
    result = runner.invoke(cli, ["decompose", *files, "--n-boot", "15", "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"components", "layers", "contrasts", "pairs", "files", "emotions", "diagnostics"}
    diag = data["diagnostics"]
    assert diag["n_boot"] == 15 and diag["seed"] == 3 and diag["n_files"] == 12 and diag["converged"] is True
    by_name = {c["component"]: c for c in data["components"]}
    assert by_name["method"]["estimable"] is True and by_name["method"]["share_ci_low"] is not None
    assert by_name["top_p"]["estimable"] is False and by_name["top_p"]["share"] is None
    assert data["files"][0]["model"] == "qwen" and data["files"][0]["kind"] == "vectors"
    again = runner.invoke(cli, ["decompose", *files, "--n-boot", "15", "--seed", "3", "--json"])
    assert again.stdout == result.stdout


def test_options_are_passed(runner, files):
    result = runner.invoke(cli, ["decompose", *files, "--n-boot", "0", "--components", "model,precision",
                                 "--response", "zscore", "--no-test", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["component"] for c in data["components"]] == ["shared", "model", "precision", "residual"]
    assert data["diagnostics"]["response"] == "zscore"
    assert all(c["lrt_p"] is None for c in data["components"])


def test_non_convergence_is_shown(runner, files, monkeypatch):
    monkeypatch.setattr(variance_fit, "GRAD_TOL", -1.0)
    result = runner.invoke(cli, ["decompose", *files, "--n-boot", "3"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "converged=NO" in result.output and "warning: the fit did not converge" in result.output
    as_json = runner.invoke(cli, ["decompose", *files, "--n-boot", "3", "--json"])
    diag = json.loads(as_json.stdout)["diagnostics"]
    assert diag["converged"] is False and any("did not converge" in w for w in diag["warnings"])


def test_mismatched_emotions_is_one_line_error(runner, files, tmp_path):
    from rsastats.data import open_vectors

    odd = open_vectors(files[1]).isel(emotion=slice(1, None))
    bad = str(write_dataset(odd, tmp_path / "odd.nc"))
    result = runner.invoke(cli, ["decompose", files[0], bad, "--n-boot", "0"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {bad}: emotion sets differ (only in {files[0]}: happy)"]


@pytest.mark.parametrize("args, message", [
    (["--components", "model,colour"], "unknown factor"),
    (["--layer", "3"], "no layer"),
])
def test_bad_options_exit_2(runner, files, tmp_path, args, message):
    from rsastats.simulate import simulate_activations

    acts = [str(write_dataset(simulate_activations(5, 3, 2, 8, attrs=c, seed=i), tmp_path / f"a{i}.nc"))
            for i, c in enumerate(_conditions()[:4])]
    result = runner.invoke(cli, ["decompose", *acts, "--n-boot", "0", *args])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and message in result.stderr


def test_missing_file_and_json_error(runner, files, tmp_path):
    missing = str(tmp_path / "nope.nc")
    result = runner.invoke(cli, ["decompose", files[0], missing, "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"].startswith(missing)


def test_help(runner):
    result = runner.invoke(cli, ["decompose", "--help"])
    assert result.exit_code == 0 and "--n-boot" in result.output and "--layer" in result.output
