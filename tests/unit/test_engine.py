"""The resampling engine equals a naive loop (resample -> means -> normalization -> RDM -> scipy),
for every scheme, route, normalization, RDM method and rank method; and it is reproducible."""

import numpy as np
import pytest
import scipy.stats as st
from scipy.spatial.distance import pdist, squareform

from rsastats.measures.kernels import weighted_kendall
from rsastats.inference.engine import ResamplingEngine, all_pairs
from rsastats.inputs import RDMOptions, load_models
from rsastats.simulate import simulate_activations, true_vectors
from rsastats.vectors import apply_post

E, P, H = 7, 5, 12


def _models(normalization="raw", rdm="cosine", k=2, same_prompts=True, valid=None):
    tv = true_vectors(E, H, seed=3)
    out = []
    for i in range(k):
        noisy = tv + 0.3 * np.random.default_rng(10 + i).standard_normal(tv.shape) / np.sqrt(H)
        ds = simulate_activations(E, P + (0 if same_prompts or i == 0 else 1), 2, H, noise=1.0, vectors=noisy,
                                  n_baseline=8, seed=i + 1)
        if valid is not None and i == 0:
            from rsastats.io import make_activations
            ds = make_activations(ds["activations"].values, list(ds["emotion"].values), valid=valid,
                                  baseline=ds["baseline"].values, attrs=dict(ds.attrs))
        out.append(ds)
    return load_models(out, RDMOptions(rdm=rdm, normalization=normalization))


def _naive_rdm(values, counts, post, rdm):
    means = (counts[:, :, None] * values).sum(axis=1) / counts.sum(axis=1)[:, None]
    v = apply_post(means, post)
    return squareform(pdist(v, rdm))


def _naive_corr(x, y, rank):
    if rank == "spearman":
        return st.spearmanr(x, y).statistic
    if rank == "pearson":
        return st.pearsonr(x, y).statistic
    if rank == "kendall-b":
        return st.kendalltau(x, y).statistic
    n = len(x)
    s = sum(np.sign(x[i] - x[j]) * np.sign(y[i] - y[j]) for i in range(n) for j in range(i + 1, n))
    return s / (n * (n - 1) / 2)


def _naive_replicates(models, engine, n_boot, seed, rank, rdm, pairs):
    ec, pc = engine.draws(n_boot, seed)
    out = np.empty((n_boot, len(pairs)))
    for r in range(n_boot):
        rdms = []
        for k, m in enumerate(models):
            if pc is None:
                rdms.append(np.asarray(m.rdm.matrix))
            else:
                g = next(gi for gi, grp in enumerate(engine.groups) if k in grp.members)
                rdms.append(_naive_rdm(m.rows.values, pc[g][r], m.rows.post, rdm))
        if ec is not None:
            idx = np.repeat(np.arange(E), ec[r].astype(int))
            iu, ju = np.triu_indices(len(idx), 1)
            keep = idx[iu] != idx[ju]  # drop the self-pairs duplicates create
            cells = [d[idx[iu[keep]], idx[ju[keep]]] for d in rdms]
        else:
            iu, ju = np.triu_indices(E, 1)
            cells = [d[iu, ju] for d in rdms]
        for k, (i, j) in enumerate(pairs):
            if np.all(cells[i] == cells[i][0]) or np.all(cells[j] == cells[j][0]):
                out[r, k] = np.nan
            else:
                out[r, k] = _naive_corr(cells[i], cells[j], rank)
    return out


@pytest.mark.parametrize("scheme", ["emotions", "prompts", "both"])
@pytest.mark.parametrize("gram", [True, False])
def test_equals_naive_loop_across_schemes_and_routes(scheme, gram):
    models = _models(k=3)
    engine = ResamplingEngine(models, rank="spearman", scheme=scheme, rdm_method="cosine", gram=gram)
    pairs = all_pairs(3)
    got = engine.replicates(pairs, 70, 11)
    np.testing.assert_allclose(got, _naive_replicates(models, engine, 70, 11, "spearman", "cosine", pairs), rtol=0, atol=1e-12)


@pytest.mark.parametrize("normalization", ["raw", "emotion-mean", "baseline-mean", "neutral-pc", "unit", "zscore"])
@pytest.mark.parametrize("rdm", ["cosine", "correlation", "euclidean"])
@pytest.mark.parametrize("gram", [None, True])  # None: the cost rule picks the direct route at this size
def test_equals_naive_loop_for_normalizations_and_rdms(normalization, rdm, gram):
    models = _models(normalization, rdm)
    engine = ResamplingEngine(models, rank="spearman", scheme="both", rdm_method=rdm, gram=gram)
    pairs = all_pairs(2)
    got = engine.replicates(pairs, 30, 5)
    np.testing.assert_allclose(got, _naive_replicates(models, engine, 30, 5, "spearman", rdm, pairs), rtol=0, atol=1e-12)
    np.testing.assert_allclose(engine.point(pairs)[0], _naive_corr(models[0].rdm.upper(), models[1].rdm.upper(), "spearman"),
                               atol=1e-12)


@pytest.mark.parametrize("rank", ["pearson", "kendall-b", "kendall-a"])
@pytest.mark.parametrize("scheme", ["emotions", "both"])
def test_equals_naive_loop_for_rank_methods(rank, scheme):
    models = _models()
    engine = ResamplingEngine(models, rank=rank, scheme=scheme, rdm_method="cosine")
    pairs = all_pairs(2)
    got = engine.replicates(pairs, 25, 3)
    np.testing.assert_allclose(got, _naive_replicates(models, engine, 25, 3, rank, "cosine", pairs), rtol=0, atol=1e-12)


def test_unpaired_prompts_and_invalid_prompts():
    valid = np.ones((E, P), dtype=np.int8)
    valid[1, :2] = 0
    valid[4, 3] = 0
    models = _models(valid=valid)  # the first file has holes: its prompts are resampled on their own
    engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine")
    assert len(engine.groups) == 2
    counts = engine.draws(20, 1)[1][0]
    assert counts[:, 1, :2].sum() == 0 and (counts[:, 1].sum(axis=1) == 3).all()
    pairs = all_pairs(2)
    np.testing.assert_allclose(engine.replicates(pairs, 20, 1),
                               _naive_replicates(models, engine, 20, 1, "spearman", "cosine", pairs), atol=1e-12)
    different = _models(same_prompts=False)
    assert len(ResamplingEngine(different, rank="spearman", scheme="prompts", rdm_method="cosine").groups) == 2


def test_paired_models_share_prompt_draws():
    models = _models(k=3)
    engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine")
    assert len(engine.groups) == 1 and engine.groups[0].members == [0, 1, 2]


@pytest.mark.parametrize("scheme", ["emotions", "prompts", "both"])
def test_bit_identical_for_any_batch_size_and_prefix(scheme):
    models = _models(k=3)
    engine = ResamplingEngine(models, rank="spearman", scheme=scheme, rdm_method="cosine")
    pairs = all_pairs(3)
    ref = engine.replicates(pairs, 150, 42, batch_size=256)
    for bs in (1, 7, 64, 65, 149):
        assert np.array_equal(engine.replicates(pairs, 150, 42, batch_size=bs), ref, equal_nan=True)
    assert np.array_equal(engine.replicates(pairs, 90, 42), ref[:90], equal_nan=True)
    assert not np.array_equal(engine.replicates(pairs, 150, 43), ref, equal_nan=True)


@pytest.mark.parametrize("scheme", ["emotions", "prompts", "both"])
def test_jackknife_equals_leave_one_out(scheme):
    models = _models()
    engine = ResamplingEngine(models, rank="spearman", scheme=scheme, rdm_method="cosine")
    pairs = all_pairs(2)
    strata = engine.jackknife(pairs)
    expected = []
    iu, ju = np.triu_indices(E, 1)
    full = [m.rows.valid.astype(float) for m in models]
    rdms = [_naive_rdm(m.rows.values, f, "none", "cosine") for m, f in zip(models, full)]
    if scheme in ("emotions", "both"):
        vals = []
        for i in range(E):
            keep = np.delete(np.arange(E), i)
            sub = [d[np.ix_(keep, keep)][np.triu_indices(E - 1, 1)] for d in rdms]
            vals.append(st.spearmanr(*sub).statistic)
        expected.append(np.array(vals))
    if scheme in ("prompts", "both"):
        for e in range(E):
            vals = []
            for p in range(P):
                counts = [f.copy() for f in full]
                for c in counts:
                    c[e, p] = 0
                d = [_naive_rdm(m.rows.values, c, "none", "cosine")[iu, ju] for m, c in zip(models, counts)]
                vals.append(st.spearmanr(*d).statistic)
            expected.append(np.array(vals))
    assert len(strata) == len(expected)
    for got, exp in zip(strata, expected):
        np.testing.assert_allclose(got[:, 0], exp, atol=1e-12)


def test_prompt_bootstrap_needs_activations(vectors_ds):
    acts = simulate_activations(6, 4, 1, 8, seed=2)
    acts = acts.assign_coords(emotion=list(vectors_ds["emotion"].values))
    models = load_models([acts, vectors_ds], RDMOptions())
    from rsastats.exceptions import ValidationError
    with pytest.raises(ValidationError, match="needs per-prompt activations"):
        ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine")


def test_weighted_kendall_handles_duplicates_like_expansion():
    x = np.array([0.1, 0.5, 0.3, 0.3, 0.9])
    y = np.array([1.0, 0.2, 0.4, 0.8, 0.8])
    w = np.array([2.0, 1.0, 0.0, 3.0, 1.0])
    xe, ye = np.repeat(x, w.astype(int)), np.repeat(y, w.astype(int))
    assert abs(weighted_kendall(x, y, w, "b") - st.kendalltau(xe, ye).statistic) < 1e-12


@pytest.mark.parametrize("gram", [True, False])
def test_models_of_different_widths_share_prompt_resamples(gram):
    """Two models that read the same prompts but have different hidden sizes (SmolLM2 576, MiniLM 384)
    are resampled together (one group) and each uses its own width."""
    tv = true_vectors(E, H, seed=3)
    wide = simulate_activations(E, P, 2, H, vectors=tv, seed=1)
    narrow = simulate_activations(E, P, 2, H // 2, vectors=tv[:, : H // 2], seed=2)
    models = load_models([wide, narrow, wide.copy()], RDMOptions())
    engine = ResamplingEngine(models, rank="spearman", scheme="both", rdm_method="cosine", gram=gram)
    assert len(engine.groups) == 1
    pairs = all_pairs(3)
    got = engine.replicates(pairs, 40, 7)
    np.testing.assert_allclose(got, _naive_replicates(models, engine, 40, 7, "spearman", "cosine", pairs), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kwargs", [{}, {"centre": True, "scale": "rank-variance"}])
def test_a_resample_without_cells_is_undefined_without_numpy_warnings(kwargs):
    """A resample of one emotion (all cell weights 0) gives NaN, not numpy's 'invalid value' RuntimeWarning,
    which used to reach the command line as 'warning: invalid value encountered in divide'."""
    import warnings

    from rsastats.measures.kernels import scale_rows, standardize

    values = np.arange(6.0).reshape(1, 6)
    weights = np.zeros((1, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        z, ok = scale_rows(values, weights, **kwargs) if kwargs else standardize(values, weights)
    assert not ok.any() and np.isnan(z).all()


@pytest.mark.parametrize("rank", ["spearman", "pearson", "kendall-b", "rho-a"])
@pytest.mark.parametrize("normalization,rdm", [("raw", "cosine"), ("raw", "euclidean"), ("emotion-mean", "cosine")])
def test_both_scheme_skips_emotions_not_drawn_without_changing_a_bit(rank, normalization, rdm):
    """The cells of emotions a resample did not draw are not computed (stand-ins of weight 0): every correlation is
    the one with every cell computed, bit for bit, for each measure and for the routes with and without the skip."""
    models = _models(normalization=normalization, rdm=rdm, k=3)
    engine = ResamplingEngine(models, rank=rank, scheme="both", rdm_method=rdm, gram=True)
    pairs = all_pairs(3)
    ec, pc = engine.draws(100, 11)
    assert (ec == 0).any(axis=1).mean() > 0.9  # nearly every resample leaves an emotion out
    weights = (ec[:, engine.iu] * ec[:, engine.ju])[None]
    every_cell = engine._correlate(engine.rdm_uppers(pc), weights, pairs, None)
    assert np.array_equal(engine.evaluate(pairs, ec, pc), every_cell, equal_nan=True)
    skipped = engine.replicates(pairs, 130, 3)
    engine.skip_absent = False  # the former route, as benchmarks/bench_inference.py times it
    assert np.array_equal(engine.replicates(pairs, 130, 3), skipped, equal_nan=True)
