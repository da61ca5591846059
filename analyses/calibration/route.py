"""Which route should rho_corrected's interval take with few emotions?  (rsastats.inference.corrected_ci; issue 14)

Until 2026-12-06 the interval of rho_corrected was the Fisher-z jackknife-t interval unless the raw-scale interval
``|ratio| +- t sqrt(SE^2 + split variance)`` reached 1 (or a ratio left (-1, 1)), where it was BCa.  That switch reads
the data set's own jackknife standard error, which varies much between data sets when the emotions are few: the
jackknife-t route then holds mostly the data sets whose standard error came out small, and under-covers.  This study
runs atlas designs (:mod:`analyses.atlas`) with 8 to 21 emotions -- hub emotions with prompt noise both models share,
low-rank designs with shared noise and templates, and a plain one -- through ``compare_models`` with every default,
on the same data sets under each route rule:

``former``     the switch by the standard error at every number of emotions (shipped until 2026-12-06);
``shipped``    the package as it is (since 2026-12-06: BCa for every pair below ``MIN_JACKKNIFE_EMOTIONS`` emotions);
``jackknife``  the jackknife-t interval wherever it is defined (the ratio and its leave-one- and leave-two-out values
               inside (-1, 1)), the switch by the standard error removed.

and reports rho_corrected's coverage of the design's noise-free rho (Clopper-Pearson interval), the misses above and
below, the mean width, the share of BCa intervals and the coverage of each route's intervals.

Run:  python -m analyses.calibration.route [--sets 300] [--designs NAME ...] [--rules RULE ...]   (1 to 2 minutes per
design and rule on 2 free cores).  Writes reports/calibration/route.csv (rows of other designs and rules kept).  The
committed run: ``--rules former shipped``, then ``--rules jackknife --designs n12-P8-r0.9-mid-hub-shared0.9
n12-P8-r0.8-mid-lowrank-shared0.9``.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference import corrected_ci
from rsastats.io import atomic_path

from ..atlas.designs import design
from ..atlas.shipped import run_shipped
from .studies import binomial_ci

__all__ = ["DESIGNS", "RULES", "route_rule", "coverage_row", "run", "main"]

OUT = Path("reports/calibration/route.csv")
DESIGNS = [
    design(8, 8, 0.9, "mid", "hub", shared=0.9),
    design(12, 8, 0.9, "mid", "hub", shared=0.9),
    design(16, 8, 0.9, "mid", "hub", shared=0.9),
    design(21, 8, 0.9, "mid", "hub", shared=0.9),
    design(12, 8, 0.8, "mid", shared=0.9),
    design(12, 8, 0.8, "low", shared=0.9, templates=1.0),
    design(12, 4, 0.8, "low", shared=0.9, templates=1.0),
    design(12, 8, 0.8, "low"),
]
RULES = ("former", "shipped", "jackknife")


@contextlib.contextmanager
def route_rule(rule: str):
    """The route rule ``rule`` (module docstring) in this process and the worker processes it forks."""
    kept = corrected_ci.MIN_JACKKNIFE_EMOTIONS, corrected_ci.jackknife_se
    if rule in ("former", "jackknife"):
        corrected_ci.MIN_JACKKNIFE_EMOTIONS = 0
    if rule == "jackknife":  # the switch's standard error read as 0: the raw-scale interval never reaches 1
        corrected_ci.jackknife_se = lambda values, scale: 0.0
    try:
        yield
    finally:
        corrected_ci.MIN_JACKKNIFE_EMOTIONS, corrected_ci.jackknife_se = kept


def coverage_row(name: str, n_emotions: int, rule: str, frame: pd.DataFrame, free: float) -> dict:
    """rho_corrected's coverage of ``free`` in one design under one rule."""
    given = frame[frame["rho_corrected"].notna()]
    hit = ((given["corrected_ci_low"] <= free) & (free <= given["corrected_ci_high"])).to_numpy()
    bca = given["corrected_note"].fillna("").astype(str).str.startswith(corrected_ci.BCA_NOTE_START).to_numpy()
    low, high = binomial_ci(int(hit.sum()), len(hit)) if len(hit) else (np.nan, np.nan)
    return {"design": name, "n_emotions": n_emotions, "rule": rule, "sets": len(frame), "given": len(given),
            "free": free, "coverage": hit.mean() if len(hit) else np.nan, "cp_low": low, "cp_high": high,
            "misses_above": float((given["corrected_ci_low"] > free).mean()),
            "misses_below": float((given["corrected_ci_high"] < free).mean()),
            "width": float((given["corrected_ci_high"] - given["corrected_ci_low"]).mean()),
            "bca_share": float(bca.mean()), "coverage_bca": float(hit[bca].mean()) if bca.any() else np.nan,
            "coverage_jackknife": float(hit[~bca].mean()) if (~bca).any() else np.nan}


def run(n_sets: int = 300, names: list[str] | None = None, jobs: int = 2, seed: int = 36,
        rules: tuple[str, ...] = RULES) -> pd.DataFrame:
    """Every design (or those named) under every rule (or those given); with 20 or more emotions ``shipped`` is
    ``former`` and is not run twice."""
    rows = []
    for d in DESIGNS:
        if names and d.name not in names:
            continue
        for rule in rules:
            if rule == "shipped" and d.n_emotions >= corrected_ci.MIN_JACKKNIFE_EMOTIONS:
                continue
            with route_rule(rule):
                frame, truth = run_shipped(d, n_sets, n_mc=3000, seed=seed, jobs=jobs)
            rows.append(coverage_row(d.name, d.n_emotions, rule, frame, truth["free"]))
            print(f"{d.name} {rule}: {100 * rows[-1]['coverage']:.1f}%", flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=300)
    parser.add_argument("--designs", nargs="*", default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rules", nargs="*", choices=RULES, default=list(RULES))
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    table = run(args.sets, args.designs, args.jobs, rules=tuple(args.rules))
    if Path(args.out).exists():  # rows of other designs or rules stay
        kept = pd.read_csv(args.out)
        done = set(zip(table["design"], table["rule"]))
        table = pd.concat([kept[[(d, r) not in done for d, r in zip(kept["design"], kept["rule"])]], table])
    with atomic_path(args.out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
