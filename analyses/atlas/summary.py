"""Coverage tables from the per-design results of :mod:`.run`."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.stats as st

from .intervals import CORRECTED_METHODS, RHO_METHODS, corrected_intervals, rho_intervals

__all__ = ["binomial_ci", "coverage_rows", "load"]


def binomial_ci(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    if n == 0:
        return (np.nan, np.nan)
    r = st.binomtest(int(hits), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(r.low), float(r.high)


def _row(design, estimand, method, lo, hi, truth, extra=None):
    ok = np.isfinite(lo) & np.isfinite(hi)
    hits = int(np.sum(ok & (lo <= truth) & (truth <= hi)))
    n = int(ok.sum())
    c_lo, c_hi = binomial_ci(hits, n)
    row = {"design": design, "estimand": estimand, "method": method, "n": n, "coverage": hits / n if n else np.nan,
           "cp_low": c_lo, "cp_high": c_hi, "width": float(np.mean((hi - lo)[ok])) if n else np.nan,
           "below": float(np.mean(hi[ok] < truth)) if n else np.nan, "above": float(np.mean(lo[ok] > truth)) if n else np.nan}
    row.update(extra or {})
    return row


def coverage_rows(res: dict) -> list[dict]:
    rec, truth, name = res["records"], res["truth"], res["design"]["name"]
    n_sets = rec["point"].shape[0]
    rows = []
    ivs = [rho_intervals(rec, i) for i in range(n_sets)]
    for m in RHO_METHODS:
        if m not in ivs[0]:
            continue
        lo = np.array([iv[m][0] for iv in ivs])
        hi = np.array([iv[m][1] for iv in ivs])
        rows.append(_row(name, "rho", m, lo, hi, truth["measured"]))
    if np.all(np.isnan(rec["point"][:, 1])):
        return rows
    cor = [corrected_intervals(rec, i) for i in range(n_sets)]
    est = np.array([c[0] for c in cor])
    for m in CORRECTED_METHODS:
        lo = np.array([c[1].get(m, (np.nan, np.nan))[0] for c in cor])
        hi = np.array([c[1].get(m, (np.nan, np.nan))[1] for c in cor])
        rows.append(_row(name, "corrected", m, lo, hi, truth["free"],
                         {"defined": float(np.mean(np.isfinite(est))), "bias": float(np.nanmean(est) - truth["free"]),
                          "at_one": float(np.nanmean(est >= 1.0))}))
    return rows


def load(folder: str) -> list[dict]:
    return [pickle.load(open(p, "rb")) for p in sorted(Path(folder).glob("*.pkl"))]


def main(folder: str) -> None:
    rows = []
    for res in load(folder):
        rows += coverage_rows(res)
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 250, "display.max_rows", 500)
    for est, g in df.groupby("estimand", sort=False):
        t = g.pivot_table(index="design", columns="method", values="coverage", sort=False)
        print(est)
        print((100 * t).round(1).to_string())
        w = g.pivot_table(index="design", columns="method", values="width", sort=False)
        print((w).round(3).to_string())
    df.to_csv(Path(folder) / "coverage.csv", index=False)


if __name__ == "__main__":
    main(sys.argv[1])
