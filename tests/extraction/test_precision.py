"""Every precision: batch size does not change the result (INT8 exactly), and each INT8 scheme
differs from fp32 yet stays correlated with it."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import make_loaded

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

from extraction.config import PRECISIONS, make_config  # noqa: E402
from extraction.inputs import right_padded_batch  # noqa: E402
from extraction.precision import apply_precision  # noqa: E402
from extraction.run import extract  # noqa: E402
from rsastats.io import open_activations  # noqa: E402

# Largest relative change of a pooled vector between batch size 1 and 5 (tiny random models;
# measured: fp32 1e-7, fp16 9e-5, bf16 2e-4). INT8 with dynamic activation scales runs one
# sequence per pass, so it is exactly invariant.
BATCH_TOLERANCE = {"fp32": 1e-6, "fp16": 1e-3, "bf16": 5e-3, "int8-dynamic": 0.0, "int8-token": 0.0, "int8-weight": 1e-6}


def _run(tmp_path, arch, precision, batch_size, **options):
    out = tmp_path / f"{arch}-{precision}-{batch_size}.nc"
    config = make_config(precision=precision, batch_size=batch_size, stimuli="implicit", emotions=("happy", "sad", "calm"),
                         limit=5, baseline="none", pooling="mean", **options)
    extract(config, out, loaded=make_loaded(arch))
    return open_activations(out)


def _relative(a, b):
    return float((np.linalg.norm(a - b, axis=-1) / np.linalg.norm(b, axis=-1)).max())


@pytest.mark.parametrize("arch", ["llama", "bert"])
@pytest.mark.parametrize("precision", PRECISIONS)
def test_batch_size_does_not_change_activations(tmp_path, arch, precision):
    one = _run(tmp_path, arch, precision, 1)
    five = _run(tmp_path, arch, precision, 5)
    difference = _relative(five["activations"].values, one["activations"].values)
    assert difference <= BATCH_TOLERANCE[precision], difference
    assert one.attrs["precision"] == precision


@pytest.mark.parametrize("precision", ["int8-dynamic", "int8-token", "int8-weight"])
def test_each_int8_scheme_differs_from_fp32_yet_correlates(tmp_path, precision):
    reference = _run(tmp_path, "llama", "fp32", 5)["activations"].values
    quantized = _run(tmp_path, "llama", precision, 5)
    values = quantized["activations"].values
    assert _relative(values, reference) > 1e-3  # fp32 rounding alone is ~1e-7
    for layer in range(1, values.shape[2]):
        r = np.corrcoef(values[:, :, layer].ravel(), reference[:, :, layer].ravel())[0, 1]
        assert r > 0.99, (layer, r)
    attrs = quantized.attrs
    assert attrs["quantized_modules"].startswith("21 nn.Linear modules inside the transformer blocks")
    assert {"int8-dynamic": "quantize_dynamic", "int8-token": "per token",
            "int8-weight": "Int8WeightOnlyConfig"}[precision] in attrs["precision_scheme"]
    assert attrs["batching"] == ("one sequence per forward pass" if precision != "int8-weight"
                                 else "right-padded batches of up to 5 sequences")


def test_int8_dynamic_over_a_padded_batch_would_depend_on_the_batch():
    """Why int8-dynamic runs one sequence per pass: its activation scale spans the whole batch."""
    loaded = make_loaded("llama")
    apply_precision(loaded.model, "int8-dynamic")
    short = [2, 40, 41, 42]
    gen = torch.Generator().manual_seed(1)
    loud = [2] + torch.randint(50, 400, (12,), generator=gen).tolist()
    with torch.no_grad():
        alone = loaded.model(input_ids=torch.tensor([short]), output_hidden_states=True).hidden_states[-1][0, -1]
        ids, mask, _ = right_padded_batch([short, loud], [(3, 4), (12, 13)], pad_id=0)
        batched = loaded.model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[-1][0, 3]
    assert not torch.allclose(alone, batched, rtol=1e-4, atol=1e-5)


def test_precisions_set_the_compute_dtype():
    for precision, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16), ("fp32", torch.float32)):
        loaded = make_loaded("qwen2")
        info = apply_precision(loaded.model, precision)
        assert next(loaded.model.parameters()).dtype == dtype and not info.one_sequence_per_pass
