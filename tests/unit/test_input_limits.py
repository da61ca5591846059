"""Issue 17, the reading side, below the command line: the memory limit, the UTF-8 and YAML readers,
NetCDF attribute checks, typed manifest options and the escaping of control characters."""

from __future__ import annotations

import time

import numpy as np
import pytest
import yaml

from extraction.manifest import load_manifest
from rsastats.cli.errors import escape_controls
from rsastats.exceptions import FileFormatError, ValidationError
from rsastats.io import load_yaml, read_text_file
from rsastats.io.schema import make_attrs, netcdf_attributes
from rsastats.limits import MEMORY_ENV, check_count_fits, check_declared_size, format_bytes, memory_limit


@pytest.mark.parametrize("raw, expected", [("1048576", 1 << 20), ("64G", 64 << 30), ("1.5k", 1536), ("2 GiB", 2 << 30)])
def test_memory_limit_from_the_environment(monkeypatch, raw, expected):
    monkeypatch.setenv(MEMORY_ENV, raw)
    assert memory_limit() == (expected, True)


def test_memory_limit_default_is_half_the_available_memory(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    limit, explicit = memory_limit()
    with open("/proc/meminfo") as fh:
        available = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("MemAvailable:"))
    assert not explicit and abs(limit - available // 2) < 0.2 * available  # memory moves while the test runs


def test_declared_size_checks(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1M")
    check_declared_size("x", 1 << 20, 10, "f")  # at the limit: allowed, and the ratio check is off when set
    with pytest.raises(ValidationError, match=r"^f: x: 1.0 MiB declared"):
        check_declared_size("x", (1 << 20) + 1, None, "f")
    monkeypatch.setenv(MEMORY_ENV, "")
    big = 300 << 20
    check_declared_size("x", big, big // 100, "f")  # 100x: allowed
    with pytest.raises(ValidationError, match="decompression bomb"):
        check_declared_size("x", big, big // 100 - 1, "f")


def test_count_bound_is_the_largest_that_fits(monkeypatch):
    monkeypatch.setenv(MEMORY_ENV, "1000")
    assert check_count_fits("--n-boot", 100, 10) == 100
    with pytest.raises(ValidationError, match="--n-boot 101 needs about 1010 B .* use at most --n-boot 100$"):
        check_count_fits("--n-boot", 101, 10)
    assert format_bytes(1536) == "1.5 KiB"


# --------------------------------------------------------------------------- text and YAML
def test_read_text_file(tmp_path):
    (tmp_path / "bom.txt").write_bytes("\ufeffcalm\n".encode("utf-8"))
    assert read_text_file(tmp_path / "bom.txt") == "calm\n"
    (tmp_path / "latin.txt").write_bytes("col\xe8re".encode("latin-1"))
    with pytest.raises(FileFormatError, match=r"latin.txt: the labels file is not UTF-8 text \(byte 0xe8 at offset 3\)"):
        read_text_file(tmp_path / "latin.txt", "labels file")
    with pytest.raises(FileFormatError, match="labels file not found"):
        read_text_file(tmp_path / "none.txt", "labels file")
    with pytest.raises(FileFormatError, match="is a directory"):
        read_text_file(tmp_path, "labels file")


def _laughs(levels: int) -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(levels)]
    return "\n".join(lines) + "\n"


def test_check_utf8_counts_offsets_from_the_start_of_the_file(tmp_path):
    from rsastats.io.text import check_utf8

    good = tmp_path / "good.csv"
    good.write_bytes(("a" * 6 + "\u00e9\u20ac" * 5).encode())  # multi-byte characters across every chunk boundary
    for size in (1, 2, 3, 4, 7, 1 << 20):
        check_utf8(good, chunk_size=size)
    bad = tmp_path / "bad.csv"
    bad.write_bytes("x\u00e9".encode() * 10 + b"\xe9" + b"tail")
    for size in (1, 3, 5, 1 << 20):
        with pytest.raises(FileFormatError, match="byte 0xe9 at offset 30"):
            check_utf8(bad, "table", chunk_size=size)
    cut = tmp_path / "cut.csv"
    cut.write_bytes(b"ab" + "\u20ac".encode()[:2])  # a character cut off by the end of the file
    with pytest.raises(FileFormatError, match="byte 0xe2 at offset 2"):
        check_utf8(cut, chunk_size=3)


def test_yaml_alias_expansion_is_bounded():
    # 9^6 = 531441 expanded nodes: refused at once; 9^4 = 6561: read, with the same values as safe_load
    start = time.perf_counter()
    with pytest.raises(FileFormatError, match="aliases expand to more than 100,000 nodes"):
        load_yaml(_laughs(5), "x.yaml")
    assert time.perf_counter() - start < 0.5
    assert load_yaml(_laughs(3)) == yaml.safe_load(_laughs(3))


@pytest.mark.parametrize("text, message", [("a: &a [1, *a]", "recursive alias"), ("[" * 3000, "nested too deeply|not valid"),
                                           ("a: [1, 2", "not valid YAML"), ("!!python/object:os.system 1", "not valid YAML")])
def test_yaml_refusals(text, message):
    with pytest.raises(FileFormatError, match=message):
        load_yaml(text, "y.yaml")


def test_yaml_reads_ordinary_documents():
    text = "defaults: &d {method: comprehension}\ntasks:\n  - {<<: *d, out: a.nc}\n  - {<<: *d, out: b.nc}\n"
    assert load_yaml(text) == yaml.safe_load(text)
    assert load_yaml("") is None


# --------------------------------------------------------------------------- attributes
def test_netcdf_attributes():
    out = netcdf_attributes({"a": None, "b": True, "c": [1, 2], "d": ("x", "y"), "e": 2**63 - 1, "f": np.float32(0.5)})
    assert out["a"] == "" and out["b"] == 1 and list(out["c"]) == [1, 2] and out["d"] == "x, y"
    assert out["e"] == 2**63 - 1 and out["f"] == 0.5
    for bad, message in [({"x": 2**63}, "64-bit"), ({"x": -(2**63) - 1}, "64-bit"), ({"x": [2**70]}, "cannot store"),
                         ({"x": "a\x00b"}, "NUL"), ({"x": ["a\x00"]}, "NUL"), ({" x": 1}, "attribute name"),
                         ({"x\n": 1}, "attribute name"), ({1: 1}, "attribute name"), ({"x": [True, False]}, "cannot store")]:
        with pytest.raises(ValidationError, match=message):
            netcdf_attributes(bad, "meta.json")
    with pytest.raises(ValidationError, match="^meta.json: attribute 'x'"):
        netcdf_attributes({"x": {"nested": 1}}, "meta.json")
    assert make_attrs("vectors", model="m")["model"] == "m"


# --------------------------------------------------------------------------- manifests
@pytest.mark.parametrize("entry, message", [
    ("emotions: 5", "task 1: emotions must be a list of emotion names, got 5"),
    ("temperature: warm", "task 1: temperature must be a number, got 'warm'"),
    ("seed: 1.5", "task 1: seed must be an integer, got 1.5"),
    ("template: [1]", "task 1: template must be text"),
    ("layers: {a: 1}", "task 1: layers must be text"),
])
def test_manifest_values_of_the_wrong_type(tmp_path, entry, message):
    (tmp_path / "m.yaml").write_text(f"tasks:\n  - out: a.nc\n    {entry}\n")
    with pytest.raises(ValidationError, match=message):
        load_manifest(tmp_path / "m.yaml")


def test_manifest_encoding_and_aliases(tmp_path):
    (tmp_path / "m.yaml").write_bytes("tasks:\n  - out: caf\xe9.nc\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match="the manifest is not UTF-8"):
        load_manifest(tmp_path / "m.yaml")
    (tmp_path / "m.yaml").write_text(_laughs(6))
    with pytest.raises(FileFormatError, match="aliases expand"):
        load_manifest(tmp_path / "m.yaml")
    (tmp_path / "m.yaml").write_text("tasks:\n  - out: a.nc\n    layers: 3\n    emotions: [happy, sad]\n")
    (task,) = load_manifest(tmp_path / "m.yaml")
    assert task.config.layers == "3" and task.config.emotions == ("happy", "sad")


# --------------------------------------------------------------------------- escaping
def test_escape_controls():
    assert escape_controls("a\nb\r\tc\x1b[0m\x00\x7f\x85\u2028\udcff é") == \
        "a\\nb\\r\\tc\\x1b[0m\\x00\\x7f\\x85\\u2028\\udcff é"
