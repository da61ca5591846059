"""Calibration simulations (slow; `make test-slow`).  They rerun, with their own seeds, smaller
versions of the studies in docs/calibration.md (written by `python -m analyses.calibration`) and
check the claims made there."""

import numpy as np
import pytest

from analyses.calibration import choose_default, coverage_study, library_setting, summarize_coverage, type1_error
from rsastats.inference import bootstrap

pytestmark = pytest.mark.slow


def test_mantel_type1_error_is_nominal_and_the_naive_p_is_not():
    # 4,000 null data sets per hub level (>= 2,000 asked for; 4,000 keeps a correct test inside
    # 4-6% with probability > 99%).
    t1 = type1_error(4000, hubs={"moderate hubs": 0.5, "strong hubs": 1.0}, seed=7, jobs=2)
    mantel = t1[t1["test"].str.startswith("Mantel")]
    naive = t1[t1["test"].str.startswith("naive")]
    assert ((mantel["rejection_5pct"] >= 0.04) & (mantel["rejection_5pct"] <= 0.06)).all(), mantel
    assert (naive["ci_low"] > 0.06).all(), naive  # the naive p's rejection rate is provably above nominal


def _row(summary, noise, scheme, method):
    rel = summary[summary["relevant"]]
    return rel[(rel["noise"] == noise) & (rel["scheme"] == scheme) & (rel["method"] == method)].iloc[0]


@pytest.fixture(scope="module")
def coverage_all():
    records, _ = coverage_study(150, n_boot=1000, seed=11, jobs=2)
    return summarize_coverage(records)


def test_default_interval_covers_the_noise_free_rho(coverage_all):
    s = coverage_all
    # Without much prompt noise every scheme's basic interval is near nominal.
    for scheme in ("emotions", "prompts", "both"):
        assert _row(s, "low", scheme, "basic-clip")["coverage"] >= 0.88
    # With prompt noise, the two-factor bootstrap's basic interval still covers (docs: 100% / 91%).
    assert _row(s, "moderate", "both", "basic-clip")["coverage"] >= 0.90
    assert _row(s, "heavy", "both", "basic-clip")["coverage"] >= 0.82
    assert _row(s, "moderate", "prompts", "basic-clip")["coverage"] >= 0.87


def test_prompt_noise_defeats_percentile_bca_and_the_emotion_bootstrap(coverage_all):
    s = coverage_all
    # The prompt bootstrap's replicates are attenuated twice: the percentile interval misses.
    assert _row(s, "low", "prompts", "percentile")["coverage"] <= 0.45
    assert _row(s, "moderate", "prompts", "percentile")["coverage"] <= 0.05
    assert _row(s, "moderate", "prompts", "bca")["coverage"] <= 0.10
    # An emotion bootstrap knows nothing about prompt noise.
    assert _row(s, "heavy", "emotions", "basic-clip")["coverage"] <= 0.25


def test_the_rule_picks_the_library_default(coverage_all):
    chosen, _ = choose_default(coverage_all)
    ci, bounded = library_setting(chosen)
    assert (bootstrap.DEFAULT_CI, bootstrap.BASIC_BOUNDED) == (ci, bounded)
    assert np.isfinite(coverage_all["coverage"]).all()
