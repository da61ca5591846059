"""analyses.calibration.world_signals: the shrunk worlds' signals and engines."""

import numpy as np
import pandas as pd
import pytest

from analyses.atlas.model import cosine_cells, spearman
from analyses.calibration import world_signals as sw
from analyses.calibration.independent import _inputs
from rsastats.inference.corrected import CrossHalf
from rsastats.inference.worlds import mapped_engine, world_maps


def _prompts(rng, n=12, p=6, h=40, noise=1.0, spread=1.0):
    mu = spread * rng.standard_normal((n, h)) / np.sqrt(h) + 2.0 * np.ones(h) / np.sqrt(h)
    x = mu[:, None] + noise * rng.standard_normal((n, p, h)) / np.sqrt(h)
    return mu, x


def test_plain_world_is_the_shipped_world():
    rng = np.random.default_rng(0)
    _, a = _prompts(rng)
    _, b = _prompts(rng)
    models = _inputs(np.stack([a, b]), np.ones(a.shape[:2], dtype=bool))
    halves = CrossHalf(models, "spearman", "cosine", 4, np.random.SeedSequence(1))
    ours, truth = sw.shrunk_engine(halves.engine, np.random.default_rng(7), "plain")
    shipped = mapped_engine(halves.engine, world_maps(halves.engine, np.random.default_rng(7)))
    got = halves.renormed(True, ours).corrected(None, sw.PAIR)[0]
    want = halves.renormed(True, shipped).corrected(None, sw.PAIR)[0]
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert truth == pytest.approx(halves.components(None, sw.PAIR)[0][0, 0], abs=1e-12)


def test_pooled_spread_is_the_noise_free_spread_on_average():
    rng = np.random.default_rng(1)
    spreads, true = [], []
    for _ in range(200):
        mu, x = _prompts(rng, noise=1.5)
        signal, _ = sw.shrunk_signal(x, np.ones(x.shape[:2], dtype=bool), "pooled")
        spreads.append(((signal - signal.mean(axis=0)) ** 2).sum())
        true.append(((mu - mu.mean(axis=0)) ** 2).sum())
    observed = []
    for _ in range(200):
        mu, x = _prompts(rng, noise=1.5)
        m = x.mean(axis=1)
        observed.append(((m - m.mean(axis=0)) ** 2).sum())
    assert np.mean(spreads) == pytest.approx(np.mean(true), rel=0.05)
    assert np.mean(observed) > 1.2 * np.mean(true)  # the plain world's signal is more spread out


def test_norm_mode_keeps_the_observed_geometry_and_floors():
    rng = np.random.default_rng(2)
    _, x = _prompts(rng)
    valid = np.ones(x.shape[:2], dtype=bool)
    signal, means = sw.shrunk_signal(x, valid, "norm")
    np.testing.assert_allclose(cosine_cells(signal), cosine_cells(means), atol=1e-12)
    pure_noise = rng.standard_normal((8, 5, 30))  # no signal at all: lam^2 would be below 0, floored
    signal, means = sw.shrunk_signal(pure_noise, np.ones((8, 5), dtype=bool), "each")
    centre = means.mean(axis=0)
    ratio = np.linalg.norm(signal - centre, axis=1) / np.linalg.norm(means - centre, axis=1)
    assert ratio.min() == pytest.approx(np.sqrt(sw.FLOOR))
    assert spearman(cosine_cells(signal), cosine_cells(signal)) == pytest.approx(1.0)


def test_shared_variance_recovers_the_templates():
    rng = np.random.default_rng(3)
    n, p, h, tmpl = 20, 8, 50, 1.5
    estimates = []
    for _ in range(100):
        _, x = _prompts(rng, n=n, p=p, h=h)
        x = x + tmpl * rng.standard_normal((p, h))[None] / np.sqrt(h)  # prompt p of every emotion: template p
        valid = np.ones((n, p), dtype=bool)
        k = np.full(n, float(p))
        resid = x - x.mean(axis=1, keepdims=True)
        estimates.append(sw._shared(resid, valid, k))
    assert np.mean(estimates) == pytest.approx(tmpl ** 2 / p, rel=0.05)  # in one emotion's mean of p prompts
    own = sw.shrunk_signal(x, valid, "own")[0]
    each = sw.shrunk_signal(x, valid, "each")[0]
    assert np.linalg.norm(own - own.mean(axis=0)) > np.linalg.norm(each - each.mean(axis=0))  # less shrunk


def test_equalized_world_truth_is_the_engines_equalized_rho():
    rng = np.random.default_rng(4)
    level = np.exp(0.6 * rng.standard_normal(12))[:, None, None]  # emotions differ in noise, alike in both models
    mu_a, a = _prompts(rng)
    mu_b, b = _prompts(rng)
    a = mu_a[:, None] + level * (a - mu_a[:, None])
    b = mu_b[:, None] + level * (b - mu_b[:, None])
    models = _inputs(np.stack([a, b]), np.ones(a.shape[:2], dtype=bool))
    halves = CrossHalf(models, "spearman", "cosine", 4, np.random.SeedSequence(1))
    engine = halves.engine
    _, truth = sw.gram_engine(engine, np.random.default_rng(5), "eq")
    uppers = engine.rdm_uppers(engine.full_prompt_counts(), True)[:, 0, :]
    assert truth == pytest.approx(spearman(uppers[0], uppers[1]), abs=1e-10)
    _, plain = sw.gram_engine(engine, np.random.default_rng(5), "nfn")
    assert plain != pytest.approx(truth, abs=1e-6)  # the noise-free norms give another truth


def test_the_study_writes_one_row_per_design(tmp_path):
    out = tmp_path / "w.csv"
    table = sw.main(["--sets", "3", "--worlds", "4", "--designs", "n21-P4-hetero", "--modes", "plain", "eq",
                     "--jobs", "1", "--out", str(out)])
    sets = pd.read_csv(out.with_suffix(".sets.csv"))
    assert list(table["design"]) == ["n21-P4-hetero"] and len(sets) == 3
    error = sets["ratio"] - sets["truth"]
    assert table["eq_rmse"][0] == pytest.approx(np.sqrt(((sets["eq"] - error) ** 2).mean()), abs=1e-3)
    assert table["ratio_rmse"][0] == pytest.approx(np.sqrt((error ** 2).mean()), abs=1e-3)
    assert sw.short_name("real:/x/a.nc:20:/y/b.nc:4:8") == "a-L20 b-L4 P8"


@pytest.mark.parametrize("design", ["n21-P4-hetero", "n8-P20-r0.95-near1-hub", "D4"])
def test_coverage_rows_compare_the_signals_on_the_same_data_sets(design):
    from analyses.calibration.world_coverage import coverage_rows

    table = coverage_rows((design,), n_sets=3, jobs=1, n_boot=50, n_mc=50)
    assert list(table["signal"]) == ["observed", "equalized"]
    assert table["error"][0] == pytest.approx(table["error"][1], nan_ok=True)  # the same estimates: only widening differs
    assert table["given"][0] == table["given"][1]
    assert ((table["coverage"] >= 0) & (table["coverage"] <= 1)).all()
