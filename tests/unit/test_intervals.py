import warnings

import numpy as np
import pytest

from rsastats.exceptions import EstimationError, RsaStatsWarning, ValidationError
from rsastats.intervals import acceleration, confidence_interval, interval_pvalue


def _reps(seed=0, n=2000, loc=0.5, scale=0.1):
    return np.random.default_rng(seed).normal(loc, scale, n)


def test_percentile_and_basic_reflect_each_other():
    t = _reps()
    lo, hi = confidence_interval(0.5, t, method="percentile")
    blo, bhi = confidence_interval(0.5, t, method="basic")
    assert blo == pytest.approx(1.0 - hi, abs=1e-15) and bhi == pytest.approx(1.0 - lo, abs=1e-15)
    assert lo < 0.5 < hi


def test_bca_reduces_to_percentile_without_bias_or_skew():
    t = np.concatenate([_reps(1, 999), [0.5]])  # estimate exactly at the median: z0 = 0
    t = np.concatenate([0.5 - (t - 0.5), t])  # symmetric
    assert confidence_interval(0.5, t, method="bca", acceleration_value=0.0) == pytest.approx(
        confidence_interval(0.5, t, method="percentile"), abs=1e-15)


def test_bounds_keep_basic_inside_minus_one_one():
    t = np.clip(_reps(2, loc=0.97, scale=0.05), -1, 1)
    raw = confidence_interval(0.985, t, method="basic")
    assert raw[1] > 1.0  # a naive basic interval leaves the range
    lo, hi = confidence_interval(0.985, t, method="basic", bounds=(-1, 1))
    assert -1 <= lo < 0.985 < hi <= 1
    for m in ("percentile", "bca"):
        lo, hi = confidence_interval(0.985, t, method=m, bounds=(-1, 1), acceleration_value=0.0)
        assert -1 <= lo <= hi <= 1


def test_acceleration_strata_and_degenerate():
    jack = np.random.default_rng(3).exponential(size=25)
    u = 24 * (jack.mean() - jack)
    assert acceleration(jack) == pytest.approx(np.sum(u**3) / (6 * np.sum(u**2) ** 1.5), rel=1e-12)
    assert acceleration(np.ones(5)) == 0.0
    assert np.isfinite(acceleration([jack, jack[:10]]))


def test_validation():
    t = _reps()
    for bad in (0, 1, 1.5, -0.1, "x"):
        with pytest.raises(ValidationError, match="confidence"):
            confidence_interval(0.5, t, confidence=bad)
    with pytest.raises(ValidationError, match="interval method"):
        confidence_interval(0.5, t, method="studentized")
    with pytest.raises(ValidationError, match="BCa interval needs"):
        confidence_interval(0.5, t, method="bca")
    with pytest.raises(ValidationError, match="NaN"):
        confidence_interval(0.5, np.append(t, np.nan))
    with pytest.raises(ValidationError, match="outside the bounds"):
        confidence_interval(0.5, t + 1, bounds=(-1, 1))
    with pytest.raises(EstimationError, match="one side"):
        confidence_interval(0.0, np.abs(t) + 1, method="bca", acceleration_value=0.0)


def test_too_few_replicates_warn():
    with pytest.warns(RsaStatsWarning, match="extreme order statistic"):
        confidence_interval(0.5, _reps(n=20), confidence=0.99)


@pytest.mark.parametrize("method", ["percentile", "basic", "normal", "bca"])
def test_pvalue_inverts_the_interval(method):
    rng = np.random.default_rng(9)
    for est, loc in ((0.1, 0.08), (0.25, 0.2), (0.02, 0.0)):
        t = rng.normal(loc, 0.1, 3999)
        p = interval_pvalue(est, t, method=method, acceleration_value=0.05)
        for conf in (0.8, 0.9, 0.95, 0.99):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                lo, hi = confidence_interval(est, t, method=method, confidence=conf, acceleration_value=0.05)
            excludes = lo > 0 or hi < 0
            if abs(p - (1 - conf)) > 0.01:  # away from the boundary, the two must agree
                assert excludes == (p < 1 - conf), (method, est, conf, p, lo, hi)


# --------------------------------------------------------------------------- rsastats.intervals: the one table
def test_interval_methods_are_one_table_and_unknown_names_are_errors():
    from rsastats.intervals import CI_METHODS, INTERVAL_METHODS, ci_method_name

    assert CI_METHODS == tuple(INTERVAL_METHODS) and INTERVAL_METHODS["bca"].needs_jackknife
    assert ci_method_name(" BCa ") == "bca"
    with pytest.raises(ValidationError, match="interval method must be one of jackknife-t, jackknife-z, jackknife, "
                                              "percentile, basic, normal, bca"):
        ci_method_name("studentised")


def test_bootstrap_interval_leaves_out_undefined_replicates_and_says_why():
    from rsastats.intervals import bootstrap_interval, confidence_interval

    rng = np.random.default_rng(0)
    reps = rng.normal(0.5, 0.1, 400)
    with_nan = np.concatenate([reps, [np.nan] * 7])
    got = bootstrap_interval(0.5, with_nan, method="percentile", confidence=0.9, bounds=(-1, 1))
    assert (got.low, got.high) == confidence_interval(0.5, reps, method="percentile", confidence=0.9, bounds=(-1, 1))
    assert got.n_used == 400 and got.n_undefined == 7 and got.notes == ()
    none = bootstrap_interval(float("nan"), reps, method="basic", confidence=0.9)
    assert np.isnan(none.low) and none.notes == ("estimate undefined",)
    few = bootstrap_interval(0.5, [0.4, np.nan], method="basic", confidence=0.9)
    assert np.isnan(few.high) and "only 1 of 2 resamples defined" in few.notes[0]


def test_bootstrap_interval_bca_fallback_and_half_open_bounds():
    from rsastats.intervals import bootstrap_interval

    above = np.linspace(1.0, 2.0, 200)  # every replicate above the estimate: z0 is infinite
    nan_ci = bootstrap_interval(0.5, above, method="bca", confidence=0.9, jackknife=[np.linspace(0, 1, 10)])
    assert np.isnan(nan_ci.low) and nan_ci.notes[0].startswith("no CI: every bootstrap replicate lies on one side")
    fallback = bootstrap_interval(0.5, above, method="bca", confidence=0.9, jackknife=[np.linspace(0, 1, 10)],
                                  bca_fallback="percentile")
    assert fallback.method == "percentile" and fallback.low >= 1.0 and "percentile interval given" in fallback.notes[0]
    # a basic interval of a non-negative quantity is kept >= 0 by half-open bounds
    clipped = bootstrap_interval(0.1, np.linspace(0.0, 3.0, 200), method="basic", confidence=0.9, bounds=(0, np.inf))
    assert clipped.low == 0.0 and clipped.high > 0
    few = bootstrap_interval(0.5, np.linspace(0, 1, 5), method="percentile", confidence=0.99)
    assert any("too few" in note for note in few.notes)


# --------------------------------------------------------------------------- jackknife intervals
def test_jackknife_z_interval_by_hand_and_its_inversion():
    from scipy.stats import norm

    from rsastats.intervals import interval_pvalue, jackknife_interval

    loo = np.array([0.61, 0.55, 0.70, 0.64, 0.58, 0.66, 0.52, 0.63])
    z = np.arctanh(loo)
    se = np.sqrt((len(z) - 1) / len(z) * ((z - z.mean()) ** 2).sum())
    low, high, got_se = jackknife_interval(0.6, loo, method="jackknife-z", confidence=0.9)
    assert got_se == pytest.approx(se, rel=1e-14)
    assert (low, high) == pytest.approx((np.tanh(np.arctanh(0.6) - norm.ppf(0.95) * se),
                                         np.tanh(np.arctanh(0.6) + norm.ppf(0.95) * se)), rel=1e-14)
    # the p that inverts it: the interval at level 1 - p just reaches 0
    p = interval_pvalue(0.6, None, method="jackknife-z", jackknife=loo)
    edge, _, _ = jackknife_interval(0.6, loo, method="jackknife-z", confidence=1 - p)
    assert edge == pytest.approx(0.0, abs=1e-12)
    raw_low, raw_high, raw_se = jackknife_interval(0.6, loo, method="jackknife", confidence=0.9)
    assert raw_high - 0.6 == pytest.approx(0.6 - raw_low) and raw_se == pytest.approx(np.sqrt(7 / 8 * ((loo - loo.mean()) ** 2).sum()))


def test_jackknife_z_interval_contains_its_estimate_and_stays_inside_minus_one_one():
    from rsastats.intervals import jackknife_interval

    rng = np.random.default_rng(3)
    for _ in range(200):
        est = float(rng.uniform(-1, 1)) if rng.random() < 0.8 else float(rng.choice([-1.0, 1.0]))
        loo = np.clip(est + rng.normal(0, rng.uniform(0, 0.5), rng.integers(4, 40)), -1, 1)
        for method, second in (("jackknife-z", None), ("jackknife-t", None), ("jackknife-t", float(rng.uniform(0, 1)))):
            if loo.size < 5:  # MIN_UNITS: no interval from 4 emotions, said in a warning
                with pytest.warns(RsaStatsWarning, match="needs at least 5"):
                    low, high, se = jackknife_interval(est, loo, method=method, second_order=second)
                assert np.isnan([low, high, se]).all()
                continue
            low, high, _ = jackknife_interval(est, loo, method=method, second_order=second)
            assert -1 <= low <= est <= high <= 1


def test_interval_estimate_is_the_point_each_method_is_built_around():
    """Percentile: the median of the replicates; basic: 2 est - median (numpy's median, computed
    independently); BCa with z0 = a = 0: the median; jackknife methods: the estimate itself."""
    from rsastats.intervals import interval_estimate

    rng = np.random.default_rng(4)
    for size in (199, 200):  # odd and even counts: the interpolated median is numpy's
        reps = rng.gamma(2.0, 0.1, size)
        assert interval_estimate(0.3, reps, method="percentile") == pytest.approx(np.median(reps), rel=1e-12)
        assert interval_estimate(0.3, reps, method="basic") == pytest.approx(0.6 - np.median(reps), rel=1e-12)
    symmetric = np.concatenate([0.5 - np.linspace(0.01, 0.2, 100), 0.5 + np.linspace(0.01, 0.2, 100)])
    assert interval_estimate(0.5, symmetric, method="bca", acceleration_value=0.0) == pytest.approx(0.5)
    assert interval_estimate(0.42, None, method="jackknife-z", jackknife=np.linspace(0.3, 0.5, 9)) == 0.42
    # a basic point below a bound is clipped to it, as the interval is
    assert interval_estimate(0.01, np.full(50, 0.3) + np.linspace(0, 0.01, 50), method="basic", bounds=(0, 1)) == 0.0


@pytest.mark.parametrize("method", ["percentile", "basic", "normal", "bca"])
def test_interval_estimate_lies_inside_the_interval_at_every_level(method):
    from rsastats.intervals import interval_estimate

    rng = np.random.default_rng(11)
    for trial in range(40):
        shift = rng.normal(0.0, 0.05)  # replicates biased away from the estimate, up to about 2 SE
        reps = np.clip(0.4 + shift + rng.normal(0.0, 0.03, 300) * rng.uniform(0.5, 2.0), 0.0, 1.0)
        jack = 0.4 + rng.normal(0.0, 0.01, 15)
        try:
            point = interval_estimate(0.4, reps, method=method, jackknife=jack, bounds=(0.0, 1.0))
        except EstimationError:  # BCa, every replicate on one side: no interval either
            with pytest.raises(EstimationError):
                confidence_interval(0.4, reps, method=method, jackknife=jack, bounds=(0.0, 1.0))
            continue
        for confidence in (0.5, 0.8, 0.95, 0.99):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RsaStatsWarning)
                low, high = confidence_interval(0.4, reps, method=method, confidence=confidence, jackknife=jack,
                                                bounds=(0.0, 1.0))
            assert low <= point <= high, (trial, confidence, low, point, high)


def test_interval_text_names_a_jackknife_by_its_label_and_a_bootstrap_by_its_resamples():
    from rsastats.intervals.methods import INTERVAL_METHODS, interval_text

    assert interval_text("jackknife-t", "emotions", 2000) == INTERVAL_METHODS["jackknife-t"].label
    assert "resamples" not in interval_text("jackknife-t", "emotions", 2000)
    assert interval_text("bca", "both", 500, 3) == (
        "bca, bootstrap over both (500 resamples, 3 undefined); not calibrated (see the warning)")
    assert interval_text("percentile", "emotions") == "percentile, bootstrap over emotions"


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_a_bootstrap_interval_that_excludes_its_estimate_is_not_given(method):
    """Resamples shifted far from the estimate (all below it): the percentile interval lies below it, the basic one
    is reflected above it (clipped to [1, 1] here), BCa's bias correction is infinite; none is shown beside the
    estimate, and a warning says why.  A jackknife interval is never withheld this way."""
    from rsastats.inference.bootstrap import summarize_replicates
    from rsastats.intervals import excluded_estimate, interval_note, missing_interval_text

    reps = 0.6 + 0.01 * np.random.default_rng(0).standard_normal(500)
    if method == "bca":
        reps[:3] = 0.95  # a few on the other side: z0 finite but beyond the level
    jack = [0.9 + 0.001 * np.random.default_rng(1).standard_normal(30)]
    with pytest.warns(RsaStatsWarning, match=f"the {method} interval came out as .* excludes the estimate 0.900 .*: not shown"):
        out = summarize_replicates(0.9, reps, ci=method, confidence=0.95, jackknife=jack, bounds=(-1.0, 1.0))
    assert np.isnan(out["ci_low"]) and np.isnan(out["ci_high"])
    assert excluded_estimate(method, 0.5, 0.7, 0.6) == "" and excluded_estimate("jackknife-t", 0.1, 0.2, 0.9) == ""
    assert "excluded the estimate" in missing_interval_text(method, 30)
    assert "needs at least 5 emotions (4 here)" in missing_interval_text("jackknife-t", 4)
    assert interval_note(method, 30, out["ci_low"], out["ci_high"]) == missing_interval_text(method, 30)
    assert interval_note(method, 30, 0.5, 0.7) == "" and interval_note(method, 30, None, 0.7) != ""


def test_normal_interval_by_hand():
    """The basic interval's point (2 est - median) -+ the normal quantile times the replicates' SD (numpy and scipy by
    hand); clipped to bounds; its p-value is the normal tail of the point's distance from the null."""
    from scipy import stats

    from rsastats.intervals import interval_estimate

    reps = np.random.default_rng(8).gamma(3.0, 0.05, 999)
    point = 2 * 0.2 - np.median(reps)
    sd = np.std(reps, ddof=1)
    low, high = confidence_interval(0.2, reps, method="normal", confidence=0.9)
    q = stats.norm.ppf(0.95)
    assert (low, high) == pytest.approx((point - q * sd, point + q * sd), rel=1e-12)
    assert interval_estimate(0.2, reps, method="normal") == pytest.approx(point, rel=1e-12)
    assert interval_pvalue(0.2, reps, method="normal", null=0.05) == pytest.approx(
        2 * stats.norm.sf(abs(point - 0.05) / sd), rel=1e-12)
    near_zero = np.clip(reps - 0.1, 0.0, 1.0)
    clipped = confidence_interval(0.02, near_zero, method="normal", bounds=(0.0, 1.0))
    assert clipped[0] == 0.0 and 0.0 < clipped[1] < 1.0
