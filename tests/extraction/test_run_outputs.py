"""Extraction and its output (issue 17): one writer per --out for the whole run, parts of another
configuration never mixed into the file, an output that appeared meanwhile never replaced, and a
killed run's half-written final file removed by the next run."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from .conftest import make_loaded

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

import extraction.parts as parts_module  # noqa: E402
from extraction.config import make_config  # noqa: E402
from extraction.run import extract, work_folder  # noqa: E402
from rsastats.exceptions import OutputBusyError, ValidationError  # noqa: E402
from rsastats.io import open_activations  # noqa: E402

from ..unit.test_outputs import HOLDER, another_process  # noqa: E402
from .test_run import _StopAfter  # noqa: E402


def _config(**options):
    base = dict(stimuli="named", emotions=("happy", "sad", "calm"), limit=2, baseline_limit=2, batch_size=2,
                layers="0,-1")
    return make_config(**{**base, **options})


def test_a_second_extraction_to_the_same_out_is_refused_while_the_first_runs(tmp_path):
    out = tmp_path / "run.nc"
    with pytest.raises(KeyboardInterrupt):
        extract(_config(), out, loaded=make_loaded("llama"), progress=_StopAfter(4))
    parts_before = sorted(p.name for p in work_folder(out).iterdir())
    assert parts_before == ["emotion-000.npz", "manifest.json"]
    with another_process(HOLDER, out, tmp_path / "ready") as holder:
        with pytest.raises(OutputBusyError, match=f"pid {holder.pid}"):
            extract(_config(pooling="mean"), out, loaded=make_loaded("llama"), restart=True)
    assert not out.exists() and sorted(p.name for p in work_folder(out).iterdir()) == parts_before


def test_parts_without_manifest_from_other_settings_are_discarded_not_mixed(tmp_path, monkeypatch):
    """The issue's silent corruption: parts of a pooling=last run, left without a manifest, were
    assembled into a file whose attributes say pooling=mean."""
    monkeypatch.setattr(parts_module, "_now", lambda: "2026-01-01T00:00:00+00:00")
    out, clean = tmp_path / "run.nc", tmp_path / "clean.nc"
    with pytest.raises(KeyboardInterrupt):
        extract(_config(pooling="last"), out, loaded=make_loaded("llama"), progress=_StopAfter(6))
    assert sorted(p.name for p in work_folder(out).iterdir()) == ["emotion-000.npz", "emotion-001.npz", "manifest.json"]
    (work_folder(out) / "manifest.json").unlink()
    result = extract(_config(pooling="mean"), out, loaded=make_loaded("llama"))
    assert result.resumed_emotions == ()
    assert any("discarded 2 unfinished part(s)" in p for p in result.problems)
    extract(_config(pooling="mean"), clean, loaded=make_loaded("llama"))
    got, want = open_activations(out), open_activations(clean)
    assert got.attrs["pooling"] == "mean"
    np.testing.assert_array_equal(got["activations"].values, want["activations"].values)


def test_an_output_that_appears_during_the_run_is_not_replaced(tmp_path, monkeypatch):
    import extraction.run as run_module

    out = tmp_path / "run.nc"
    real = run_module.assemble

    def someone_writes_out_meanwhile(*args, **kwargs):
        out.write_bytes(b"another program's file")
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "assemble", someone_writes_out_meanwhile)
    with pytest.raises(ValidationError, match="already exists"):
        extract(_config(), out, loaded=make_loaded("llama"))
    assert out.read_bytes() == b"another program's file"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_final_file_a_killed_run_left_half_written_is_removed(tmp_path):
    out = tmp_path / "run.nc"
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                              check=True).stdout.strip()
    stale = tmp_path / f".run.nc.{dead_pid}.0123abcd.tmp"
    stale.write_bytes(b"\x89HDF" + b"\0" * 4096)
    extract(_config(), out, loaded=make_loaded("llama"))
    assert not stale.exists() and open_activations(out).sizes["emotion"] == 3


_RUN_HEADER = """
import sys, time
from pathlib import Path
import torch
torch.set_num_threads(1)
from tests.extraction.conftest import make_loaded
from tests.extraction.test_run_outputs import _config
from extraction.run import extract
"""
FIRST_RUN = _RUN_HEADER + """
class Slow:
    def start(self, total, done):
        pass
    def advance(self, prompts, tokens):
        Path(sys.argv[2]).write_text('running')
        time.sleep(1.0)

extract(_config(pooling="last"), sys.argv[1], loaded=make_loaded("llama"), progress=Slow(), restart=True)
"""
CLEAN_RUN = _RUN_HEADER + """
Path(sys.argv[2]).write_text('started')
extract(_config(pooling="last"), sys.argv[1], loaded=make_loaded("llama"))
"""


def test_two_extractions_with_other_settings_never_mix(tmp_path):
    """The issue's first failure: one run (pooling last, --restart) in another process, a second
    (pooling mean) here on the same --out. The second stops at once; the first finishes a file
    whose attributes agree with its data."""
    out, clean = tmp_path / "run.nc", tmp_path / "clean.nc"
    with another_process(FIRST_RUN, out, tmp_path / "running") as first:
        with pytest.raises(OutputBusyError, match=f"pid {first.pid}"):
            extract(_config(pooling="mean"), out, loaded=make_loaded("llama"))
        assert first.wait(timeout=300) == 0
    # The reference is made the way the first run was, in a fresh process: then the two can be equal
    # bit for bit (an in-process run once differed at the bf16 level in a full CI run, order-dependent).
    with another_process(CLEAN_RUN, clean, tmp_path / "clean-started") as reference:
        assert reference.wait(timeout=300) == 0
    got, want = open_activations(out), open_activations(clean)
    assert got.attrs["pooling"] == "last" and not work_folder(out).exists()
    np.testing.assert_array_equal(got["activations"].values, want["activations"].values)
