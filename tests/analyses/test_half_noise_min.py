"""The study of which half takes its own noise estimate at 5-7 prompts per emotion
(analyses/calibration/half_noise_min.py)."""

import numpy as np
import pandas as pd
import pytest

from analyses.calibration.half_noise_min import DESIGNS, MINIMUMS, NEVER, rows, summary
from analyses.calibration.independent import Design
from rsastats.inference import equalize


def test_the_shipped_minimum_is_the_first_and_the_designs_have_5_to_7_prompts():
    assert MINIMUMS[0] == equalize.HALF_NOISE_MIN and NEVER in MINIMUMS
    assert {d.n_prompts for d in DESIGNS} == {5, 6, 7} and len({d.name for d in DESIGNS}) == len(DESIGNS)


def test_the_minimum_moves_rho_corrected_only_where_a_half_reaches_it():
    """At 6 prompts per emotion both halves hold 3 and take their own estimate with the shipped minimum, so
    rho_corrected moves against the all-prompts rule; rho does not.  At 4 (halves of 2) nothing moves.  The
    module's minimum is restored."""
    six = Design("t-P6", 8, 6, 3.0, hetero=0.6)
    own, every = (pd.DataFrame(rows((six, m, 2, 7, 200))) for m in (MINIMUMS[0], NEVER))
    assert equalize.HALF_NOISE_MIN == MINIMUMS[0]
    assert np.array_equal(own["rho"], every["rho"]) and np.array_equal(own["ci_low"], every["ci_low"])
    assert not np.allclose(own["split_half_a"], every["split_half_a"], rtol=0, atol=1e-9)
    four = Design("t-P4", 8, 4, 3.0, hetero=0.6)
    own, every = (pd.DataFrame(rows((four, m, 2, 7, 200))) for m in (MINIMUMS[0], NEVER))
    pd.testing.assert_frame_equal(own.drop(columns="minimum"), every.drop(columns="minimum"))


def test_summary_counts_coverage_of_the_design_and_of_each_data_set_noise_free_rho():
    frame = pd.DataFrame({"design": "d", "minimum": 3, "rho_free": [0.5, 0.5, 0.5, 0.9],
                          "rho_corrected": [0.5, 0.6, np.nan, 0.7], "corrected_ci_low": [0.4, 0.55, np.nan, 0.6],
                          "corrected_ci_high": [0.6, 0.7, np.nan, 0.8], "split_half_a": [0.5, 0.6, 0.7, 0.8]})
    r = summary(frame, {"d": 0.65}).iloc[0]  # the design's noise-free rho: in the second and third intervals
    assert (r["given"], r["n_sets"], r["miss_high"], r["miss_low"]) == (3, 4, 0, 1)
    assert r["coverage"] == pytest.approx(2 / 3) and r["own_coverage"] == pytest.approx(1 / 3)
    assert r["bias"] == pytest.approx((-0.15 - 0.05 + 0.05) / 3)
    assert r["minimum"] == "3" and summary(frame.assign(minimum=NEVER), {"d": 0.65}).iloc[0]["minimum"] == "all prompts"
