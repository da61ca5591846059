"""Verdict rates of `rsastats audit` on planted truths (slow).

A smaller version of ``analyses/audit_verdict_rates.py`` (which writes the table in docs/audit.md).
The claims checked, each by a one-sided binomial test at level 0.001: with identical geometry and a
method effect that transfers, "different" is rare (at most 5%); with a large planted difference,
"different" is the usual answer (at least 80%); with 6 emotions, never anything but "inconclusive".
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from rsastats.audit import COMPATIBLE, DIFFERENT, INCONCLUSIVE, audit
from rsastats.simulate import simulate_audit_case

pytestmark = pytest.mark.slow

N_SIMS = 60
N_BOOT = 300
LEVEL = 0.001


def _verdicts(**kwargs):
    out = []
    for i in range(N_SIMS):
        files, _ = simulate_audit_case(**{"n_prompts": 10, "noise": 0.5, **kwargs}, seed=np.random.SeedSequence([7, i, 0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = audit(files[0], files[1], reference_files=files[2:], n_boot=N_BOOT,
                           seed=np.random.SeedSequence([7, i, 1]))
        out.append(result.verdict.verdict)
    return out


def test_identical_geometry_is_rarely_called_different():
    verdicts = _verdicts()
    k = verdicts.count(DIFFERENT)
    assert stats.binomtest(k, N_SIMS, 0.05, alternative="greater").pvalue > LEVEL, k
    assert verdicts.count(COMPATIBLE) > N_SIMS / 2


def test_a_large_planted_difference_is_called_different():
    k = _verdicts(difference=3.0).count(DIFFERENT)
    assert stats.binomtest(k, N_SIMS, 0.8, alternative="less").pvalue > LEVEL, k


def test_six_emotions_are_always_inconclusive():
    assert set(_verdicts(n_emotions=6, n_prompts=3, difference=3.0)) == {INCONCLUSIVE}
