"""Rank correlations against scipy.stats (and rsatoolbox for tau-a), to 1e-12."""

import numpy as np
import pytest
import scipy.stats as st

from rsastats.compare import correlate_rows, rank_correlation


def _pairs(seed, n=60, ties=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = 0.5 * x + rng.standard_normal(n)
    if ties:
        x = np.round(x, 1)
        y = np.round(y, 1)
    return x, y


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("ties", [False, True])
def test_equal_scipy(seed, ties):
    x, y = _pairs(seed, ties=ties)
    assert abs(rank_correlation(x, y, "spearman") - st.spearmanr(x, y).statistic) < 1e-12
    assert abs(rank_correlation(x, y, "pearson") - st.pearsonr(x, y).statistic) < 1e-12
    assert abs(rank_correlation(x, y, "kendall-b") - st.kendalltau(x, y, variant="b").statistic) < 1e-12
    assert abs(rank_correlation(x, y, "kendall") - st.kendalltau(x, y).statistic) < 1e-12


@pytest.mark.parametrize("ties", [False, True])
def test_tau_a_equals_rsatoolbox(ties):
    from rsatoolbox.rdm.compare import _tau_a

    x, y = _pairs(11, ties=ties)
    assert abs(rank_correlation(x, y, "kendall-a") - _tau_a(x, y)) < 1e-12


@pytest.mark.parametrize("method,scipy_fn", [
    ("spearman", lambda a, b: st.spearmanr(a, b).statistic),
    ("pearson", lambda a, b: st.pearsonr(a, b).statistic),
    ("kendall-b", lambda a, b: st.kendalltau(a, b).statistic),
])
def test_weighted_equals_expanded_sample(method, scipy_fn):
    # Multiplicity weights (what an emotion resample produces) equal the expanded sample.
    x, y = _pairs(3, n=40, ties=True)
    w = np.random.default_rng(4).integers(0, 4, size=x.size).astype(float)
    reps = w.astype(int)
    expected = scipy_fn(np.repeat(x, reps), np.repeat(y, reps))
    assert abs(float(correlate_rows(x, y, method, w)) - expected) < 1e-12
