"""Noise-equalized half RDMs (rsastats/inference/equalize.py): the prompt noise estimate against a direct
computation, both engine routes alike for every normalization, and what the equalization is for -- the
cross-half ratio's bias where the same emotions are noisier in both models."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analyses.calibration.independent import DESIGNS, Model, _inputs, cosine_rho
from rsastats.inference.corrected import CrossHalf
from rsastats.inference.engine import ResamplingEngine
from rsastats.inference.equalize import HALF_NOISE_MIN, equalized, half_noise, prompt_noise, prompt_squares
from rsastats.inputs import ModelInput
from rsastats.rdm import RDM, rdm_matrix
from rsastats.vectors import PromptRows, apply_post


def _models(prompts, valid, post="none"):
    n, p = valid.shape
    labels = tuple(f"e{i}" for i in range(n))
    out = []
    for m, x in enumerate(prompts):
        x = np.where(valid[..., None], x, 0.0)
        rows = PromptRows(values=x, valid=valid, emotions=labels, prompts=tuple(range(p)), post=post, layers=(0,),
                          normalization="raw", n_pcs=None)
        means = (x * valid[..., None]).sum(1) / valid.sum(1)[:, None]
        out.append(ModelInput(f"m{m}", "activations", RDM(rdm_matrix(apply_post(means, post)), labels, "cosine", f"m{m}"),
                              rows, "sim"))
    return out


def _data(seed=0, n=9, p=7, hidden=12):
    rng = np.random.default_rng(seed)
    level = np.exp(0.7 * rng.standard_normal(n))[:, None, None]
    mu = rng.standard_normal((n, hidden)) + 1.0
    prompts = np.stack([mu[:, None, :] + level * rng.standard_normal((n, p, hidden)) for _ in range(2)])
    valid = rng.random((n, p)) > 0.25
    valid[:, :3] = True
    return prompts, valid


def test_prompt_noise_is_the_trace_of_the_within_emotion_covariance():
    prompts, valid = _data()
    models = _models(prompts, valid)
    expected = np.array([[np.trace(np.cov(x[e][valid[e]], rowvar=False)) for e in range(len(valid))] for x in prompts])
    for gram in (True, False):
        engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine", gram=gram)
        group = engine.groups[0]
        got = prompt_noise(group.valid, group.gram_blocks, group.rows, "cosine")
        np.testing.assert_allclose(got, expected, rtol=1e-10)
    centred = prompts - prompts.mean(-1, keepdims=True)
    expected = np.array([[np.trace(np.cov(x[e][valid[e]], rowvar=False)) for e in range(len(valid))] for x in centred])
    engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="correlation", gram=True)
    group = engine.groups[0]
    np.testing.assert_allclose(prompt_noise(group.valid, group.gram_blocks, None, "correlation"), expected, rtol=1e-10)


@pytest.mark.parametrize("post,method", [("none", "cosine"), ("none", "correlation"), ("none", "euclidean"),
                                         ("emotion-mean", "cosine"), ("unit", "euclidean")])
def test_both_engine_routes_equalize_alike(post, method):
    prompts, valid = _data(1)
    models = _models(prompts, valid, post)
    rng = np.random.default_rng(2)
    counts = np.stack([np.where(valid, rng.integers(0, 3, valid.shape), 0) for _ in range(5)]).astype(float)
    counts[..., :2] += 1  # every emotion keeps at least two prompts
    uppers = [ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method=method, gram=g)
              .rdm_uppers([counts], equalize=True) for g in (True, False)]
    np.testing.assert_allclose(uppers[0], uppers[1], rtol=1e-9, atol=1e-12)
    plain = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method=method).rdm_uppers([counts])
    assert np.abs(plain - uppers[0]).max() > 1e-3  # the noise levels differ across emotions: equalizing moves cells


def test_equal_noise_levels_leave_the_rdm_unchanged_and_zscore_is_not_equalized():
    gram = np.random.default_rng(3).standard_normal((2, 1, 4, 4))
    gram = gram @ np.swapaxes(gram, -1, -2)
    counts = np.ones((2, 4, 6))
    same = equalized(gram.copy(), np.full((1, 4), 2.0), counts, counts.sum(-1))
    np.testing.assert_array_equal(same, gram)
    prompts, valid = _data(4)
    models = _models(prompts, valid, "zscore")
    engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine")
    counts = valid[None].astype(float)
    np.testing.assert_array_equal(engine.rdm_uppers([counts], equalize=True), engine.rdm_uppers([counts]))


@pytest.mark.parametrize("gram", [True, False])
def test_a_resamples_noise_is_its_own_prompts_estimate_where_they_are_enough(gram):
    """half_noise against the sample variance of the rows a resample holds (a copy of a prompt counted as a row):
    its own where it holds >= HALF_NOISE_MIN distinct prompts of the emotion, all the prompts' below."""
    prompts, valid = _data(5, n=6, p=8)
    valid[:] = True
    engine = ResamplingEngine(_models(prompts, valid), rank="spearman", scheme="prompts", rdm_method="correlation",
                              gram=gram)
    group = engine.groups[0]
    whole = prompt_noise(group.valid, group.gram_blocks, group.rows, "correlation")
    rng = np.random.default_rng(6)
    counts = rng.integers(0, 3, (4, 6, 8)).astype(float)
    counts[:, :, :2] = 1.0
    counts[0, 0, 2:] = 0.0  # 2 distinct prompts: below the minimum
    counts[1, 1, 2:] = [3, 0, 0, 0, 0, 0]  # 3 distinct prompts, one of them 3 times
    centred = prompts - prompts.mean(axis=-1, keepdims=True)
    means = np.einsum("bep,meph->bmeh", counts, centred) / counts.sum(-1)[:, None, :, None]
    gram_means = np.einsum("bmeh,bmfh->bmef", means, means)
    got = half_noise(gram_means, counts, counts.sum(-1), prompt_squares(group.gram_blocks, group.rows, "correlation"),
                     whole)
    for b in range(4):
        for e in range(6):
            rows = np.repeat(np.arange(8), counts[b, e].astype(int))
            want = [centred[m, e, rows].var(axis=0, ddof=1).sum() for m in range(2)]
            if (counts[b, e] > 0).sum() < HALF_NOISE_MIN:
                want = whole[:, e]
            np.testing.assert_allclose(got[b, :, e], want, rtol=1e-10)
    assert (counts[0, 0] > 0).sum() < HALF_NOISE_MIN <= (counts[1, 1] > 0).sum()


LEVELS = np.array([0.3, 0.5, 1.0, 1.5, 2.0, 3.0])  # the noise SD of each of 6 emotions


def squared_norms(step, scale=1.0, p=4, hidden=30, reps=400):
    """Monte Carlo of ``step(gram, noise, counts, totals)`` applied to the Gram matrix of the prompt means of 6
    emotions (noise SDs :data:`LEVELS`, ``p`` prompts, signal ``scale * N(0, I)``): the noise-free squared norms,
    the diagonals' mean over ``reps`` data sets and its standard error."""
    rng = np.random.default_rng(5)
    n = len(LEVELS)
    mu = scale * rng.standard_normal((n, hidden))
    diag = []
    for _ in range(reps):
        x = mu[:, None, :] + LEVELS[:, None, None] * rng.standard_normal((n, p, hidden))
        engine = ResamplingEngine(_models(np.stack([x, x]), np.ones((n, p), bool)), rank="spearman", scheme="prompts",
                                  rdm_method="cosine", gram=True)
        group = engine.groups[0]
        noise = prompt_noise(group.valid, group.gram_blocks, None, "cosine")[:1]
        means = x.mean(1)
        g = step((means @ means.T)[None, None].copy(), noise, np.ones((1, n, p)), np.full((1, n), float(p)))
        diag.append(np.diagonal(g[0, 0]))
    return (mu ** 2).sum(1), np.mean(diag, axis=0), np.std(diag, axis=0) / np.sqrt(reps)


def test_equalized_squared_norms_carry_the_mean_inflation():
    """E[equalized |m_e|^2] = |mu_e|^2 + mean_e s_e / k: what is left is the same for every emotion."""
    truth, mean, se = squared_norms(equalized)
    expected = (LEVELS ** 2).mean() * 30 / 4
    assert np.all(np.abs(mean - truth - expected) < 4 * se), (mean - truth, expected, se)


def test_the_ratio_is_no_longer_biased_by_noise_levels_both_models_share():
    """The second generative model's design with emotion-specific noise levels shared by both models
    and little shared geometry: the plain half RDMs bias the cross-half ratio upward (+0.12 in 60 data
    sets), the equalized ones hardly (+0.03)."""
    design = replace(next(d for d in DESIGNS if d.name == "n40-P8-shared0.3-hetero"), n_emotions=30)
    model = Model(design)
    errors = {False: [], True: []}
    for k in range(24):
        mu, prompts, valid = model.draw(np.random.default_rng([k, 9]))
        truth = cosine_rho(mu[0], mu[1])
        for equalize in (False, True):
            halves = CrossHalf(_inputs(prompts, valid), "spearman", "cosine", 4, np.random.SeedSequence(k), equalize=equalize)
            point, _ = halves.corrected(None, np.array([[0, 1]]))
            errors[equalize].append(point[0, 0] - truth)
    plain, fixed = np.array(errors[False]), np.array(errors[True])
    assert np.nanmean(plain) > 0.07
    assert abs(np.nanmean(fixed)) < 0.05
    assert np.nanmean(plain - fixed) > 3 * np.nanstd(plain - fixed) / np.sqrt(np.isfinite(plain - fixed).sum())
