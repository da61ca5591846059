"""The work folder of a resumable extraction (extraction/parts.py, torch-free): every part carries
the configuration's hash and is used only by the same configuration; a folder without a manifest,
or a part of another configuration, is not reused silently; a killed run's half-written files go."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from extraction.parts import WorkParts, work_folder
from rsastats.exceptions import ConfigMismatchError

LAST = {"pooling": "last", "model": "tiny", "layers": [0, 1]}
MEAN = {**LAST, "pooling": "mean"}


def _part(value: float) -> dict[str, np.ndarray]:
    return {"activations": np.full((3, 2, 4), value, dtype=np.float32), "valid": np.ones(3, dtype=np.int8)}


def test_a_part_is_reused_only_by_its_own_configuration(tmp_path):
    out = tmp_path / "run.nc"
    parts = WorkParts(out, LAST, restart=False)
    parts.save("emotion-000", _part(1.0))
    again = WorkParts(out, LAST, restart=False)
    np.testing.assert_array_equal(again.load("emotion-000", (3, 2, 4))["activations"], 1.0)
    assert "config_sha256" not in again.load("emotion-000", (3, 2, 4)) and again.notes == []
    stored = json.loads((work_folder(out) / "manifest.json").read_text())
    assert stored["config_sha256"] == parts.config_sha256 == again.config_sha256
    with pytest.raises(ConfigMismatchError, match="pooling: earlier 'last', now 'mean'"):
        WorkParts(out, MEAN, restart=False)  # the manifest says another configuration: refused, not mixed


def test_parts_in_a_folder_without_manifest_are_checked_not_trusted(tmp_path):
    """The issue's case: a run that failed left parts and no manifest; a run with other settings must
    not take them (its file's attributes would then disagree with its data)."""
    out = tmp_path / "run.nc"
    WorkParts(out, LAST, restart=False).save("emotion-000", _part(1.0))
    (work_folder(out) / "manifest.json").unlink()
    np.savez(work_folder(out) / "emotion-001.npz", **_part(2.0))  # an older part without the hash
    other = WorkParts(out, MEAN, restart=False)
    assert other.load("emotion-000", (3, 2, 4)) is None and other.load("emotion-001", (3, 2, 4)) is None
    assert sorted(p.name for p in work_folder(out).iterdir()) == ["manifest.json"]
    assert len(other.notes) == 1 and "discarded 2 unfinished part(s)" in other.notes[0]
    # the same configuration without a manifest: its own parts are verified by hash and reused
    same = tmp_path / "same.nc"
    WorkParts(same, LAST, restart=False).save("emotion-000", _part(3.0))
    (work_folder(same) / "manifest.json").unlink()
    resumed = WorkParts(same, LAST, restart=False)
    assert resumed.notes == [] and resumed.load("emotion-000", (3, 2, 4)) is not None


def test_a_part_swapped_in_later_is_not_used(tmp_path):
    out = tmp_path / "run.nc"
    parts = WorkParts(out, LAST, restart=False)
    foreign = WorkParts(tmp_path / "other.nc", MEAN, restart=False)
    foreign.save("emotion-000", _part(9.0))
    (work_folder(tmp_path / "other.nc") / "emotion-000.npz").rename(work_folder(out) / "emotion-000.npz")
    assert parts.load("emotion-000", (3, 2, 4)) is None


def test_half_written_files_of_a_killed_run_are_removed(tmp_path):
    out = tmp_path / "run.nc"
    parts = WorkParts(out, LAST, restart=False)
    parts.save("emotion-000", _part(1.0))
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                              check=True).stdout.strip()
    (work_folder(out) / f".emotion-001.npz.{dead_pid}.0123abcd.tmp").write_bytes(b"half a part")
    (work_folder(out) / "assembled.npy").write_bytes(b"half an assembly")
    WorkParts(out, LAST, restart=False)
    assert sorted(p.name for p in work_folder(out).iterdir()) == ["emotion-000.npz", "manifest.json"]
