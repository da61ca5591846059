"""The interval study of rho_corrected (analyses/calibration/corrected_methods.py): its resamples are the
shipped estimator's, so its BCa interval is the one compare_models uses near the bound; the other intervals are
formed as named."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import stdtrit

from analyses.atlas.model import Design, Population, calibrate_sigma
from analyses.atlas.shipped import model_inputs
from analyses.calibration.corrected_methods import METHODS, intervals, resamples
from rsastats.inference import compare_models
from rsastats.inference.corrected_ci import bca_near_bound
from rsastats.intervals.jackknife import jackknife_se


@pytest.fixture(scope="module")
def data_set():
    design = calibrate_sigma(Design("t", 10, 8, 0.9, seed=5), n_sets=20, steps=6)
    seq = np.random.SeedSequence(11)
    return model_inputs(Population.of(design).draw(np.random.default_rng(seq)), design), seq


def test_the_resamples_are_those_of_compare_models(data_set):
    (a, b), seq = data_set
    est, reps, jack = resamples([a, b], seq, 300)
    res = compare_models(a, b, n_boot=300, permutations=19, seed=seq)
    assert est == pytest.approx(res.rho_corrected, abs=1e-12) or (est > 1 and res.rho_corrected == 1.0)
    got = intervals(est, reps, jack)
    assert set(got) == set(METHODS)
    assert got["bca"] == pytest.approx(bca_near_bound(est, reps, jack, 0.95)[:2], abs=1e-12)


def test_the_other_intervals_are_formed_as_named(data_set):
    (a, b), seq = data_set
    est, reps, jack = resamples([a, b], seq, 300)
    got = intervals(est, reps, jack)
    se, t = jackknife_se(jack, "raw"), stdtrit(jack.size - 1, 0.975)
    clip = lambda x: float(np.clip(x, -1, 1))  # noqa: E731
    assert got["jackknife-t"] == pytest.approx((clip(est - t * se), clip(est + t * se)))
    assert got["percentile"] == pytest.approx(tuple(np.clip(np.quantile(reps, [0.025, 0.975]), -1, 1)))
    sd = reps.std(ddof=1)
    assert got["normal-boot"] == pytest.approx((clip(est - 1.96 * sd), clip(est + 1.96 * sd)))
    for low, high in got.values():
        assert -1 <= low <= high <= 1
