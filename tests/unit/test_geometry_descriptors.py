"""The table of geometry descriptors: one entry per descriptor, each kernel run once, and adding an
entry (with its kernel) is all it takes for geometry, compare_geometry and the command line to report it."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner

import rsastats.geometry
from rsastats.exceptions import ValidationError
from rsastats.geometry import descriptors as table
from rsastats.geometry import compare_geometry, geometry
from rsastats.geometry.descriptors import DESCRIPTORS, GROUPS, descriptor, evaluate_descriptors, group_descriptors
from rsastats.io import write_dataset
from rsastats.simulate import simulate_activations


def _acts(seed=0, variant="base"):
    return simulate_activations(n_emotions=6, n_prompts=6, n_layers=2, hidden=10, n_baseline=12, seed=seed,
                                attrs={"variant": variant, "family": "sim", "model": f"sim-{variant}",
                                       "stimulus_set": "s"})


def test_every_entry_is_complete_and_named_once():
    names = [d.name for d in DESCRIPTORS]
    assert len(names) == len(set(names))
    for d in DESCRIPTORS:
        assert d.group in GROUPS and d.low < d.high and d.meaning and d.label and callable(d.kernel), d.name
        assert d.name.startswith(("baseline_", "prompt_", "emotion_"))
        assert d.per_prompt == d.name.startswith("prompt_"), d.name
    # a sample maximum is the only thing without a bootstrap interval
    assert {d.name for d in DESCRIPTORS if not d.has_ci} == {"baseline_norm_max_median", "prompt_norm_max_median",
                                                             "baseline_participation_ratio_plugin"}
    assert all(d.no_ci.startswith("no CI: ") for d in DESCRIPTORS if not d.has_ci)


def test_lookup_by_name_and_group():
    assert descriptor("emotion_pc1_share").bounds == (0, 1)
    with pytest.raises(ValidationError, match="unknown geometry descriptor 'anisotropy'; the descriptors are "
                                              "baseline_anisotropy, "):
        descriptor("anisotropy")
    with pytest.raises(ValidationError, match="unknown descriptor group"):
        group_descriptors("prompt")
    assert [d.name for d in group_descriptors("baseline")] == [d.name for d in DESCRIPTORS if d.group == "baseline"]
    from_vectors = group_descriptors("emotion", per_prompt=False)
    assert from_vectors and not any(d.per_prompt for d in from_vectors)


def test_a_shared_kernel_runs_once_per_batch():
    calls = []

    def kernel(rows, weights):
        calls.append(len(weights))
        return {"a": weights.sum(axis=1), "b": -weights.sum(axis=1)}

    entries = [replace(DESCRIPTORS[0], name="a", kernel=kernel, output="a"),
               replace(DESCRIPTORS[0], name="b", kernel=kernel, output="b")]
    got = evaluate_descriptors(entries, None, np.ones((3, 4)))
    assert calls == [3]
    np.testing.assert_array_equal(got["b"], -got["a"])


def _first_coordinate(rows, weights):
    """Mean of the unit vectors' first coordinate (a stand-in for a new descriptor's kernel)."""
    return (weights @ rows.unit[:, 0]) / weights.sum(axis=1)


def test_a_new_table_entry_reaches_every_output(monkeypatch, tmp_path):
    new = table.Descriptor("baseline_first_coordinate", "baseline", "first coordinate (baseline)", -1, 1,
                           "mean first coordinate of the unit baseline vectors", kernel=_first_coordinate)
    extended = DESCRIPTORS[:8] + (new,) + DESCRIPTORS[8:]
    monkeypatch.setattr(table, "DESCRIPTORS", extended)
    monkeypatch.setattr(rsastats.geometry, "DESCRIPTORS", extended)
    ds = _acts()
    layer = geometry(ds, layers="last", n_boot=30, seed=1).layers[0]
    assert [e.descriptor for e in layer.estimates] == [d.name for d in extended]
    est = layer["baseline_first_coordinate"]
    unit = ds["baseline"].isel(layer=-1).values.astype(np.float64)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    assert est.plugin == pytest.approx(unit[:, 0].mean(), rel=1e-12)
    assert est.status == "ok" and est.ci_low <= est.ci_high
    change = compare_geometry(ds, _acts(1, "instruct"), n_boot=30)["baseline_first_coordinate"]
    assert change.status == "ok" and np.isfinite(change.change)
    from rsastats.cli import cli

    base = str(write_dataset(ds, tmp_path / "b.nc"))
    result = CliRunner().invoke(cli, ["geometry", base, "--n-boot", "20", "--json"])
    assert "baseline_first_coordinate" in json.loads(result.stdout)["files"][0]["layers"][0]["descriptors"]
    assert "first coordinate (baseline)" in CliRunner().invoke(cli, ["geometry", base, "--n-boot", "20"]).stdout
