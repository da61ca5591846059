"""The default interval of rho, ``jackknife-t``: Tukey's jackknife-t on the Fisher-z scale with the
jackknife variance corrected for the second-order part it counts twice (rsastats.inference.degeneracy)."""

import warnings

import numpy as np
import pytest
from scipy import stats

from rsastats.inference.degeneracy import _u_centred_variance, second_order_variance
from rsastats.intervals import DEFAULT_CI, interval_pvalue, jackknife_interval
from rsastats.intervals.jackknife import corrected_variance, jackknife_pvalue


def _loo_spearman(x_mat, y_mat):
    """Leave-one-emotion-out Spearman rho of two RDMs, with scipy (independent of the engine)."""
    n = x_mat.shape[0]
    out = np.empty(n)
    for k in range(n):
        keep = np.delete(np.arange(n), k)
        iu = np.triu_indices(n - 1, 1)
        out[k] = stats.spearmanr(x_mat[np.ix_(keep, keep)][iu], y_mat[np.ix_(keep, keep)][iu])[0]
    return out


def _random_rdm(rng, n, h=6):
    v = rng.standard_normal((n, h))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return 1.0 - v @ v.T


def test_default_is_jackknife_t():
    assert DEFAULT_CI == "jackknife-t"


def test_u_centred_estimate_of_the_degenerate_variance_is_unbiased():
    # kernel k(x, y) = x y with x ~ N(0, 1): degenerate (E[k | x] = 0), delta_2 = E[x^2 y^2] = 1;
    # a mean shift of the kernel and row effects f(x) + f(y) are removed by the U-centring.
    rng = np.random.default_rng(0)
    values = []
    for _ in range(2000):
        x = rng.standard_normal(12)
        kernel = np.outer(x, x) + 3.0 + (x**2)[:, None] + (x**2)[None, :]
        values.append(_u_centred_variance(kernel))
    mean, se = np.mean(values), np.std(values) / np.sqrt(len(values))
    assert abs(mean - 1.0) < 4 * se


def test_the_jackknife_counts_the_second_order_variance_twice():
    # The theory behind the correction (Efron & Stein 1981): for the degenerate U-statistic
    # U = mean_{i<j} x_i x_j, E[V_jack] / Var(U) = 2 (n - 1) / (n - 2).
    rng = np.random.default_rng(1)
    n, sims = 10, 20000
    x = rng.standard_normal((sims, n))
    s1, s2 = x.sum(1), (x**2).sum(1)
    u = (s1**2 - s2) / (n * (n - 1))
    loo = ((s1[:, None] - x) ** 2 - (s2[:, None] - x**2)) / ((n - 1) * (n - 2))
    v_jack = (n - 1) / n * ((loo - loo.mean(1, keepdims=True)) ** 2).sum(1)
    assert v_jack.mean() / u.var() == pytest.approx(2 * (n - 1) / (n - 2), rel=0.05)


def test_corrected_variance_between_the_degenerate_floor_and_the_jackknife():
    n, v = 21, 0.04
    floor = v * (n - 2) / (2 * (n - 1))
    assert corrected_variance(v, None, n) == v
    assert corrected_variance(v, float("nan"), n) == v
    assert corrected_variance(v, 0.0, n) == v
    assert corrected_variance(v, 10 * v, n) == pytest.approx(floor, rel=1e-12)
    values = [corrected_variance(v, s, n) for s in np.linspace(0, v, 30)]
    assert all(floor - 1e-15 <= a <= v for a in values) and np.all(np.diff(values) <= 1e-15)
    # the whole excess (a difference of two correlations): V (1 - e), e kept in [0, e_max]
    assert corrected_variance(v, 0.3 * v, n, whole=True) == pytest.approx(0.7 * v, rel=1e-12)
    assert corrected_variance(v, 10 * v, n, whole=True) == pytest.approx(floor, rel=1e-12)
    assert corrected_variance(v, -v, n, whole=True) == v


def test_jackknife_t_by_hand_and_its_inversion():
    loo = np.array([0.61, 0.55, 0.70, 0.64, 0.58, 0.66, 0.52, 0.63, 0.59, 0.57])
    n = loo.size
    z = np.arctanh(loo)
    v = (n - 1) / n * ((z - z.mean()) ** 2).sum()
    second = 0.3 * v
    e_max = n / (2 * (n - 1))
    se = np.sqrt(v * (1 - (second / v) ** 3 / e_max**2))
    low, high, got = jackknife_interval(0.6, loo, method="jackknife-t", confidence=0.9, second_order=second)
    q = stats.t.ppf(0.95, n - 1)
    assert got == pytest.approx(se, rel=1e-13)
    assert (low, high) == pytest.approx((np.tanh(np.arctanh(0.6) - q * se), np.tanh(np.arctanh(0.6) + q * se)), rel=1e-13)
    p = interval_pvalue(0.6, None, method="jackknife-t", jackknife=loo, second_order=second)
    edge, _, _ = jackknife_interval(0.6, loo, method="jackknife-t", confidence=1 - p, second_order=second)
    assert edge == pytest.approx(0.0, abs=1e-12)
    # without the second-order term: Tukey's interval on the plain jackknife variance
    _, _, plain = jackknife_interval(0.6, loo, method="jackknife-t", confidence=0.9)
    assert plain == pytest.approx(np.sqrt(v), rel=1e-13)


def test_second_order_variance_is_nan_where_it_is_not_defined():
    rng = np.random.default_rng(2)
    a, b = _random_rdm(rng, 8), _random_rdm(rng, 8)
    iu = np.triu_indices(8, 1)
    r = stats.spearmanr(a[iu], b[iu])[0]
    assert np.isnan(second_order_variance(a[iu], b[iu], r, "kendall-b"))[0]
    assert np.isfinite(second_order_variance(a[iu], b[iu], r, "spearman"))[0]
    small = np.triu_indices(4, 1)
    assert np.isnan(second_order_variance(a[:4, :4][small], b[:4, :4][small], 0.1, "spearman"))[0]
    assert np.isnan(second_order_variance(np.ones(28), b[iu], 0.0, "spearman"))[0]


def test_corrected_variance_matches_the_sampling_variance_of_unrelated_rdms():
    # Two RDMs with nothing in common: the plain jackknife variance of atanh(rho) is about twice the
    # variance over data sets; the corrected one is much closer to it.
    rng = np.random.default_rng(4)
    n, sims = 21, 300
    iu = np.triu_indices(n, 1)
    z, plain, corrected = [], [], []
    for _ in range(sims):
        a, b = _random_rdm(rng, n), _random_rdm(rng, n)
        r = stats.spearmanr(a[iu], b[iu])[0]
        t = np.arctanh(_loo_spearman(a, b))
        v = (n - 1) / n * ((t - t.mean()) ** 2).sum()
        z.append(np.arctanh(r))
        plain.append(v)
        corrected.append(corrected_variance(v, second_order_variance(a[iu], b[iu], r, "spearman")[0], n))
    true = np.var(z)
    # measured: plain 2.06x, corrected 1.32x (the degeneracy estimate of one data set is noisy, so part of
    # the excess stays; Student's t then gives about 96-97% coverage at rho = 0, docs/calibration.md)
    assert np.mean(plain) / true > 1.7
    assert 0.9 < np.mean(corrected) / true < 1.45


def test_partial_excess_uses_the_residuals_whose_dot_product_is_the_partial_correlation():
    import pingouin  # noqa: F401  (independent partial correlation)
    import pandas as pd

    from rsastats.inference.degeneracy import partial_second_order

    rng = np.random.default_rng(6)
    n = 12
    iu = np.triu_indices(n, 1)
    c = _random_rdm(rng, n)[iu]
    a = c + 0.5 * _random_rdm(rng, n)[iu]
    b = c + 0.5 * _random_rdm(rng, n)[iu]
    uppers = np.stack([a, b, c])
    frame = pd.DataFrame({"a": stats.rankdata(a), "b": stats.rankdata(b), "c": stats.rankdata(c)})
    r = float(pingouin.partial_corr(frame, x="a", y="b", covar="c")["r"].iloc[0])
    got = partial_second_order(uppers, r, "spearman")
    # the same excess as the plain function on the residuals of the ranks after the confound
    ranks = np.stack([stats.rankdata(v) for v in uppers])
    ranks -= ranks.mean(axis=1, keepdims=True)
    beta = ranks[:2] @ ranks[2] / (ranks[2] @ ranks[2])
    resid = ranks[:2] - beta[:, None] * ranks[2]
    assert resid[0] @ resid[1] / np.linalg.norm(resid[0]) / np.linalg.norm(resid[1]) == pytest.approx(r, abs=1e-12)
    want = second_order_variance(resid[0], resid[1], r, "pearson")[0]
    assert np.isfinite(got) and got == pytest.approx(want, rel=1e-9)
    assert np.isnan(partial_second_order(uppers, r, "kendall-b"))


@pytest.mark.parametrize("method", ["jackknife-t", "jackknife-z", "jackknife"])
def test_no_spread_and_no_prompts_gives_no_interval_and_says_why(method):
    """Every leave-one-out value equal to the estimate (rho = 1 on every subset of a few emotions) and nothing
    else to go on: no interval (an interval of width 0 would miss a truth just below 1), and a warning says why."""
    from rsastats.exceptions import RsaStatsWarning

    est = 1.0 if method != "jackknife" else 0.0
    with pytest.warns(RsaStatsWarning, match="no .* interval: every leave-one-out value equals the estimate"):
        low, high, se = jackknife_interval(est, np.full(5, est), method=method)
    assert np.isnan(low) and np.isnan(high) and np.isnan(se)
    with pytest.warns(RsaStatsWarning, match="nor does leaving out one prompt"):
        low, _, _ = jackknife_interval(est, np.full(5, est), method=method, prompts=[np.full(4, est)] * 5)
    assert np.isnan(low)
    assert np.isnan(jackknife_pvalue(est, np.full(5, est), method=method, null=0.5))


def test_no_spread_takes_the_stratified_jackknife_of_the_prompts():
    """The interval where no leave-one-emotion-out value moves rho: est -+ t SE on the raw scale, SE the stratified
    jackknife of the leave-one-prompt-out values (strata of one value or no spread add nothing), kept below 1."""
    from rsastats.exceptions import RsaStatsWarning
    from rsastats.intervals.jackknife import prompt_jackknife_se

    rng = np.random.default_rng(4)
    strata = [1.0 - np.abs(rng.normal(0, 1e-4, size=k)) for k in (4, 6, 5)] + [np.ones(3), np.array([0.9])]
    expected = np.sqrt(sum((t.size - 1) / t.size * np.sum((t - t.mean()) ** 2) for t in strata[:3]))
    assert prompt_jackknife_se(strata) == pytest.approx(expected, rel=1e-13)
    loo = np.ones(9)
    with pytest.warns(RsaStatsWarning, match="stratified jackknife SE of the prompts"):
        low, high, se = jackknife_interval(1.0, loo, method="jackknife-t", prompts=strata)
    assert se == pytest.approx(expected, rel=1e-13)
    assert low == pytest.approx(1.0 - stats.t.ppf(0.975, 8) * expected, rel=1e-13) and high == 1.0
    p = jackknife_pvalue(1.0, loo, method="jackknife-t", null=low, prompts=strata)
    assert p == pytest.approx(0.05, rel=1e-9)
    # with spread among the emotions the prompts are not used
    spread = np.linspace(0.99, 1.0, 9)
    assert jackknife_interval(0.995, spread, prompts=strata) == jackknife_interval(0.995, spread)


def _two_precisions(seed, n=12, p=8, h=64):
    """Two activation datasets of nearly the same prompts (a model read at two precisions), 12 emotions."""
    from rsastats.io import make_activations
    from rsastats.simulate import true_vectors

    rng = np.random.default_rng(seed)
    x = true_vectors(n, h, seed=2)[:, None, :] + 0.5 * rng.standard_normal((n, p, h)) / np.sqrt(h)
    y = x + 0.01 * rng.standard_normal(x.shape) / np.sqrt(h)
    return [make_activations(v[:, :, None, :].astype(np.float32), [f"e{i:02d}" for i in range(n)],
                             attrs={"model": name}) for v, name in ((x, "fp32"), (y, "bf16"))]


def test_compare_of_identical_rank_orders_uses_the_prompts_or_gives_no_interval():
    """Two files of the same rank order on every subset of emotions: with prompts that still move rho the interval
    comes from them (below 1, around rho); a file compared with itself (no spread anywhere) gets no interval."""
    from rsastats.exceptions import RsaStatsWarning
    from rsastats.inference import compare_models
    from rsastats.simulate import simulate_activations

    ds = simulate_activations(5, 4, 1, 16, noise=0.1, seed=3)
    with pytest.warns(RsaStatsWarning, match="nor does leaving out one prompt"):
        res = compare_models(ds, ds, n_boot=50, permutations=19, ceiling=False)
    assert res.rho == pytest.approx(1.0) and np.isnan(res.ci_low) and np.isnan(res.ci_high)
    with pytest.warns(RsaStatsWarning, match="stratified jackknife SE of the prompts"):
        res = compare_models(*_two_precisions(seed=4), n_boot=50, permutations=19, ceiling=False)
    assert res.rho == 1.0 and 0.999 < res.ci_low < 1.0 == res.ci_high


def test_matrix_and_bootstrap_rho_give_the_pair_the_same_prompt_interval_as_compare():
    """The leave-one-prompt-out values reach every command's interval: a pair without spread among other pairs."""
    from rsastats.inference import bootstrap_rho, compare_all, compare_models
    from rsastats.simulate import simulate_activations

    a, b = _two_precisions(seed=4)
    other = simulate_activations(12, 8, 1, 64, emotions=[f"e{i:02d}" for i in range(12)], seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        single = compare_models(a, b, n_boot=50, permutations=19, ceiling=False)
        table = compare_all([a, b, other], n_boot=50, permutations=19, ceiling=False).pairs
        boot = bootstrap_rho(a, b, n_boot=50)
    assert single.ci_low < 1.0
    assert (table["ci_low"][0], table["ci_high"][0]) == pytest.approx((single.ci_low, single.ci_high), abs=1e-15)
    assert (boot.ci_low, boot.ci_high) == pytest.approx((single.ci_low, single.ci_high), abs=1e-15)
    assert table["ci_low"][1] < table["rho"][1] < table["ci_high"][1]


def test_one_input_without_prompts_is_held_fixed_while_the_others_prompts_are_left_out():
    """A hypothesis RDM (or a vector file) of the same rank order as the data on every subset of emotions: the data's
    prompts are left out one at a time against it, and the interval is the raw-scale one with that SE."""
    from rsastats.inference import compare_models
    from rsastats.inference.hypotheses import compare_hypotheses
    from rsastats.inputs import RDMOptions, load_models
    from rsastats.intervals.jackknife import prompt_jackknife_se
    from rsastats.io import make_vectors
    from rsastats.measures import correlate_rows

    a, b = _two_precisions(seed=4)
    data, other = load_models([a, b], RDMOptions())
    emotions = [str(e) for e in b["emotion"].values]
    vectors = make_vectors(b["activations"].isel(layer=0).mean("prompt").values, emotions, attrs={"model": "bf16v"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = compare_hypotheses([a], [np.asarray(other.rdm.matrix)], n_boot=50, permutations=19, ceiling=False).fits
        res = compare_models(a, vectors, n_boot=50, permutations=19, ceiling=False)
    x, fixed = data.rows.values, other.rdm.upper()
    iu = np.triu_indices(x.shape[0], 1)
    strata = []
    for e in range(x.shape[0]):  # the data's RDM with prompt p of emotion e left out, against the fixed RDM
        values = []
        for p in range(x.shape[1]):
            means = x.mean(axis=1)
            means[e] = np.delete(x[e], p, axis=0).mean(axis=0)
            unit = means / np.linalg.norm(means, axis=1, keepdims=True)
            values.append(correlate_rows((1.0 - unit @ unit.T)[iu][None], fixed[None], "spearman")[0])
        strata.append(np.array(values))
    se = prompt_jackknife_se(strata)
    assert fit["rho"][0] == res.rho == 1.0 and se > 0
    expected = 1.0 - stats.t.ppf(0.975, x.shape[0] - 1) * se
    assert fit["ci_low"][0] == pytest.approx(expected, abs=1e-9) and fit["ci_high"][0] == 1.0
    assert (res.ci_low, res.ci_high) == pytest.approx((fit["ci_low"][0], 1.0), abs=1e-12)


def _nearly_identical_rdms(n=12, swaps=1, seed=0):
    """Two RDMs whose cells have the same rank order but for ``swaps`` adjacent pairs of cells of one emotion's row
    (as two precisions of one model give): rho just below 1, and exactly 1 once that emotion is left out."""
    rng = np.random.default_rng(seed)
    x = _random_rdm(rng, n)
    y = x.copy()
    row = x[0, 1:]
    order = np.argsort(row) + 1
    for k in range(swaps):  # exchange two of emotion 0's distances that are neighbours in rank
        i, j = order[2 * k], order[2 * k + 1]
        y[0, i], y[0, j] = x[0, j], x[0, i]
        y[i, 0], y[j, 0] = y[0, i], y[0, j]
    return x, y


@pytest.mark.parametrize("method", ["jackknife-t", "jackknife-z"])
def test_at_the_bound_the_interval_is_on_the_raw_scale(method):
    """A leave-one-out rho of exactly 1 has no Fisher-z value; with atanh(1 - 1e-12) in its place the z-scale
    interval spanned [-1, 1] around rho = 0.9999.  The raw scale gives est -+ q SE, inside [-1, 1]."""
    x, y = _nearly_identical_rdms()
    iu = np.triu_indices(12, 1)
    est = stats.spearmanr(x[iu], y[iu])[0]
    loo = _loo_spearman(x, y)
    assert 0.99 < est < 1.0 and loo[0] == pytest.approx(1.0, abs=1e-15) and (loo[1:] < 1.0).all()
    from rsastats.exceptions import RsaStatsWarning

    with pytest.warns(RsaStatsWarning, match="on the raw scale, not Fisher-z"):
        low, high, se = jackknife_interval(est, loo, method=method)
    n = loo.size
    raw_se = np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2))
    q = stats.t.ppf(0.975, n - 1) if method == "jackknife-t" else stats.norm.ppf(0.975)
    assert se == pytest.approx(raw_se, rel=1e-9)
    assert low == pytest.approx(est - q * raw_se, rel=1e-9) and high == 1.0  # 1 counted as 1 - 1e-12
    assert 0.95 < low <= est <= high
    # the p-value inverts the same interval: far from 0, and exactly where the interval's lower end is
    assert interval_pvalue(est, None, method=method, jackknife=loo, null=0.0) < 1e-10
    assert interval_pvalue(est, None, method=method, jackknife=loo, null=low) == pytest.approx(0.05, rel=1e-6)


def test_away_from_the_bound_the_fisher_z_interval_is_unchanged():
    x, y = _nearly_identical_rdms(swaps=3, n=10)
    y = y + 0.3 * _random_rdm(np.random.default_rng(5), 10)  # no leave-one-out value at 1
    iu = np.triu_indices(10, 1)
    est = stats.spearmanr(x[iu], y[iu])[0]
    loo = _loo_spearman(x, y)
    assert np.abs(loo).max() < 1.0
    low, high, se = jackknife_interval(est, loo, method="jackknife-z")
    z = np.arctanh(loo)
    se_z = np.sqrt((loo.size - 1) / loo.size * np.sum((z - z.mean()) ** 2))
    assert se == pytest.approx(se_z, rel=1e-12)
    assert low == pytest.approx(np.tanh(np.arctanh(est) - stats.norm.ppf(0.975) * se_z), rel=1e-12)


def test_compare_of_two_precisions_of_one_model_is_not_minus_one_to_one():
    """Two files of nearly the same activations (a model read at two precisions), 12 emotions: rho 0.99996, and
    before the raw scale at the bound its interval was [-1, 1]."""
    from rsastats.inference import compare_models

    res = compare_models(*_two_precisions(seed=2), n_boot=200, permutations=99, ceiling=False)
    assert 0.999 < res.rho < 1.0
    assert 0.99 < res.ci_low <= res.rho <= res.ci_high <= 1.0


def test_below_eight_emotions_a_leave_one_out_value_of_one_keeps_the_fisher_z_scale():
    """With 6 emotions a leave-one-out RDM has 10 cells, and a rank correlation of 1 over them is no sign of two
    nearly identical RDMs (the raw scale under-covered there: RAW_AT_BOUND_FROM)."""
    from rsastats.intervals.jackknife import RAW_AT_BOUND_FROM, fisher_z

    x, y = _nearly_identical_rdms(n=6)
    iu = np.triu_indices(6, 1)
    est = stats.spearmanr(x[iu], y[iu])[0]
    loo = _loo_spearman(x, y)
    assert loo.size < RAW_AT_BOUND_FROM and loo.max() == pytest.approx(1.0, abs=1e-15) and est < 1.0
    z = fisher_z(loo)
    se_z = np.sqrt((loo.size - 1) / loo.size * np.sum((z - z.mean()) ** 2))
    low, high, se = jackknife_interval(est, loo, method="jackknife-t")
    assert se == pytest.approx(se_z, rel=1e-12)
    assert low == pytest.approx(min(np.tanh(np.arctanh(est) - stats.t.ppf(0.975, 5) * se_z), est), rel=1e-12)


@pytest.mark.parametrize("z", [-3.0, -0.5, 0.0, 0.3, 1.0, 2.6, 5.0])
@pytest.mark.parametrize("s", [0.01, 0.2, 0.5, 1.0, 2.0])
def test_mean_of_tanh_is_the_normal_expectation_by_adaptive_quadrature(z, s):
    from scipy import integrate

    from rsastats.intervals.jackknife import mean_of_tanh

    def f(e):
        return np.tanh(z + s * e) * stats.norm.pdf(e)

    centre = -z / s  # where the integrand changes fastest
    cuts = (-40.0, centre - 1.0, centre + 1.0, 40.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        ref = sum(integrate.quad(f, a, b, epsabs=1e-15, epsrel=1e-14, limit=400)[0] for a, b in zip(cuts, cuts[1:]))
    assert float(mean_of_tanh(z, s)) == pytest.approx(ref, abs=1e-12)


def test_rho_interval_targets_the_mean_on_the_correlation_scale():
    """rho's interval (confidence_interval, interval_pvalue) maps the Fisher-z ends to E[tanh(z_end + SE eps)];
    jackknife_interval keeps tanh of the ends unless asked; p of 0 is unchanged, and p of another null inverts the
    mapped interval."""
    from rsastats.intervals import confidence_interval
    from rsastats.intervals.jackknife import mean_of_tanh

    loo = np.array([0.981, 0.975, 0.990, 0.984, 0.978, 0.986, 0.972, 0.983, 0.979, 0.977, 0.988, 0.98])
    est, n = 0.981, loo.size
    plain_low, plain_high, se = jackknife_interval(est, loo, method="jackknife-t")
    q = stats.t.ppf(0.975, n - 1)
    ends = np.arctanh(est) + np.array([-q, q]) * se
    assert (plain_low, plain_high) == pytest.approx(tuple(np.tanh(ends)), rel=1e-13)
    low, high = confidence_interval(est, None, method="jackknife-t", jackknife=loo)
    sample = np.tanh(ends[:, None] + se * np.random.default_rng(3).standard_normal(1_000_000))  # Monte Carlo check
    mc_se = sample.std(axis=1) / np.sqrt(sample.shape[1])
    assert np.all(np.abs(np.array([low, high]) - sample.mean(axis=1)) < 5 * mc_se)
    assert (low, high) == pytest.approx(tuple(mean_of_tanh(ends, se)), rel=1e-14)
    assert low < plain_low and high < plain_high and low < est < high  # lowered, most at the lower end
    assert plain_low - low > 3 * (plain_high - high)
    p0 = interval_pvalue(est, None, method="jackknife-t", jackknife=loo)
    assert p0 == pytest.approx(jackknife_pvalue(est, loo, method="jackknife-t"), rel=1e-14)
    p = interval_pvalue(est, None, method="jackknife-t", jackknife=loo, null=0.95)
    edge, _ = confidence_interval(est, None, method="jackknife-t", jackknife=loo, confidence=1 - p)
    assert edge == pytest.approx(0.95, abs=1e-10)
    neg = confidence_interval(-est, None, method="jackknife-t", jackknife=-loo)  # odd: the mirror image
    assert neg == pytest.approx((-high, -low), rel=1e-12)
