"""RDMs, RDM comparisons, the emotion bootstrap's resampled correlation and noise ceilings against
rsatoolbox, where rsatoolbox defines the same quantity."""

import numpy as np
import pytest

rsatoolbox = pytest.importorskip("rsatoolbox")
from rsatoolbox.data import Dataset  # noqa: E402
from rsatoolbox.inference import boot_noise_ceiling  # noqa: E402
from rsatoolbox.rdm import RDMs, calc_rdm, compare  # noqa: E402

from rsastats.compare import compare_rdms, correlate_rows  # noqa: E402
from rsastats.inference._engine import ResamplingEngine  # noqa: E402
from rsastats.inference._inputs import RDMOptions, load_models  # noqa: E402
from rsastats.inference.ceiling import group_bounds  # noqa: E402
from rsastats.rdm import RDM, crossvalidated_rdm, from_rsatoolbox, rdm_matrix, to_rsatoolbox, upper  # noqa: E402
from rsastats.simulate import simulate_activations  # noqa: E402
from rsastats.vectors import prompt_rows  # noqa: E402

N = 9


def _rdms(seed, k=2):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((N, 12))
    out = []
    for i in range(k):
        v = base + 0.7 * rng.standard_normal((N, 12))
        out.append(RDM(rdm_matrix(v, "cosine"), tuple(f"e{j}" for j in range(N)), "cosine", f"m{i}"))
    return out


@pytest.mark.parametrize("ours,theirs", [("spearman", "spearman"), ("pearson", "corr"), ("kendall-b", "tau-b"),
                                         ("kendall-a", "tau-a"), ("rho-a", "rho-a"), ("cosine", "cosine")])
def test_compare_rdms_equals_rsatoolbox(ours, theirs):
    a, b = _rdms(0)
    expected = compare(to_rsatoolbox(a), to_rsatoolbox(b), method=theirs)[0, 0]
    assert abs(compare_rdms(a, b, ours) - expected) < 1e-12


def test_roundtrip_rsatoolbox():
    a, _ = _rdms(1)
    back = from_rsatoolbox(to_rsatoolbox(a))
    np.testing.assert_array_equal(back.matrix, a.matrix)
    assert back.labels == a.labels and back.method == "cosine" and back.source == "m0"
    np.testing.assert_array_equal(to_rsatoolbox(a).get_vectors()[0], upper(a.matrix))


@pytest.mark.parametrize("theirs", ["spearman", "corr", "tau-a", "rho-a", "cosine"])
def test_emotion_resample_equals_rsatoolbox_subsample_pattern(theirs):
    # One emotion bootstrap resample: rsatoolbox materialises it (NaN for the self-pairs that
    # duplicates create, dropped by compare); rsastats weights the original cells.
    ours = {"spearman": "spearman", "corr": "pearson", "tau-a": "kendall-a", "rho-a": "rho-a", "cosine": "cosine"}[theirs]
    a, b = _rdms(2)
    rng = np.random.default_rng(5)
    for _ in range(5):
        idx = rng.integers(0, N, N)
        ra, rb = to_rsatoolbox(a), to_rsatoolbox(b)
        ra.pattern_descriptors["index"] = list(range(N))
        rb.pattern_descriptors["index"] = list(range(N))
        expected = compare(ra.subsample_pattern("index", idx), rb.subsample_pattern("index", idx), method=theirs)[0, 0]
        counts = np.bincount(idx, minlength=N).astype(float)
        iu, ju = np.triu_indices(N, 1)
        got = float(correlate_rows(a.upper(), b.upper(), ours, counts[iu] * counts[ju]))
        assert abs(got - expected) < 1e-12


@pytest.mark.parametrize("ours,theirs", [("spearman", "spearman"), ("pearson", "corr"), ("rho-a", "rho-a"),
                                         ("cosine", "cosine")])
def test_group_noise_ceiling_equals_boot_noise_ceiling(ours, theirs):
    rdms = _rdms(3, k=5)
    stacked = RDMs(np.stack([r.upper() for r in rdms]), dissimilarity_measure="cosine")
    lower, upper_ = boot_noise_ceiling(stacked, method=theirs)
    ours_lower, ours_upper, _, _ = group_bounds(np.stack([r.upper() for r in rdms]), ours)
    assert abs(ours_lower - lower) < 1e-12
    assert abs(ours_upper - upper_) < 1e-12


def _dataset(rows):
    e, p, h = rows.values.shape
    position = np.cumsum(rows.valid, axis=1) - 1
    return lambda folds: Dataset(
        rows.values.reshape(e * p, h),
        obs_descriptors={"emotion": np.repeat(np.arange(e), p), "fold": (position % folds).reshape(-1)},
    )


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # inside rsatoolbox
@pytest.mark.parametrize("folds", [2, 3])
def test_crossvalidated_rdm_equals_rsatoolbox_crossnobis(folds):
    acts = simulate_activations(6, 6, 1, 10, noise=1.0, seed=4)
    rows = prompt_rows(acts)
    expected = calc_rdm(_dataset(rows)(folds), method="crossnobis", descriptor="emotion", cv_descriptor="fold").get_matrices()[0]
    ours = crossvalidated_rdm(rows, folds) / rows.values.shape[-1]  # rsatoolbox divides by the number of channels
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["euclidean", "correlation"])
def test_vector_rdms_equal_rsatoolbox(method):
    v = np.random.default_rng(6).standard_normal((7, 11))
    expected = calc_rdm(Dataset(v), method=method).get_matrices()[0]
    ours = rdm_matrix(v, method)
    if method == "euclidean":
        ours = ours**2 / v.shape[1]  # rsatoolbox: mean squared difference per channel
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12)


def test_engine_emotion_bootstrap_matches_rsatoolbox_draws():
    # The whole emotion-bootstrap distribution, replayed through rsatoolbox with our draws.
    a, b = _rdms(8)
    models = load_models([a, b], RDMOptions())
    engine = ResamplingEngine(models, rank="spearman", scheme="emotions", rdm_method="cosine")
    reps = engine.replicates(np.array([[0, 1]]), 40, 9)[:, 0]
    counts, _ = engine.draws(40, 9)
    ra, rb = to_rsatoolbox(a), to_rsatoolbox(b)
    for r in range(40):
        idx = np.repeat(np.arange(N), counts[r].astype(int))
        if len(np.unique(idx)) < 3:
            continue
        expected = compare(ra.subsample_pattern("emotion", [f"e{i}" for i in idx]),
                           rb.subsample_pattern("emotion", [f"e{i}" for i in idx]), method="spearman")[0, 0]
        assert abs(reps[r] - expected) < 1e-12


@pytest.mark.parametrize("ours,theirs", [("rho-a", "rho-a"), ("cosine", "cosine"), ("spearman", "spearman")])
def test_mantel_null_distribution_equals_rsatoolbox_on_permuted_rdms(ours, theirs):
    # Every permuted statistic of the Mantel test, recomputed by rsatoolbox on the RDM whose labels
    # were permuted (rows and columns together): the gather of transformed cells is exact.
    from rsastats.inference.permutation import draw_permutations, mantel_statistics

    a, b = _rdms(11)
    perms = draw_permutations(N, 30, 4)
    observed, permuted = mantel_statistics(np.asarray(a.matrix), np.asarray(b.matrix), ours, perms, 30, None)
    rb = to_rsatoolbox(b)
    assert abs(observed - compare(to_rsatoolbox(a), rb, method=theirs)[0, 0]) < 1e-12
    for p, stat in zip(perms, permuted):
        moved = RDM(np.asarray(a.matrix)[np.ix_(p, p)], a.labels, "cosine", "moved")
        assert abs(stat - compare(to_rsatoolbox(moved), rb, method=theirs)[0, 0]) < 1e-12
