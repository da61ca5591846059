"""Capture the residual stream with forward hooks, pooled over chosen tokens, at chosen layers.

Layer indices (the ``layer`` coordinate of every activations file):

``0``        the input of the first block: the embedding output (scaled, for Gemma), which is
             ``hidden_states[0]`` of transformers.
``i``        (1 <= i < L) the output of block ``i`` (``hidden_states[i]``).
``L``        the output of the last block.  With ``final_norm="post"`` (default) it is taken after
             the model's final norm (``model.norm``), which is what ``hidden_states[L]`` holds for
             Llama, Qwen2, Mistral and Gemma3; with ``"pre"`` it is the raw block output.  Encoders
             such as BERT have no final norm (each block ends in its own LayerNorm).

Hooks live only inside the :class:`ResidualCapture` context manager and are always removed.
Each hook pools its layer at once (``(batch, tokens, hidden) -> (batch, hidden)`` in float32), so
memory does not grow with the number of layers or tokens, and checks that every real token's
activations are finite; a NaN/Inf raises :class:`NonFiniteActivation` naming the layer.
:meth:`ResidualCapture.verify` compares the hooks with the model's own ``output_hidden_states``
once per run, so an architecture whose blocks or final norm were misidentified fails loudly.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from rsastats.exceptions import ModelLoadError

__all__ = ["ModelLayout", "find_layout", "ResidualCapture", "NonFiniteActivation", "CaptureMismatch"]

_BLOCK_PATHS = ("layers", "encoder.layer", "h", "blocks", "decoder.layers", "transformer.h", "language_model.layers")
_NORM_NAMES = ("norm", "final_layernorm", "ln_f", "final_layer_norm", "final_norm")


class NonFiniteActivation(RuntimeError):
    """NaN or Inf in the residual stream (fp16 overflow, usually)."""

    def __init__(self, layer: int, rows: list[int]):
        self.layer = layer
        self.rows = rows
        super().__init__(f"NaN/Inf at layer {layer} in batch rows {rows}")


class CaptureMismatch(RuntimeError):
    """The hooks did not see what ``output_hidden_states`` reports."""


class _StopForward(Exception):
    """Raised by the last needed hook: the rest of the forward pass is not needed."""


@dataclass(frozen=True)
class ModelLayout:
    """Where the blocks and the final norm of a model are.

    Attributes
    ----------
    blocks : the ``ModuleList`` of transformer blocks.
    final_norm : the final normalisation module, or ``None`` (encoders).
    block_path, norm_path : their attribute paths, for the record.
    """

    blocks: Any
    final_norm: Any
    block_path: str
    norm_path: str

    @property
    def n_blocks(self) -> int:
        return len(self.blocks)

    def last_layer_norm(self, final_norm: str) -> str:
        """The ``last_layer_norm`` attribute for ``final_norm`` (post/pre)."""
        if self.final_norm is None:
            return "no-final-norm"
        return "post-final-norm" if final_norm == "post" else "pre-final-norm"


def _get_path(root: Any, path: str) -> Any:
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def find_layout(model: Any) -> ModelLayout:
    """Locate the transformer blocks and the final norm of a transformers model."""
    n_blocks = int(getattr(model.config, "num_hidden_layers", -1))
    base = getattr(model, "base_model", model)
    for root_name, root in (("base_model", base), ("model", model)):
        for path in _BLOCK_PATHS:
            blocks = _get_path(root, path)
            if isinstance(blocks, torch.nn.ModuleList) and len(blocks) == n_blocks:
                holder_path = path.rsplit(".", 1)[0] if "." in path else ""
                holder = _get_path(root, holder_path) if holder_path else root
                for name in _NORM_NAMES:
                    norm = getattr(holder, name, None)
                    if isinstance(norm, torch.nn.Module):
                        prefix = f"{root_name}.{holder_path + '.' if holder_path else ''}"
                        return ModelLayout(blocks, norm, f"{root_name}.{path}", f"{prefix}{name}")
                return ModelLayout(blocks, None, f"{root_name}.{path}", "")
    raise ModelLoadError(f"cannot find the {n_blocks} transformer blocks of {type(model).__name__} "
                         f"(looked for {', '.join(_BLOCK_PATHS)}); this architecture is not supported yet")


def _hidden(value: Any) -> torch.Tensor:
    return value[0] if isinstance(value, (tuple, list)) else value


class ResidualCapture:
    """Forward hooks that pool the residual stream of ``layers`` (see the module docstring).

    Use as a context manager; inside it call :meth:`run` once per batch.

    Parameters
    ----------
    model : a transformers model (causal LM or encoder).
    layers : sorted layer indices, 0..n_blocks.
    final_norm : ``"post"`` or ``"pre"``: what layer ``n_blocks`` is (ignored without a final norm).
    """

    def __init__(self, model: Any, layers: Sequence[int], final_norm: str = "post"):
        self.model = model
        self.layout = find_layout(model)
        self.layers = tuple(int(x) for x in layers)
        self.final_norm = final_norm
        n = self.layout.n_blocks
        if not self.layers or min(self.layers) < 0 or max(self.layers) > n:
            raise ValueError(f"layers must lie in 0..{n}, got {self.layers}")
        self._slot = {layer: i for i, layer in enumerate(self.layers)}
        self._handles: list[Any] = []
        self._weights: torch.Tensor | None = None
        self._real: torch.Tensor | None = None
        self._pooled: list[torch.Tensor | None] = []
        self._stop_at: str | None = None
        self._post_norm = self.layout.final_norm is not None and final_norm == "post"
        params = inspect.signature(model.forward).parameters
        self._forward_kwargs = {"use_cache": False} if "use_cache" in params else {}
        if "logits_to_keep" in params:
            self._forward_kwargs["logits_to_keep"] = 1  # hidden states only; skip most of the LM head

    # ------------------------------------------------------------------ hooks
    def __enter__(self) -> "ResidualCapture":
        blocks = self.layout.blocks
        self._handles.append(blocks[0].register_forward_pre_hook(self._pre_hook_first, with_kwargs=True))
        for i, block in enumerate(blocks, start=1):
            self._handles.append(block.register_forward_hook(self._block_hook(i)))
        if self.layout.final_norm is not None:
            self._handles.append(self.layout.final_norm.register_forward_hook(self._norm_hook))
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _pre_hook_first(self, module: Any, args: tuple, kwargs: dict) -> None:
        hidden = args[0] if args else kwargs.get("hidden_states")
        self._check_finite(0, hidden)
        self._take(0, hidden, "embedding")

    def _block_hook(self, index: int):
        last = index == self.layout.n_blocks

        def hook(module: Any, args: Any, output: Any) -> None:
            hidden = _hidden(output)
            self._check_finite(index, hidden)
            if not (last and self._post_norm):
                self._take(index, hidden, f"block{index}")
        return hook

    def _norm_hook(self, module: Any, args: Any, output: Any) -> None:
        hidden = _hidden(output)
        self._check_finite(self.layout.n_blocks, hidden)
        if self._post_norm:
            self._take(self.layout.n_blocks, hidden, "norm")

    def _take(self, layer: int, hidden: torch.Tensor, where: str) -> None:
        slot = self._slot.get(layer)
        if slot is not None and self._weights is not None:
            # Pool in float32 whatever the compute dtype: means of bf16 values lose digits otherwise.
            self._pooled[slot] = torch.bmm(self._weights[:, None, :], hidden.float())[:, 0, :]
        if where == self._stop_at:
            raise _StopForward

    def _check_finite(self, layer: int, hidden: torch.Tensor) -> None:
        if self._real is None:
            return
        bad = ~torch.isfinite(hidden).all(dim=-1) & self._real
        if bool(bad.any()):
            raise NonFiniteActivation(layer, sorted({int(r) for r in bad.nonzero()[:, 0]}))

    def _stop_point(self) -> str | None:
        """The hook after which nothing more is needed, or None when the whole pass is."""
        top = max(self.layers)
        n = self.layout.n_blocks
        if top == n:
            return None
        return "embedding" if top == 0 else f"block{top}"

    # ------------------------------------------------------------------ running
    @torch.no_grad()
    def run(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Run one batch; return pooled activations ``(batch, len(layers), hidden)`` float32.

        ``weights`` is ``(batch, tokens)``: how much each token contributes to the pooled vector
        (rows sum to 1; zero on padding and on every token not pooled).
        """
        self._start(attention_mask, weights)
        self._stop_at = self._stop_point()
        try:
            self.model(input_ids=input_ids, attention_mask=attention_mask, **self._forward_kwargs)
        except _StopForward:
            pass
        finally:
            self._stop_at = None
        return self._finish()

    @torch.no_grad()
    def verify(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, weights: torch.Tensor) -> float:
        """Run one batch with ``output_hidden_states`` too and check the hooks saw the same tensors.

        Returns the largest absolute difference (0.0 when the hooks are right); raises
        :class:`CaptureMismatch` naming the first layer that differs.
        """
        self._start(attention_mask, weights)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True,
                         **self._forward_kwargs)
        captured = self._finish()
        states = out.hidden_states
        if len(states) != self.layout.n_blocks + 1:
            raise CaptureMismatch(f"the model reports {len(states)} hidden states for {self.layout.n_blocks} blocks")
        worst = 0.0
        for slot, layer in enumerate(self.layers):
            if layer == self.layout.n_blocks and self.layout.final_norm is not None and not self._post_norm:
                continue  # hidden_states[-1] is after the final norm; "pre" deliberately differs
            expected = torch.bmm(weights[:, None, :], states[layer].float())[:, 0, :]
            diff = float((captured[:, slot] - expected).abs().max())
            scale = float(expected.abs().max()) or 1.0
            if not diff <= 1e-5 * scale:
                raise CaptureMismatch(f"layer {layer}: hooks differ from output_hidden_states by {diff:.3g} "
                                      f"(blocks at {self.layout.block_path}, final norm at {self.layout.norm_path or 'none'})")
            worst = max(worst, diff)
        return worst

    def _start(self, attention_mask: torch.Tensor, weights: torch.Tensor) -> None:
        self._weights = weights.to(torch.float32)
        self._real = attention_mask.bool()
        self._pooled = [None] * len(self.layers)

    def _finish(self) -> torch.Tensor:
        missing = [layer for layer, p in zip(self.layers, self._pooled) if p is None]
        self._weights = None
        self._real = None
        if missing:
            raise CaptureMismatch(f"no activations were captured for layer(s) {missing}")
        return torch.stack(self._pooled, dim=1)  # type: ignore[arg-type]
