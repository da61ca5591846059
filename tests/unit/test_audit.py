"""rsastats.audit: the layer comparison from attributes, the verdict rule on fixed intervals and on
simulated data with a planted truth, the pooled reference range, bad input, and the torch-free
mapping of an audited file's attributes to a reference extraction."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rsastats.audit import (COMPATIBLE, DIFFERENT, INCONCLUSIVE, LAYER_ATTRIBUTES, MIN_AUDIT_EMOTIONS, audit, audit_verdict,
                            compare_layers, reference_range)
from rsastats.io import make_rdm, make_vectors, write_dataset
from rsastats.exceptions import FileFormatError, InputError, LabelError, ValidationError
from rsastats.inference.bootstrap import bootstrap_rho
from rsastats.simulate import AUDIT_RECIPE_A, AUDIT_RECIPE_B, simulate_audit_case

N_BOOT = 400


def _audit(files, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant-RDM resamples at small n are reported by the core, not tested here
        return audit(files[0], files[1], reference_files=files[2:], n_boot=N_BOOT, **kwargs)


# --------------------------------------------------------------------------- layers from attributes
def _layer(layers, name):
    return next(x for x in layers if x.layer.endswith(name))


def test_layers_that_differ_are_named_with_their_values():
    attributes, layers = compare_layers(AUDIT_RECIPE_A, AUDIT_RECIPE_B)
    assert [x.status for x in layers] == ["differs", "differs", "differs", "differs"]
    method = _layer(layers, "method")
    assert method.differing == ("method", "pooling") and "comprehension vs generation" in method.description
    # A comprehension file has no sampling settings: n/a, not unknown, and not counted as a difference.
    rows = {x.attribute: x for x in attributes}
    assert rows["temperature"].status == "differs" and rows["temperature"].a == "n/a" and rows["temperature"].b == "0.7"
    assert _layer(layers, "sub-parameters").differing == ("temperature", "top_p", "top_k", "max_new_tokens", "template", "seed")
    assert all(x.complete for x in layers)


def test_unknown_is_reported_as_unknown_never_as_same():
    known = dict(AUDIT_RECIPE_A)
    missing = {k: v for k, v in AUDIT_RECIPE_A.items() if k != "precision"}
    _, layers = compare_layers(known, missing)
    precision = _layer(layers, "precision")
    assert precision.status == "unknown" and precision.unknown == ("precision",) and not precision.complete
    assert "(unknown)" in precision.description
    # Both sides empty is still unknown (nothing says they agree).
    _, layers = compare_layers({}, {})
    assert {x.status for x in layers} == {"unknown"} and not any(x.complete for x in layers)


def test_same_values_in_other_spellings_are_same():
    a = {**AUDIT_RECIPE_B, "temperature": 0.7, "max_new_tokens": 100}
    b = {**AUDIT_RECIPE_B, "temperature": "0.70", "max_new_tokens": "100"}
    _, layers = compare_layers(a, b)
    assert [x.status for x in layers] == ["same"] * 4


def test_bare_int8_differs_from_floats_but_is_unknown_against_an_int8_scheme():
    _, layers = compare_layers({**AUDIT_RECIPE_A, "precision": "int8"}, {**AUDIT_RECIPE_A, "precision": "fp16"})
    precision = _layer(layers, "precision")
    assert precision.status == "differs" and not precision.complete  # the scheme decides how far it moves rho
    _, layers = compare_layers({**AUDIT_RECIPE_A, "precision": "int8"}, {**AUDIT_RECIPE_A, "precision": "int8-token"})
    assert _layer(layers, "precision").status == "unknown"


def test_an_unrecorded_seed_or_experiment_label_does_not_block_the_reference():
    a = {k: v for k, v in AUDIT_RECIPE_B.items() if k not in ("seed", "experiment")}
    _, layers = compare_layers(a, AUDIT_RECIPE_B)
    assert _layer(layers, "sub-parameters").status == "unknown" and _layer(layers, "sub-parameters").complete
    assert _layer(layers, "experiment").status == "unknown" and _layer(layers, "experiment").complete


# --------------------------------------------------------------------------- the rule on fixed intervals
@pytest.mark.parametrize("observed, reference, expected", [
    ((0.60, 0.80), (0.70, 0.90), COMPATIBLE),        # overlap
    ((0.92, 0.99), (0.60, 0.80), COMPATIBLE),        # above the range: agree more than method effects predict
    ((0.20, 0.50), (0.60, 0.80), DIFFERENT),         # entirely below
    ((-0.30, 0.55), (0.60, 0.80), DIFFERENT),        # entirely below, however wide
    ((0.20, 0.75), (0.60, 0.80), INCONCLUSIVE),      # overlaps but wider than 0.5
    ((0.60, 0.80), (0.30, 0.90), INCONCLUSIVE),      # reference too noisy
    ((float("nan"), 0.8), (0.60, 0.80), INCONCLUSIVE),
])
def test_decision_rule(observed, reference, expected):
    result = audit_verdict(observed, reference)
    assert result.verdict == expected == result.numbers_say and result.reasons


def test_touching_intervals_overlap():
    assert audit_verdict((0.3, 0.6), (0.6, 0.8)).verdict == COMPATIBLE
    assert audit_verdict((0.3, 0.5999), (0.6, 0.8)).verdict == DIFFERENT


def test_incomplete_layers_make_it_inconclusive_and_keep_what_the_numbers_say():
    result = audit_verdict((0.2, 0.5), (0.6, 0.8), incomplete_layers=["3 precision"])
    assert result.verdict == INCONCLUSIVE and result.numbers_say == DIFFERENT
    assert "3 precision" in result.reasons[-1]


def test_too_few_emotions_make_it_inconclusive():
    result = audit_verdict((0.2, 0.5), (0.6, 0.8), n_emotions=MIN_AUDIT_EMOTIONS - 1)
    assert result.verdict == INCONCLUSIVE and result.numbers_say == INCONCLUSIVE


@pytest.mark.parametrize("kwargs", [dict(observed_ci=(0.8, 0.2), reference=(0, 1)), dict(observed_ci=0.5, reference=(0, 1)),
                                    dict(observed_ci=(0, 1), reference=(0, 1), max_interval_width=0),
                                    dict(observed_ci=(0, 1), reference=(0, 1), max_interval_width="wide")])
def test_rule_rejects_bad_arguments(kwargs):
    with pytest.raises(ValidationError):
        audit_verdict(**kwargs)


# --------------------------------------------------------------------------- the rule on planted truths
def test_identical_geometry_with_a_method_effect_is_compatible():
    files, truth = simulate_audit_case(noise=0.5, n_prompts=10, seed=3)
    assert truth["rho_observed"] < 0.95  # the method effect is real: rho is well below 1
    result = _audit(files, seed=1)
    assert result.verdict.verdict == COMPATIBLE, result.verdict.reasons
    assert result.observed.bootstrap == "both" and result.reference.scheme == "both"
    assert [x.status for x in result.layers] == ["differs"] * 4 and result.summary()["separating_layers"].count(",") == 3


def test_a_planted_geometric_difference_is_different():
    files, truth = simulate_audit_case(noise=0.5, n_prompts=10, difference=3.0, seed=3)
    assert truth["rho_observed"] < truth["rho_reference"] - 0.4
    result = _audit(files, seed=1)
    assert result.verdict.verdict == DIFFERENT, result.verdict.reasons
    assert result.observed.ci_high < result.reference.low


def test_tiny_designs_are_inconclusive():
    files, _ = simulate_audit_case(n_emotions=6, n_prompts=3, difference=3.0, seed=3)
    result = _audit(files, seed=1)
    assert result.verdict.verdict == INCONCLUSIVE


def test_verdicts_on_planted_truths_over_seeds():
    """Across seeds, not only on one lucky draw: same geometry is never called different; a large
    planted difference is called different nearly always."""
    same = [_audit(simulate_audit_case(noise=0.5, n_prompts=8, seed=s)[0], seed=s).verdict.verdict for s in range(6)]
    diff = [_audit(simulate_audit_case(noise=0.5, n_prompts=8, difference=3.0, seed=s)[0], seed=s).verdict.verdict
            for s in range(6)]
    assert DIFFERENT not in same and same.count(COMPATIBLE) >= 5
    assert diff.count(DIFFERENT) >= 5


def test_same_seed_same_result_and_vector_sets_use_the_emotion_bootstrap(tmp_path):
    files, _ = simulate_audit_case(noise=0.5, n_prompts=6, seed=4)
    first, second = _audit(files, seed=7), _audit(files, seed=7)
    assert first.to_dict() | {"seconds": 0} == second.to_dict() | {"seconds": 0}
    vectors = []
    for i, ds in enumerate(files):
        v = ds["activations"].isel(layer=-1).mean("prompt").values
        vectors.append(write_dataset(make_vectors(v, list(ds["emotion"].values), attrs=dict(ds.attrs)), tmp_path / f"{i}.nc"))
    result = _audit(vectors, seed=7)
    assert result.observed.bootstrap == "emotions" and result.reference.scheme == "emotions"
    assert any("resample emotions only" in note for note in result.notes)
    frame = result.to_frame()
    assert frame.shape[0] == 1 and frame["verdict"].iloc[0] == result.verdict.verdict
    assert len(result.layers_frame()) == 4 and len(result.attributes_frame()) == sum(map(len, LAYER_ATTRIBUTES.values()))


# --------------------------------------------------------------------------- the pooled reference range
def test_one_reference_run_is_its_own_interval_and_pooling_widens_the_range():
    files, _ = simulate_audit_case(noise=0.5, n_prompts=6, seed=5)
    runs = [bootstrap_rho(files[2], files[3], scheme="emotions", n_boot=N_BOOT, seed=s) for s in range(3)]
    assert reference_range(runs[:1]) == (runs[0].estimate, runs[0].ci_low, runs[0].ci_high)
    rho, low, high = reference_range(runs)
    assert rho == pytest.approx(np.mean([r.estimate for r in runs]))
    assert low <= rho <= high
    with pytest.raises(ValidationError, match="BCa"):
        reference_range(runs, ci="bca")
    with pytest.raises(ValidationError, match="no reference runs"):
        reference_range([])


# --------------------------------------------------------------------------- bad input
@pytest.fixture(scope="module")
def case_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("audit")
    files, _ = simulate_audit_case(n_emotions=12, noise=0.5, n_prompts=4, seed=6)
    return [write_dataset(ds, tmp / f"{name}.nc") for ds, name in zip(files, ("a", "b", "ref_a", "ref_b"))], tmp


def test_mismatched_emotion_sets_name_the_labels(case_files):
    (a, b, ra, rb), tmp = case_files
    ds = simulate_audit_case(n_emotions=12, noise=0.5, n_prompts=4, seed=6)[0][1]
    labels = list(ds["emotion"].values)
    renamed = write_dataset(ds.assign_coords(emotion=labels[:-1] + ["zesty"]), tmp / "renamed.nc")
    with pytest.raises(LabelError) as err:
        audit(a, renamed, reference_files=[ra, rb], n_boot=50)
    message = str(err.value)
    assert f"lacks {labels[-1]}" in message and "has extra zesty" in message and "renamed.nc" in message
    assert "\n" not in message
    result = _audit([a, renamed, ra, rb], common_emotions=True, seed=0)
    assert len(result.emotions) == 11 and result.left_out == {"a": (labels[-1],), "b": ("zesty",)}


def test_reference_files_must_hold_the_audited_emotions(case_files, tmp_path):
    (a, b, ra, rb), _ = case_files
    ds = simulate_audit_case(n_emotions=12, noise=0.5, n_prompts=4, seed=6)[0][2]
    short = write_dataset(ds.isel(emotion=slice(0, 10)), tmp_path / "short.nc")
    with pytest.raises(LabelError, match="short.nc: lacks"):
        audit(a, b, reference_files=[short, rb], n_boot=50)


def test_reference_made_with_another_recipe_is_noted(case_files):
    (a, b, ra, rb), _ = case_files
    result = _audit([a, b, rb, ra], seed=0)  # swapped: reference A has B's recipe
    assert any("reference A was not made with A's recipe" in note for note in result.notes)


def test_rdm_files_and_bad_arguments_are_refused(case_files, tmp_path):
    (a, b, ra, rb), _ = case_files
    ds = simulate_audit_case(n_emotions=12, noise=0.5, n_prompts=4, seed=6)[0][0]
    labels = list(ds["emotion"].values)
    rdm = write_dataset(make_rdm(1 - np.eye(12), labels, attrs={"rdm_method": "cosine", "source": "x"}), tmp_path / "r.nc")
    with pytest.raises(InputError, match="RDM"):
        audit(a, b, reference_files=[rdm, rb], n_boot=50)
    with pytest.raises(InputError):
        audit(a, rdm, reference_files=[ra, rb], n_boot=50)
    with pytest.raises(ValidationError, match="two files"):
        audit(a, b, reference_files=[ra], n_boot=50)
    with pytest.raises(ValidationError, match="BCa"):
        audit(a, b, reference_model="default", reference_runs=2, ci="bca", n_boot=50)
    with pytest.raises(ValidationError):
        audit(a, b, reference_files=[ra, rb], n_boot=1)
    with pytest.raises(FileFormatError):
        audit(a, tmp_path / "missing.nc", reference_files=[ra, rb], n_boot=50)


# --------------------------------------------------------------------------- attributes -> reference extraction
def test_plan_reproduces_a_recorded_generation_recipe():
    from rsastats._audit_reference import plan_reference

    attrs = {"method": "generation", "pooling": "mean-generated", "precision": "fp32", "recipe": "jeong-generation",
             "template": "Write a short paragraph about a character who feels deeply {emotion}:",
             "stimulus_set": "prompt-template sha256:abc", "chat_template": 1, "temperature": 0.7, "top_p": 0.9,
             "top_k": 50, "max_new_tokens": 100, "seed": 3}
    plan = plan_reference(attrs, "B", model="default", emotions=("happy", "sad"), n_prompts=4, limit=None, baseline=False)
    c = plan.config
    assert (c.method, c.pooling, c.precision, c.temperature, c.top_p, c.top_k, c.max_new_tokens, c.seed) == \
        ("generation", "mean-generated", "fp32", 0.7, 0.9, 50, 100, 3)
    assert c.prompt_template == attrs["template"] and c.template == "{text}" and c.samples == 4
    assert c.chat_template == "on" and c.emotions == ("happy", "sad") and c.layers == "last" and c.baseline == "none"
    assert plan.assumptions == () and plan.stochastic


def test_plan_states_every_assumption_it_makes():
    from rsastats._audit_reference import plan_reference

    plan = plan_reference({"method": "comprehension", "precision": "int8"}, "A", model="default", emotions=("happy",),
                          n_prompts=None, limit=3, baseline=True)
    assumed = {x.attribute: x for x in plan.assumptions}
    assert set(assumed) >= {"pooling", "precision", "stimulus_set", "template"}
    assert assumed["precision"].value == "int8-token" and assumed["precision"].blocking
    assert plan.config.limit == 3 and plan.config.baseline == "builtin" and not plan.stochastic


def test_plan_refuses_stimuli_that_are_not_here():
    from rsastats._audit_reference import plan_reference

    with pytest.raises(FileFormatError, match="not on this machine"):
        plan_reference({"method": "comprehension", "stimulus_source": "/nowhere/stimuli.csv"}, "A", model="default",
                       emotions=("happy",), n_prompts=2, limit=None, baseline=False)


def test_a_file_that_records_no_recipe_is_refused(case_files, tmp_path):
    (a, b, ra, rb), _ = case_files
    ds = simulate_audit_case(n_emotions=12, noise=0.5, n_prompts=4, seed=6)[0][0]
    labels = list(ds["emotion"].values)
    bare = write_dataset(make_vectors(ds["activations"].isel(layer=-1).mean("prompt").values, labels,
                                      attrs={"model": "paper"}), tmp_path / "bare.nc")
    with pytest.raises(ValidationError) as err:
        audit(bare, b, reference_files=[ra, rb], n_boot=50)
    assert str(err.value).startswith(f"{bare}: records none of the attributes") and "--meta" in str(err.value)
