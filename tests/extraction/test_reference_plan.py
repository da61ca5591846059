"""extraction.reference_plan: the torch-free mapping of an audited file's attributes to the
extraction that re-creates its recipe on a reference model, with every assumption stated."""

from __future__ import annotations

import pytest

from extraction.reference_plan import plan_reference
from rsastats.exceptions import FileFormatError


def test_plan_reproduces_a_recorded_generation_recipe():
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
    plan = plan_reference({"method": "comprehension", "precision": "int8"}, "A", model="default", emotions=("happy",),
                          n_prompts=None, limit=3, baseline=True)
    assumed = {x.attribute: x for x in plan.assumptions}
    assert set(assumed) >= {"pooling", "precision", "stimulus_set", "template"}
    assert assumed["precision"].value == "int8-token" and assumed["precision"].blocking
    assert plan.config.limit == 3 and plan.config.baseline == "builtin" and not plan.stochastic


def test_plan_refuses_stimuli_that_are_not_here():
    with pytest.raises(FileFormatError, match="not on this machine"):
        plan_reference({"method": "comprehension", "stimulus_source": "/nowhere/stimuli.csv"}, "A", model="default",
                       emotions=("happy",), n_prompts=2, limit=None, baseline=False)


@pytest.mark.parametrize("n_baseline,baseline_limit,expected", [(None, None, None), (12, None, 12), (12, 5, 5), (3, 5, 3),
                                                                 (None, 7, 7)])
def test_plan_reads_as_many_baseline_texts_as_the_audited_file(n_baseline, baseline_limit, expected):
    """The audited file's baseline count is part of its recipe; --baseline-limit caps it (CPU budget)."""
    plan = plan_reference({"method": "neutral-pc", "recipe": "study"}, "A", model="default", emotions=("happy",),
                          n_prompts=2, limit=None, baseline=False, n_baseline=n_baseline, baseline_limit=baseline_limit)
    assert plan.config.baseline == "builtin" and plan.config.baseline_limit == expected


def test_plan_without_a_baseline_ignores_the_baseline_cap():
    plan = plan_reference({"method": "comprehension", "recipe": "study"}, "A", model="default", emotions=("happy",),
                          n_prompts=2, limit=None, baseline=False, n_baseline=9, baseline_limit=4)
    assert plan.config.baseline == "none" and plan.config.baseline_limit is None
