"""analyses/calibration/no_spread.py: its shipped interval is compare_models's where nothing moves rho, and on nearly
identical models it covers where the interval of width 0 did not."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analyses.calibration import no_spread as ns
from analyses.calibration.at_bound import interval
from analyses.calibration.independent import _inputs
from rsastats.inference import compare_models


def _no_spread_inputs(n=12, p=8, diff=0.01):
    pop = ns._Population()
    for seed in range(50):
        a, b = _inputs(np.stack(ns.draw(pop, n, p, diff, np.random.default_rng(seed))), np.ones((n, p), bool))
        got = interval(a, b)
        if got["no_spread"]:
            return a, b, got
    raise AssertionError("no data set without spread")


def test_its_shipped_interval_is_compare_models_interval_where_nothing_moves_rho():
    a, b, got = _no_spread_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare_models(a, b, seed=1, permutations=99, ceiling=False)
    assert res.rho == got["rho"] == 1.0
    assert (res.ci_low, res.ci_high) == pytest.approx((got["shipped_low"], got["shipped_high"]), abs=1e-12)
    assert got["shipped_low"] < 1.0 == got["shipped_high"]


def test_nearly_identical_models_are_covered_where_width_zero_missed():
    row = ns.design_row(12, 8, 0.01, sets=40, n_mc=300, jobs=1)
    assert row["no_spread"] > 0.3 and row["truth"] < 1.0
    assert row["before_coverage"] <= 1.0 - row["no_spread"] + 1e-12  # every interval of width 0 at 1 missed
    assert row["shipped_coverage"] > row["before_coverage"] and row["shown"] > row["no_spread"]
