"""analyses/calibration/corrected_jackknife.py: its plain interval is rsastats' Tukey jackknife-t interval of the
leave-one-emotion-out ratios, the corrected one is that interval with a smaller variance, and adding the split
variance gives the shipped interval."""

from __future__ import annotations

import numpy as np

from analyses.calibration.corrected_jackknife import PAIR, jackknife_intervals
from analyses.calibration.equalize_bias import _data_sets
from rsastats.inference.corrected import CrossHalf
from rsastats.intervals.jackknife import jackknife_interval


def test_the_parts_of_the_interval():
    (inputs, _), = _data_sets("n21-P8-equal", 1, 3)
    halves = CrossHalf(inputs, "spearman", "cosine", 4, np.random.SeedSequence(1))
    got = jackknife_intervals(halves)
    assert got["defined"] and not got["near_bound"]
    low, high, _ = jackknife_interval(got["point"], halves.leave_one_out(PAIR)[:, 0], method="jackknife-t")
    np.testing.assert_allclose([got["zjt_low"], got["zjt_high"]], [low, high], rtol=0, atol=1e-12)
    assert got["zjt_low"] <= got["zjtc_low"] < got["point"] < got["zjtc_high"] <= got["zjt_high"]
    np.testing.assert_allclose([got["noswitch_low"], got["noswitch_high"]], [got["shipped_low"], got["shipped_high"]],
                               rtol=0, atol=1e-12)
    assert got["noswitch_low"] < got["zjtc_low"] and got["zjtc_high"] < got["noswitch_high"]
