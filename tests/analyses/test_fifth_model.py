"""analyses/calibration/fifth_model/ (the blind fifth generative model, written 2026-12-06): one small data set
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


def test_the_report_scores_rho_corrected_against_both_truths(tmp_path, monkeypatch):
    """rc cov: each data set's own noise-free rho; rc cov of the mean: the design's mean of them (the documented
    estimand). Here both intervals hold the mean and neither its own value."""
    import csv
    import json

    monkeypatch.setattr(F, "OUT", tmp_path)
    name = F.DESIGNS[0].name
    truth = {"true_rho": 0.5, "mc_se": 0.001, "median_cos_A": 0.9, "median_cos_B": 0.9,
             "median_cos_A_ordinary_dims": 0.9}
    (tmp_path / "truth.json").write_text(json.dumps({d.name: truth for d in F.DESIGNS}))
    rows = [  # noise-free 0.3 and 0.7: their mean 0.5
        dict(noise_free=0.3, rho_corrected=0.5, corrected_ci_low=0.45, corrected_ci_high=0.55),
        dict(noise_free=0.7, rho_corrected=0.52, corrected_ci_low=0.48, corrected_ci_high=0.6),
    ]
    fields = ["design", "i", "rc", "stderr", "rho_numpy", "noise_free", "rho", "ci_low", "ci_high", "rho_corrected",
              "corrected_ci_low", "corrected_ci_high", "corrected_note", "noise_ceiling"]
    with open(tmp_path / "runs.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for i, r in enumerate(rows):
            w.writerow(dict(r, design=name, i=i, rc=0, stderr="", rho_numpy=0.5, rho=0.5, ci_low=0.4, ci_high=0.6,
                            corrected_note="", noise_ceiling=""))
    F.cmd_report(type("Args", (), {"extra": ""})())
    row = json.loads((tmp_path / "summary.json").read_text())["table"][0]
    assert row["rc_cov"] == 0.0 and row["rc_cov_pop"] == 100.0
    assert row["nf_mean"] == 0.5 and row["rc_above"] == 1 and row["rc_below"] == 1
