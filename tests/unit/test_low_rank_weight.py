"""rho's jackknife-t correction phased out where the kernel has a low effective rank (docs/statistics.md, 'Low-rank
emotion spaces'; rsastats/inference/degeneracy.py)."""

import numpy as np
import pytest
from scipy.special import stdtrit

from rsastats.inference import compare_models
from rsastats.inference.degeneracy import (LOW_RANK_FROM, LOW_RANK_TO, kernel_rank_share, low_rank_weight,
                                           pair_rank_share, second_order_variance)
from rsastats.intervals.jackknife import jackknife_interval
from rsastats.io import make_vectors
from rsastats.rdm import rdm_matrix, upper


def test_rank_share_is_the_participation_ratio_of_the_eigenvalues_over_n():
    rng = np.random.default_rng(0)
    for n in (5, 12, 30):
        a = rng.standard_normal((n, n))
        m = a + a.T
        np.fill_diagonal(m, 0.0)
        lam = np.linalg.eigvalsh(m)  # independent: numpy's eigenvalues, not the Frobenius identity
        expected = (lam @ lam) ** 2 / np.sum(lam**4) / n
        assert kernel_rank_share(m[None])[0] == pytest.approx(expected, rel=1e-12)
    rank_one = np.outer(np.arange(1.0, 9.0), np.arange(1.0, 9.0))
    assert kernel_rank_share(rank_one[None])[0] == pytest.approx(1 / 8, rel=1e-12)
    assert np.isnan(kernel_rank_share(np.zeros((1, 6, 6)))[0])


def test_weight_is_zero_below_the_lower_share_one_above_the_upper_and_linear_between():
    shares = np.array([0.0, LOW_RANK_FROM, (LOW_RANK_FROM + LOW_RANK_TO) / 2, LOW_RANK_TO, 0.9, np.nan])
    np.testing.assert_allclose(low_rank_weight(shares), [0.0, 0.0, 0.5, 1.0, 1.0, 1.0], atol=1e-15)


def _uppers(points_a, points_b):
    return upper(rdm_matrix(points_a, "cosine")), upper(rdm_matrix(points_b, "cosine"))


def _rho(x, y):
    from scipy.stats import spearmanr
    return spearmanr(x, y).statistic


def test_excess_is_kept_for_many_directions_and_scaled_down_for_emotions_on_one_direction():
    rng = np.random.default_rng(3)
    n = 30
    # Many directions (isotropic vectors in 40 dims): the kernel's rank share is high, the whole excess removed.
    x, y = _uppers(rng.standard_normal((n, 40)), rng.standard_normal((n, 40)))
    r = np.array([_rho(x, y)])
    share = pair_rank_share(x, y, r, "spearman")[0]
    assert share >= LOW_RANK_TO
    assert second_order_variance(x, y, r, "spearman")[0] == second_order_variance(x, y, r, "spearman",
                                                                                 low_rank=False)[0] > 0
    # Emotions along one direction in each model (plus a small offset so cosines differ): a rank-1 geometry.
    t_a, t_b = rng.standard_normal(n), rng.standard_normal(n)
    base = np.eye(3)[0] * 3.0
    x, y = _uppers(base + np.outer(t_a, np.eye(3)[1]), base + np.outer(t_b, np.eye(3)[2]))
    r = np.array([_rho(x, y)])
    share = pair_rank_share(x, y, r, "spearman")[0]
    assert share < LOW_RANK_TO
    whole = second_order_variance(x, y, r, "spearman", low_rank=False)[0]
    assert whole > 0
    assert second_order_variance(x, y, r, "spearman")[0] == pytest.approx(whole * low_rank_weight(share), rel=1e-12)
    assert second_order_variance(x, y, r, "spearman")[0] < whole


def test_compare_models_interval_is_the_jackknife_t_with_the_weighted_excess():
    # The interval compare_models prints is the one the study (analyses/calibration/low_rank.py) scores.
    rng = np.random.default_rng(5)
    n = 21
    labels = [f"e{i}" for i in range(n)]
    latent = rng.standard_normal((n, 2)) * [1.0, 0.4]
    a = latent @ rng.standard_normal((2, 16)) + 0.3 * rng.standard_normal((n, 16))
    b = (0.3 * latent + 0.95 * rng.standard_normal((n, 2)) * [1.0, 0.4]) @ rng.standard_normal((2, 24))
    b = b + 0.3 * rng.standard_normal((n, 24))
    a, b = a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)  # as the files hold them
    res = compare_models(make_vectors(a[:, None, :], labels, attrs={"model": "A"}),
                         make_vectors(b[:, None, :], labels, attrs={"model": "B"}), permutations=19, n_boot=50, seed=0)
    x, y = _uppers(a, b)
    r = np.array([res.rho])
    assert res.rho == pytest.approx(_rho(x, y), abs=1e-12)
    iu, ju = np.triu_indices(n, 1)
    loo = [_rho(x[(iu != i) & (ju != i)], y[(iu != i) & (ju != i)]) for i in range(n)]
    low, high, _ = jackknife_interval(res.rho, loo, method="jackknife-t", mean_scale=True,
                                      second_order=second_order_variance(x, y, r, "spearman")[0])
    assert (res.ci_low, res.ci_high) == pytest.approx((low, high), abs=1e-12)
    weight = low_rank_weight(pair_rank_share(x, y, r, "spearman"))[0]
    assert 0.0 <= weight < 1.0  # a pair this test is about: the weight moved the interval
    wide = jackknife_interval(res.rho, loo, method="jackknife-t", mean_scale=True,
                              second_order=second_order_variance(x, y, r, "spearman", low_rank=False)[0])
    assert high - low > wide[1] - wide[0]


def test_the_committed_study_reproduces_the_stored_intervals_and_the_report_counts_it():
    import pandas as pd

    from analyses.calibration.low_rank import section

    stored = pd.read_csv("reports/calibration/low_rank_stored.csv")
    # Regenerated data sets give the stored interval back (before the weight) in every data set but the few-emotions
    # study's 27 whose stored ends of +-1 predate the mean map (docs/statistics.md, 'Low-rank emotion spaces').
    assert (stored["checked"] == stored["shown"]).sum() >= len(stored) - 4
    assert (stored["shown"] - stored["checked"]).sum() <= 27
    assert (stored.loc[stored["checked"] < stored["shown"], "study"] == "few").all()
    assert (stored["coverage_shipped"] >= stored["coverage_before"]).all()  # the weight only widens
    frame = pd.read_csv("reports/calibration/low_rank.csv")
    within = int(frame["coverage_shipped"].between(0.925, 0.975).sum())
    assert f"shipped: {within} of {len(frame)} designs within" in "\n".join(section())


def _by_hand_weighted_excess(value, loo, l2o):
    """The leave-two-out excess times the weight, the kernel U-centred by hand and its rank share from numpy's
    eigenvalues (independent of degeneracy's Frobenius identity and centring)."""
    from rsastats.inference.degeneracy import leave_two_out_excess

    n = loo.size
    iu, ju = np.triu_indices(n, 1)
    k = np.zeros((n, n))
    k[iu, ju] = k[ju, iu] = value - loo[iu] - loo[ju] + l2o
    rows, total = k.sum(axis=1), k.sum()
    centred = k - rows[:, None] / (n - 2) - rows[None, :] / (n - 2) + total / ((n - 1) * (n - 2))
    np.fill_diagonal(centred, 0.0)
    lam = np.linalg.eigvalsh(centred)
    share = (lam @ lam) ** 2 / np.sum(lam**4) / n
    weight = min(max((share - LOW_RANK_FROM) / (LOW_RANK_TO - LOW_RANK_FROM), 0.0), 1.0)
    return leave_two_out_excess(value, loo, l2o, low_rank=False) * weight, share


def test_leave_two_out_excess_takes_the_weight_of_its_own_kernel():
    from rsastats.inference.degeneracy import leave_two_out_excess

    rng = np.random.default_rng(11)
    n = 24
    iu, ju = np.triu_indices(n, 1)
    for rank in (1, 2, 60):  # a statistic's leave-two-out values with a kernel of that many directions
        u = rng.standard_normal((n, rank)) * np.linspace(1.0, 0.5, rank)
        loo = 0.3 + 0.01 * rng.standard_normal(n)
        l2o = -0.3 + loo[iu] + loo[ju] + 0.002 * np.einsum("pk,pk->p", u[iu], u[ju])
        expected, share = _by_hand_weighted_excess(0.3, loo, l2o)
        whole = leave_two_out_excess(0.3, loo, l2o)  # the default: the whole excess
        assert whole > 0
        assert leave_two_out_excess(0.3, loo, l2o, low_rank=True) == pytest.approx(expected, rel=1e-10, abs=1e-300)
        if rank <= 2:
            assert share < LOW_RANK_FROM and leave_two_out_excess(0.3, loo, l2o, low_rank=True) == 0.0
        else:
            assert share >= LOW_RANK_TO and leave_two_out_excess(0.3, loo, l2o, low_rank=True) == whole


def test_rho_corrected_interval_takes_the_weighted_excess_in_a_low_rank_design():
    # Emotions along one direction, the second model sharing half of it (analyses/calibration/low_rank.py's grid1):
    # the interval compare_models forms is the jackknife-t with the weighted leave-two-out excess, wider than with
    # the whole one.
    from analyses.calibration.low_rank import _BASE, Generator
    from analyses.calibration.independent import _inputs
    from rsastats.inference.corrected import DEFAULT_N_SPLITS, CrossHalf
    from rsastats.inference.corrected_ci import jackknife_corrected
    from rsastats.inference.degeneracy import leave_two_out_weights
    from rsastats.inference.settings import streams
    from rsastats.intervals.jackknife import corrected_variance

    pair = np.array([[0, 1]])
    gen = Generator(dict(_BASE, own=0.2, k=1, E=24, share=0.5, P=8, offset=0.0), 93004)
    models = _inputs(*gen.prompts(np.random.default_rng(3)))
    halves = CrossHalf(models, "spearman", "cosine", DEFAULT_N_SPLITS, streams(9).splits)
    point = halves.corrected(None, pair)[0][0]
    jack = halves.leave_one_out(pair)
    n = halves.n_emotions
    two = halves.batched(leave_two_out_weights(n), pair)[:, 0]
    z, zl, z2 = np.arctanh(point[0]), np.arctanh(jack[:, 0]), np.arctanh(two)
    excess, share = _by_hand_weighted_excess(z, zl, z2)
    assert share < LOW_RANK_TO  # a data set this test is about
    variance = corrected_variance((n - 1) / n * ((zl - zl.mean()) ** 2).sum(), excess, n)
    variance += halves.split_variance(pair)[0] / (1 - point[0] ** 2) ** 2
    t = stdtrit(n - 1, 0.975)
    expected = np.tanh([z - t * np.sqrt(variance), z + t * np.sqrt(variance)])
    got = jackknife_corrected(halves, pair, point, jack, 0.95)[0]
    whole = jackknife_corrected(halves, pair, point, jack, 0.95, low_rank=False)[0]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert got[1] - got[0] > whole[1] - whole[0]
