"""Tiny randomly initialised models of every architecture family of the study, built from a config
in a few lines, and a small word-level tokenizer with offsets and a chat template."""

from __future__ import annotations

import functools

import pytest

from analyses._models import word_tokenizer
from extraction.registry import ModelSpec

ARCHITECTURES = ("llama", "qwen2", "mistral", "gemma3_text", "bert")
# The analyses' word-level tokenizer, plus the word of the tests' own template ("Text : {text} .").
make_tokenizer = functools.partial(word_tokenizer, extra_words=("Text",))


def make_model(arch: str, *, seed: int = 0, layers: int = 3, hidden: int = 32):
    """A tiny randomly initialised model of ``arch`` (weights fixed by ``seed``)."""
    import torch
    from transformers import (BertConfig, BertModel, Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM,
                              MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

    torch.manual_seed(seed)
    vocab = len(make_tokenizer())
    common = dict(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, pad_token_id=0,
                  bos_token_id=2, eos_token_id=3)
    if arch == "llama":
        model = LlamaForCausalLM(LlamaConfig(**common))
    elif arch == "qwen2":
        model = Qwen2ForCausalLM(Qwen2Config(**common))
    elif arch == "mistral":
        model = MistralForCausalLM(MistralConfig(**common))
    elif arch == "gemma3_text":
        model = Gemma3ForCausalLM(Gemma3TextConfig(**common, head_dim=8, sliding_window=8))
    elif arch == "bert":
        model = BertModel(BertConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden,
                                     num_hidden_layers=layers, num_attention_heads=4, max_position_embeddings=256,
                                     pad_token_id=0))
    else:
        raise ValueError(arch)
    return model.eval()


def make_loaded(arch: str = "llama", *, seed: int = 0, variant: str = "instruct", **kwargs):
    """A tiny model wrapped as :func:`extraction.models.load_model` would return it."""
    from extraction.models import LoadedModel

    kind = "encoder" if arch == "bert" else "causal"
    model = make_model(arch, seed=seed, **kwargs)
    spec = ModelSpec(name=f"tiny-{arch}", source=f"tiny-{arch}", family=f"tiny-{arch}", variant=variant,
                     kind=kind)
    return LoadedModel(spec=spec, model=model, tokenizer=make_tokenizer(kind), kind=kind, architecture=arch,
                       revision=f"random-seed-{seed}", path="", variant=variant)


@pytest.fixture
def tiny_loaded():
    return make_loaded


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One thread: tiny models gain nothing from more, and on a shared machine OpenMP threads
    that spin-wait for busy cores made these tests 25x slower."""
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    # Full fp32 matrix products: a library that lowers the fp32 precision process-wide (e.g. to TF32 or
    # bf16 kernels on CPUs that have them) would make in-process extractions differ from fresh ones.
    matmul = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    fp32 = getattr(torch.backends, "fp32_precision", None)
    if fp32 is not None:
        torch.backends.fp32_precision = "ieee"
    yield
    torch.set_num_threads(before)
    torch.set_float32_matmul_precision(matmul)
    if fp32 is not None:
        torch.backends.fp32_precision = fp32
