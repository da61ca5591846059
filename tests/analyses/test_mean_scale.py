"""analyses/calibration/mean_scale.py: the map it applies to stored intervals is the package's own, and only Fisher-z
intervals are mapped."""

from __future__ import annotations

import numpy as np
import pytest

from analyses.calibration.mean_scale import mapped, score
from rsastats.intervals import confidence_interval, jackknife_interval


def test_the_stored_interval_mapped_is_the_shipped_interval():
    rng = np.random.default_rng(4)
    for n in (6, 12, 21):
        loo = np.clip(0.8 + 0.05 * rng.standard_normal(n), -0.99, 0.99)
        est = float(np.mean(loo))
        low, high, _ = jackknife_interval(est, loo)  # tanh of the Fisher-z ends, as the stored studies wrote them
        new_low, new_high, fisher = mapped(np.array([est]), np.array([low]), np.array([high]), n)
        assert fisher.all()
        shipped = confidence_interval(est, None, method="jackknife-t", jackknife=loo)
        assert (new_low[0], new_high[0]) == pytest.approx(shipped, abs=1e-12)


def test_raw_scale_and_missing_intervals_are_left_as_they_are():
    rho = np.array([0.999, 0.5])
    low, high = np.array([0.995, np.nan]), np.array([1.0, np.nan])  # raw scale at the bound; no interval
    new_low, new_high, fisher = mapped(rho, low, high, 21)
    assert not fisher.any() and new_low[0] == 0.995 and new_high[0] == 1.0 and np.isnan(new_low[1])
    s = score(0.99, low, high)
    assert s["n"] == 1 and s["coverage"] == 0.0 and s["interval_above"] == 1.0



def test_an_interval_of_minus_one_to_one_is_not_mapped():
    loo = np.array([1.0, 0.9, 0.95, 0.97, 0.92])  # below 8 emotions a leave-one-out rho of 1 keeps the Fisher-z scale
    low, high, _ = jackknife_interval(0.95, loo)
    assert (low, high) == (-1.0, 1.0)  # its stand-in makes the SE so large that both ends round to +-1
    assert not mapped(np.array([0.95]), np.array([low]), np.array([high]), loo.size)[2].any()
    shipped = confidence_interval(0.95, None, method="jackknife-t", jackknife=loo)
    assert -1.0 < shipped[0] < 0.95 < shipped[1] < 1.0  # the package maps it: both ends just inside +-1


def test_shipped_ends_is_as_shipped_row_by_row():
    import pandas as pd

    from analyses.calibration.mean_scale import as_shipped, shipped_ends

    frame = pd.DataFrame({"rho": [0.5, 0.9, 0.2], "ci_low": [np.tanh(np.arctanh(0.5) - 0.3), 0.85, np.nan],
                          "ci_high": [np.tanh(np.arctanh(0.5) + 0.3), 0.99, np.nan]})
    low, high = shipped_ends(frame, 21)
    for i in range(2):
        assert (low[i], high[i]) == as_shipped(frame.rho[i], frame.ci_low[i], frame.ci_high[i], 21)
    assert low[0] != frame.ci_low[0] and np.isnan(low[2])
