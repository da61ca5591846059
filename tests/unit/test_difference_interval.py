"""The default interval of a difference of two correlations that share a model, rho(A, B) - rho(A, C):
Tukey's jackknife-t on the raw scale with the jackknife variance less its second-order excess
(rsastats.intervals.jackknife.difference_interval, rsastats.inference.degeneracy.difference_second_order)."""

import warnings

import numpy as np
import pytest
from scipy import stats

from rsastats.inference import compare_difference
from rsastats.inference.degeneracy import difference_second_order
from rsastats.inference.difference import DIFFERENCE_CI
from rsastats.intervals.jackknife import difference_interval
from rsastats.rdm import RDM


def _rdm(rng, n, h=6, base=None, mix=0.0):
    v = rng.standard_normal((n, h))
    if base is not None:
        v = base + mix * v
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    return 1.0 - v @ v.T


def _excess_by_loops(a, b, c):
    """The excess written out: each cell's kernel from scipy's ranks, the U-centred kernel by its definition
    (Szekely & Rizzo 2014, eq. 2.2) with explicit sums, delta_2 its mean square over i != j scaled by n (n - 3)."""
    n = a.shape[0]
    iu = np.triu_indices(n, 1)
    z = []
    for x in (a, b, c):
        r = stats.rankdata(x[iu])
        r = r - r.mean()
        z.append(r / np.linalg.norm(r))
    r_ab, r_ac = z[0] @ z[1], z[0] @ z[2]
    m = len(iu[0])
    kernel_ab = m * (z[0] * z[1] - r_ab / 2 * (z[0] ** 2 + z[1] ** 2))
    cells = kernel_ab - m * (z[0] * z[2] - r_ac / 2 * (z[0] ** 2 + z[2] ** 2))
    k = np.zeros((n, n))
    k[iu] = cells
    k = k + k.T
    centred = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                centred[i, j] = (k[i, j] - sum(k[i, l] for l in range(n)) / (n - 2)
                                 - sum(k[l, j] for l in range(n)) / (n - 2) + k.sum() / ((n - 1) * (n - 2)))
    delta2 = sum(centred[i, j] ** 2 for i in range(n) for j in range(n) if i != j) / (n * (n - 3))
    return 2 * delta2 / ((n - 1) * (n - 2)), r_ab, r_ac


def test_the_excess_of_a_difference_is_that_of_the_difference_of_the_kernels():
    rng = np.random.default_rng(4)
    n = 9
    base = rng.standard_normal((n, 6))
    a, b, c = _rdm(rng, n, base=base, mix=0.7), _rdm(rng, n, base=base, mix=0.9), _rdm(rng, n, base=base, mix=1.5)
    iu = np.triu_indices(n, 1)
    want, r_ab, r_ac = _excess_by_loops(a, b, c)
    assert difference_second_order(a[iu], b[iu], c[iu], r_ab, r_ac, "spearman") == pytest.approx(want, rel=1e-10)
    assert difference_second_order(a[iu], b[iu], b[iu], r_ab, r_ab, "spearman") == 0.0  # the same pair twice
    assert np.isnan(difference_second_order(a[iu], b[iu], c[iu], r_ab, r_ac, "kendall-b"))
    small = np.triu_indices(4, 1)
    assert np.isnan(difference_second_order(a[:4, :4][small], b[:4, :4][small], c[:4, :4][small], 0.1, 0.2, "spearman"))


def test_difference_interval_by_hand_and_its_inversion():
    loo = np.array([0.11, 0.05, 0.20, 0.14, 0.08, 0.16, 0.02, 0.13, 0.09, 0.07])
    n, est = loo.size, 0.1
    v = (n - 1) / n * ((loo - loo.mean()) ** 2).sum()
    q = stats.t.ppf(0.95, n - 1)
    for excess, share in ((0.3 * v, 0.3), (None, 0.0), (10 * v, n / (2 * (n - 1))), (-v, 0.0)):
        low, high, se, p = difference_interval(est, loo, confidence=0.9, second_order=excess)
        assert se == pytest.approx(np.sqrt(v * (1 - share)), rel=1e-13)
        assert (low, high) == pytest.approx((est - q * se, est + q * se), rel=1e-13)
        edge = difference_interval(est, loo, confidence=1 - p, second_order=excess)[0]
        assert edge == pytest.approx(0.0, abs=1e-12)
    with pytest.warns(Warning, match="no jackknife-t interval of the difference"):
        assert np.isnan(difference_interval(est, np.full(n, est))[0])
    with pytest.warns(Warning, match="at least 5"):
        assert np.isnan(difference_interval(est, loo[:4])[0])


def test_compare_difference_default_by_hand():
    """Leave-one-emotion-out rhos from scipy, the excess from the RDMs, Tukey's t on the raw scale."""
    rng = np.random.default_rng(7)
    n = 12
    base = rng.standard_normal((n, 6))
    mats = [_rdm(rng, n, base=base, mix=s) for s in (0.6, 0.8, 1.2)]
    labels = tuple(f"e{i}" for i in range(n))
    rdms = [RDM(m, labels, "cosine", name) for m, name in zip(mats, "abc")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare_difference(*rdms, n_boot=50, seed=0)
    assert res.ci_method == DIFFERENCE_CI == "jackknife-t"
    iu = np.triu_indices(n, 1)
    loo = []
    for k in range(n):
        keep = np.delete(np.arange(n), k)
        sub = np.triu_indices(n - 1, 1)
        x = [m[np.ix_(keep, keep)][sub] for m in mats]
        loo.append(stats.spearmanr(x[0], x[1])[0] - stats.spearmanr(x[0], x[2])[0])
    r_ab, r_ac = stats.spearmanr(mats[0][iu], mats[1][iu])[0], stats.spearmanr(mats[0][iu], mats[2][iu])[0]
    excess = _excess_by_loops(*mats)[0]
    v = (n - 1) / n * ((np.array(loo) - np.mean(loo)) ** 2).sum()
    se = np.sqrt(v * (1 - min(max(excess / v, 0.0), n / (2 * (n - 1)))))
    q = stats.t.ppf(0.975, n - 1)
    d = r_ab - r_ac
    assert res.difference == pytest.approx(d, abs=1e-12)
    assert (res.ci_low, res.ci_high) == pytest.approx((d - q * se, d + q * se), abs=1e-12)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(d) / se, n - 1), abs=1e-12)
    plain = compare_difference(*rdms, n_boot=50, seed=0, ci="jackknife")  # the former default, still by name
    z = stats.norm.ppf(0.975)
    assert (plain.ci_low, plain.ci_high) == pytest.approx((d - z * np.sqrt(v), d + z * np.sqrt(v)), abs=1e-12)


def test_less_the_excess_the_jackknife_variance_is_about_the_variance_of_the_difference():
    """Model C a noisy copy of B (the truth 0 by symmetry): the first-order effects of the two correlations cancel,
    and the plain jackknife variance overstates the variance of the difference by about the excess."""
    rng = np.random.default_rng(11)
    n, sims = 16, 400
    plain, less, diffs = [], [], []
    for _ in range(sims):
        base = rng.standard_normal((n, 5))
        a = _rdm(rng, n, 5, base=base, mix=0.8)
        b, c = (_rdm(rng, n, 5, base=base, mix=0.8) for _ in range(2))
        iu = np.triu_indices(n, 1)
        r_ab, r_ac = stats.spearmanr(a[iu], b[iu])[0], stats.spearmanr(a[iu], c[iu])[0]
        loo = []
        for k in range(n):
            keep = np.delete(np.arange(n), k)
            sub = np.triu_indices(n - 1, 1)
            x = [m[np.ix_(keep, keep)][sub] for m in (a, b, c)]
            loo.append(stats.spearmanr(x[0], x[1])[0] - stats.spearmanr(x[0], x[2])[0])
        v = (n - 1) / n * ((np.array(loo) - np.mean(loo)) ** 2).sum()
        plain.append(v)
        less.append(v - difference_second_order(a[iu], b[iu], c[iu], r_ab, r_ac, "spearman"))
        diffs.append(r_ab - r_ac)
    var = np.var(diffs)
    assert np.mean(plain) / var > 1.2  # the plain jackknife overstates it
    assert np.mean(less) / var == pytest.approx(1.0, abs=0.15)


@pytest.mark.parametrize("ci", ["jackknife-t", "jackknife", "basic", "percentile"])
def test_a_difference_interval_stays_inside_minus_2_2(ci):
    """Five emotions: Tukey's t with 4 degrees of freedom reached 3.33 for a difference of 1.16 (and the plain normal
    interval 2.0 and beyond); a difference of two correlations cannot leave [-2, 2]."""
    rng = np.random.default_rng(0)
    n = 5
    base = rng.standard_normal((n, 6))
    labels = tuple(f"e{i}" for i in range(n))
    mats = [_rdm(rng, n, base=base, mix=s) for s in (0.5, 0.7, 2.0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare_difference(*(RDM(m, labels, "cosine", k) for m, k in zip(mats, "abc")), n_boot=100, ci=ci)
    assert -2.0 <= res.ci_low <= res.difference <= res.ci_high <= 2.0
    if ci == "jackknife-t":
        assert res.ci_high == 2.0  # clipped


def test_a_difference_refuses_the_fisher_z_interval():
    """``jackknife-z`` is a correlation's interval on the Fisher-z scale; a difference of 1.01 got [0.72, 1.01]
    from it (the Fisher-z of a value beyond 1 is clipped), an interval ending at its own estimate."""
    rng = np.random.default_rng(0)
    n = 8
    labels = tuple(f"e{i}" for i in range(n))
    mats = [_rdm(rng, n) for _ in range(3)]
    rdms = [RDM(m, labels, "cosine", k) for m, k in zip(mats, "abc")]
    with pytest.raises(ValueError, match="jackknife-z.*Fisher-z.*\\[-2, 2\\]"):
        compare_difference(*rdms, n_boot=20, ci="jackknife-z")
    assert np.isfinite(compare_difference(*rdms, n_boot=20, ci="jackknife").ci_low)
