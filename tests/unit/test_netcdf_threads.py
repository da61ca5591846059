"""NetCDF from several threads of one process (a dask worker runs tasks in threads): the HDF5 library under
netCDF4 is not thread-safe, and without ``rsastats.io.NETCDF_LOCK`` four threads writing and reading files at
once crashed the interpreter (abort or segmentation fault, in every try). Run in a child process, so that a
crash fails this test instead of ending the test run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys, threading
    from rsastats.io import open_activations, write_dataset
    from rsastats.simulate import simulate_activations

    ds = simulate_activations(8, 4, 3, 32, seed=1)
    errors = []

    def work(k):
        try:
            for i in range(25):
                path = f"{sys.argv[1]}/t{k}_{i}.nc"
                write_dataset(ds, path)
                assert open_activations(path).sizes["emotion"] == 8
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("errors", len(errors), errors[:1])
    sys.exit(1 if errors else 0)
""")


def test_threads_writing_and_reading_netcdf_at_once_do_not_crash(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, (done.returncode, done.stdout[-500:], done.stderr[-500:])
    assert len(list(tmp_path.glob("*.nc"))) == 100
