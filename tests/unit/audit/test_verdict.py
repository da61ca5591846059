"""rsastats.audit.verdict: the decision rule on fixed intervals, and the pooled reference range."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rsastats.audit import COMPATIBLE, DIFFERENT, INCONCLUSIVE, MIN_AUDIT_EMOTIONS, audit_verdict, reference_range
from rsastats.exceptions import ValidationError
from rsastats.inference.bootstrap import bootstrap_rho
from rsastats.simulate import simulate_audit_case

N_BOOT = 400


# --------------------------------------------------------------------------- the rule on fixed intervals
@pytest.mark.parametrize("observed, reference, expected", [
    ((0.60, 0.80), (0.70, 0.90), COMPATIBLE),        # overlap
    ((0.92, 0.99), (0.60, 0.80), COMPATIBLE),        # above the range: agree more than method effects predict
    ((0.20, 0.50), (0.60, 0.80), DIFFERENT),         # entirely below
    ((-0.30, 0.55), (0.60, 0.80), DIFFERENT),        # entirely below, however wide
    ((0.20, 0.75), (0.60, 0.80), INCONCLUSIVE),      # overlaps but wider than 0.5
    ((0.60, 0.80), (0.30, 0.90), INCONCLUSIVE),      # reference too noisy
    ((float("nan"), 0.8), (0.60, 0.80), INCONCLUSIVE),
])
def test_decision_rule(observed, reference, expected):
    result = audit_verdict(observed, reference)
    assert result.verdict == expected == result.numbers_say and result.reasons


def test_touching_intervals_overlap():
    assert audit_verdict((0.3, 0.6), (0.6, 0.8)).verdict == COMPATIBLE
    assert audit_verdict((0.3, 0.5999), (0.6, 0.8)).verdict == DIFFERENT


def test_incomplete_layers_make_it_inconclusive_and_keep_what_the_numbers_say():
    result = audit_verdict((0.2, 0.5), (0.6, 0.8), incomplete_layers=["3 precision"])
    assert result.verdict == INCONCLUSIVE and result.numbers_say == DIFFERENT
    assert "3 precision" in result.reasons[-1]


def test_too_few_emotions_make_it_inconclusive():
    result = audit_verdict((0.2, 0.5), (0.6, 0.8), n_emotions=MIN_AUDIT_EMOTIONS - 1)
    assert result.verdict == INCONCLUSIVE and result.numbers_say == INCONCLUSIVE


@pytest.mark.parametrize("kwargs", [dict(observed_ci=(0.8, 0.2), reference=(0, 1)), dict(observed_ci=0.5, reference=(0, 1)),
                                    dict(observed_ci=(0, 1), reference=(0, 1), max_interval_width=0),
                                    dict(observed_ci=(0, 1), reference=(0, 1), max_interval_width="wide")])
def test_rule_rejects_bad_arguments(kwargs):
    with pytest.raises(ValidationError):
        audit_verdict(**kwargs)


# --------------------------------------------------------------------------- the pooled reference range
def test_one_reference_run_is_its_own_interval_and_pooling_widens_the_range():
    files, _ = simulate_audit_case(noise=0.5, n_prompts=6, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = [bootstrap_rho(files[2], files[3], scheme="emotions", n_boot=N_BOOT, seed=s) for s in range(3)]
    assert reference_range(runs[:1]) == (runs[0].rho, runs[0].ci_low, runs[0].ci_high)
    rho, low, high = reference_range(runs)
    assert rho == pytest.approx(np.mean([r.rho for r in runs]))
    assert low <= rho <= high
    with pytest.raises(ValidationError, match="BCa"):
        reference_range(runs, ci="bca")
    with pytest.raises(ValidationError, match="no reference runs"):
        reference_range([])
