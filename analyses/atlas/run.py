"""Command line: calibrate and run designs, write one pickle per design.

    python -m analyses.atlas.run --set pilot --n-sets 120 --out /work/scratch/calib/pilot
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from .designs import ATLAS, PILOT  # noqa: E402
from .model import calibrate_sigma  # noqa: E402
from .study import Config, run_design  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="pilot")
    ap.add_argument("--only", default=None, help="comma-separated indices")
    ap.add_argument("--n-sets", type=int, default=120)
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--n-outer", type=int, default=1000)
    ap.add_argument("--n-dbl", type=int, default=200)
    ap.add_argument("--n-inner", type=int, default=50)
    ap.add_argument("--n-stud", type=int, default=0)
    ap.add_argument("--n-splits", type=int, default=8)
    ap.add_argument("--no-dbl-corrected", action="store_true")
    ap.add_argument("--n-mc", type=int, default=20000)
    args = ap.parse_args(argv)
    designs = {"pilot": PILOT, "atlas": ATLAS}[args.set]
    if args.only:
        designs = [designs[int(i)] for i in args.only.split(",")]
    config = Config(args.n_outer, args.n_dbl, args.n_inner, args.n_stud, args.n_splits, not args.no_dbl_corrected)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for d in designs:
        path = out / f"{d.name}.pkl"
        if path.exists():
            continue
        t = time.time()
        d = calibrate_sigma(d, n_sets=40, steps=11)
        res = run_design(d, config, args.n_sets, jobs=args.jobs, n_mc=args.n_mc)
        res["calibration_seconds"] = res["seconds"] and (time.time() - t - res["seconds"])
        with open(path, "wb") as fh:
            pickle.dump(res, fh)
        print(f"{d.name}: sigma={d.sigma:.3g} truth={res['truth']} {time.time() - t:.0f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
