"""`rsastats compare` and `rsastats matrix` through click's CliRunner: JSON keys, exit codes, and one
`error:` line with exit status 2 for each kind of bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.io import make_rdm, make_vectors, write_dataset
from rsastats.simulate import simulate_activations, true_vectors

FAST = ["--n-boot", "60", "--permutations", "99", "--n-splits", "4"]
COMPARE_KEYS = {"rho", "ci_low", "ci_high", "ci_method", "confidence", "p_value", "n_permutations", "n_boot", "bootstrap",
                "rank", "rdm", "layer", "n_emotions", "seed"}
CEILING_KEYS = {"reliability_a", "reliability_b", "noise_ceiling", "rho_corrected", "corrected_ci_low", "corrected_ci_high",
                "corrected_note", "ceiling_note"}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cmp")
    tv = true_vectors(8, 16, seed=3)
    rng = np.random.default_rng(0)
    out = {}
    for name, shift in (("a", 0.0), ("b", 0.1), ("c", 1.0)):
        ds = simulate_activations(8, 6, 3, 16, noise=0.8, vectors=tv + shift * rng.standard_normal(tv.shape),
                                  n_baseline=6, seed=len(out) + 1, attrs={"model": f"model-{name}"})
        out[name] = write_dataset(ds, tmp / f"{name}.nc")
    labels = [str(e) for e in ds["emotion"].values]
    vec = rng.standard_normal((8, 16))
    out["vectors"] = write_dataset(make_vectors(vec, labels, attrs={"model": "paper"}), tmp / "vectors.nc")
    out["other_labels"] = write_dataset(make_vectors(vec, labels[:-1] + ["zzz"], attrs={"model": "x"}), tmp / "other.nc")
    out["three"] = write_dataset(make_vectors(vec[:3], labels[:3], attrs={"model": "x"}), tmp / "three.nc")
    mean_row = vec.copy()
    mean_row[0] = mean_row[1:].mean(axis=0)  # centring on the emotion mean makes this one zero
    out["mean_row"] = write_dataset(make_vectors(mean_row, labels, attrs={"model": "x"}), tmp / "mean_row.nc")
    flat = np.ones((8, 8)) - np.eye(8)
    out["flat"] = write_dataset(make_rdm(flat, labels, attrs={"rdm_method": "cosine", "source": "flat"}), tmp / "flat.nc")
    return out


@pytest.fixture
def runner():
    return CliRunner()


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_compare_json_keys(runner, files):
    out = _json(runner.invoke(cli, ["compare", str(files["a"]), str(files["b"]), "--json", *FAST]))
    assert COMPARE_KEYS | CEILING_KEYS <= set(out)
    assert out["bootstrap"] == "emotions" and out["n_emotions"] == 8 and out["ci_method"] == "jackknife-t"
    assert out["ci_low"] <= out["rho"] <= out["ci_high"] and out["rho_corrected"] is not None
    assert out["corrected_ci_low"] <= out["rho_corrected"] <= out["corrected_ci_high"]
    assert out["ci_low"] <= out["ci_high"] and 0 < out["p_value"] <= 1 and out["n_permutations"] == 99
    assert out["layer"] == "layer 2" and out["seed"] == 0


def test_compare_options_and_mixed_kinds(runner, files):
    out = _json(runner.invoke(cli, ["compare", str(files["a"]), str(files["vectors"]), "--json", "--ci", "bca",
                                    "--rank", "kendall", "--rdm", "correlation", "--seed", "3", *FAST]))
    assert out["bootstrap"] == "emotions" and out["rank"] == "kendall-b" and out["rdm"] == "correlation"
    assert out["ci_method"] == "bca" and out["seed"] == 3 and CEILING_KEYS <= set(out)
    assert out["rho_corrected"] is None and out["noise_ceiling"] is None and "vector-set file" in out["corrected_note"]
    out = _json(runner.invoke(cli, ["compare", str(files["a"]), str(files["c"]), "--json", "--last-k", "2",
                                    "--normalization", "emotion-mean", "--bootstrap", "prompts", "--confidence", "0.9",
                                    "--ci", "percentile", *FAST]))
    assert out["layer"].startswith("mean of last 2") and out["normalization"] == "emotion-mean"
    assert out["bootstrap"] == "prompts" and out["confidence"] == 0.9
    out = _json(runner.invoke(cli, ["compare", str(files["a"]), str(files["b"]), "--json", "--layer", "0", *FAST]))
    assert out["layer"] == "layer 0"


def test_compare_is_reproducible_and_seeded(runner, files):
    args = ["compare", str(files["a"]), str(files["b"]), "--json", *FAST]
    assert _json(runner.invoke(cli, args)) == _json(runner.invoke(cli, args))
    other = _json(runner.invoke(cli, args + ["--seed", "1"]))
    first = _json(runner.invoke(cli, args))
    assert other["corrected_ci_low"] != first["corrected_ci_low"] and other["standard_error"] != first["standard_error"]
    assert other["ci_low"] == first["ci_low"]  # the jackknife leaves out each emotion once: no randomness


def test_compare_table(runner, files):
    result = runner.invoke(cli, ["compare", str(files["a"]), str(files["b"]), *FAST])
    assert result.exit_code == 0, result.output
    for word in ("rho (as measured)", "rho_corrected (noise-free)", "95% CI", "Mantel p", "noise ceiling", "8 emotions"):
        assert word in result.output


def test_compare_help_states_the_default_interval(runner):
    result = runner.invoke(cli, ["compare", "--help"])
    text = " ".join(result.output.split())  # help text is wrapped to the terminal width
    assert result.exit_code == 0 and "docs/calibration.md" in text and "default: jackknife-t" in text


BAD = [
    (["@a", "@other_labels"], "emotion sets differ"),
    (["@three", "@three"], "at least 4 emotions"),
    (["@vectors", "@mean_row", "--normalization", "emotion-mean"], "numerically zero) emotion vector"),
    (["@a", "@flat"], "RDM is constant"),
    (["@a", "@b", "--n-boot", "0"], "n_boot must be >= 2"),
    (["@a", "@b", "--n-boot", "1"], "n_boot must be >= 2; got 1"),
    (["@a", "@b", "--permutations", "0"], "permutations must be >= 1"),
    (["@a", "@b", "--confidence", "1.5"], "confidence must be between 0 and 1"),
    (["@a", "@b", "--confidence", "0"], "confidence must be between 0 and 1"),
    (["@a", "@vectors", "--bootstrap", "prompts"], "needs activations files"),
    (["@a", "@b", "--ci", "studentized"], "interval method must be one of"),
    (["@a", "@b", "--rank", "tau-c"], "rank correlation method must be one of"),
    (["@a", "@b", "--layer", "9"], "no layer 9"),
    (["@a", "@missing"], "file not found"),
    (["@a", "@flat", "--normalization", "zscore"], "an RDM file holds no vectors"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[m for _, m in BAD])
@pytest.mark.parametrize("command", ["compare", "matrix"])
def test_bad_input_gives_one_error_line_and_exit_2(runner, files, command, args, message):
    missing = files["a"].parent / "missing.nc"
    resolved = [str(files.get(a[1:], missing)) if a.startswith("@") else a for a in args]
    # FAST first: the bad value given later wins.
    result = runner.invoke(cli, [command, *FAST, *resolved])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert "Traceback" not in result.output


def test_matrix_json_and_plot(runner, files, tmp_path):
    png = tmp_path / "rho.png"
    out = _json(runner.invoke(cli, ["matrix", str(files["a"]), str(files["b"]), str(files["c"]), "--json", "--plot",
                                    str(png), "--adjust", "bh", *FAST]))
    assert out["models"] == ["a", "b", "c"] and out["adjust"] == "bh" and len(out["pairs"]) == 3
    for pair in out["pairs"]:
        assert {"a", "b", "rho", "ci_low", "ci_high", "p_value", "p_adjusted", "noise_ceiling"} <= set(pair)
        assert pair["p_adjusted"] >= pair["p_value"]
    assert out["noise_ceiling"]["lower"] is not None
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_matrix_table_and_single_file(runner, files):
    result = runner.invoke(cli, ["matrix", str(files["a"]), str(files["b"]), str(files["vectors"]), *FAST])
    assert result.exit_code == 0, result.output
    assert "p (holm)" in result.output and "group noise ceiling" in result.output and "rho_corrected" in result.output
    result = runner.invoke(cli, ["matrix", str(files["a"]), *FAST])
    assert result.exit_code == 2 and "at least 2 files" in result.stderr


def test_a_bootstrap_interval_that_excludes_rho_is_replaced_by_words(tmp_path):
    """The prompt bootstrap of these files (3 prompts, 30 emotions) is shifted from rho: the percentile and basic
    intervals came out as [0.682, 0.799] and [0.834, 0.951] beside rho = 0.817.  Neither is printed; the JSON
    holds null and the table a sentence."""
    v = true_vectors(30, 64, seed=2)
    files = [str(write_dataset(simulate_activations(30, 3, 1, 64, noise=1.0, vectors=v, seed=200 + m,
                                                    attrs={"model": f"m{m}"}), tmp_path / f"m{m}.nc")) for m in range(2)]
    args = ["compare", *files, "--rdm", "euclidean", "--rank", "pearson", "--normalization", "emotion-mean",
            "--bootstrap", "prompts", "--confidence", "0.8", "--n-boot", "200", "--no-ceiling"]
    for ci in ("percentile", "basic"):
        res = CliRunner().invoke(cli, args + ["--ci", ci, "--json"])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert out["ci_low"] is None and out["ci_high"] is None and f"the {ci} interval came out as" in res.stderr
        assert out["ci_note"].startswith(f"the {ci} interval excluded the estimate")
        text = CliRunner().invoke(cli, args + ["--ci", ci])
        assert f"no interval: the {ci} interval excluded the estimate" in " ".join(text.stdout.replace("│", " ").split())


@pytest.mark.parametrize("command", ["compare", "matrix"])
def test_a_scheme_that_resamples_prompts_says_it_is_not_calibrated(runner, files, command):
    """--bootstrap prompts and both: a warning says what rho's interval is not, and the table's interval text says it
    too; the default scheme says nothing of the kind (docs/calibration.md, 'The other bootstrap schemes')."""
    base = [command, str(files["a"]), str(files["b"]), "--n-boot", "50", "--permutations", "19", "--no-ceiling"]
    for scheme, start in (("prompts", "--bootstrap prompts keeps these emotions"),
                          ("both", "--bootstrap both resamples the prompts within the resampled emotions")):
        res = runner.invoke(cli, base + ["--bootstrap", scheme, "--ci", "percentile"])
        assert res.exit_code == 0, res.output
        assert f"warning: {start}" in res.stderr and "'The other bootstrap schemes'" in res.stderr
        assert "not calibrated (see the warning)" in " ".join(res.stdout.replace("│", " ").split())
    res = runner.invoke(cli, base + ["--ci", "percentile"])
    assert "bootstrap schemes" not in res.stderr and "not calibrated" not in res.stdout


def test_a_file_compared_with_itself_has_no_interval_and_the_json_says_why(tmp_path):
    """rho = 1 on every subset of emotions and of prompts: no interval (docs/statistics.md, 'No spread'); the JSON's
    ci_note gives the reason the table gives, and a compared pair with an interval has an empty ci_note."""
    v = true_vectors(9, 16, seed=4)
    one = str(write_dataset(simulate_activations(9, 4, 1, 16, noise=1.0, vectors=v, seed=7, attrs={"model": "m"}),
                            tmp_path / "m.nc"))
    res = CliRunner().invoke(cli, ["compare", one, one, "--json", "--n-boot", "50", "--no-ceiling"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ci_low"] is None and out["ci_note"].startswith("no leave-one-out value differs from the estimate")
    text = CliRunner().invoke(cli, ["compare", one, one, "--n-boot", "50", "--no-ceiling"])
    assert f"no interval: {out['ci_note'][:40]}" in " ".join(text.stdout.replace("│", " ").split())
