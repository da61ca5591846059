"""The engine's Gram step: the cells computed from the lower triangles are those of the full route bit for bit,
and the Gram matrices are those of the count-weighted prompt sums."""

import numpy as np
import pytest

from rsastats.inference.gram_step import cells_from_lower, gram_columns, lower_grams, plain_cells, stand_in_cells
from rsastats.rdm import rdm_from_gram, upper_indices


def _grams(n_models=3, n_b=9, n_e=6, n_p=4, hidden=7, seed=0, centre=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_models, n_e * n_p, hidden)) + 0.5
    if centre:  # the correlation RDM's rows are centred across hidden before the Gram matrix
        x = x - x.mean(axis=-1, keepdims=True)
    k = x @ x.transpose(0, 2, 1)
    blocks = [[np.ascontiguousarray(km[f * n_p:(f + 1) * n_p, :(f + 1) * n_p]) for km in k] for f in range(n_e)]
    counts = rng.multinomial(n_p, np.full(n_p, 1.0 / n_p), size=(n_b, n_e)).astype(np.float64)
    counts[0, 2] = [0.0, 3.0, 0.0, 1.0]  # a prompt left out, one drawn three times
    sums = np.einsum("bep,mpeh->mbeh", counts, x.reshape(n_models, n_e, n_p, hidden).transpose(0, 2, 1, 3))
    return x, blocks, counts, sums


def test_lower_grams_are_the_gram_matrices_of_the_count_weighted_sums():
    _, blocks, counts, sums = _grams()
    lower = lower_grams(counts, blocks)
    full = sums @ sums.transpose(0, 1, 3, 2)
    il, jl = np.tril_indices(counts.shape[1])
    np.testing.assert_allclose(lower[..., il, jl], full[..., il, jl], rtol=1e-13, atol=1e-11)


def test_gram_columns_are_the_columns_of_the_upper_triangle():
    _, blocks, counts, sums = _grams(seed=1)
    full = sums @ sums.transpose(0, 1, 3, 2)
    seen = 0
    for f, k, column in gram_columns(counts, blocks):
        np.testing.assert_allclose(column, full[k, :, : f + 1, f], rtol=1e-13, atol=1e-11)
        seen += 1
    assert seen == counts.shape[1] * len(blocks[0])


@pytest.mark.parametrize("method", ["cosine", "correlation", "euclidean"])
def test_cells_equal_the_full_route_bit_for_bit(method):
    _, blocks, counts, _ = _grams(seed=2, centre=method == "correlation")
    totals = counts.sum(axis=-1)
    n_e = counts.shape[1]
    iu, ju = upper_indices(n_e)
    # the full route as the engine took it before: both triangles, divided by the totals, rdm_from_gram, gathered
    gram = np.empty((counts.shape[0], len(blocks[0]), n_e, n_e))
    for f, k, column in gram_columns(counts, blocks):
        gram[:, k, : f + 1, f] = column
        gram[:, k, f, : f + 1] = column
    gram = gram / (totals[:, None, :, None] * totals[:, None, None, :])
    full = rdm_from_gram(gram, method)[..., iu, ju].transpose(1, 0, 2)
    got = cells_from_lower(lower_grams(counts, blocks), totals, iu, ju, method)
    assert got.shape == full.shape
    assert np.array_equal(got, full)


def test_plain_cells_only_where_the_rdm_is_a_function_of_the_gram_matrix():
    assert plain_cells("none", "cosine") and plain_cells("none", "euclidean") and plain_cells("unit", "correlation")
    assert not plain_cells("unit", "euclidean")  # unit length changes Euclidean distances
    assert not plain_cells("emotion-mean", "cosine")  # centring across emotions needs the whole matrix
    assert not plain_cells("zscore", "cosine")


def _present(n_b, n_e, seed):
    """Emotion-bootstrap draws as ``present`` flags: which emotions each resample drew."""
    counts = np.random.default_rng(seed).multinomial(n_e, np.full(n_e, 1.0 / n_e), size=n_b)
    return counts > 0, counts


@pytest.mark.parametrize("method", ["cosine", "correlation", "euclidean"])
def test_rows_of_emotions_not_drawn_are_skipped_and_the_rest_are_the_same_bits(method):
    _, blocks, counts, _ = _grams(n_b=40, seed=3, centre=method == "correlation")
    present, _ = _present(40, counts.shape[1], 4)
    present[0] = True  # one resample that drew every emotion (the whole column is then computed as without)
    assert 0 < present.mean() < 1
    full = lower_grams(counts, blocks)
    skipped = lower_grams(counts, blocks, present)
    n_e = counts.shape[1]
    for b in range(counts.shape[0]):
        for f in range(n_e):
            if present[b, f]:
                assert np.array_equal(skipped[:, b, f, : f + 1], full[:, b, f, : f + 1])
            else:  # a stand-in: the Gram row of an orthonormal vector
                assert np.array_equal(skipped[:, b, f, : f + 1], np.broadcast_to(np.eye(n_e)[f, : f + 1],
                                                                                 (len(blocks[0]), f + 1)))
    totals = counts.sum(axis=-1)
    iu, ju = upper_indices(n_e)
    cells = cells_from_lower(skipped, totals, iu, ju, method)
    assert np.isfinite(cells).all()
    both = present[:, iu] & present[:, ju]
    assert np.array_equal(cells[:, both], cells_from_lower(full, totals, iu, ju, method)[:, both])


def test_stand_in_cells_are_distinct_above_the_row_and_leave_weighted_cells_alone():
    rng = np.random.default_rng(5)
    values = rng.random((3, 4, 10))
    values[..., 5:] = 1.0  # ties among the cells to be stood in for, as lower_grams' stand-ins make them
    weights = np.ones((4, 10))
    weights[:, 5:] = 0.0
    weights[1, 0] = 0.0
    got = stand_in_cells(values, weights)
    assert np.array_equal(got[..., weights > 0], values[..., weights > 0])
    stood = got[:, weights == 0]
    assert (stood > values.max(axis=-1)[:, np.nonzero(weights == 0)[0]]).all()
    for row in got.reshape(-1, 10):
        assert len(np.unique(row)) == 10
