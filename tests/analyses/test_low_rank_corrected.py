"""rho_corrected's leave-two-out excess weighted by its kernel's rank share: the rewrite of the stored studies
(analyses/calibration/low_rank_corrected.py) gives what the shipped code gives on the same data sets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.calibration.low_rank_corrected import _shipped, coverage_row, generator_table, reweight_design, section

ATLAS = Path(__file__).resolve().parents[2] / "reports" / "calibration" / "atlas"
DESIGN = "n21-P8-r0.8-mid-lowrank-shared0.5"  # the weight moved a third of its jackknife-t intervals
COLUMNS = ("rho_corrected", "corrected_ci_low", "corrected_ci_high")


def test_the_rewritten_rows_are_those_the_shipped_code_gives(tmp_path):
    meta = json.loads((ATLAS / f"{DESIGN}.json").read_text())
    stored = pd.read_csv(ATLAS / f"{DESIGN}.csv")
    n = 10
    (tmp_path / f"{DESIGN}.json").write_text(json.dumps({**meta, "n_sets": n}))
    stored.iloc[:n].to_csv(tmp_path / f"{DESIGN}.csv", index=False)
    row = reweight_design(tmp_path / f"{DESIGN}.json", "atlas", jobs=1, verify=0)
    assert row["moved"] >= 1 and row["formed"] >= row["moved"]
    got = pd.read_csv(tmp_path / f"{DESIGN}.csv")
    rerun = pd.DataFrame(_shipped({**meta, "n_sets": n}, "atlas", range(n)))  # the shipped worker, data set by data set
    for column in COLUMNS:
        a, b = got[column].to_numpy(float), rerun[column].to_numpy(float)
        assert np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= 1e-12)), column
    assert (got["corrected_note"].fillna("") == rerun["corrected_note"].fillna("")).all()
    # the committed rows are rewritten already: a second rewrite finds them so and changes nothing
    for column in COLUMNS:
        a, b = got[column].to_numpy(float), stored[column].iloc[:n].to_numpy(float)
        assert np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= 1e-12)), column
    assert (got["rho"] == stored["rho"].iloc[:n]).all() and (got["ci_low"] == stored["ci_low"].iloc[:n]).all()


def test_coverage_row_counts_the_given_intervals_around_the_truth():
    meta = {"truth": {"free": 0.5}, "design": {"name": "d", "n_emotions": 21}}
    before = pd.DataFrame({"corrected_ci_low": [0.4, 0.6, np.nan], "corrected_ci_high": [0.55, 0.7, np.nan]})
    after = pd.DataFrame({"corrected_ci_low": [0.4, 0.45, np.nan], "corrected_ci_high": [0.55, 0.7, np.nan]})
    row = coverage_row("atlas", meta, before, after)
    assert (row["given_before"], row["coverage_before"], row["coverage_after"]) == (2, 0.5, 1.0)


def test_the_generator_table_scores_both_intervals_against_the_noise_free_rho():
    sets = pd.DataFrame({"family": "f", "design": "d", "free": 0.3, "set": range(4), "moved": [True, False, True, False],
                         "low_whole": [0.31, 0.1, 0.2, np.nan], "high_whole": [0.5, 0.4, 0.29, np.nan],
                         "low_shipped": [0.25, 0.1, 0.2, np.nan], "high_shipped": [0.5, 0.4, 0.35, np.nan]})
    row = generator_table(sets).iloc[0]
    assert (row["moved"], row["given_whole"], row["coverage_whole"], row["coverage_shipped"]) == (2, 3, 1 / 3, 1.0)


def test_the_section_counts_what_the_committed_table_holds():
    stored = pd.read_csv(ATLAS.parent / "low_rank_corrected_stored.csv")
    text = "\n".join(section(ATLAS.parent))
    assert f"{int(stored['moved'].sum())} of {int(stored['formed'].sum())} jackknife-t intervals moved" in text
    for study, part in stored.groupby("study"):
        part = part[part["given_after"] >= 20]
        within = int(part["coverage_after"].between(0.925, 0.975).sum())
        assert f"- after: {within} of {len(part)} designs within" in text.split(f"{study}:")[1]


def test_the_section_summarises_the_committed_generator_table():
    frame = pd.read_csv(ATLAS.parent / "low_rank_corrected.csv")
    sets = pd.read_csv(ATLAS.parent / "low_rank_corrected_sets.csv")
    assert set(frame["design"]) == set(sets["design"]) and len(frame) >= 30
    rebuilt = generator_table(sets).set_index("design").loc[frame["design"]]  # the table is its data sets' summary
    assert np.allclose(rebuilt["coverage_shipped"].to_numpy(), frame["coverage_shipped"].to_numpy(), atol=1e-12)
    text = "\n".join(section(ATLAS.parent))
    for tag, label in (("whole", "whole excess"), ("shipped", "shipped")):
        part = frame[frame[f"given_{tag}"] >= 20]
        within = int(part[f"coverage_{tag}"].between(0.925, 0.975).sum())
        below = int((part[f"cp_high_{tag}"] < 0.925).sum())
        assert f"- {label}: {within} of {len(part)} designs within [92.5%, 97.5%], {below} clearly below" in text
