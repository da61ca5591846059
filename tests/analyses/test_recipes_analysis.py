"""analyses/recipes.py (the peers' contrastive recipes against the study's): which files it reads, the cache's
recipes for it, the plain-words sentences built from its numbers, and the cache's extraction of a planned
configuration (the audit's reference extractions). The whole analysis runs on the tiny model set in
tests/analyses/test_analyses.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from analyses import recipes
from analyses._cache import PEER_RECIPES, ExtractionCache
from analyses._cache import recipes as cache_recipes
from analyses._config import load_model_set
from analyses._document import ci_text

TINY = Path(__file__).with_name("tiny.yaml")
OFFLINE = Path(__file__).resolve().parents[2] / "analyses" / "configs" / "offline.yaml"


def test_the_observed_model_is_another_trained_model_and_the_audit_model_is_the_reference():
    offline = load_model_set(OFFLINE)
    assert recipes.models_of(offline) == ("minilm-l6", "smollm2-135m-instruct")
    assert recipes.needs(offline) == [(m, r) for m in ("minilm-l6", "smollm2-135m-instruct")
                                      for r in ("study-fp32", "repeng", "steering-vectors")]
    tiny = load_model_set(TINY)  # no trained model: the first other model of the set
    assert recipes.models_of(tiny) == ("tiny-qwen2", "tiny-llama")


def test_the_recipes_differ_in_method_alone_apart_from_the_stimuli():
    from extraction.config import make_config

    ms = load_model_set(TINY)
    table = cache_recipes(ms.sizes, seed=0)
    configs = {}
    for name in ("study-fp32", *PEER_RECIPES):
        options = dict(table[name].options)
        configs[name] = make_config(options.pop("recipe"), model="default", **options)
    study = configs["study-fp32"]
    assert study.recipe == "study" and study.precision == "fp32" and study.pooling == "last"
    fp16 = dict(table["study"].options)
    fp16 = make_config(fp16.pop("recipe"), model="default", **fp16)
    assert replace(study, precision="fp16", layers="all") == replace(fp16, recipe_overrides=study.recipe_overrides)
    for peer, method in (("repeng", "pca-diff"), ("steering-vectors", "mean-diff")):
        c = configs[peer]
        assert (c.recipe, c.method, c.stimuli, c.chat_template) == (peer, method, "contrast", "off")
        same = ("precision", "pooling", "layers", "limit", "experiment", "seed", "final_norm")
        assert {k: getattr(c, k) for k in same} == {k: getattr(study, k) for k in same}
        assert c.limit == ms.sizes.prompts


def _contrasts(mean_diff, pca_diff):
    rows = [("comprehension vs mean-diff", *mean_diff), ("comprehension vs pca-diff", *pca_diff),
            ("mean-diff vs pca-diff", 0.5, 0.3, 0.7)]
    return pd.DataFrame([{"levels": lv, "mean_rho": r, "ci_low": lo, "ci_high": hi, "n_pairs": 2}
                         for lv, r, lo, hi in rows])


def test_contrast_sentences_name_the_nearer_recipe_and_whether_the_intervals_separate_them():
    first, second = recipes.contrast_sentences(_contrasts((0.88, 0.73, 0.95), (0.56, 0.26, 0.70)))
    assert "comprehension vs mean-diff " + ci_text(0.88, 0.73, 0.95) in first and "2 model(s)" in first
    assert "comprehension vs pca-diff " + ci_text(0.56, 0.26, 0.70) in first
    assert second.startswith("Steering-vectors (mean-diff) keeps") and "0.88 against 0.56" in second
    assert "do not overlap" in second
    _, swapped = recipes.contrast_sentences(_contrasts((0.40, 0.20, 0.60), (0.70, 0.50, 0.85)))
    assert swapped.startswith("Repeng (pca-diff) keeps") and "0.70 against 0.40" in swapped
    assert "overlap, so these files do not order" in swapped
    assert recipes.contrast_sentences(pd.DataFrame()) == []


def _audit_row(**changes):
    row = {"a": "m/study-fp32", "b": "m/repeng", "reference_model": "ref", "separating_layers": "1 method",
           "rho": 0.7, "ci_low": 0.3, "ci_high": 0.9, "p_value": 0.0001, "reference_rho": 0.4,
           "reference_low": -0.3, "reference_high": 0.8, "reference_width": 1.1, "reference_informative": True,
           "reference_note": "", "verdict": "inconclusive", "reasons": "the observed CI is wider than 0.5."}
    return pd.Series(row | changes)


def test_audit_sentence_states_the_range_and_its_width_or_why_there_is_none():
    text = recipes.audit_sentence(_audit_row())
    assert "observed rho " + ci_text(0.7, 0.3, 0.9) in text and "Mantel p 0.0001" in text
    assert "reference range " + ci_text(0.4, -0.3, 0.8) + " (width 1.10, a proper interval)" in text
    assert text.endswith("verdict: inconclusive (the observed CI is wider than 0.5).")
    flat = recipes.audit_sentence(_audit_row(reference_low=0.4, reference_high=0.4, reference_width=0.0))
    assert "(width 0.00, degenerate)" in flat
    none = recipes.audit_sentence(_audit_row(reference_informative=False, reference_note="A and B record one recipe",
                                             reference_rho=float("nan")))
    assert "no reference range (A and B record one recipe)" in none and "width" not in none


@pytest.mark.extraction
def test_a_planned_configuration_is_extracted_once_and_again_when_it_changes(tmp_path):
    import torch

    from analyses._models import random_loaded
    from extraction.config import make_config

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ms = load_model_set(TINY)
        loads: list[str] = []
        cache = ExtractionCache(ms, tmp_path, loader=lambda e, p: loads.append(e.name) or random_loaded(e, p))
        config = make_config("repeng", model="default", limit=2, layers="last")  # its model is replaced
        path = cache.get_config("tiny-llama", config, "reference-repeng")
        assert path == tmp_path / "tiny-llama" / "reference-repeng.nc" and path.is_file()
        assert cache.record("tiny-llama", "reference-repeng")["fingerprint"]["config"]["model"] == "tiny-llama"
        assert cache.get_config("tiny-llama", config, "reference-repeng") == path and loads == ["tiny-llama"]
        cache.get_config("tiny-llama", replace(config, limit=3), "reference-repeng")
        assert loads == ["tiny-llama", "tiny-llama"]
    finally:
        torch.set_num_threads(before)
