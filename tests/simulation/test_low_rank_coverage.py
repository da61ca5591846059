"""rho's interval in a low-rank design (slow; `make test-slow`): a smaller, reseeded version of one design of
`python -m analyses.calibration.low_rank` (docs/statistics.md, 'Low-rank emotion spaces'), checked with binomial
tests like the other calibration simulations."""

import numpy as np
import pytest
from scipy.stats import binomtest

from analyses.calibration.low_rank import data_set_rows, designs

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["E40-k2-s0.3-o0.1", "E21-k2-s0.0-o0.1"])
def test_shipped_interval_covers_where_the_whole_correction_did_not(name):
    _, _, seed, design = next(d for d in designs() if d[1] == name)
    truth, rows = data_set_rows(design, seed + 17, 300, 1500)
    before = np.array([r["ci_low_before"] <= truth <= r["ci_high_before"] for r in rows])
    shipped = np.array([r["ci_low_shipped"] <= truth <= r["ci_high_shipped"] for r in rows])
    # Coverage consistent with >= 92.5% (one-sided binomial test at 1%), and never below the interval it replaced on
    # the same data sets (it only widens: the weight removes less of the excess).
    assert binomtest(int(shipped.sum()), shipped.size, 0.925, alternative="less").pvalue > 0.01, shipped.mean()
    assert shipped.mean() <= 0.995
    assert np.all(shipped >= before)
