"""A file the user still has open (with xarray or netCDF4, not closed) must not crash rsastats' readers.

With netCDF4 1.7.5.1, a file holding strings (every rsastats file: the emotion labels) that is open elsewhere in the
process, opened and closed once more, and then opened again and its strings read, crashed the process in HDF5 (a
segmentation fault; Unidata/netcdf4-python#1444).  rsastats' reader used to open each file twice per reading (a
header check, then xarray): a report, or two calls of ``compare_models``, on a file the user had looked at with
``xr.open_dataset`` and not closed, killed the Python session (found 2026-12-07).  The reader now opens a file once
per reading (``rsastats.io.open_netcdf``).  Each case runs in a child process, since a crash would take pytest down
with it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from rsastats.io import write_dataset
from rsastats.simulate import simulate_activations

CHILD = textwrap.dedent("""
    import sys
    import netCDF4
    import xarray as xr
    from rsastats.inference import compare_models
    from rsastats.report import ReportConfig, build_report

    a, b, out, how = sys.argv[1:5]
    held = xr.open_dataset(a) if how == "xarray" else netCDF4.Dataset(a)   # the user's handle, left open
    for _ in range(3):
        compare_models(a, b, n_boot=20, permutations=19, ceiling=False)
    build_report(ReportConfig(files=(a, b), n_boot=20, permutations=19, layer_points=2, layer_n_boot=10,
                              geometry_layers=2, geometry_n_boot=10, decompose="no", maturity="no"), out)
    if how == "xarray":
        held.load()   # the user's own handle still reads
        again = xr.open_dataset(a)
        again.load()
    print("done")
""")


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("open_elsewhere")
    return [str(write_dataset(simulate_activations(8, 4, 2, 6, seed=i, attrs={"model": f"m{i}"}), tmp / f"m{i}.nc"))
            for i in range(2)]


@pytest.mark.parametrize("how", ["xarray", "netCDF4"])
def test_reading_a_file_the_user_has_open_does_not_crash(pair, tmp_path, how):
    done = subprocess.run([sys.executable, "-c", CHILD, *pair, str(tmp_path / "report"), how], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip().endswith("done")
