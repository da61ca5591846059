"""How far rho_corrected's interval is widened toward the check's move and the sign-flip worlds' bias, chosen on
the stored results.

The check of uneven shrinkage (:func:`rsastats.inference.corrected.norm_shift`) recomputes the cross-half ratio
with each emotion's squared norm corrected for its own prompt noise; where it does not withhold rho_corrected,
the shipped interval is widened on the side of that move by the part of it beyond ``beyond`` jackknife standard
errors (``WIDEN_BEYOND_SE``), and toward the ratio less its bias in sign-flip worlds by the part of the bias beyond
``world_beyond`` Monte Carlo standard errors (``WORLD_BEYOND_SE``; :func:`~rsastats.inference.widening.widened`,
:mod:`rsastats.inference.worlds`).  ``inf`` is no widening; ``0`` is the hull of the interval and its copy moved by
the whole move.  Every stored data set of the atlas, the second generative model and the few-emotions study carries
both moves, their standard errors and the interval before widening (``corrected_ci_*_unwidened`` where it was
widened; ``python -m analyses.calibration.uneven``), so any amount can be applied without a rerun; each amount's
interval is then joined with rho's where it is narrow at the bound, as shipped (:mod:`analyses.calibration.join_bound`).
Each grid varies one amount with the other as shipped.  This script writes:

- reports/calibration/widen.csv: per ``(beyond, world_beyond)``, over the designs with at least
  ``MIN_CORRECTED_EMOTIONS`` emotions where rho_corrected is given in at least 20 data sets (the check as shipped):
  how many cover within [92.5%, 97.5%], below and above, the mean |coverage - 95%| and the mean width;
- reports/calibration/widen_designs.csv: the same per design, with the misses above and below the truth.

Run:  python -m analyses.calibration.widen   (seconds; reads reports/calibration/{atlas,independent,few}).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rsastats.inference.corrected import MAX_NORM_SHIFT, NORM_SHIFT_Z
from rsastats.inference.widening import WIDEN_BEYOND_SE, WORLD_BEYOND_SE, widened
from rsastats.io import atomic_path

from .join_bound import UNJOINED, join_interval
from .uneven import UNWIDENED
from .uneven_threshold import BAND, MIN_GIVEN, _fires, stored

__all__ = ["finished", "BEYOND_GRID", "WORLD_GRID", "AMOUNTS", "design_table", "summary_table", "widen_section", "main"]

BEYOND_GRID = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, np.inf)
WORLD_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, np.inf)
# (beyond, world_beyond): the check's amounts with the worlds as shipped, the worlds' with the check as shipped,
# and neither.
AMOUNTS = tuple(dict.fromkeys([(b, WORLD_BEYOND_SE) for b in BEYOND_GRID] + [(WIDEN_BEYOND_SE, w) for w in WORLD_GRID]
                              + [(np.inf, np.inf)]))
SHIPPED = (WIDEN_BEYOND_SE, WORLD_BEYOND_SE)


def _widened(frame: pd.DataFrame, beyond: float, world_beyond: float) -> tuple[np.ndarray, np.ndarray]:
    """Every data set's interval (before the check) widened with these amounts, from the interval before
    widening and the join with rho's interval (no worlds' bias stored: widened toward the check's move only), then
    joined as shipped (:mod:`analyses.calibration.join_bound`)."""
    low, high = frame["low"], frame["high"]
    if UNJOINED[1] in frame:
        low, high = frame[UNJOINED[1]].fillna(low), frame[UNJOINED[2]].fillna(high)
    low = frame[UNWIDENED[0]].fillna(low) if UNWIDENED[0] in frame else low
    high = frame[UNWIDENED[1]].fillna(high) if UNWIDENED[1] in frame else high
    return finished(low, high, frame, beyond=beyond, world_beyond=world_beyond)


def finished(low: Any, high: Any, frame: pd.DataFrame, *, beyond: float = WIDEN_BEYOND_SE,
             world_beyond: float = WORLD_BEYOND_SE) -> tuple[np.ndarray, np.ndarray]:
    """Intervals ``(low, high)`` before the widening (one per row of ``frame``), widened toward each row's stored
    moves (``norm_shift``, ``world_bias`` and their standard errors) with these amounts, then joined with rho's
    interval (``ci_low``, ``ci_high``) as shipped; a missing interval stays missing."""
    nan = pd.Series(np.nan, index=frame.index)
    bias, bias_se = frame.get("world_bias", nan), frame.get("world_bias_se", nan)
    ends = [widened(lo, hi, (s, e), (b, be), beyond=beyond, world_beyond=world_beyond)[:2] if np.isfinite(lo)
            else (lo, hi) for lo, hi, s, e, b, be in zip(low, high, frame["norm_shift"], frame["norm_shift_se"], bias,
                                                        bias_se)]
    ends = [join_interval(lo, hi, r_lo, r_hi) for (lo, hi), r_lo, r_hi in zip(ends, frame["ci_low"], frame["ci_high"])]
    return np.array([e[0] for e in ends], float), np.array([e[1] for e in ends], float)


def design_table(designs: list[tuple[str, dict, pd.DataFrame]]) -> pd.DataFrame:
    """One row per design and pair of amounts (:data:`AMOUNTS`; module docstring), where rho_corrected is given in
    at least :data:`MIN_GIVEN` data sets after the check."""
    rows = []
    for study, meta, f in designs:
        truth = meta["truth"]["free"]
        kept = f["given"].to_numpy(bool) & ~_fires(f, NORM_SHIFT_Z, MAX_NORM_SHIFT)
        if kept.sum() < MIN_GIVEN:
            continue
        for beyond, world_beyond in AMOUNTS:
            low, high = _widened(f, beyond, world_beyond)
            low, high = low[kept], high[kept]
            rows.append({"study": study, "design": meta["design"]["name"], "beyond": beyond,
                         "world_beyond": world_beyond, "given": int(kept.sum()),
                         "coverage": float(((low <= truth) & (truth <= high)).mean()),
                         "misses_high": float((low > truth).mean()), "misses_low": float((high < truth).mean()),
                         "width": float((high - low).mean())})
    return pd.DataFrame(rows)


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per pair of amounts: designs within the band, below and above it, the mean |coverage - 95%|, the mean
    width."""
    rows = []
    for (beyond, world_beyond), part in table.groupby(["beyond", "world_beyond"], sort=True):
        c = part["coverage"].to_numpy()
        rows.append({"beyond": beyond, "world_beyond": world_beyond, "designs": len(c),
                     "in_band": int(((c >= BAND[0]) & (c <= BAND[1])).sum()),
                     "below": int((c < BAND[0]).sum()), "above": int((c > BAND[1]).sum()),
                     "mean_abs_error": float(np.abs(c - 0.95).mean()), "mean_width": float(part["width"].mean())})
    return pd.DataFrame(rows)


def _crossed(table: pd.DataFrame) -> pd.DataFrame:
    """Designs outside the band without any widening, with the check's alone or as shipped: their coverage in columns
    ``none``, ``check`` and ``shipped``."""
    amounts = {"none": (np.inf, np.inf), "check": (WIDEN_BEYOND_SE, np.inf), "shipped": SHIPPED}
    shown = pd.DataFrame({k: table[(table["beyond"] == b) & (table["world_beyond"] == w)].set_index(
        ["study", "design"])["coverage"] for k, (b, w) in amounts.items()})
    outside = lambda c: (c < BAND[0]) | (c > BAND[1])  # noqa: E731
    return shown[outside(shown["none"]) | outside(shown["check"]) | outside(shown["shipped"])]


def _amount(x: float) -> str:
    return "not widened" if x == np.inf else f"{x:g}"


def widen_section(designs: list[tuple[str, dict, pd.DataFrame]] | None = None) -> list[str]:
    """Markdown for docs/calibration.md: what each amount does on the stored results."""
    table = design_table(stored() if designs is None else designs)
    if not len(table):
        return []
    summary = summary_table(table)
    lines = [
        "### The interval widened toward the move and the worlds' bias",
        "",
        f"Where the check does not fire, rho_corrected's interval is widened on the side of the move by the part of it "
        f"beyond {WIDEN_BEYOND_SE:g} of its jackknife standard errors (docs/statistics.md, 'Emotion vectors of "
        "different lengths'), and toward the ratio less its bias in sign-flip worlds of the data's own prompt "
        "residuals (the median of 80 worlds with the equalized signal, since 2026-12-06) by the part of the bias "
        f"beyond {WORLD_BEYOND_SE:g} of its Monte Carlo standard errors (docs/statistics.md, 'Structured prompt "
        "noise'); each side grows by the larger of the two (`widened` in `rsastats/inference/widening.py`; "
        "`corrected_note` says how far). Every coverage of rho_corrected in this "
        "document is with both. What other amounts do on the same stored data sets, the check as shipped "
        f"(`python -m analyses.calibration.widen`; {int(summary['designs'].iloc[0])} designs with at least 7 emotions "
        f"where rho_corrected is given in at least {MIN_GIVEN} data sets; one amount varied, the other as shipped):",
        "",
        "| check's move beyond (SE) | worlds' bias beyond (SE) | designs within [92.5%, 97.5%] | below | above | "
        "mean abs. error | mean width |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        mark = " (shipped)" if (r.beyond, r.world_beyond) == SHIPPED else ""
        lines.append(f"| {_amount(r.beyond)} | {_amount(r.world_beyond)}{mark} | {r.in_band} | {r.below} | {r.above} | "
                     f"{100 * r.mean_abs_error:.2f} | {r.mean_width:.3f} |")
    crossed = _crossed(table)
    lines += ["", "Designs outside the band with no widening, the check's alone or both (coverage %: none -> "
              "check's -> shipped): " + ", ".join(f"{design} {100 * r['none']:.1f} -> {100 * r['check']:.1f} -> "
                                       f"{100 * r['shipped']:.1f}" for (_, design), r in crossed.iterrows()) + ".", ""]
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
        shipped = "  (shipped)" if (r.beyond, r.world_beyond) == SHIPPED else ""
        print(f"check beyond {_amount(r.beyond)}, worlds beyond {_amount(r.world_beyond)}: {r.in_band} of {r.designs} "
              f"designs in band, {r.below} below, {r.above} above, mean error {100 * r.mean_abs_error:.2f} points, "
              f"mean width {r.mean_width:.3f}{shipped}")
    for (study, design), r in _crossed(table).iterrows():
        print(f"  {study} {design}: {100 * r['none']:.1f}% -> {100 * r['check']:.1f}% -> {100 * r['shipped']:.1f}%")
    return summary


if __name__ == "__main__":
    main()
