"""rho_corrected's interval (rsastats/inference/corrected_ci.py): the Fisher-z jackknife-t interval rebuilt
from scipy's Spearman correlations of the half RDMs' cells (leave-one-out and leave-two-out ratios, the split
variance from the ratio of each split), the switch to BCa near the bound, and the interval as compare_models,
compare_all and the command line give it."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.special import stdtrit
from scipy.stats import spearmanr

from analyses.calibration import cli_model
from analyses.calibration.independent import _inputs as _independent_inputs
from rsastats.cli import cli
from rsastats.inference import compare_all, compare_models
from rsastats.inference.corrected import (DEFAULT_N_SPLITS, WIDEN_BEYOND_SE, CorrectedRho, CrossHalf, norm_shift,
                                         widen_toward_shift)
from rsastats.inference.widening import widened
from rsastats.inference.worlds import world_bias
from rsastats.inference.corrected_ci import (CORRECTED_CI, FEW_EMOTIONS_NOTE, MIN_JACKKNIFE_EMOTIONS, NARROW_AT_BOUND,
                                            JOIN_NOTE, NEAR_BOUND_CI, NEAR_BOUND_NOTE, jackknife_corrected,
                                            joined_with_rho, narrow_at_bound)
from rsastats.inference.settings import streams
from rsastats.intervals.jackknife import corrected_variance, jackknife_interval
from rsastats.exceptions import ValidationError
from rsastats.io.construct import make_activations
from rsastats.io.files import write_dataset
from tests.unit.test_low_rank_weight import _by_hand_weighted_excess

PAIR = np.array([[0, 1]])


def _inputs(seed: int, n_emotions: int = 21, n_prompts: int = 8, as_file: bool = False):
    design = cli_model.Design("t", n_emotions, n_prompts, 1.6)
    _, _, x_a, x_b, valid = cli_model.Model(design).draw(np.random.default_rng(seed))
    return cli_model.model_inputs(x_a, x_b, valid, as_file=as_file), (x_a, x_b, valid)


def _pair(x_a: np.ndarray, x_b: np.ndarray, valid: np.ndarray, names=("model0", "model1")) -> list:
    """Two model inputs of the same emotions and prompts (independent._inputs), named."""
    return [replace(m, name=name) for name, m in zip(names, _independent_inputs(np.stack([x_a, x_b]), valid))]


def _ratio(halves: CrossHalf, keep: np.ndarray, splits: range | None = None) -> float:
    """The cross-half ratio over the kept emotions, from scipy's Spearman correlations of the half RDMs' cells."""
    n = halves.n_emotions
    iu, ju = np.triu_indices(n, 1)
    cells = keep[iu] & keep[ju]
    rho = lambda r, s: spearmanr(halves.rows[r][cells], halves.rows[s][cells])[0]  # noqa: E731
    splits = splits if splits is not None else range(halves.n_splits)
    aa = np.mean([rho(halves._half(0, s, 0), halves._half(0, s, 1)) for s in splits])
    bb = np.mean([rho(halves._half(1, s, 0), halves._half(1, s, 1)) for s in splits])
    ab = np.mean([rho(halves._half(0, s, h), halves._half(1, s, 1 - h)) for s in splits for h in (0, 1)])
    return ab / np.sqrt(aa * bb), ab, aa, bb


def test_the_jackknife_interval_rebuilt_from_scipy():
    (a, b), _ = _inputs(1)
    halves = CrossHalf([a, b], "spearman", "cosine", DEFAULT_N_SPLITS, streams(7).splits)
    n = halves.n_emotions
    point = _ratio(halves, np.ones(n, bool))[0]
    loo = np.array([_ratio(halves, np.arange(n) != i)[0] for i in range(n)])
    two = np.array([_ratio(halves, (np.arange(n) != i) & (np.arange(n) != j))[0] for i, j in zip(*np.triu_indices(n, 1))])
    per_split = [_ratio(halves, np.ones(n, bool), range(s, s + 1)) for s in range(halves.n_splits)]
    _, ab, aa, bb = _ratio(halves, np.ones(n, bool))
    lin = [(x[1] - ab) / np.sqrt(aa * bb) - point / 2 * ((x[2] - aa) / aa + (x[3] - bb) / bb) for x in per_split]
    split_var = np.var(lin, ddof=1) / halves.n_splits
    z, zl, z2 = np.arctanh(point), np.arctanh(loo), np.arctanh(two)
    excess = _by_hand_weighted_excess(z, zl, z2)[0]  # the low-rank weight from numpy's eigenvalues
    variance = corrected_variance((n - 1) / n * ((zl - zl.mean()) ** 2).sum(), excess, n)
    se = np.sqrt(variance + split_var / (1 - point**2) ** 2)
    t = stdtrit(n - 1, 0.975)
    expected = (np.tanh(z - t * se), np.tanh(z + t * se))

    got_point = halves.corrected(None, PAIR)[0][0]
    jack = halves.leave_one_out(PAIR)
    np.testing.assert_allclose(got_point[0], point, rtol=0, atol=1e-12)
    np.testing.assert_allclose(jack[:, 0], loo, rtol=0, atol=1e-12)
    np.testing.assert_allclose(halves.split_variance(PAIR)[0], split_var, rtol=1e-10, atol=1e-15)
    got = jackknife_corrected(halves, PAIR, got_point, jack, 0.95)[0]
    assert got is not None
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_compare_models_gives_that_interval_and_its_method():
    (a, b), _ = _inputs(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare_models(a, b, seed=7)
    halves = CrossHalf([a, b], "spearman", "cosine", DEFAULT_N_SPLITS, streams(7).splits)
    point = halves.corrected(None, PAIR)[0][0]
    jack = halves.leave_one_out(PAIR)
    low, high = jackknife_corrected(halves, PAIR, point, jack, 0.95)[0]
    shift, se = norm_shift(halves, PAIR, point, jack)
    bias, bias_se = world_bias(halves, PAIR, streams(7).worlds)
    expected = widened(low, high, (float(shift[0]), float(se[0])), (float(bias[0]), float(bias_se[0])))
    assert abs(shift[0]) > WIDEN_BEYOND_SE * se[0]  # this pair's interval is widened
    assert res.corrected_ci_method == CORRECTED_CI == "jackknife-t"
    assert (res.corrected_ci_low, res.corrected_ci_high) == pytest.approx(expected[:2], abs=1e-12)
    assert res.corrected_note == expected[2] != ""
    assert res.corrected_ci_low <= res.rho_corrected <= res.corrected_ci_high


def _read_twice(noise: float, n_emotions: int = MIN_JACKKNIFE_EMOTIONS):
    """One set of emotion vectors read twice with independent prompt noise of SD ``noise``: the noise-free rho is 1
    and the ratio scatters around it."""
    rng = np.random.default_rng(3)
    signal = rng.normal(size=(n_emotions, 1, 40))
    x_a, x_b = (signal + noise * rng.normal(size=(n_emotions, 8, 40)) for _ in range(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compare_models(*_pair(x_a, x_b, np.ones((n_emotions, 8), bool)), seed=1)


def test_near_the_bound_it_is_bca_and_says_so():
    res = _read_twice(0.3)
    assert res.corrected_ci_method == NEAR_BOUND_CI
    assert "near the bound" in res.corrected_note
    assert -1 <= res.corrected_ci_low <= res.rho_corrected <= res.corrected_ci_high <= 1


def test_with_fewer_than_20_emotions_it_is_bca_and_says_why():
    """Below MIN_JACKKNIFE_EMOTIONS every pair takes the BCa route, far from the bound too, with the reason in the
    note; at MIN_JACKKNIFE_EMOTIONS the same kind of data takes the jackknife-t interval."""
    for n_emotions, method in ((MIN_JACKKNIFE_EMOTIONS - 1, NEAR_BOUND_CI), (MIN_JACKKNIFE_EMOTIONS, CORRECTED_CI)):
        (a, b), _ = _inputs(2, n_emotions=n_emotions)
        halves = CrossHalf([a, b], "spearman", "cosine", DEFAULT_N_SPLITS, streams(7).splits)
        point, jack = halves.corrected(None, PAIR)[0][0], halves.leave_one_out(PAIR)
        assert (jackknife_corrected(halves, PAIR, point, jack, 0.95)[0] is None) == (method == NEAR_BOUND_CI)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = compare_models(a, b, seed=7)
        assert res.corrected_ci_method == method and abs(res.rho_corrected) < 0.9  # far from the bound
        assert res.corrected_note.startswith(FEW_EMOTIONS_NOTE) == (method == NEAR_BOUND_CI)
        assert NEAR_BOUND_NOTE not in res.corrected_note
        assert res.corrected_ci_low <= res.rho_corrected <= res.corrected_ci_high


def test_compare_all_gives_each_pair_what_compare_models_gives():
    """The BCa resamples are drawn only for the pairs near the bound: a pair's interval does not depend on
    which other pairs needed them."""
    _, (x_a, x_b, valid) = _inputs(4)
    rng = np.random.default_rng(5)
    width = max(x_a.shape[-1], x_b.shape[-1])
    pad = lambda x: np.concatenate([x, np.zeros(x.shape[:-1] + (width - x.shape[-1],))], axis=-1)  # noqa: E731
    x_c = pad(x_a) + 0.02 * rng.normal(size=pad(x_a).shape)
    a, b = _pair(pad(x_a), pad(x_b), valid, ("a", "b"))
    _, c = _pair(pad(x_a), x_c, valid, ("unused", "c"))
    models = {m.name: m for m in (a, b, c)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        every = compare_all(list(models.values()), seed=9, permutations=99).to_dict()["pairs"]
        methods = set()
        for pair in every:
            one = compare_models(models[pair["a"]], models[pair["b"]], seed=9, permutations=99)
            methods.add(one.corrected_ci_method)
            assert pair["corrected_ci_method"] == one.corrected_ci_method
            for key in ("rho_corrected", "corrected_ci_low", "corrected_ci_high"):
                assert pair[key] == pytest.approx(getattr(one, key), abs=1e-12)
    assert methods == {CORRECTED_CI, NEAR_BOUND_CI}  # both routes in one matrix


def test_extra_variance_widens_the_jackknife_t_interval_and_is_checked():
    loo = np.array([0.41, 0.45, 0.38, 0.5, 0.44, 0.47, 0.4, 0.43])
    low0, high0, se0 = jackknife_interval(0.44, loo)
    low1, high1, se1 = jackknife_interval(0.44, loo, extra_variance=0.01)
    assert se1 == pytest.approx(np.sqrt(se0**2 + 0.01))
    assert low1 < low0 < 0.44 < high0 < high1
    for bad in (-0.1, np.nan, np.inf):
        with pytest.raises(ValidationError):
            jackknife_interval(0.44, loo, extra_variance=bad)
    with pytest.raises(ValidationError):
        jackknife_interval(0.44, loo, method="jackknife-z", extra_variance=0.01)


def test_the_command_line_names_the_method(tmp_path):
    _, (x_a, x_b, valid) = _inputs(6)
    paths = []
    for name, x in (("a", x_a), ("b", x_b)):
        ds = make_activations(np.where(valid[..., None], x, np.nan)[:, :, None, :].astype(np.float32),
                              [f"e{i:02d}" for i in range(x.shape[0])], valid=valid.astype(int),
                              attrs={"model": name, "method": "comprehension", "precision": "fp32"})
        paths.append(str(write_dataset(ds, tmp_path / f"{name}.nc")))
    out = CliRunner().invoke(cli, ["compare", *paths, "--json", "--permutations", "99"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert got["corrected_ci_method"] in (CORRECTED_CI, NEAR_BOUND_CI)
    text = CliRunner().invoke(cli, ["compare", *paths, "--permutations", "99"]).output
    assert ("Fisher-z jackknife-t over emotions" in " ".join(text.split())) == (got["corrected_ci_method"] == CORRECTED_CI)


def test_leave_two_out_blocks_and_the_cap(monkeypatch):
    """The leave-two-out weights in blocks are the rows of the whole matrix; above MAX_LEAVE_TWO_OUT pairs of
    emotions the second-order correction is not made (the plain jackknife variance, wider)."""
    from rsastats.inference import corrected_ci
    from rsastats.inference.degeneracy import leave_two_out_weights

    whole = leave_two_out_weights(9)
    np.testing.assert_array_equal(np.concatenate([leave_two_out_weights(9, r) for r in (range(0, 7), range(7, 36))]),
                                  whole)
    (a, b), _ = _inputs(1)
    halves = CrossHalf([a, b], "spearman", "cosine", DEFAULT_N_SPLITS, streams(7).splits)
    point, jack = halves.corrected(None, PAIR)[0][0], halves.leave_one_out(PAIR)
    corrected = jackknife_corrected(halves, PAIR, point, jack, 0.95)[0]
    monkeypatch.setattr(corrected_ci, "MAX_LEAVE_TWO_OUT", 10)
    plain = jackknife_corrected(halves, PAIR, point, jack, 0.95)[0]
    split = halves.split_variance(PAIR)[0] / (1 - point[0] ** 2) ** 2
    expected = jackknife_interval(float(point[0]), jack[:, 0], extra_variance=float(split))[:2]
    np.testing.assert_allclose(plain, expected, rtol=0, atol=1e-12)
    assert plain[0] <= corrected[0] and corrected[1] <= plain[1]


def test_widen_toward_shift_moves_one_end_by_the_move_beyond_its_noise():
    slack = WIDEN_BEYOND_SE * 0.04
    assert widen_toward_shift(0.2, 0.6, 0.01, 0.04) == (0.2, 0.6, "")  # within its noise: unchanged
    assert widen_toward_shift(0.2, 0.6, np.nan, np.nan) == (0.2, 0.6, "")  # no check: unchanged
    low, high, note = widen_toward_shift(0.2, 0.6, 0.1, 0.04)
    assert (low, high) == pytest.approx((0.2, 0.6 + 0.1 - slack), abs=1e-15)
    assert note.startswith("widened by +0.080 (upper end)") and "+0.100 (2.5 standard errors)" in note
    low, high, note = widen_toward_shift(0.2, 0.6, -0.1, 0.04)
    assert (low, high) == pytest.approx((0.2 - 0.1 + slack, 0.6), abs=1e-15)
    assert note.startswith("widened by -0.080 (lower end)")
    low, high, note = widen_toward_shift(0.2, 0.97, 0.1, 0.04)
    assert (low, high) == (0.2, 1.0) and "+0.030 (upper end, clipped at the bound)" in note
    assert widen_toward_shift(-0.4, 1.0, 0.3, 0.04) == (-0.4, 1.0, "")  # already at the bound
    assert widen_toward_shift(-0.98, 0.1, -0.3, 0.0)[:2] == (-1.0, 0.1)
    assert "its standard error is 0" in widen_toward_shift(-0.98, 0.1, -0.3, 0.0)[2]


def _record(estimate, low, high, note="BCa interval over emotion resamples"):
    return CorrectedRho(estimate, low, high, NEAR_BOUND_CI, note, 0.9, 0.9, 0.95, 0.95, 0.95, "", DEFAULT_N_SPLITS)


def test_narrow_at_the_bound_means_narrow_and_near_plus_or_minus_one():
    assert narrow_at_bound(0.99, 1.0) and narrow_at_bound(0.985, 0.999) and narrow_at_bound(-1.0, -0.99)
    assert not narrow_at_bound(1.0 - NARROW_AT_BOUND, 1.0)  # not narrower
    assert not narrow_at_bound(0.95, 0.965)  # narrow, but not within NARROW_AT_BOUND of the bound
    assert not narrow_at_bound(0.0, 0.01)


def test_a_narrow_interval_at_the_bound_is_joined_with_rhos_interval():
    joined = joined_with_rho(_record(0.9995, 0.999, 1.0), 0.990, 0.998)
    assert (joined.corrected_ci_low, joined.corrected_ci_high, joined.rho_corrected) == (0.990, 1.0, 0.9995)
    assert joined.corrected_note.startswith("BCa interval over emotion resamples; " + JOIN_NOTE + " [0.990, 0.998]")
    up = joined_with_rho(_record(0.995, 0.99, 0.998), 0.993, 0.9995)  # the bound is taken in: the upper end moves
    assert (up.corrected_ci_low, up.corrected_ci_high) == (0.99, 1.0)
    assert "and the bound +1: " in up.corrected_note
    below = joined_with_rho(_record(0.997, 0.996, 0.9992), 0.995, 0.998)  # with rho's interval inside it, too
    assert (below.corrected_ci_low, below.corrected_ci_high, below.rho_corrected) == (0.995, 1.0, 0.997)
    down = joined_with_rho(_record(-0.9995, -1.0, -0.999), -0.998, -0.99)  # the bound -1 alike
    assert (down.corrected_ci_low, down.corrected_ci_high) == (-1.0, -0.99)
    assert "and the bound -1: " in down.corrected_note
    inside = _record(0.9995, 0.985, 1.0)
    assert joined_with_rho(inside, 0.99, 0.998) == inside  # rho's interval inside: nothing moves, no note
    wide = _record(0.97, 0.95, 0.99)
    assert joined_with_rho(wide, 0.5, 0.6) == wide  # not narrow: unchanged
    assert joined_with_rho(_record(None, None, None, "why"), 0.9, 1.0).corrected_note == "why"


def test_without_an_interval_of_rho_a_narrow_interval_at_the_bound_is_withheld():
    for low, high in ((np.nan, np.nan), (None, None)):
        res = joined_with_rho(_record(1.0, 1.0, 1.0), low, high)
        assert (res.rho_corrected, res.corrected_ci_low, res.corrected_ci_high) == (None, None, None)
        assert res.corrected_note.startswith("rho_corrected not given: its interval is narrower than")
        assert res.split_half_a == 0.9 and res.noise_ceiling == 0.95  # the rest of the record is kept


def test_compare_and_matrix_join_a_narrow_interval_at_the_bound():
    """One set of vectors read twice with little noise: the BCa interval of the ratio piles up at 1 and is joined
    with rho's; compare_all gives the pair the same record."""
    res = _read_twice(0.1)
    assert JOIN_NOTE in res.corrected_note
    assert res.corrected_ci_low == res.ci_low and res.corrected_ci_high == 1.0
    assert res.corrected_ci_low <= res.rho_corrected <= res.corrected_ci_high
    rng = np.random.default_rng(3)
    signal = rng.normal(size=(MIN_JACKKNIFE_EMOTIONS, 1, 40))
    x_a, x_b = (signal + 0.1 * rng.normal(size=(MIN_JACKKNIFE_EMOTIONS, 8, 40)) for _ in range(2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        row = compare_all(list(_pair(x_a, x_b, np.ones((MIN_JACKKNIFE_EMOTIONS, 8), bool))), seed=1).pairs.iloc[0]
    assert (row["corrected_ci_low"], row["corrected_ci_high"], row["corrected_note"]) == (
        res.corrected_ci_low, res.corrected_ci_high, res.corrected_note)


def test_the_join_uses_rhos_default_interval_whatever_interval_of_rho_is_shown():
    """rho_corrected's interval does not depend on --ci or --bootstrap: where another interval of rho is shown, the
    join computes rho's default (jackknife-t) interval, and its note says so; compare_all gives the same record."""
    default = _read_twice(0.1)
    rng = np.random.default_rng(3)
    signal = rng.normal(size=(MIN_JACKKNIFE_EMOTIONS, 1, 40))
    x_a, x_b = (signal + 0.1 * rng.normal(size=(MIN_JACKKNIFE_EMOTIONS, 8, 40)) for _ in range(2))
    pair = _pair(x_a, x_b, np.ones((MIN_JACKKNIFE_EMOTIONS, 8), bool))
    for bootstrap, ci in (("emotions", "percentile"), ("prompts", "percentile"), ("both", "basic")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = compare_models(*pair, bootstrap=bootstrap, ci=ci, seed=1)
            row = compare_all(list(pair), bootstrap=bootstrap, ci=ci, seed=1).pairs.iloc[0]
        assert (res.ci_low, res.ci_high) != (default.ci_low, default.ci_high)  # another interval of rho is shown
        assert (res.corrected_ci_low, res.corrected_ci_high) == (default.corrected_ci_low, default.corrected_ci_high)
        which = f" (its default, jackknife-t, interval; the interval of rho shown is --bootstrap {bootstrap} --ci {ci})"
        assert which in res.corrected_note and res.corrected_note.replace(which, "") == default.corrected_note
        assert (row["corrected_ci_low"], row["corrected_ci_high"], row["corrected_note"]) == (
            res.corrected_ci_low, res.corrected_ci_high, res.corrected_note)


def test_a_tiny_widening_is_not_shown_as_zero():
    low, high, note = widen_toward_shift(0.9, 0.99, -4e-4, 3e-4)
    assert low == pytest.approx(0.9 - 2.5e-4) and high == 0.99
    assert note.startswith("widened by -2.5e-04 (lower end)") and "moves it by -4.0e-04" in note
