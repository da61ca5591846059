"""Hypothesis RDMs (rsastats.hypotheses) and the comparison of data RDMs with them
(rsastats.inference.hypotheses): the feature RDM against scipy, every number of a fit against
``compare`` / ``compare_difference`` / ``noise_ceiling`` and a hand computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr, zscore
from scipy.stats import t as student_t

from rsastats.exceptions import FileFormatError, LabelError, ValidationError
from rsastats.hypotheses import FEATURE_RDM, load_hypothesis
from rsastats.inference import compare_difference, compare_models, noise_ceiling
from rsastats.inference.degeneracy import second_order_variance
from rsastats.inference.hypotheses import compare_hypotheses
from rsastats.inference.partial import partial_mantel
from rsastats.inference.settings import streams
from rsastats.inputs import load_model
from rsastats.io import make_rdm, write_dataset
from rsastats.simulate import simulate_activations, true_vectors

FAST = dict(n_boot=80, permutations=199, n_splits=4, seed=7)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hyp")
    tv = true_vectors(9, 16, seed=4)
    rng = np.random.default_rng(1)
    files = []
    for k, shift in enumerate((0.0, 0.4, 1.0)):
        ds = simulate_activations(9, 6, 3, 16, noise=0.7, vectors=tv + shift * rng.standard_normal(tv.shape), seed=k + 1,
                                  attrs={"model": f"m{k}"})
        files.append(write_dataset(ds, tmp / f"m{k}.nc"))
    labels = [str(e) for e in ds["emotion"].values]
    feats = pd.DataFrame({"emotion": labels, "valence": tv[:, 0] * 3 + 5, "arousal": tv[:, 1]})
    feats.to_csv(tmp / "va.csv", index=False)
    other = rng.standard_normal((9, 2))
    rdm = squareform(pdist(other))
    write_dataset(make_rdm(rdm, labels, attrs={"rdm_method": "euclidean", "source": "other"}), tmp / "other.nc")
    tokens = rng.uniform(4, 20, 9)
    write_dataset(make_rdm(np.abs(tokens[:, None] - tokens[None]), labels,
                           attrs={"rdm_method": "euclidean", "source": "tokens"}), tmp / "tokens.nc")
    return {"files": files, "labels": labels, "va": tmp / "va.csv", "other": tmp / "other.nc", "features": feats,
            "tokens": tmp / "tokens.nc", "tmp": tmp}


def test_feature_rdm_is_euclidean_distance_of_zscored_features(case):
    shuffled = case["labels"][::-1]
    h = load_hypothesis(case["va"], shuffled)
    table = case["features"].set_index("emotion").loc[shuffled]
    expected = squareform(pdist(zscore(table.to_numpy(), axis=0, ddof=0)))
    np.testing.assert_allclose(h.rdm.matrix, expected, atol=1e-12)
    assert h.rdm.labels == tuple(shuffled) and h.made_by == FEATURE_RDM and h.features == ("valence", "arousal")


def test_extra_rows_are_left_out_and_named(case):
    h = load_hypothesis(case["va"], case["labels"][:6])
    assert h.rdm.n_emotions == 6 and "3 emotion(s) not in the data left out" in h.note


@pytest.mark.parametrize("edit, error, words", [
    (lambda f: f.iloc[1:], LabelError, "no entry for 1 emotion"),
    (lambda f: f.assign(arousal=2.0), ValidationError, "'arousal' is constant"),
    (lambda f: f.assign(valence=["NaN"] + list(f.valence[1:])), ValidationError, "is NaN"),
    (lambda f: f.assign(valence=[np.nan] + list(f.valence[1:])), ValidationError, "empty value for emotion"),
    (lambda f: pd.concat([f, f.iloc[:1]]), LabelError, "duplicated emotion label"),
    (lambda f: f.assign(valence=["high"] + list(f.valence[1:])), ValidationError, "is not a number"),
    (lambda f: f.rename(columns={"emotion": "word"}), ValidationError, "column named 'emotion'"),
    (lambda f: f[["emotion"]], ValidationError, "at least one numeric feature"),
])
def test_bad_feature_tables_name_the_file(case, edit, error, words):
    path = case["tmp"] / "bad.csv"
    edit(case["features"]).to_csv(path, index=False)
    with pytest.raises(error) as info:
        load_hypothesis(path, case["labels"])
    assert str(info.value).startswith(str(path)) and words in str(info.value)


@pytest.mark.parametrize("write, error, words", [
    (lambda f, p: p.write_bytes(f.to_csv(index=False).replace("valence", "val\u00e9nce").encode("latin-1")),
     FileFormatError, "not UTF-8 text (byte 0xe9 at offset 11)"),
    (lambda f, p: f.to_csv(p, index=False, sep=";"), FileFormatError, "separated by ';', not ','"),
    (lambda f, p: f.to_csv(p, index=False, sep="\t"), FileFormatError, "separated by '\\t', not ','"),
    (lambda f, p: f.assign(emotion=f.emotion.str.upper()).to_csv(p, index=False), LabelError,
     "differ in letter case"),
])
def test_feature_table_encoding_separator_and_case_get_a_clear_line(case, write, error, words):
    path = case["tmp"] / "odd.csv"
    write(case["features"], path)
    with pytest.raises(error) as info:
        load_hypothesis(path, case["labels"])
    assert str(info.value).startswith(str(path)) and words in str(info.value) and "\n" not in str(info.value)


def test_feature_table_with_bom_and_crlf_reads_as_plain(case):
    path = case["tmp"] / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + case["features"].to_csv(index=False).replace("\n", "\r\n").encode())
    np.testing.assert_array_equal(load_hypothesis(path, case["labels"]).rdm.matrix,
                                  load_hypothesis(case["va"], case["labels"]).rdm.matrix)


def test_each_fit_is_compare_of_that_pair(case):
    res = compare_hypotheses(case["files"][:2], [case["va"], case["other"]], **FAST)
    for row in res.fits.itertuples():
        data = case["files"][0] if row.data == "m0" else case["files"][1]
        hyp = load_hypothesis(case["va"] if row.hypothesis == "va" else case["other"], case["labels"]).rdm
        ref = compare_models(data, hyp, ceiling=False, **FAST)
        assert (row.rho, row.ci_low, row.ci_high, row.p_value) == (ref.rho, ref.ci_low, ref.ci_high, ref.p_value)
    for row in res.differences.itertuples():
        data = case["files"][0] if row.data == "m0" else case["files"][1]
        hyps = [load_hypothesis(case[k], case["labels"]).rdm for k in ("va", "other")]
        ref = compare_difference(data, *hyps, n_boot=FAST["n_boot"], seed=FAST["seed"])
        assert row.difference == pytest.approx(ref.difference, abs=1e-15)
        assert (row.ci_low, row.ci_high) == pytest.approx((ref.ci_low, ref.ci_high), abs=1e-12)
        assert row.p_value == pytest.approx(ref.p_value, abs=1e-12)


def test_fit_by_hand(case):
    data, hyp = case["files"][0], load_hypothesis(case["va"], case["labels"])
    res = compare_hypotheses([data], [case["va"]], **FAST)
    row = res.fits.iloc[0]
    upper = load_model(data).rdm.upper()
    h = hyp.rdm.upper()
    assert row.rho == pytest.approx(spearmanr(upper, h)[0], abs=1e-12)
    # Fisher-z jackknife-t interval over emotions, by hand (the second-order excess: test_jackknife_t.py).
    n = len(case["labels"])
    matrix, hm = load_model(data).rdm.matrix, hyp.rdm.matrix
    loo = []
    for e in range(n):
        keep = np.delete(np.arange(n), e)
        iu = np.triu_indices(n - 1, 1)
        loo.append(spearmanr(matrix[np.ix_(keep, keep)][iu], hm[np.ix_(keep, keep)][iu])[0])
    z = np.arctanh(loo)
    v = (n - 1) / n * ((z - z.mean()) ** 2).sum()
    e_max = n / (2 * (n - 1))
    e = min(max(second_order_variance(upper, h, row.rho, "spearman")[0] / v, 0.0), e_max)
    se = np.sqrt(v * (1 - e**3 / e_max**2))
    q = student_t.ppf(0.975, n - 1)
    # Fisher-z ends mapped to the mean on the correlation scale, E[tanh(z_end + se eps)] (by adaptive quadrature here)
    from scipy import integrate
    from scipy.stats import norm

    def mean_tanh(z_end):
        return integrate.quad(lambda x: np.tanh(z_end + se * x) * norm.pdf(x), -12, 12, epsabs=1e-13, limit=200)[0]

    ends = np.arctanh(row.rho) + np.array([-q, q]) * se
    assert (row.ci_low, row.ci_high) == pytest.approx((mean_tanh(ends[0]), mean_tanh(ends[1])), abs=1e-10)
    # The ceiling: sqrt of the split-half reliability (same half splits as the comparison's seed).
    rel = noise_ceiling(data, n_splits=FAST["n_splits"], seed=streams(FAST["seed"]).splits).reliability[0]
    assert row.noise_ceiling == pytest.approx(np.sqrt(rel), abs=1e-12)


def test_group_bounds_and_partial_columns(case):
    res = compare_hypotheses(case["files"], [case["va"]], confounds=[case["tokens"]], **FAST)
    assert res.noise_ceiling["lower"] is not None and len(res.fits) == 3 and res.differences.empty
    hyp = load_hypothesis(case["va"], case["labels"]).rdm
    ref = partial_mantel(case["files"][2], hyp, case["tokens"], n_boot=FAST["n_boot"], permutations=FAST["permutations"],
                         seed=FAST["seed"])
    row = res.fits.iloc[2]
    assert (row.partial_rho, row.partial_ci_low, row.partial_ci_high, row.partial_p_value) == (
        ref.partial_rho, ref.ci_low, ref.ci_high, ref.p_value)


def test_partial_refuses_kendall_and_collinear_confounds(case):
    with pytest.raises(ValidationError, match="spearman or pearson"):
        compare_hypotheses(case["files"][:1], [case["va"]], confounds=[case["tokens"]], rank="kendall", **FAST)
    with pytest.raises(ValidationError, match="collinear"):
        partial_mantel(case["files"][0], case["files"][1], [case["tokens"], case["tokens"]], n_boot=10, permutations=9)


def test_partial_aligns_confounds_by_label_and_its_interval_holds_it(case, tmp_path):
    tokens = load_hypothesis(case["tokens"], case["labels"]).rdm
    order = case["labels"][::-1]
    reordered = tmp_path / "reordered.nc"
    write_dataset(tokens.reorder(order).to_dataset(), reordered)
    a = partial_mantel(case["files"][0], case["files"][1], case["tokens"], n_boot=60, permutations=99)
    b = partial_mantel(case["files"][0], case["files"][1], reordered, n_boot=60, permutations=99)
    assert (a.partial_rho, a.ci_low, a.ci_high, a.p_value) == (b.partial_rho, b.ci_low, b.ci_high, b.p_value)
    assert a.ci_low <= a.partial_rho <= a.ci_high and a.ci_method == "jackknife-t"
    pct = partial_mantel(case["files"][0], case["files"][1], case["tokens"], n_boot=60, permutations=99,
                         ci="percentile")
    reps = np.sort(pct.bootstrap_distribution)
    assert reps[0] <= pct.ci_low < pct.ci_high <= reps[-1] and pct.partial_rho == a.partial_rho


def test_builtin_vader_valence_is_the_shipped_table():
    from rsastats.hypotheses import BUILTIN_HYPOTHESES, hypothesis_emotions
    from rsastats.io.features import read_feature_table

    path = BUILTIN_HYPOTHESES["vader-valence"]
    table = read_feature_table(path)
    assert list(table.columns) == ["valence"] and len(table) == 18
    assert {"afraid", "reflective", "neutral"}.isdisjoint(table.index)
    assert (path.parent / "LICENSE-vaderSentiment.txt").read_text().startswith("The MIT License")
    labels = list(table.index[:9])
    h = load_hypothesis("builtin:vader-valence", labels)
    np.testing.assert_array_equal(h.rdm.matrix, load_hypothesis(path, labels).rdm.matrix)
    assert h.name == "builtin:vader-valence" and hypothesis_emotions("builtin:vader-valence") == tuple(table.index)
    with pytest.raises(ValidationError, match="unknown built-in hypothesis 'builtin:nope'"):
        load_hypothesis("builtin:nope", labels)


@pytest.mark.parametrize("normalization", ["raw", "emotion-mean"])
def test_common_emotions_cuts_the_data_before_its_rdm_is_made(case, normalization):
    """With common_emotions the data are cut to the hypothesis's emotions first: every number equals the
    comparison of data files that hold only those emotions (an emotion-mean normalization included)."""
    import xarray as xr

    from rsastats.io import open_activations

    keep = case["labels"][:7]
    partial_table = case["features"].iloc[:7]
    opts = dict(n_boot=60, permutations=99, n_splits=4, seed=3, normalization=normalization)
    with pytest.raises(LabelError, match="common-emotions"):
        compare_hypotheses(case["files"][:2], [partial_table], **opts)
    cut = compare_hypotheses(case["files"][:2], [partial_table], common_emotions=True, **opts)
    subsets = [open_activations(f).sel(emotion=keep).load() for f in case["files"][:2]]
    direct = compare_hypotheses(subsets, [partial_table], **opts)
    assert cut.left_out == tuple(case["labels"][7:]) and direct.left_out == () and cut.n_emotions == 7
    for col in ("rho", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(cut.fits[col].to_numpy(dtype=float), direct.fits[col].to_numpy(dtype=float),
                                   rtol=0, atol=1e-12)
    assert isinstance(subsets[0], xr.Dataset)


def test_bca_differences_use_the_jackknife_acceleration_as_compare_difference_does(case):
    """``--ci bca``: a difference's BCa interval needs the jackknife of the differences for its acceleration
    (it raised 'the BCa interval needs jackknife estimates' before); equal to compare_difference's."""
    res = compare_hypotheses(case["files"][:1], [case["va"], case["other"]], ci="bca", **FAST)
    hyps = [load_hypothesis(case[k], case["labels"]).rdm for k in ("va", "other")]
    ref = compare_difference(case["files"][0], *hyps, n_boot=FAST["n_boot"], seed=FAST["seed"], ci="bca")
    row = res.differences.iloc[0]
    assert res.difference_ci_method == "bca" and np.isfinite(row["ci_low"])
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high), abs=1e-12)


def test_a_missing_interval_says_why_in_the_json_and_the_table(tmp_path):
    """A hypothesis that is the data's own RDM: every leave-one-out rho is 1, so the jackknife interval is missing;
    ``ci_note`` says why (as compare's does), the other rows have ``""``, and the table marks the cell."""
    import warnings

    from click.testing import CliRunner

    from rsastats.cli import cli
    from rsastats.rdm import RDM

    rng = np.random.default_rng(0)
    n = 8
    labels = tuple(f"e{i}" for i in range(n))
    mats = []
    for _ in range(2):
        v = rng.standard_normal((n, 5))
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        mats.append(1 - v @ v.T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = compare_hypotheses([RDM(mats[0], labels, "cosine", "data")],
                                 [RDM(mats[0], labels, "cosine", "same"), RDM(mats[1], labels, "cosine", "other")],
                                 n_boot=50, permutations=99)
    same, other = res.fits.iloc[0], res.fits.iloc[1]
    assert np.isnan(same["ci_low"]) and "no leave-one-out value differs" in same["ci_note"]
    assert np.isfinite(other["ci_low"]) and other["ci_note"] == ""
    assert list(res.differences["ci_note"]) == [""]
    paths = []
    for name, m in (("data", mats[0]), ("same", mats[0])):
        path = tmp_path / f"{name}.nc"
        write_dataset(make_rdm(m, list(labels), attrs={"model": name}), path)
        paths.append(str(path))
    out = CliRunner().invoke(cli, ["hypotheses", paths[0], "--models", paths[1], "--n-boot", "50",
                                    "--permutations", "99"])
    assert out.exit_code == 0, out.output
    import re

    mark = re.search(r"\[(\d+)\] no leave-one-out value differs", out.output)
    assert mark and f"(no CI) [{mark.group(1)}]" in out.output  # the cell points to the note


def test_a_hypothesis_that_is_also_a_confound_gets_no_partial_rho_and_says_why(case):
    """Given itself, a hypothesis has no partial rho: that row's partial columns are null with the reason, the other
    rows keep theirs (until 2026-12-07 the whole command stopped with an error)."""
    res = compare_hypotheses([case["files"][0], case["files"][1]], [case["va"], case["tokens"]],
                             confounds=[case["tokens"]], n_boot=100, permutations=99, seed=0)
    fits = res.fits.set_index(["data", "hypothesis"])
    alone = partial_mantel(case["files"][0], load_hypothesis(case["va"], case["labels"]).rdm, [case["tokens"]],
                           n_boot=100, permutations=99, seed=0)
    for data in fits.index.get_level_values(0).unique():
        itself = fits.loc[(data, "tokens")]
        assert np.isnan(itself["partial_rho"]) and np.isnan(itself["partial_p_value"])
        assert "no partial rho: the confounds explain" in itself["partial_ci_note"]
        assert np.isfinite(fits.loc[(data, "va"), "partial_rho"])
    assert fits.loc[("m0", "va"), "partial_rho"] == pytest.approx(alone.partial_rho, abs=1e-12)


def test_an_incomplete_jackknife_gives_no_interval_and_says_why():
    """A binary hypothesis with one emotion alone in its category: without that emotion its RDM is constant, so that
    leave-one-out rho is undefined.  It is the emotion rho depends on most; until 2026-12-07 the jackknife dropped it
    and formed the interval from the other n - 1 values (too narrow).  Now rho has no jackknife interval and the
    note says why, in `compare`, `hypotheses` and the difference of two fits; a bootstrap interval is still given."""
    from rsastats.rdm import RDM, rdm_matrix

    labels = tuple(f"e{i}" for i in range(10))
    x = np.random.default_rng(0).standard_normal((10, 3))
    data = RDM(rdm_matrix(x, "euclidean"), labels, "euclidean", "data")
    alone = np.array([1.0] + [0.0] * 9)[:, None]
    binary = RDM(np.abs(alone - alone.T), labels, "euclidean", "binary")
    with pytest.warns(Warning, match="jackknife is incomplete"):
        res = compare_models(data, binary, n_boot=100, permutations=99, ceiling=False)
    assert np.isnan(res.ci_low) and np.isnan(res.ci_high) and "1 of the 10 emotions" in res.ci_note
    assert np.isfinite(compare_models(data, binary, n_boot=200, permutations=99, ceiling=False, ci="percentile").ci_low)
    features = pd.DataFrame({"emotion": labels, "group": alone[:, 0], "other": x[:, 0]})
    fits = compare_hypotheses([data], [features[["emotion", "group"]], features[["emotion", "other"]]], n_boot=100,
                              permutations=99, ceiling=False).fits.set_index("hypothesis")
    assert np.isnan(fits.loc["features", "ci_low"]) and "jackknife is incomplete" in fits.loc["features", "ci_note"]
    assert np.isfinite(fits.loc["features#2", "ci_low"])
    diff = compare_difference(data, binary, RDM(rdm_matrix(x[:, ::-1] ** 2, "euclidean"), labels, "euclidean", "c"),
                              n_boot=100)
    assert np.isnan(diff.ci_low) and diff.ci_note
