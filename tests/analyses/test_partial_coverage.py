"""The partial-interval coverage script: its closed-form partial Spearman against pingouin, its draws,
and a table that says what its records say."""

import json

import numpy as np
import pandas as pd
import pytest

from analyses import partial_coverage as pc


def test_partial_spearman_equals_pingouin_on_the_ranked_cells():
    pingouin = pytest.importorskip("pingouin")
    pop = pc.Population(pc.DESIGNS[0], seed=3)
    a, b, z = pop.draw(np.random.default_rng(1))
    partial, plain = pc.partial_spearman(a, b, z)
    iu = np.triu_indices(a.shape[0], 1)
    frame = pd.DataFrame({"a": a[iu], "b": b[iu], "z": z[iu]})
    expected = pingouin.partial_corr(frame, x="a", y="b", covar="z", method="spearman")["r"].iloc[0]
    assert partial == pytest.approx(expected, abs=1e-12)
    assert plain == pytest.approx(frame["a"].corr(frame["b"], method="spearman"), abs=1e-12)


def test_the_confound_rdm_is_the_distance_along_the_shared_direction():
    design = pc.Design("confound-only", 6, shared=0.0, gamma=1.0, specific=0.0, noise=0.0)
    a, b, z = pc.Population(design, seed=0).draw(np.random.default_rng(2))
    np.testing.assert_allclose(a, np.sqrt(pc.HIDDEN) * z, atol=1e-9)
    np.testing.assert_allclose(b, a, atol=1e-9)


def test_script_writes_a_table_that_matches_its_records(tmp_path, monkeypatch):
    monkeypatch.setattr(pc, "DESIGNS", pc.DESIGNS[:2])
    assert pc.main(["--n-sims", "3", "--n-mc", "50", "--n-boot", "40", "--permutations", "99", "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "results.json").read_text())
    report = (tmp_path / "report.md").read_text()
    assert [r["name"] for r in data["designs"]] == [d.name for d in pc.DESIGNS]
    for r in data["designs"]:
        assert r["n_sets"] == 3 and 0 <= r["covered"] <= r["given"] <= 3 and r["mc_se"] > 0
        assert f"| {r['name']} | {r['n']} | {r['true_partial']:+.3f} |" in report
