"""The caution study (analyses/calibration/low_rank_caution.py) flags exactly the data sets on which `compare` gives
``ci_caution``, and its committed report holds the numbers docs/statistics.md quotes."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.calibration import low_rank, low_rank_caution
from rsastats.inference import compare_models
from rsastats.io import make_vectors

REPORT = Path(__file__).parents[2] / "reports" / "calibration"


@pytest.mark.parametrize("name", ["G-k1-E30-s0.5-P20-off0.0", "G-k2-E16-s0.5-P20-off0.0", "E21-k3-s0.3-o0.3"])
def test_study_flags_the_data_sets_compare_cautions(name):
    (_, _, seed, design), = [d for d in low_rank.designs() if d[1] == name]
    gen = low_rank.Generator(design, seed)
    labels = [f"e{i:02d}" for i in range(design["E"])]
    seen = set()
    for s in range(6):
        means, _ = gen.draw(np.random.default_rng([seed, 7, s]))  # the study's own data set s
        row = low_rank._intervals(*map(low_rank.cosine_cells, means), design["E"])
        flag = bool(low_rank_caution.flagged(row["rank_share"] * design["E"], design["E"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = compare_models(*(make_vectors(m[:, None, :], labels, attrs={"model": k}) for k, m in zip("AB", means)),
                                 n_boot=20, permutations=19, seed=0)
        assert res.ci_low == pytest.approx(row["ci_low_shipped"], abs=1e-5)  # the same interval (files are float32)
        assert bool(res.ci_caution) == flag, (name, s, row["rank_share"] * design["E"])
        seen.add(flag)
    if name.startswith("G-k1"):
        assert seen == {True}  # one direction shared in part: every data set flagged
    if name.startswith("E21-k3"):
        assert seen == {False}


def test_held_out_designs_are_new():
    chosen = {d[1] for d in low_rank.designs()}
    held = low_rank_caution.held_out_designs()
    assert len(held) == 84 and not chosen & {d[1] for d in held}


def test_committed_report_numbers_follow_from_its_table():
    per_design = pd.read_csv(REPORT / "low_rank_caution.csv")
    text = (REPORT / "low_rank_caution.md").read_text()
    for group in ("chosen", "held out"):
        part = per_design[(per_design["group"] == group) & (per_design["truth"] > low_rank_caution.RELATED)]
        flagged = part["flagged"] * part["sets"]
        hits = (part["coverage_flagged"].fillna(0) * flagged).sum()
        line = [l for l in text.splitlines() if l.startswith(f"| {group} | related | True |")][0]
        sets, coverage = int(line.split("|")[4]), float(line.split("|")[5].split()[0])
        assert round(flagged.sum()) == sets and 100 * hits / flagged.sum() == pytest.approx(coverage, abs=0.051)


def test_hypotheses_part_flags_what_compare_hypotheses_cautions():
    from rsastats.inference.hypotheses import compare_hypotheses

    (_, name, seed, design), = [d for d in low_rank_caution.hypothesis_designs() if d[1] == "hyp-k1-E12-s0.3"]
    gen = low_rank_caution.HypothesisGenerator(design, seed)
    n = design["E"]
    labels = [f"e{i:02d}" for i in range(n)]
    iu = np.triu_indices(n, 1)
    flags = []
    for s in range(8):
        x, h = gen.draw_pair(np.random.default_rng([seed, 7, s]))
        row = low_rank._intervals(x, h, n)
        square = np.zeros((n, n))
        square[iu] = h
        # the data as an RDM file of the same cells (the study works on the cells)
        data = np.zeros((n, n))
        data[iu] = x
        from rsastats.io import make_rdm

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = compare_hypotheses([make_rdm(data + data.T, labels, attrs={"model": "D"})], [square + square.T],
                                     n_boot=20, permutations=19, seed=0).fits.iloc[0]
        assert fit["rho"] == pytest.approx(row["rho"], abs=1e-6)
        flag = bool(low_rank_caution.flagged(row["rank_share"] * n, n))
        assert bool(fit["ci_caution"]) == flag
        flags.append(flag)
    assert True in flags and False in flags  # this design has both (38% of its data sets flagged)
