"""The study of the other bootstrap schemes (analyses/calibration/schemes.py): its conditional truth is what a plain
loop over fresh prompt sets gives, and its stored results are the shipped code's on the atlas's own data sets."""

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from analyses.atlas.designs import ATLAS
from analyses.atlas.model import Population
from analyses.calibration.schemes import ATLAS_RESULTS, OUT, SCHEMES, conditional_truth, coverage, scheme_rows

DESIGN = "n21-P4-r0.8-near1-lowrank"  # quick to rerun


def _design(name: str = DESIGN):
    meta = json.loads((ATLAS_RESULTS / f"{name}.json").read_text())
    return replace(next(d for d in ATLAS if d.name == name), sigma=meta["truth"]["sigma"]), meta


def test_the_conditional_truth_is_the_mean_rho_over_fresh_prompts_of_the_same_emotions():
    design, _ = _design("n21-P20-r0.8-high-lowrank-templ1")  # templates: a fresh set redraws them too
    pop = Population.of(design)
    mu = pop.draw(np.random.default_rng(0)).mu
    got = conditional_truth(pop, mu, 30, np.random.default_rng(1), batch=7)
    rng = np.random.default_rng(1)
    loop = []
    for _ in range(30):
        means = mu + pop.noise(design.n_emotions, design.n_prompts, design.sigma, rng).mean(axis=2)
        loop.append(spearmanr(pdist(means[0], "cosine"), pdist(means[1], "cosine"))[0])
    assert got == pytest.approx(np.mean(loop), abs=1e-12)


def test_a_stored_data_set_is_what_the_shipped_code_gives_on_the_atlas_data_set():
    settings = json.loads((OUT / "settings.json").read_text())
    design, meta = _design()
    stored = pd.read_csv(OUT / f"{DESIGN}.csv")
    assert len(stored) == settings["sets"] >= 400
    row = scheme_rows(design, 1, n_boot=settings["n_boot"], n_cond=settings["n_cond"], seed=settings["seed"],
                      jobs=1).iloc[0]
    for column in stored.columns:
        if pd.isna(stored.loc[0, column]):
            assert np.isnan(row[column]), column
        else:
            assert row[column] == pytest.approx(stored.loc[0, column], abs=1e-12), column
    atlas = pd.read_csv(ATLAS_RESULTS / f"{DESIGN}.csv")  # the same data sets as the atlas's stored results
    assert settings["seed"] == meta["seed"]
    assert np.allclose(stored["rho"], atlas["rho"][:len(stored)], atol=1e-12)


def test_coverage_counts_shown_intervals_and_both_truths():
    frame = pd.DataFrame({"rho": [0.5, 0.6, 0.7], "conditional": [0.55, 0.55, 0.9]})
    for scheme, ci in SCHEMES:
        frame[f"{scheme}_{ci}_low"] = [0.4, np.nan, 0.6]
        frame[f"{scheme}_{ci}_high"] = [0.6, np.nan, 0.8]
    rows = coverage("d", frame, 0.58, None)
    assert [r["method"] for r in rows] == [f"{s} {c}" for s, c in SCHEMES]
    first = rows[0]
    assert first["shown"] == pytest.approx(2 / 3)
    assert first["coverage_measured"] == 0.5 and first["below_measured"] == 0.0 and first["above_measured"] == 0.5
    assert first["coverage_conditional"] == 0.5  # 0.55 in [0.4, 0.6]; 0.9 not in [0.6, 0.8]
    assert first["median_width"] == pytest.approx(0.2)
