"""Issue 17 item 9: the content hash is of what a file holds (arrays and defining attributes), not of
the bytes NetCDF/HDF5 wrote nor of when, where, with which software or on how many threads."""

from __future__ import annotations

import numpy as np

from rsastats.io import PROVENANCE_ATTRS, content_sha256, file_sha256, open_activations, write_dataset
from rsastats.simulate import simulate_activations


def _ds(**attrs):
    return simulate_activations(4, 3, 2, 6, n_baseline=3, seed=1, attrs={"model": "m", "precision": "fp32", **attrs})


def test_provenance_attributes_and_file_bytes_do_not_change_the_hash(tmp_path):
    a = write_dataset(_ds(created="2026-01-01T00:00:00+00:00"), tmp_path / "a.nc")
    other = {"created": "2030-01-01T00:00:00+00:00", "model_path": "/another/clone", "software": "rsastats 9; torch 9",
             "torch_threads": 7, "cpu_capability": "AVX2"}
    assert set(other) == set(PROVENANCE_ATTRS)
    b = write_dataset(_ds(**other), tmp_path / "b.nc")
    assert file_sha256(a) != file_sha256(b)  # the bytes differ ...
    assert content_sha256(a) == content_sha256(b)  # ... what they hold does not
    assert content_sha256(a) == content_sha256(open_activations(a))  # a path and its dataset agree


def test_one_ulp_a_dtype_or_a_defining_attribute_changes_the_hash(tmp_path):
    ds = _ds()
    reference = content_sha256(write_dataset(ds, tmp_path / "a.nc"))
    nudged = ds.copy(deep=True)
    values = nudged["activations"].values
    values.flat[5] = np.nextafter(values.flat[5], np.inf, dtype=values.dtype)
    assert content_sha256(write_dataset(nudged, tmp_path / "ulp.nc")) != reference
    assert content_sha256(write_dataset(_ds(precision="bf16"), tmp_path / "bf16.nc")) != reference
    wider = ds.assign(activations=ds["activations"].astype(np.float64))
    assert np.array_equal(wider["activations"].values, ds["activations"].values)
    assert content_sha256(wider) != content_sha256(ds)  # same numbers, another dtype: another content
