"""`rsastats hypotheses` and `rsastats compare --partial` through click's CliRunner: JSON keys, the table,
and one `error:` line with exit status 2 naming the file for each kind of bad hypothesis file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.io import make_rdm, write_dataset
from rsastats.simulate import simulate_activations, true_vectors

FAST = ["--n-boot", "40", "--permutations", "99", "--n-splits", "3"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hypcli")
    tv = true_vectors(7, 12, seed=2)
    out = {}
    for k in range(2):
        ds = simulate_activations(7, 5, 2, 12, vectors=tv, noise=0.6, seed=k + 1, attrs={"model": f"m{k}"})
        out[f"data{k}"] = str(write_dataset(ds, tmp / f"data{k}.nc"))
    labels = [str(e) for e in ds["emotion"].values]
    rng = np.random.default_rng(3)
    good = pd.DataFrame({"emotion": labels, "valence": tv[:, 0], "arousal": tv[:, 1]})
    good.to_csv(tmp / "va.csv", index=False)
    out["va"] = str(tmp / "va.csv")
    tokens = rng.uniform(5, 20, 7)
    out["tokens"] = str(write_dataset(make_rdm(np.abs(tokens[:, None] - tokens[None]), labels,
                                               attrs={"rdm_method": "euclidean", "source": "tokens"}), tmp / "tokens.nc"))
    words = rng.standard_normal((7, 3))
    out["words"] = str(write_dataset(make_rdm(np.sqrt(((words[:, None] - words[None]) ** 2).sum(-1)), labels,
                                              attrs={"rdm_method": "euclidean", "source": "words"}), tmp / "words.nc"))
    bad = {
        "missing_emotion": good.iloc[1:],
        "constant": good.assign(arousal=1.0),
        "nan": good.assign(valence=["nan"] + [str(v) for v in good.valence[1:]]),
        "duplicate": pd.concat([good, good.iloc[:1]]),
        "text_value": good.assign(valence=["high"] + [str(v) for v in good.valence[1:]]),
    }
    for name, frame in bad.items():
        frame.to_csv(tmp / f"{name}.csv", index=False)
        out[name] = str(tmp / f"{name}.csv")
    return out


@pytest.fixture
def runner():
    return CliRunner()


def test_json(runner, files):
    result = runner.invoke(cli, ["hypotheses", files["data0"], files["data1"], "--models", files["va"], "--models",
                                 files["tokens"], "--partial", files["words"], *FAST, "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["data"] == ["data0", "data1"] and [h["name"] for h in out["hypotheses"]] == ["va", "tokens"]
    assert out["hypotheses"][0]["made_by"] == "euclidean distance of z-scored features"
    assert len(out["fits"]) == 4 and len(out["differences"]) == 2
    fit = out["fits"][0]
    assert {"rho", "ci_low", "ci_high", "p_value", "p_adjusted", "noise_ceiling", "partial_rho", "partial_p_value"} <= set(fit)
    assert fit["ci_low"] <= fit["rho"] <= fit["ci_high"] and fit["noise_ceiling"] is not None
    assert out["confounds"][0]["name"] == "words" and out["confounds"][0]["made_by"] == "stored euclidean RDM"


def test_table(runner, files):
    result = runner.invoke(cli, ["hypotheses", files["data0"], "--models", files["va"], "--models", files["tokens"], *FAST])
    assert result.exit_code == 0, result.output
    assert "Which hypothesis fits better" in result.stdout and "z-scored features" in result.stdout


@pytest.mark.parametrize("bad, words", [("missing_emotion", "no entry for 1 emotion"), ("constant", "is constant"),
                                        ("nan", "NaN"), ("duplicate", "duplicated emotion label"),
                                        ("text_value", "not a number")])
@pytest.mark.parametrize("option", ["--models", "--partial"])
def test_bad_hypothesis_files_exit_2_naming_the_file(runner, files, bad, words, option):
    args = ["hypotheses", files["data0"], "--models", files["va"], *FAST]
    result = runner.invoke(cli, args + [option, files[bad]])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {files[bad]}: ") and words in lines[0], lines


def test_compare_partial(runner, files):
    base = ["compare", files["data0"], files["data1"], *FAST, "--json"]
    plain = json.loads(runner.invoke(cli, base).stdout)
    result = runner.invoke(cli, base + ["--partial", files["tokens"], "--partial", files["va"]])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {k: v for k, v in out.items() if k != "partial"} == plain  # compare's own numbers do not change
    assert out["partial"]["confounds"] == ["tokens", "va"] and out["partial"]["rho"] == pytest.approx(plain["rho"])
    table = runner.invoke(cli, base[:-1] + ["--partial", files["tokens"]])
    assert "partial Mantel p" in table.stdout


def test_compare_partial_refuses_kendall(runner, files):
    result = runner.invoke(cli, ["compare", files["data0"], files["data1"], "--rank", "kendall", "--partial",
                                 files["tokens"], *FAST])
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and "spearman or pearson" in result.stderr


def test_common_emotions_names_what_it_left_out(files):
    runner = CliRunner()
    args = ["hypotheses", files["data0"], files["data1"], "--models", files["missing_emotion"], *FAST]
    refused = runner.invoke(cli, args)
    assert refused.exit_code == 2 and "--common-emotions" in refused.stderr
    out = runner.invoke(cli, args + ["--common-emotions", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    first = pd.read_csv(files["va"])["emotion"][0]
    assert data["left_out"] == [first] and data["n_emotions"] == 6
    text = runner.invoke(cli, args + ["--common-emotions"])
    assert f"left out of the data (1 emotion(s) a hypothesis or confound lacks, --common-emotions): {first}" in text.stdout


def test_builtin_hypothesis_by_name(files):
    result = CliRunner().invoke(cli, ["hypotheses", files["data0"], "--models", "builtin:nope", *FAST])
    assert result.exit_code == 2 and "unknown built-in hypothesis 'builtin:nope'; built-in: builtin:vader-valence" in \
        result.stderr


def test_common_emotions_with_too_few_left_is_one_line(files, tmp_path):
    pd.DataFrame({"emotion": ["zzz", "yyy"], "valence": [1.0, -1.0]}).to_csv(tmp_path / "none.csv", index=False)
    result = CliRunner().invoke(cli, ["hypotheses", files["data0"], "--models", str(tmp_path / "none.csv"),
                                      "--common-emotions", *FAST])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1
    assert "0 of the data's 7 emotions are in every hypothesis and confound (none); a comparison needs at least 4" in lines[0]
