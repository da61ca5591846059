"""Sign-flip worlds (rsastats/inference/worlds.py) and the widening of rho_corrected's interval
(rsastats/inference/widening.py): the world engine equals an engine built from the mapped prompt rows, the maps are
the documented wild bootstrap, the bias is reproducible and per pair, and the interval grows by the larger move on
each side."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from analyses.calibration.independent import _inputs
from rsastats.inference import compare_all, compare_models
from rsastats.inference.corrected import CrossHalf
from rsastats.inference.engine import ResamplingEngine
from rsastats.inference.widening import WIDEN_BEYOND_SE, WORLD_BEYOND_SE, widen_toward_shift, widened
from rsastats.inference.worlds import (N_WORLDS, _observed, mapped_engine, summarized, world_bias, world_errors,
                                      world_maps)

PAIRS = np.array([[0, 1], [0, 2], [1, 2]])


def _matrices(maps) -> np.ndarray:
    """The maps (E, P, P) as matrices: ``T_e = diag(d_e) + b_e w_e^T``."""
    d, b, w = maps
    return np.stack([np.diag(d[e]) + np.outer(b[e], w[e]) for e in range(d.shape[0])])


def _prompts(seed: int, n_emotions: int = 10, n_prompts: int = 8, hidden: int = 12, invalid: bool = True):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n_emotions, hidden))
    x = np.stack([(signal @ rng.normal(size=(hidden, hidden)))[:, None] + 2.0
                  + rng.normal(size=(n_emotions, n_prompts, hidden)) for _ in range(3)])
    valid = np.ones((n_emotions, n_prompts), bool)
    if invalid:
        valid[2, [1, 5]] = False
        valid[7, 0] = False
    return x, valid


def _models(x, valid):
    """Three models of the same prompts (two from _inputs, a third of other values)."""
    first = _inputs(x[:2], valid)
    third = _inputs(x[1:], valid)[1]
    return first + [replace(third, name="model2")]


@pytest.mark.parametrize("gram", [True, False])
def test_the_world_engine_equals_an_engine_of_the_mapped_rows(gram):
    x, valid = _prompts(0)
    models = _models(x, valid)
    engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine", gram=gram)
    maps = world_maps(engine, np.random.default_rng(4))
    mapped = [replace(m, rows=replace(m.rows, values=np.matmul(_matrices(maps[0]), m.rows.values))) for m in models]
    direct = ResamplingEngine(mapped, rank="spearman", scheme="prompts", rdm_method="cosine", gram=gram)
    counts = np.random.default_rng(5).integers(0, 3, (6,) + valid.shape) * valid
    counts[:, :, 0] += valid[:, 0] == 0  # every emotion keeps a prompt
    counts[:, 7, 1] = np.maximum(counts[:, 7, 1], 1)
    for equalize in (False, True, "noise-free"):
        np.testing.assert_allclose(mapped_engine(engine, maps).rdm_uppers([counts], equalize),
                                   direct.rdm_uppers([counts], equalize), rtol=0, atol=1e-12)


def test_a_world_is_the_wild_bootstrap_of_each_emotions_valid_prompts():
    x, valid = _prompts(1)
    engine = ResamplingEngine(_models(x, valid), rank="spearman", scheme="prompts", rdm_method="cosine")
    t = _matrices(world_maps(engine, np.random.default_rng(2))[0])
    world = np.matmul(t, x[0])
    for e in range(valid.shape[0]):
        v = valid[e]
        k = v.sum()
        mean = x[0][e, v].mean(axis=0)
        signs = (world[e, v] - mean) / (np.sqrt(k / (k - 1)) * (x[0][e, v] - mean))
        assert np.allclose(np.abs(signs), 1.0)  # x* - m = s c (x - m), one sign per prompt
        assert np.allclose(signs, signs[:, :1])
        np.testing.assert_array_equal(world[e, ~v], x[0][e, ~v])  # invalid prompts left as they were
    # one sign per prompt label, shared by every emotion with that prompt valid
    per_label = np.sign(np.einsum("epp->ep", t) - (1 - np.einsum("epp->ep", t)) / valid.sum(1, keepdims=True))
    first = per_label[0]
    assert all(np.array_equal(per_label[e][valid[e]], first[valid[e]]) for e in range(valid.shape[0]))


def test_world_bias_is_reproducible_and_per_pair():
    x, valid = _prompts(2, invalid=False)
    halves = CrossHalf(_models(x, valid), "spearman", "cosine", 4, np.random.SeedSequence(1))
    seed = np.random.SeedSequence(9)
    bias, se = world_bias(halves, PAIRS, seed, n_worlds=12)
    again = world_bias(halves, PAIRS, np.random.SeedSequence(9), n_worlds=12)
    np.testing.assert_array_equal(bias, again[0])
    alone = world_bias(halves, PAIRS[1:2], np.random.SeedSequence(9), n_worlds=12)  # a pair does not see the others
    assert alone[0][0] == bias[1] and alone[1][0] == pytest.approx(se[1], rel=1e-12)
    assert np.all(np.isfinite(bias)) and np.all(se > 0)
    other = world_bias(halves, PAIRS, np.random.SeedSequence(10), n_worlds=12)[0]
    assert not np.array_equal(other, bias)


def test_world_bias_is_the_median_error_of_rebuilt_worlds():
    """Each world rebuilt from scratch: mapped prompt rows, a new CrossHalf with the same split seed, the ratio less
    the data's rho."""
    from rsastats.rng import spawn_sequences

    x, valid = _prompts(3)
    models = _models(x, valid)
    halves = CrossHalf(models, "spearman", "cosine", 4, np.random.SeedSequence(1))
    rho = halves.components(None, PAIRS)[0][0]
    errors = []
    for seq in spawn_sequences(np.random.SeedSequence(3), 9):
        maps = world_maps(halves.engine, np.random.default_rng(seq))
        mapped = [replace(m, rows=replace(m.rows, values=np.matmul(_matrices(maps[0]), m.rows.values))) for m in models]
        ratio = CrossHalf(mapped, "spearman", "cosine", 4, np.random.SeedSequence(1)).corrected(None, PAIRS)[0][0]
        errors.append(ratio - rho)
    bias, se = world_bias(halves, PAIRS, np.random.SeedSequence(3), n_worlds=9, n_inner=0, signal="observed")
    np.testing.assert_allclose(bias, np.median(errors, axis=0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(se, 1.2533 * np.std(errors, axis=0, ddof=1) / 3, rtol=1e-12)


def test_a_worlds_observed_rdms_are_those_of_its_prompt_means():
    x, valid = _prompts(5)
    halves = CrossHalf(_models(x, valid), "spearman", "cosine", 4, np.random.SeedSequence(1))
    np.testing.assert_allclose(_observed(halves.engine).fixed, halves.engine.fixed, rtol=0, atol=1e-12)


def test_inner_worlds_are_sign_flip_worlds_of_the_worlds_prompts():
    """Each world and each world within it rebuilt from scratch (mapped rows, models whose RDMs are those of the
    mapped means, the data's split seed): the outer errors are the ratio less the data's rho, the inner ones the inner
    ratio less the world's own rho; the iterated bias is twice the first median less the second."""
    from rsastats.rng import spawn_sequences

    x, valid = _prompts(6)
    halves = CrossHalf(_models(x, valid), "spearman", "cosine", 4, np.random.SeedSequence(1))
    rho = halves.components(None, PAIRS)[0][0]
    outer, inner = [], []
    for seq in spawn_sequences(np.random.SeedSequence(8), 5):
        rng = np.random.default_rng(seq)
        x1 = np.matmul(_matrices(world_maps(halves.engine, rng)[0]), x)
        world = CrossHalf(_models(x1, valid), "spearman", "cosine", 4, np.random.SeedSequence(1))
        outer.append(world.corrected(None, PAIRS)[0][0] - rho)
        world_rho = world.components(None, PAIRS)[0][0]
        for _ in range(2):
            x2 = np.matmul(_matrices(world_maps(halves.engine, rng)[0]), x1)
            inside = CrossHalf(_models(x2, valid), "spearman", "cosine", 4, np.random.SeedSequence(1))
            inner.append(inside.corrected(None, PAIRS)[0][0] - world_rho)
    got_outer, got_inner = world_errors(halves, PAIRS, np.random.SeedSequence(8), n_worlds=5, n_inner=2,
                                        signal="observed")
    np.testing.assert_allclose(got_outer, outer, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got_inner.reshape(10, -1), inner, rtol=0, atol=1e-12)
    bias, se = world_bias(halves, PAIRS, np.random.SeedSequence(8), n_worlds=5, n_inner=2, signal="observed")
    np.testing.assert_allclose(bias, 2 * np.median(outer, axis=0) - np.median(inner, axis=0), rtol=0, atol=1e-12)
    assert np.all(se > 0)


def test_the_plain_median_is_the_iterated_estimates_first_worlds():
    """The worlds of an iterated estimate, without the worlds inside them, are the plain estimate's worlds
    (analyses/calibration/world_check.py reports both from one set of worlds)."""
    x, valid = _prompts(7)
    halves = CrossHalf(_models(x, valid), "spearman", "cosine", 4, np.random.SeedSequence(1))
    outer, inner = world_errors(halves, PAIRS, np.random.SeedSequence(4), n_worlds=6, n_inner=1)
    plain = world_bias(halves, PAIRS, np.random.SeedSequence(4), n_worlds=6, n_inner=0)
    for got, expected in zip(summarized(outer, inner[:, :0], np.random.SeedSequence(4)), plain):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(summarized(outer, inner, np.random.SeedSequence(4))[0],
                                  world_bias(halves, PAIRS, np.random.SeedSequence(4), n_worlds=6, n_inner=1)[0])


def test_compare_and_matrix_widen_alike():
    """compare_models and compare_all give a pair the same worlds (the same seed stream, the same splits)."""
    x, valid = _prompts(4, n_emotions=12, n_prompts=10, invalid=False)
    x[1] = x[0] * 0.8 + 0.6 * x[1]
    models = _models(x, valid)
    pair = compare_models(models[0], models[1], n_boot=200, permutations=99, seed=5)
    table = compare_all(models[:2], n_boot=200, permutations=99, seed=5).pairs.iloc[0]
    assert pair.rho_corrected is not None
    for name in ("rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note"):
        assert getattr(pair, name) == table[name]


def test_widened_moves_each_side_by_the_larger_move_beyond_its_noise():
    shift, world = (0.1, 0.04), (-0.2, 0.02)  # both say the truth is higher: the upper end grows by the larger
    low, high, note = widened(0.2, 0.6, shift, world)
    assert (low, high) == pytest.approx((0.2, 0.6 + 0.2 - WORLD_BEYOND_SE * 0.02), abs=1e-15)
    assert note.startswith(f"widened by +{0.2 - WORLD_BEYOND_SE * 0.02:.3f} (upper end) toward the ratio with "
                           "noise-corrected norms")
    assert "sign-flip worlds of these prompts, which put the bias at -0.200 (10.0 standard errors)" in note
    low, high, note = widened(0.2, 0.6, (0.1, 0.04), (0.15, 0.01))  # opposite sides: both ends grow
    assert (low, high) == pytest.approx((0.2 - 0.15 + WORLD_BEYOND_SE * 0.01, 0.6 + 0.1 - WIDEN_BEYOND_SE * 0.04))
    assert note.startswith(f"widened by -{0.15 - WORLD_BEYOND_SE * 0.01:.3f} (lower end) and +0.080 (upper end)")
    assert widened(0.2, 0.6, (np.nan, np.nan), (0.01, 0.02)) == (0.2, 0.6, "")  # within its noise
    assert widened(0.2, 0.6, world=(0.3, 0.01), world_beyond=np.inf) == (0.2, 0.6, "")
    low, high, note = widened(-0.9, 0.1, world=(0.3, 0.0))
    assert (low, high) == (-1.0, 0.1) and "(lower end, clipped at the bound)" in note and "standard error is 0" in note
    # the check's move alone: the former function, unchanged
    assert widen_toward_shift(0.2, 0.6, 0.1, 0.04) == widened(0.2, 0.6, (0.1, 0.04))
    assert N_WORLDS >= 20


def _hetero(seed: int, n_emotions: int = 12, n_prompts: int = 6, hidden: int = 30, levels: float = 0.8):
    """Two models of the same prompts whose emotions differ in noise level alike in both (the noisy ones shrunk)."""
    rng = np.random.default_rng(seed)
    level = np.exp(levels * rng.standard_normal(n_emotions))[:, None, None]
    offset = 3.0 * rng.standard_normal(hidden) / np.sqrt(hidden)
    mu = rng.standard_normal((2, n_emotions, hidden)) / np.sqrt(hidden) + offset
    x = mu[:, :, None] + 2.0 * level * rng.standard_normal((2, n_emotions, n_prompts, hidden)) / np.sqrt(hidden)
    return _inputs(x, np.ones((n_emotions, n_prompts), bool))


@pytest.mark.parametrize("gram", [True, False])
def test_equalized_moves_and_signal_rho_from_the_rows(gram):
    """The moves are the jackknife-shrunk noise excesses computed from the rows, on either engine route; the signal's
    rho is that of cosine RDMs of the moved Gram matrices of the prompt means."""
    from analyses.atlas.model import spearman
    from rsastats.inference.worlds import equalizing_moves, signal_rho

    models = _hetero(3)
    engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine", gram=gram)
    moves = equalizing_moves(engine)[0]
    for k, m in enumerate(models):
        x = m.rows.values
        means = x.mean(axis=1)
        trace = lambda y: ((y - y.mean(axis=0)) ** 2).sum() / (len(y) - 1)  # noqa: E731
        est = np.array([trace(e) for e in x]) / x.shape[1]
        loo = np.array([[trace(np.delete(e, p, axis=0)) for p in range(len(e))] for e in x]) / x.shape[1]
        var = (x.shape[1] - 1) / x.shape[1] * ((loo - loo.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        move = est - est.mean()
        share = max(0.0, 1.0 - var.mean() / (move ** 2).mean())
        assert 0.0 < share < 1.0
        np.testing.assert_allclose(moves[k], np.minimum(share * move, 0.9 * (means ** 2).sum(axis=1)), rtol=1e-9)
    cells = []
    for k, m in enumerate(models):
        means = m.rows.values.mean(axis=1)
        g = means @ means.T - np.diag(moves[k])
        iu, ju = np.triu_indices(len(g), 1)
        cells.append(1.0 - g[iu, ju] / np.sqrt(g[iu, iu] * g[ju, ju]))
    assert signal_rho(engine, [moves], np.array([[0, 1]]))[0] == pytest.approx(spearman(cells[0], cells[1]), abs=1e-12)


def test_an_equalized_world_is_the_observed_world_with_moved_norms():
    """The equalized world's Gram blocks are the observed world's less the move on every product of two valid prompts
    of one emotion; with no spread to move (moves of 0) the worlds and their errors are the observed ones."""
    from rsastats.inference.worlds import equalizing_moves

    x, valid = _prompts(5)
    models = _models(x, valid)
    halves = CrossHalf(models, "spearman", "cosine", 4, np.random.SeedSequence(2))
    engine = halves.engine
    moves = equalizing_moves(engine)
    plain = mapped_engine(engine, world_maps(engine, np.random.default_rng(1)))
    moved = mapped_engine(engine, world_maps(engine, np.random.default_rng(1)), moves)
    n_p = valid.shape[1]
    blocks = plain.groups[0].gram_blocks or engine._gram_blocks(plain.groups[0].rows)  # the direct route: its rows
    for f in range(valid.shape[0]):
        for k in range(len(models)):
            want = blocks[f][k].copy()
            want[:, f * n_p:] -= np.outer(valid[f], valid[f]) * moves[0][k, f]
            np.testing.assert_allclose(moved.groups[0].gram_blocks[f][k], want, rtol=1e-9, atol=1e-9)
    zero = [np.zeros_like(m) for m in moves]
    same = mapped_engine(engine, world_maps(engine, np.random.default_rng(1)), zero)
    a = halves.renormed(True, same).corrected(None, PAIRS)[0]
    b = halves.renormed(True, plain).corrected(None, PAIRS)[0]
    np.testing.assert_allclose(a, b, rtol=1e-10)
    with pytest.raises(ValueError, match="signal must be one of"):
        world_errors(halves, PAIRS, 1, 2, 0, signal="noise-free")


def test_equalized_worlds_see_the_bias_of_emotions_noisy_in_both_models():
    """Where the same emotions are noisier in both models (common3 of the second model), the observed worlds put the
    ratio's bias far below its error over fresh data sets; the equalized worlds come much closer."""
    errors, observed, equalized = [], [], []
    for seed in range(12):
        rng = np.random.default_rng([seed, 9])
        from analyses.calibration.independent import DESIGNS as IND, Model, cosine_rho

        model = Model(next(d for d in IND if d.name == "n30-P20-hetero-common3"))
        mu, prompts, valid = model.draw(rng)
        models = _inputs(prompts, valid)
        halves = CrossHalf(models, "spearman", "cosine", 4, np.random.SeedSequence([seed, 1]))
        errors.append(halves.corrected(None, np.array([[0, 1]]))[0][0, 0] - cosine_rho(mu[0], mu[1]))
        observed.append(world_bias(halves, np.array([[0, 1]]), seed, 20, 0, signal="observed")[0][0])
        equalized.append(world_bias(halves, np.array([[0, 1]]), seed, 20, 0, signal="equalized")[0][0])
    miss_observed = abs(np.mean(observed) - np.mean(errors))
    miss_equalized = abs(np.mean(equalized) - np.mean(errors))
    assert miss_observed > 0.15 and miss_equalized < 0.5 * miss_observed


def test_the_equalized_signal_refuses_zscore_rows_and_the_default_worlds_keep_theirs():
    from rsastats.inference.worlds import equalizing_moves

    x, valid = _prompts(6, invalid=False)
    models = [replace(m, rows=replace(m.rows, post="zscore")) for m in _inputs(x[:2], valid)]
    engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine")
    with pytest.raises(ValueError, match="not zscore"):
        equalizing_moves(engine)
    # the default worlds keep the observed signal for zscore rows (their half RDMs are not equalized either)
    halves = CrossHalf(models, "spearman", "cosine", 4, np.random.SeedSequence(1))
    got = world_bias(halves, np.array([[0, 1]]), np.random.SeedSequence(2), n_worlds=6)
    expected = world_bias(halves, np.array([[0, 1]]), np.random.SeedSequence(2), n_worlds=6, signal="observed")
    np.testing.assert_array_equal(got[0], expected[0])
    assert np.isfinite(got[0]).all()


def test_a_world_without_a_finite_rdm_gives_nan_not_arbitrary_ranks():
    """A half RDM with a NaN entry (a world whose moved Gram matrix leaves an emotion a squared norm <= 0) makes the
    ratio of every pair with that model NaN; the other pairs keep theirs."""
    from rsastats.inference.worlds import _ratio_or_nan

    x, valid = _prompts(11)
    world = CrossHalf(_models(x, valid), "spearman", "cosine", 4, np.random.SeedSequence(1))
    finite = _ratio_or_nan(world, PAIRS)
    np.testing.assert_array_equal(finite, world.corrected(None, PAIRS)[0][0])
    world.rows[world._half(2, 3, 1), 5] = np.nan  # model 2, split 3, second half
    got = _ratio_or_nan(world, PAIRS)
    assert got[0] == finite[0] and np.isnan(got[1:]).all()
