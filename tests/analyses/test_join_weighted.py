"""rho_corrected's join read with rho's interval as shipped since its low-rank weight
(analyses/calibration/join_weighted.py): what it writes is what the shipped code gives on the same data sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from analyses.calibration.join_bound import GIVEN, _verify, joined
from analyses.calibration.join_weighted import read_rows, rejoin_design, rescore_stored
from analyses.calibration.mean_scale import RERUN_ENDS

ATLAS = Path(__file__).resolve().parents[2] / "reports" / "calibration" / "atlas"
DESIGN = "n21-P4-r0.8-near1-lowrank"  # one of its intervals narrow at the bound is joined with a wider rho interval


def _copy(tmp_path: Path) -> Path:
    for suffix in (".csv", ".json"):
        shutil.copy(ATLAS / f"{DESIGN}{suffix}", tmp_path / f"{DESIGN}{suffix}")
    return tmp_path / f"{DESIGN}.json"


def test_the_committed_design_is_rejoined_already(tmp_path):
    path = _copy(tmp_path)
    before = pd.read_csv(path.with_suffix(".csv"))
    row = rejoin_design(path, "atlas", verify=0, jobs=1)
    assert row["read"] >= 1 and row["ends_moved"] == 0 and row["intervals_moved"] == 0
    after = pd.read_csv(path.with_suffix(".csv"))
    pd.testing.assert_frame_equal(before, after)


def test_rho_ends_from_before_the_weight_are_replaced_and_the_join_agrees_with_a_rerun(tmp_path):
    path = _copy(tmp_path)
    frame = pd.read_csv(path.with_suffix(".csv"))
    weighted = frame[RERUN_ENDS[0]].notna().to_numpy() if RERUN_ENDS[0] in frame else np.zeros(len(frame), bool)
    assert weighted.any()  # the committed design holds rho's shipped ends where the weight moved them
    # as stored before this study: no shipped ends, the intervals joined with rho's stored ends (mapped)
    stale = frame.copy()
    stale.loc[weighted, list(RERUN_ENDS)] = np.nan
    stale, _ = joined(stale, 21)
    assert not np.allclose(stale.loc[weighted, "corrected_ci_low"], frame.loc[weighted, "corrected_ci_low"])
    stale.to_csv(path.with_suffix(".csv"), index=False)
    recorded, unrecorded, bad = read_rows(stale, 21)
    assert set(np.flatnonzero(weighted)) <= set(recorded) and len(unrecorded) == len(bad) == 0
    row = rejoin_design(path, "atlas", verify=0, jobs=1)
    assert row["ends_moved"] == int(weighted.sum())
    got = pd.read_csv(path.with_suffix(".csv"))
    for column in GIVEN[:3]:
        a, b = got[column].to_numpy(float), frame[column].to_numpy(float)
        assert np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= 1e-12)), column
    # the rows read, rerun through the shipped worker: the same rho_corrected columns and note
    meta = json.loads(path.read_text())
    picks = np.zeros(len(got), bool)
    picks[recorded] = True
    assert _verify(got, picks, meta, "atlas", len(recorded)) == len(recorded)


def test_the_stored_table_scores_the_data_sets_as_committed(tmp_path):
    table = ATLAS.parent / "low_rank_corrected_stored.csv"
    copy = tmp_path / "calibration" / table.name
    copy.parent.mkdir()
    shutil.copy(table, copy)
    for study in pd.read_csv(table)["study"].unique():  # the table reads the folders beside it
        (copy.parent / study).symlink_to(ATLAS.parent / study)
    rescored = rescore_stored(copy)
    pd.testing.assert_frame_equal(rescored, pd.read_csv(table), check_exact=False, rtol=0, atol=1e-12)
