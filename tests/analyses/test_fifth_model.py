"""analyses/calibration/fifth_model.py (the blind fifth generative model, written 2026-12-06): one small data set
through the command line gives the rho numpy computes from the same prompts, and the near-identical design's
noise-free rho is 1."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from analyses.calibration import fifth_model as F
from rsastats.io import make_activations


def test_one_data_set_through_the_command_line(tmp_path):
    design = replace(F.DESIGN_BY_NAME["D3_E12_P8"], E=8, P=4)  # the name keys the seeds
    row = F.one_dataset(design, 0, tmp_path, make_activations)
    assert row["rc"] == 0, row["stderr"]
    assert abs(float(row["rho"]) - row["rho_numpy"]) < 1e-9
    assert float(row["ci_low"]) <= float(row["rho"]) <= float(row["ci_high"])
    assert -1.0 <= row["noise_free"] <= 1.0


def test_the_near_identical_pair_has_noise_free_rho_one():
    design = replace(F.DESIGN_BY_NAME["D5_E21_P30_near"], E=8, P=6)
    ds = F.simulate(design, F.ds_rng(design, 0))
    assert F.noise_free_rho(design, ds, F.truth_rng(design, 0))[0] == 1.0
    assert ds.A.shape[:2] == (8, 6) and np.isnan(ds.A[ds.valid == 0]).all()
