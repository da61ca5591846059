"""`rsastats report --hypotheses/--partial`: the hypotheses section's numbers are those of `rsastats hypotheses`
and the partial tables those of `rsastats matrix --partial` with the same seed and settings; a report without
them has no such section, key or setting."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.io import make_rdm, write_dataset
from rsastats.simulate import simulate_activations, true_vectors

SETTINGS = ["--n-boot", "40", "--permutations", "99", "--n-splits", "3", "--seed", "6"]
OFF = ["--layer-points", "0", "--geometry-layers", "0", "--decompose", "no", "--maturity", "no", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reporthyp")
    tv = true_vectors(8, 12, seed=7)
    out = {"tmp": tmp}
    for k in range(3):
        ds = simulate_activations(8, 5, 2, 12, vectors=tv, noise=0.6, seed=k + 21, attrs={"model": f"m{k}"})
        out[f"data{k}"] = str(write_dataset(ds, tmp / f"data{k}.nc"))
    labels = [str(e) for e in ds["emotion"].values]
    pd.DataFrame({"emotion": labels, "valence": tv[:, 0], "arousal": tv[:, 1]}).to_csv(tmp / "va.csv", index=False)
    out["va"] = str(tmp / "va.csv")
    rng = np.random.default_rng(2)
    tokens = rng.uniform(5, 20, 8)
    out["tokens"] = str(write_dataset(make_rdm(np.abs(tokens[:, None] - tokens[None]), labels,
                                               attrs={"rdm_method": "euclidean", "source": "tokens"}), tmp / "tokens.nc"))
    words = rng.standard_normal((8, 3))
    out["words"] = str(write_dataset(make_rdm(np.sqrt(((words[:, None] - words[None]) ** 2).sum(-1)), labels,
                                              attrs={"rdm_method": "euclidean", "source": "words"}), tmp / "words.nc"))
    return out


def _json(args):
    result = CliRunner().invoke(cli, [*args, "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _report(files, name, extra):
    data = [files[f"data{k}"] for k in range(3)]
    out = files["tmp"] / name
    result = CliRunner().invoke(cli, ["report", *data, *SETTINGS, *OFF, *extra, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text()), (out / "report.md").read_text(), out


def _same(rows, expected, keys):
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected):
        for k in keys:
            if want[k] is None:
                assert got[k] is None, k
            elif isinstance(want[k], str):
                assert got[k] == want[k], k
            else:
                assert got[k] == pytest.approx(want[k], abs=1e-12), k


@pytest.mark.parametrize("extra", [[], ["--ci", "percentile", "--adjust", "bh", "--rank", "pearson"]])
def test_numbers_equal_the_commands(files, extra):
    hyp = ["--hypotheses", files["va"], "--hypotheses", files["tokens"]]
    report, markdown, out = _report(files, f"with_{len(extra)}", [*hyp, "--partial", files["words"], *extra])
    data = [files[f"data{k}"] for k in range(3)]
    direct = _json(["hypotheses", *data, "--models", files["va"], "--models", files["tokens"], "--partial",
                    files["words"], *SETTINGS, *extra])
    k = report["key_numbers"]["hypotheses"]
    assert k["hypotheses"] == ["va", "tokens"] and k["ci_method"] == direct["ci_method"]
    _same(k["fits"], direct["fits"], ["data", "hypothesis", "rho", "ci_low", "ci_high", "p_value", "p_adjusted",
                                      "noise_ceiling", "partial_rho", "partial_ci_low", "partial_ci_high",
                                      "partial_p_value"])
    _same(k["differences"], direct["differences"], ["data", "hypothesis_a", "hypothesis_b", "difference", "ci_low",
                                                    "ci_high", "p_value"])
    assert any(f["noise_ceiling"] is not None for f in k["fits"])  # the bound is there to compare, not only nulls
    _same(report["tables"]["hypotheses"]["records"], direct["fits"], ["rho", "ci_low", "ci_high", "p_adjusted"])
    matrix = _json(["matrix", *data, *SETTINGS, *extra, "--partial", files["words"]])
    _same(report["key_numbers"]["partial"]["pairs"], matrix["pairs"],
          ["a", "b", "partial_rho", "partial_ci_low", "partial_ci_high", "partial_p_value", "partial_p_adjusted"])
    assert "## Hypothesis RDMs" in markdown and "## Confounds partialled out" in markdown
    caption = report["tables"]["hypotheses"]["caption"]
    assert "rho as measured" in caption and "sqrt(r_D)" in caption and "label permutations" in caption
    assert "words" in report["tables"]["partial"]["caption"]
    assert report["config"]["hypotheses"] == ["../va.csv", "../tokens.nc"]
    assert "hypotheses:" in (out / "analysis.yaml").read_text()


def test_without_hypotheses_nothing_is_added(files):
    report, markdown, _ = _report(files, "plain", [])
    assert "hypotheses" not in report["key_numbers"] and "partial" not in report["key_numbers"]
    assert "hypotheses" not in report["config"] and "partial" not in report["config"]
    assert "Hypothesis RDMs" not in markdown and "partialled" not in markdown
    assert not {"hypotheses", "partial", "hypothesis_differences"} & set(report["tables"])


def test_analysis_file_reruns_the_same_numbers(files):
    report, _, out = _report(files, "rerun", ["--hypotheses", files["va"], "--partial", files["words"]])
    again = CliRunner().invoke(cli, ["report", "--config", str(out / "analysis.yaml"), "--out", str(out.parent / "again"),
                                     "--quiet"])
    assert again.exit_code == 0, again.output
    rerun = json.loads((out.parent / "again" / "report.json").read_text())
    assert rerun["key_numbers"]["hypotheses"] == report["key_numbers"]["hypotheses"]
    assert rerun["key_numbers"]["partial"] == report["key_numbers"]["partial"]


def test_bad_inputs_one_error_line(files, tmp_path, monkeypatch):
    import rsastats.report.analysis as analysis

    def no_long_work(*args, **kwargs):
        raise AssertionError("the comparison ran before the bad hypothesis file was refused")

    monkeypatch.setattr(analysis, "compare_all", no_long_work)
    data = [files[f"data{k}"] for k in range(3)]
    bad = tmp_path / "bad.csv"
    pd.read_csv(files["va"]).iloc[1:].to_csv(bad, index=False)
    result = CliRunner().invoke(cli, ["report", *data, *SETTINGS, *OFF, "--hypotheses", str(bad), "--out",
                                      str(tmp_path / "r")])
    assert result.exit_code == 2 and result.output.startswith("error:") and "bad.csv" in result.output
    assert len(result.output.strip().splitlines()) == 1
    kendall = CliRunner().invoke(cli, ["report", *data, *SETTINGS, *OFF, "--rank", "kendall-b", "--partial",
                                       files["words"], "--out", str(tmp_path / "k")])
    assert kendall.exit_code == 2 and "spearman or pearson" in kendall.output
    # a prompt bootstrap cannot resample a hypothesis (it has no prompts): refused before any comparison
    prompts = CliRunner().invoke(cli, ["report", *data, *SETTINGS, *OFF, "--bootstrap", "prompts", "--ci", "bca",
                                       "--hypotheses", files["va"], "--out", str(tmp_path / "p")])
    assert prompts.exit_code == 2 and prompts.output.startswith("error:") and "--bootstrap emotions" in prompts.output
    assert len(prompts.output.strip().splitlines()) == 1


def test_common_emotions_equal_the_command_and_leave_other_sections_whole(files, tmp_path):
    """--common-emotions: the hypotheses section on the emotions the hypothesis has (as `rsastats hypotheses
    --common-emotions`), named in its caption and kept in analysis.yaml; the pairs of files use every emotion."""
    partial_va = tmp_path / "va_partial.csv"
    table = pd.read_csv(files["va"])
    table.iloc[2:].to_csv(partial_va, index=False)
    gone = [str(e) for e in table["emotion"].iloc[:2]]
    report, markdown, out = _report(files, "common", ["--hypotheses", str(partial_va), "--common-emotions"])
    data = [files[f"data{k}"] for k in range(3)]
    direct = _json(["hypotheses", *data, "--models", str(partial_va), "--common-emotions", *SETTINGS])
    k = report["key_numbers"]["hypotheses"]
    assert k["n_emotions"] == 6 and direct["n_emotions"] == 6 and report["key_numbers"]["n_emotions"] == 8
    _same(k["fits"], direct["fits"], ["data", "hypothesis", "rho", "ci_low", "ci_high", "p_value", "p_adjusted",
                                      "noise_ceiling"])
    caption = report["tables"]["hypotheses"]["caption"]
    assert f"left out: {', '.join(gone)}" in caption and "n = 6 emotions" in caption
    assert report["config"]["common_emotions"] is True
    assert "common_emotions: true" in (out / "analysis.yaml").read_text()
    again = CliRunner().invoke(cli, ["report", "--config", str(out / "analysis.yaml"), "--out", str(tmp_path / "again"),
                                     "--quiet"])
    assert again.exit_code == 0, again.output
    rerun = json.loads((tmp_path / "again" / "report.json").read_text())
    assert rerun["key_numbers"]["hypotheses"] == report["key_numbers"]["hypotheses"]
    plain, _, _ = _report(files, "common_plain", ["--hypotheses", files["va"]])
    assert "common_emotions" not in plain["config"]


def test_common_emotions_errors(files, tmp_path, monkeypatch):
    import rsastats.report.analysis as analysis

    def no_long_work(*args, **kwargs):
        raise AssertionError("the comparison ran before the bad setting was refused")

    monkeypatch.setattr(analysis, "compare_all", no_long_work)
    data = [files[f"data{k}"] for k in range(3)]
    alone = CliRunner().invoke(cli, ["report", *data, *SETTINGS, *OFF, "--common-emotions", "--out",
                                     str(tmp_path / "a")])
    assert alone.exit_code == 2 and alone.output.startswith("error:") and "give hypotheses" in alone.output
    few = tmp_path / "few.csv"
    pd.read_csv(files["va"]).iloc[:3].to_csv(few, index=False)
    result = CliRunner().invoke(cli, ["report", *data, *SETTINGS, *OFF, "--hypotheses", str(few), "--common-emotions",
                                      "--out", str(tmp_path / "f")])
    assert result.exit_code == 2 and result.output.startswith("error:") and "3 of the data's 8 emotions" in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "f").exists()
    # a bad value in a hypothesis is refused before the long work too, with common emotions
    bad = tmp_path / "bad.csv"
    table = pd.read_csv(files["va"]).iloc[1:].copy()
    table.loc[table.index[0], "valence"] = float("nan")
    table.to_csv(bad, index=False)
    result = CliRunner().invoke(cli, ["report", *data, *SETTINGS, *OFF, "--hypotheses", str(bad), "--common-emotions",
                                      "--out", str(tmp_path / "b")])
    assert result.exit_code == 2 and result.output.startswith("error:") and "bad.csv" in result.output
