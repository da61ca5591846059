"""Holm and Benjamini-Hochberg against statsmodels."""

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from rsastats.inference import adjust_pvalues


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ours,theirs", [("holm", "holm"), ("bh", "fdr_bh")])
def test_equal_statsmodels(seed, ours, theirs):
    rng = np.random.default_rng(seed)
    p = np.concatenate([rng.uniform(0, 1, 20), rng.uniform(0, 0.01, 5), [0.03, 0.03, 1.0, 0.0]])
    rng.shuffle(p)
    expected = multipletests(p, method=theirs)[1]
    np.testing.assert_allclose(adjust_pvalues(p, ours), expected, rtol=0, atol=1e-15)
