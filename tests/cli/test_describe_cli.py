"""`rsastats --version`, `rsastats describe` and the error conventions, through CliRunner and the installed script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from rsastats import __version__
from rsastats.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def test_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_describe_table(runner, activations_file):
    result = runner.invoke(cli, ["describe", str(activations_file)])
    assert result.exit_code == 0, result.output
    assert "valid activations file" in result.output
    assert "emotion=6" in result.output and "happy" in result.output


def test_describe_json(runner, activations_file):
    result = runner.invoke(cli, ["describe", str(activations_file), "--json"])
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["kind"] == "activations" and info["valid"] is True
    assert info["n_emotions"] == 6 and info["dims"]["prompt"] == 5
    assert info["prompts_valid"]["happy"] == 5 and info["has_baseline"] is True


def _bad_files(tmp_path, activations_ds):
    from rsastats.io import netcdf_encoding as _encoding

    def raw(ds, name):
        p = tmp_path / name
        ds.to_netcdf(p, engine="netcdf4", encoding=_encoding(ds))
        return p

    good = tmp_path / "good.nc"
    from rsastats.io import write_dataset

    write_dataset(activations_ds, good)
    cut = tmp_path / "cut.nc"
    cut.write_bytes(good.read_bytes()[:-200])
    text = tmp_path / "text.nc"
    text.write_text("not netcdf")
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"t": ("x", np.arange(3.0))}).to_netcdf(foreign)
    noattr = activations_ds.copy()
    noattr.attrs = {k: v for k, v in noattr.attrs.items() if k != "model"}
    nan = activations_ds.copy(deep=True)
    nan["activations"].values[0, 0, 0, 0] = np.nan
    labels = activations_ds["emotion"].values.copy()
    labels[1] = labels[0]
    return {
        "file not found": tmp_path / "missing.nc",
        "not a NetCDF file": text,
        "truncated or corrupt": cut,
        "no 'schema' attribute": foreign,
        "missing required attribute": raw(noattr, "noattr.nc"),
        "NaN or Inf": raw(nan, "nan.nc"),
        "duplicated emotion label": raw(activations_ds.assign_coords(emotion=labels), "dup.nc"),
    }


def test_every_bad_file_gives_one_error_line_and_exit_2(runner, tmp_path, activations_ds):
    for problem, path in _bad_files(tmp_path, activations_ds).items():
        result = runner.invoke(cli, ["describe", str(path)])
        assert result.exit_code == 2, (problem, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert lines[0].startswith(f"error: {path}") and problem in lines[0]
        assert "Traceback" not in result.output


def test_bad_file_with_json_gives_one_json_error(runner, tmp_path):
    result = runner.invoke(cli, ["describe", str(tmp_path / "missing.nc"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {"error": f"{tmp_path / 'missing.nc'}: file not found", "exit_code": 2}


def test_usage_errors_exit_2_with_error_prefix(runner):
    for args in (["describe"], ["nosuchcommand"], ["describe", "--nosuchoption", "x"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_unexpected_error_exits_1_without_traceback_unless_debug(runner, activations_file, monkeypatch):
    import rsastats.cli.commands.describe as mod

    def boom(path):
        raise RuntimeError("kaputt")

    monkeypatch.setattr(mod, "describe_file", boom)
    result = runner.invoke(cli, ["describe", str(activations_file)])
    assert result.exit_code == 1 and "internal error: RuntimeError: kaputt" in result.stderr
    assert "Traceback" not in result.stderr
    result = runner.invoke(cli, ["--debug", "describe", str(activations_file)])
    assert result.exit_code == 1 and "Traceback" in result.stderr


def test_import_command(runner, tmp_path):
    src = tmp_path / "paper.csv"
    src.write_text("emotion,d0,d1,d2\nhappy,1,0,0\nsad,0,1,0\ncalm,0,0,1\nangry,1,1,0\n")
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"model": "paper", "method": "generation", "precision": "int8"}))
    out = tmp_path / "paper.nc"
    result = runner.invoke(cli, ["import", str(src), "--meta", str(meta), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_emotions"] == 4
    described = json.loads(runner.invoke(cli, ["describe", str(out), "--json"]).stdout)
    assert described["kind"] == "vectors" and described["attrs"]["method"] == "generation"


def test_installed_entry_point(activations_file):
    exe = shutil.which("rsastats", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert exe, "the console script is not installed next to this Python"
    done = subprocess.run([exe, "describe", str(activations_file), "--json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["kind"] == "activations"
    bad = subprocess.run([exe, "describe", "/nonexistent.nc"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and bad.stderr.strip() == "error: /nonexistent.nc: file not found"


def test_core_and_cli_help_do_not_import_torch():
    code = (
        "import sys, rsastats, rsastats.cli, rsastats.data, rsastats.io\n"
        "from click.testing import CliRunner\n"
        "r = CliRunner().invoke(rsastats.cli.cli, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "for name in rsastats.cli.SUBCOMMANDS:\n"
        "    assert CliRunner().invoke(rsastats.cli.cli, [name, '--help']).exit_code == 0\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
