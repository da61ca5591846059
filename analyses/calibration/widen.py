"""How far rho_corrected's interval is widened toward the check's move, chosen on the stored results.

The check of uneven shrinkage (:func:`rsastats.inference.corrected.norm_shift`) recomputes the cross-half ratio
with each emotion's squared norm corrected for its own prompt noise; where it does not withhold rho_corrected,
the shipped interval is widened on the side of that move by the part of it beyond ``beyond`` jackknife standard
errors (:func:`~rsastats.inference.corrected.widen_toward_shift`, ``WIDEN_BEYOND_SE``).  ``beyond = inf`` is no
widening; ``beyond = 0`` is the hull of the interval and its copy moved by the whole move (the union of the
intervals the two attenuation models give, if the second had the first one's width).  Every stored data set of
the atlas, the second generative model and the few-emotions study carries the move, its standard error and the
interval before widening (``corrected_ci_*_unwidened`` where it was widened; ``python -m
analyses.calibration.uneven``), so any ``beyond`` can be applied without a rerun.  This script writes:

- reports/calibration/widen.csv: per ``beyond``, over the designs with at least ``MIN_CORRECTED_EMOTIONS``
  emotions where rho_corrected is given in at least 20 data sets (the check as shipped): how many cover within
  [92.5%, 97.5%], below and above, the mean |coverage - 95%| and the mean width;
- reports/calibration/widen_designs.csv: the same per design, with the misses above and below the truth.

Run:  python -m analyses.calibration.widen   (seconds; reads reports/calibration/{atlas,independent,few}).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.corrected import MAX_NORM_SHIFT, NORM_SHIFT_Z, WIDEN_BEYOND_SE, widen_toward_shift
from rsastats.io import atomic_path

from .uneven import UNWIDENED
from .uneven_threshold import BAND, MIN_GIVEN, _fires, stored

__all__ = ["BEYOND_GRID", "design_table", "summary_table", "widen_section", "main"]

BEYOND_GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, np.inf)


def _widened(frame: pd.DataFrame, beyond: float) -> tuple[np.ndarray, np.ndarray]:
    """Every data set's interval (before the check) widened with ``beyond``, from the interval before widening."""
    low = frame[UNWIDENED[0]].fillna(frame["low"]) if UNWIDENED[0] in frame else frame["low"]
    high = frame[UNWIDENED[1]].fillna(frame["high"]) if UNWIDENED[1] in frame else frame["high"]
    ends = [widen_toward_shift(lo, hi, s, e, beyond=beyond)[:2] if np.isfinite(lo) else (lo, hi)
            for lo, hi, s, e in zip(low, high, frame["norm_shift"], frame["norm_shift_se"])]
    return np.array([e[0] for e in ends], float), np.array([e[1] for e in ends], float)


def design_table(designs: list[tuple[str, dict, pd.DataFrame]]) -> pd.DataFrame:
    """One row per design and ``beyond`` (module docstring), where rho_corrected is given in at least
    :data:`MIN_GIVEN` data sets after the check."""
    rows = []
    for study, meta, f in designs:
        truth = meta["truth"]["free"]
        kept = f["given"].to_numpy(bool) & ~_fires(f, NORM_SHIFT_Z, MAX_NORM_SHIFT)
        if kept.sum() < MIN_GIVEN:
            continue
        for beyond in BEYOND_GRID:
            low, high = _widened(f, beyond)
            low, high = low[kept], high[kept]
            rows.append({"study": study, "design": meta["design"]["name"], "beyond": beyond, "given": int(kept.sum()),
                         "coverage": float(((low <= truth) & (truth <= high)).mean()),
                         "misses_high": float((low > truth).mean()), "misses_low": float((high < truth).mean()),
                         "width": float((high - low).mean())})
    return pd.DataFrame(rows)


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per ``beyond``: designs within the band, below and above it, the mean |coverage - 95%|, the mean width."""
    rows = []
    for beyond, part in table.groupby("beyond", sort=True):
        c = part["coverage"].to_numpy()
        rows.append({"beyond": beyond, "designs": len(c), "in_band": int(((c >= BAND[0]) & (c <= BAND[1])).sum()),
                     "below": int((c < BAND[0]).sum()), "above": int((c > BAND[1]).sum()),
                     "mean_abs_error": float(np.abs(c - 0.95).mean()), "mean_width": float(part["width"].mean())})
    return pd.DataFrame(rows)


def _crossed(table: pd.DataFrame) -> pd.DataFrame:
    """Designs outside the band without the widening or with the shipped one: coverage without and with it."""
    shown = table[table["beyond"].isin([np.inf, WIDEN_BEYOND_SE])].pivot_table(
        index=["study", "design"], columns="beyond", values="coverage")
    outside = lambda c: (c < BAND[0]) | (c > BAND[1])  # noqa: E731
    return shown[outside(shown[np.inf]) | outside(shown[WIDEN_BEYOND_SE])]


def widen_section(designs: list[tuple[str, dict, pd.DataFrame]] | None = None) -> list[str]:
    """Markdown for docs/calibration.md: what each ``beyond`` does on the stored results."""
    table = design_table(stored() if designs is None else designs)
    if not len(table):
        return []
    summary = summary_table(table)
    lines = [
        "### The interval widened toward the move",
        "",
        f"Where the check does not fire, rho_corrected's interval is widened on the side of the move by the part of it "
        f"beyond {WIDEN_BEYOND_SE:g} of its jackknife standard errors (`widen_toward_shift` in "
        "`rsastats/inference/corrected.py`; `corrected_note` says how far; docs/statistics.md, 'Emotion vectors of "
        "different lengths'); every coverage of rho_corrected in this document is with it. What other amounts do on "
        f"the same stored data sets, the check as shipped (`python -m analyses.calibration.widen`; "
        f"{int(summary['designs'].iloc[0])} designs with at least 7 emotions where rho_corrected is given in at least "
        f"{MIN_GIVEN} data sets; 'inf': not widened):",
        "",
        "| widened beyond (standard errors) | designs within [92.5%, 97.5%] | below | above | mean abs. error | "
        "mean width |",
        "|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        mark = " (shipped)" if r.beyond == WIDEN_BEYOND_SE else ""
        lines.append(f"| {r.beyond:g}{mark} | {r.in_band} | {r.below} | {r.above} | {100 * r.mean_abs_error:.2f} | "
                     f"{r.mean_width:.3f} |")
    crossed = _crossed(table)
    lines += ["", "Designs outside the band without the widening or with it (coverage % not widened -> shipped): "
              + ", ".join(f"{design} {100 * r[np.inf]:.1f} -> {100 * r[WIDEN_BEYOND_SE]:.1f}"
                          for (_, design), r in crossed.iterrows()) + ".", ""]
    return lines


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/calibration/widen.csv")
    parser.add_argument("--designs-out", default="reports/calibration/widen_designs.csv")
    args = parser.parse_args(argv)
    table = design_table(stored())
    summary = summary_table(table)
    for data, out in ((summary, args.out), (table, args.designs_out)):
        with atomic_path(Path(out)) as tmp:
            data.to_csv(tmp, index=False, float_format="%.4f")
    for r in summary.itertuples():
        shipped = "  (shipped)" if r.beyond == WIDEN_BEYOND_SE else ""
        print(f"beyond {r.beyond:g} SE: {r.in_band} of {r.designs} designs in band, {r.below} below, {r.above} above, "
              f"mean error {100 * r.mean_abs_error:.2f} points, mean width {r.mean_width:.3f}{shipped}")
    for (study, design), r in _crossed(table).iterrows():
        print(f"  {study} {design}: {100 * r[np.inf]:.1f}% -> {100 * r[WIDEN_BEYOND_SE]:.1f}%")
    return summary


if __name__ == "__main__":
    main()
