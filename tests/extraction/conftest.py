"""Tiny randomly initialised models of every architecture family of the study, built from a config
in a few lines, and a small word-level tokenizer with offsets and a chat template."""

from __future__ import annotations

import pytest

from extraction.registry import ModelSpec
from extraction.stimuli import DATA_DIR

ARCHITECTURES = ("llama", "qwen2", "mistral", "gemma3_text", "bert")
CHAT_TEMPLATE = ("{% for m in messages %}<|user|> {{ m['content'] }} <|end|> {% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")
_SPECIAL = ["<pad>", "<unk>", "<s>", "</s>", "<|user|>", "<|end|>", "<|assistant|>", "[CLS]", "[SEP]"]


def _vocabulary() -> list[str]:
    import csv
    import re

    words: set[str] = set()
    for name in ("named.csv", "implicit.csv", "baseline.csv"):
        with open(DATA_DIR / name, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                words.update(re.findall(r"\w+|[^\w\s]+", row["text"]))
    words.update(["Write", "a", "short", "paragraph", "about", "character", "who", "feels", "deeply", ":", "Text"])
    return _SPECIAL + sorted(words)


_VOCAB = _vocabulary()


def make_tokenizer(kind: str = "causal"):
    """A word-level fast tokenizer over the built-in stimuli's words (offsets work; no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {word: i for i, word in enumerate(_VOCAB)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if kind == "encoder":
        tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 7), ("[SEP]", 8)])
    else:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", additional_special_tokens=["<|user|>", "<|end|>", "<|assistant|>"])
    if kind != "encoder":
        fast.chat_template = CHAT_TEMPLATE
    return fast


def make_model(arch: str, *, seed: int = 0, layers: int = 3, hidden: int = 32):
    """A tiny randomly initialised model of ``arch`` (weights fixed by ``seed``)."""
    import torch
    from transformers import (BertConfig, BertModel, Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM,
                              MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

    torch.manual_seed(seed)
    vocab = len(_VOCAB)
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
    yield
    torch.set_num_threads(before)
