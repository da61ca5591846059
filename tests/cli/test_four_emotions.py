"""Four emotions: the Mantel test is exact (24 permutations) but a jackknife interval is not given; every
command says so in words, and none leaks a numpy warning or crashes on the missing interval."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.io import write_dataset
from rsastats.simulate import simulate_activations, true_vectors


@pytest.fixture(scope="module")
def four(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("four")
    v = true_vectors(4, 32, seed=1)
    return [str(write_dataset(simulate_activations(4, 5, 1, 32, noise=1.0, vectors=v, seed=10 + i,
                                                   attrs={"model": f"m{i}"}), tmp / f"m{i}.nc")) for i in range(3)]


def _run(args):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # numpy's warnings must not reach the user
        return CliRunner().invoke(cli, args)


def test_compare_gives_the_mantel_p_and_no_interval(four):
    res = _run(["compare", four[0], four[1], "--json", "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ci_low"] is None and out["ci_high"] is None and np.isfinite(out["rho"])
    assert out["n_permutations"] == 24 and out["permutation_exact"] is True and 0 < out["p_value"] <= 1
    assert "no jackknife-t interval" in res.stderr
    assert out["ci_note"] == "the jackknife-t interval needs at least 5 emotions (4 here)"  # the JSON says why too
    text = _run(["compare", four[0], four[1], "--n-boot", "50"])
    words = " ".join(text.stdout.replace("│", " ").split())  # the table may wrap the cell at the console's width
    assert text.exit_code == 0 and "no interval: the jackknife-t interval needs at least 5 emotions (4 here)" in words


def test_a_bootstrap_interval_is_still_given_when_asked_for(four):
    res = _run(["compare", four[0], four[1], "--json", "--n-boot", "200", "--ci", "percentile"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["ci_low"] <= out["rho"] <= out["ci_high"] and out["ci_note"] == ""


def test_matrix_and_report_run_without_the_interval(four, tmp_path):
    res = _run(["matrix", *four, "--json", "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    pairs = json.loads(res.stdout)["pairs"]
    assert all(p["ci_low"] is None and "needs at least 5 emotions" in p["ci_note"] for p in pairs)
    text = _run(["matrix", *four, "--n-boot", "50"])
    assert text.exit_code == 0 and "without a CI (the jackknife-t interval needs at least 5" in " ".join(text.stdout.split())
    rep = _run(["report", *four, "--out", str(tmp_path / "rep"), "--n-boot", "50"])
    assert rep.exit_code == 0, rep.output
    assert (tmp_path / "rep" / "report.json").exists()


def test_matrix_gives_no_reliability_or_pair_ceiling(four):
    """The split-half reliabilities and pair ceilings of the matrix's noise_ceiling follow compare's rule (at 4
    emotions one of them fell below the pair's rho); the leave-one-out group bounds stay."""
    out = json.loads(_run(["matrix", *four, "--json", "--n-boot", "50"]).stdout)["noise_ceiling"]
    assert all(m["reliability"] is None and "needs >= 7 emotions (4 here)" in m["note"] for m in out["models"])
    assert all(m["split_half"] is not None for m in out["models"])
    assert all(p["ceiling"] is None and p["note"] for p in out["pair_ceiling"])
    assert -1 <= out["lower"] <= out["upper"] <= 1


def test_hypotheses_give_no_interval_and_no_ceiling(four, tmp_path):
    import xarray as xr

    with xr.open_dataset(four[0]) as ds:
        labels = [str(e) for e in ds["emotion"].values]
    for name, values in (("valence", [1, -1, 0.5, -0.3]), ("arousal", [0.2, 0.9, -0.5, 0.1])):
        (tmp_path / f"{name}.csv").write_text(f"emotion,{name}\n" + "\n".join(f"{e},{v}" for e, v in zip(labels, values)))
    res = _run(["hypotheses", four[0], "-m", str(tmp_path / "valence.csv"), "-m", str(tmp_path / "arousal.csv"),
                "--json", "--n-boot", "50"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert all(f["ci_low"] is None and f["noise_ceiling"] is None for f in out["fits"])
    assert "needs >= 7 emotions (4 here)" in out["fits"][0]["ceiling_note"]
    assert all(d["ci_low"] is None and d["p_value"] is None for d in out["differences"])
    text = _run(["hypotheses", four[0], "-m", str(tmp_path / "valence.csv"), "-m", str(tmp_path / "arousal.csv"),
                 "--n-boot", "50"])
    assert text.exit_code == 0 and "(no CI)" in text.stdout and "n/a, n/a" not in text.stdout
