"""analyses/calibration/near_bound.py: its BCa interval is the shipped one, and its rescaled variants are BCa of
replicates moved to the jackknife's width (rebuilt here from the same resamples)."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np
import pytest
import pandas as pd
from scipy.special import stdtrit

from analyses.calibration.independent import _inputs
from analyses.calibration.near_bound import near_bound_intervals, width_table
from rsastats.inference import compare_models, corrected_ci
from rsastats.inference.corrected import DEFAULT_N_SPLITS, CrossHalf
from rsastats.inference.degeneracy import leave_two_out_excess, leave_two_out_weights
from rsastats.inference.engine import ResamplingEngine
from rsastats.inference.settings import streams
from rsastats.intervals import bootstrap_interval
from rsastats.intervals.jackknife import corrected_variance

PAIR = np.array([[0, 1]])


def _near_one(seed: int):
    """One set of emotion vectors read twice with independent prompt noise (noise-free rho 1)."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(12, 1, 40))
    x = np.stack([signal + 0.3 * rng.normal(size=(12, 8, 40)) for _ in range(2)])
    return [replace(m, name=f"model{k}") for k, m in enumerate(_inputs(x, np.ones((12, 8), bool)))]


def test_its_bca_interval_is_the_shipped_one_and_the_rescaled_ones_are_narrower(monkeypatch):
    models = _near_one(3)
    monkeypatch.setattr(corrected_ci, "NARROW_AT_BOUND", 0.0)  # the study measures the interval before the join
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shipped = compare_models(*models, seed=5)
        got = near_bound_intervals(models, 5, 2000)
    assert shipped.corrected_ci_method == "bca"
    np.testing.assert_allclose([got["bca_low"], got["bca_high"]], [shipped.corrected_ci_low, shipped.corrected_ci_high],
                               rtol=0, atol=1e-12)
    assert got["jack_se"] < got["boot_sd"]  # the emotion bootstrap is wider than the jackknife here
    assert got["bca_low"] < got["rescaled_low"] <= got["point"]


def test_the_rescaled_interval_is_bca_of_moved_replicates():
    models = _near_one(4)
    got = near_bound_intervals(models, 7, 500)
    seeds = streams(7)
    halves = CrossHalf(models, "spearman", "cosine", DEFAULT_N_SPLITS, seeds.splits)
    engine = ResamplingEngine(models, rank="spearman", scheme="emotions", rdm_method="cosine")
    counts, _ = engine.draws(500, seeds.corrected)
    reps = halves.emotion_resamples(counts, PAIR)[:, 0]
    jack = halves.leave_one_out(PAIR)[:, 0]
    point = got["point"]
    np.testing.assert_allclose(got["boot_sd"], np.std(reps, ddof=1), rtol=1e-12)
    scale = got["jack_se"] / got["boot_sd"]
    interval = bootstrap_interval(point, point + scale * (reps - point), method="bca", confidence=0.95,
                                  jackknife=[point + scale * (jack - point)])
    np.testing.assert_allclose(got["rescaled_low"], max(-1.0, interval.low), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["rescaled_high"], min(1.0, interval.high), rtol=0, atol=1e-12)
    # the hull: BCa's lower end lowered to the raw-scale jackknife-t end where that is lower
    n = halves.n_emotions
    two = np.array([halves.corrected(w[None], PAIR)[0][0, 0] for w in leave_two_out_weights(n)])
    v = (n - 1) / n * ((jack - jack.mean()) ** 2).sum()
    v_c = corrected_variance(v, leave_two_out_excess(point, jack, two), n)
    end = point - stdtrit(n - 1, 0.975) * np.sqrt(v_c + halves.split_variance(PAIR)[0])
    np.testing.assert_allclose(got["hull_low"], min(got["bca_low"], end), rtol=0, atol=1e-12)
    assert got["hull_high"] == got["bca_high"]


def test_width_table_pools_the_bca_intervals_by_width():
    sets = pd.DataFrame({"bca_low": [0.995, 0.992, 0.5, 0.7, 0.6], "bca_high": [1.0, 1.0, 1.0, 0.9, 0.95],
                         "truth": [0.98, 0.995, 0.9, 0.8, 0.99]})
    table = width_table(sets).set_index(["at_bound", "width"])
    assert table.loc[(True, "(-0.001, 0.01]"), "n"] == 2 and table.loc[(True, "(-0.001, 0.01]"), "coverage"] == 0.5
    assert table.loc[(True, "(0.3, 2.0]"), "coverage"] == 1.0
    assert table.loc[(False, "(0.3, 2.0]"), "n"] == 1 and table.loc[(False, "(0.15, 0.3]"), "coverage"] == 1.0


def test_finished_intervals_are_widened_then_joined_as_shipped():
    """``finished`` (analyses/calibration/widen.py, which near_bound uses) applies each data set's stored moves (the
    check's and the worlds') and then the join with rho's interval: the same ends as rsastats' widened() and the
    join, one data set at a time; a missing interval stays."""
    from analyses.calibration.join_bound import join_interval
    from analyses.calibration.widen import finished
    from rsastats.inference.widening import widened

    stored = pd.DataFrame({"norm_shift": [0.0, -0.2, np.nan, 0.01], "norm_shift_se": [0.05, 0.05, np.nan, 0.05],
                           "world_bias": [0.0, 0.0, 0.1, np.nan], "world_bias_se": [0.01, 0.01, 0.01, np.nan],
                           "ci_low": [0.5, 0.5, 0.6, 0.9], "ci_high": [0.8, 0.8, 0.9, 0.99]})
    low, high = pd.Series([0.6, 0.6, 0.7, 0.991]), pd.Series([0.9, 0.9, 0.95, 1.0])
    got_low, got_high = finished(low, high, stored)
    for k in range(4):
        widened_k = widened(low[k], high[k], (stored.norm_shift[k], stored.norm_shift_se[k]),
                            (stored.world_bias[k], stored.world_bias_se[k]))[:2]
        assert (got_low[k], got_high[k]) == join_interval(*widened_k, stored.ci_low[k], stored.ci_high[k])
    assert got_low[1] < low[1] and got_low[2] < low[2]  # widened down toward the move and the ratio less its bias
    assert got_low[3] == 0.9 and got_high[3] == 1.0  # narrow at the bound: joined with rho's interval and the bound
    nan_low, nan_high = finished(pd.Series([np.nan]), pd.Series([np.nan]), stored.iloc[:1])
    assert np.isnan(nan_low[0]) and np.isnan(nan_high[0])


def test_world_bias_table_sets_the_worlds_reading_against_the_error(tmp_path):
    """From stored results alone: the median worlds' bias and rho_corrected's mean error (the unchecked value where
    the check withheld it) against the design's truth; designs with fewer than 20 given are left out."""
    import json

    from analyses.calibration.near_bound import world_bias_table

    value = np.r_[np.full(20, 0.95), np.nan]
    frame = pd.DataFrame({"rho_corrected": value, "rho_corrected_unchecked": np.r_[np.full(20, np.nan), 0.99],
                          "world_bias": np.r_[np.full(10, 0.02), np.full(11, 0.04)], "world_bias_se": 0.01,
                          "corrected_ci_low": 0.8, "corrected_ci_high": 1.0, "norm_shift": 0.0,
                          "corrected_ci_low_unchecked": np.nan, "corrected_ci_high_unchecked": np.nan})
    frame.loc[0, "rho_corrected"] = 0.97
    frame.to_csv(tmp_path / "d1.csv", index=False)
    (tmp_path / "d1.json").write_text(json.dumps({"design": {"name": "d1", "n_emotions": 21}, "truth": {"free": 0.9}}))
    frame.iloc[:10].to_csv(tmp_path / "d2.csv", index=False)
    (tmp_path / "d2.json").write_text(json.dumps({"design": {"name": "d2", "n_emotions": 21}, "truth": {"free": 0.9}}))
    table = world_bias_table(str(tmp_path))
    assert list(table["design"]) == ["d1"] and table["given"][0] == 21
    assert table["mean_error"][0] == pytest.approx((0.97 + 19 * 0.95 + 0.99) / 21 - 0.9)
    assert table["world_bias_median"][0] == pytest.approx(0.04) and table["world_bias_se_median"][0] == 0.01
