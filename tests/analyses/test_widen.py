"""analyses/calibration/widen.py: coverage of the widened intervals for every amount, against a direct count on a
small stored folder written here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from analyses.calibration.uneven import UNWIDENED
from analyses.calibration.uneven_threshold import stored
from analyses.calibration.widen import AMOUNTS, BEYOND_GRID, WORLD_GRID, design_table, summary_table, widen_section
from rsastats.inference.widening import WIDEN_BEYOND_SE, WORLD_BEYOND_SE


def _write(folder, name, truth, frame):
    folder.mkdir(exist_ok=True)
    meta = {"design": {"name": name, "n_emotions": 21}, "truth": {"free": truth}}
    (folder / f"{name}.json").write_text(json.dumps(meta))
    frame.to_csv(folder / f"{name}.csv", index=False)


def _step(move, se, beyond):
    return np.maximum(0.0, move - beyond * se) if np.isfinite(beyond) else 0.0


def _biased(rng, n, shipped: bool) -> pd.DataFrame:
    """Ratios biased low by 0.1 with intervals of half-width 0.1, a move of about +0.1 below the check's threshold
    and a worlds' bias of about -0.08 (the truth above the ratio); with ``shipped`` the intervals are widened by the
    shipped amounts (their former ends kept)."""
    est = 0.4 + rng.normal(0, 0.04, n)
    move, se = rng.uniform(0.06, 0.12, n), np.full(n, 0.07)  # move / se < 1.96: the check does not fire
    bias, bias_se = rng.uniform(-0.12, -0.04, n), np.full(n, 0.02)
    frame = pd.DataFrame({"rho_corrected": est, "corrected_ci_low": est - 0.1, "corrected_ci_high": est + 0.1,
                          "corrected_note": "", "split_half_a": 0.6, "split_half_b": 0.7, "norm_shift": move,
                          "norm_shift_se": se, "world_bias": bias, "world_bias_se": bias_se,
                          "ci_low": est - 0.2, "ci_high": est + 0.05})
    if shipped:
        frame[UNWIDENED[0]], frame[UNWIDENED[1]] = frame["corrected_ci_low"], frame["corrected_ci_high"]
        frame["corrected_ci_high"] += np.maximum(_step(move, se, WIDEN_BEYOND_SE),
                                                 _step(-bias, bias_se, WORLD_BEYOND_SE))
    return frame


def test_every_amount_is_a_direct_count_from_the_intervals_before_widening(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    raw = _biased(rng, n, shipped=False)
    _write(tmp_path / "raw", "d", 0.5, raw)
    rng = np.random.default_rng(0)
    _write(tmp_path / "shipped", "d", 0.5, _biased(rng, n, shipped=True))
    tables = [design_table(stored({"x": str(tmp_path / k)})) for k in ("raw", "shipped")]
    pd.testing.assert_frame_equal(*tables)  # from the former ends, whether or not the stored ones are widened
    table = tables[0].set_index(["beyond", "world_beyond"])
    assert list(table.index) == list(AMOUNTS)
    assert {(b, WORLD_BEYOND_SE) for b in BEYOND_GRID} | {(WIDEN_BEYOND_SE, w) for w in WORLD_GRID} <= set(AMOUNTS)
    low, high = raw["corrected_ci_low"], raw["corrected_ci_high"]
    for beyond, world_beyond in AMOUNTS:
        step = np.maximum(_step(raw["norm_shift"], raw["norm_shift_se"], beyond),
                          _step(-raw["world_bias"], raw["world_bias_se"], world_beyond))
        covered = ((low <= 0.5) & (0.5 <= np.minimum(1.0, high + step))).mean()
        assert table.loc[(beyond, world_beyond), "coverage"] == covered
        assert table.loc[(beyond, world_beyond), "misses_low"] == ((np.minimum(1.0, high + step) < 0.5).mean())
    # widening toward the moves helps here
    assert table.loc[(0.0, WORLD_BEYOND_SE), "coverage"] > table.loc[(np.inf, np.inf), "coverage"]
    assert table.loc[(WIDEN_BEYOND_SE, 0.0), "coverage"] > table.loc[(WIDEN_BEYOND_SE, np.inf), "coverage"]
    summary = summary_table(tables[0]).set_index(["beyond", "world_beyond"])
    assert (summary["designs"] == 1).all()
    assert summary.loc[(np.inf, np.inf), "below"] == int(table.loc[(np.inf, np.inf), "coverage"] < 0.925)
    lines = widen_section(stored({"x": str(tmp_path / "raw")}))
    assert any(line.startswith(f"| {WIDEN_BEYOND_SE:g} | {WORLD_BEYOND_SE:g} (shipped) |") for line in lines)


def test_every_amount_is_joined_with_rhos_interval_where_narrow_at_the_bound(tmp_path):
    """Intervals narrow at the bound that miss a truth of 0.99 cover once joined with rho's interval, as shipped, for
    every amount."""
    n = 40
    frame = pd.DataFrame({"rho_corrected": np.full(n, 0.999), "corrected_ci_low": 0.995, "corrected_ci_high": 1.0,
                          "corrected_note": "", "split_half_a": 0.9, "split_half_b": 0.9, "norm_shift": 0.0,
                          "norm_shift_se": 0.01, "world_bias": 0.0, "world_bias_se": 0.01, "ci_low": 0.98,
                          "ci_high": 0.997})
    _write(tmp_path / "d", "d", 0.99, frame)
    table = design_table(stored({"x": str(tmp_path / "d")}))
    assert (table["coverage"] == 1.0).all() and len(table) == len(AMOUNTS)
