"""analyses/geometry_norm_sd.py: the four intervals of the baseline's norm SD it compares."""

from __future__ import annotations

import numpy as np
from scipy import stats

from analyses import geometry_norm_sd as g
from rsastats.geometry.kernels import norm_statistics
from rsastats.intervals import bootstrap_interval, small_sample_expansion


def test_log_sd_and_its_delta_method_se():
    x = np.random.default_rng(0).gamma(2.0, size=(3, 40))
    log_sd, se = g.log_sd_and_se(x)
    n = x.shape[1]
    s2 = x.var(axis=1, ddof=1)
    m4 = stats.moment(x, 4, axis=1)
    np.testing.assert_allclose(log_sd, np.log(x.std(axis=1, ddof=1)), rtol=1e-13)
    np.testing.assert_allclose(se, np.sqrt((m4 - s2**2 * (n - 3) / (n - 1)) / n) / (2 * s2), rtol=1e-12)


def test_the_intervals_are_the_package_s_and_their_transforms():
    rng = np.random.default_rng(1)
    norms = rng.normal(10, 1, 30)
    resampled = norms[rng.integers(0, 30, (200, 30))]
    out = g.intervals(norms, resampled)
    # the SD the study takes is the package's norm_sd (ddof 1) of the same rows
    assert np.isclose(norm_statistics(np.ones((1, 30)), norms)["norm_sd"][0], norms.std(ddof=1))
    shipped = bootstrap_interval(norms.std(ddof=1), resampled.std(axis=1, ddof=1), method="basic", confidence=0.95,
                                 expansion=small_sample_expansion([30]))
    assert out["basic-expanded"] == (shipped.low, shipped.high)
    for low, high in out.values():
        assert 0 < low < norms.std(ddof=1) < high
    log_sd, se = g.log_sd_and_se(norms)
    t = (g.log_sd_and_se(resampled)[0] - log_sd) / g.log_sd_and_se(resampled)[1]
    low_t, high_t = np.quantile(t, [0.025, 0.975])
    np.testing.assert_allclose(out["bootstrap-t, log"], (np.exp(log_sd - high_t * se), np.exp(log_sd - low_t * se)))


def test_a_design_s_counts():
    rows = g.design_rows(("many texts, hidden 16: 30 emotions x 5 prompts", 5, 50, 3))
    assert [r["method"] for r in rows] == list(g.METHODS)
    assert all(0 <= r["hits"] + r["above"] <= r["n"] == 5 and r["width"] > 0 for r in rows)
    assert "| all designs |" in g.markdown(rows, {"n_sims": 5, "n_boot": 50, "seed": 3, "seconds": 1.0})
