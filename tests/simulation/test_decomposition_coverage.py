"""Calibration of the decomposition (slow): CI coverage of planted shares and LRT size.

A smaller version of ``analyses/decomposition_coverage.py`` (which writes the full tables into
docs/decomposition.md).  Cells that share an emotion are correlated (emotion_dependence 0.4), the
case that makes naive intervals and tests too liberal.  Each check is a one-sided binomial test at
level 0.001 of the observed hit (or rejection) rate against its nominal value.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from rsastats.simulate import simulate_condition_rdms, simulate_condition_vectors
from rsastats.variance import decompose, decompose_rdms

N_SIMS = 80
N_BOOT = 150
N_EMOTIONS = 21
COMPONENTS = ["model", "method", "precision", "experiment", "temperature", "model:method", "model:experiment"]
PLANTED = {"shared": 1.0, "model": 0.3, "method": 0.25, "precision": 0.15, "temperature": 0.1, "model:experiment": 0.15}
RESIDUAL = 0.3
LEVEL = 0.001


def conditions():
    out = []
    for model in ("m1", "m2", "m3", "m4"):
        out += [dict(model=model, method="comprehension", precision="fp32", experiment="A") for _ in range(2)]
        out.append(dict(model=model, method="comprehension", precision="int8-token", experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="fp32", experiment="B"))
        for temperature in (0.7, 1.0):
            out.append(dict(model=model, method="generation", precision="fp32", experiment="A", temperature=temperature,
                            top_p=0.9, max_new_tokens=64, template="plain", seed=1))
    return out


def not_below(successes: int, trials: int, nominal: float) -> bool:
    return stats.binomtest(successes, trials, nominal, alternative="less").pvalue > LEVEL


def not_above(successes: int, trials: int, nominal: float) -> bool:
    return stats.binomtest(successes, trials, nominal, alternative="greater").pvalue > LEVEL


@pytest.mark.slow
def test_bca_intervals_cover_planted_shares_and_adjusted_lrt_keeps_its_size():
    conds = conditions()
    total = sum(PLANTED.values()) + RESIDUAL
    truth = {name: PLANTED.get(name, 0.0) / total for name in ["shared", *COMPONENTS]} | {"residual": RESIDUAL / total}
    hits = {name: 0 for name in truth}
    rejections = {"naive": 0, "adjusted": 0}
    null_tests = 0
    for sim in range(N_SIMS):
        rdms = simulate_condition_rdms(conds, PLANTED, N_EMOTIONS, residual=RESIDUAL, emotion_dependence=0.4,
                                       seed=np.random.SeedSequence([7, sim]))
        result = decompose_rdms(rdms, [f"e{i}" for i in range(N_EMOTIONS)], conds, components=COMPONENTS,
                                response="zscore", n_boot=N_BOOT, ci_method="bca", seed=sim)
        for comp in result.components:
            low, high = comp.share_ci
            assert low <= comp.share <= high, (sim, comp.name)  # every estimate inside its own interval
            hits[comp.name] += low <= truth[comp.name] <= high
            if comp.name not in ("residual",) and truth[comp.name] == 0:
                null_tests += 1
                rejections["naive"] += comp.lrt_p < 0.05
                rejections["adjusted"] += comp.lrt_p_adjusted < 0.05
    positive = [name for name, value in truth.items() if value > 0]
    pooled = sum(hits[name] for name in positive)
    assert not_below(pooled, N_SIMS * len(positive), 0.95), hits
    for name in positive:
        assert not_below(hits[name], N_SIMS, 0.95), (name, hits[name])
    assert not_above(rejections["adjusted"], null_tests, 0.05), rejections


@pytest.mark.slow
def test_adjusted_lrt_size_on_cosine_rdms_of_anisotropic_vectors():
    conds = conditions()
    rejections = {"naive": 0, "adjusted": 0}
    trials = 0
    for sim in range(150):
        datasets = simulate_condition_vectors(conds, {"model": 0.6, "method": 0.4}, N_EMOTIONS, 64, noise=0.3,
                                              shared=3.0, seed=np.random.SeedSequence([8, sim]))
        result = decompose(datasets, components=["model", "method", "precision", "experiment"], n_boot=0)
        for name in ("precision", "experiment"):
            comp = result.component(name)
            trials += 1
            rejections["naive"] += comp.lrt_p < 0.05
            rejections["adjusted"] += comp.lrt_p_adjusted < 0.05
    assert not_above(rejections["adjusted"], trials, 0.05), rejections
