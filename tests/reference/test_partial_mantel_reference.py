"""Partial Mantel test against R vegan::mantel.partial (committed values, same permutations), pingouin's
``partial_corr`` (the statistic, one and two confounds) and a brute-force exact enumeration.

The vegan values were produced by ``data/vegan_mantel_partial.R`` (the script is beside the CSVs it wrote).
"""

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from rsastats.inference.partial import partial_correlation, partial_mantel

DATA = Path(__file__).parent / "data"
VEGAN = pd.read_csv(DATA / "vegan_partial_results.csv")


def _vegan_inputs():
    long = pd.read_csv(DATA / "vegan_partial_rdms.csv")
    rdms = {}
    for name, g in long.groupby("rdm"):
        n = int(g["row"].max())
        m = np.zeros((n, n))
        m[g["row"].to_numpy() - 1, g["col"].to_numpy() - 1] = g["value"].to_numpy(dtype=float)
        rdms[name] = m
    perms = pd.read_csv(DATA / "vegan_partial_perms.csv").to_numpy() - 1
    return rdms, perms


@pytest.mark.parametrize("row", VEGAN.to_dict(orient="records"), ids=lambda r: f"{r['x']}{r['y']}.{r['z']}-{r['method']}")
def test_equals_vegan_with_the_same_permutations(row):
    rdms, perms = _vegan_inputs()
    ours = partial_mantel(rdms[row["x"]], rdms[row["y"]], rdms[row["z"]], rank=row["method"], permutations=perms,
                          alternative="greater", n_boot=50)
    assert abs(ours.partial_rho - row["statistic"]) < 1e-12
    assert ours.p_value == pytest.approx(row["signif"], abs=1e-15)
    assert ours.n_permutations == row["permutations"] and not ours.permutation_exact
    stats = pd.read_csv(DATA / "vegan_partial_perm_stats.csv")
    expected = stats[(stats.x == row["x"]) & (stats.y == row["y"]) & (stats.method == row["method"])]["value"].to_numpy()
    np.testing.assert_allclose(ours.permutation_distribution, expected, rtol=0, atol=1e-12)


def _dist(x):
    return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))


def _case(n=11, seed=5):
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 3))
    a = _dist(latent + 0.5 * rng.standard_normal((n, 3)))
    b = _dist(latent + 0.9 * rng.standard_normal((n, 3)))
    z1 = _dist(latent[:, :1] + 0.5 * rng.standard_normal((n, 1)))
    z2 = _dist(rng.standard_normal((n, 2)))
    return a, b, z1, z2


def _cells(*rdms):
    iu = np.triu_indices(rdms[0].shape[0], 1)
    return pd.DataFrame({name: m[iu] for name, m in zip(("a", "b", "z1", "z2"), rdms)})


@pytest.mark.parametrize("method", ["spearman", "pearson"])
@pytest.mark.parametrize("covar", [["z1"], ["z1", "z2"]])
def test_statistic_equals_pingouin_partial_corr(method, covar):
    a, b, z1, z2 = _case()
    confounds = [z1] if covar == ["z1"] else [z1, z2]
    ours = partial_mantel(a, b, confounds, rank=method, permutations=99, n_boot=50)
    expected = pg.partial_corr(_cells(a, b, z1, z2), x="a", y="b", covar=covar, method=method)["r"].iloc[0]
    assert ours.partial_rho == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("method", ["spearman", "pearson"])
def test_weighted_route_equals_pingouin_on_the_resampled_cells(method):
    # A bootstrap resample of emotions is a weight vector over the cells (c_i c_j); pingouin on the cells
    # repeated that many times is the same partial correlation.  The jackknife drops an emotion's cells.
    a, b, z1, z2 = _case(n=9, seed=2)
    n = a.shape[0]
    iu, ju = np.triu_indices(n, 1)
    uppers = np.stack([m[iu, ju] for m in (a, b, z1, z2)])
    counts = np.random.default_rng(0).multinomial(n, np.full(n, 1 / n), size=3).astype(float)
    counts[2] = 1.0
    counts[2, 4] = 0.0  # a leave-one-out sample
    weights = counts[:, iu] * counts[:, ju]
    ours = partial_correlation(uppers, method, weights)
    for k, w in enumerate(weights):
        repeated = pd.DataFrame(np.repeat(uppers.T, w.astype(int), axis=0), columns=["a", "b", "z1", "z2"])
        expected = pg.partial_corr(repeated, x="a", y="b", covar=["z1", "z2"], method=method)["r"].iloc[0]
        assert ours[k] == pytest.approx(expected, abs=1e-10)


def test_exact_enumeration_equals_brute_force():
    a, b, z1, _ = _case(n=6, seed=9)
    n = a.shape[0]
    iu, ju = np.triu_indices(n, 1)

    def stat(x):
        cells = pd.DataFrame({"a": x[iu, ju], "b": b[iu, ju], "z": z1[iu, ju]})
        return pg.partial_corr(cells, x="a", y="b", covar=["z"], method="spearman")["r"].iloc[0]

    observed = stat(a)
    permuted = np.array([stat(a[np.ix_(p, p)]) for p in itertools.permutations(range(n))])
    ours = partial_mantel(a, b, z1, rank="spearman", permutations=math.factorial(n), alternative="two-sided", n_boot=50)
    assert ours.permutation_exact and ours.n_permutations == math.factorial(n)
    k = np.count_nonzero(np.abs(permuted) >= abs(observed) - 1e-12)
    assert ours.p_value == pytest.approx(k / math.factorial(n), abs=1e-15)
    np.testing.assert_allclose(np.sort(ours.permutation_distribution), np.sort(permuted), atol=1e-12)
