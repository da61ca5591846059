"""Whole runs on tiny models: the file, streaming and resume, refusals, overflow, chat templates."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import make_loaded

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

import extraction.parts as parts_module  # noqa: E402
from extraction.config import make_config  # noqa: E402
from extraction.run import extract, work_folder  # noqa: E402
from rsastats.io import open_activations  # noqa: E402
from rsastats.exceptions import ConfigMismatchError, ValidationError  # noqa: E402

EMOTIONS = ("happy", "sad", "calm", "afraid")


def _config(**options):
    base = dict(stimuli="named", emotions=EMOTIONS, limit=3, baseline_limit=3, batch_size=2)
    return make_config(**{**base, **options})


def test_comprehension_file_is_valid_and_says_what_it_holds(tmp_path):
    out = tmp_path / "run.nc"
    result = extract(_config(layers="0,2,-1"), out, loaded=make_loaded("llama"))
    ds = open_activations(out)
    assert ds.sizes == {"emotion": 4, "prompt": 3, "layer": 3, "hidden": 32, "sample": 3}
    assert list(ds["layer"].values) == [0, 2, 3] and list(ds["emotion"].values) == list(EMOTIONS)
    assert ds["text"].values[1, 0] == "I feel sad at work today."
    assert (ds["valid"].values == 1).all() and ds["baseline_text"].values[0].startswith("Tomorrow will be cloudy")
    assert (ds["pool_stop"].values == ds["n_tokens"].values).all()  # last token of the input
    assert (ds["pool_start"].values == ds["n_tokens"].values - 1).all()
    attrs = ds.attrs
    assert attrs["last_layer_norm"] == "post-final-norm" and "after the final norm (base_model.norm)" in attrs["layer_definition"]
    assert attrs["stimulus_set"].startswith("named sha256:") and "first 3 prompts per emotion" in attrs["stimulus_selection"]
    assert (attrs["method"], attrs["pooling"], attrs["precision"], attrs["chat_template"]) == ("comprehension", "last", "fp32", 1)
    assert attrs["temperature"] == "" and attrs["seed"] == ""  # not applicable to comprehension
    assert result.n_invalid == 0 and result.tokens > 0 and not work_folder(out).exists()


def test_mean_pooling_covers_exactly_the_stimulus_tokens(tmp_path):
    out = tmp_path / "mean.nc"
    extract(_config(pooling="mean", template="Text : {text}", chat_template="off"), out, loaded=make_loaded("llama"))
    ds = open_activations(out)
    # "<s> Text : I feel sad at work today ." -> the stimulus starts at position 3 and runs to the end
    assert ds["pool_start"].values[1, 0] == 3 and ds["pool_stop"].values[1, 0] == ds["n_tokens"].values[1, 0]
    assert ds.attrs["template"] == "Text : {text}" and ds.attrs["chat_template"] == 0
    assert "template and chat-template tokens excluded" in ds.attrs["pooled_tokens"]


def test_chat_template_is_applied_for_instruct_models_only(tmp_path):
    instruct = tmp_path / "instruct.nc"
    base = tmp_path / "base.nc"
    forced = tmp_path / "forced.nc"
    extract(_config(), instruct, loaded=make_loaded("llama", variant="instruct"))
    extract(_config(), base, loaded=make_loaded("llama", variant="base"))
    extract(_config(chat_template="on"), forced, loaded=make_loaded("llama", variant="base"))
    assert open_activations(instruct).attrs["input_example"] == "<|user|> I feel happy at work today. <|end|> <|assistant|>"
    assert open_activations(base).attrs["input_example"] == "I feel happy at work today."
    assert open_activations(base).attrs["chat_template"] == 0 and open_activations(forced).attrs["chat_template"] == 1


class _StopAfter:
    """A progress hook that interrupts the run once ``n`` prompts are done (like Ctrl-C)."""

    def __init__(self, n):
        self.n, self.done = n, 0

    def start(self, total, done):
        self.done = done

    def advance(self, prompts, tokens):
        self.done += prompts
        if self.done >= self.n:
            raise KeyboardInterrupt


@pytest.mark.parametrize("method", ["comprehension", "generation"])
def test_a_killed_run_resumes_to_an_identical_file(tmp_path, monkeypatch, method):
    monkeypatch.setattr(parts_module, "_now", lambda: "2026-01-01T00:00:00+00:00")
    options = {"method": method, "max_new_tokens": 5, "temperature": 0.9} if method == "generation" else {}
    config = _config(**options)
    whole = tmp_path / "whole.nc"
    extract(config, whole, loaded=make_loaded("llama"))
    out = tmp_path / "resumed.nc"
    with pytest.raises(KeyboardInterrupt):
        extract(config, out, loaded=make_loaded("llama"), progress=_StopAfter(7))
    assert not out.exists()
    parts = sorted(p.name for p in work_folder(out).iterdir())
    assert parts == ["emotion-000.npz", "emotion-001.npz", "manifest.json"]  # finished emotions are on disk
    result = extract(config, out, loaded=make_loaded("llama"))
    assert result.resumed_emotions == ("happy", "sad")
    assert out.read_bytes() == whole.read_bytes()
    assert not work_folder(out).exists()


def test_resume_with_another_configuration_is_refused(tmp_path):
    out = tmp_path / "r.nc"
    with pytest.raises(KeyboardInterrupt):
        extract(_config(), out, loaded=make_loaded("llama"), progress=_StopAfter(4))
    with pytest.raises(ConfigMismatchError, match="pooling: earlier 'last', now 'mean'") as info:
        extract(_config(pooling="mean"), out, loaded=make_loaded("llama"))
    assert str(info.value).startswith(str(work_folder(out))) and "--restart" in str(info.value)
    with pytest.raises(ConfigMismatchError, match="model_revision"):
        extract(_config(), out, loaded=make_loaded("llama", seed=1))
    result = extract(_config(pooling="mean"), out, loaded=make_loaded("llama"), restart=True)
    assert result.resumed_emotions == () and open_activations(out).attrs["pooling"] == "mean"


def test_existing_output_needs_overwrite(tmp_path):
    out = tmp_path / "x.nc"
    out.write_bytes(b"keep me")
    with pytest.raises(ValidationError, match="already exists; pass --overwrite"):
        extract(_config(), out, loaded=make_loaded("llama"))
    assert out.read_bytes() == b"keep me"
    extract(_config(), out, loaded=make_loaded("llama"), overwrite=True)
    assert open_activations(out).sizes["emotion"] == 4


def test_fp16_overflow_is_reported_with_the_layer_and_nothing_is_written(tmp_path):
    loaded = make_loaded("llama")
    with torch.no_grad():
        loaded.model.model.layers[1].post_attention_layernorm.weight.fill_(1e4)  # block 2 output ~6e5: > fp16 max
    out = tmp_path / "f.nc"
    with pytest.raises(ValidationError) as info:
        extract(_config(precision="fp16"), out, loaded=loaded)
    message = str(info.value)
    assert "fp16: NaN/Inf in the residual stream at layer 2 for emotion 'happy' prompt" in message
    assert "use --precision bf16 or fp32" in message and "\n" not in message
    assert not out.exists() and not work_folder(out).exists()  # nothing finished: nothing to resume
    loaded = make_loaded("llama")
    with torch.no_grad():
        loaded.model.model.layers[1].post_attention_layernorm.weight.fill_(1e4)
    extract(_config(precision="fp32"), out, loaded=loaded)  # the same weights are fine in fp32
    assert np.isfinite(open_activations(out)["activations"].values).all()


def test_unbalanced_user_stimuli_mark_missing_prompts_invalid(tmp_path):
    stimuli = tmp_path / "s.csv"
    stimuli.write_text("emotion,text\nhappy,We won .\nhappy,The sun is out .\nhappy,I feel happy .\nsad,It broke .\n"
                       "calm,The lake is still .\ncalm,I sat down .\ncalm,We rest .\n", encoding="utf-8")
    out = tmp_path / "u.nc"
    with pytest.warns(Warning, match="unbalanced"):
        result = extract(make_config(stimuli=str(stimuli), baseline="none"), out, loaded=make_loaded("llama"))
    ds = open_activations(out)
    assert ds["valid"].values.tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 1]]
    assert np.isnan(ds["activations"].values[1, 1]).all() and ds["text"].values[1, 1] == ""
    assert "baseline" not in ds and ds.attrs["stimulus_source"] == str(stimuli)
    assert result.n_invalid == 0 and any("unbalanced" in p for p in result.problems)  # missing is not invalid


def test_encoder_runs_comprehension_and_records_no_final_norm(tmp_path):
    out = tmp_path / "bert.nc"
    extract(_config(pooling="mean"), out, loaded=make_loaded("bert"))
    ds = open_activations(out)
    assert ds.attrs["last_layer_norm"] == "no-final-norm" and ds.attrs["chat_template"] == 0
    assert (ds["pool_start"].values == 1).all() and (ds["pool_stop"].values == ds["n_tokens"].values - 1).all()
