"""The interval of a geometry descriptor (rsastats.geometry.intervals): bounds, undefined resamples,
descriptors without an interval, the notes that say so, and warnings that stay warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rsastats.exceptions import RsaStatsWarning
from rsastats.geometry.descriptors import descriptor
from rsastats.geometry.intervals import descriptor_interval
from rsastats.geometry.resampling import ResamplingSettings
from rsastats.intervals import confidence_interval


def _settings(method="basic", confidence=0.9, n_boot=5):
    return ResamplingSettings(n_boot=n_boot, confidence=confidence, ci_method=method)


@pytest.mark.parametrize("ci_method", ["basic", "percentile"])
def test_rounding_overshoot_of_a_bounded_replicate_is_clipped(ci_method):
    """A PC1 share of 1 + 4e-16 from a baseline resample that drew one text several times gets an
    interval, not an error."""
    reps = np.array([0.41, 0.47, 0.52, 0.58, 1.0 + 4e-16])
    got = descriptor_interval(descriptor("baseline_pc1_share"), 0.5, reps, None, _settings(ci_method))
    assert got.n_used == 5 and 0.0 <= got.low <= got.high <= 1.0 and got.status == "ok"


def test_a_real_violation_is_still_an_error_for_the_core():
    from rsastats.exceptions import ValidationError

    with pytest.raises(ValidationError):
        confidence_interval(0.5, np.array([0.4, 1.5]), method="basic", bounds=(0.0, 1.0))


def test_undefined_resamples_are_left_out_and_counted():
    rng = np.random.default_rng(0)
    reps = np.concatenate([rng.normal(0.3, 0.05, 200), [np.nan] * 7])
    got = descriptor_interval(descriptor("baseline_anisotropy"), 0.3, reps, None, _settings(n_boot=207))
    expected = confidence_interval(0.3, reps[:200], method="basic", confidence=0.9, bounds=(-1, 1))
    assert (got.low, got.high) == expected and got.n_used == 200
    assert got.note == "7 of 207 resamples undefined (too few distinct texts drawn) and left out"
    none = descriptor_interval(descriptor("baseline_anisotropy"), 0.3, np.array([0.2, np.nan, np.nan]), None,
                               _settings(n_boot=3))
    assert np.isnan(none.low) and none.status == "no-ci" and none.note.startswith("2 of 3 resamples undefined")
    undefined = descriptor_interval(descriptor("baseline_anisotropy"), np.nan, reps[:200], None, _settings())
    assert undefined.note == "estimate undefined"


def test_a_sample_maximum_gets_no_interval_and_says_why():
    got = descriptor_interval(descriptor("prompt_norm_max_median"), 2.0, np.linspace(1, 3, 50), None, _settings())
    assert np.isnan(got.low) and got.n_used == 0 and got.note == descriptor("prompt_norm_max_median").no_ci
    assert "sample maximum" in got.note and got.estimate == 2.0


def test_the_plugin_participation_ratio_gets_no_interval_and_says_why():
    got = descriptor_interval(descriptor("baseline_participation_ratio_plugin"), 23.5, np.linspace(29.4, 34.8, 50),
                              None, _settings())
    assert np.isnan(got.low) and got.status == "no-ci" and got.estimate == 23.5
    assert got.note.startswith("no CI: the plug-in participation ratio") and "baseline_participation_ratio" in got.note


@pytest.mark.parametrize("method", ["percentile", "basic"])
def test_a_large_bootstrap_bias_moves_the_estimate_not_out_of_its_interval(method):
    """The replicates sit far above the plug-in value (a bias far larger than their spread): the
    estimate given is the interval's own point, inside it; the plug-in value is not."""
    reps = np.linspace(0.50, 0.60, 100)
    jack = [np.linspace(0.44, 0.46, 12)]
    got = descriptor_interval(descriptor("emotion_mean_cosine"), 0.49, reps, jack, _settings(method, n_boot=100))
    assert got.low <= got.estimate <= got.high and got.note == ""
    assert not got.low <= 0.49 <= got.high


def test_bca_failures_are_notes():
    above = np.linspace(0.5, 0.9, 100)  # every replicate above the estimate: infinite bias correction
    jack = [np.linspace(0.1, 0.2, 10)]
    failed = descriptor_interval(descriptor("baseline_anisotropy"), 0.2, np.append(above, np.nan), jack,
                                 _settings("bca", n_boot=101))
    assert np.isnan(failed.low)
    assert failed.note.startswith("1 of 101 resamples undefined (too few distinct texts drawn) and left out; no CI: "
                                  "every bootstrap replicate lies on one side")
    no_jack = descriptor_interval(descriptor("baseline_anisotropy"), 0.7, above, [np.array([0.1, np.nan])],
                                  _settings("bca", n_boot=100))
    assert np.isnan(no_jack.low) and no_jack.note == "BCa needs at least 2 defined jackknife values"


def test_too_few_replicates_for_the_level_is_a_warning_not_a_note():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = descriptor_interval(descriptor("baseline_norm_mean"), 1.0, np.linspace(0.5, 1.5, 30), None,
                                  _settings(confidence=0.99, n_boot=30))
    assert got.status == "ok" and got.note == ""
    assert any(issubclass(w.category, RsaStatsWarning) and "too few" in str(w.message) for w in caught)


def test_bca_with_every_replicate_on_one_side_gives_the_plugin_value_and_no_interval():
    reps = np.linspace(0.50, 0.60, 100)
    got = descriptor_interval(descriptor("emotion_mean_cosine"), 0.49, reps, [np.linspace(0.44, 0.46, 12)],
                              _settings("bca", n_boot=100))
    assert np.isnan(got.low) and got.estimate == 0.49 and "bias correction is infinite" in got.note


def test_descriptors_whose_basic_interval_undercovers_say_so():
    from rsastats.geometry.intervals import UNDERCOVERS_NOTE

    reps = np.linspace(0.1, 0.3, 200)
    basic = descriptor_interval(descriptor("emotion_pc1_share"), 0.2, reps, None, _settings(n_boot=200))
    assert basic.status == "ok" and basic.note == UNDERCOVERS_NOTE
    # measured for the default (basic) interval only; other descriptors and methods carry no such note
    assert descriptor_interval(descriptor("emotion_pc1_share"), 0.2, reps, None, _settings("percentile", n_boot=200)).note == ""
    assert descriptor_interval(descriptor("emotion_participation_ratio"), 2.0, reps + 2, None, _settings(n_boot=200)).note == ""


def test_small_sample_expansion_of_one_group_is_hesterbergs():
    from scipy import stats

    from rsastats.intervals import small_sample_expansion

    e = small_sample_expansion([20])
    assert e.scale == pytest.approx(np.sqrt(20 / 19)) and e.df == 19
    assert stats.norm.ppf((1 + e.confidence(0.95)) / 2) == pytest.approx(stats.t.ppf(0.975, 19))
    strata = small_sample_expansion([4] * 8 + [1])  # a group of one row is not resampled
    assert strata.scale == pytest.approx(np.sqrt(33 / 24)) and strata.df == 24
    assert small_sample_expansion([1, 1, 1]) is None
    assert small_sample_expansion([2]).confidence(0.95) < 1.0  # one degree of freedom: t_1 is 12.7


def test_a_note_about_too_few_replicates_names_the_level_asked_for():
    """The expansion forms the interval at a higher level (96.1% for 95% with 8 groups of 4 rows); the note about
    too few replicates said "a 96% basic interval" where the user had asked for 95% (2026-12-07)."""
    import warnings

    from rsastats.intervals import bootstrap_interval, small_sample_expansion

    reps = np.random.default_rng(1).standard_normal(20)
    expansion = small_sample_expansion([4] * 8)
    level = expansion.confidence(0.95)
    iv = bootstrap_interval(0.0, reps, method="basic", confidence=0.95, expansion=expansion)
    assert [n for n in iv.notes if "too few" in n] == [
        f"20 replicates are too few for a 95% basic interval (formed at {level:.1%} by the small-sample expansion): an "
        "extreme order statistic was used as an endpoint (increase n_boot)"]
    with warnings.catch_warnings(record=True) as caught:  # the same words where they reach the caller as a warning
        warnings.simplefilter("always")
        bootstrap_interval(0.0, reps, method="basic", confidence=0.95, expansion=expansion, warnings_as_notes=False)
    assert [str(w.message) for w in caught] == list(iv.notes)
    assert bootstrap_interval(0.0, reps, method="basic", confidence=0.95).notes[0].startswith(
        "20 replicates are too few for a 95% basic interval: ")


def test_expanded_basic_interval_covers_a_stratified_mean_with_small_strata():
    """8 groups of 4 rows, resampled within groups: the bootstrap sees 3/4 of the variance of the mean, so the basic
    interval covers about 91%; expanded, about 95% (Davison & Hinkley 1997, sec. 3.7)."""
    from rsastats.intervals import bootstrap_interval, small_sample_expansion

    rng = np.random.default_rng(7)
    n_sets, n_boot, sizes = 1500, 400, [4] * 8
    expansion = small_sample_expansion(sizes)
    hits = {"plain": 0, "expanded": 0}
    for _ in range(n_sets):
        x = rng.standard_normal((8, 4))
        draws = rng.integers(0, 4, size=(n_boot, 8, 4))
        reps = np.take_along_axis(np.broadcast_to(x, (n_boot, 8, 4)), draws, axis=2).mean(axis=(1, 2))
        for name, e in (("plain", None), ("expanded", expansion)):
            iv = bootstrap_interval(float(x.mean()), reps, method="basic", confidence=0.95, expansion=e)
            hits[name] += iv.low <= 0.0 <= iv.high
    assert hits["plain"] / n_sets < 0.93
    assert 0.93 <= hits["expanded"] / n_sets <= 0.97
