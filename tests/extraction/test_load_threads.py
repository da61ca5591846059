"""Models loaded from several threads at once (dask workers in one process run extraction tasks as threads).

transformers builds a model under torch's process-wide default dtype, which it sets for the load and restores after:
two loads with different precisions in two threads interleaved those settings, so that a model asked for in fp32 came
out with some weights in bf16 or fp16 (the file would then have recorded a precision it was not computed in) and the
process kept a default dtype of fp16 after both had finished (found 2026-12-07, when a test after the threaded
manifest test built its model in bf16: 32 of 36 loads wrong in 12 rounds of 3 threads). ``load_model`` now loads one
model at a time per process."""

from __future__ import annotations

import threading

import pytest

from .conftest import make_model, make_tokenizer

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

from extraction.models import load_model  # noqa: E402


def test_loads_in_threads_keep_their_own_precision_and_the_default(tmp_path):
    folder = tmp_path / "tiny-model"
    make_model("llama", layers=2, hidden=32).save_pretrained(folder)
    make_tokenizer().save_pretrained(folder)
    before = torch.get_default_dtype()
    wanted = [torch.bfloat16, torch.float32, torch.float16] * 2
    for _ in range(4):
        got: dict[int, object] = {}

        def load(i, dtype):
            try:
                got[i] = {p.dtype for p in load_model(str(folder), dtype=dtype).model.parameters()}
            except Exception as exc:  # noqa: BLE001 - the test reports it below
                got[i] = exc

        threads = [threading.Thread(target=load, args=(i, dtype)) for i, dtype in enumerate(wanted)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {i: got[i] for i in range(len(wanted))} == {i: {dtype} for i, dtype in enumerate(wanted)}
        assert torch.get_default_dtype() == before
