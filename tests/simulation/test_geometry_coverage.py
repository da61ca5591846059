"""Coverage of the geometry and maturity-rule intervals on planted data (slow).

A subset of ``analyses/geometry_coverage.py`` (which writes reports/geometry_coverage): its planted
designs, fewer data sets, and one-sided binomial tests at level 0.001 of each claimed hit rate
against 95%.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import binomtest, spearmanr

from analyses.geometry_centred_noise import DESIGNS as CENTRED_DESIGNS
from analyses.geometry_centred_noise import CommonDirectionModel, design_rows
from analyses.geometry_coverage import DESIGNS, PlantedModel, simulate
from rsastats.geometry import descriptor, intervals
from rsastats.geometry.intervals import MAX_CENTRED_NOISE_FRACTION
from rsastats.io import make_activations
from rsastats.maturity import classify_maturity

pytestmark = pytest.mark.slow

# Descriptors whose default interval is claimed to cover near nominal where it is given (docs/geometry.md:
# 0.895-0.985 over the 8 designs of reports/geometry_coverage); those marked ``undercovers`` say so in a note, and
# emotion_rdm_spread (0.905-0.96) is not claimed either.
CLAIMED = ("baseline_anisotropy", "baseline_top_dim_contribution", "baseline_participation_ratio",
           "baseline_norm_mean", "prompt_anisotropy", "prompt_norm_mean", "emotion_mean_cosine",
           "emotion_participation_ratio",
           # with its own interval (normal) since 2026-12-06: 0.895-1.00
           "baseline_pc1_share")
NOISE_FREE = ("emotion_mean_cosine", "emotion_rdm_spread", "emotion_participation_ratio", "emotion_pc1_share")
LEVEL = 0.001


@pytest.mark.parametrize("design", ["moderate anisotropy, n > hidden", "high anisotropy, n < hidden",
                                    "little prompt noise: 10 emotions x 10 prompts"])
def test_default_interval_covers_planted_values(design):
    model = PlantedModel(*DESIGNS[design])
    n_sims = 120
    counts = simulate(model, n_sims=n_sims, n_boot=300, seed=7)
    for name, c in counts.items():
        assert c["inside"] == c["with_ci"], name  # every estimate inside its own interval
    for name in CLAIMED:
        c = counts[name]
        if descriptor(name).centred and model.centred_noise_fraction > MAX_CENTRED_NOISE_FRACTION:
            # the first two designs: 6.0% and 6.4% of the centred vectors' spread; withheld in most data sets
            assert c["with_ci"] < n_sims / 2, name
            continue
        assert c["with_ci"] == n_sims, name
        assert binomtest(c["hits"], n_sims, 0.95, alternative="less").pvalue > LEVEL, (name, c["hits"])


def test_noisy_prompts_get_no_interval_for_noise_free_descriptors():
    """Where the bias correction cannot reach the noise-free value (prompt noise above 5% of the
    emotion vectors' squared norm), the output says so instead of printing an interval."""
    model = PlantedModel(*DESIGNS["thin: 8 emotions x 4 prompts, noisy"])
    counts = simulate(model, n_sims=30, n_boot=200, seed=8)
    for name in NOISE_FREE:
        assert counts[name]["with_ci"] == 0, name
    assert counts["baseline_anisotropy"]["with_ci"] == 30
    assert binomtest(counts["baseline_anisotropy"]["hits"], 30, 0.95, alternative="less").pvalue > LEVEL


def test_the_centred_rule_withholds_the_pc1_share_where_it_undercovers():
    """A design whose noise is 4% of the emotion vectors' squared norm but 16% of their spread about their mean (rank-3
    differences, a common direction twice their size): with every interval formed, the emotions' PC1 share covered
    48.7% in reports/geometry_coverage/centred_noise.md.  The shipped rule gives it no interval there, and its plain
    limit still gives the mean cosine one."""
    name = "rank 3, common 2, noise 1.3"
    model = CommonDirectionModel(*CENTRED_DESIGNS[name])
    assert model.plain_fraction < intervals.MAX_NOISE_FRACTION < model.centred_fraction
    limits = intervals.MAX_NOISE_FRACTION, intervals.MAX_CENTRED_NOISE_FRACTION
    try:
        rows = design_rows((name, 60, 200, 3))  # forms every interval (lifts both limits for the whole process)
    finally:
        intervals.MAX_NOISE_FRACTION, intervals.MAX_CENTRED_NOISE_FRACTION = limits
    pc1 = np.array([r["covered"] for r in rows if r["descriptor"] == "emotion_pc1_share"])
    assert binomtest(int(pc1.sum()), len(pc1), 0.95, alternative="less").pvalue < LEVEL  # undercovers when formed
    data = make_activations(model.prompts(np.random.default_rng(9))[:, :, None, :],
                            [f"e{i}" for i in range(model.n_emotions)], attrs={"model": "planted"})
    from rsastats.geometry import geometry

    layer = geometry(data, n_boot=100, seed=1).layers[0]
    assert layer["emotion_pc1_share"].status == layer["emotion_participation_ratio"].status == "no-ci"
    assert layer["emotion_mean_cosine"].status == "ok"


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
