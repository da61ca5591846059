"""Issue 17 item 9: a second identical extraction (same threads) holds the same content, fp32 and bf16;
the file records the thread count and instruction set that decide the rounding; a resume on another
thread count is refused rather than mixing roundings in one file."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import make_loaded

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

from extraction.config import make_config  # noqa: E402
from extraction.run import extract  # noqa: E402
from rsastats.exceptions import ConfigMismatchError  # noqa: E402
from rsastats.io import content_sha256, open_activations  # noqa: E402

from .test_run import _StopAfter  # noqa: E402


def _config(precision: str):
    return make_config(stimuli="named", emotions=("happy", "sad", "calm", "afraid"), limit=3, baseline_limit=3,
                       batch_size=2, precision=precision)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_second_identical_extraction_has_the_same_content(tmp_path, precision):
    first, second = tmp_path / "first.nc", tmp_path / "second.nc"
    extract(_config(precision), first, loaded=make_loaded("llama", hidden=64))
    extract(_config(precision), second, loaded=make_loaded("llama", hidden=64))
    a, b = open_activations(first), open_activations(second)
    for name in ("activations", "baseline", "n_tokens", "pool_start", "pool_stop", "valid"):
        assert a[name].dtype == b[name].dtype and np.array_equal(a[name].values, b[name].values), name
    assert content_sha256(first) == content_sha256(second)
    assert a.attrs["torch_threads"] == torch.get_num_threads() == 1  # the tests' fixture sets one thread
    assert a.attrs["cpu_capability"] == torch.backends.cpu.get_cpu_capability() != ""


def test_resume_on_another_thread_count_is_refused(tmp_path):
    out = tmp_path / "r.nc"
    with pytest.raises(KeyboardInterrupt):
        extract(_config("fp32"), out, loaded=make_loaded("llama"), progress=_StopAfter(4))
    torch.set_num_threads(2)  # the fixture restores the count after the test
    with pytest.raises(ConfigMismatchError, match="torch_threads: earlier 1, now 2"):
        extract(_config("fp32"), out, loaded=make_loaded("llama"))
    torch.set_num_threads(1)
    assert extract(_config("fp32"), out, loaded=make_loaded("llama")).resumed_emotions
