"""Every geometry estimate printed beside an interval lies inside it (issue 14): on random inputs, with
every interval method, for one file and for a base x instruct change; and the two cases the issue
quotes (a PC1 share and a plug-in participation ratio outside their own intervals) are reproduced."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rsastats.exceptions import RsaStatsWarning
from rsastats.geometry import compare_geometry, geometry
from rsastats.intervals import BOOTSTRAP_CI_METHODS
from rsastats.io import make_activations
from rsastats.simulate import simulate_activations


def _random_file(seed: int, variant: str = "base", data_seed: int | None = None):
    """A random design (from ``seed``) with random data (from ``data_seed``, default ``seed``); noise from
    0.05 (noise-free descriptors get intervals) to 3 (they do not)."""
    rng = np.random.default_rng(seed)
    return simulate_activations(n_emotions=int(rng.integers(4, 9)), n_prompts=int(rng.integers(3, 9)), n_layers=2,
                                hidden=int(rng.integers(8, 40)), n_baseline=int(rng.integers(5, 30)),
                                noise=float(rng.choice([0.05, 0.1, 1.0, 3.0])), seed=seed if data_seed is None else data_seed,
                                attrs={"variant": variant, "family": "sim", "model": f"m{seed}", "stimulus_set": "s"})


def _check_inside(records, value: str):
    checked = 0
    for r in records:
        if r.status == "ok":
            assert r.ci_low <= getattr(r, value) <= r.ci_high, (r.descriptor, r.ci_low, getattr(r, value), r.ci_high)
            checked += 1
        else:
            assert np.isnan(r.ci_low) and np.isnan(r.ci_high) and r.note
    return checked


@pytest.mark.parametrize("ci_method", BOOTSTRAP_CI_METHODS)
@pytest.mark.parametrize("seed", range(4))
def test_every_descriptor_estimate_is_inside_its_interval(seed, ci_method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RsaStatsWarning)
        result = geometry(_random_file(seed), layers="all", n_boot=80, ci_method=ci_method, seed=seed)
    checked = sum(_check_inside(layer.estimates, "estimate") for layer in result.layers)
    assert checked >= 16  # two layers, at least 8 descriptors with an interval in each


@pytest.mark.parametrize("seed", range(3))
def test_every_change_is_inside_its_interval(seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RsaStatsWarning)
        comp = compare_geometry(_random_file(seed), _random_file(seed, "instruct", data_seed=seed + 100), n_boot=80,
                                seed=seed)
    assert _check_inside(comp.changes, "change") >= 8


def _high_anisotropy_file(seed: int = 0, hidden: int = 96, n_baseline: int = 40):
    """Fewer baseline texts than dimensions, a shared offset along one direction (anisotropy ~0.9) and a
    power-law spectrum: the design in which `rsastats geometry` used to print a PC1 share and a plug-in
    participation ratio outside their own intervals."""
    rng = np.random.default_rng(seed)
    lam = np.arange(1, hidden + 1) ** -0.5
    lam = lam / lam.sum() * hidden
    basis = np.linalg.qr(rng.standard_normal((hidden, hidden)))[0]
    offset = np.zeros(hidden)
    offset[0] = 3.0 * np.sqrt(hidden)
    baseline = offset + (rng.standard_normal((n_baseline, hidden)) * np.sqrt(lam)) @ basis.T
    vectors = rng.standard_normal((12, hidden)) + 1.0
    prompts = vectors[:, None, :] + rng.standard_normal((12, 16, hidden))
    return make_activations(prompts[:, :, None, :], [f"e{i}" for i in range(12)], baseline=baseline[:, None, :],
                            attrs={"model": "planted"})


def test_the_two_cases_of_the_issue():
    layer = geometry(_high_anisotropy_file(), n_boot=400, seed=0).layers[0]
    pc1 = layer["baseline_pc1_share"]
    # the plug-in PC1 share is biased up (n < hidden) and lies above the bias-correcting basic interval ...
    assert pc1.plugin > pc1.ci_high
    # ... the estimate printed is the interval's own point, inside it, and below the plug-in value
    assert pc1.ci_low <= pc1.estimate <= pc1.ci_high and pc1.estimate < pc1.plugin
    plugin_pr = layer["baseline_participation_ratio_plugin"]
    assert plugin_pr.status == "no-ci" and np.isnan(plugin_pr.ci_low)
    assert plugin_pr.estimate == plugin_pr.plugin < 40  # at most n - 1: far below the population value
    assert "no CI: the plug-in participation ratio" in plugin_pr.note
    unbiased = layer["baseline_participation_ratio"]
    assert unbiased.status == "ok" and unbiased.ci_low <= unbiased.estimate <= unbiased.ci_high


@pytest.mark.parametrize("noise, supported", [(0.1, True), (1.0, False)])
def test_noise_free_descriptors_get_an_interval_only_from_reliable_prompts(noise, supported):
    """Noise 0.1 per prompt (relative to the signal) in 8 prompts: ~0.1% of the emotion vectors' squared
    norm; noise 1.0: ~12%, above MAX_NOISE_FRACTION (5%), so the interval is withheld in words."""
    from rsastats.geometry.intervals import MAX_NOISE_FRACTION

    ds = simulate_activations(n_emotions=8, n_prompts=8, n_layers=1, hidden=32, noise=noise, seed=1)
    layer = geometry(ds, n_boot=60, seed=0).layers[0]
    for name in ("emotion_mean_cosine", "emotion_rdm_spread", "emotion_participation_ratio", "emotion_pc1_share"):
        est = layer[name]
        if supported:
            assert est.status == "ok" and est.ci_low <= est.estimate <= est.ci_high
        else:
            assert est.status == "no-ci" and est.estimate == est.plugin and np.isnan(est.ci_low)
            assert f"above {MAX_NOISE_FRACTION:.0%}" in est.note
    assert layer["prompt_anisotropy"].status == "ok"  # describes the prompts themselves: always an interval


def test_the_centred_descriptors_measure_the_noise_against_the_emotions_spread():
    """Emotion vectors with a large common direction: the prompt noise is a small share of their squared norm (the
    cosine descriptors keep their interval) but a large share of their squared distance from their mean, which the
    participation ratio and PC1 share read (MAX_CENTRED_NOISE_FRACTION): those two say so instead."""
    from rsastats.geometry import kernels
    from rsastats.geometry.intervals import MAX_CENTRED_NOISE_FRACTION, MAX_NOISE_FRACTION

    rng = np.random.default_rng(5)
    n_e, n_p, hidden = 10, 8, 48
    vectors = 4.0 * np.ones(hidden) + rng.standard_normal((n_e, hidden))
    acts = vectors[:, None, :] + 0.8 * rng.standard_normal((n_e, n_p, hidden))
    flat = acts.reshape(-1, hidden)
    groups = [np.arange(e * n_p, (e + 1) * n_p) for e in range(n_e)]
    plain = kernels.emotion_noise_fraction(flat @ flat.T, groups)
    centred = kernels.emotion_noise_fraction(flat @ flat.T, groups, centred=True)
    assert plain < MAX_NOISE_FRACTION and centred > MAX_CENTRED_NOISE_FRACTION
    ds = make_activations(acts[:, :, None, :], [f"e{i}" for i in range(n_e)], attrs={"model": "common"})
    layer = geometry(ds, n_boot=60, seed=0).layers[0]
    for name in ("emotion_mean_cosine", "emotion_rdm_spread"):
        assert layer[name].status == "ok", name
    for name in ("emotion_participation_ratio", "emotion_pc1_share"):
        est = layer[name]
        assert est.status == "no-ci" and est.estimate == est.plugin, name
        assert f"prompt noise is {centred:.0%} of the emotion vectors' squared distance from their mean" in est.note
