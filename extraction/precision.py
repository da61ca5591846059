"""Numeric precisions, and the three INT8 schemes as distinct precisions.

"INT8" is not one thing, and the schemes keep very different amounts of the emotion signal, so
each is its own ``precision`` value and records what exactly was quantized:

``fp32``, ``fp16``, ``bf16``  weights and activations in that dtype (pooling is done in float32).
``int8-dynamic``  ``torch.ao.quantization.quantize_dynamic``: int8 weights with one per-tensor
                  scale; at run time each Linear quantizes its input to 8 bits with ONE scale for
                  the whole input tensor.  Over a padded batch that scale depends on the other
                  sequences, so this scheme always runs one sequence per forward pass.
``int8-token``    torchao ``Int8DynamicActivationInt8WeightConfig``: per-channel int8 weights,
                  per-token int8 activation scales, integer matmul.  Scales are per token, but the
                  rounding to 8 bits amplifies the last-bit differences that batched matmuls make
                  (measured: ~9% relative change of a pooled vector), so it also runs one
                  sequence per pass.
``int8-weight``   torchao ``Int8WeightOnlyConfig``: per-channel int8 weights, float activations.

Only the ``nn.Linear`` layers inside the transformer blocks (attention and MLP projections) are
quantized; embeddings, norms and the LM head stay float32.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import torch

from rsastats.exceptions import DependencyError, ValidationError

from .capture import find_layout

__all__ = ["PrecisionInfo", "weight_dtype", "apply_precision", "ONE_SEQUENCE_PER_PASS"]

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# Schemes whose activations would depend on what else is in the batch.
ONE_SEQUENCE_PER_PASS = frozenset({"int8-dynamic", "int8-token"})


@dataclass(frozen=True)
class PrecisionInfo:
    """What a precision did to the model (recorded in the output's attributes).

    Attributes
    ----------
    precision : the precision value.
    compute_dtype : dtype of the float parts of the model.
    scheme : one sentence on how values are represented.
    quantized : which modules were quantized (``""`` for float precisions).
    one_sequence_per_pass : whether sequences must be run one at a time.
    """

    precision: str
    compute_dtype: str
    scheme: str
    quantized: str
    one_sequence_per_pass: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def weight_dtype(precision: str) -> torch.dtype:
    """The dtype to load weights in (INT8 schemes quantize from float32)."""
    return _DTYPES.get(precision, torch.float32)


def _block_linears(model: Any) -> list[str]:
    """Qualified names of the nn.Linear modules inside the transformer blocks."""
    name_of = {id(module): name for name, module in model.named_modules()}
    prefixes = tuple(name_of[id(block)] + "." for block in find_layout(model).blocks)
    return [name for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and name.startswith(prefixes)]


def _torchao():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from torchao.quantization import Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig, quantize_
    except ImportError as exc:
        raise DependencyError(f"the int8-token and int8-weight precisions need torchao: "
                              f"pip install --no-deps torchao ({exc})") from None
    return quantize_, Int8DynamicActivationInt8WeightConfig, Int8WeightOnlyConfig


def apply_precision(model: Any, precision: str) -> PrecisionInfo:
    """Convert or quantize ``model`` in place for ``precision``; return what was done."""
    if precision in _DTYPES:
        model.to(_DTYPES[precision])
        names = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
        return PrecisionInfo(precision, names[precision], f"{names[precision]} weights and activations", "", False)
    if precision not in ("int8-dynamic", "int8-token", "int8-weight"):
        raise ValidationError(f"unknown precision {precision!r}")
    model.to(torch.float32)
    targets = _block_linears(model)
    if not targets:
        raise ValidationError(f"{precision}: the model has no nn.Linear layers inside its blocks to quantize")
    what = (f"{len(targets)} nn.Linear modules inside the transformer blocks (attention and MLP projections); "
            "embeddings, norms and the LM head stay float32")
    if precision == "int8-dynamic":
        from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated in favour of torchao, still the scheme people used
            quantize_dynamic(model, {name: default_dynamic_qconfig for name in targets}, dtype=torch.qint8, inplace=True)
        scheme = (f"torch.ao.quantization.quantize_dynamic (engine {torch.backends.quantized.engine}): int8 weights, "
                  "per-tensor symmetric scale; each Linear input quantized at run time to 8 bits with one affine "
                  "scale per input tensor; one sequence per forward pass so the scale never mixes sequences")
        return PrecisionInfo(precision, "float32", scheme, what, True)
    quantize_, dynamic_config, weight_config = _torchao()
    wanted = set(targets)
    config = dynamic_config() if precision == "int8-token" else weight_config()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_(model, config, filter_fn=lambda module, fqn: fqn in wanted)
    if precision == "int8-token":
        scheme = ("torchao Int8DynamicActivationInt8WeightConfig: int8 weights with per-channel (per-row) symmetric "
                  "scales; activations quantized at run time to int8 with one symmetric scale per token; integer "
                  "matmul; one sequence per forward pass (8-bit rounding amplifies batched-matmul rounding)")
    else:
        scheme = ("torchao Int8WeightOnlyConfig: int8 weights with per-channel (per-row) symmetric scales, "
                  "activations stay float32")
    return PrecisionInfo(precision, "float32", scheme, what, precision in ONE_SEQUENCE_PER_PASS)
