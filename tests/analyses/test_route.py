"""analyses/calibration/route.py: the route rules it compares are the package's own switch with one part changed,
and the coverage row counts what it says."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from analyses.calibration import cli_model
from analyses.calibration.route import coverage_row, route_rule
from rsastats.inference import compare_models, corrected_ci
from rsastats.inference.corrected_ci import CORRECTED_CI, NEAR_BOUND_CI


def _pair(seed: int = 2, n_emotions: int = 12):
    design = cli_model.Design("t", n_emotions, 8, 1.6)
    _, _, x_a, x_b, valid = cli_model.Model(design).draw(np.random.default_rng(seed))
    return cli_model.model_inputs(x_a, x_b, valid)


def _method(rule: str) -> str:
    with route_rule(rule), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compare_models(*_pair(), seed=7, permutations=99).corrected_ci_method


def test_the_rules_route_a_12_emotion_pair_as_named_and_are_undone():
    kept = corrected_ci.MIN_JACKKNIFE_EMOTIONS, corrected_ci.jackknife_se
    assert _method("shipped") == NEAR_BOUND_CI  # below MIN_JACKKNIFE_EMOTIONS: BCa
    assert _method("jackknife") == CORRECTED_CI  # far from the bound: the jackknife-t interval
    assert (corrected_ci.MIN_JACKKNIFE_EMOTIONS, corrected_ci.jackknife_se) == kept
    with pytest.raises(RuntimeError), route_rule("former"):
        assert corrected_ci.MIN_JACKKNIFE_EMOTIONS == 0
        raise RuntimeError
    assert (corrected_ci.MIN_JACKKNIFE_EMOTIONS, corrected_ci.jackknife_se) == kept


def test_the_coverage_row():
    bca = corrected_ci.NEAR_BOUND_NOTE
    frame = pd.DataFrame({"rho_corrected": [0.5, 0.6, np.nan, 0.9, 0.2],
                          "corrected_ci_low": [0.3, 0.55, np.nan, 0.8, 0.0],
                          "corrected_ci_high": [0.7, 0.9, np.nan, 1.0, 0.4],
                          "corrected_note": ["", bca, "not given", f"{bca}; clipped", "widened by"]})
    row = coverage_row("d", 12, "shipped", frame, 0.5)
    assert (row["sets"], row["given"]) == (5, 4)
    assert row["coverage"] == 0.25 and row["misses_above"] == 0.5 and row["misses_below"] == 0.25
    assert row["bca_share"] == 0.5 and row["coverage_bca"] == 0.0 and row["coverage_jackknife"] == 0.5
    assert row["cp_low"] < 0.25 < row["cp_high"]
    assert row["width"] == pytest.approx(np.mean([0.4, 0.35, 0.2, 0.4]))
