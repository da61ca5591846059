"""`rsastats matrix --partial`: every pair's partial Mantel numbers are those of `compare A B --partial`
with the same seed; the partial p is adjusted across pairs as the Mantel p is; a plain matrix is unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.inference.multiple import adjust_pvalues
from rsastats.io import make_rdm, write_dataset
from rsastats.simulate import simulate_activations, true_vectors

FAST = ["--n-boot", "40", "--permutations", "99", "--n-splits", "3", "--seed", "4"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("matpartial")
    tv = true_vectors(8, 12, seed=5)
    out = {}
    for k in range(3):
        ds = simulate_activations(8, 5, 2, 12, vectors=tv, noise=0.7, seed=k + 11, attrs={"model": f"m{k}"})
        out[f"data{k}"] = str(write_dataset(ds, tmp / f"data{k}.nc"))
    labels = [str(e) for e in ds["emotion"].values]
    rng = np.random.default_rng(9)
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


@pytest.mark.parametrize("extra", [[], ["--ci", "bca", "--rank", "pearson"]])
def test_each_pair_equals_compare_partial(files, extra):
    data = [files[f"data{k}"] for k in range(3)]
    confounds = ["--partial", files["tokens"], "--partial", files["words"]]
    out = _json(["matrix", *data, *FAST, *extra, *confounds, "--adjust", "bh"])
    assert out["confounds"] == ["tokens", "words"] and len(out["pairs"]) == 3
    for row in out["pairs"]:
        single = _json(["compare", files[row["a"]], files[row["b"]], *FAST, *extra, *confounds])["partial"]
        assert row["partial_rho"] == pytest.approx(single["partial_rho"], abs=1e-12)
        assert row["partial_ci_low"] == pytest.approx(single["ci_low"], abs=1e-12)
        assert row["partial_ci_high"] == pytest.approx(single["ci_high"], abs=1e-12)
        assert row["partial_p_value"] == single["p_value"]
    p = np.array([r["partial_p_value"] for r in out["pairs"]])
    assert [r["partial_p_adjusted"] for r in out["pairs"]] == pytest.approx(adjust_pvalues(p, "bh"))


def test_plain_matrix_numbers_unchanged(files):
    data = [files[f"data{k}"] for k in range(3)]
    plain = _json(["matrix", *data, *FAST])
    with_partial = _json(["matrix", *data, *FAST, "--partial", files["tokens"]])
    assert "confounds" not in plain and "partial_rho" not in plain["pairs"][0]
    for a, b in zip(plain["pairs"], with_partial["pairs"]):
        assert {k: b[k] for k in a} == a


def test_table_and_refused_rank(files):
    data = [files[f"data{k}"] for k in range(3)]
    table = CliRunner().invoke(cli, ["matrix", *data, *FAST, "--partial", files["tokens"]])
    assert table.exit_code == 0, table.output
    assert "partial rho [CI]" in table.stdout and "given tokens" in table.stdout
    bad = CliRunner().invoke(cli, ["matrix", *data, *FAST, "--rank", "kendall-b", "--partial", files["tokens"]])
    assert bad.exit_code == 2 and bad.output.startswith("error:") and "spearman or pearson" in bad.output


def test_partial_rho_equals_pingouin_on_the_cells(files):
    pg = pytest.importorskip("pingouin")
    import pandas as pd

    from rsastats.inputs import load_models

    data = [files[f"data{k}"] for k in range(3)]
    out = _json(["matrix", *data, *FAST, "--partial", files["tokens"], "--partial", files["words"]])
    models = {m.name: m for m in load_models(data + [files["tokens"], files["words"]])}
    for row in out["pairs"]:
        cells = pd.DataFrame({k: models[name].rdm.upper() for k, name in
                              (("a", row["a"]), ("b", row["b"]), ("z1", "tokens"), ("z2", "words"))})
        expected = pg.partial_corr(cells, x="a", y="b", covar=["z1", "z2"], method="spearman")["r"].iloc[0]
        assert row["partial_rho"] == pytest.approx(expected, abs=1e-10)


def test_the_same_rdm_twice_gives_partial_rho_without_an_interval(tmp_path):
    """A and B the same RDM: the partial rho is 1 and every emotion resample's correlation matrix is singular.
    It exited 1 with 'only 0 of 0 bootstrap resamples gave a defined correlation'; now the partial rho and its
    Mantel p are given, without an interval, and a warning says why."""
    from scipy.spatial.distance import pdist, squareform

    rng = np.random.default_rng(3)
    labels = [f"e{i}" for i in range(7)]
    paths = []
    for name in ("a", "c"):
        rdm = squareform(pdist(rng.standard_normal((7, 3))))
        paths.append(str(write_dataset(make_rdm(rdm, labels, attrs={"rdm_method": "cosine", "source": name}),
                                       tmp_path / f"{name}.nc")))
    res = CliRunner().invoke(cli, ["compare", paths[0], paths[0], "--partial", paths[1], "--n-boot", "100", "--json"])
    assert res.exit_code == 0, res.output
    part = json.loads(res.stdout)["partial"]
    assert part["partial_rho"] == pytest.approx(1.0) and part["ci_low"] is None and 0 < part["p_value"] <= 1
    assert "no interval for the partial rho" in res.stderr
    text = CliRunner().invoke(cli, ["compare", paths[0], paths[0], "--partial", paths[1], "--n-boot", "100"])
    assert "no interval (see the warning)" in " ".join(text.stdout.replace("│", " ").split())
