"""Issue 15 in reports: sections with nothing to show are left out with one line saying why; one CI
per pair; no decomposition over a factor whose level some file does not record; vector files are
'as stored'; per-file layers (FILE@LAYER) in a report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rsastats.io import make_vectors, write_dataset
from rsastats.report import ReportConfig, build_report
from rsastats.simulate import simulate_activations, true_vectors

FAST = dict(n_boot=60, permutations=99, n_splits=4, layer_points=3, layer_n_boot=20, last_k_check=2, geometry_layers=2,
            geometry_n_boot=20, decompose_n_boot=20)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report15")
    tv = true_vectors(7, 12, seed=3)
    rng = np.random.default_rng(4)
    labels = None
    out = {}
    for i in range(2):
        ds = simulate_activations(7, 5, 3, 12, noise=0.7, vectors=tv + 0.3 * rng.standard_normal(tv.shape), n_baseline=6,
                                  seed=i + 1, attrs={"model": f"model-{i}"})
        out[f"acts{i}"] = str(write_dataset(ds, tmp / f"acts{i}.nc"))
        labels = [str(e) for e in ds["emotion"].values]
    # One model's vectors from three studies, one of which records no experiment and two no precision.
    for name, attrs in (("v1", {"model": "m", "method": "comprehension", "experiment": "x1"}),
                        ("v2", {"model": "m", "method": "comprehension", "experiment": ""}),
                        ("v3", {"model": "m", "method": "comprehension", "precision": "fp16", "experiment": "x2"})):
        vectors = tv + 0.3 * rng.standard_normal(tv.shape)
        out[name] = str(write_dataset(make_vectors(vectors, labels, attrs=attrs), tmp / f"{name}.nc"))
    # Precision recorded by all, experiment not by w2.
    for name, precision, experiment in (("w1", "fp32", "x"), ("w2", "fp16", ""), ("w3", "fp32", "x")):
        attrs = {"model": "m", "method": "comprehension", "precision": precision, "experiment": experiment}
        vectors = tv + 0.3 * rng.standard_normal(tv.shape)
        out[name] = str(write_dataset(make_vectors(vectors, labels, attrs=attrs), tmp / f"{name}.nc"))
    return out


def _report(tmp_path, files, **settings):
    build_report(ReportConfig(files=tuple(files), **{**FAST, **settings}), tmp_path / "r")
    return (tmp_path / "r" / "report.md").read_text(), json.loads((tmp_path / "r" / "report.json").read_text())


def test_vector_files_leave_empty_sections_out_with_one_line_each(files, tmp_path):
    md, manifest = _report(tmp_path, [files["v1"], files["v2"], files["v3"]])
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    for empty in ("## Layer sensitivity", "## Anisotropy per layer", "## Variance decomposition of method effects",
                  "## Maturity: the a-priori rule"):
        assert empty not in headings
    assert "## Sections left out" in headings
    left_out = md.split("## Sections left out", 1)[1].split("## Methods", 1)[0]
    lines = [line for line in left_out.splitlines() if line.startswith("- ")]
    assert [line.split(":")[0] for line in lines] == ["- Layer sensitivity", "- Anisotropy per layer",
                                                     "- Variance decomposition of method effects", "- Maturity"]
    # The unknown experiment and precision are not levels: no decomposition over them.
    assert "experiment is not in the decomposition: its level is unknown (not recorded) for v2" in left_out
    assert "(unknown)" not in md and "decomposition" not in manifest["tables"]
    inputs = manifest["tables"]["inputs"]["records"]
    assert all(r["n_layers"] is None and r["layer_used"] == "as stored" for r in inputs)
    assert "the one layer each file holds (as stored)" in md and "layers 0" not in md


def test_a_decomposition_runs_over_the_factors_every_file_records(files, tmp_path):
    md, manifest = _report(tmp_path, [files["w1"], files["w2"], files["w3"]])
    formula = md.split("Variance decomposition: rsastats decompose", 1)[1].split("\n", 1)[0]
    assert "cell:precision" in formula and "experiment" not in formula
    assert "experiment is not in the decomposition: its level is unknown (not recorded) for w2" in md
    assert "(unknown)" not in md


def test_a_required_decomposition_over_unknown_levels_only_is_an_error_naming_the_section(files, tmp_path):
    from rsastats.exceptions import ValidationError

    with pytest.raises(ValidationError, match="report section 'decomposition': none of the variance components"):
        _report(tmp_path, [files["v1"], files["v2"], files["v3"]], decompose="yes")


def test_one_ci_per_pair_in_a_report(files, tmp_path):
    # percentile bootstrap intervals with fewer resamples in the layer curve than in the main comparison:
    # the curve's point at the main comparison's own layer shows the main comparison's interval.
    md, manifest = _report(tmp_path, [files["acts0"], files["acts1"]], ci="percentile", layer_n_boot=20)
    pair = manifest["tables"]["pairs"]["records"][0]
    last = [r for r in manifest["tables"]["layers"]["records"] if r["layer_a"] == "layer 2" and r["layer_b"] == "layer 2"]
    assert len(last) == 1
    assert (last[0]["rho"], last[0]["ci_low"], last[0]["ci_high"]) == (pair["rho"], pair["ci_low"], pair["ci_high"])


def test_file_layers_in_a_report(files, tmp_path):
    md, manifest = _report(tmp_path, [f"{files['acts0']}@1", f"{files['acts1']}@last"], layer_points=0,
                           geometry_layers=0)
    inputs = {r["name"]: r["layer_used"] for r in manifest["tables"]["inputs"]["records"]}
    assert inputs == {"acts0@1": "layer 1", "acts1@last": "layer 2"}


def test_one_layer_files_get_no_anisotropy_figure(files, tmp_path):
    md, manifest = _report(tmp_path, [files["acts0"], files["acts1"]], layer_points=0, geometry_layers=1)
    assert "anisotropy" in manifest["tables"]
    assert "anisotropy" not in {f["name"] for f in manifest["figures"]}
    assert "no anisotropy figure: every file gives one layer" in md


def test_a_layer_no_statistic_can_use_leaves_its_points_out_not_the_report(files, tmp_path):
    """One emotion's texts all zero at layer 0 only (found by the report's property test, 2026-12-07): the report
    stopped with an error about that layer although its main comparison (the last layer) was fine.  Now the layer
    curve's point and the anisotropy at that layer are left out, each with a note saying why, and the rest is
    as before."""
    import xarray as xr

    with xr.open_dataset(files["acts0"]) as opened:  # closed before the report opens the same file
        ds = opened.load()
    values = ds["activations"].values.copy()
    values[2, :, 0, :] = 0.0
    bad = str(write_dataset(ds.assign(activations=(ds["activations"].dims, values)), tmp_path / "zero_at_0.nc"))
    settings = dict(layer_points=3, geometry_layers=3, last_k_check=0)
    md, manifest = _report(tmp_path, [bad, files["acts1"]], **settings)
    notes = " ".join(" ".join(manifest["notes"]).split())
    emotion = str(ds["emotion"].values[2])
    assert f"the point at zero_at_0 layer 0, acts1 layer 0 is left out: {bad}: emotion vector {emotion}" in notes
    assert f"zero_at_0: no anisotropy at layer 0: emotion '{emotion}', prompt 0 at layer 0 is an all-zero" in notes
    curve, geometry = manifest["tables"]["layers"]["records"], manifest["tables"]["anisotropy"]["records"]
    assert sorted({r["layer_a"] for r in curve}) == ["layer 1", "layer 2"]
    assert sorted({r["layer"] for r in geometry if r["model"] == "zero_at_0"}) == [1, 2]
    assert sorted({r["layer"] for r in geometry if r["model"] == "acts1"}) == [0, 1, 2]
    _, clean = _report(tmp_path / "clean", [files["acts0"], files["acts1"]], **settings)
    rho, clean_rho = (m["tables"]["pairs"]["records"][0]["rho"] for m in (manifest, clean))
    assert rho == pytest.approx(clean_rho)
