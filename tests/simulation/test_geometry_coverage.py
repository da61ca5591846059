"""Coverage of the geometry and maturity-rule intervals on planted data (slow)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import binomtest, spearmanr

from rsastats.io import make_activations
from rsastats.geometry import DEFAULT_CI_METHOD
from rsastats.maturity import classify_maturity

from .geometry_coverage import DESIGNS, PlantedModel, coverage

pytestmark = pytest.mark.slow

# Descriptors whose default interval is claimed to cover near nominal (docs/geometry.md).
CLAIMED = ("baseline_anisotropy", "baseline_top_dim_contribution", "baseline_participation_ratio",
           "baseline_norm_mean", "prompt_anisotropy", "prompt_norm_mean", "prompt_norm_sd", "emotion_mean_cosine",
           "emotion_rdm_spread", "emotion_participation_ratio")


@pytest.mark.parametrize("design", list(DESIGNS))
def test_default_interval_covers_planted_values(design):
    model = PlantedModel(*DESIGNS[design])
    n_sim = 300
    hits = coverage(model, n_sim=n_sim, n_boot=400, methods=(DEFAULT_CI_METHOD,))[DEFAULT_CI_METHOD]
    for name in CLAIMED:
        rate = hits[name] / n_sim
        assert 0.88 <= rate <= 0.99, (name, rate)
    # the planted anisotropy itself: consistent with 95% (binomial test)
    assert binomtest(hits["baseline_anisotropy"], n_sim, 0.95).pvalue > 0.001


def test_percentile_interval_fails_where_docs_say_it_does():
    """Prompt noise attenuates emotion-vector cosines and resamples attenuate them again."""
    model = PlantedModel(*DESIGNS["moderate anisotropy, n > hidden"])
    hits = coverage(model, n_sim=100, n_boot=300, methods=("percentile",))["percentile"]
    assert hits["emotion_mean_cosine"] / 100 < 0.5
    assert hits["baseline_participation_ratio_plugin"] / 100 < 0.2


def test_reliability_interval_covers_the_reliability_of_a_full_prompt_set():
    rng = np.random.default_rng(0)
    n_emotions, n_prompts, hidden, noise = 12, 16, 24, 3.0
    vectors = rng.standard_normal((n_emotions, hidden)) + 0.5

    def prompts(r):
        return vectors[:, None, :] + noise * r.standard_normal((n_emotions, n_prompts, hidden))

    # truth: correlation between the RDMs of two independent full prompt sets
    truth_rng = np.random.default_rng(1)
    truth = np.mean([spearmanr(pdist(prompts(truth_rng).mean(axis=1), "cosine"),
                               pdist(prompts(truth_rng).mean(axis=1), "cosine")).statistic for _ in range(2000)])
    n_sim, hits, estimates = 200, 0, []
    for s in range(n_sim):
        r = np.random.default_rng(100 + s)
        ds = make_activations(prompts(r)[:, :, None, :], [f"e{i}" for i in range(n_emotions)],
                              baseline=r.standard_normal((20, 1, hidden)), attrs={"variant": "base", "model": "p"})
        rel = classify_maturity(ds, n_boot=20, seed=s)["rdm_reliability"]
        estimates.append(rel.estimate)
        hits += rel.ci_low <= truth <= rel.ci_high
    assert abs(np.mean(estimates) - truth) < 0.05, (np.mean(estimates), truth)
    assert 0.88 <= hits / n_sim <= 0.995, hits / n_sim


def test_paired_change_interval_covers_the_planted_change():
    """Instruct = base texts with an extra shared offset: anisotropy rises by a known amount."""
    from rsastats.geometry import compare_geometry

    model = PlantedModel(*DESIGNS["moderate anisotropy, n > hidden"])
    shift = np.zeros(model.hidden)
    shift[1] = 0.6 * np.sqrt(model.hidden)

    def anisotropy(x):
        unit = x / np.linalg.norm(x, axis=1, keepdims=True)
        half = len(unit) // 2
        return float(np.mean(np.sum(unit[:half] * unit[half:], axis=1)))

    big = model.baseline(np.random.default_rng(7), 400_000)
    truth = {"baseline_anisotropy": anisotropy(big + shift) - anisotropy(big)}
    many = model.prompts(np.random.default_rng(8), 2000).reshape(-1, model.hidden)
    # prompts: the pair composition of the design is nearly that of random pairs (12 emotions)
    truth_prompt = anisotropy(np.random.default_rng(9).permutation(many + shift)) - anisotropy(
        np.random.default_rng(9).permutation(many))
    n_sim, hits, hits_prompt = 200, 0, 0
    for s in range(n_sim):
        base = model.dataset(5000 + s)
        base.attrs.update(variant="base", stimulus_set="planted")
        instruct = base.copy(deep=True)
        instruct.attrs["variant"] = "instruct"
        instruct["baseline"] = base["baseline"] + shift.astype(np.float32)
        instruct["activations"] = base["activations"] + shift.astype(np.float32)
        comp = compare_geometry(base, instruct, n_boot=300, seed=s)
        assert comp.paired_prompts and comp.paired_baseline
        change = comp["baseline_anisotropy"]
        hits += change.ci_low <= truth["baseline_anisotropy"] <= change.ci_high
        p = comp["prompt_anisotropy"]
        hits_prompt += p.ci_low <= truth_prompt <= p.ci_high
    assert 0.88 <= hits / n_sim <= 0.99, hits / n_sim
    assert 0.85 <= hits_prompt / n_sim <= 0.99, hits_prompt / n_sim
