"""Measured and not adopted: the check of uneven shrinkage with a second-order-corrected standard error.

The check (:func:`rsastats.inference.corrected.norm_shift`) compares the move of rho_corrected with its
leave-one-emotion-out jackknife standard error, which counts the second-order variance twice (as it does for
rho; :mod:`rsastats.inference.degeneracy`).  This script corrects that SE as rho's jackknife-t does
(:func:`rsastats.intervals.jackknife.corrected_variance`), with the doubly counted excess estimated from
leave-two-out values of the move (``D_ij = d - d_(i) - d_(j) + d_(ij)``, U-centred), and reports per design how
many data sets would keep rho_corrected and how often their intervals cover, against the shipped check.

Run:  python -m analyses.calibration.uneven_se [--designs NAME ...]   (the second model's stored data sets;
about 10 min for the defaults on 2 cores).  Writes reports/calibration/uneven_se.csv.
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.corrected import DEFAULT_N_SPLITS, MAX_NORM_SHIFT, MIN_SPLIT_HALF, NORM_SHIFT_Z, CrossHalf
from rsastats.inference.degeneracy import leave_two_out_excess, leave_two_out_weights
from rsastats.inference.settings import streams
from rsastats.intervals.jackknife import corrected_variance
from rsastats.io import atomic_path

from .uneven import FOLDERS, _source

__all__ = ["DEFAULT_DESIGNS", "corrected_se", "main"]

DEFAULT_DESIGNS = ("n40-P20-shared0.3-sizes", "n21-P20-sizes", "n21-P8-sizes", "n21-P3-equal", "n21-P3-hetero")
PAIR = np.array([[0, 1]])


def corrected_se(halves: CrossHalf) -> tuple[float, float, float]:
    """(move, jackknife SE, second-order-corrected SE) of the check for one pair of inputs."""
    check = halves.renormed("noise-free")
    n = halves.n_emotions
    two = leave_two_out_weights(n)
    d = check.corrected(None, PAIR)[0][0, 0] - halves.corrected(None, PAIR)[0][0, 0]
    d1 = check.leave_one_out(PAIR)[:, 0] - halves.leave_one_out(PAIR)[:, 0]
    d2 = check.batched(two, PAIR)[:, 0] - halves.batched(two, PAIR)[:, 0]
    v = (n - 1) / n * ((d1 - d1.mean()) ** 2).sum()
    if not (np.isfinite(d1).all() and np.isfinite(d2).all()):
        return float(d), float(np.sqrt(v)), float(np.sqrt(v))
    excess = leave_two_out_excess(d, d1, d2)
    return float(d), float(np.sqrt(v)), float(np.sqrt(corrected_variance(v, excess, n)))


def _chunk(args: tuple) -> list[dict]:
    meta, indices = args
    draw, _, _, seqs = _source(meta, "independent")
    rows = []
    for i in indices:
        halves = CrossHalf(draw(seqs[i]), "spearman", "cosine", DEFAULT_N_SPLITS, streams(seqs[i]).splits)
        rows.append(dict(zip(("i", "move", "se", "se_corrected"), (i, *corrected_se(halves)))))
    return rows


def design_row(name: str, folder: Path, jobs: int = 2) -> dict:
    meta = json.loads((folder / f"{name}.json").read_text())
    f = pd.read_csv(folder / f"{name}.csv")
    with ProcessPoolExecutor(jobs) as pool:
        parts = pool.map(_chunk, [(meta, list(range(k, meta["n_sets"], jobs))) for k in range(jobs)])
    g = pd.DataFrame([r for part in parts for r in part]).sort_values("i").reset_index(drop=True)
    truth = meta["truth"]["free"]
    low = f["corrected_ci_low_unchecked"].fillna(f["corrected_ci_low"])
    high = f["corrected_ci_high_unchecked"].fillna(f["corrected_ci_high"])
    given = f["rho_corrected"].notna() | f["rho_corrected_unchecked"].notna()
    covers = (low <= truth) & (truth <= high)
    reached = np.minimum(f["split_half_a"], f["split_half_b"]) >= MIN_SPLIT_HALF
    row = {"design": name, "given_before": int(given.sum())}
    for key, se in (("shipped", g["se"]), ("corrected_se", g["se_corrected"])):
        fire = reached & (g["move"].abs() > MAX_NORM_SHIFT) & (g["move"].abs() > NORM_SHIFT_Z * se)
        kept = given & ~fire
        row[f"{key}_given"], row[f"{key}_coverage"] = int(kept.sum()), float(covers[kept].mean())
    return row


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--designs", nargs="*", default=list(DEFAULT_DESIGNS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="reports/calibration/uneven_se.csv")
    args = parser.parse_args(argv)
    table = pd.DataFrame([design_row(name, Path(FOLDERS["independent"]), args.jobs) for name in args.designs])
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    print(table.to_string(index=False))
    return table


if __name__ == "__main__":
    main()
