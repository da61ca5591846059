"""``python -m analyses.calibration``: run the calibration studies and write ``docs/calibration.md``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from .report import write_report

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.calibration", description="Calibration simulations: the Mantel test and the intervals over the design atlas.")
    parser.add_argument("--out", default="docs/calibration.md")
    parser.add_argument("--null", type=int, default=4000, help="null data sets per hub level")
    parser.add_argument("--sets", type=int, default=400, help="data sets per atlas design")
    parser.add_argument("--n-boot", type=int, default=2000, help="resamples per data set (the package default)")
    parser.add_argument("--n-mc", type=int, default=6000, help="Monte Carlo data sets per truth")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the Type-I study")
    parser.add_argument("--atlas-seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--reuse-atlas", action="store_true",
                        help="write the report from the atlas results already in reports/calibration/atlas")
    parser.add_argument("--rerun-rho", action="store_true",
                        help="with --reuse-atlas: recompute rho's intervals on the atlas's data sets (jackknife only, "
                             "about 5 min)")
    parser.add_argument("--rerun-corrected", action="store_true",
                        help="with --reuse-atlas: recompute rho_corrected's columns on the atlas's data sets (with the "
                             "bootstrap, about 50 min)")
    parser.add_argument("--reuse-independent", action="store_true",
                        help="write the report from the second generative model's results already in "
                             "reports/calibration/independent")
    parser.add_argument("--reuse-weak", action="store_true",
                        help="write the report from the weak designs' results already in reports/calibration/weak")
    parser.add_argument("--reuse-few", action="store_true",
                        help="write the report from the few-emotions designs' results already in reports/calibration/few")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 null data sets, reuse the atlas")
    args = parser.parse_args(argv)
    if args.quick:
        args.null, args.reuse_atlas, args.reuse_weak, args.reuse_independent, args.reuse_few = 200, True, True, True, True
    res = write_report(args.out, n_null=args.null, n_sets=args.sets, n_boot=args.n_boot, n_mc=args.n_mc, seed=args.seed,
                       atlas_seed=args.atlas_seed, jobs=args.jobs, run=not args.reuse_atlas, rerun_rho=args.rerun_rho,
                       rerun_corrected=args.rerun_corrected,
                       run_weak_designs=not args.reuse_weak, run_independent_designs=not args.reuse_independent,
                       run_few_designs=not args.reuse_few)
    print(f"wrote {args.out} in {res['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
