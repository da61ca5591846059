"""analyses/calibration/at_bound.py: its two scales are the package's interval with the emotion threshold moved, its
Fisher-z interval is rho's default interval as compare_models gives it, and it reproduces a stored data set."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analyses.calibration import cli_model
from analyses.calibration.at_bound import _inputs, interval, scale
from rsastats.inference import compare_models
from rsastats.intervals import jackknife as jk
from rsastats.intervals.jackknife import mean_of_tanh

FEW = Path(__file__).resolve().parents[2] / "reports/calibration/few/n5-P8-shared0.95.json"


def test_the_scales_move_only_the_threshold_and_are_undone():
    kept = jk.RAW_AT_BOUND_FROM
    with scale("raw"):
        assert jk.RAW_AT_BOUND_FROM == 0
    with scale("fisher-z"):
        assert jk.RAW_AT_BOUND_FROM > 10**6
    assert jk.RAW_AT_BOUND_FROM == kept


def test_its_fisher_z_interval_is_compare_models_interval():
    design = cli_model.Design("t", 12, 8, 1.6)
    _, _, x_a, x_b, valid = cli_model.Model(design).draw(np.random.default_rng(3))
    a, b = cli_model.model_inputs(x_a, x_b, valid)
    got = interval(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare_models(a, b, seed=1, permutations=99, ceiling=False)
    assert not got["at_bound"]  # away from the bound both scales are the Fisher-z interval
    assert got["rho"] == pytest.approx(res.rho, abs=1e-12)
    assert (got["shipped_low"], got["shipped_high"]) == pytest.approx((res.ci_low, res.ci_high), abs=1e-12)
    # the stored studies' interval: tanh of the Fisher-z ends, before the map to the mean on the correlation scale
    n = a.rdm.n_emotions
    se = (np.arctanh(got["fisher-z_high"]) - np.arctanh(got["fisher-z_low"])) / (2 * stats.t.ppf(0.975, n - 1))
    ends = np.arctanh([got["fisher-z_low"], got["fisher-z_high"]])
    assert tuple(mean_of_tanh(ends, se)) == pytest.approx((res.ci_low, res.ci_high), abs=1e-12)
    assert (got["raw_low"], got["raw_high"]) == pytest.approx((got["fisher-z_low"], got["fisher-z_high"]), abs=1e-15)


def test_a_stored_five_emotion_data_set_at_the_bound_is_reproduced():
    meta = json.loads(FEW.read_text())
    stored = pd.read_csv(FEW.with_suffix(".csv"))
    inputs = _inputs(meta, list(range(12)))
    rows = [interval(a, b) for a, b in inputs]
    assert np.allclose([r["fisher-z_low"] for r in rows], stored["ci_low"][:12], atol=1e-9)
    assert np.allclose([r["fisher-z_high"] for r in rows], stored["ci_high"][:12], atol=1e-9)
    bound = [r for r in rows if r["at_bound"]]
    assert bound, "a 5-emotion design with nearly shared geometry has leave-one-out rhos of 1"
    # there the raw scale is the narrower interval
    assert all(r["raw_high"] - r["raw_low"] < r["fisher-z_high"] - r["fisher-z_low"] for r in bound)
