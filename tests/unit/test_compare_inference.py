"""compare_rdms, bootstrap_rho, noise ceilings, compare_models/difference/all: behaviour and bad input."""

import numpy as np
import pytest
import scipy.stats as st

from rsastats.compare import compare_rdms
from rsastats.exceptions import LabelError, ValidationError
from rsastats.inference import (adjust_pvalues, bootstrap_rho, compare_all, compare_difference, compare_models,
                                noise_ceiling)
from rsastats.inference.ceiling import spearman_brown
from rsastats.rdm import RDM, rdm_matrix, rdm_from_dataset
from rsastats.simulate import simulate_activations, true_vectors

E = 8


@pytest.fixture(scope="module")
def trio():
    tv = true_vectors(E, 16, seed=3)
    rng = np.random.default_rng(0)
    a = simulate_activations(E, 6, 2, 16, noise=0.8, vectors=tv, seed=1, attrs={"model": "A"})
    b = simulate_activations(E, 6, 2, 16, noise=0.8, vectors=tv + 0.1 * rng.standard_normal(tv.shape), seed=2, attrs={"model": "B"})
    c = simulate_activations(E, 6, 2, 16, noise=0.8, seed=9, attrs={"model": "C"})
    return a, b, c


def test_compare_rdms_aligns_by_label_and_refuses_different_sets():
    v = np.random.default_rng(1).standard_normal((6, 5))
    labels = tuple("abcdef")
    a = RDM(rdm_matrix(v), labels, source="A")
    w = v + np.random.default_rng(2).standard_normal((6, 5))
    b = RDM(rdm_matrix(w), labels, source="B")
    order = list("fbdace")
    shuffled = b.reorder(order)
    assert compare_rdms(a, shuffled) == pytest.approx(compare_rdms(a, b), abs=1e-15)
    assert compare_rdms(a, b) == pytest.approx(st.spearmanr(a.upper(), b.upper()).statistic, abs=1e-12)
    other = RDM(np.asarray(b.matrix), tuple("abcdeg"), source="B")
    with pytest.raises(LabelError, match=r"emotion sets differ \(only in A: f; only in B: g\)"):
        compare_rdms(a, other)


def test_compare_rdms_bad_input():
    v = np.random.default_rng(1).standard_normal((3, 5))
    with pytest.raises(ValidationError, match="at least 4 emotions"):
        compare_rdms(rdm_matrix(v), rdm_matrix(v + 1))
    flat = np.ones((5, 5)) - np.eye(5)
    with pytest.raises(ValidationError, match="constant"):
        compare_rdms(flat, rdm_matrix(np.random.default_rng(0).standard_normal((5, 3))))


@pytest.mark.parametrize("scheme", ["emotions", "prompts", "both"])
@pytest.mark.parametrize("ci", ["percentile", "basic", "bca"])
@pytest.mark.filterwarnings("ignore:200 replicates are too few")
def test_bootstrap_rho_runs_and_is_reproducible(trio, scheme, ci):
    a, b, _ = trio
    r1 = bootstrap_rho(a, b, scheme=scheme, ci=ci, n_boot=200, seed=5)
    r2 = bootstrap_rho(a, b, scheme=scheme, ci=ci, n_boot=200, seed=5, batch_size=17)
    assert r1.to_dict() == r2.to_dict()
    assert np.array_equal(r1.bootstrap_distribution, r2.bootstrap_distribution)
    assert -1 <= r1.ci_low <= r1.ci_high <= 1
    expected = compare_rdms(rdm_from_dataset(a), rdm_from_dataset(b))
    assert r1.estimate == pytest.approx(expected, abs=1e-12)
    assert r1.bootstrap_distribution.size + r1.n_undefined == 200
    assert (r1.acceleration is not None) == (ci == "bca")


def test_bootstrap_bad_input(trio, vectors_ds):
    a, b, _ = trio
    for kwargs, match in [({"n_boot": 0}, "n_boot must be >= 2"), ({"n_boot": 1}, "n_boot must be >= 2"), ({"confidence": 1.0}, "confidence"),
                          ({"confidence": 0}, "confidence"), ({"ci": "studentized"}, "interval method"),
                          ({"scheme": "subjects"}, "bootstrap scheme")]:
        with pytest.raises(ValidationError, match=match):
            bootstrap_rho(a, b, **kwargs)
    vec = vectors_ds.assign_coords(emotion=list(a["emotion"].values[:6]))
    with pytest.raises(LabelError, match="emotion sets differ"):
        bootstrap_rho(a, vec)


def test_spearman_brown():
    assert spearman_brown(0.5) == pytest.approx(2 / 3)
    assert spearman_brown(0.0) == 0.0 and spearman_brown(1.0) == 1.0
    # a reliability is a correlation: below r = -1/3 the formula leaves [-1, 1] (-2 at -0.5) and is floored at -1
    assert spearman_brown(-0.25) == pytest.approx(-2 / 3) and spearman_brown(-0.5) == -1.0
    assert spearman_brown(-1.0) == -1.0 and np.isnan(spearman_brown(float("nan")))


def test_split_half_reliability_equals_naive(trio):
    a, b, _ = trio
    res = noise_ceiling([a, b], n_splits=8, seed=3)
    # Naive: same splits (drawn as the engine draws them), means -> cosine RDM -> spearmanr.
    from rsastats.inference.engine import ResamplingEngine
    from rsastats.inputs import RDMOptions, load_models
    from rsastats.inference.ceiling import split_counts
    models = load_models([a, b], RDMOptions())
    engine = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine")
    first, second = split_counts(engine, 8, 3)[0]
    iu, ju = np.triu_indices(E, 1)
    for k, m in enumerate(models):
        rhos = []
        for s in range(8):
            d = []
            for c in (first[s], second[s]):
                v = (c[:, :, None] * m.rows.values).sum(1) / c.sum(1)[:, None]
                d.append(rdm_matrix(v)[iu, ju])
            rhos.append(st.spearmanr(*d).statistic)
        assert res.split_half[k] == pytest.approx(np.mean(rhos), abs=1e-12)
        assert res.reliability[k] == pytest.approx(2 * np.mean(rhos) / (1 + np.mean(rhos)), abs=1e-12)
    assert res.lower is None and res.pair_ceiling[("A", "B")] == pytest.approx(np.sqrt(res.reliability[0] * res.reliability[1]))


def test_noise_ceiling_group_and_errors(trio, rdm_ds):
    a, b, c = trio
    res = noise_ceiling([a, b, c], n_splits=4, seed=1)
    assert res.lower is not None and res.lower <= res.upper
    assert len(res.to_frame()) == 3
    with pytest.raises(ValidationError, match="needs activations"):
        noise_ceiling([rdm_ds])


def test_spearman_brown_reliability_predicts_replication(trio):
    # The Spearman-Brown split-half reliability estimates the correlation between two
    # independent full-size replications of the same model's RDM (at moderate noise; under heavy
    # noise it runs low: docs/calibration.md).
    tv = true_vectors(E, 32, seed=3)
    reps = [simulate_activations(E, 12, 1, 32, noise=1.0, vectors=tv, seed=100 + s) for s in range(40)]
    rel = np.mean(noise_ceiling(reps[:20], n_splits=20, seed=0).reliability)
    between = np.mean([compare_rdms(rdm_from_dataset(reps[i]), rdm_from_dataset(reps[i + 1])) for i in range(0, 40, 2)])
    assert abs(rel - between) < 0.08


def test_compare_models_everything(trio):
    a, b, _ = trio
    res = compare_models(a, b, n_boot=200, permutations=499, n_splits=5, seed=3)
    d = res.to_dict()
    for key in ("rho", "ci_low", "ci_high", "ci_method", "confidence", "p_value", "n_permutations", "n_boot", "bootstrap",
                "rank", "rdm", "layer", "n_emotions", "seed", "reliability_a", "reliability_b", "noise_ceiling",
                "rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note", "split_half_a", "split_half_b"):
        assert key in d
    assert d["bootstrap"] == "emotions" and d["ci_method"] == "jackknife-t" and d["n_emotions"] == E
    assert d["layer"] == "layer 1" and "rho_disattenuated" not in d and "bias_corrected" not in d
    assert res.ci_low <= res.rho <= res.ci_high and res.corrected_ci_low <= res.rho_corrected <= res.corrected_ci_high
    assert res.noise_ceiling == pytest.approx(np.sqrt(res.reliability_a * res.reliability_b))
    assert res.reliability_a == pytest.approx(2 * res.split_half_a / (1 + res.split_half_a))
    assert compare_models(a, b, n_boot=200, permutations=499, n_splits=5, seed=3).to_dict() == d


def test_compare_difference_is_paired(trio):
    a, b, c = trio
    res = compare_difference(a, b, c, n_boot=300, seed=2)
    assert res.difference == pytest.approx(res.rho_ab - res.rho_ac)
    assert res.ci_low <= res.difference <= res.ci_high and 0 < res.p_value <= 1
    same = compare_difference(a, b, b, n_boot=50, seed=2)
    assert same.difference == 0 and np.all(same.bootstrap_distribution == 0)  # perfectly paired


def test_compare_all(trio):
    res = compare_all(list(trio), n_boot=100, permutations=199, n_splits=4, seed=1)
    table = res.to_frame()
    assert list(table[["a", "b"]].itertuples(index=False, name=None)) == [("A", "B"), ("A", "C"), ("B", "C")]
    np.testing.assert_allclose(table["p_adjusted"], adjust_pvalues(table["p_value"], "holm"))
    assert res.rho_matrix().loc["B", "A"] == table.loc[0, "rho"]
    bh = compare_all(list(trio), n_boot=100, permutations=199, adjust="bh", ceiling=False, seed=1, ci="percentile")
    np.testing.assert_allclose(bh.to_frame()["p_adjusted"], adjust_pvalues(table["p_value"], "bh"))
    again = compare_all(list(trio), n_boot=100, permutations=199, n_splits=4, seed=1, ci="percentile")
    np.testing.assert_array_equal(bh.to_frame()["ci_low"], again.to_frame()["ci_low"])  # same seed, same resamples
    # every pair of compare_all is the pair of compare_models
    one = compare_models(trio[0], trio[2], n_boot=100, permutations=199, n_splits=4, seed=1)
    row = table.iloc[1]
    assert (row.rho, row.ci_low, row.ci_high) == (one.rho, one.ci_low, one.ci_high)
    assert (row.rho_corrected, row.corrected_ci_low, row.noise_ceiling) == pytest.approx(
        (one.rho_corrected, one.corrected_ci_low, one.noise_ceiling), rel=1e-12)

def test_compare_all_to_dict_gives_none_where_a_value_is_not_given(trio, monkeypatch):
    """A withheld rho_corrected is None in to_dict, as in compare_models' (the frame holds NaN)."""
    from rsastats.inference import corrected

    one = compare_models(trio[0], trio[1], n_boot=100, permutations=199, n_splits=4, seed=1)
    halves = sorted({one.split_half_a, one.split_half_b,
                     compare_models(trio[0], trio[2], n_boot=100, permutations=199, n_splits=4, seed=1).split_half_b})
    assert halves[0] < halves[1]
    # between the models' split-half correlations: the pairs with the least reliable model are withheld, the others not
    monkeypatch.setattr(corrected, "MIN_SPLIT_HALF", (halves[0] + halves[1]) / 2)
    pairs = compare_all(list(trio), n_boot=100, permutations=199, n_splits=4, seed=1).to_dict()["pairs"]
    withheld = [p for p in pairs if p["corrected_note"].startswith("rho_corrected and the noise ceiling not given")]
    assert 0 < len(withheld) < len(pairs)
    assert all(p["rho_corrected"] is None and p["corrected_ci_low"] is None for p in withheld)
    assert all(isinstance(p["rho_corrected"], float) for p in pairs if p not in withheld)


def test_adjust_bad_input():
    with pytest.raises(ValidationError, match="adjustment"):
        adjust_pvalues([0.1], "bonferroni")
    with pytest.raises(ValidationError, match=r"\[0, 1\]"):
        adjust_pvalues([0.1, 1.2])


def test_rho_corrected_and_the_ceiling_need_a_minimum_of_emotions():
    """Below MIN_CORRECTED_EMOTIONS the interval under-covered (docs/calibration.md, 'Fewer than 8 emotions'):
    rho_corrected and the noise ceiling are None with the reason; at the minimum they are given."""
    from rsastats.inference.corrected import MIN_CORRECTED_EMOTIONS

    def pair(n):
        v = true_vectors(n, 64, seed=5)
        return [simulate_activations(n, 8, 1, 64, noise=0.3, vectors=v, seed=20 + i, attrs={"model": f"m{i}"})
                for i in range(2)]

    few = compare_models(*pair(MIN_CORRECTED_EMOTIONS - 1), n_boot=100, permutations=99)
    assert few.rho_corrected is None and few.noise_ceiling is None and few.corrected_ci_low is None
    assert f">= {MIN_CORRECTED_EMOTIONS} emotions ({MIN_CORRECTED_EMOTIONS - 1} here)" in few.corrected_note
    assert few.ceiling_note == few.corrected_note and np.isfinite(few.ci_low)
    enough = compare_models(*pair(MIN_CORRECTED_EMOTIONS), n_boot=100, permutations=99)
    assert enough.rho_corrected is not None and enough.corrected_note.startswith(("", "clipped"))
    assert enough.corrected_ci_low <= enough.rho_corrected <= enough.corrected_ci_high


def test_ceiling_rule_and_stepped_up_reliability():
    """A reliability is Spearman-Brown of a positive split-half correlation only (at -0.5 the formula gives -2);
    pair ceilings of a noise-ceiling dict are withheld by the same rule as rho_corrected's."""
    from rsastats.inference.corrected import MIN_SPLIT_HALF, ceiling_withheld, screen_ceilings, stepped_up

    assert stepped_up(0.5) == pytest.approx(2 / 3) and stepped_up(-0.5) is None and stepped_up(None) is None
    assert ceiling_withheld(0.9, 8) == "" and "below" in ceiling_withheld(MIN_SPLIT_HALF / 2, 8)
    nc = {"models": [{"name": "a", "split_half": 0.9, "reliability": 0.95}, {"name": "b", "split_half": 0.1,
                                                                             "reliability": 0.18},
                     {"name": "c", "split_half": 0.8, "reliability": 0.89}],
          "pair_ceiling": [{"a": "a", "b": "b", "ceiling": 0.41}, {"a": "a", "b": "c", "ceiling": 0.92}]}
    out = screen_ceilings(nc, 8)
    assert [m["reliability"] for m in out["models"]] == [0.95, None, 0.89]
    assert out["pair_ceiling"][0]["ceiling"] is None and "0.100 is below" in out["pair_ceiling"][0]["note"]
    assert out["pair_ceiling"][1] == {"a": "a", "b": "c", "ceiling": 0.92, "note": ""}
    below = screen_ceilings(nc, 8, {("a", "c"): -0.95})["pair_ceiling"][1]
    assert below["ceiling"] is None and "below |rho| (0.950)" in below["note"]


def test_rho_corrected_is_withheld_when_its_bca_interval_excludes_it():
    """Near the bound rho_corrected's interval is BCa.  More than 97.5% of the resamples above the estimate: BCa
    moves both ends above it.  rho_corrected is then None with a note, not printed beside an interval that
    excludes it."""
    from rsastats.inference.corrected import _pair_result
    from rsastats.inference.corrected_ci import bca_near_bound

    rng = np.random.default_rng(0)
    reps = 0.8 + 0.02 * rng.standard_normal(2000)
    reps[:10] = 0.4  # 0.5% below the estimate: z0 = 2.6
    jack = 0.5 + 0.01 * rng.standard_normal(21)
    aa = np.array([0.9, 0.9])
    out = _pair_result(0, 1, 0.5, aa, 0.4, None, bca_near_bound(0.5, reps, jack, 0.95), 4)
    assert out.rho_corrected is None and out.corrected_ci_low is None
    assert "excludes the estimate 0.500" in out.corrected_note and out.noise_ceiling is not None
    fine = _pair_result(0, 1, 0.8, aa, 0.4, None, bca_near_bound(0.8, reps, jack + 0.3, 0.95), 4)
    assert fine.corrected_ci_low <= fine.rho_corrected <= fine.corrected_ci_high
    assert fine.corrected_ci_method == "bca" and "near the bound" in fine.corrected_note
    given = _pair_result(0, 1, 0.8, aa, 0.4, (0.7, 0.88), None, 4)
    assert (given.rho_corrected, given.corrected_ci_low, given.corrected_ci_high) == (0.8, 0.7, 0.88)
    assert given.corrected_ci_method == "jackknife-t" and given.corrected_note == ""


def test_bootstrap_rho_says_why_it_has_no_interval():
    """``bootstrap_rho`` had no ``ci_note``: where its interval was null only a warning said why (2026-12-07)."""
    import warnings

    from rsastats.io import make_activations

    rng = np.random.default_rng(0)
    few = [make_activations(rng.standard_normal((4, 3, 1, 5)), list("abcd")) for _ in range(2)]
    enough = [make_activations(rng.standard_normal((8, 3, 1, 5)), list("abcdefgh")) for _ in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        thin = bootstrap_rho(*few, n_boot=50, seed=0)
    assert np.isnan(thin.ci_low) and thin.ci_note == "the jackknife-t interval needs at least 5 emotions (4 here)"
    given = bootstrap_rho(*enough, n_boot=50, seed=0)
    assert np.isfinite(given.ci_low) and given.ci_note == "" and given.to_dict()["ci_note"] == ""
