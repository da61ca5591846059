"""Hook capture equals output_hidden_states on tiny models of every architecture of the study."""

from __future__ import annotations

import pytest

from .conftest import ARCHITECTURES, make_model

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

from extraction.capture import CaptureMismatch, NonFiniteActivation, ResidualCapture, find_layout  # noqa: E402
from extraction.inputs import right_padded_batch  # noqa: E402


def _batch(seed=0, lengths=(7, 4, 9)):
    gen = torch.Generator().manual_seed(seed)
    seqs = [torch.randint(10, 200, (n,), generator=gen).tolist() for n in lengths]
    mean_ranges = [(1, n) for n in lengths]
    return seqs, mean_ranges


def _reference(model, seqs, ranges, final_norm_applied=True):
    """Pooled hidden states of each sequence run alone, from output_hidden_states."""
    rows = []
    for seq, (a, b) in zip(seqs, ranges):
        with torch.no_grad():
            states = model(input_ids=torch.tensor([seq]), output_hidden_states=True).hidden_states
        rows.append(torch.stack([s[0, a:b].mean(0) for s in states]))
    return torch.stack(rows)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_hooks_equal_output_hidden_states_in_a_padded_batch(arch):
    model = make_model(arch)
    seqs, ranges = _batch()
    n = model.config.num_hidden_layers
    with ResidualCapture(model, range(n + 1)) as capture:
        ids, mask, weights = right_padded_batch(seqs, ranges, pad_id=0)
        assert capture.verify(ids, mask, weights) == 0.0  # same tensors, pooled the same way
        pooled = capture.run(ids, mask, weights)
    expected = _reference(model, seqs, ranges)
    assert pooled.shape == (3, n + 1, 32)
    # right padding leaves every real token where it is alone: equal up to float32 rounding
    assert torch.allclose(pooled, expected, rtol=1e-4, atol=1e-5), (pooled - expected).abs().max()


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_layer_meaning_embedding_blocks_and_final_norm(arch):
    model = make_model(arch)
    layout = find_layout(model)
    n = layout.n_blocks
    seqs, _ = _batch(lengths=(5,))
    last = [(4, 5)]
    ids, mask, weights = right_padded_batch(seqs, last, pad_id=0)
    seen = {}
    handles = [layout.blocks[-1].register_forward_hook(lambda m, a, o: seen.setdefault("block", o[0] if isinstance(o, tuple) else o))]
    with torch.no_grad():
        out = model(input_ids=ids, output_hidden_states=True)
    handles[0].remove()
    with ResidualCapture(model, [0, n], final_norm="post") as capture:
        post = capture.run(ids, mask, weights)
    with ResidualCapture(model, [0, n], final_norm="pre") as capture:
        pre = capture.run(ids, mask, weights)
    assert torch.equal(post[0, 0], out.hidden_states[0][0, 4])          # layer 0: embedding output
    assert torch.equal(pre[0, 1], seen["block"][0, 4])                   # pre: raw output of the last block
    assert torch.equal(post[0, 1], out.hidden_states[n][0, 4])           # post: what hidden_states[-1] holds
    if arch == "bert":
        assert layout.final_norm is None and layout.last_layer_norm("post") == "no-final-norm"
        assert torch.equal(pre, post)
    else:
        assert layout.norm_path == "base_model.norm" and layout.last_layer_norm("pre") == "pre-final-norm"
        assert not torch.allclose(pre[0, 1], post[0, 1])
        assert torch.allclose(layout.final_norm(seen["block"])[0, 4], post[0, 1])


def test_subset_of_layers_stops_early_and_hooks_are_always_removed():
    model = make_model("llama", layers=4)
    seqs, ranges = _batch()
    ids, mask, weights = right_padded_batch(seqs, ranges, pad_id=0)
    calls = []
    spy = model.model.layers[3].register_forward_hook(lambda *a: calls.append(1))
    with ResidualCapture(model, [1, 2]) as capture:
        part = capture.run(ids, mask, weights)
        full = capture.verify(ids, mask, weights)
    assert full == 0.0 and len(calls) == 1  # run() stopped after block 2; verify() ran the whole model
    with ResidualCapture(model, range(5)) as capture:
        everything = capture.run(ids, mask, weights)
    assert torch.equal(part, everything[:, 1:3])
    spy.remove()
    modules = [*model.model.layers, model.model.norm]
    before = [(len(m._forward_pre_hooks), len(m._forward_hooks)) for m in modules]  # transformers keeps its own
    with pytest.raises(RuntimeError):
        with ResidualCapture(model, [0]) as capture:
            assert [len(m._forward_hooks) for m in modules] == [n + 1 for _, n in before]
            raise RuntimeError("boom")
    assert [(len(m._forward_pre_hooks), len(m._forward_hooks)) for m in modules] == before


def test_non_finite_activation_names_the_layer():
    model = make_model("llama")
    with torch.no_grad():
        model.model.layers[1].mlp.down_proj.weight.fill_(float("inf"))
    seqs, ranges = _batch()
    ids, mask, weights = right_padded_batch(seqs, ranges, pad_id=0)
    with ResidualCapture(model, [0, 3]) as capture, pytest.raises(NonFiniteActivation) as info:
        capture.run(ids, mask, weights)
    assert info.value.layer == 2 and info.value.rows == [0, 1, 2]


def test_a_misidentified_final_norm_is_caught_by_verify(monkeypatch):
    model = make_model("llama")
    import extraction.capture as capture_module

    monkeypatch.setattr(capture_module, "_NORM_NAMES", ("no_such_norm",))
    seqs, ranges = _batch()
    ids, mask, weights = right_padded_batch(seqs, ranges, pad_id=0)
    with ResidualCapture(model, [3]) as capture, pytest.raises(CaptureMismatch, match="layer 3"):
        capture.verify(ids, mask, weights)
