"""cli_model --keep-rho: a rerun of stored data sets keeps their rho columns and records rho's shipped ends where
they moved (analyses/calibration/cli_model.py, kept_rho)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyses.calibration.cli_model import kept_rho
from analyses.calibration.mean_scale import RERUN_ENDS, shipped_ends

N = 21


def _frames():
    stored = pd.DataFrame({"rho": [0.5, 0.6], "ci_low": [0.2, 0.3], "ci_high": [0.7, 0.8], "p_value": [0.001, 0.002],
                           "rho_corrected": [0.55, 0.65], "corrected_ci_low": [0.3, 0.4],
                           "corrected_ci_high": [0.75, 0.85]})
    low, high = shipped_ends(stored, N)  # what a rerun gives where nothing moved rho's interval
    rerun = stored.assign(ci_low=[low[0], low[1] - 0.01], ci_high=[high[0], high[1]],
                          corrected_ci_low=[0.29, 0.4])
    return stored, rerun


def test_rho_columns_are_kept_and_moved_ends_recorded():
    stored, rerun = _frames()
    out = kept_rho(stored, rerun, N)
    assert (out[["ci_low", "ci_high"]].to_numpy() == stored[["ci_low", "ci_high"]].to_numpy()).all()
    assert out["corrected_ci_low"].tolist() == [0.29, 0.4]  # everything else is the rerun's
    assert np.isnan(out.loc[0, RERUN_ENDS[0]]) and out.loc[1, RERUN_ENDS[0]] == rerun.loc[1, "ci_low"]
    low, _ = shipped_ends(out, N)  # what the join and the rescoring studies read: the rerun's ends
    assert np.allclose(low, rerun["ci_low"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("column, value", [("rho", 0.51), ("p_value", 0.003)])
def test_other_data_sets_or_mantel_p_values_are_refused(column, value):
    stored, rerun = _frames()
    rerun.loc[0, column] = value
    with pytest.raises(RuntimeError):
        kept_rho(stored, rerun, N)
