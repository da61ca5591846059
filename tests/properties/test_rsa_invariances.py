"""Invariances every RDM comparison must have, checked on random inputs (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st_h

from rsastats.compare import compare_rdms
from rsastats.inference import mantel
from rsastats.inference.engine import ResamplingEngine, all_pairs
from rsastats.inputs import RDMOptions, load_models
from rsastats.rdm import RDM, rdm_matrix

seeds = st_h.integers(min_value=0, max_value=2**31 - 1)
sizes = st_h.integers(min_value=4, max_value=12)


def _pair(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6))
    labels = tuple(f"e{i}" for i in range(n))
    return (RDM(rdm_matrix(x, "euclidean"), labels, "euclidean", "A"),
            RDM(rdm_matrix(x + rng.standard_normal((n, 6)), "euclidean"), labels, "euclidean", "B"), rng)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(seeds, sizes)
def test_symmetric_and_relabelling_invariant(seed, n):
    a, b, rng = _pair(seed, n)
    order = [a.labels[i] for i in rng.permutation(n)]
    for method in ("spearman", "pearson", "kendall-b", "kendall-a"):
        rho = compare_rdms(a, b, method)
        assert abs(rho - compare_rdms(b, a, method)) < 1e-12
        assert abs(rho - compare_rdms(a.reorder(order), b.reorder(order), method)) < 1e-12
        assert -1.0 <= rho <= 1.0


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(seeds, sizes)
def test_rank_methods_ignore_monotone_transforms(seed, n):
    a, b, _ = _pair(seed, n)
    squashed = RDM(np.log1p(np.asarray(a.matrix)) ** 3, a.labels, "euclidean", "A3")
    for method in ("spearman", "kendall-b", "kendall-a"):
        assert abs(compare_rdms(a, b, method) - compare_rdms(squashed, b, method)) < 1e-12


@settings(max_examples=20, deadline=None, derandomize=True, database=None)
@given(seeds, st_h.integers(min_value=5, max_value=9))
def test_mantel_p_in_range_and_relabelling_invariant(seed, n):
    a, b, rng = _pair(seed, n)
    res = mantel(a, b, permutations=199, seed=seed)
    assert 0 < res.p_value <= 1
    order = [a.labels[i] for i in rng.permutation(n)]
    again = mantel(a.reorder(order), b.reorder(order), permutations=199, seed=seed)
    assert abs(again.statistic - res.statistic) < 1e-12
    if res.permutation_exact:
        assert again.p_value == res.p_value


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(seeds, sizes)
def test_resampling_every_emotion_once_gives_the_estimate(seed, n):
    a, b, _ = _pair(seed, n)
    engine = ResamplingEngine(load_models([a, b], RDMOptions()), rank="spearman", scheme="emotions", rdm_method="euclidean")
    pairs = all_pairs(2)
    once = engine.evaluate(pairs, np.ones((1, n)))
    assert abs(once[0, 0] - engine.point(pairs)[0]) < 1e-12
    twice = engine.evaluate(pairs, 2 * np.ones((1, n)))  # every cell doubled: the same correlation
    assert abs(twice[0, 0] - once[0, 0]) < 1e-12
