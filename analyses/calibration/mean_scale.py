"""rho's interval mapped to the mean on the correlation scale, on every stored data set (issue 14; 2026-12-06).

rho's estimand is its expectation on the correlation scale, ``E[rho_hat]``; ``tanh`` of a Fisher-z interval targets
``tanh`` of the z value's centre, which lies above it for a positive rho.  Since 2026-12-06 rho's interval maps each
Fisher-z end ``z_e`` to ``E[tanh(z_e + SE eps)]`` (:func:`rsastats.intervals.jackknife.mean_of_tanh`; docs/statistics.md,
'The mean on the correlation scale').  The map is a function of the stored interval alone: with ``n`` emotions and
``q = t_(n-1), 0.975``, ``SE = (atanh(high) - atanh(low)) / (2 q)``.  So this script applies it to every stored data set
whose interval is on the Fisher-z scale (:func:`mapped` says which are not) and counts, per design, how often the
interval holds the truth (rho's Monte Carlo expectation, the studies' ``truth.measured``) before and after, and on
which side it misses.  The stored intervals are those each study wrote with the code of its day.

Studies: the atlas (and its replication with seed 2028), the few-emotions, weak-signal, second-model ('independent'),
many-emotions and third-model ('cli_model') studies, and the fourth and fifth generative models.

Run:  python -m analyses.calibration.mean_scale   (seconds).  Writes reports/calibration/mean_scale.csv.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from rsastats.intervals.jackknife import mean_of_tanh

from .studies import binomial_ci

ROOT = Path(__file__).resolve().parents[2]
CAL = ROOT / "reports" / "calibration"
OUT = CAL / "mean_scale.csv"
STUDIES = ("atlas", "atlas_2028", "few", "weak", "independent", "many_emotions", "cli_model")
FOURTH_EMOTIONS = {"D1": 21, "D2": 10, "D3": 30, "D4": 21, "D5": 30, "D6": 10}  # fourth_model's designs


def mapped(rho: np.ndarray, low: np.ndarray, high: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The intervals with their Fisher-z ends mapped to the mean on the correlation scale, and which were mapped: those
    symmetric about ``atanh(rho)`` on the Fisher-z scale.  Not mapped: the raw-scale intervals at the bound and
    without spread (the package does not map them either), and, below
    :data:`~rsastats.intervals.jackknife.RAW_AT_BOUND_FROM` emotions, Fisher-z intervals with an end that rounded to
    +-1 (a leave-one-out rho of 1 there keeps the Fisher-z scale with the stand-in ``atanh(1 - 1e-12)``, and the
    standard error becomes so large that both ends round to +-1 and cannot be inverted; the package maps them, which
    brings such an end just inside +-1)."""
    rho, low, high = (np.asarray(a, dtype=np.float64) for a in (rho, low, high))
    z = [np.arctanh(np.clip(a, -1 + 1e-12, 1 - 1e-12)) for a in (rho, low, high)]
    fisher = np.isfinite(low) & (np.abs((z[2] - z[0]) - (z[0] - z[1])) < 1e-6 * np.maximum(1.0, z[2] - z[1]))
    se = (z[2] - z[1]) / (2.0 * stats.t.ppf(0.975, n - 1))
    new_low, new_high = low.copy(), high.copy()
    for k in np.flatnonzero(fisher):
        new_low[k], new_high[k] = mean_of_tanh(np.array([z[1][k], z[2][k]]), se[k])
    return np.minimum(new_low, rho), np.maximum(new_high, rho), fisher


# rho's interval rerun through the shipped code where stored ends at +-1 are not what the package gives now: Fisher-z
# ends that rounded to +-1 below RAW_AT_BOUND_FROM emotions, which the map cannot invert (:func:`mapped`), or an interval
# stored before a later rule at the bound; and where rho_corrected's join reads it, wherever the low-rank weight of
# 2026-12-07 moved it; written by analyses.calibration.join_bound.refresh_unmappable,
# analyses.calibration.rho.rerun_corrected and analyses.calibration.join_weighted
RERUN_ENDS = ("ci_low_shipped", "ci_high_shipped")


def shipped_ends(frame: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ends of the stored intervals of rho in ``frame`` (columns ``rho``, ``ci_low``, ``ci_high``) as the package
    forms them since the map (:func:`mapped`): what a rerun of a stored data set gives, and joins with.  Where a row
    holds the ends of such a rerun (:data:`RERUN_ENDS`), those."""
    low, high, _ = mapped(frame["rho"], frame["ci_low"], frame["ci_high"], n)
    if RERUN_ENDS[0] in frame:
        rerun = frame[RERUN_ENDS[0]].notna().to_numpy()
        low = np.where(rerun, frame[RERUN_ENDS[0]].to_numpy(float), low)
        high = np.where(rerun, frame[RERUN_ENDS[1]].to_numpy(float), high)
    return low, high


def as_shipped(rho: float, low: float, high: float, n: int) -> tuple[float, float]:
    """A stored interval of rho as the package forms it since the map (:func:`mapped` of one data set): what the tests
    that rerun a stored data set with the shipped code compare against."""
    new_low, new_high, _ = mapped(np.array([rho]), np.array([low]), np.array([high]), n)
    return float(new_low[0]), float(new_high[0])


def score(truth: float, low: np.ndarray, high: np.ndarray) -> dict:
    shown = np.isfinite(low)
    lo, hi = low[shown], high[shown]
    hits = int(np.sum((lo <= truth) & (truth <= hi)))
    return {"n": int(shown.sum()), "hits": hits, "coverage": hits / max(1, shown.sum()),
            "interval_above": float(np.mean(lo > truth)) if shown.any() else np.nan,
            "interval_below": float(np.mean(hi < truth)) if shown.any() else np.nan,
            "width": float(np.mean(hi - lo)) if shown.any() else np.nan}


def design_row(study: str, design: str, n: int, truth: float, frame: pd.DataFrame) -> dict:
    _, _, fisher = mapped(frame["rho"], frame["ci_low"], frame["ci_high"], n)
    low, high = shipped_ends(frame, n)
    before = score(truth, frame["ci_low"].to_numpy(float), frame["ci_high"].to_numpy(float))
    after = score(truth, low, high)
    row = {"study": study, "design": design, "n_emotions": n, "truth": truth, "n_sets": len(frame),
           "fisher_z_share": float(fisher.mean())}
    for tag, s in (("before", before), ("after", after)):
        row.update({f"{k}_{tag}": v for k, v in s.items() if k != "hits"})
        row[f"cp_low_{tag}"], row[f"cp_high_{tag}"] = binomial_ci(s["hits"], s["n"]) if s["n"] else (np.nan, np.nan)
    return row


def rows() -> list[dict]:
    out = []
    for study in STUDIES:
        for path in sorted((CAL / study).glob("*.csv")):
            meta = path.with_suffix(".json")
            if not meta.exists():
                continue
            info = json.loads(meta.read_text())
            n = int(info["design"]["n_emotions"])
            if n < 5:  # no jackknife interval below 5 emotions
                continue
            out.append(design_row(study, path.stem, n, float(info["truth"]["measured"]), pd.read_csv(path)))
    truth4 = json.loads((CAL / "fourth_model" / "truth.json").read_text())
    for name, n in FOURTH_EMOTIONS.items():
        frame = pd.read_csv(CAL / "fourth_model" / f"results_{name}.csv")
        out.append(design_row("fourth_model", name, n, float(truth4[name]["truth_rho"]), frame))
    truth5 = json.loads((CAL / "fifth_model" / "truth.json").read_text())
    runs = pd.read_csv(CAL / "fifth_model" / "runs.csv")
    for name, frame in runs.groupby("design"):
        n = int(name.split("_E")[1].split("_")[0])
        out.append(design_row("fifth_model", name, n, float(truth5[name]["true_rho"]), frame[frame["rc"] == 0]))
    return out


def summary(table: pd.DataFrame) -> str:
    lines = []
    for tag in ("before", "after"):
        cov = table[f"coverage_{tag}"]
        lines.append(f"{tag}: {int(((cov >= 0.925) & (cov <= 0.975)).sum())} of {len(table)} designs within "
                     f"[92.5%, 97.5%], {int((cov < 0.925).sum())} below, {int((cov > 0.975).sum())} above; mean "
                     f"|coverage - 95%| {np.mean(np.abs(cov - 0.95)) * 100:.2f} points")
    high = table[table["truth"] > 0.75]
    for tag in ("before", "after"):
        lines.append(f"{tag}, the {len(high)} designs with a true rho above 0.75: interval above the truth in "
                     f"{high[f'interval_above_{tag}'].mean() * 100:.2f}% of data sets, below it in "
                     f"{high[f'interval_below_{tag}'].mean() * 100:.2f}% (2.5% each for an exact interval)")
    return "\n".join(lines)


def main() -> None:
    table = pd.DataFrame(rows())
    table.to_csv(OUT, index=False, float_format="%.6g")
    print(summary(table))
    print(f"wrote {OUT.relative_to(ROOT)} ({len(table)} designs)")


if __name__ == "__main__":
    main()
