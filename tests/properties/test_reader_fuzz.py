"""Property-based fuzzing of the readers through the command line (issue 17): any corruption of a
valid small NetCDF, .npz or CSV file (bytes flipped, the file cut short, bytes inserted) either still
reads (exit 0) or is refused with exit 2 and exactly one `error:` line (warnings aside) - never an
internal error, a traceback or a hang.  Derandomized and bounded, so the default suite runs the same
examples every time in well under 30 s."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rsastats.cli import cli
from rsastats.io import write_dataset
from rsastats.simulate import simulate_activations

FAST = ["--n-boot", "10", "--permutations", "9", "--no-ceiling"]
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_WORK = Path(tempfile.mkdtemp(prefix="rsastats-fuzz-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)


def _valid_inputs() -> dict[str, bytes]:
    ds = simulate_activations(6, 3, 2, 4, seed=1)
    good = write_dataset(ds, _WORK / "good.nc")
    labels = [str(e) for e in ds["emotion"].values]
    vectors = np.random.default_rng(1).standard_normal((6, 4))
    np.savez(_WORK / "good.npz", vectors=vectors, emotions=np.array(labels))
    frame = pd.DataFrame(vectors, columns=[f"d{i}" for i in range(4)])
    frame.insert(0, "emotion", labels)
    frame.to_csv(_WORK / "good.csv", index=False)
    return {"nc": good.read_bytes(), "npz": (_WORK / "good.npz").read_bytes(), "csv": (_WORK / "good.csv").read_bytes()}


VALID = _valid_inputs()


def _valid_prompt_inputs() -> dict[str, bytes]:
    """Per-prompt activations for `import --prompts`: a padded (emotion, prompt, hidden) .npz, and CSV rows with text."""
    ds = simulate_activations(6, 3, 1, 4, seed=3)
    acts = ds["activations"].values[:, :, 0].astype(np.float64)
    acts[2, 2] = np.nan  # one emotion with 2 prompts
    labels = [str(e) for e in ds["emotion"].values]
    np.savez(_WORK / "prompts.npz", activations=acts, emotions=np.array(labels))
    rows = [{"emotion": e, "text": f"{e} {p}", **{f"d{i}": acts[k, p, i] for i in range(4)}}
            for k, e in enumerate(labels) for p in range(3) if not np.isnan(acts[k, p, 0])]
    pd.DataFrame(rows).to_csv(_WORK / "prompts.csv", index=False)
    return {kind: (_WORK / f"prompts.{kind}").read_bytes() for kind in ("npz", "csv")}


PROMPTS = _valid_prompt_inputs()
OTHER = write_dataset(simulate_activations(6, 3, 2, 4, seed=2), _WORK / "other.nc")


@st.composite
def corruptions(draw, data: bytes) -> bytes:
    """``data`` with one to three edits: flipped bytes, a truncation, inserted bytes."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[at] ^= draw(st.integers(1, 255))
        elif kind == "truncate":
            del out[at:]
        else:
            out[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(out)


def _fuzzed(data: bytes, suffix: str) -> Path:
    """A new file for each example: HDF5 recognises a file it still has open by its inode, so bytes
    rewritten in place under one name could be read through a stale handle of an earlier example."""
    path = Path(tempfile.mkstemp(suffix=suffix, dir=_WORK)[1])
    path.write_bytes(data)
    return path


def _check(args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr[-2000:])
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr[-2000:]
    if result.exit_code == 2:
        assert len(errors) == 1 and all(line.startswith(("error: ", "warning: ")) for line in lines), result.stderr
    else:
        assert not errors, result.stderr


@FUZZ
@given(corruptions(VALID["nc"]))
def test_corrupted_netcdf_compare_and_describe(data):
    path = _fuzzed(data, ".nc")
    _check(["compare", str(path), str(OTHER), *FAST])
    _check(["describe", str(path)])


@FUZZ
@given(corruptions(VALID["npz"]))
def test_corrupted_npz_import(data):
    path = _fuzzed(data, ".npz")
    _check(["import", str(path), "--out", str(_WORK / "from-npz.nc")])


@FUZZ
@given(corruptions(VALID["csv"]))
def test_corrupted_csv_import(data):
    path = _fuzzed(data, ".csv")
    _check(["import", str(path), "--out", str(_WORK / "from-csv.nc")])


@FUZZ
@given(st.sampled_from(sorted(PROMPTS)).flatmap(lambda kind: st.tuples(st.just(kind), corruptions(PROMPTS[kind]))))
def test_corrupted_per_prompt_import(kind_data):
    kind, data = kind_data
    path = _fuzzed(data, f".{kind}")
    _check(["import", str(path), "--prompts", "--overwrite", "--out", str(_WORK / f"from-prompts-{kind}.nc")])


@pytest.mark.parametrize("kind", sorted(PROMPTS))
def test_the_uncorrupted_per_prompt_inputs_read(kind):
    path = _WORK / f"plain-prompts.{kind}"
    path.write_bytes(PROMPTS[kind])
    result = CliRunner().invoke(cli, ["import", str(path), "--prompts", "--overwrite", "--out",
                                      str(_WORK / f"plain-prompts-{kind}.nc")])
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("kind", sorted(VALID))
def test_the_uncorrupted_inputs_read(kind):
    path = _WORK / f"plain.{kind}"
    path.write_bytes(VALID[kind])
    args = ["compare", str(path), str(OTHER), *FAST] if kind == "nc" else ["import", str(path), "--out",
                                                                           str(_WORK / f"plain-{kind}.nc")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
