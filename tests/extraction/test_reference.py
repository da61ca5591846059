"""`rsastats.audit` with :class:`extraction.reference.ReferenceExtractor` as its reference maker: the
reference re-extracts both audited recipes on a tiny random model (standing in for the default
one), caches them, and reuses them."""

from __future__ import annotations

import warnings

import pytest

from .conftest import make_loaded

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

import extraction.models as models_module  # noqa: E402
import extraction.run as run_module  # noqa: E402
from extraction.config import JEONG_PROMPT, make_config  # noqa: E402
from extraction.reference import ReferenceExtractor, default_reference_dir  # noqa: E402
from extraction.run import extract  # noqa: E402
from rsastats.audit import VERDICTS, audit  # noqa: E402
from rsastats.io import open_activations  # noqa: E402

EMOTIONS = ("happy", "sad", "calm", "afraid", "angry", "proud", "guilty", "hopeful")


@pytest.fixture
def tiny_reference(monkeypatch):
    """Every load of a model gives the same tiny llama (seed 1), and counts the loads."""
    loads = []

    def load(name, **kwargs):
        loads.append(name)
        return make_loaded("llama", seed=1)

    monkeypatch.setattr(models_module, "load_model", load)
    monkeypatch.setattr(run_module, "load_model", load)
    return loads


@pytest.fixture
def audited(tmp_path):
    """Two recipes on another tiny model (seed 0): comprehension of named stimuli and sampled generation."""
    loaded = make_loaded("llama", seed=0)
    a, b = tmp_path / "comprehension.nc", tmp_path / "generation.nc"
    common = dict(emotions=EMOTIONS, layers="last", baseline="none", batch_size=4)
    extract(make_config(stimuli="named", limit=3, precision="fp32", **common), a, loaded=loaded)
    extract(make_config(method="generation", prompt_template=JEONG_PROMPT, samples=3, temperature=0.7, top_p=0.9,
                        top_k=50, max_new_tokens=4, seed=5, **common), b, loaded=loaded)
    return a, b


def _audit(a, b, folder, limit=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        maker = ReferenceExtractor("tiny", reference_dir=folder, limit=limit)
        return audit(a, b, make_references=maker, n_boot=100, seed=0, **kwargs)


def test_reference_model_re_extracts_both_recipes_and_reuses_them(tiny_reference, audited, tmp_path):
    a, b = audited
    folder = tmp_path / "refs"
    result = _audit(a, b, folder, reference_runs=2)
    assert result.verdict.verdict in VERDICTS
    ref = result.reference
    assert len(ref.runs) == 2  # the sampled recipe ran twice (seeds 5, 6); the read recipe once, paired with both
    assert ref.files_a[0] == ref.files_a[1] and ref.files_b[0] != ref.files_b[1]
    first_a, first_b = open_activations(ref.files_a[0]), open_activations(ref.files_b[0])
    second_b = open_activations(ref.files_b[1])
    assert first_a.attrs["method"] == "comprehension" and first_b.attrs["method"] == "generation"
    assert (first_b.attrs["seed"], second_b.attrs["seed"]) == (5, 6)
    for attr in ("pooling", "precision", "temperature", "top_p", "top_k", "max_new_tokens", "stimulus_set", "template"):
        assert str(first_b.attrs[attr]) == str(open_activations(b).attrs[attr]), attr
        assert str(first_a.attrs[attr]) == str(open_activations(a).attrs[attr]), attr
    assert first_a.sizes["prompt"] == 3 and first_b.sizes["prompt"] == 3 and list(first_a["emotion"].values) == list(EMOTIONS)
    # Both recipes recorded every layer setting: nothing assumed, nothing incomplete.
    assert result.reference.assumptions == () and all(x.complete for x in result.layers)
    assert [x.status for x in result.layers][:2] == ["differs", "differs"]
    loads = len(tiny_reference)

    again = _audit(a, b, folder, reference_runs=2)
    assert len(tiny_reference) == loads  # nothing re-extracted, the model not even loaded
    assert any("3 of 3 reference extraction(s) reused" in note for note in again.notes)
    assert again.reference.rho == result.reference.rho and again.verdict == result.verdict


def test_limit_caps_the_reference_prompts(tiny_reference, audited, tmp_path):
    a, b = audited
    result = _audit(a, b, tmp_path / "refs", limit=2)
    assert open_activations(result.reference.files_a[0]).sizes["prompt"] == 2
    assert open_activations(result.reference.files_b[0]).sizes["prompt"] == 2


def test_reference_reads_the_audited_files_baseline_count_and_the_cap(tiny_reference, tmp_path):
    """A baseline normalization needs baseline activations in the references: as many texts as the audited
    files hold (5 here), or fewer with --baseline-limit."""
    loaded = make_loaded("llama", seed=0)
    a, b = tmp_path / "last.nc", tmp_path / "mean.nc"
    common = dict(stimuli="named", limit=2, precision="fp32", emotions=EMOTIONS, layers="last", baseline="builtin",
                  baseline_limit=5, batch_size=4)
    extract(make_config(pooling="last", **common), a, loaded=loaded)
    extract(make_config(pooling="mean", **common), b, loaded=make_loaded("llama", seed=0))
    assert open_activations(a).sizes["sample"] == 5
    for cap, expected in ((None, 5), (3, 3)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            maker = ReferenceExtractor("tiny", reference_dir=tmp_path / f"refs{cap}", baseline_limit=cap)
            result = audit(a, b, make_references=maker, n_boot=50, seed=0, normalization="baseline-mean")
        for f in (*result.reference.files_a, *result.reference.files_b):
            assert open_activations(f).sizes["sample"] == expected, (cap, f)
    with pytest.raises(ValueError, match="baseline_limit must be >= 1"):
        ReferenceExtractor("tiny", reference_dir=tmp_path, baseline_limit=0)


def test_more_runs_of_a_deterministic_recipe_are_not_made(tiny_reference, audited, tmp_path):
    a, _ = audited
    mean = tmp_path / "mean.nc"
    extract(make_config(stimuli="named", limit=3, precision="fp32", pooling="mean", emotions=EMOTIONS, layers="last",
                        baseline="none", batch_size=4), mean, loaded=make_loaded("llama", seed=0))
    result = _audit(a, mean, tmp_path / "refs", reference_runs=3)
    assert len(result.reference.runs) == 1 and result.reference.informative
    assert any("neither recipe samples text" in note for note in result.notes)
    # Same model name, other weights (the revisions say random-seed-0 and random-seed-1): not the audited model.
    assert not any("is also an audited model" in note for note in result.notes)


def test_one_recipe_twice_extracts_nothing(tiny_reference, audited, tmp_path):
    a, _ = audited
    result = _audit(a, a, tmp_path / "refs", reference_runs=3)
    assert tiny_reference == [] and not (tmp_path / "refs").exists()  # no model loaded, no reference folder made
    assert not result.reference.informative and "record the same recipe" in result.reference.note
    assert result.verdict.verdict == "inconclusive"


def test_a_repeng_file_against_a_study_file_re_makes_both_recipes(tiny_reference, audited, tmp_path):
    """The acceptance case of issue 16 on a tiny model: both recipes re-made, a range that is not degenerate."""
    from extraction.recipe_run import run_extraction
    from rsastats.io import open_vectors

    study, repeng = tmp_path / "study.nc", tmp_path / "repeng.nc"
    loaded = make_loaded("llama", seed=0)
    common = dict(emotions=EMOTIONS, limit=3, layers="last", batch_size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_extraction(make_config("study", precision="fp32", baseline="none", **common), study, loaded=loaded)
        run_extraction(make_config("repeng", **common), repeng, loaded=make_loaded("llama", seed=0))
    result = _audit(study, repeng, tmp_path / "refs", limit=3)
    ref = result.reference
    assert ref.informative and ref.ci_low < ref.ci_high and -1 < ref.rho < 1, ref
    assert open_activations(ref.files_a[0]).attrs["method"] == "comprehension"
    made = open_vectors(ref.files_b[0])
    assert made.attrs["method"] == "pca-diff" and made.attrs["recipe"] == "repeng"
    assert made.attrs["stimulus_set"] == open_vectors(repeng).attrs["stimulus_set"]
    assert [p["config"]["method"] for p in ref.plans] == ["comprehension", "pca-diff"]
    assert result.layers[0].status == "differs" and "pca-diff" in result.layers[0].description
    assert result.verdict.verdict in VERDICTS


def test_the_extractor_checks_its_settings_and_keeps_files_in_the_cache(monkeypatch, tmp_path):
    from rsastats.exceptions import ValidationError

    with pytest.raises(ValidationError, match="reference model"):
        ReferenceExtractor(" ")
    for bad in (0, 1.5, True, "3"):
        with pytest.raises(ValidationError, match="limit"):
            ReferenceExtractor("tiny", limit=bad)
    assert ReferenceExtractor("tiny", limit=2.0).limit == 2
    monkeypatch.setenv("RSASTATS_CACHE", str(tmp_path / "cache"))
    assert default_reference_dir() == tmp_path / "cache" / "audit-references"
    assert ReferenceExtractor("tiny").reference_dir == default_reference_dir()
