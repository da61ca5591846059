"""Writing outputs (rsastats/io/outputs.py): the output lock against a second process (and thread),
re-entrancy, the no-replace rename, the whole-folder swap, and the removal of the temporaries a
killed writer left (only when its writer is gone)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.exceptions import OutputBusyError, ValidationError
from rsastats.io import (atomic_folder, atomic_path, lock_file_for, make_vectors, open_vectors, output_lock,
                         remove_stale_temporaries, write_dataset)

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, time
from pathlib import Path
from rsastats.io import output_lock
with output_lock(sys.argv[1]):
    Path(sys.argv[2]).write_text('held')
    time.sleep(300)
"""

KILLED_WRITER = """
import sys, time
from pathlib import Path
from rsastats.io import atomic_path, output_lock
with output_lock(sys.argv[1]), atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b'x' * 200000)
    Path(sys.argv[2]).write_text(str(tmp))
    time.sleep(300)
"""


@contextlib.contextmanager
def another_process(script: str, path: Path, signal_file: Path):
    """Run ``script`` in another Python process; yield it once it has written ``signal_file``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-c", script, str(path), str(signal_file)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not signal_file.exists():
            assert proc.poll() is None, "the helper process died"
            assert time.monotonic() < deadline, "the helper process did not start"
            time.sleep(0.05)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _vectors(seed: int = 0):
    return make_vectors(np.random.default_rng(seed).standard_normal((4, 6)), ["a", "b", "c", "d"])


def test_a_second_process_writing_the_same_output_is_refused_naming_the_holder(tmp_path):
    out = tmp_path / "v.nc"
    write_dataset(_vectors(0), out)
    before = out.read_bytes()
    with another_process(HOLDER, out, tmp_path / "ready") as holder:
        with pytest.raises(OutputBusyError) as info:
            write_dataset(_vectors(1), out)
        message = str(info.value)
        assert message.startswith(str(out)) and "another rsastats process" in message
        assert f"pid {holder.pid}" in message and "\n" not in message
        # the command line: exit 2, one error line
        np.save(tmp_path / "src.npy", np.ones((4, 6)))
        result = CliRunner().invoke(cli, ["import", str(tmp_path / "src.npy"), "--labels", "a,b,c,d", "--out", str(out),
                                          "--overwrite"])
        lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
        assert result.exit_code == 2 and len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ") and f"pid {holder.pid}" in lines[0]
    assert out.read_bytes() == before  # untouched while the other process held it
    write_dataset(_vectors(1), out)  # the holder is gone: the lock is free again
    np.testing.assert_array_equal(open_vectors(out)["vectors"].values, _vectors(1)["vectors"].values)


def test_the_lock_is_reentrant_in_a_thread_and_refuses_another_thread(tmp_path):
    out = tmp_path / "v.nc"
    seen: list[BaseException] = []

    def other_thread():
        try:
            write_dataset(_vectors(2), out)
        except OutputBusyError as exc:
            seen.append(exc)

    with output_lock(out):
        write_dataset(_vectors(0), out)  # the same thread: re-entrant
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert len(seen) == 1 and "another rsastats process" in str(seen[0])
    assert lock_file_for(out).exists() and not lock_file_for(out).with_name(lock_file_for(out).name + ".owner").exists()


def test_temporaries_of_a_killed_writer_are_removed_by_the_next_run(tmp_path):
    out = tmp_path / "v.nc"
    with another_process(KILLED_WRITER, out, tmp_path / "tmp-name") as writer:
        temporary = Path((tmp_path / "tmp-name").read_text())
        assert temporary.stat().st_size == 200000
        with pytest.raises(OutputBusyError):  # the writer is alive: its file is left alone
            write_dataset(_vectors(0), out)
        assert temporary.exists()
        writer.kill()  # kill -9 during the final write
        writer.wait()
    assert temporary.exists() and not out.exists()
    write_dataset(_vectors(0), out)
    assert not temporary.exists() and open_vectors(out).sizes["emotion"] == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["v.nc", ".v.nc.lock", "tmp-name"])


def test_a_temporary_whose_process_is_alive_is_kept(tmp_path):
    out = tmp_path / "v.nc"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        live = tmp_path / f".v.nc.{sleeper.pid}.0123abcd.tmp"
        live.write_bytes(b"being written")
        dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                                  text=True, check=True).stdout.strip()
        dead = tmp_path / f".v.nc.{dead_pid}.89abcdef.tmp"
        dead.write_bytes(b"left by a killed run")
        other = tmp_path / f".v.nc.x.{dead_pid}.89abcdef.tmp"  # another output's (v.nc.x)
        other.write_bytes(b"not ours")
        write_dataset(_vectors(0), out)
        assert live.exists() and not dead.exists() and other.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_no_replace_rename_refuses_a_file_that_appeared_meanwhile(tmp_path):
    out = tmp_path / "x.txt"
    with pytest.raises(ValidationError, match=r"appeared while this run was writing\); pass --overwrite"):
        with atomic_path(out, overwrite=False) as tmp:
            tmp.write_text("new")
            out.write_text("someone else's")
    assert out.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]
    with atomic_path(out) as tmp:  # overwrite=True replaces
        tmp.write_text("new")
    assert out.read_text() == "new"


def test_write_dataset_without_overwrite_refuses_an_existing_file(tmp_path):
    out = tmp_path / "v.nc"
    out.write_bytes(b"keep")
    with pytest.raises(ValidationError, match="already exists; pass --overwrite"):
        write_dataset(_vectors(0), out, overwrite=False)
    assert out.read_bytes() == b"keep"


def test_a_folder_is_replaced_whole_or_not_at_all(tmp_path):
    out = tmp_path / "report"
    (out / "figures").mkdir(parents=True)
    (out / "figures" / "a.png").write_bytes(b"old")
    with pytest.raises(MemoryError):
        with output_lock(out), atomic_folder(out) as work:
            (work / "figures").mkdir()
            (work / "figures" / "a.png").write_bytes(b"half")
            raise MemoryError
    assert (out / "figures" / "a.png").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.lock", "report"]
    with output_lock(out), atomic_folder(out) as work:
        (work / "new.txt").write_text("new")
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.lock", "report"]


def test_a_folder_moved_aside_by_a_killed_run_is_put_back(tmp_path):
    dead_pid = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout.strip()
    aside = tmp_path / f".report.{dead_pid}.0badf00d.old"  # killed between the two renames
    aside.mkdir()
    (aside / "index.html").write_text("the earlier report")
    half = tmp_path / f".report.{dead_pid}.1badf00d.tmp"
    half.mkdir()
    (half / "index.html").write_text("the new one")
    removed = remove_stale_temporaries(tmp_path, "report")
    assert (tmp_path / "report" / "index.html").read_text() == "the earlier report"
    assert removed == [half] and not half.exists() and not aside.exists()



def test_a_write_error_names_the_output_not_a_temporary_name_or_nothing(tmp_path):
    """A full disk met by a library writing to an open file object (PIL saving a report's figure) raised "No space left
    on device" with no file name, and a file in the temporary folder named a path that is removed (found 2026-12-07
    on a 200 kB tmpfs); the error now names the output."""
    import errno

    def full_disk(filename=None):
        raise OSError(errno.ENOSPC, "No space left on device", *([filename] if filename else []))

    with pytest.raises(OSError) as info:
        with atomic_path(tmp_path / "v.nc"):
            full_disk()
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / "v.nc")
    out = tmp_path / "report"
    with pytest.raises(OSError) as info:
        with atomic_folder(out) as work:
            full_disk(str(work / "figures" / "a.png"))
    assert info.value.filename == str(out / "figures" / "a.png")
    with pytest.raises(OSError) as info:
        with atomic_folder(out):
            full_disk()
    assert info.value.filename == str(out) and not out.exists()
    with pytest.raises(PermissionError) as info:  # a file outside the output keeps its own name and type
        with atomic_folder(out):
            raise PermissionError(errno.EACCES, "Permission denied", "/etc/elsewhere")
    assert info.value.filename == "/etc/elsewhere"
    assert sorted(p.name for p in tmp_path.iterdir()) == []
