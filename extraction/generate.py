"""Sampling continuations with one random stream per prompt, so batching never changes them.

``transformers.generate`` draws every row of a batch from one global random stream, so the text a
prompt gets depends on which prompts share its batch.  This sampler keeps a ``torch.Generator``
per prompt (seeded from the run's seed, the emotion and the prompt index) and otherwise follows
``generate``: temperature, then top-k, then top-p (nucleus) filtering, as transformers' logits
warpers do; temperature 0 is greedy.  Prompts are left-padded with ``position_ids`` taken from
the attention mask; a key/value cache carries the prompt between steps.
"""

from __future__ import annotations

import inspect
import zlib
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["prompt_generator", "filter_logits", "sample_continuations"]


def prompt_generator(seed: int, emotion: str, prompt: int) -> torch.Generator:
    """The random stream of one prompt: depends only on ``seed``, the emotion label and the index."""
    sequence = np.random.SeedSequence(int(seed), spawn_key=(zlib.crc32(emotion.encode("utf-8")), int(prompt)))
    state = int(sequence.generate_state(1, np.uint64)[0]) & ((1 << 63) - 1)
    return torch.Generator().manual_seed(state)


def filter_logits(logits: torch.Tensor, *, temperature: float, top_k: int, top_p: float) -> torch.Tensor:
    """Scores after temperature, top-k and top-p, with removed tokens at ``-inf`` (float32)."""
    scores = logits.float() / temperature
    if top_k and top_k < scores.shape[-1]:
        kth = torch.topk(scores, top_k, dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if top_p < 1.0:
        # As transformers' TopPLogitsWarper: drop the low tail whose mass is <= 1 - top_p, keep >= 1 token.
        sorted_scores, order = torch.sort(scores, descending=False, dim=-1)
        cumulative = sorted_scores.softmax(dim=-1).cumsum(dim=-1)
        remove_sorted = cumulative <= (1 - top_p)
        remove_sorted[..., -1:] = False
        remove = remove_sorted.scatter(-1, order, remove_sorted)
        scores = scores.masked_fill(remove, float("-inf"))
    return scores


@torch.no_grad()
def sample_continuations(model: Any, prompts: Sequence[Sequence[int]], generators: Sequence[torch.Generator], *,
                         temperature: float, top_p: float, top_k: int, max_new_tokens: int,
                         eos_ids: Sequence[int], pad_id: int) -> list[list[int]]:
    """Generated token ids of each prompt, cut before its first end-of-sequence token.

    Parameters
    ----------
    model : a causal LM.
    prompts : token ids of each prompt (no padding).
    generators : one ``torch.Generator`` per prompt.
    eos_ids : ids that end a continuation (not included in the result).
    """
    batch = len(prompts)
    width = max(len(p) for p in prompts)
    ids = torch.full((batch, width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((batch, width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt):] = torch.tensor(list(prompt), dtype=torch.long)
        mask[row, width - len(prompt):] = 1
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    params = inspect.signature(model.forward).parameters
    keep = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
    # transformers 5.24 renamed past_key_values to cache; accept either.
    cache_arg = "cache" if "cache" in params else "past_key_values"
    out = model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True, **keep)
    eos = torch.tensor(sorted(set(int(e) for e in eos_ids)), dtype=torch.long)
    finished = torch.zeros(batch, dtype=torch.bool)
    generated: list[list[int]] = [[] for _ in range(batch)]
    for step in range(max_new_tokens):
        logits = out.logits[:, -1, :]
        if temperature == 0:
            chosen = logits.argmax(dim=-1)
        else:
            probs = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p).softmax(dim=-1)
            chosen = torch.stack([torch.multinomial(probs[row], 1, generator=generators[row])[0] if not finished[row]
                                  else torch.tensor(int(pad_id)) for row in range(batch)])
        chosen = torch.where(finished, torch.full_like(chosen, int(pad_id)), chosen)
        for row in range(batch):
            if not finished[row] and not bool(torch.isin(chosen[row], eos)):
                generated[row].append(int(chosen[row]))
        finished |= torch.isin(chosen, eos)
        if bool(finished.all()) or step == max_new_tokens - 1:
            break
        mask = torch.cat([mask, torch.ones((batch, 1), dtype=torch.long)], dim=1)
        positions = positions[:, -1:] + 1
        out = model(input_ids=chosen[:, None], attention_mask=mask, position_ids=positions,
                    use_cache=True, **{cache_arg: _cache_of(out)}, **keep)
    return generated


def _cache_of(output: Any) -> Any:
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values
