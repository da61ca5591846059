"""Issue 15: the default extraction path works end to end.  Two extractions with the defaults (last
token, chat template) of two tiny random models, then ``rsastats report`` on them: at the embedding
layer every text ends on the same template token, so that layer's RDM is constant; the report is
still written, with the layer named in a note, and ``geometry`` gives the true reason."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from .conftest import make_model, make_tokenizer

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.extraction

from rsastats.cli import cli  # noqa: E402
from rsastats.io import open_activations  # noqa: E402

EMOTIONS = "happy,sad,calm,angry,afraid"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("default-runs")
    out = []
    for seed in (0, 1):
        folder = tmp / f"tiny{seed}"
        make_model("llama", seed=seed).save_pretrained(folder)
        make_tokenizer().save_pretrained(folder)
        path = tmp / f"run{seed}.nc"
        # The defaults of `rsastats extract` (last-token pooling); the chat template is on by default for
        # instruct models, and this local folder records no variant, so it is asked for.
        result = CliRunner().invoke(cli, ["extract", "--model", str(folder), "--chat-template", "on", "--emotions",
                                          EMOTIONS, "--limit", "4", "--baseline-limit", "4", "--threads", "1",
                                          "--out", str(path), "--quiet"])
        assert result.exit_code == 0, result.output
        out.append(path)
    return out


def test_the_embedding_layer_is_constant_across_texts(runs):
    ds = open_activations(runs[0], layers=[0])
    rows = ds["activations"].values.reshape(-1, ds.sizes["hidden"])
    assert np.ptp(rows, axis=0).max() == 0  # the same template token ends every text


def test_report_on_two_default_extractions_is_complete(runs, tmp_path):
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["report", *map(str, runs), "--out", str(out), "--n-boot", "50", "--permutations",
                                      "99", "--layer-n-boot", "20", "--geometry-n-boot", "20", "--maturity-n-boot", "20",
                                      "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "report.json").read_text())
    assert {"pairs", "layers", "anisotropy"} <= set(manifest["tables"])
    curve = manifest["tables"]["layers"]["records"]
    assert curve and all(r["layer_a"] != "layer 0" for r in curve)  # the constant layer is left out of the curve
    md = (out / "report.md").read_text()
    assert "layer curves: the point at run0 layer 0, run1 layer 0 is left out" in md
    assert "RDM of run0, run1 is constant there" in md
    assert (out / "index.html").is_file()


def test_a_constant_layer_in_the_main_comparison_names_the_layer_and_section(runs, tmp_path):
    result = CliRunner().invoke(cli, ["report", *map(str, runs), "--out", str(tmp_path / "r"), "--layer", "0",
                                      "--n-boot", "20", "--quiet"])
    assert result.exit_code == 2
    line = result.stderr.strip().splitlines()
    assert len(line) == 1 and line[0].startswith("error: ")
    assert "report section 'main comparison'" in line[0] and "RDM is constant at layer 0" in line[0]
    assert not (tmp_path / "r").exists()


def test_geometry_gives_the_true_reason_at_the_constant_layer(runs):
    result = CliRunner().invoke(cli, ["geometry", str(runs[0]), "--layer", "all", "--n-boot", "20", "--json"])
    assert result.exit_code == 0, result.output
    layers = {item["layer"]: item for item in json.loads(result.stdout)["files"][0]["layers"]}
    descriptors = layers[0]["descriptors"].values()
    undefined = [d["note"] for d in descriptors if "undefined" in d["note"]]
    assert undefined and all("every text has the same activation vector" in n for n in undefined)
    assert not any("too few distinct texts" in d["note"] for d in descriptors)
