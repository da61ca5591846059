"""The command-line conventions, checked for every subcommand: --help has an example; --json prints
exactly one JSON object; every documented bad input exits 2 with a single `error:` line on stderr
(no traceback); the installed entry point behaves the same."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from rsastats.cli import SUBCOMMANDS, cli
from rsastats.io import make_vectors, write_dataset
from rsastats.simulate import simulate_activations, true_vectors

FAST_COMPARE = ["--n-boot", "30", "--permutations", "19", "--n-splits", "3"]
FAST_REPORT = ["--n-boot", "30", "--permutations", "19", "--n-splits", "3", "--layer-points", "2", "--layer-n-boot", "20",
               "--geometry-layers", "2", "--geometry-n-boot", "20", "--decompose", "no", "--maturity-n-boot", "20"]
RSASTATS = Path(sys.executable).with_name("rsastats")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("conventions")
    tv = true_vectors(6, 10, seed=1)
    out = {}
    for i in range(3):
        ds = simulate_activations(6, 5, 2, 10, vectors=tv, noise=0.6, n_baseline=8, seed=i + 1,
                                  attrs={"model": f"m{i}", "variant": "base", "family": f"f{i}"})
        out[f"good{i}"] = str(write_dataset(ds, tmp / f"good{i}.nc"))
    # the first model again at another precision: a design with an estimable variance component
    ds = simulate_activations(6, 5, 2, 10, vectors=tv, noise=0.6, n_baseline=8, seed=7,
                              attrs={"model": "m0", "variant": "base", "family": "f0", "precision": "bf16"})
    out["good0_bf16"] = str(write_dataset(ds, tmp / "good0-bf16.nc"))
    labels = [str(e) for e in ds["emotion"].values]
    good_bytes = Path(out["good0"]).read_bytes()
    out["missing"] = str(tmp / "does-not-exist.nc")
    (tmp / "text.nc").write_text("emotion,value\nhappy,1\n")
    out["text"] = str(tmp / "text.nc")
    (tmp / "truncated.nc").write_bytes(good_bytes[: len(good_bytes) // 2])
    out["truncated"] = str(tmp / "truncated.nc")
    (tmp / "empty.nc").write_bytes(b"")
    out["empty"] = str(tmp / "empty.nc")
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(tmp / "foreign.nc")
    out["foreign"] = str(tmp / "foreign.nc")
    nan = xr.open_dataset(out["good0"]).load()
    values = nan["activations"].values.copy()
    values[0, 0, -1, 0] = np.nan  # in the layer every command uses (the last)
    nan["activations"].values = values
    nan.to_netcdf(tmp / "nan.nc")
    out["nan"] = str(tmp / "nan.nc")
    dup = xr.open_dataset(out["good0"]).load()
    dup = dup.assign_coords(emotion=[labels[0]] + labels[:-1])
    dup.to_netcdf(tmp / "duplicated.nc")
    out["duplicated"] = str(tmp / "duplicated.nc")
    other = make_vectors(np.random.default_rng(0).standard_normal((6, 10)), labels[:-1] + ["zzz"], attrs={"model": "x"})
    out["other_emotions"] = str(write_dataset(other, tmp / "other.nc"))
    features = np.random.default_rng(2).standard_normal((6, 2))
    (tmp / "features.csv").write_text("emotion,valence,arousal\n" + "".join(
        f"{e},{v},{a}\n" for e, (v, a) in zip(labels, features)))
    out["features"] = str(tmp / "features.csv")
    from rsastats.simulate import simulate_audit_case

    datasets, _ = simulate_audit_case(noise=0.5, n_prompts=6, seed=3)
    for ds, name in zip(datasets, ("audit_a", "audit_b", "audit_ref_a", "audit_ref_b")):
        out[name] = str(write_dataset(ds, tmp / f"{name}.nc"))
    out["tmp"] = str(tmp)
    return out


@pytest.fixture
def runner():
    return CliRunner()


def _single_error_line(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in result.output
    return lines[0]


# --------------------------------------------------------------------------- --help
@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_help_has_an_example(runner, name):
    result = runner.invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output and f"rsastats {name}" in result.output


def test_top_level_help_lists_every_subcommand(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in SUBCOMMANDS:
        assert name in result.output


# --------------------------------------------------------------------------- --json
def _one_json_object(result) -> dict:
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)  # fails if there is anything else on stdout
    assert isinstance(obj, dict)
    return obj


def _json_invocations(files, tmp):
    g0, g1, g2 = files["good0"], files["good1"], files["good2"]
    np.save(Path(tmp) / "vectors.npy", np.random.default_rng(1).standard_normal((6, 10)))
    labels = ",".join(str(e) for e in xr.open_dataset(g0)["emotion"].values)
    return {
        "describe": ["describe", g0, "--json"],
        "import": ["import", str(Path(tmp) / "vectors.npy"), "--labels", labels, "--out", str(Path(tmp) / "imported.nc"),
                   "--json"],
        "geometry": ["geometry", g0, "--n-boot", "20", "--json"],
        "maturity": ["maturity", g0, "--n-boot", "20", "--json"],
        "compare": ["compare", g0, g1, *FAST_COMPARE, "--json"],
        "matrix": ["matrix", g0, g1, g2, *FAST_COMPARE, "--json"],
        "hypotheses": ["hypotheses", g0, g1, "--models", files["features"], *FAST_COMPARE, "--json"],
        "report": ["report", g0, g1, g2, "--out", str(Path(tmp) / "report"), *FAST_REPORT, "--json"],
        "decompose": ["decompose", g0, g1, files["good0_bf16"], "--n-boot", "10", "--json"],
        "extract": ["extract", "--list-models", "--json"],
        "audit": [*_audit_args(files, files["audit_a"], files["audit_b"]), "--json"],
    }


def _audit_args(files, a, b):
    return ["audit", a, b, "--reference-files", files["audit_ref_a"], files["audit_ref_b"], "--n-boot", "50"]


@pytest.mark.parametrize("name", sorted(set(SUBCOMMANDS) - {"demo"}))  # demo: tests/extraction/test_demo.py
def test_json_is_exactly_one_object(runner, files, tmp_path, name):
    invocations = _json_invocations(files, tmp_path)
    assert name in invocations, f"add a --json invocation for the new subcommand {name}"
    obj = _one_json_object(runner.invoke(cli, invocations[name]))
    assert obj


# --------------------------------------------------------------------------- bad input
BAD_FILES = ["missing", "text", "truncated", "empty", "foreign", "nan", "duplicated"]
FILE_COMMANDS = {
    "describe": lambda f, bad, tmp: ["describe", bad],
    "geometry": lambda f, bad, tmp: ["geometry", bad, "--n-boot", "20"],
    "maturity": lambda f, bad, tmp: ["maturity", bad, "--n-boot", "20"],
    "compare": lambda f, bad, tmp: ["compare", f["good0"], bad, *FAST_COMPARE],
    "matrix": lambda f, bad, tmp: ["matrix", f["good0"], f["good1"], bad, *FAST_COMPARE],
    "hypotheses": lambda f, bad, tmp: ["hypotheses", f["good0"], bad, "--models", f["features"], *FAST_COMPARE],
    "report": lambda f, bad, tmp: ["report", f["good0"], bad, "--out", str(Path(tmp) / "r"), *FAST_REPORT],
    "decompose": lambda f, bad, tmp: ["decompose", f["good0"], f["good1"], bad, "--n-boot", "5"],
    "audit": lambda f, bad, tmp: _audit_args(f, f["audit_a"], bad),
}


@pytest.mark.parametrize("bad", BAD_FILES)
@pytest.mark.parametrize("command", sorted(FILE_COMMANDS))
def test_bad_files_exit_2_with_one_error_line(runner, files, tmp_path, command, bad):
    if command not in SUBCOMMANDS:
        pytest.skip(f"{command} is not on this branch")
    result = runner.invoke(cli, FILE_COMMANDS[command](files, files[bad], tmp_path))
    assert result.exit_code == 2, (result.exit_code, result.output)
    line = _single_error_line(result)
    assert Path(files[bad]).name in line  # the message names the file
    if command == "report":
        assert not (tmp_path / "r").exists()  # nothing half-written


@pytest.mark.parametrize("command", ["compare", "matrix", "report", "decompose"])
def test_mismatched_emotion_sets_exit_2(runner, files, tmp_path, command):
    if command not in SUBCOMMANDS:
        pytest.skip(f"{command} is not on this branch")
    args = FILE_COMMANDS[command](files, files["other_emotions"], tmp_path)
    if command in ("compare", "report"):
        args = [a if a != files["good0"] else files["good0"] for a in args]
    result = runner.invoke(cli, args + (["--bootstrap", "emotions"] if command in ("compare", "matrix", "report") else []))
    assert result.exit_code == 2, result.output
    line = _single_error_line(result)
    assert "zzz" in line or "emotion" in line


BAD_OPTIONS = {
    "compare": lambda f, tmp: ["compare", f["good0"], f["good1"], "--ci", "magic"],
    "matrix": lambda f, tmp: ["matrix", f["good0"], "--n-boot", "10"],
    "report": lambda f, tmp: ["report", f["good0"], f["good1"], "--out", str(Path(tmp) / "r"), "--confidence", "1.5"],
    "report-reference": lambda f, tmp: ["report", f["good0"], f["good1"], "--out", str(Path(tmp) / "r"),
                                        "--reference", "nobody", *FAST_REPORT],
    "report-config": lambda f, tmp: ["report", "--config", str(Path(tmp) / "nope.yaml"), "--out", str(Path(tmp) / "r")],
    "report-maturity": lambda f, tmp: ["report", f["good0"], f["good1"], "--out", str(Path(tmp) / "r"),
                                       "--maturity-n-boot", "0"],
    "report-no-files": lambda f, tmp: ["report", "--out", str(Path(tmp) / "r")],
    "geometry": lambda f, tmp: ["geometry", f["good0"], "--layer", "99"],
    "maturity": lambda f, tmp: ["maturity", f["good0"], "--layer", "all"],
    "import": lambda f, tmp: ["import", f["text"], "--out", str(Path(tmp) / "x.nc")],
    "describe": lambda f, tmp: ["describe"],
    "extract": lambda f, tmp: ["extract", "--precision", "int4", "--out", str(Path(tmp) / "x.nc")],
    "extract-stimuli": lambda f, tmp: ["extract", "--stimuli", f["text"], "--out", str(Path(tmp) / "x.nc")],
    "demo": lambda f, tmp: ["demo", "--int8", "int4"],
    "decompose": lambda f, tmp: ["decompose", f["good0"], f["good1"], "--ci", "magic"],
    "audit": lambda f, tmp: [*_audit_args(f, f["audit_a"], f["audit_b"]), "--ci", "magic"],
    "unknown-option": lambda f, tmp: ["compare", f["good0"], f["good1"], "--frobnicate"],
    "unknown-command": lambda f, tmp: ["frobnicate"],
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_bad_options_exit_2_with_one_error_line(runner, files, tmp_path, case):
    if case.split("-")[0] not in SUBCOMMANDS and case not in ("unknown-option", "unknown-command"):
        pytest.skip(f"{case} is not on this branch")
    result = runner.invoke(cli, BAD_OPTIONS[case](files, tmp_path))
    assert result.exit_code == 2, (result.exit_code, result.output)
    _single_error_line(result)
    assert not (tmp_path / "r").exists() and not (tmp_path / "x.nc").exists()


def test_json_mode_errors_are_one_json_object_too(runner, files):
    result = runner.invoke(cli, ["compare", files["good0"], files["missing"], "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["exit_code"] == 2
    _single_error_line(result)


# --------------------------------------------------------------------------- installed entry point
def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(RSASTATS), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not RSASTATS.exists(), reason="the rsastats script is not installed beside this python")
def test_installed_entry_point(files, tmp_path):
    proc = _run("compare", files["good0"], files["good1"], *FAST_COMPARE, "--json")
    assert proc.returncode == 0, proc.stderr
    assert {"rho", "ci_low", "ci_high", "p_value", "n_emotions"} <= set(json.loads(proc.stdout))
    proc = _run("report", files["good0"], files["good1"], "--out", str(tmp_path / "r"), *FAST_REPORT, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert Path(out["html"]).is_file() and Path(out["markdown"]).is_file()
    proc = _run("describe", files["truncated"])
    assert proc.returncode == 2
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()][0].startswith("error: ")
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1 and "Traceback" not in proc.stderr
    proc = _run("--debug", "describe", files["truncated"])
    assert proc.returncode == 2 and "Traceback" in proc.stderr


@pytest.mark.skipif(not RSASTATS.exists(), reason="the rsastats script is not installed beside this python")
def test_compare_fits_one_screen(files):
    """rho, its CI and method, the permutation p, n and the noise ceilings in one 80 x 24 screen."""
    proc = subprocess.run([str(RSASTATS), "compare", files["good0"], files["good1"], *FAST_COMPARE], capture_output=True,
                          text=True, timeout=300, env={"COLUMNS": "80", "LINES": "24", "PATH": str(RSASTATS.parent)})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.rstrip("\n").splitlines()
    assert len(lines) <= 24 and max(len(ln) for ln in lines) <= 80
    text = proc.stdout
    for needle in ("rho (as measured)", "95% CI", "jackknife", "rho_corrected", "Mantel p", "permutations", "n ",
                   "6 emotions", "noise ceiling"):
        assert needle in text, needle


def _bad_vector_file(tmp: Path, problem: str) -> tuple[Path, list[str]]:
    values = np.random.default_rng(2).standard_normal((6, 10))
    labels = ["a", "b", "c", "d", "e", "f"]
    if problem == "nan":
        values[2, 3] = np.nan
    elif problem == "inf":
        values[0, 0] = np.inf
    elif problem == "zero-vector":
        values[1] = 0.0
    elif problem == "fp16-overflow":  # 1e6 does not fit float16: stored as inf
        with np.errstate(over="ignore"):
            values = values.astype(np.float16)
            values[0, 0] = np.float16(1e6)
    elif problem == "duplicated-label":
        labels[1] = "a"
    path = tmp / f"{problem}.npy"
    np.save(path, values)
    return path, labels


@pytest.mark.parametrize("problem", ["nan", "inf", "zero-vector", "fp16-overflow", "duplicated-label"])
def test_bad_vector_imports_exit_2_naming_the_file(runner, tmp_path, problem):
    path, labels = _bad_vector_file(tmp_path, problem)
    result = runner.invoke(cli, ["import", str(path), "--labels", ",".join(labels), "--out", str(tmp_path / "x.nc")])
    assert result.exit_code == 2, result.output
    assert path.name in _single_error_line(result)
    assert not (tmp_path / "x.nc").exists()


def test_a_model_that_cannot_load_exits_2_naming_it(runner, tmp_path):
    folder = tmp_path / "broken-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama", "hidden_size": "wide"}')
    (folder / "model.safetensors").write_bytes(b"not weights")
    result = runner.invoke(cli, ["extract", "--model", str(folder), "--out", str(tmp_path / "x.nc")])
    assert result.exit_code == 2, result.output
    line = _single_error_line(result)
    assert "broken-model" in line and "cannot be loaded" in line
    assert not (tmp_path / "x.nc").exists() and not list(tmp_path.glob("x.nc*"))


def test_an_audit_result_goes_into_a_report(runner, files, tmp_path):
    result = runner.invoke(cli, [*_audit_args(files, files["audit_a"], files["audit_b"]), "--json"])
    audit_json = tmp_path / "audit.json"
    audit_json.write_text(result.stdout)
    verdict = json.loads(result.stdout)["verdict"]
    out = tmp_path / "r"
    result = runner.invoke(cli, ["report", files["audit_a"], files["audit_b"], "--out", str(out), "--audit",
                                 str(audit_json), *FAST_REPORT, "--json"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "report.json").read_text())
    records = {r["field"]: r["value"] for r in manifest["tables"]["audit"]["records"]}
    assert records["verdict"] == verdict
    assert "## Audit" in (out / "report.md").read_text()
