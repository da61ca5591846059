"""Mantel test against scikit-bio (same permutations) and R vegan::mantel (committed values).

The vegan values were produced by ``data/vegan_mantel.R`` (the script is beside the CSVs it wrote).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rsastats.inference import mantel

DATA = Path(__file__).parent / "data"


def _rdm(seed, n=15, related_to=None, noise=0.8):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)) if related_to is None else related_to + noise * rng.standard_normal((n, 6))
    return np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1)), x


@pytest.mark.parametrize("method", ["spearman", "pearson"])
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("related", [True, False])
def test_equals_scikit_bio_with_the_same_permutations(method, alternative, related):
    from skbio.stats.distance import mantel as skbio_mantel

    a, x = _rdm(1)
    b, _ = _rdm(2, related_to=x if related else None, noise=2.0)
    n_perm, seed = 999, 123
    stat, p, n = skbio_mantel(a, b, method=method, permutations=n_perm, alternative=alternative, seed=seed)
    # scikit-bio draws rng.permutation(n) once per permutation from default_rng(seed), in order,
    # and permutes the rows and columns of its first matrix: feed exactly those permutations.
    rng = np.random.default_rng(seed)
    perms = np.array([rng.permutation(a.shape[0]) for _ in range(n_perm)])
    ours = mantel(a, b, method=method, permutations=perms, alternative=alternative)
    assert abs(ours.statistic - stat) < 1e-12
    assert ours.p_value == p
    assert ours.n_permutations == n_perm and n == a.shape[0]


def _vegan_inputs():
    long = pd.read_csv(DATA / "vegan_mantel_rdms.csv")
    rdms = {}
    for name, g in long.groupby("rdm"):
        n = int(g["row"].max())
        m = np.zeros((n, n))
        m[g["row"].to_numpy() - 1, g["col"].to_numpy() - 1] = g["value"].to_numpy(dtype=float)
        rdms[name] = m
    perms = pd.read_csv(DATA / "vegan_mantel_perms.csv").to_numpy() - 1
    return rdms, perms


VEGAN = pd.read_csv(DATA / "vegan_mantel_results.csv")


@pytest.mark.parametrize("row", VEGAN.to_dict(orient="records"), ids=lambda r: f"{r['x']}{r['y']}-{r['method']}")
def test_equals_vegan(row):
    rdms, perms = _vegan_inputs()
    method = {"pearson": "pearson", "spearman": "spearman", "kendall": "kendall-b"}[row["method"]]
    ours = mantel(rdms[row["x"]], rdms[row["y"]], method=method, permutations=perms, alternative="greater")
    assert abs(ours.statistic - row["statistic"]) < 1e-12
    assert ours.p_value == pytest.approx(row["signif"], abs=1e-15)
    stats = pd.read_csv(DATA / "vegan_mantel_perm_stats.csv")
    expected = stats[(stats.x == row["x"]) & (stats.y == row["y"]) & (stats.method == row["method"])]["value"].to_numpy()
    np.testing.assert_allclose(ours.permutation_distribution, expected, rtol=0, atol=1e-12)
