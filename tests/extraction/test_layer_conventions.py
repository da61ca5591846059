"""The layer conventions of docs/file-format.md on a tiny random model: the output of decoder block i
(where steering-vectors hooks its layer i, and what repeng's ``direction.i`` is read from) is
``hidden_states[i + 1]``, rsastats layer i + 1; for the last block, before the final norm."""

from __future__ import annotations

import pytest

from rsastats.io import LAYER_CONVENTIONS

from .conftest import make_model

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_block_output_is_hidden_states_of_the_next_index(arch):
    model = make_model(arch, layers=3)
    blocks = model.model.layers  # the modules steering-vectors' guess_decoder_block_matcher picks: model.layers.{num}
    captured: dict[int, torch.Tensor] = {}
    hooks = [block.register_forward_hook(lambda _m, _i, out, i=i: captured.__setitem__(
        i, (out[0] if isinstance(out, tuple) else out).detach().clone())) for i, block in enumerate(blocks)]
    try:
        with torch.no_grad():
            states = model(input_ids=torch.tensor([[5, 17, 42, 9, 33]]), output_hidden_states=True).hidden_states
    finally:
        for hook in hooks:
            hook.remove()
    n = len(blocks)
    assert len(states) == n + 1
    offset = LAYER_CONVENTIONS["block"]
    for i in range(n - 1):
        torch.testing.assert_close(captured[i], states[i + offset], rtol=0, atol=0)
        assert not torch.allclose(captured[i], states[i])  # the block index itself names another layer
    # The last block's output is before the final norm; hidden_states[n] is after it.
    torch.testing.assert_close(model.model.norm(captured[n - 1]), states[n], rtol=1e-6, atol=1e-6)
    assert not torch.allclose(captured[n - 1], states[n])
