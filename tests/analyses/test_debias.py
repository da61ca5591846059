"""analyses.calibration.debias: the ratio less the worlds' bias beyond k standard errors, from stored results."""

import json

import numpy as np
import pandas as pd
import pytest

from analyses.calibration.debias import debiased, real_rows, study_rows
from rsastats.inference.widening import WORLD_BEYOND_SE, widened


def test_debiased_soft_threshold():
    got = debiased([0.5, 0.5, 0.5, 0.99], [0.1, -0.1, 0.01, -0.2], [0.02, 0.02, 0.02, 0.01], k=1.5)
    assert got == pytest.approx([0.5 - 0.07, 0.5 + 0.07, 0.5, 1.0])
    assert debiased([0.3], [0.2], [0.1], k=0.0) == pytest.approx([0.1])


def test_debiased_lies_inside_the_shipped_widened_interval():
    rng = np.random.default_rng(0)
    for _ in range(200):
        r = rng.uniform(-0.9, 0.9)
        lo, hi = r - rng.uniform(0, 0.3), r + rng.uniform(0, 0.3)
        b, se = rng.normal(0, 0.1), rng.uniform(0.005, 0.05)
        w_lo, w_hi, _ = widened(lo, hi, world=(b, se), world_beyond=WORLD_BEYOND_SE)
        est = debiased([r], [b], [se])[0]
        assert w_lo - 1e-12 <= est <= w_hi + 1e-12


def test_rows_from_stored_results(tmp_path):
    study = tmp_path / "independent"
    study.mkdir()
    f = pd.DataFrame({"rho_corrected": [0.5, 0.6, np.nan] + [0.55] * 20, "world_bias": [0.1, 0.0, 0.0] + [0.0] * 20,
                      "world_bias_se": 0.01, "corrected_ci_low": 0.3, "corrected_ci_high": 0.8, "rho_free": 0.45})
    f.to_csv(study / "d.csv", index=False)
    (study / "d.json").write_text(json.dumps({"design": {"n_emotions": 21}, "truth": {"free": 0.4}}))
    (row,) = study_rows(tmp_path)
    given = f[f["rho_corrected"].notna()]
    assert row["n"] == 22 and row["bias"] == pytest.approx((given["rho_corrected"] - 0.45).mean())
    assert row["debiased_bias"] == pytest.approx(row["bias"] - 0.085 / 22)
    assert row["inside"] == 1.0
    real = tmp_path / "real"
    real.mkdir()
    pd.DataFrame({"ratio": [0.2, 0.4], "world_bias": [-0.1, 0.0], "world_bias_se": 0.02}).to_csv(real / "p.csv", index=False)
    (real / "p.json").write_text(json.dumps({"truth": {"free": 0.3}}))
    (row,) = real_rows(real)
    assert row["bias"] == pytest.approx(0.0) and row["debiased_bias"] == pytest.approx(0.035)
