"""The shipped defaults with many emotions: 64 and 100, beyond the atlas's 40 (issue 14).

A user may compare every emotion word of a large list (the 102 words of :mod:`analyses.calibration.real_prompts`).
Two things change there: rho_corrected's jackknife-t interval loses its second-order correction above
:data:`~rsastats.inference.corrected_ci.MAX_LEAVE_TWO_OUT` pairs of emotions (65 emotions and up: the plain jackknife
variance, which counts the second-order part twice, so wider), and the intervals narrow, so a bias of the estimator
that is small next to an interval at 21 emotions weighs more.  Designs of the atlas's model
(:mod:`analyses.atlas.model`, :func:`analyses.atlas.designs.design`) with 64 and 100 emotions, every data set through
:func:`rsastats.inference.compare_models` with its defaults (:func:`analyses.atlas.shipped.run_shipped`), truths as
the atlas's; the table is :func:`analyses.calibration.atlas.coverage_table`'s.

Run:  python -m analyses.calibration.many_emotions [--sets 200] [--designs NAME ...] [--jobs 2]
(3-15 min per design on 2 cores; the BCa route near the bound is the slow one).  Writes
reports/calibration/many_emotions/<design>.csv and .json, and prints the table (``--table`` only prints it).
rho_corrected's columns of the designs with 8 or 20 prompts were rerun on their data sets on 2026-12-07, when each
half took its own noise estimate (:func:`analyses.calibration.rho.rerun_atlas_corrected` with ``designs=DESIGNS``;
12-25 min per design on 2 cores).
"""

from __future__ import annotations

import argparse

import pandas as pd

from rsastats.inference.corrected_ci import MAX_LEAVE_TWO_OUT

from ..atlas.designs import design
from .atlas import TOLERANCE, _within, coverage_table, run_atlas, table_lines
from .studies import load_runs

__all__ = ["DESIGNS", "FOLDER", "run", "table", "section", "main"]

FOLDER = "reports/calibration/many_emotions"
DESIGNS = (
    design(100, 8, 0.8, "high", "clustered", "strong"),  # n21- and n40- variants in the atlas: 96.6%, 92.1%
    design(100, 20, 0.8, "mid", "hub", "strong"),  # hub emotions: the estimator's known upward bias
    design(100, 4, 0.95, "near1"),  # near the bound: the BCa route
    design(64, 8, 0.8, "high", "clustered", "strong"),  # the most emotions with the second-order correction
)


def run(names: list[str] | None, n_sets: int, *, n_boot: int = 2000, n_mc: int = 4000, seed: int = 2026,
        jobs: int = 2) -> None:
    """Run the designs (those named, or all) and write each design's CSV and JSON (as the atlas's)."""
    run_atlas(FOLDER, n_sets=n_sets, n_boot=n_boot, n_mc=n_mc, seed=seed, jobs=jobs, only=names, designs=DESIGNS)


def table() -> pd.DataFrame:
    """The coverage table of the stored designs."""
    return coverage_table(load_runs(FOLDER, DESIGNS))


def section(got: pd.DataFrame | None = None) -> list[str]:
    """The Markdown of docs/calibration.md's section on the stored designs (none stored: no lines)."""
    got = table() if got is None else got
    if not len(got):
        return []
    with_corr = got[got["n_given"] >= 20]
    lines = ["## Many emotions", "",
             f"{len(got)} designs of the atlas's model with {' and '.join(map(str, sorted(set(got['n']))))} emotions x "
             f"{int(got['n_sets'].min())} data sets (`python -m analyses.calibration.many_emotions`, whose docstring "
             "says why; per data set in `reports/calibration/many_emotions/`), every data set through "
             "`compare_models` with its defaults; truths and columns as in the atlas's table. Above "
             f"{MAX_LEAVE_TWO_OUT} pairs of emotions (65 emotions and up) rho_corrected's jackknife-t interval has no "
             "second-order correction.", "",
             *table_lines(got)]
    cor = with_corr["corrected_coverage"]
    lines += ["", f"- rho: {int(got['rho_coverage'].map(_within).sum())} of {len(got)} designs within "
              f"[{100 * TOLERANCE[0]:g}%, {100 * TOLERANCE[1]:g}%]; rho_corrected, where given in at least 20 data "
              f"sets: {int(cor.map(_within).sum())} of {len(with_corr)} "
              f"({int((cor > TOLERANCE[1]).sum())} above, {int((cor < TOLERANCE[0]).sum())} below).",
              f"- Every estimate inside its own interval: {bool(got['inside'].all())}; every rho, rho_corrected, "
              f"interval end and noise ceiling in [-1, 1]: {bool(got['bounded'].all())}.", ""]
    return lines


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--designs", nargs="*")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--table", action="store_true", help="only print the table of the stored designs")
    args = parser.parse_args(argv)
    if not args.table:
        run(args.designs, args.sets, jobs=args.jobs)
    out = table()
    cols = ["design", "rho_true", "rho_coverage", "rho_cp_low", "rho_cp_high", "rho_width", "given", "rho_free",
            "corrected_coverage", "corrected_cp_low", "corrected_cp_high", "corrected_width", "corrected_miss_high",
            "corrected_miss_low", "corrected_at_one", "inside", "bounded"]
    print(out[cols].round(3).to_string(index=False))
    return out


if __name__ == "__main__":
    main()
