"""Reruns of rho_corrected's columns on stored data sets (analyses.calibration.rho.rerun_corrected) and the rerun of
rho's interval where the join reads stored ends that the mean map cannot invert
(analyses.calibration.join_bound.refresh_unmappable)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.calibration.join_bound import GIVEN, joined, refresh_unmappable, unjoined
from analyses.calibration.mean_scale import RERUN_ENDS, as_shipped
from analyses.calibration.rho import rerun_corrected
from rsastats.inference.corrected_ci import narrow_at_bound

FEW = Path(__file__).resolve().parents[2] / "reports" / "calibration" / "few"
DESIGN = "n4-P8-r0.8-near1-lowrank"  # 4 emotions: most of rho's Fisher-z intervals have an end that rounded to +-1


def _stored(name: str = DESIGN) -> tuple[dict, pd.DataFrame]:
    return json.loads((FEW / f"{name}.json").read_text()), pd.read_csv(FEW / f"{name}.csv")


def _same(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(np.all((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= 1e-12)))


def test_a_rerun_of_stored_data_sets_gives_their_stored_columns(tmp_path):
    """The first data sets of a stored 4-emotion design, rerun through the study's worker: rho_corrected's columns as
    stored, the stored (pre-map) rho columns kept, and the shipped ends of rho's interval beside them where the stored
    ones rounded to +-1; a changed rho is refused."""
    meta, stored = _stored()
    n = 6
    head = stored.iloc[:n].reset_index(drop=True)
    assert head[RERUN_ENDS[0]].notna().any(), "the first data sets hold ends the map cannot invert"
    (tmp_path / f"{DESIGN}.json").write_text(json.dumps({**meta, "n_sets": n}))
    head.drop(columns=[c for c in head if c in RERUN_ENDS]).to_csv(tmp_path / f"{DESIGN}.csv", index=False)
    assert rerun_corrected(tmp_path, "few", jobs=1) == [DESIGN]
    got = pd.read_csv(tmp_path / f"{DESIGN}.csv")
    for column in ("rho", "ci_low", "ci_high", *RERUN_ENDS, *GIVEN[:3], "split_half_a", "split_half_b"):
        assert _same(got[column], head[column]), column
    assert (got["corrected_note"].fillna("") == head["corrected_note"].fillna("")).all()
    assert "norm_shift" not in got and not any(c.endswith("_unjoined") for c in got)  # recomputed by the recheck
    assert json.loads((tmp_path / f"{DESIGN}.json").read_text())["corrected_rerun"]["reason"] == ""
    moved = head.assign(rho=head["rho"] + 0.01)
    moved.to_csv(tmp_path / f"{DESIGN}.csv", index=False)
    with pytest.raises(RuntimeError, match="differs from the stored one"):
        rerun_corrected(tmp_path, "few", jobs=1)


def test_refresh_unmappable_reruns_the_ends_the_join_reads():
    """Where rho_corrected's interval is narrow at the bound the join reads rho's interval; a stored Fisher-z end that
    rounded to -1 before the mean map stays -1 under the map (the package gives an end just inside it), so the data set
    is rerun and the join then gives the stored, shipped interval."""
    meta, stored = _stored()
    before = unjoined(stored)
    narrow = np.array([bool(np.isfinite(lo) and np.isfinite(hi) and narrow_at_bound(lo, hi))
                       for lo, hi in zip(before["corrected_ci_low"], before["corrected_ci_high"])])
    rows = np.flatnonzero(narrow & stored[RERUN_ENDS[0]].notna().to_numpy() & (stored["ci_low"] <= -1).to_numpy())
    assert len(rows), "the design has such data sets"
    i = int(rows[0])
    assert as_shipped(stored.loc[i, "rho"], stored.loc[i, "ci_low"], stored.loc[i, "ci_high"], 4)[0] == -1.0
    assert stored.loc[i, RERUN_ENDS[0]] > -1.0
    frame = stored.copy()
    frame.loc[i, list(RERUN_ENDS)] = np.nan
    out, count = refresh_unmappable(frame, meta, "few")
    assert count == 1
    assert _same(out.loc[i, list(RERUN_ENDS)], stored.loc[i, list(RERUN_ENDS)])
    again, _ = joined(out, 4)
    assert _same(again.loc[i, list(GIVEN[:3])], stored.loc[i, list(GIVEN[:3])])
    stale, _ = joined(frame, 4)  # without the rerun the join takes the stored -1
    assert stale.loc[i, "corrected_ci_low"] <= -1.0 < stored.loc[i, "corrected_ci_low"]
    assert refresh_unmappable(out, meta, "few")[1] == 0  # nothing left to rerun
