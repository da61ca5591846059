"""The table of rank measures: every consumer (point estimate, engine, Mantel, ceilings) looks the
measure up by name; unknown names are one-line errors; rho-a and cosine run through compare_models."""

from __future__ import annotations

import numpy as np
import pytest

from rsastats.exceptions import ValidationError
from rsastats.inference import compare_models, mantel
from rsastats.measures import RANK_MEASURES, RANK_METHODS, rank_measure, rank_method_name
from rsastats.rdm import RDM, rdm_matrix


def _pair(seed=0, n=8):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, 10))
    labels = tuple(f"e{i}" for i in range(n))
    return [RDM(rdm_matrix(base + 0.6 * rng.standard_normal(base.shape)), labels, "cosine", f"m{k}") for k in range(2)]


def test_table_names_and_aliases():
    assert RANK_METHODS == ("spearman", "pearson", "kendall-b", "kendall-a", "rho-a", "cosine")
    assert rank_method_name("tau_a") == "kendall-a" and rank_method_name("rho_a") == "rho-a"
    assert rank_measure("kendall").variant == "b" and RANK_MEASURES["cosine"].centre is False
    for bad in ("tau-c", "", "spearmans"):
        with pytest.raises(ValidationError, match="rank correlation method must be one of spearman, pearson"):
            rank_method_name(bad)


@pytest.mark.parametrize("rank", RANK_METHODS)
def test_every_measure_runs_through_compare_and_mantel(rank):
    a, b = _pair(1)
    res = compare_models(a, b, rank=rank, n_boot=60, permutations=99, seed=2)
    assert res.rank == rank and -1 <= res.ci_low <= res.ci_high <= 1
    assert res.rho == pytest.approx(rank_measure(rank).correlate(a.upper(), b.upper())[()], abs=1e-12)
    assert mantel(a, b, method=rank, permutations=99, seed=2).statistic == pytest.approx(res.rho, abs=1e-12)


def test_unknown_measure_is_an_error_in_compare():
    a, b = _pair(2)
    with pytest.raises(ValidationError, match="rank correlation method"):
        compare_models(a, b, rank="tau-c", n_boot=10, permutations=9)


def test_rho_a_is_below_spearman_with_ties_and_equal_without():
    x = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 4.0])
    assert rank_measure("rho-a").correlate(x, x)[()] < 0.95 and rank_measure("spearman").correlate(x, x)[()] == pytest.approx(1.0)
    y = np.arange(6.0)
    assert rank_measure("rho-a").correlate(y, y[::-1])[()] == pytest.approx(-1.0, abs=1e-15)
