"""rsastats.geometry: reproducibility, invariances, pairing, missing inputs and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from rsastats.io import make_activations, make_vectors, write_dataset
from rsastats.exceptions import LabelError, ValidationError
from rsastats.geometry import DESCRIPTORS, compare_geometry, geometry, resolve_layers
from rsastats.simulate import simulate_activations


def _acts(seed=0, variant="base", n_baseline=30, **kw):
    attrs = {"variant": variant, "family": "sim", "model": f"sim-{variant}-{seed}", "stimulus_set": "set-1"}
    return simulate_activations(n_emotions=8, n_prompts=10, n_layers=3, hidden=16, n_baseline=n_baseline, seed=seed,
                                attrs=attrs, **kw)


def _values(result):
    return {(layer.layer, e.descriptor): (e.plugin, e.ci_low, e.ci_high, e.estimate) for layer in result.layers
            for e in layer.estimates}


def test_same_seed_same_result_and_other_seed_other_intervals():
    ds = _acts()
    a, b, c = (geometry(ds, n_boot=60, seed=s) for s in (3, 3, 4))
    assert _values(a) == _values(b)
    assert _values(a) != _values(c)
    for key, (est, *_) in _values(a).items():  # plug-in values do not depend on the seed
        assert _values(c)[key][0] == est or np.isnan(est)


def test_first_resamples_do_not_change_when_n_boot_grows():
    from rsastats.geometry import kernels
    from rsastats.geometry.descriptors import evaluate_descriptors, group_descriptors
    from rsastats.geometry.layers import layer_data
    from rsastats.geometry.resampling import evaluate_blocks

    data = layer_data(_acts(), "activations", 2, None)

    def reps(n):
        blocks = kernels.resampling_weights(np.random.SeedSequence(9), n, data.prompts.group_sizes)
        return evaluate_blocks(lambda w: evaluate_descriptors(group_descriptors("emotion"), data.prompts, w), blocks)

    short, long = reps(150), reps(400)
    for name in short:
        np.testing.assert_array_equal(short[name], long[name][:150])


def test_a_layer_gets_the_same_result_whichever_other_layers_are_analysed():
    ds = _acts()
    alone = geometry(ds, layers=[1], n_boot=50, seed=2).layer(1)
    together = geometry(ds, layers="all", n_boot=50, seed=2).layer(1)
    assert alone == together


def test_emotion_order_does_not_change_point_estimates():
    ds = _acts()
    reordered = ds.isel(emotion=np.arange(ds.sizes["emotion"])[::-1])
    a = geometry(ds, layers="last", n_boot=10).layers[0]
    b = geometry(reordered, layers="last", n_boot=10).layers[0]
    for est in a.estimates:
        assert b[est.descriptor].plugin == pytest.approx(est.plugin, rel=1e-10, nan_ok=True)


def test_scaling_a_model_changes_norms_only():
    ds = _acts()
    scaled = ds.copy(deep=True)
    scaled["activations"] = ds["activations"] * 7.0
    scaled["baseline"] = ds["baseline"] * 7.0
    a = geometry(ds, layers="last", n_boot=20, seed=1).layers[0]
    b = geometry(scaled, layers="last", n_boot=20, seed=1).layers[0]
    for est in a.estimates:
        factor = 7.0 if est.descriptor.endswith(("norm_mean", "norm_sd")) else 1.0
        assert b[est.descriptor].estimate == pytest.approx(factor * est.estimate, rel=1e-5), est.descriptor


def test_planted_anisotropy_is_recovered():
    rng = np.random.default_rng(0)
    hidden, n = 64, 150
    offset = np.zeros(hidden)
    offset[0] = 3.0  # |mu|^2 = 9 against tr(Sigma) = 64 * (1/64) = 1: mean cosine ~ 0.9
    base = offset + rng.standard_normal((n, hidden)) / np.sqrt(hidden)
    acts = rng.standard_normal((5, 4, 1, hidden))
    ds = make_activations(acts, list("abcde"), baseline=base[:, None, :], attrs={"model": "planted"})
    result = geometry(ds, n_boot=150, seed=0).layers[0]
    big = offset + rng.standard_normal((20000, hidden)) / np.sqrt(hidden)
    unit = big / np.linalg.norm(big, axis=1, keepdims=True)
    truth = float(np.mean(np.sum(unit[:10000] * unit[10000:], axis=1)))
    est = result["baseline_anisotropy"]
    assert est.ci_low < truth < est.ci_high
    assert est.estimate == pytest.approx(truth, abs=0.015)
    # the offset lives in one dimension: it carries almost all of the anisotropy
    assert result["baseline_top_dim_contribution"].estimate > 0.95 * est.estimate


def test_missing_baseline_is_marked_and_explained_not_an_error():
    result = geometry(_acts(n_baseline=0), layers="last", n_boot=20)
    layer = result.layers[0]
    for d in DESCRIPTORS:
        est = layer[d.name]
        if d.group == "baseline":
            assert est.status == "missing" and np.isnan(est.estimate) and "no baseline" in est.note
        else:
            assert np.isfinite(est.estimate)
    assert any("baseline descriptors not computed" in n for n in result.notes)


def test_a_single_baseline_text_is_marked():
    ds = _acts(n_baseline=30).isel(sample=[0])
    layer = geometry(ds, layers="last", n_boot=20).layers[0]
    assert layer["baseline_anisotropy"].status == "missing"
    assert "at least 2 baseline texts" in layer["baseline_anisotropy"].note


def test_sample_maxima_get_no_interval():
    layer = geometry(_acts(), layers="last", n_boot=20).layers[0]
    for name in ("baseline_norm_max_median", "prompt_norm_max_median"):
        est = layer[name]
        assert np.isfinite(est.estimate) and np.isnan(est.ci_low) and est.status == "no-ci"
        assert "inconsistent for a sample maximum" in est.note


def test_vector_set_gives_point_estimates_and_says_why_there_is_no_ci():
    rng = np.random.default_rng(1)
    vs = make_vectors(rng.standard_normal((6, 2, 5)) + 1, list("abcdef"), attrs={"model": "paper"})
    result = geometry(vs, n_boot=10)
    assert [layer.layer for layer in result.layers] == [0, 1]
    layer = result.layers[1]
    assert layer["emotion_mean_cosine"].status == "no-ci" and np.isfinite(layer["emotion_mean_cosine"].estimate)
    assert layer["prompt_anisotropy"].status == "missing"
    assert layer["baseline_anisotropy"].status == "missing"


def test_undefined_resamples_are_counted_not_hidden():
    ds = _acts(n_baseline=30).isel(sample=[0, 1])  # a resample of 2 texts is often one text twice
    est = geometry(ds, layers="last", n_boot=200, seed=0).layers[0]["baseline_anisotropy"]
    assert 0 < est.n_boot < 200
    assert "of 200 resamples undefined" in est.note


def test_zero_vector_is_a_one_line_error_naming_where():
    ds = _acts()
    ds["activations"].values[2, 3, 1, :] = 0.0
    with pytest.raises(ValidationError, match=r"emotion 'calm', prompt 3 at layer 1 is an all-zero vector"):
        geometry(ds, layers=[1], n_boot=10)
    ds = _acts()
    ds["baseline"].values[4, 0, :] = 0.0
    with pytest.raises(ValidationError, match=r"baseline sample 4 at layer 0 is an all-zero vector"):
        geometry(ds, layers=[0], n_boot=10)


def test_invalid_prompts_are_ignored_even_if_zero():
    ds = _acts()
    valid = np.ones((8, 10), dtype=np.int8)
    valid[2, 3] = 0
    ds["valid"] = (("emotion", "prompt"), valid)
    ds["activations"].values[2, 3] = 0.0
    layer = geometry(ds, layers="last", n_boot=10).layers[0]
    assert layer.n_prompts == 79


@pytest.mark.parametrize("kwargs, message", [
    ({"n_boot": 1}, "n_boot must be >= 2"),
    ({"n_boot": 2.5}, "n_boot must be an integer >= 2"),
    ({"confidence": 1.0}, "confidence must be between 0 and 1"),
    ({"ci_method": "studentized"}, "interval method must be one of percentile, basic, normal, bca; got 'studentized'"),
    ({"layers": [7]}, "no layer 7"),
    ({"layers": [-9]}, "counts back past"),
    ({"layers": ["x"]}, "not an integer"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        geometry(_acts(), **{"n_boot": 10, **kwargs})


def test_rdm_file_and_too_few_emotions_are_refused(rdm_ds):
    with pytest.raises(ValidationError, match="geometry needs an activations file or a vector-set file"):
        geometry(rdm_ds)
    small = simulate_activations(n_emotions=2, n_prompts=3, n_layers=1, hidden=4)
    with pytest.raises(ValidationError, match="at least 3 emotions"):
        geometry(small)


def test_resolve_layers():
    ds = _acts()
    assert resolve_layers(ds, None) == [0, 1, 2]
    assert resolve_layers(ds, "last") == [2]
    assert resolve_layers(ds, -2) == [1]
    assert resolve_layers(ds, [0, "last", 0]) == [0, 2]


def test_result_tables(tmp_path):
    result = geometry(write_dataset(_acts(), tmp_path / "a.nc"), layers="all", n_boot=10)
    frame = result.to_frame()
    assert len(frame) == 3 * len(DESCRIPTORS)
    assert set(frame.columns) >= {"layer", "descriptor", "estimate", "ci_low", "ci_high", "status", "note"}
    assert result.to_dict()["source"] == str(tmp_path / "a.nc")


# --------------------------------------------------------------------------- base x instruct
def test_paired_comparison_of_a_model_with_itself_is_exactly_null():
    base = _acts(0)
    same = base.copy(deep=True)
    same.attrs["variant"] = "instruct"
    comp = compare_geometry(base, same, n_boot=50, seed=0)
    assert comp.paired_prompts and comp.paired_baseline
    assert comp.rho == pytest.approx(1.0)
    assert comp.rho_ci_low == pytest.approx(1.0) and comp.rho_ci_high == pytest.approx(1.0)
    for change in comp.changes:
        if change.status == "ok":
            assert change.change == 0 and change.ci_low == 0 and change.ci_high == 0, change.descriptor


def test_pairing_makes_intervals_of_changes_narrower_than_independent_resampling():
    base = _acts(0)
    shifted = base.copy(deep=True)
    shifted.attrs["variant"] = "instruct"
    rng = np.random.default_rng(5)
    shifted["activations"] = base["activations"] + 0.3 * rng.standard_normal(base["activations"].shape).astype(np.float32)
    paired = compare_geometry(base, shifted, n_boot=200, seed=0)
    unpaired_ds = shifted.assign_coords(text=shifted["text"].str.upper())  # same prompts, texts not identical
    unpaired_ds.attrs["stimulus_set"] = "other"
    unpaired = compare_geometry(base, unpaired_ds, n_boot=200, seed=0)
    assert paired.paired_prompts and not unpaired.paired_prompts
    width = lambda c, n: c[n].ci_high - c[n].ci_low  # noqa: E731
    assert width(paired, "prompt_anisotropy") < 0.7 * width(unpaired, "prompt_anisotropy")


def test_comparison_aligns_emotions_by_label_and_refuses_different_sets():
    base = _acts(0)
    other = _acts(1, variant="instruct")
    shuffled = other.isel(emotion=np.arange(8)[::-1])
    a = compare_geometry(base, other, n_boot=20, seed=0)
    b = compare_geometry(base, shuffled, n_boot=20, seed=0)
    assert a.rho == pytest.approx(b.rho)
    renamed = other.assign_coords(emotion=[f"x{i}" for i in range(8)])
    # the one message of rsastats.labels.emotion_difference, naming the file that differs
    with pytest.raises(LabelError, match=r"^<dataset sim-instruct-1>: emotion sets differ \(only in sim-base-0: "
                                         r"happy, .*; only in sim-instruct-1: x0, x1, .*\)$"):
        compare_geometry(base, renamed, n_boot=20)


def test_comparison_refuses_swapped_variants_and_vector_sets():
    with pytest.raises(ValidationError, match="given as the base model"):
        compare_geometry(_acts(0, variant="instruct"), _acts(1, variant="instruct"), n_boot=10)
    with pytest.raises(ValidationError, match="given as the instruct model"):
        compare_geometry(_acts(0), _acts(1, variant="base"), n_boot=10)
    vs = make_vectors(np.ones((8, 4)) + np.eye(8, 4), [f"e{i}" for i in range(8)], attrs={"model": "v"})
    with pytest.raises(ValidationError, match="needs activations files"):
        compare_geometry(_acts(0), vs, n_boot=10)


def test_comparison_without_baseline_marks_baseline_changes_missing():
    comp = compare_geometry(_acts(0), _acts(1, variant="instruct", n_baseline=0), n_boot=20)
    assert comp["baseline_anisotropy"].status == "missing"
    assert comp["prompt_anisotropy"].status == "ok"
    assert comp.to_frame().iloc[0]["descriptor"] == "rdm_rho"


def test_interval_methods_relate_as_they_should():
    ds = _acts()
    perc = geometry(ds, layers="last", n_boot=100, seed=1, ci_method="percentile").layers[0]
    basic = geometry(ds, layers="last", n_boot=100, seed=1, ci_method="basic").layers[0]
    bca = geometry(ds, layers="last", n_boot=100, seed=1, ci_method="bca").layers[0]
    # unbounded above: basic = percentile reflected at the estimate
    p, b = perc["prompt_norm_mean"], basic["prompt_norm_mean"]
    assert b.ci_low == pytest.approx(2 * p.plugin - p.ci_high)
    assert b.ci_high == pytest.approx(2 * p.plugin - p.ci_low)
    # each estimate is its interval's own point: the median of the replicates, and its reflection
    assert b.estimate == pytest.approx(2 * p.plugin - p.estimate)
    for name in ("baseline_anisotropy", "prompt_norm_mean"):
        assert np.isfinite(bca[name].ci_low) and bca[name].ci_low < bca[name].ci_high
    # a BCa interval that cannot be formed is reported, not faked
    est = bca["emotion_mean_cosine"]
    assert np.isfinite(est.ci_low) or (est.status == "no-ci" and est.note)


def test_with_the_default_the_baseline_pc1_share_takes_its_own_interval_and_says_so():
    """baseline_pc1_share takes the normal interval where the default is asked for (docs/geometry.md,
    'Per-descriptor intervals'); every other descriptor keeps basic; an explicit method applies to every descriptor."""
    from rsastats.geometry.descriptors import descriptor
    from rsastats.intervals import BOOTSTRAP_CI_METHODS

    assert all(d.ci_method in ("",) + BOOTSTRAP_CI_METHODS for d in DESCRIPTORS)
    assert [d.name for d in DESCRIPTORS if d.ci_method] == ["baseline_pc1_share"]
    ds = _acts()
    default = geometry(ds, layers="last", n_boot=100, seed=1).layers[0]
    normal = geometry(ds, layers="last", n_boot=100, seed=1, ci_method="normal").layers[0]
    basic = geometry(ds, layers="last", n_boot=100, seed=1, ci_method="basic").layers[0]
    others = [d.name for d in DESCRIPTORS if not d.ci_method and d.has_ci]
    assert {default[n].ci_method for n in others if default[n].status == "ok"} == {"basic"}
    assert all(default[n] == basic[n] for n in others)
    got, want = default["baseline_pc1_share"], normal["baseline_pc1_share"]
    assert got.ci_method == descriptor("baseline_pc1_share").ci_method == "normal"
    assert (got.estimate, got.ci_low, got.ci_high) == (want.estimate, want.ci_low, want.ci_high)
    assert got.ci_low <= got.estimate <= got.ci_high and "read it as narrower" not in got.note
    assert basic["baseline_pc1_share"].ci_method == "basic"  # asked for by name: every descriptor
    assert "read it as narrower" in default["emotion_pc1_share"].note or default["emotion_pc1_share"].status != "ok"
    assert default.to_dict()["descriptors"]["baseline_pc1_share"]["ci_method"] == "normal"
