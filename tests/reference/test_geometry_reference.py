"""Every geometry descriptor against an independent computation (scipy pdist, numpy svd/eigh/median,
brute-force loops over pairs and quadruples), for the point estimate and for resamples with copies."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from rsastats.geometry import kernels
from rsastats.io import make_activations
from rsastats.geometry import compare_geometry, geometry


@pytest.fixture
def rows():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((9, 6)) * np.array([4.0, 2, 1, 1, 0.5, 0.2]) + np.array([3.0, 0, 1, 0, 0, 0])
    return x


def _resample_weights(idx, n):
    return np.bincount(idx, minlength=n).astype(float)[None, :]


def _mean_cosine_distinct(x, idx):
    """Mean cosine over pairs of positions in the resample that hold different original rows."""
    sims = []
    for a, b in itertools.combinations(range(len(idx)), 2):
        if idx[a] != idx[b]:
            sims.append(1 - pdist(x[[idx[a], idx[b]]], "cosine")[0])
    return np.mean(sims)


def test_mean_pairwise_cosine_equals_pdist(rows):
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    ours = kernels.mean_pairwise_cosine(np.ones((1, len(rows))), unit)[0]
    assert ours == pytest.approx(np.mean(1 - pdist(rows, "cosine")), abs=1e-13)


def test_mean_pairwise_cosine_of_a_resample_skips_copies(rows):
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    idx = np.array([0, 0, 3, 3, 3, 5, 7, 8, 8])
    ours = kernels.mean_pairwise_cosine(_resample_weights(idx, len(rows)), unit)[0]
    assert ours == pytest.approx(_mean_cosine_distinct(rows, idx), abs=1e-13)


def test_dimension_contributions_sum_to_the_mean_cosine_and_match_pairs(rows):
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    idx = np.array([1, 1, 2, 4, 4, 4, 6, 7, 0])
    w = _resample_weights(idx, len(rows))
    contrib = kernels.dimension_contributions(w, unit)[0]
    brute = np.mean([unit[idx[a]] * unit[idx[b]] for a, b in itertools.combinations(range(len(idx)), 2)
                     if idx[a] != idx[b]], axis=0)
    np.testing.assert_allclose(contrib, brute, atol=1e-13)
    assert contrib.sum() == pytest.approx(kernels.mean_pairwise_cosine(w, unit)[0], abs=1e-13)


@pytest.mark.parametrize("idx", [np.arange(9), np.array([0, 0, 3, 3, 3, 5, 7, 8, 8]), np.array([2, 2, 2, 2, 1, 1, 1, 6, 6]),
                                 np.array([4, 4, 4, 4, 4, 4, 4, 4, 0])])
def test_norm_statistics_match_numpy_on_the_materialised_resample(rows, idx):
    norms = np.linalg.norm(rows, axis=1)
    got = kernels.norm_statistics(_resample_weights(idx, len(rows)), norms)
    sample = norms[idx]
    assert got["norm_mean"][0] == pytest.approx(sample.mean(), rel=1e-13)
    assert got["norm_sd"][0] == pytest.approx(sample.std(ddof=1), rel=1e-10)
    assert got["norm_max_median"][0] == pytest.approx(sample.max() / np.median(sample), rel=1e-13)


def test_weighted_median_even_and_odd_totals():
    norms = np.array([1.0, 2.0, 3.0, 10.0])
    for idx in ([0, 1, 2, 3], [0, 1, 2], [3, 3, 0, 1, 1], [2, 2, 2, 0, 0, 0]):
        w = np.bincount(idx, minlength=4).astype(float)[None]
        assert kernels.norm_statistics(w, norms)["norm_max_median"][0] == pytest.approx(
            norms[idx].max() / np.median(norms[idx]))


@pytest.mark.parametrize("idx", [np.arange(9), np.array([0, 0, 3, 3, 3, 5, 7, 8, 8])])
def test_spectrum_matches_eigh_of_the_covariance_and_svd_of_the_centred_rows(rows, idx):
    sample = rows[idx]
    centred = sample - sample.mean(axis=0)
    eig = np.linalg.eigvalsh(centred.T @ centred / len(sample))
    sv2 = np.linalg.svd(centred, compute_uv=False) ** 2 / len(sample)
    np.testing.assert_allclose(np.sort(eig)[-len(sv2):], np.sort(sv2), atol=1e-10)
    c = rows - rows.mean(axis=0)
    for gram in (rows @ rows.T, c @ c.T):  # any fixed centring gives the same result
        got = kernels.spectrum_statistics(_resample_weights(idx, len(rows)), gram)
        assert got["participation_ratio"][0] == pytest.approx(sv2.sum() ** 2 / (sv2**2).sum(), rel=1e-10)
        assert got["pc1_share"][0] == pytest.approx(eig.max() / eig.sum(), rel=1e-10)


def test_spectrum_memory_bound_does_not_change_results(rows):
    w = np.stack([_resample_weights(np.random.default_rng(i).integers(0, 9, 9), 9)[0] for i in range(7)])
    big = kernels.spectrum_statistics(w, rows @ rows.T)
    small = kernels.spectrum_statistics(w, rows @ rows.T, max_elements=1)
    for key in big:
        np.testing.assert_allclose(big[key], small[key], rtol=1e-12)


@pytest.mark.parametrize("idx", [np.arange(7), np.array([0, 0, 1, 3, 4, 4, 6, 6, 2])])
def test_unbiased_participation_ratio_equals_brute_force_over_distinct_quadruples(idx):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 4)) * np.array([3.0, 2, 1, 0.5]) + 5.0
    w = np.bincount(idx, minlength=7).astype(float)
    num = den = 0.0
    for i, j, k, l in itertools.permutations(range(7), 4):
        weight = w[i] * w[j] * w[k] * w[l]
        if weight:
            a, b = x[i] - x[j], x[k] - x[l]
            num += weight * (a @ a) * (b @ b)
            den += weight * (a @ b) ** 2
    got = kernels.unbiased_participation_ratio(w[None], x @ x.T)[0]
    assert got == pytest.approx(num / den, rel=1e-10)


def test_unbiased_participation_ratio_is_consistent_when_rows_are_fewer_than_dimensions():
    rng = np.random.default_rng(0)
    hidden = 300
    lam = np.arange(1, hidden + 1) ** -0.5
    truth = lam.sum() ** 2 / (lam**2).sum()
    estimates = []
    for rep in range(20):
        x = rng.standard_normal((60, hidden)) * np.sqrt(lam) + 4.0
        c = x - x.mean(axis=0)
        estimates.append(kernels.unbiased_participation_ratio(np.ones((1, 60)), c @ c.T)[0])
        plugin = kernels.spectrum_statistics(np.ones((1, 60)), c @ c.T)["participation_ratio"][0]
        assert plugin < 60  # the plug-in can never exceed n - 1
    assert np.mean(estimates) == pytest.approx(truth, rel=0.05)


def test_group_gram_equals_gram_of_materialised_emotion_means():
    rng = np.random.default_rng(3)
    sizes = [3, 5, 4]
    x = rng.standard_normal((sum(sizes), 7))
    bounds = np.cumsum([0, *sizes])
    groups = [np.arange(bounds[i], bounds[i + 1]) for i in range(3)]
    draws = [rng.integers(0, s, s) for s in sizes]
    w = np.concatenate([np.bincount(d, minlength=s) for d, s in zip(draws, sizes)]).astype(float)[None]
    means = np.stack([x[g][d].mean(axis=0) for g, d in zip(groups, draws)])
    np.testing.assert_allclose(kernels.group_gram(w, x @ x.T, groups)[0], means @ means.T, atol=1e-12)


def test_emotion_statistics_match_pdist_and_svd():
    rng = np.random.default_rng(4)
    v = rng.standard_normal((8, 5)) + 1.0
    got = {k: val[0] for k, val in kernels.emotion_statistics((v @ v.T)[None]).items()}
    dist = pdist(v, "cosine")
    assert got["emotion_mean_cosine"] == pytest.approx(np.mean(1 - dist), abs=1e-13)
    assert got["emotion_rdm_spread"] == pytest.approx(np.std(dist), abs=1e-13)
    sv2 = np.linalg.svd(v - v.mean(axis=0), compute_uv=False) ** 2
    assert got["emotion_participation_ratio"] == pytest.approx(sv2.sum() ** 2 / (sv2**2).sum(), rel=1e-10)
    assert got["emotion_pc1_share"] == pytest.approx(sv2.max() / sv2.sum(), rel=1e-10)


def test_rowwise_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(6)
    a = rng.integers(0, 5, (4, 30)).astype(float)
    b = rng.standard_normal((4, 30))
    got = kernels.rowwise_spearman(a, b)
    for i in range(4):
        assert got[i] == pytest.approx(spearmanr(a[i], b[i]).statistic, abs=1e-12)


# --------------------------------------------------------------------------- through the public API
def _dataset(seed=0, variant="base", n_baseline=12, valid=True):
    rng = np.random.default_rng(seed)
    acts = rng.standard_normal((5, 6, 2, 10)) + rng.standard_normal((5, 1, 1, 10)) + 2.0
    mask = np.ones((5, 6), dtype=int)
    if valid:
        mask[1, [0, 4]] = 0
        mask[3, 5] = 0
        acts[1, 0] = np.nan  # ignored where invalid
    base = rng.standard_normal((n_baseline, 2, 10)) * np.linspace(0.5, 2, 10) + 3.0
    text = np.array([[f"e{e} p{p}" for p in range(6)] for e in range(5)], dtype=object)
    return make_activations(acts, list("abcde"), valid=mask, baseline=base, text=text,
                            baseline_text=[f"neutral {i}" for i in range(n_baseline)],
                            attrs={"model": f"m{seed}", "variant": variant})


def test_geometry_point_estimates_equal_direct_computations():
    ds = _dataset()
    result = geometry(ds, layers=[1], n_boot=50, seed=1).layer(1)
    base = ds["baseline"].sel(layer=1).values.astype(np.float64)
    acts = ds["activations"].sel(layer=1).values.astype(np.float64)
    mask = ds["valid"].values.astype(bool)
    prompts = np.concatenate([acts[e][mask[e]] for e in range(5)])
    vectors = np.stack([acts[e][mask[e]].mean(axis=0) for e in range(5)])
    base_norms, prompt_norms = np.linalg.norm(base, axis=1), np.linalg.norm(prompts, axis=1)
    cov_eig = np.linalg.eigvalsh(np.cov(base.T, bias=True))
    sv2 = np.linalg.svd(vectors - vectors.mean(axis=0), compute_uv=False) ** 2
    expected = {
        "baseline_anisotropy": np.mean(1 - pdist(base, "cosine")),
        "baseline_participation_ratio_plugin": cov_eig.sum() ** 2 / (cov_eig**2).sum(),
        "baseline_pc1_share": cov_eig.max() / cov_eig.sum(),
        "baseline_norm_mean": base_norms.mean(),
        "baseline_norm_sd": base_norms.std(ddof=1),
        "baseline_norm_max_median": base_norms.max() / np.median(base_norms),
        "prompt_anisotropy": np.mean(1 - pdist(prompts, "cosine")),
        "prompt_norm_mean": prompt_norms.mean(),
        "prompt_norm_sd": prompt_norms.std(ddof=1),
        "prompt_norm_max_median": prompt_norms.max() / np.median(prompt_norms),
        "emotion_mean_cosine": np.mean(1 - pdist(vectors, "cosine")),
        "emotion_rdm_spread": np.std(pdist(vectors, "cosine")),
        "emotion_participation_ratio": sv2.sum() ** 2 / (sv2**2).sum(),
        "emotion_pc1_share": sv2.max() / sv2.sum(),
    }
    for name, value in expected.items():
        assert result[name].plugin == pytest.approx(value, rel=1e-9), name
    unit = base / base_norms[:, None]
    top = max(np.mean([unit[i, d] * unit[j, d] for i, j in itertools.combinations(range(len(base)), 2)])
              for d in range(10))
    assert result["baseline_top_dim_contribution"].plugin == pytest.approx(top, rel=1e-9)


def test_bootstrap_replicates_equal_descriptors_of_materialised_resamples():
    """The weights route and an explicit resample (rows copied) give the same replicate."""
    ds = _dataset(valid=False)
    acts = ds["activations"].sel(layer=0).values.astype(np.float64)
    blocks = kernels.resampling_weights(np.random.SeedSequence(3), 4, [6] * 5)
    w = next(blocks)
    from rsastats.geometry.descriptors import evaluate_descriptors, group_descriptors
    from rsastats.geometry.layers import layer_data

    data = layer_data(ds, "activations", 0, None)
    got = evaluate_descriptors(group_descriptors("emotion"), data.prompts, w)
    for r in range(4):
        counts = w[r].reshape(5, 6).astype(int)
        vectors = np.stack([np.repeat(acts[e], counts[e], axis=0).mean(axis=0) for e in range(5)])
        assert got["emotion_mean_cosine"][r] == pytest.approx(np.mean(1 - pdist(vectors, "cosine")), rel=1e-12)
        flat = np.concatenate([np.repeat(acts[e], counts[e], axis=0) for e in range(5)])
        norms = np.linalg.norm(flat, axis=1)
        assert got["prompt_norm_sd"][r] == pytest.approx(norms.std(ddof=1), rel=1e-10)


def test_comparison_rho_equals_scipy_spearman_of_the_two_cosine_rdms():
    a, b = _dataset(0), _dataset(1, variant="instruct")
    result = compare_geometry(a, b, layer=0, n_boot=30, seed=0)

    def vectors(ds):
        acts = ds["activations"].sel(layer=0).values.astype(np.float64)
        mask = ds["valid"].values.astype(bool)
        return np.stack([acts[e][mask[e]].mean(axis=0) for e in range(5)])

    assert result.rho == pytest.approx(spearmanr(pdist(vectors(a), "cosine"), pdist(vectors(b), "cosine")).statistic,
                                       abs=1e-12)
    assert result.paired_prompts and result.paired_baseline
    change = result["baseline_anisotropy"]
    assert change.change_plugin == pytest.approx(change.instruct - change.base)
    assert change.ci_low <= change.change <= change.ci_high
    assert change.base == pytest.approx(geometry(a, layers=[0], n_boot=2).layer(0)["baseline_anisotropy"].plugin)


def test_emotion_noise_fraction_equals_a_direct_computation():
    """sum_e tr(S_e)/n_e over sum_e |v_e|^2, with numpy's unbiased variances of the prompt rows."""
    rng = np.random.default_rng(3)
    sizes = [3, 5, 4, 6]
    groups_rows = [rng.standard_normal((k, 7)) * 0.5 + rng.standard_normal(7) for k in sizes]
    rows = np.concatenate(groups_rows)
    bounds = np.cumsum([0, *sizes])
    groups = [np.arange(bounds[i], bounds[i + 1]) for i in range(len(sizes))]
    expected = (sum(x.var(axis=0, ddof=1).sum() / len(x) for x in groups_rows)
                / sum(np.sum(x.mean(axis=0) ** 2) for x in groups_rows))
    assert kernels.emotion_noise_fraction(rows @ rows.T, groups) == pytest.approx(expected, rel=1e-12)
    assert np.isnan(kernels.emotion_noise_fraction(rows @ rows.T, [groups[0], np.array([17])]))
    means = np.stack([x.mean(axis=0) for x in groups_rows])
    centred = ((1 - 1 / len(sizes)) * sum(x.var(axis=0, ddof=1).sum() / len(x) for x in groups_rows)
               / np.sum((means - means.mean(axis=0)) ** 2))
    assert kernels.emotion_noise_fraction(rows @ rows.T, groups, centred=True) == pytest.approx(centred, rel=1e-12)
    assert centred > expected  # the common mean (rng.standard_normal(7) each) is in the plain norm, not the centred one


def test_centred_noise_fraction_is_the_noise_in_the_centred_vectors():
    """The numerator is the expected squared norm that the prompt noise adds to the centred emotion vectors: over
    many draws of the prompts, sum_e |vbar_e - mean|^2 exceeds its noise-free value by it on average."""
    rng = np.random.default_rng(4)
    sizes, hidden = [3, 5, 4], 6
    truth = rng.standard_normal((3, hidden)) + 2.0
    sds = [0.5, 1.0, 0.7]
    excess, predicted = [], []
    for _ in range(4000):
        groups_rows = [mu + sd * rng.standard_normal((k, hidden)) for mu, sd, k in zip(truth, sds, sizes)]
        means = np.stack([x.mean(axis=0) for x in groups_rows])
        excess.append(np.sum((means - means.mean(axis=0)) ** 2) - np.sum((truth - truth.mean(axis=0)) ** 2))
    predicted = (1 - 1 / 3) * sum(sd**2 * hidden / k for sd, k in zip(sds, sizes))
    assert np.mean(excess) == pytest.approx(predicted, rel=0.05)


def _layout_mean_cosine(x, idx, groups):
    """Brute force: the mean cosine over pairs of different original rows within a group and over pairs across
    groups, each averaged over the resample's positions, combined with the shares of such pairs in the data."""
    group_of = np.empty(len(x), dtype=int)
    for k, g in enumerate(groups):
        group_of[g] = k
    within, across = [], []
    for a, b in itertools.combinations(range(len(idx)), 2):
        if idx[a] == idx[b]:
            continue
        cos = 1 - pdist(x[[idx[a], idx[b]]], "cosine")[0]
        (within if group_of[idx[a]] == group_of[idx[b]] else across).append(cos)
    sizes = np.array([len(g) for g in groups])
    share = np.sum(sizes * (sizes - 1)) / (sizes.sum() ** 2 - sizes.sum())
    return share * np.mean(within) + (1 - share) * np.mean(across)


def test_mean_pairwise_cosine_of_a_resample_within_groups_keeps_the_layout(rows):
    """Rows resampled within groups (the prompts of each emotion): pairs within and across groups keep the shares
    they have in the data, whatever copies the resample holds; with unit weights the plain mean over pairs."""
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    groups = [np.arange(0, 3), np.arange(3, 7), np.arange(7, 9)]
    ones = np.ones((1, len(rows)))
    assert kernels.mean_pairwise_cosine(ones, unit, groups)[0] == pytest.approx(np.mean(1 - pdist(rows, "cosine")),
                                                                                 abs=1e-13)
    idx = np.array([0, 0, 2, 4, 4, 4, 5, 8, 8])  # 3 rows from each group, with copies
    ours = kernels.mean_pairwise_cosine(_resample_weights(idx, len(rows)), unit, groups)[0]
    assert ours == pytest.approx(_layout_mean_cosine(rows, idx, groups), abs=1e-13)


def test_prompt_anisotropy_resamples_centre_on_the_estimate():
    """Prompts of an emotion nearly alike, emotions far apart: a resample's copies are pairs within an emotion, and
    leaving them out used to move the replicates toward the across-emotion cosines (about 2 of their standard
    deviations here), which the basic interval took for a bias.  Within groups they stay centred."""
    rng = np.random.default_rng(3)
    emotions = rng.standard_normal((10, 100)) + 1.0
    x = (emotions[:, None, :] + 0.3 * rng.standard_normal((10, 10, 100))).reshape(100, 100)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    groups = [np.arange(10 * e, 10 * e + 10) for e in range(10)]
    w = np.concatenate(list(kernels.resampling_weights(5, 1024, [10] * 10)))
    shifts = {}
    for name, g in (("plain", None), ("groups", groups)):
        est = kernels.mean_pairwise_cosine(np.ones((1, 100)), unit, g)[0]
        reps = kernels.mean_pairwise_cosine(w, unit, g)
        shifts[name] = (reps.mean() - est) / reps.std()
    assert shifts["plain"] < -1.0  # what the kernel without the groups does
    assert abs(shifts["groups"]) < 0.15
