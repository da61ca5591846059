"""Turn stimulus texts into token ids, and know exactly which tokens are the stimulus.

A stimulus is wrapped by the user's ``template`` (``{text}`` marks where) and, for chat models,
by the tokenizer's chat template as one user message followed by the assistant prefix
(``add_generation_prompt=True``).  The exact string is tokenized once; the character offsets of
a fast tokenizer say which tokens overlap the stimulus text.  Those tokens, and only those, are
pooled by ``mean`` and ``last-stimulus``; template and chat tokens never are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from rsastats.exceptions import ModelLoadError, ValidationError

__all__ = ["EncodedText", "encode_texts", "checked_example", "render", "pool_range", "right_padded_batch"]

_MARK = "@@RSASTATS-STIMULUS@@"


@dataclass(frozen=True)
class EncodedText:
    """One model input.

    Attributes
    ----------
    input_ids : the token ids the model reads.
    span : ``(start, stop)``: positions of the tokens that overlap the stimulus text.
    rendered : the exact string that was tokenized (template and chat template applied).
    """

    input_ids: tuple[int, ...]
    span: tuple[int, int]
    rendered: str

    def __len__(self) -> int:
        return len(self.input_ids)


def render(tokenizer: Any, text: str, *, template: str, chat: bool) -> tuple[str, int]:
    """The exact input string for ``text`` and the character offset where ``text`` starts in it."""
    content = template.replace("{text}", _MARK)
    if chat:
        messages = [{"role": "user", "content": content}]
        marked = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:
        marked = content
    if marked.count(_MARK) != 1:
        raise ModelLoadError("the chat template does not keep the user message verbatim; use --chat-template off")
    start = marked.index(_MARK)
    rendered = marked.replace(_MARK, text)
    if chat:
        direct = tokenizer.apply_chat_template([{"role": "user", "content": template.replace("{text}", text)}],
                                               tokenize=False, add_generation_prompt=True)
        if direct != rendered:
            raise ModelLoadError("the chat template changes the stimulus text (it is not inserted verbatim); "
                                 "use --chat-template off")
    return rendered, start


def encode_texts(tokenizer: Any, texts: Sequence[str], *, template: str = "{text}", chat: bool = False,
                 max_length: int | None = None) -> list[EncodedText]:
    """Encode ``texts``; raise if a text has no token of its own or is longer than ``max_length``.

    Special tokens: a chat template writes its own (BOS included), so none are added then;
    otherwise the tokenizer adds its usual ones (BOS for Llama/Gemma/Mistral, [CLS]/[SEP] for BERT).
    """
    encoded = []
    for text in texts:
        rendered, start = render(tokenizer, text, template=template, chat=chat)
        stop_char = start + len(text)
        enc = tokenizer(rendered, add_special_tokens=not chat, return_offsets_mapping=True)
        ids = list(enc["input_ids"])
        positions = [i for i, (a, b) in enumerate(enc["offset_mapping"]) if b > a and a < stop_char and b > start]
        if not positions:
            raise ValidationError(f"no token of the stimulus {text[:50]!r} could be located in the model input")
        if max_length is not None and len(ids) > max_length:
            raise ValidationError(f"the stimulus {text[:50]!r} needs {len(ids)} tokens; the model reads at most {max_length}")
        encoded.append(EncodedText(tuple(ids), (positions[0], positions[-1] + 1), rendered))
    return encoded


def checked_example(tokenizer: Any, texts: Sequence[Sequence[str]], baseline: Sequence[str], *, template: str,
                    chat: bool, max_length: int | None, sources: tuple[str | None, str | None]) -> str:
    """Check, before the model runs, that every stimulus text (``texts``, one list per emotion) and baseline text has
    a token of its own and fits ``max_length``; an error names the file it came from (``sources``: the stimuli's and
    the baseline's, None for built-in texts).  Returns the model input of the first stimulus (the file's example).
    Checked one emotion at a time otherwise, a text too long for the model stopped a run halfway."""
    for group, source in [*((t, sources[0]) for t in texts), (baseline, sources[1])]:
        try:
            encode_texts(tokenizer, group, template=template, chat=chat, max_length=max_length)
        except ValidationError as exc:
            raise ValidationError(exc.problem, path=source) from None
    return encode_texts(tokenizer, [texts[0][0]], template=template, chat=chat)[0].rendered


def pool_range(pooling: str, length: int, span: tuple[int, int], *, skip_first_token: bool = False) -> tuple[int, int]:
    """Half-open token positions ``(start, stop)`` pooled for one sequence (``stop == start``: none).

    ``length`` is the number of tokens read; ``span`` the stimulus tokens (comprehension) or the
    generated tokens (generation).
    """
    start, stop = span
    if pooling == "last":
        return (length - 1, length) if stop > start else (stop, stop)
    if pooling == "last-stimulus":
        return (stop - 1, stop)
    if pooling in ("mean", "mean-generated"):
        if skip_first_token and start == 0:
            start = 1
        return (start, max(start, stop))
    raise ValueError(f"unknown pooling {pooling!r}")


def right_padded_batch(sequences: Sequence[Sequence[int]], ranges: Sequence[tuple[int, int]], pad_id: int
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask, weights)`` for a batch, padded on the right.

    Right padding keeps every real token at the position it has alone, so causal models and
    absolute-position encoders (BERT) see exactly what they would at batch size 1.
    ``weights[b, t]`` is ``1/n`` on the ``n`` pooled tokens of row ``b`` and 0 elsewhere.
    """
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    weights = torch.zeros((len(sequences), width), dtype=torch.float32)
    for row, (seq, (start, stop)) in enumerate(zip(sequences, ranges)):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
        if stop > start:
            weights[row, start:stop] = 1.0 / (stop - start)
    return ids, mask, weights
