"""rsastats.audit.audit: the verdict on simulated data with a planted truth, reproducibility, bad
input, and the two ways of giving it references: two files, or a callable that makes them (a fake
reference maker here: no torch, no extraction)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from rsastats.audit import (COMPATIBLE, DIFFERENT, INCONCLUSIVE, LAYER_ATTRIBUTES, MIN_AUDIT_EMOTIONS, MadeReferences,
                            ReferenceAssumption, audit)
from rsastats.io import make_rdm, make_vectors, write_dataset
from rsastats.exceptions import FileFormatError, InputError, LabelError, ValidationError
from rsastats.simulate import simulate_audit_case

N_BOOT = 400


def _audit(files, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant-RDM resamples at small n are reported by the core, not tested here
        return audit(files[0], files[1], reference_files=files[2:] or None, n_boot=N_BOOT, **kwargs)


# --------------------------------------------------------------------------- the rule on planted truths
def test_identical_geometry_with_a_method_effect_is_compatible():
    files, truth = simulate_audit_case(noise=0.5, n_prompts=10, seed=3)
    assert truth["rho_observed"] < 0.95  # the method effect is real: rho is well below 1
    result = _audit(files, seed=1)
    assert result.verdict.verdict == COMPATIBLE, result.verdict.reasons
    assert result.observed.bootstrap == "emotions" and result.reference.bootstrap == "emotions"
    assert [x.status for x in result.layers] == ["differs"] * 4 and result.summary()["separating_layers"].count(",") == 3


def test_a_planted_geometric_difference_is_different():
    files, truth = simulate_audit_case(noise=0.5, n_prompts=10, difference=3.0, seed=3)
    assert truth["rho_observed"] < truth["rho_reference"] - 0.4
    result = _audit(files, seed=1)
    assert result.verdict.verdict == DIFFERENT, result.verdict.reasons
    assert result.observed.ci_high < result.reference.ci_low


class _Forbidden:
    """Stands in for every expensive step: a call fails the test."""

    def __init__(self, what):
        self.what, self.calls = what, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        raise AssertionError(f"{self.what} ran before the cheap checks refused the audit")


def test_too_few_emotions_fail_before_any_bootstrap_or_extraction(monkeypatch, tmp_path):
    """Six emotions used to run the whole audit (2 min 14 s with extraction) before saying 'inconclusive'."""
    import rsastats.audit.run as run_module

    files, _ = simulate_audit_case(n_emotions=6, n_prompts=3, difference=3.0, seed=3)
    maker, compare = _Forbidden("the reference maker"), _Forbidden("the observed bootstrap")
    monkeypatch.setattr(run_module, "compare_models", compare)
    with pytest.raises(LabelError, match=f"hold 6 emotions; an audit needs at least {MIN_AUDIT_EMOTIONS}"):
        audit(files[0], files[1], make_references=maker, n_boot=50)
    renamed = files[1].assign_coords(emotion=[*files[1]["emotion"].values[:-1], "zesty"])
    with pytest.raises(LabelError, match=f"share only 5 emotion.*at least {MIN_AUDIT_EMOTIONS}"):
        audit(files[0], renamed, make_references=maker, common_emotions=True, n_boot=50)
    assert maker.calls == compare.calls == 0


def _same_recipe_files(n_emotions=10):
    files, _ = simulate_audit_case(n_emotions=n_emotions, noise=0.5, n_prompts=4, seed=5)
    a, b = files[0], files[1].assign_attrs({k: v for k, v in files[0].attrs.items() if k != "experiment"})
    return a, b.assign_attrs(experiment="another label")


def test_two_files_of_one_recipe_get_no_reference_and_say_so_in_words():
    a, b = _same_recipe_files()
    maker = _Forbidden("the reference maker")
    result = _audit([a, b], make_references=maker, seed=0)
    assert maker.calls == 0
    ref = result.reference
    assert not ref.informative and "record the same recipe" in ref.note and "rho 1 by construction" in ref.note
    assert np.isnan([ref.rho, ref.ci_low, ref.ci_high]).all() and ref.runs == ()
    assert result.verdict.verdict == INCONCLUSIVE and result.verdict.reasons[0].startswith("there is no reference range")
    out = result.to_dict()
    assert out["reference_note"] == ref.note and "[1.000, 1.000]" not in str(out)
    assert [x.status for x in result.layers] == ["same", "same", "same", "differs"]  # only the experiment label


def test_identical_reference_extractions_are_uninformative_not_a_range(tmp_path):
    """Two recipes that differ (layer 1 here) but whose references are one geometry: no [1.000, 1.000]."""
    files, _ = simulate_audit_case(n_emotions=10, noise=0.5, n_prompts=4, seed=5)
    ref = write_dataset(files[2], tmp_path / "ref.nc")
    copy = write_dataset(files[2], tmp_path / "copy.nc")
    one = _audit([files[0], files[1], ref, ref], seed=0)
    assert not one.reference.informative and "one and the same reference extraction" in one.reference.note
    two = _audit([files[0], files[1], ref, copy], seed=0)
    assert not two.reference.informative and "no resample moves the reference rho (1.000)" in two.reference.note
    for result in (one, two):
        assert result.verdict.verdict == INCONCLUSIVE and np.isnan(result.reference.ci_low)
        assert "[1.000, 1.000]" not in " ".join(result.verdict.reasons)


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
    assert result.observed.bootstrap == "emotions" and result.reference.bootstrap == "emotions"
    assert any("resample emotions only" in note for note in result.notes)
    frame = result.to_frame()
    assert frame.shape[0] == 1 and frame["verdict"].iloc[0] == result.verdict.verdict
    assert len(result.layers_frame()) == 4 and len(result.attributes_frame()) == sum(map(len, LAYER_ATTRIBUTES.values()))


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
    assert message.startswith(f"{renamed}: emotion sets differ (only in {a}: {labels[-1]}; only in {renamed}: zesty)")
    assert "--common-emotions to audit the 11 emotions" in message
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
    with pytest.raises(InputError, match="is an RDM file; a reference needs an activations file or a vector-set file"):
        audit(a, b, reference_files=[rdm, rb], n_boot=50)
    with pytest.raises(InputError):
        audit(a, rdm, reference_files=[ra, rb], n_boot=50)
    with pytest.raises(ValidationError, match="two files"):
        audit(a, b, reference_files=[ra], n_boot=50)
    with pytest.raises(ValidationError, match="BCa"):
        audit(a, b, make_references=FakeMaker(), reference_runs=2, ci="bca", n_boot=50)
    with pytest.raises(ValidationError, match="reference_files or make_references"):
        audit(a, b, reference_files=[ra, rb], make_references=FakeMaker(), n_boot=50)
    with pytest.raises(ValidationError, match="callable that makes them"):
        audit(a, b, n_boot=50)
    with pytest.raises(ValidationError):
        audit(a, b, reference_files=[ra, rb], n_boot=1)
    with pytest.raises(FileFormatError):
        audit(a, tmp_path / "missing.nc", reference_files=[ra, rb], n_boot=50)


def test_a_file_that_records_no_recipe_is_refused(case_files, tmp_path):
    (a, b, ra, rb), _ = case_files
    ds = simulate_audit_case(n_emotions=12, noise=0.5, n_prompts=4, seed=6)[0][0]
    labels = list(ds["emotion"].values)
    bare = write_dataset(make_vectors(ds["activations"].isel(layer=-1).mean("prompt").values, labels,
                                      attrs={"model": "paper"}), tmp_path / "bare.nc")
    with pytest.raises(ValidationError) as err:
        audit(bare, b, reference_files=[ra, rb], n_boot=50)
    assert str(err.value).startswith(f"{bare}: records none of the attributes") and "--meta" in str(err.value)


# --------------------------------------------------------------------------- a callable that makes the references
def _with_baseline(ds):
    """``ds`` with emotion-free baseline activations (what a baseline normalization reads)."""
    rng = np.random.default_rng(0)
    shape = (5, ds.sizes["layer"], ds.sizes["hidden"])
    return ds.assign(baseline=(("sample", "layer", "hidden"), rng.normal(size=shape).astype(np.float32)))


class FakeMaker:
    """A reference maker without extraction: writes the simulated reference pair (one file per side,
    or ``runs`` reference-B files of other seeds when ``sampled``) and records what it was asked."""

    def __init__(self, folder=None, *, sampled=False, assumptions=(), extra_runs=0):
        self.folder, self.sampled, self.assumptions, self.extra_runs = folder, sampled, tuple(assumptions), extra_runs
        self.calls = []

    def __call__(self, requests, *, runs):
        self.calls.append((requests, runs))
        n_b = (runs if self.sampled else 1) + self.extra_runs
        files_a, files_b = [], []
        for i in range(n_b):
            datasets, _ = simulate_audit_case(n_emotions=12, noise=0.5, n_prompts=4, seed=6 + i)
            ref_a, ref_b = (_with_baseline(ds) if r.baseline else ds for ds, r in zip(datasets[2:], requests))
            if i == 0:
                files_a.append(write_dataset(ref_a, self.folder / "made_a.nc"))
            files_b.append(write_dataset(ref_b, self.folder / f"made_b{i}.nc"))
        return MadeReferences("fake-model", tuple(files_a), tuple(files_b), self.assumptions,
                              tuple({"side": r.side, "n_prompts": r.n_prompts} for r in requests), ("made by a fake",))


def test_a_callable_that_makes_the_references_gives_what_the_files_give(case_files, tmp_path):
    (a, b, ra, rb), _ = case_files
    maker = FakeMaker(tmp_path)
    made = _audit([a, b], make_references=maker, seed=2)
    given = _audit([a, b, ra, rb], seed=2)
    # The fake wrote the same reference pair as the given files: the same numbers and verdict.
    assert (made.reference.rho, made.reference.ci_low, made.reference.ci_high) == \
        (given.reference.rho, given.reference.ci_low, given.reference.ci_high)
    assert made.verdict == given.verdict and made.observed.rho == given.observed.rho
    assert made.reference.model == "fake-model" and made.reference.files_a == (str(tmp_path / "made_a.nc"),)
    (requests, runs), = maker.calls
    assert runs == 1 and [r.side for r in requests] == ["A", "B"]
    assert requests[0].attrs["method"] == "comprehension" and requests[1].attrs["method"] == "generation"
    assert requests[0].emotions == made.emotions and requests[0].n_prompts == 4 and not requests[0].baseline
    out = made.to_dict()
    assert out["reference_plans"] == [{"side": "A", "n_prompts": 4}, {"side": "B", "n_prompts": 4}]
    assert out["notes"][0] == "made by a fake" and out["reference_model"] == "fake-model"


def test_the_maker_is_asked_for_baseline_texts_when_the_normalization_reads_them(case_files, tmp_path):
    (a, b, _, _), _ = case_files
    audited = [_with_baseline(simulate_audit_case(n_emotions=12, noise=0.5, n_prompts=4, seed=6)[0][i]) for i in (0, 1)]
    maker = FakeMaker(tmp_path)
    result = _audit(audited, make_references=maker, seed=2, normalization="baseline")  # an alias of baseline-mean
    assert all(r.baseline for r in maker.calls[0][0]) and result.observed.normalization == "baseline-mean"


def test_a_sampled_recipe_is_made_once_per_run_and_pooled(case_files, tmp_path):
    (a, b, _, _), _ = case_files
    result = _audit([a, b], make_references=FakeMaker(tmp_path, sampled=True), reference_runs=3, seed=2)
    ref = result.reference
    assert len(ref.runs) == 3 and len(set(ref.files_b)) == 3 and len(set(ref.files_a)) == 1
    assert [r["run"] for r in result.to_dict()["reference_files"]] == [0, 1, 2]
    assert not any("neither recipe samples text" in n for n in result.notes)
    one = _audit([a, b], make_references=FakeMaker(tmp_path), reference_runs=3, seed=2)
    assert len(one.reference.runs) == 1 and any("neither recipe samples text" in n for n in one.notes)


def test_a_blocking_assumption_of_the_maker_makes_it_inconclusive(case_files, tmp_path):
    (a, b, _, _), _ = case_files
    assumed = [ReferenceAssumption("B", "precision", "int8-token", "B records int8 without its scheme"),
               ReferenceAssumption("B", "seed", "0", "B does not record its seed", blocking=False)]
    result = _audit([a, b], make_references=FakeMaker(tmp_path, assumptions=assumed), seed=2)
    assert result.verdict.verdict == INCONCLUSIVE and "3 precision" in result.verdict.reasons[-1]
    assert "2 sub-parameters" not in result.verdict.reasons[-1]
    assert result.to_dict()["assumptions"][0] == {"side": "B", "attribute": "precision", "value": "int8-token",
                                                  "reason": "B records int8 without its scheme", "blocking": True}


def test_a_maker_that_answers_badly_is_refused(case_files, tmp_path):
    (a, b, _, _), _ = case_files
    with pytest.raises(ValidationError, match="shaped like MadeReferences"):
        audit(a, b, make_references=lambda requests, runs: ("x.nc", "y.nc"), n_boot=50)
    with pytest.raises(ValidationError, match="more than the 1 run"):
        audit(a, b, make_references=FakeMaker(tmp_path, extra_runs=1), n_boot=50)
    with pytest.raises(ValidationError, match="must be callable"):
        audit(a, b, make_references="default", n_boot=50)


def test_reference_range_uses_the_vocabulary_and_keeps_the_old_names(case_files):
    (a, b, ra, rb), _ = case_files
    ref = _audit([a, b, ra, rb], seed=2).reference
    assert (ref.low, ref.high, ref.scheme) == (ref.ci_low, ref.ci_high, ref.bootstrap)
    out = ref.to_dict()
    assert list(out) == ["model", "rho", "ci_low", "ci_high", "bootstrap", "ci_method", "confidence", "n_runs", "runs",
                         "plans", "assumptions", "note"]
    assert out["runs"] == [{"run": 0, "file_a": str(ra), "file_b": str(rb), "rho": ref.rho, "ci_low": ref.ci_low,
                            "ci_high": ref.ci_high, "n_boot": N_BOOT}]
