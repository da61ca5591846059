"""analyses/calibration/uneven.py: the check applied to stored per-data-set results equals the shipped code, for
results run before the check (their values kept as ``*_unchecked``) and with it (those values recomputed with
the check lifted), and a second recheck changes nothing."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import pytest

from analyses.calibration import independent
from analyses.calibration.uneven import UNCHECKED, UNWIDENED, recheck
from rsastats.inference import corrected, widening
from rsastats.inference.corrected import WIDEN_NOTE


def _store(folder, lifted: bool):
    """A small `sizes` design of the second model run through the shipped worker (with the check, or lifted)."""
    design = replace(next(d for d in independent.DESIGNS if d.name == "n40-P20-shared0.3-sizes"), n_emotions=30,
                     name="tiny-sizes")
    kept = corrected.MAX_NORM_SHIFT
    if lifted:
        corrected.MAX_NORM_SHIFT = np.inf
    try:
        frame, meta = independent.run_design(design, 8, n_boot=200, n_mc=20, seed=3, jobs=1)
    finally:
        corrected.MAX_NORM_SHIFT = kept
    frame.to_csv(folder / "tiny-sizes.csv", index=False)
    (folder / "tiny-sizes.json").write_text(json.dumps({**meta, "design": asdict(design)}))
    return frame


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    before = tmp_path_factory.mktemp("before")
    after = tmp_path_factory.mktemp("after")
    return _store(before, lifted=True), before, _store(after, lifted=False), after


def test_recheck_equals_the_shipped_check_whenever_the_results_were_run(stored):
    unchecked, before, shipped, after = stored  # the recheck rebuilds the design from its JSON
    for folder in (before, after):
        recheck("independent", folder, jobs=1, verify=1)
    a = pd.read_csv(before / "tiny-sizes.csv")
    b = pd.read_csv(after / "tiny-sizes.csv")
    fired = a[UNCHECKED[0]].notna()
    assert fired.any() and not fired.all()
    for frame in (a, b):  # the rechecked values are those of the shipped check, and what it withheld is kept
        np.testing.assert_array_equal(frame["rho_corrected"].isna(), shipped["rho_corrected"].isna())
        np.testing.assert_allclose(frame["rho_corrected"].dropna(), shipped["rho_corrected"].dropna(), rtol=0, atol=0)
        np.testing.assert_allclose(frame.loc[fired, UNCHECKED[0]], unchecked.loc[fired, "rho_corrected"], rtol=0, atol=0)
    pd.testing.assert_frame_equal(a, b)
    recheck("independent", after, jobs=1, verify=0)
    pd.testing.assert_frame_equal(pd.read_csv(after / "tiny-sizes.csv"), b)


def test_reused_shifts_give_what_recomputed_shifts_give_at_another_threshold(stored, tmp_path, monkeypatch):
    """After a change of the threshold, the stored moves (the same splits) stand in for recomputed ones."""
    _, before, _, _ = stored
    for name in ("reuse", "recompute"):
        (tmp_path / name).mkdir()
        for suffix in (".csv", ".json"):
            (tmp_path / name / f"tiny-sizes{suffix}").write_bytes((before / f"tiny-sizes{suffix}").read_bytes())
    recheck("independent", tmp_path / "reuse", jobs=1, verify=0)  # stores the moves at the shipped threshold
    monkeypatch.setattr(corrected, "NORM_SHIFT_Z", 100.0)
    recheck("independent", tmp_path / "reuse", jobs=1, verify=0, reuse_shifts=True)
    recheck("independent", tmp_path / "recompute", jobs=1, verify=0)
    reused, recomputed = (pd.read_csv(tmp_path / n / "tiny-sizes.csv") for n in ("reuse", "recompute"))
    pd.testing.assert_frame_equal(reused, recomputed)
    shipped = pd.read_csv(before / "tiny-sizes.csv")
    # the higher threshold withholds less
    assert reused[UNCHECKED[0]].notna().sum() < shipped[UNCHECKED[0]].notna().sum()
    assert reused["norm_shift"].equals(shipped["norm_shift"])


def test_results_run_before_the_widening_are_widened_as_the_shipped_code_widens(stored, tmp_path, monkeypatch):
    """Results run with the check and the widening lifted (as the stored studies were) get, from the recheck, the
    shipped values: the check's withholding and the widened intervals, their former ends in ``UNWIDENED``; a second
    recheck changes nothing."""
    _, _, shipped, _ = stored
    monkeypatch.setattr(widening, "WIDEN_BEYOND_SE", np.inf)
    monkeypatch.setattr(widening, "WORLD_BEYOND_SE", np.inf)
    _store(tmp_path, lifted=True)
    monkeypatch.undo()
    old = pd.read_csv(tmp_path / "tiny-sizes.csv")
    assert not old["corrected_note"].astype(object).fillna("").str.contains(WIDEN_NOTE).any()
    recheck("independent", tmp_path, jobs=1, verify=1)
    got = pd.read_csv(tmp_path / "tiny-sizes.csv")
    widened = got[UNWIDENED[0]].notna() & got["rho_corrected"].notna()  # (a withheld one keeps the check's note)
    assert widened.any() and got.loc[widened, "corrected_note"].str.contains(WIDEN_NOTE).all()
    for column in ("rho_corrected", "corrected_ci_low", "corrected_ci_high"):
        np.testing.assert_array_equal(got[column].isna(), shipped[column].isna())
        np.testing.assert_allclose(got[column].dropna(), shipped[column].dropna(), rtol=0, atol=1e-15)
    assert (got["corrected_ci_high"] - got["corrected_ci_low"] >= old["corrected_ci_high"] - old["corrected_ci_low"]
            - 1e-15)[got["rho_corrected"].notna()].all()
    recheck("independent", tmp_path, jobs=1, verify=0, reuse_shifts=True)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "tiny-sizes.csv"), got)


def test_results_run_with_the_widening_keep_their_former_ends(stored, tmp_path, monkeypatch):
    """A fresh run through the shipped worker (check and widening on) gets, from the recheck, the interval before
    the widening in ``UNWIDENED`` -- that of a run with the widening lifted -- so that the widening study redoes the
    widening from it instead of widening the shipped interval a second time."""
    from analyses.calibration.uneven import unwidened
    from analyses.calibration.widen import _widened

    _, _, shipped, after = stored
    for suffix in (".csv", ".json"):
        (tmp_path / f"tiny-sizes{suffix}").write_bytes((after / f"tiny-sizes{suffix}").read_bytes())
    native = shipped["corrected_note"].astype(object).fillna("").str.contains(WIDEN_NOTE) & shipped["rho_corrected"].notna()
    assert native.any()
    recheck("independent", tmp_path, jobs=1, verify=1)
    got = pd.read_csv(tmp_path / "tiny-sizes.csv")
    assert got.loc[native, UNWIDENED[0]].notna().all()
    lifted = tmp_path / "lifted"
    lifted.mkdir()
    monkeypatch.setattr(widening, "WIDEN_BEYOND_SE", np.inf)
    monkeypatch.setattr(widening, "WORLD_BEYOND_SE", np.inf)
    plain = _store(lifted, lifted=False)
    monkeypatch.undo()
    given = got["rho_corrected"].notna()
    before = unwidened(got)
    for column in ("corrected_ci_low", "corrected_ci_high"):
        np.testing.assert_allclose(before.loc[given, column], plain.loc[given, column], rtol=0, atol=0)
        np.testing.assert_allclose(got.loc[given, column], shipped.loc[given, column], rtol=0, atol=1e-15)
    frame = got.rename(columns={"corrected_ci_low": "low", "corrected_ci_high": "high"})
    low, high = _widened(frame, widening.WIDEN_BEYOND_SE, widening.WORLD_BEYOND_SE)
    np.testing.assert_allclose(low[given], shipped.loc[given, "corrected_ci_low"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(high[given], shipped.loc[given, "corrected_ci_high"], rtol=0, atol=1e-15)
