"""Issue 17, the reading side: hostile or malformed input gets one `error:` line and exit 2, never a
traceback, a hang or an exhausted machine.  One test per class of the independent kit: declared sizes,
archives, resample counts, YAML aliases, malformed attributes and labels, encodings, --meta values,
unwritable outputs, control characters in names, and the validation scope of `compare`."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.io import make_vectors, write_dataset
from rsastats.limits import MEMORY_ENV
from rsastats.simulate import simulate_activations, simulate_condition_vectors

FAST = ["--n-boot", "20", "--permutations", "19", "--n-splits", "2"]
BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8))


def run(args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def one_error(result) -> str:
    """The single stderr line of a refused input (exit 2, no traceback)."""
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.output)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    a = write_dataset(simulate_activations(6, 4, 2, 8, seed=1), tmp / "a.nc")
    b = write_dataset(simulate_activations(6, 4, 2, 8, seed=2), tmp / "b.nc")
    return a, b


def _declaring_file(path: Path, hidden: int) -> Path:
    """An activations-shaped NetCDF whose header declares 6 x 4 x 1 x ``hidden`` float32 and holds
    nothing (compressed chunks never written): a few KiB on disk."""
    with netCDF4.Dataset(path, "w") as nc:
        for dim, size in (("emotion", 6), ("prompt", 4), ("layer", 1), ("hidden", hidden)):
            nc.createDimension(dim, size)
        nc.createVariable("activations", "f4", ("emotion", "prompt", "layer", "hidden"), zlib=True,
                          chunksizes=(1, 1, 1, min(hidden, 1 << 20)))
        nc.setncattr("schema", "rsastats.activations/1")
    return path


# --------------------------------------------------------------------------- declared sizes
def test_netcdf_declaring_more_than_the_memory_limit_is_refused_before_reading(tmp_path, pair):
    big = _declaring_file(tmp_path / "big.nc", 2_500_000_000)  # 224 GiB declared
    line = one_error(run(["compare", big, pair[1], *FAST]))
    assert "big.nc" in line and "declared" in line and MEMORY_ENV in line


def test_memory_limit_is_set_by_the_environment_and_named(tmp_path, pair):
    small = _declaring_file(tmp_path / "small.nc", 3_000_000)  # 288 MB declared in a few KiB
    line = one_error(run(["describe", small]))
    assert "decompression bomb" in line and MEMORY_ENV in line
    line = one_error(run(["describe", small], env={MEMORY_ENV: "100M"}))
    assert "100.0 MiB" in line and f"set by {MEMORY_ENV}" in line
    assert "not a size" in one_error(run(["describe", small], env={MEMORY_ENV: "lots"}))


def test_npz_bomb_is_not_decompressed(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (6, 6_000_000)})
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("v.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            block = bytes(8 << 20)
            for _ in range(6 * 6_000_000 * 8 // len(block) + 1):
                member.write(block)
    assert bomb.stat().st_size < 2 << 20
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: opened.append(a) or (_ for _ in ()).throw(AssertionError))
    line = one_error(run(["import", bomb, "--labels", "a,b,c,d,e,f", "--out", tmp_path / "out.nc"]))
    assert "bomb.npz" in line and "decompression bomb" in line and "pickled" not in line
    assert not opened and not (tmp_path / "out.nc").exists()


def test_npz_member_whose_header_lies_about_its_size(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    with zipfile.ZipFile(tmp_path / "lie.npz", "w") as archive:
        archive.writestr("v.npy", header.getvalue() + bytes(64))
    line = one_error(run(["import", tmp_path / "lie.npz", "--labels", "a", "--out", tmp_path / "o.nc"]))
    assert "member 'v' declares shape (1000000000000,)" in line and "pickled" not in line


def test_npy_header_checked_before_reading(tmp_path):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (6, 4)})
    (tmp_path / "short.npy").write_bytes(header.getvalue() + bytes(10))
    assert "truncated" in one_error(run(["import", tmp_path / "short.npy", "--labels", "a,b,c,d,e,f", "--out",
                                         tmp_path / "o.nc"]))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    assert "pickled objects" in one_error(run(["import", tmp_path / "obj.npy", "--labels", "a", "--out",
                                               tmp_path / "o.nc"]))


# --------------------------------------------------------------------------- resample counts
@pytest.mark.parametrize("option", ["--n-boot", "--permutations", "--n-splits"])
def test_resample_counts_beyond_memory_are_refused_at_once(tmp_path, option):
    # 16 emotions: 16! > 10^12, so the permutations are drawn, not enumerated
    a = write_dataset(simulate_activations(16, 4, 1, 6, seed=1), tmp_path / "a.nc")
    b = write_dataset(simulate_activations(16, 4, 1, 6, seed=2), tmp_path / "b.nc")
    args = dict(zip(FAST[::2], FAST[1::2]))
    args[option] = str(10**12)
    start = time.perf_counter()
    line = one_error(run(["compare", a, b, *[x for kv in args.items() for x in kv]]))
    assert time.perf_counter() - start < 20
    assert f"{option} {10**12} needs about" in line and f"use at most {option} " in line and MEMORY_ENV in line
    most = int(line.rsplit(" ", 1)[1])
    assert 0 < most < 10**12


def _resample_files(tmp_path, command):
    """Small valid inputs for ``command``: a base/instruct pair (geometry, maturity, audit), or runs that
    differ in model and precision (decompose)."""
    if command == "decompose":
        conditions = [dict(model=m, method="comprehension", precision=p, experiment="A")
                      for m in ("qwen", "llama") for p in ("fp16", "fp16", "int8-token")]
        datasets = simulate_condition_vectors(conditions, {"model": 0.5, "precision": 0.3}, 8, 16, seed=0)
        return [write_dataset(ds, tmp_path / f"run{i}.nc") for i, ds in enumerate(datasets)]
    return [write_dataset(simulate_activations(8, 6, 1, 6, n_baseline=10, seed=i,
                                               attrs={"variant": variant, "family": "sim", "model": f"sim-{variant}"}),
                          tmp_path / f"{variant}.nc") for i, variant in enumerate(("base", "instruct"))]


@pytest.mark.parametrize("command", ["geometry", "maturity", "decompose", "audit"])
def test_n_boot_beyond_memory_is_refused_at_once_by_every_resampling_command(tmp_path, command):
    files = _resample_files(tmp_path, command)
    files = files[:1] if command == "maturity" else files
    start = time.perf_counter()
    line = one_error(run([command, *files, "--n-boot", str(10**12)]))
    assert time.perf_counter() - start < 20
    assert f"--n-boot {10**12} needs about" in line and "use at most --n-boot " in line and MEMORY_ENV in line, line
    most = int(line.rsplit(" ", 1)[1])
    assert 0 < most < 10**12
    # the largest count named passes the check, one more does not (a 1 MiB limit keeps the runs short)
    env = {MEMORY_ENV: "1M"}
    line = one_error(run([command, *files, "--n-boot", str(10**12)], env=env))
    most = int(line.rsplit(" ", 1)[1])
    assert f"use at most --n-boot {most}" in one_error(run([command, *files, "--n-boot", str(most + 1)], env=env))
    assert "needs about" not in run([command, *files, "--n-boot", str(most)], env=env).stderr


# --------------------------------------------------------------------------- YAML
def test_billion_laughs_meta_fails_fast(tmp_path, pair):
    assert len(BILLION_LAUGHS) < 600
    meta = tmp_path / "meta.yaml"
    meta.write_text(BILLION_LAUGHS)
    np.save(tmp_path / "v.npy", np.eye(6))
    start = time.perf_counter()
    line = one_error(run(["import", tmp_path / "v.npy", "--labels", "a,b,c,d,e,f", "--meta", meta, "--out",
                          tmp_path / "o.nc"]))
    assert time.perf_counter() - start < 1.0
    assert "meta.yaml" in line and "aliases expand" in line


def test_billion_laughs_analysis_file_fails_fast(tmp_path, pair):
    config = tmp_path / "analysis.yaml"
    config.write_text(BILLION_LAUGHS)
    line = one_error(run(["report", "--config", config, "--out", tmp_path / "rep"]))
    assert "analysis.yaml" in line and "aliases expand" in line


# --------------------------------------------------------------------------- malformed files
@pytest.mark.parametrize("name", ["model", "hidden_size", "seed"])
@pytest.mark.parametrize("command", ["compare", "describe"])
def test_required_attribute_that_is_an_array(tmp_path, pair, name, command):
    bad = tmp_path / "attr.nc"
    bad.write_bytes(Path(pair[0]).read_bytes())
    with netCDF4.Dataset(bad, "a") as nc:
        nc.setncattr(name, np.array([1, 2]))
    args = ["compare", bad, pair[1], *FAST] if command == "compare" else ["describe", bad]
    assert f"attr.nc: attribute {name} is an array ([1, 2]); expected one value" in one_error(run(args))


def test_schema_attribute_that_is_an_array(tmp_path, pair):
    bad = tmp_path / "arr.nc"
    bad.write_bytes(Path(pair[0]).read_bytes())
    with netCDF4.Dataset(bad, "a") as nc:
        nc.setncattr("schema", np.array([1, 2]))
    line = one_error(run(["compare", bad, pair[1], *FAST]))
    assert "arr.nc" in line and "'schema' attribute is [1, 2], not text" in line


@pytest.mark.parametrize("value, shown", [("yes", "'yes'"), (2, "2"), ("on", "'on'")])
def test_chat_template_other_than_0_or_1(tmp_path, pair, value, shown):
    bad = tmp_path / "chat.nc"
    bad.write_bytes(Path(pair[0]).read_bytes())
    with netCDF4.Dataset(bad, "a") as nc:
        nc.setncattr("chat_template", value)
    for args in (["compare", bad, pair[1], *FAST], ["describe", bad]):
        assert f"chat.nc: attribute chat_template={shown} is not 0 or 1" in one_error(run(args))


@pytest.mark.parametrize("value", [1, "1", 1.0, 0, ""])
def test_chat_template_0_1_or_unknown_is_read(tmp_path, pair, value):
    ok = tmp_path / "chat.nc"
    ok.write_bytes(Path(pair[0]).read_bytes())
    with netCDF4.Dataset(ok, "a") as nc:
        nc.setncattr("chat_template", value)
    assert run(["describe", ok]).exit_code == 0


def test_text_coordinate_of_numbers(tmp_path, pair):
    ds = simulate_activations(6, 4, 2, 8, seed=1)
    ds = ds.assign_coords(text=(("emotion", "prompt"), np.arange(24).reshape(6, 4)))
    ds.to_netcdf(tmp_path / "numbers.nc")
    line = one_error(run(["compare", tmp_path / "numbers.nc", pair[1], *FAST]))
    assert "numbers.nc: 'text' holds int64 values; expected the texts the model read or generated" in line


def test_chat_template_from_meta_is_checked_before_writing(tmp_path):
    np.save(tmp_path / "v.npy", np.eye(3))
    (tmp_path / "meta.json").write_text(json.dumps({"chat_template": "yes"}))
    line = one_error(run(["import", tmp_path / "v.npy", "--labels", "a,b,c", "--meta", tmp_path / "meta.json",
                          "--out", tmp_path / "o.nc"]))
    assert "chat_template='yes' is not 0 or 1" in line and not (tmp_path / "o.nc").exists()


def test_emotion_labels_with_surrounding_spaces_match_their_stripped_form(tmp_path, pair):
    ds = simulate_activations(6, 4, 2, 8, seed=1)
    padded = ds.assign_coords(emotion=[f" {e}  " for e in ds["emotion"].values])
    padded.to_netcdf(tmp_path / "padded.nc")
    a = run(["compare", tmp_path / "padded.nc", pair[1], *FAST, "--json"])
    b = run(["compare", pair[0], pair[1], *FAST, "--json"])
    assert a.exit_code == 0, a.stderr
    assert json.loads(a.stdout)["rho"] == json.loads(b.stdout)["rho"]


# --------------------------------------------------------------------------- encodings and --meta
def test_latin1_labels_and_meta_files(tmp_path):
    np.save(tmp_path / "v.npy", np.eye(3))
    (tmp_path / "labels.txt").write_bytes("joie\ncol\xe8re\npeur\n".encode("latin-1"))
    line = one_error(run(["import", tmp_path / "v.npy", "--labels", tmp_path / "labels.txt", "--out", tmp_path / "o.nc"]))
    assert "labels.txt" in line and "not UTF-8" in line and "offset 8" in line
    (tmp_path / "meta.json").write_bytes('{"model": "mod\xe8le"}'.encode("latin-1"))
    line = one_error(run(["import", tmp_path / "v.npy", "--labels", "a,b,c", "--meta", tmp_path / "meta.json",
                          "--out", tmp_path / "o.nc"]))
    assert "meta.json" in line and "not UTF-8" in line


@pytest.mark.parametrize("meta, expected", [
    ({"a/b": 1}, "attribute name 'a/b'"),
    ({"": 1}, "attribute name ''"),
    ({"big": 2**70}, "outside the 64-bit integer range"),
    ({"model": "m\u0000x"}, "NUL byte"),
    ({"nested": {"a": 1}}, "value NetCDF cannot store"),
])
def test_meta_values_netcdf_cannot_store(tmp_path, meta, expected):
    np.save(tmp_path / "v.npy", np.eye(3))
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    line = one_error(run(["import", tmp_path / "v.npy", "--labels", "a,b,c", "--meta", tmp_path / "meta.json",
                          "--out", tmp_path / "o.nc"]))
    assert "meta.json" in line and expected in line
    assert not (tmp_path / "o.nc").exists()


def test_meta_values_that_fit_are_stored_exactly(tmp_path):
    np.save(tmp_path / "v.npy", np.eye(3))
    meta = {"model": "m", "big": 2**62, "layers": [1, 2], "tags": ["x", "y"]}
    (tmp_path / "meta.json").write_text(json.dumps(meta))
    result = run(["import", tmp_path / "v.npy", "--labels", "a,b,c", "--meta", tmp_path / "meta.json", "--out",
                  tmp_path / "o.nc"])
    assert result.exit_code == 0, result.stderr
    with xr.open_dataset(tmp_path / "o.nc") as ds:
        assert ds.attrs["big"] == 2**62 and list(ds.attrs["layers"]) == [1, 2] and ds.attrs["tags"] == "x, y"


# --------------------------------------------------------------------------- writing
@pytest.mark.parametrize("error", [PermissionError(13, "Permission denied"), OSError(28, "No space left on device"),
                                   RuntimeError("NetCDF: HDF error")])
def test_unwritable_output_is_one_line_naming_it(tmp_path, monkeypatch, error):
    np.save(tmp_path / "v.npy", np.eye(3))

    def fail(self, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise error

    monkeypatch.setattr(xr.Dataset, "to_netcdf", fail)
    line = one_error(run(["import", tmp_path / "v.npy", "--labels", "a,b,c", "--out", tmp_path / "o.nc"]))
    assert f"{tmp_path / 'o.nc'}: cannot be written" in line
    # no temporary file left (the output lock's file stays by design)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["v.npy"]


def test_output_below_a_file_is_one_line_naming_it(tmp_path):
    np.save(tmp_path / "v.npy", np.eye(3))
    (tmp_path / "plain").write_text("x")
    line = one_error(run(["import", tmp_path / "v.npy", "--labels", "a,b,c", "--out", tmp_path / "plain" / "o.nc"]))
    assert str(tmp_path / "plain") in line


# --------------------------------------------------------------------------- control characters
def test_control_characters_in_names_are_escaped(tmp_path, pair):
    name = tmp_path / "x\nerror: forged\r\x1b[31m\x00.nc"
    result = run(["compare", Path(str(name).replace("\x00", "")), pair[1]])
    line = one_error(result)
    assert "\\nerror: forged\\r\\x1b[31m" in line
    vec = make_vectors(np.eye(4), ["a", "b", "c", "d"])
    write_dataset(vec, tmp_path / "tab\tname.nc")
    line = one_error(run(["compare", tmp_path / "tab\tname.nc", pair[1]]))
    assert "tab\\tname.nc" in line


# --------------------------------------------------------------------------- validation scope
def test_compare_validates_the_values_of_the_layers_it_reads_and_describe_every_layer(tmp_path, pair):
    ds = simulate_activations(6, 4, 2, 8, seed=1)
    first = int(ds["layer"].values[0])
    ds["activations"].loc[{"layer": first}] = ds["activations"].sel(layer=first).where(
        ds["prompt"] != 0)  # NaN in every emotion's prompt 0 at the first layer only
    ds.to_netcdf(tmp_path / "nan-first-layer.nc")
    assert run(["compare", tmp_path / "nan-first-layer.nc", pair[1], *FAST]).exit_code == 0
    line = one_error(run(["compare", tmp_path / "nan-first-layer.nc", pair[1], "--layer", first, *FAST]))
    assert "NaN or Inf" in line and f"layer={first}" in line
    line = one_error(run(["describe", tmp_path / "nan-first-layer.nc"]))
    assert "NaN or Inf" in line and f"layer={first}" in line
