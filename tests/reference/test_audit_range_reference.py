"""The pooled reference range of :func:`rsastats.audit.reference_range` against numpy's quantiles of
the pooled replicates (computed here independently: reflected for the basic interval, as they are
for the percentile interval), and the one-run case against the basic interval of that run."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rsastats.audit import reference_range
from rsastats.inference.bootstrap import bootstrap_rho
from rsastats.simulate import simulate_audit_case


@pytest.fixture(scope="module")
def runs():
    files, _ = simulate_audit_case(noise=0.5, n_prompts=6, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Three "runs": the reference pair under three seeds (as runs of a sampled recipe would be).
        return [bootstrap_rho(files[2], files[3], scheme="emotions", n_boot=1999, ci="basic", seed=s) for s in range(3)]


def _bracket(pooled: np.ndarray, level: float) -> tuple[float, float]:
    """The two order statistics around the (n + 1) * level-th one (boot.ci's definition)."""
    ordered = np.sort(pooled)
    k = (len(ordered) + 1) * level
    lo = int(np.floor(k))
    return float(ordered[max(lo - 1, 0)]), float(ordered[min(lo, len(ordered) - 1)])


@pytest.mark.parametrize("ci", ["basic", "percentile"])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_pooled_range_is_the_central_quantile_of_the_pooled_replicates(runs, ci, confidence):
    if ci == "basic":
        pooled = np.concatenate([2 * r.rho - r.bootstrap_distribution for r in runs])
    else:
        pooled = np.concatenate([r.bootstrap_distribution for r in runs])
    pooled = np.clip(pooled, -1, 1)
    rho, low, high = reference_range(runs, ci=ci, confidence=confidence)
    alpha = (1 - confidence) / 2
    expected = np.quantile(pooled, [alpha, 1 - alpha], method="weibull")  # the (n + 1) p definition, linear
    # rsastats interpolates between the same two order statistics on the normal scale, numpy linearly.
    for value, numpy_value, level in ((low, expected[0], alpha), (high, expected[1], 1 - alpha)):
        lo, hi = _bracket(pooled, level)
        assert lo - 1e-12 <= value <= hi + 1e-12 and abs(value - numpy_value) <= hi - lo + 1e-12
    assert rho == pytest.approx(np.mean([r.rho for r in runs]), abs=1e-15)


def test_one_run_reflected_is_exactly_its_basic_interval(runs):
    run = runs[0]
    reflected = np.sort(2 * run.rho - run.bootstrap_distribution)
    numpy_low, numpy_high = np.quantile(reflected, [0.025, 0.975], method="weibull")
    assert reference_range([run]) == (run.rho, run.ci_low, run.ci_high)
    lo, hi = _bracket(reflected, 0.025)
    assert lo - 1e-12 <= run.ci_low <= hi + 1e-12 and abs(run.ci_low - numpy_low) <= hi - lo + 1e-12
    lo, hi = _bracket(reflected, 0.975)
    assert lo - 1e-12 <= run.ci_high <= hi + 1e-12 and abs(run.ci_high - numpy_high) <= hi - lo + 1e-12
