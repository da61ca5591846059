"""The atlas study's building blocks (analyses/atlas): resamples as cell weights, the numba path,
the cross-half estimator and the proposed interval helpers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from analyses.atlas import _fast
from analyses.atlas.designs import design
from analyses.atlas.estimators import estimators, split_cells
from analyses.atlas.model import Population, cosine_cells, spearman
from analyses.atlas.proposal import CrossHalf, dvar_interval, half_counts, inner_counts
from analyses.atlas.resample import CellSet, cell_weights, emotion_counts
from rsastats.inference.engine import ResamplingEngine
from rsastats.inputs import ModelInput
from rsastats.rdm import RDM, rdm_matrix
from rsastats.vectors import PromptRows


def _dataset(n=9, p=6, seed=0):
    d = design(n, p, 0.8, "mid")
    from dataclasses import replace
    pop = Population.of(replace(d, sigma=1.5))
    return pop.draw(np.random.default_rng(seed))


def _models(ds):
    n, p = ds.prompts.shape[1:3]
    labels = tuple(f"e{i}" for i in range(n))
    out = []
    for k, name in enumerate("AB"):
        v = ds.prompts[k]
        rows = PromptRows(values=v, valid=np.ones((n, p), bool), emotions=labels, prompts=tuple(range(p)), post="none",
                          layers=(0,), normalization="raw", n_pcs=None)
        out.append(ModelInput(name, "activations", RDM(rdm_matrix(v.mean(1)), labels, "cosine", name), rows, "sim"))
    return out


def test_cellset_equals_engine_emotion_bootstrap():
    ds = _dataset()
    engine = ResamplingEngine(_models(ds), rank="spearman", scheme="emotions", rdm_method="cosine", workers=1)
    counts = emotion_counts(np.random.default_rng(1), 50, 9)
    expected = engine.evaluate(np.array([[0, 1]]), counts)[:, 0]
    got = CellSet(ds.cells).correlate(np.array([[0, 1]]), cell_weights(counts))[:, 0]
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_weighted_correlation_equals_materialised_resample():
    ds = _dataset()
    rng = np.random.default_rng(2)
    idx = rng.integers(0, 9, 9)
    counts = np.bincount(idx, minlength=9).astype(float)[None]
    got = CellSet(ds.cells).correlate(np.array([[0, 1]]), cell_weights(counts))[0, 0]
    means = ds.means[:, idx]
    iu, ju = np.triu_indices(9, 1)
    keep = idx[iu] != idx[ju]  # self-pairs of duplicates are dropped
    a, b = cosine_cells(means)
    assert got == pytest.approx(spearmanr(a[keep], b[keep]).statistic, abs=1e-12)


@pytest.mark.skipif(not _fast.AVAILABLE, reason="numba not installed")
def test_numba_path_equals_numpy_path(monkeypatch):
    ds = _dataset(n=12)
    sc = split_cells(ds, 3, 4, debias=False)
    w = cell_weights(emotion_counts(np.random.default_rng(3), 40, 12))
    fast = sc.cellset.correlate(sc.pairs, w)
    monkeypatch.setattr(_fast, "AVAILABLE", False)
    slow = sc.cellset.correlate(sc.pairs, w)
    np.testing.assert_allclose(fast, slow, atol=1e-12)


def test_cross_half_is_exact_when_halves_are_noise_free():
    # Without prompt noise every half RDM equals the true RDM: split-half correlations are 1 and
    # the cross-half estimator is the noise-free rho itself.
    ds = _dataset()
    ds.prompts[:] = ds.mu[:, :, None, :]
    ds.__dict__.pop("means", None)
    ds.__dict__.pop("cells", None)
    e = estimators(split_cells(ds, 2, 5, debias=False).correlations())
    assert e["xh"][0] == pytest.approx(spearman(*cosine_cells(ds.mu)), abs=1e-12)


def test_proposal_cross_half_matches_study_estimator():
    ds = _dataset(n=10, p=6)
    models = _models(ds)
    engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine", workers=1)
    first, second = half_counts(engine.groups[0].valid, 3, 7)
    assert np.all(first + second == 1) and np.all(first.sum(-1) == 3)
    halves = np.stack([engine.rdm_uppers([first]), engine.rdm_uppers([second])], axis=2)
    ch = CrossHalf(np.stack([m.rdm.upper() for m in models]), halves, np.array([[0, 1]]))
    counts = emotion_counts(np.random.default_rng(8), 5, 10)
    rho, xh, aa = ch.corrected(cell_weights(counts))
    # the same quantities from first principles with the same halves
    h = halves
    cs = CellSet(np.concatenate([ch.full, h.reshape(-1, h.shape[-1])]))
    w = cell_weights(counts)
    raa = np.mean([cs.correlate(np.array([[2 + 2 * s, 3 + 2 * s]]), w)[:, 0] for s in range(3)], axis=0)
    rbb = np.mean([cs.correlate(np.array([[8 + 2 * s, 9 + 2 * s]]), w)[:, 0] for s in range(3)], axis=0)
    rab = np.mean([0.5 * (cs.correlate(np.array([[2 + 2 * s, 9 + 2 * s]]), w)[:, 0]
                          + cs.correlate(np.array([[3 + 2 * s, 8 + 2 * s]]), w)[:, 0]) for s in range(3)], axis=0)
    np.testing.assert_allclose(aa[:, 0], raa, atol=1e-12)
    np.testing.assert_allclose(xh[:, 0], rab / np.sqrt(raa * rbb), atol=1e-12)


def test_dvar_interval_reduces_to_normal_when_inner_equals_outer():
    rng = np.random.default_rng(0)
    reps = np.tanh(0.8 + 0.1 * rng.standard_normal(4000))
    z = np.arctanh(reps)
    lo, hi, se = dvar_interval(float(np.tanh(0.8)), reps, np.full(10, np.var(z, ddof=1)))
    assert se == pytest.approx(np.std(z, ddof=1))
    assert np.arctanh(hi) - 0.8 == pytest.approx(1.959963984540054 * se)
    # inner variance twice the outer: the corrected variance halves
    _, _, se2 = dvar_interval(float(np.tanh(0.8)), reps, np.full(10, 2 * np.var(z, ddof=1)))
    assert se2 == pytest.approx(se / np.sqrt(2))


def test_inner_counts_resample_the_outer_draws():
    outer = emotion_counts(np.random.default_rng(1), 4, 7)
    inner = inner_counts(3, outer, 6)
    assert inner.shape == (4, 6, 7)
    assert np.all(inner.sum(-1) == 7)
    assert np.all(inner[outer[:, None, :].repeat(6, 1) == 0] == 0)  # only emotions the outer resample drew


def test_jackknife_z_interval_matches_formula():
    from analyses.atlas.proposal import jackknife_z_interval

    loo = np.array([0.80, 0.82, 0.78, 0.85, 0.81, 0.79, 0.83])
    lo, hi, se = jackknife_z_interval(0.81, loo)
    z = np.arctanh(loo)
    assert se == pytest.approx(np.sqrt(6 / 7 * np.sum((z - z.mean()) ** 2)))
    assert lo < 0.81 < hi and np.arctanh(hi) - np.arctanh(0.81) == pytest.approx(1.959963984540054 * se)


def test_corrected_interval_is_clipped_and_contains_its_point():
    from analyses.atlas.proposal import corrected_interval

    rng = np.random.default_rng(4)
    reps = 1.01 + 0.03 * rng.standard_normal(2000)
    jack = 1.01 + 0.01 * rng.standard_normal(21)
    est, lo, hi = corrected_interval(1.02, reps, jack)
    assert est == 1.0 and hi == 1.0 and lo <= est and -1.0 <= lo


def test_corrected_rule_notes():
    from analyses.atlas.proposal import corrected_rule

    assert corrected_rule(8, (0.6, 0.5)) is None
    assert "prompts" in corrected_rule(2, (0.6, 0.5))
    assert "split-half" in corrected_rule(8, (0.6, 0.1))


def test_rho_rerun_is_in_data_set_order_whatever_the_workers_and_unrelated_designs_share_nothing():
    from dataclasses import replace

    from analyses.atlas.shipped import RHO_METHODS, chunk_order, run_rho

    d = replace(design(8, 4, 0.8, "mid"), sigma=1.0)
    one = run_rho(d, 5, seed=3, jobs=1)
    two = run_rho(d, 5, seed=3, jobs=2)
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(one, two)
    assert list(one.columns) == ["rho", "ci_low", "ci_high", f"ci_low_{RHO_METHODS[1]}", f"ci_high_{RHO_METHODS[1]}"]
    assert (one["ci_low"] <= one["rho"]).all() and (one["rho"] <= one["ci_high"]).all()
    assert chunk_order(5, 2).tolist() == [0, 2, 4, 1, 3]
    # an unrelated design: model B's noise-free vectors come from an independent draw of emotions
    u = replace(design(21, 4, 0.8, "high", unrelated=True), sigma=1.0)
    assert u.name == "n21-P4-r0.8-unrelated-lowrank"
    mu = Population.of(u).emotions(21, np.random.default_rng(0))[0]
    free = spearman(cosine_cells(mu[0]), cosine_cells(mu[1]))
    related = Population.of(replace(u, unrelated=False)).emotions(21, np.random.default_rng(0))[0]
    assert abs(free) < 0.3 < spearman(cosine_cells(related[0]), cosine_cells(related[1]))
