"""The per-prompt sampler: matches transformers where it should, reproducible, batch-invariant."""

from __future__ import annotations

import pytest

from .conftest import make_loaded, make_model

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

from extraction.config import make_config  # noqa: E402
from extraction.generate import filter_logits, prompt_generator, sample_continuations  # noqa: E402
from extraction.run import extract  # noqa: E402
from rsastats.io import open_activations  # noqa: E402

PROMPTS = [[2, 40, 41, 42, 43, 44], [2, 50, 51], [2, 60, 61, 62, 63]]


@pytest.mark.parametrize("arch", ["llama", "gemma3_text"])
def test_greedy_equals_transformers_generate_with_left_padding(arch):
    model = make_model(arch)
    mine = sample_continuations(model, PROMPTS, [None] * 3, temperature=0, top_p=1, top_k=0, max_new_tokens=10,
                                eos_ids=[3], pad_id=0)
    for prompt, continuation in zip(PROMPTS, mine):
        out = model.generate(torch.tensor([prompt]), attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
                             do_sample=False, max_new_tokens=10, pad_token_id=0, eos_token_id=3)
        expected = out[0, len(prompt):].tolist()
        expected = expected[:expected.index(3)] if 3 in expected else expected
        assert continuation == expected


def test_filter_matches_transformers_warpers():
    from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    logits = torch.randn(6, 300, generator=torch.Generator().manual_seed(0)) * 4
    for temperature, top_k, top_p in ((0.7, 50, 0.9), (1.3, 0, 0.5), (0.2, 5, 1.0)):
        expected = logits.clone()
        expected = TemperatureLogitsWarper(temperature)(None, expected)
        if top_k:
            expected = TopKLogitsWarper(top_k)(None, expected)
        if top_p < 1:
            expected = TopPLogitsWarper(top_p)(None, expected)
        mine = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
        assert torch.equal(torch.isinf(mine), torch.isinf(expected))
        assert torch.allclose(mine.softmax(-1), expected.softmax(-1), atol=1e-7)


def _sample(model, prompts, seed, emotion="happy", indices=None):
    indices = indices or list(range(len(prompts)))
    return sample_continuations(model, prompts, [prompt_generator(seed, emotion, i) for i in indices], temperature=0.9,
                                top_p=0.95, top_k=50, max_new_tokens=12, eos_ids=[3], pad_id=0)


def test_sampling_is_reproducible_seeded_and_independent_of_batching():
    model = make_model("llama")
    batched = _sample(model, PROMPTS, seed=7)
    assert batched == _sample(model, PROMPTS, seed=7)
    one_by_one = [_sample(model, [p], seed=7, indices=[i])[0] for i, p in enumerate(PROMPTS)]
    assert one_by_one == batched
    assert _sample(model, PROMPTS, seed=8) != batched
    assert _sample(model, PROMPTS, seed=7, emotion="sad") != batched


def test_prompt_generator_depends_only_on_seed_emotion_and_index():
    draw = lambda *key: torch.rand(3, generator=prompt_generator(*key)).tolist()  # noqa: E731
    assert draw(1, "happy", 4) == draw(1, "happy", 4)
    assert len({tuple(draw(*k)) for k in [(1, "happy", 4), (2, "happy", 4), (1, "sad", 4), (1, "happy", 5)]}) == 4


def _generate_file(tmp_path, name, batch_size, seed=3):
    config = make_config(method="generation", prompt_template="Write about {emotion} :", samples=3, temperature=0.8,
                         top_p=0.9, top_k=40, max_new_tokens=8, seed=seed, emotions=("happy", "sad"), baseline_limit=2,
                         batch_size=batch_size)
    extract(config, tmp_path / name, loaded=make_loaded("llama"))
    return open_activations(tmp_path / name)


def test_generation_run_is_reproducible_and_records_every_text(tmp_path):
    first = _generate_file(tmp_path, "a.nc", batch_size=3)
    again = _generate_file(tmp_path, "b.nc", batch_size=1)
    other = _generate_file(tmp_path, "c.nc", batch_size=3, seed=4)
    assert (first["text"].values == again["text"].values).all()
    assert abs(first["activations"].values - again["activations"].values).max() < 1e-5
    assert (first["text"].values != other["text"].values).any()
    assert first["prompt_text"].values[0, 0] == "Write about happy :"
    lengths = first["pool_stop"].values - first["pool_start"].values
    assert ((lengths > 0) == (first["valid"].values == 1)).all() and lengths.max() <= 8
    prompt_tokens = first["n_tokens"].values - lengths
    assert (first["pool_start"].values == prompt_tokens).all()  # pooled tokens are exactly the generated ones
    attrs = first.attrs
    assert (attrs["method"], attrs["pooling"], attrs["temperature"], attrs["top_p"], attrs["top_k"], attrs["seed"]) == (
        "generation", "mean-generated", 0.8, 0.9, 40, 3)
    assert attrs["template"] == "Write about {emotion} :" and attrs["chat_template"] == 1
    assert attrs["baseline_pooling"] == "mean" and first.sizes["sample"] == 2
