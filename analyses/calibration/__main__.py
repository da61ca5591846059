"""``python -m analyses.calibration``: run both calibration studies and write ``docs/calibration.md``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from .report import write_report

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.calibration", description="Calibration simulations of the Mantel test and the bootstrap intervals.")
    parser.add_argument("--out", default="docs/calibration.md")
    parser.add_argument("--null", type=int, default=4000, help="null data sets per hub level")
    parser.add_argument("--coverage", type=int, default=400, help="data sets per noise level")
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--quick", action="store_true", help="a smoke run: 200 null and 20 coverage data sets")
    args = parser.parse_args(argv)
    if args.quick:
        args.null, args.coverage, args.n_boot = 200, 20, 200
    res = write_report(args.out, n_null=args.null, n_coverage=args.coverage, n_boot=args.n_boot, seed=args.seed,
                       jobs=args.jobs)
    print(f"wrote {args.out} in {res['seconds'] / 60:.1f} min; default interval by the rule: {res['chosen']}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
