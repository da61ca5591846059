"""analyses/calibration/cli_model.py: data sets of the third generative model go through `rsastats compare --json`
on real files, and the stored results keep every estimate inside its interval and every value in [-1, 1]."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.calibration import cli_model
from rsastats.exceptions import RsaStatsWarning

ROOT = Path(__file__).resolve().parents[2]


def test_a_data_set_through_the_cli_equals_compare_models_on_the_same_arrays():
    from rsastats.inference import compare_models

    design = replace(cli_model.DESIGNS[2], n_emotions=8, name="tiny")
    row = cli_model._one((design, 3, 9))
    mu_a, mu_b, x_a, x_b, valid = cli_model.Model(design).draw(np.random.default_rng([9, 8, design.n_prompts, 3]))
    assert row["rho_free"] == cli_model._rho(mu_a, mu_b)
    # the files hold float32: the same arrays, rounded so, through the Python API
    with pytest.warns(RsaStatsWarning):  # 8 emotions: a few resamples have a constant RDM
        res = compare_models(*cli_model.model_inputs(x_a, x_b, valid, as_file=True), seed=3)
    assert np.isclose(row["rho"], res.rho, rtol=0, atol=1e-12) and np.isclose(row["ci_low"], res.ci_low, rtol=0, atol=1e-12)
    assert row["p_value"] == res.p_value and row["corrected_note"] == res.corrected_note
    assert (row["rho_corrected"] is None) == (res.rho_corrected is None)
    if res.rho_corrected is not None:
        assert np.isclose(row["rho_corrected"], res.rho_corrected, rtol=0, atol=1e-12)


def test_the_stored_results_are_inside_their_intervals_and_bounded():
    table = cli_model.coverage_table(ROOT / cli_model.FOLDER)
    assert len(table) == len(cli_model.DESIGNS)
    assert table["inside"].all() and table["bounded"].all()
    for design in cli_model.DESIGNS:
        meta = json.loads((ROOT / cli_model.FOLDER / f"{design.name}.json").read_text())
        frame = pd.read_csv(ROOT / cli_model.FOLDER / f"{design.name}.csv")
        assert meta["half_split"] == "common" and len(frame) == meta["n_sets"] >= 200
    text = (ROOT / cli_model.FOLDER / "coverage.md").read_text()
    assert cli_model.coverage_markdown(table) == text
