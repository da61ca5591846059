"""The join of rho_corrected's narrow intervals at the bound with rho's, applied to stored results, and the study of
nearly identical models (analyses.calibration.join_bound, analyses.calibration.near_identical)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analyses.calibration import near_identical
from analyses.calibration.independent import _inputs
from analyses.calibration.join_bound import UNJOINED, joined, unjoined
from analyses.calibration.no_spread import _Population
from analyses.calibration.uneven import unwidened
from rsastats.inference import compare_models
from rsastats.inference.corrected_ci import JOIN_NOTE


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "rho": [0.998, 0.5, 1.0, 0.99],
        "ci_low": [0.995, 0.3, np.nan, 0.98],
        "ci_high": [0.999, 0.7, np.nan, 0.995],
        "rho_corrected": [0.9995, 0.6, 1.0, np.nan],
        "corrected_ci_low": [0.999, 0.4, 1.0, np.nan],
        "corrected_ci_high": [1.0, 0.8, 1.0, np.nan],
        "corrected_note": [np.nan, np.nan, "BCa", "rho_corrected not given: why"],
    })


def test_joined_moves_only_narrow_intervals_at_the_bound_and_keeps_what_was_there():
    frame = _frame()
    out, fired = joined(frame)
    assert fired.tolist() == [True, False, True, False]
    assert (out.loc[0, "corrected_ci_low"], out.loc[0, "corrected_ci_high"]) == (0.995, 1.0)
    assert out.loc[0, "corrected_note"].startswith(JOIN_NOTE) and out.loc[0, "rho_corrected"] == 0.9995
    assert np.isnan(out.loc[2, "rho_corrected"])  # no interval of rho: withheld
    assert out.loc[2, "corrected_note"].startswith("rho_corrected not given")
    assert out.loc[0, UNJOINED[1]] == 0.999 and out.loc[2, UNJOINED[0]] == 1.0
    assert out[UNJOINED[0]].isna().tolist() == [False, True, False, True]
    pd.testing.assert_frame_equal(unjoined(out), frame.assign(corrected_note=frame["corrected_note"].astype(object)))
    again, fired_again = joined(out)  # from the values before the join: the same result
    pd.testing.assert_frame_equal(again, out)
    assert fired_again.tolist() == fired.tolist()
    assert unwidened(out).loc[0, "corrected_ci_low"] == 0.999  # the studies that take the interval apart


def test_the_near_identical_study_gives_what_compare_models_gives():
    """One data set of the study: the shipped interval is compare_models's, the one before the join is that of the
    same run with the join lifted, and the join fired."""
    _, _, x, y = near_identical.draw(_Population(), 8, 8, 0.02, 0.1, np.random.default_rng(5))
    got = near_identical.one(x, y, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare_models(*_inputs(np.stack([x, y]), np.ones((8, 8), bool)), permutations=19, seed=3)
    assert got["joined"] and JOIN_NOTE in res.corrected_note
    assert (got["corrected_ci_low"], got["corrected_ci_high"]) == (res.corrected_ci_low, res.corrected_ci_high)
    assert got["corrected_ci_low"] == min(got["before_low"], res.ci_low)
    assert got["before_high"] - got["before_low"] < 0.02 and got["rho_corrected"] == got["before"] == res.rho_corrected


def test_joined_takes_rho_interval_as_a_rerun_forms_it_since_the_mean_map():
    """Stored studies keep rho's Fisher-z interval from before the mean map; the package joins with the mapped one,
    so ``joined(frame, n_emotions)`` must too (a recheck's verify rerun caught the difference near the bound)."""
    from scipy import stats

    from analyses.calibration.mean_scale import as_shipped

    n, rho = 21, 0.99
    z, half = np.arctanh(rho), 0.3 * stats.t.ppf(0.975, n - 1)
    frame = pd.DataFrame({"rho": [rho], "ci_low": [np.tanh(z - half)], "ci_high": [np.tanh(z + half)],
                          "rho_corrected": [0.9995], "corrected_ci_low": [0.999], "corrected_ci_high": [1.0],
                          "corrected_note": [np.nan]})
    low, _ = as_shipped(rho, frame.loc[0, "ci_low"], frame.loc[0, "ci_high"], n)
    assert abs(low - frame.loc[0, "ci_low"]) > 1e-3  # the map moves this end
    stored, _ = joined(frame)
    out, fired = joined(frame, n)
    assert fired.tolist() == [True] and stored.loc[0, "corrected_ci_low"] == frame.loc[0, "ci_low"]
    assert out.loc[0, "corrected_ci_low"] == low and out.loc[0, "corrected_ci_high"] == 1.0
