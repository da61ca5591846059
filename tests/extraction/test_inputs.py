"""Which tokens are the stimulus: templates, chat templates, special tokens, pooling ranges."""

from __future__ import annotations

import pytest

from .conftest import make_tokenizer

pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

from extraction.inputs import checked_example, encode_texts, pool_range, render, right_padded_batch  # noqa: E402
from rsastats.exceptions import ValidationError  # noqa: E402


def _tokens(tok, encoded):
    return tok.convert_ids_to_tokens(list(encoded.input_ids))


def test_plain_text_gets_bos_and_the_span_is_the_text():
    tok = make_tokenizer()
    [enc] = encode_texts(tok, ["I feel happy today ."])
    assert _tokens(tok, enc) == ["<s>", "I", "feel", "happy", "today", "."]
    assert enc.span == (1, 6) and enc.rendered == "I feel happy today ."


def test_template_tokens_are_outside_the_span():
    tok = make_tokenizer()
    [enc] = encode_texts(tok, ["I feel happy"], template="Text : {text} .")
    tokens = _tokens(tok, enc)
    assert tokens[enc.span[0]:enc.span[1]] == ["I", "feel", "happy"]
    assert tokens[:enc.span[0]] == ["<s>", "Text", ":"] and tokens[enc.span[1]:] == ["."]


def test_chat_template_is_applied_for_chat_and_its_tokens_excluded():
    tok = make_tokenizer()
    [enc] = encode_texts(tok, ["I feel happy"], chat=True)
    assert enc.rendered == "<|user|> I feel happy <|end|> <|assistant|>"
    tokens = _tokens(tok, enc)
    assert tokens == ["<|user|>", "I", "feel", "happy", "<|end|>", "<|assistant|>"]  # no extra BOS: the template owns them
    assert tokens[enc.span[0]:enc.span[1]] == ["I", "feel", "happy"]
    assert render(tok, "x", template="{text}", chat=True)[1] == len("<|user|> ")


def test_encoder_special_tokens_are_outside_the_span():
    tok = make_tokenizer("encoder")
    [enc] = encode_texts(tok, ["We won ."])
    assert _tokens(tok, enc) == ["[CLS]", "We", "won", ".", "[SEP]"] and enc.span == (1, 4)


def test_too_long_input_is_refused():
    tok = make_tokenizer()
    with pytest.raises(ValidationError, match="needs 6 tokens; the model reads at most 4"):
        encode_texts(tok, ["I feel happy today ."], max_length=4)


def test_every_text_is_checked_before_the_run_and_the_error_names_its_file():
    """A text too long for the model was found only when its emotion's turn came, halfway through a run, and the
    error named no file (2026-12-07): every stimulus and baseline text is now checked first."""
    tok = make_tokenizer()
    texts = [["I feel happy"], ["I feel", "I feel happy today ."]]
    with pytest.raises(ValidationError, match=r"^s\.csv: the stimulus 'I feel happy today \.' needs 6 tokens"):
        checked_example(tok, texts, [], template="{text}", chat=False, max_length=5, sources=("s.csv", "b.txt"))
    with pytest.raises(ValidationError, match=r"^b\.txt: the stimulus 'I feel happy today \.' needs 6 tokens"):
        checked_example(tok, texts[:1], ["I feel happy today ."], template="{text}", chat=False, max_length=5,
                        sources=("s.csv", "b.txt"))
    assert checked_example(tok, texts, ["today ."], template="{text}", chat=False, max_length=6,
                           sources=("s.csv", None)) == "I feel happy"


def test_pool_ranges():
    assert pool_range("last", 10, (3, 7)) == (9, 10)
    assert pool_range("last-stimulus", 10, (3, 7)) == (6, 7)
    assert pool_range("mean", 10, (3, 7)) == (3, 7)
    assert pool_range("mean", 10, (0, 7), skip_first_token=True) == (1, 7)
    assert pool_range("mean", 10, (3, 7), skip_first_token=True) == (3, 7)  # position 0 is not in the span
    assert pool_range("mean", 1, (0, 1), skip_first_token=True) == (1, 1)   # nothing left: the prompt is invalid
    assert pool_range("mean-generated", 12, (8, 12)) == (8, 12)
    assert pool_range("last", 8, (8, 8)) == (8, 8)                          # generation ended at once


def test_right_padded_batch_weights():
    ids, mask, weights = right_padded_batch([[5, 6, 7], [8]], [(1, 3), (0, 1)], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert weights.tolist() == [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]
