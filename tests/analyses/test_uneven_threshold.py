"""analyses/calibration/uneven_threshold.py: the threshold table and the SE ratio, against a direct count on
small stored folders written here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from analyses.calibration.uneven_threshold import Z_GRID, cli_withheld, se_ratio_table, stored, threshold_table


def _folder(tmp_path, name, n_emotions, truth, rows):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / f"{name}.json").write_text(json.dumps({"design": {"name": name, "n_emotions": n_emotions},
                                                       "truth": {"free": truth}}))
    pd.DataFrame(rows).to_csv(tmp_path / f"{name}.csv", index=False)


def _rows(rng, n, bias, move, se):
    """Data sets whose interval misses when it is shifted by ``bias``; ``move`` and ``se`` the check's columns;
    the check already fired (values in ``*_unchecked``) where move > 0.05 and move > 1.96 se."""
    est = 0.5 + bias + rng.normal(0, 0.05, n)
    out = []
    for i in range(n):
        fired = move[i] > 0.05 and move[i] > 1.96 * se[i]
        values = {"rho_corrected": est[i], "corrected_ci_low": est[i] - 0.1, "corrected_ci_high": est[i] + 0.1,
                  "corrected_note": ""}
        row = {"split_half_a": 0.6, "split_half_b": 0.7, "norm_shift": move[i], "norm_shift_se": se[i]}
        for key, value in values.items():
            row[key] = np.nan if fired else value
            row[f"{key}_unchecked"] = value if fired else np.nan
        out.append(row)
    return out


def test_threshold_table_counts_designs_and_withheld_intervals_as_a_direct_count(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    move_big = rng.uniform(0.06, 0.12, n)
    _folder(tmp_path / "a", "biased", 21, 0.5, _rows(rng, n, -0.09, move_big, move_big / rng.uniform(1.0, 2.5, n)))
    _folder(tmp_path / "a", "fine", 21, 0.5, _rows(rng, n, 0.0, rng.uniform(0, 0.04, n), np.full(n, 0.01)))
    _folder(tmp_path / "a", "few", 5, 0.5, _rows(rng, n, 0.0, np.zeros(n), np.full(n, 0.01)))  # too few emotions
    designs = stored({"x": str(tmp_path / "a")})
    assert sorted(m["design"]["name"] for _, m, _ in designs) == ["biased", "fine"]
    table = threshold_table(designs).set_index(["max_shift", "z"])
    for z in (1.0, 1.4, 1.96):
        frames = {m["design"]["name"]: f for _, m, f in designs}
        b = frames["biased"]
        ratio = b["norm_shift"] / b["norm_shift_se"]
        kept = ratio <= z  # every move of this design is above 0.05
        est = b["rho_corrected"].fillna(b["rho_corrected_unchecked"])
        covered = ((est - 0.1 <= 0.5) & (0.5 <= est + 0.1))[kept]
        row = table.loc[(0.05, z)]
        fine = frames["fine"]
        fine_covers = 0.925 <= ((fine["corrected_ci_low"] <= 0.5) & (0.5 <= fine["corrected_ci_high"])).mean() <= 0.975
        expect_designs = 1 + int(kept.sum() >= 20)
        assert row["designs"] == expect_designs
        assert row["withheld_share"] == (~kept).sum() / (2 * n)
        in_band = int(fine_covers) + int(kept.sum() >= 20 and 0.925 <= covered.mean() <= 0.975)
        assert row["in_band"] == in_band


def test_se_ratio_is_the_rms_jackknife_se_over_the_sd_of_the_move(tmp_path):
    rng = np.random.default_rng(1)
    n = 100
    move, se = rng.normal(0.0, 0.02, n), rng.uniform(0.02, 0.04, n)
    _folder(tmp_path / "b", "d", 30, 0.5, _rows(rng, n, 0.0, move, se))
    ratios = se_ratio_table(stored({"x": str(tmp_path / "b")}))
    assert len(ratios) == 1
    np.testing.assert_allclose(ratios["se_ratio"].iloc[0], np.sqrt(np.mean(se ** 2)) / np.std(move, ddof=1), rtol=1e-12)


def test_cli_withheld_counts_the_data_sets_past_the_split_half_rule():
    moves = pd.DataFrame({"design": ["d"] * 5,
                          "norm_shift": [0.10, -0.10, 0.04, 0.10, 0.10],
                          "norm_shift_se": [0.06, 0.04, 0.001, 0.03, 0.001],
                          "split_half": [0.5, 0.5, 0.5, 0.5, 0.2]})  # the last fails the split-half rule
    table = cli_withheld(moves).set_index("z")
    assert list(table.index) == list(Z_GRID)
    # past the rule: moves/se 1.67, 2.5, (0.04 <= 0.05), 3.33
    for z, fired in ((1.4, 3), (1.96, 2), (2.58, 1)):
        assert table.loc[z, "withheld_share"] == fired / 4
    assert table.loc[1.96, "mean_move"] == np.mean([0.10, -0.10, 0.04, 0.10])
