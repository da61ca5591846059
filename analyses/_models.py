"""Tiny randomly initialised models of the study's architecture families (negative controls).

A random model has an architecture of the study (llama, qwen2, mistral, gemma3_text; bert for
MiniLM) and a real tokenizer (borrowed from an offline model) or a word-level one built from the
built-in stimuli, but no training: any emotion geometry it shares with another model comes from the
stimuli, the tokenizer or the pipeline, not from learning.  torch and transformers are imported
inside the functions (the analyses' statistics never need them).
"""

from __future__ import annotations

import functools
from typing import Any

from ._config import ModelEntry, RandomSpec

__all__ = ["word_tokenizer", "random_loaded"]

_SPECIAL = ["<pad>", "<unk>", "<s>", "</s>", "<|user|>", "<|end|>", "<|assistant|>", "[CLS]", "[SEP]"]
_CHAT_TEMPLATE = ("{% for m in messages %}<|user|> {{ m['content'] }} <|end|> {% endfor %}"
                  "{% if add_generation_prompt %}<|assistant|>{% endif %}")


@functools.lru_cache(maxsize=None)
def _vocabulary(extra_words: tuple[str, ...] = ()) -> tuple[str, ...]:
    import csv
    import re

    from extraction.config import JEONG_PROMPT
    from extraction.stimuli import DATA_DIR

    words: set[str] = set(re.findall(r"\w+|[^\w\s]+", JEONG_PROMPT)) | set(extra_words)
    for name in ("named.csv", "implicit.csv", "baseline.csv"):
        with open(DATA_DIR / name, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                words.update(re.findall(r"\w+|[^\w\s]+", row["text"]))
                if "emotion" in row:
                    words.add(row["emotion"])
    return tuple(_SPECIAL + sorted(words))


def word_tokenizer(kind: str = "causal", extra_words: tuple[str, ...] = ()):
    """A word-level fast tokenizer over the words of the built-in stimuli and ``extra_words``
    (offsets work, no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {word: i for i, word in enumerate(_vocabulary(tuple(extra_words)))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if kind == "encoder":
        tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 7), ("[SEP]", 8)])
    else:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", additional_special_tokens=["<|user|>", "<|end|>", "<|assistant|>"])
    if kind != "encoder":
        fast.chat_template = _CHAT_TEMPLATE
    return fast


@functools.lru_cache(maxsize=None)
def _borrowed_tokenizer(name: str):
    from extraction.models import load_model

    return load_model(name).tokenizer


def _tokenizer(spec: RandomSpec, kind: str):
    if spec.tokenizer == "words":
        return word_tokenizer(kind)
    return _borrowed_tokenizer(spec.tokenizer)


def _special_ids(tokenizer) -> dict[str, int]:
    pad = tokenizer.pad_token_id
    eos = tokenizer.eos_token_id
    bos = tokenizer.bos_token_id
    fallback = pad if pad is not None else (eos if eos is not None else 0)
    return {"pad_token_id": fallback, "eos_token_id": eos if eos is not None else fallback,
            "bos_token_id": bos if bos is not None else fallback}


def _build(spec: RandomSpec, vocab: int, ids: dict[str, int]):
    import torch
    from transformers import (BertConfig, BertModel, Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM,
                              MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

    torch.manual_seed(spec.seed)
    hidden = spec.hidden
    heads = max(2, hidden // 16)
    common = dict(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=spec.layers,
                  num_attention_heads=heads, num_key_value_heads=max(1, heads // 2), max_position_embeddings=512, **ids)
    arch = spec.architecture
    if arch == "llama":
        return LlamaForCausalLM(LlamaConfig(**common))
    if arch == "qwen2":
        return Qwen2ForCausalLM(Qwen2Config(**common))
    if arch == "mistral":
        return MistralForCausalLM(MistralConfig(**common))
    if arch == "gemma3_text":
        return Gemma3ForCausalLM(Gemma3TextConfig(**common, head_dim=hidden // heads, sliding_window=16))
    if arch == "bert":
        return BertModel(BertConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=2 * hidden,
                                    num_hidden_layers=spec.layers, num_attention_heads=heads,
                                    max_position_embeddings=512, pad_token_id=ids["pad_token_id"]))
    raise ValueError(arch)


def random_loaded(entry: ModelEntry, precision: str = "fp32") -> Any:
    """``entry``'s random model wrapped as :func:`extraction.models.load_model` would return it
    (a fresh copy each call: the precision step modifies the model it is given)."""
    from extraction.models import LoadedModel
    from extraction.precision import weight_dtype
    from extraction.registry import ModelSpec

    spec = entry.random
    assert spec is not None
    kind = "encoder" if spec.architecture == "bert" else "causal"
    tokenizer = _tokenizer(spec, kind)
    model = _build(spec, len(tokenizer), _special_ids(tokenizer)).eval()
    model = model.to(weight_dtype(precision))
    source = f"random:{spec.architecture}:L{spec.layers}:H{spec.hidden}:seed{spec.seed}:tok-{spec.tokenizer}"
    model_spec = ModelSpec(name=entry.name, source=source, family=entry.family or f"random-{spec.architecture}",
                           variant=entry.variant or "base", chat_template=False, kind=kind)
    return LoadedModel(spec=model_spec, model=model, tokenizer=tokenizer, kind=kind, architecture=spec.architecture,
                       revision=f"random-weights-seed-{spec.seed}", path="", variant=model_spec.variant)
