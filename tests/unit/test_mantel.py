import itertools
import math

import numpy as np
import pytest
import scipy.stats as st

from rsastats.exceptions import LabelError, ValidationError
from rsastats.inference import mantel
from rsastats.inference.permutation import draw_permutations
from rsastats.rdm import RDM, rdm_matrix


def _pair(n=8, seed=0, related=True, labels=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5))
    y = x + rng.standard_normal((n, 5)) if related else rng.standard_normal((n, 5))
    labels = labels or tuple(f"e{i}" for i in range(n))
    return RDM(rdm_matrix(x, "euclidean"), labels, "euclidean", "A"), RDM(rdm_matrix(y, "euclidean"), labels, "euclidean", "B")


def _naive_stat(a, b, perm):
    iu, ju = np.triu_indices(len(perm), 1)
    return st.spearmanr(a[perm[iu], perm[ju]], b[iu, ju]).statistic


def test_statistic_and_distribution_equal_a_naive_loop():
    a, b = _pair(9)
    res = mantel(a, b, permutations=300, seed=4)
    perms = draw_permutations(9, 300, 4)
    expected = [_naive_stat(np.asarray(a.matrix), np.asarray(b.matrix), p) for p in perms]
    np.testing.assert_allclose(res.permutation_distribution, expected, atol=1e-12)
    obs = _naive_stat(np.asarray(a.matrix), np.asarray(b.matrix), np.arange(9))
    assert abs(res.statistic - obs) < 1e-12
    k = np.count_nonzero(np.abs(expected) >= abs(obs) - 1e-12)
    assert res.p_value == (k + 1) / 301 and not res.permutation_exact


def test_exact_enumeration_when_n_factorial_is_small():
    a, b = _pair(5, related=False)
    res = mantel(a, b, permutations=200)
    assert res.permutation_exact and res.n_permutations == math.factorial(5) == 120
    all_perms = np.array(list(itertools.permutations(range(5))))
    stats = np.array([_naive_stat(np.asarray(a.matrix), np.asarray(b.matrix), p) for p in all_perms])
    k = np.count_nonzero(np.abs(stats) >= abs(res.statistic) - 1e-12)
    assert res.p_value == k / 120  # the identity is one of the 120
    assert not mantel(a, b, permutations=100).permutation_exact


def test_alternatives_and_minimum_p():
    a, b = _pair(10, related=True, seed=3)
    greater = mantel(a, b, permutations=999, alternative="greater", seed=1)
    less = mantel(a, b, permutations=999, alternative="less", seed=1)
    assert greater.p_value == pytest.approx(1 / 1000) and less.p_value > 0.9
    assert mantel(a, b, permutations=999, seed=1).p_value >= 1 / 1000


def test_same_result_for_any_batch_size_and_seed_reuse():
    a, b = _pair(10)
    ref = mantel(a, b, permutations=2500, seed=7)
    for bs in (1, 100, 5000):
        assert np.array_equal(mantel(a, b, permutations=2500, seed=7, batch_size=bs).permutation_distribution,
                              ref.permutation_distribution)
    prefix = mantel(a, b, permutations=1500, seed=7).permutation_distribution
    assert np.array_equal(prefix, ref.permutation_distribution[:1500])


def test_labels_are_aligned_before_testing():
    a, b = _pair(8)
    order = list(reversed(b.labels))
    shuffled = b.reorder(order)
    assert mantel(a, shuffled, permutations=99, seed=1).statistic == pytest.approx(mantel(a, b, permutations=99, seed=1).statistic, abs=1e-15)


@pytest.mark.parametrize("method", ["pearson", "kendall-b", "kendall-a"])
def test_other_methods(method):
    a, b = _pair(7)
    res = mantel(a, b, method=method, permutations=50, seed=2)
    iu, ju = np.triu_indices(7, 1)
    x, y = a.matrix[iu, ju], b.matrix[iu, ju]
    if method == "pearson":
        assert abs(res.statistic - st.pearsonr(x, y).statistic) < 1e-12
    elif method == "kendall-b":
        assert abs(res.statistic - st.kendalltau(x, y).statistic) < 1e-12
    assert res.rank == method and res.permutation_distribution.size == 50


def test_bad_input():
    a, b = _pair(6)
    with pytest.raises(ValidationError, match="permutations must be >= 1"):
        mantel(a, b, permutations=0)
    with pytest.raises(ValidationError, match="not a permutation"):
        mantel(a, b, permutations=np.zeros((3, 6), dtype=int))
    with pytest.raises(ValidationError, match=r"array \(B, 6\)"):
        mantel(a, b, permutations=np.zeros((3, 5), dtype=int))
    with pytest.raises(ValidationError, match="alternative"):
        mantel(a, b, alternative="bigger")
    small_a, small_b = _pair(3)
    with pytest.raises(ValidationError, match="at least 4 emotions"):
        mantel(small_a, small_b)
    other = RDM(np.asarray(b.matrix), tuple(f"x{i}" for i in range(6)), "euclidean", "C")
    with pytest.raises(LabelError, match="emotion sets differ"):
        mantel(a, other)
    flat = RDM(np.ones((6, 6)) - np.eye(6), a.labels, "cosine", "flat")
    with pytest.raises(ValidationError, match="constant"):
        mantel(a, flat)
    res = mantel(a, b, permutations=10, seed=0)
    assert set(res.to_dict()) >= {"statistic", "p_value", "n_permutations", "permutation_exact", "alternative", "rank"}
    assert len(res.to_frame()) == 1


@pytest.mark.parametrize("n", [2, 5, 21])
def test_gather_of_permuted_cells_equals_fancy_indexing(n):
    from rsastats.inference.permutation import _gather_upper

    square = np.random.default_rng(n).standard_normal((n, n))
    iu, ju = np.triu_indices(n, 1)
    for perms in (draw_permutations(n, 50, 1), draw_permutations(n, 50, 2).astype(np.int32)):
        got = _gather_upper(square, perms, iu, ju)
        assert got.flags.c_contiguous and np.array_equal(got, square[perms[:, iu], perms[:, ju]])



def test_the_tie_tolerance_is_on_a_correlations_scale():
    """A statistic that is 0 in exact arithmetic under every relabelling (tied RDMs: vectors of one dimension, whose
    cosine RDMs hold only 0s and 2s) comes out as +-1e-17 in floating point.  With a tolerance relative to |r| the
    rounding noise decided the count, and `matrix` gave p = 0 of an exact enumeration, which holds the identity,
    where `compare` gave 2/3 (2026-12-07; the case is an example of tests/properties/test_compare_promises.py)."""
    from rsastats.inference.permutation import mantel_exceedances

    assert mantel_exceedances(1.1e-17, np.array([0.9e-17, -1e-17, 0.0]), "two-sided") == 3
    assert mantel_exceedances(1.1e-17, np.array([0.9e-17, -1e-17, 0.0]), "greater") == 3
    assert mantel_exceedances(0.5, np.array([0.5 * (1 - 1e-15), 0.4]), "two-sided") == 1  # ties up to rounding only
    assert mantel_exceedances(0.5, np.array([0.5 - 1e-12, 0.4]), "two-sided") == 0
