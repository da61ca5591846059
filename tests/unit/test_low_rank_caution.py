"""rho's interval given with a caution where the emotions vary along few directions (``ci_caution``;
rsastats/inference/degeneracy.py, docs/statistics.md 'Low-rank emotion spaces')."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from rsastats.cli import cli
from rsastats.inference import compare_all, compare_models
from rsastats.inference.degeneracy import (LOW_RANK_CAUTION_EMOTIONS, LOW_RANK_CAUTION_RANK, low_rank_caution,
                                           pair_rank_share)
from rsastats.io import make_rdm, make_vectors, write_dataset
from rsastats.rdm import rdm_matrix, upper


def _vectors(points, name):
    labels = [f"e{i:02d}" for i in range(len(points))]
    return make_vectors(points[:, None, :].astype(np.float32), labels, attrs={"model": name})


def _one_direction(n, seed, share=0.5):
    """Two models whose emotions vary along one latent direction, model B sharing ``share`` of it, each read out into
    its own units with a small emotion-specific part (the low-rank study's one-direction designs,
    analyses/calibration/low_rank.py)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 1))
    latents = (z, share * z + np.sqrt(1 - share**2) * rng.standard_normal((n, 1)))
    own = [0.2 * rng.standard_normal((n, 8)) @ rng.standard_normal((8, d)) / np.sqrt(8) for d in (48, 64)]
    return [lat @ rng.standard_normal((1, d)) + part for lat, d, part in zip(latents, (48, 64), own)]


def _kernel_effective_rank(x, y):
    """Independent of rsastats: the correlation kernel k(i, j) = m (zx zy - r/2 (zx^2 + zy^2)) of the mid-ranked cells,
    U-centred by loops, and the participation ratio of numpy's eigenvalues."""
    from scipy.stats import rankdata

    m = x.size
    n = int(round((1 + np.sqrt(1 + 8 * m)) / 2))
    zx, zy = (rankdata(v) - rankdata(v).mean() for v in (x, y))
    zx, zy = zx / np.linalg.norm(zx), zy / np.linalg.norm(zy)
    r = zx @ zy
    cells = m * (zx * zy - r / 2 * (zx**2 + zy**2))
    k = np.zeros((n, n))
    k[np.triu_indices(n, 1)] = cells
    k = k + k.T
    rows = k.sum(1)
    total = rows.sum()
    u = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                u[i, j] = k[i, j] - rows[i] / (n - 2) - rows[j] / (n - 2) + total / ((n - 1) * (n - 2))
    lam = np.linalg.eigvalsh(u)
    return (lam @ lam) ** 2 / np.sum(lam**4)


def test_caution_only_below_the_rank_with_enough_emotions_and_a_given_interval():
    n = LOW_RANK_CAUTION_EMOTIONS
    assert low_rank_caution(LOW_RANK_CAUTION_RANK, n, 0.1) == ""
    text = low_rank_caution(LOW_RANK_CAUTION_RANK - 0.01, n, 0.1)
    assert "effective rank of rho's kernel is 2.5" in text and "less often than its level" in text
    assert low_rank_caution(1.2, n - 1, 0.1) == ""  # too few emotions: not measured to need it
    assert low_rank_caution(1.2, n, float("nan")) == "" and low_rank_caution(1.2, n, None) == ""  # no interval
    assert low_rank_caution(float("nan"), n, 0.1) == "" and low_rank_caution(None, n, 0.1) == ""  # not jackknife-t


def test_effective_rank_is_the_participation_ratio_of_the_u_centred_kernel():
    a, b = _one_direction(16, 0)
    x, y = upper(rdm_matrix(a, "cosine")), upper(rdm_matrix(b, "cosine"))
    from scipy.stats import spearmanr

    r = spearmanr(x, y).statistic
    ours = pair_rank_share(x, y, np.array([r]), "spearman")[0] * 16
    assert ours == pytest.approx(_kernel_effective_rank(x, y), rel=1e-9)
    assert ours < LOW_RANK_CAUTION_RANK


def test_compare_cautions_on_emotions_along_one_direction_and_not_on_isotropic_ones():
    a, b = _one_direction(24, 1)
    res = compare_models(_vectors(a, "A"), _vectors(b, "B"), n_boot=50, permutations=19, seed=0)
    assert np.isfinite(res.ci_low) and res.ci_note == ""  # the interval is still given
    assert res.ci_caution.startswith("the emotions vary along few directions") and res.to_dict()["ci_caution"]
    rng = np.random.default_rng(2)
    iso = compare_models(_vectors(rng.standard_normal((24, 30)), "A"), _vectors(rng.standard_normal((24, 30)), "B"),
                         n_boot=50, permutations=19, seed=0)
    assert iso.ci_caution == "" and iso.to_dict()["ci_caution"] == ""
    # Only the default jackknife-t interval was measured against it.
    assert compare_models(_vectors(a, "A"), _vectors(b, "B"), ci="percentile", n_boot=50, permutations=19,
                          seed=0).ci_caution == ""
    # matrix: the same sentence for the same pair, none for the others.
    rng = np.random.default_rng(3)
    res_all = compare_all([_vectors(a, "A"), _vectors(b, "B"), _vectors(rng.standard_normal((24, 30)), "C")],
                          n_boot=50, permutations=19, seed=0)
    by_pair = {(r.a, r.b): r.ci_caution for r in res_all.pairs.itertuples()}
    assert by_pair[("A", "B")] == res.ci_caution and by_pair[("A", "C")] == "" == by_pair[("B", "C")]


def test_cli_json_and_tables_carry_the_caution(tmp_path):
    a, b = _one_direction(24, 1)
    paths = []
    for name, points in (("A", a), ("B", b)):
        paths.append(str(write_dataset(_vectors(points, name), tmp_path / f"{name}.nc")))
    runner = CliRunner()
    out = runner.invoke(cli, ["compare", *paths, "--json", "--n-boot", "50", "--permutations", "19"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["ci_caution"].startswith("the emotions vary along few directions") and data["ci_low"] is not None
    table = runner.invoke(cli, ["compare", *paths, "--n-boot", "50", "--permutations", "19"])
    assert "caution: the emotions vary along few directions" in " ".join(table.stdout.replace("│", " ").split())
    matrix = runner.invoke(cli, ["matrix", *paths, "--n-boot", "50", "--permutations", "19"])
    flat = " ".join(matrix.stdout.replace("│", " ").split())
    assert "[1] caution: the emotions vary along few directions" in flat


def test_hypothesis_fits_carry_the_same_caution(tmp_path):
    """A fit of data against a hypothesis is compare's rho of the two RDMs (docs/statistics.md, section 8): the same
    interval, so the same caution; the table marks it with a footnote."""
    import pandas as pd

    from rsastats.inference.hypotheses import compare_hypotheses

    a, b = _one_direction(24, 1)
    labels = [f"e{i:02d}" for i in range(24)]
    res = compare_models(_vectors(a, "A"), _vectors(b, "B"), n_boot=50, permutations=19, seed=0)
    rdm = upper(rdm_matrix(b.astype(np.float32).astype(np.float64), "cosine"))
    square = np.zeros((24, 24))
    square[np.triu_indices(24, 1)] = rdm
    square = square + square.T
    rng = np.random.default_rng(4)
    features = pd.DataFrame({"emotion": labels, "f1": rng.standard_normal(24), "f2": rng.standard_normal(24),
                             "f3": rng.standard_normal(24), "f4": rng.standard_normal(24)})
    fits = compare_hypotheses([_vectors(a, "A")], [square, features], n_boot=50, permutations=19, seed=0).fits
    assert fits.loc[0, "rho"] == pytest.approx(res.rho, abs=1e-12)
    assert fits.loc[0, "ci_caution"] == res.ci_caution != ""
    assert fits.loc[1, "ci_caution"] == ""  # random features: a kernel of many directions
    path = tmp_path / "A.nc"
    write_dataset(_vectors(a, "A"), path)
    write_dataset(make_rdm(square, labels, attrs={"model": "B"}), tmp_path / "one_direction.nc")
    features.to_csv(tmp_path / "random.csv", index=False)
    args = ["hypotheses", str(path), "--models", str(tmp_path / "one_direction.nc"), "--models",
            str(tmp_path / "random.csv"), "--n-boot", "20", "--permutations", "19"]
    out = CliRunner().invoke(cli, args + ["--json"])
    assert out.exit_code == 0, out.output
    assert [f["ci_caution"] != "" for f in json.loads(out.stdout)["fits"]] == [True, False]
    table = " ".join(CliRunner().invoke(cli, args).stdout.replace("│", " ").split())
    assert re.search(r"\[\d\] caution: the emotions vary along few directions", table)


def test_report_tables_mark_a_cautioned_interval(monkeypatch):
    """The report's pairs and hypotheses tables: the interval with a footnote mark, the sentence in the caption."""
    from types import SimpleNamespace

    import pandas as pd

    from rsastats.report import hypothesis_tables, tables

    monkeypatch.setattr(tables, "main_caption", lambda an: "caption.")
    monkeypatch.setattr(hypothesis_tables, "hypotheses_caption", lambda an: "caption.")
    rows = pd.DataFrame({"a": ["A", "A"], "b": ["B", "C"], "rho": [0.3, 0.5], "ci_low": [0.1, 0.2],
                         "ci_high": [0.5, 0.7], "ci_caution": ["few directions", ""], "p_value": [0.01, 0.001],
                         "p_holm": [0.02, 0.002], "p_bh": [0.01, 0.002], "standard_error": [0.1, 0.1],
                         "bias": [0.0, 0.0], "n_undefined": [0, 0]})
    table = tables.pairs_table(SimpleNamespace(pairs=rows))
    assert list(table.display["CI"]) == ["[0.100, 0.500] [1]", "[0.200, 0.700]"]
    assert table.caption.endswith("[1] caution: few directions") and "ci_caution" in table.frame.columns
    fits = rows.rename(columns={"a": "data", "b": "hypothesis", "p_holm": "p_adjusted"}).assign(
        noise_ceiling=[None, 0.9], ceiling_note=["no prompts", ""])
    h = SimpleNamespace(fits=fits, differences=pd.DataFrame(), adjust="holm")
    (fit_table,) = hypothesis_tables.hypotheses_tables(SimpleNamespace(hypotheses=h))
    assert list(fit_table.display["CI"]) == ["[0.100, 0.500] [1]", "[0.200, 0.700]"]
    assert fit_table.caption.endswith("[1] caution: few directions [2] no prompts")
