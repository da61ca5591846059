"""Run every analysis on a model set, then write ``reports/README.md``:
``python -m analyses.run_all --models analyses/configs/offline.yaml``.

Extraction is shared (``build/analyses/<model set>``) and resumable; an analysis that fails is
reported and the others still run (the exit status is then 1).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Sequence

from rsastats.exceptions import RsaStatsError

from ._common import ANALYSES, DEFAULT_CONFIG, run_analysis
from ._config import load_model_set
from .summary import build_summary

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.run_all", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=str(DEFAULT_CONFIG))
    parser.add_argument("--reports", default="reports", help="folder of the reports (each in <reports>/<name>)")
    parser.add_argument("--cache", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="comma-separated analyses (default: all)")
    args = parser.parse_args(argv)
    log = lambda line: print(time.strftime("%H:%M:%S"), line, file=sys.stderr, flush=True)  # noqa: E731
    ms = load_model_set(args.models)
    names = args.only.split(",") if args.only else list(ANALYSES)
    failed = []
    for name in names:
        log(f"== {name}")
        try:
            run_analysis(name, ms, out=Path(args.reports) / name, cache=args.cache, seed=args.seed, log=log)
        except RsaStatsError as exc:
            failed.append(name)
            log(f"{name}: error: {exc}")
    log(f"summary: {build_summary(args.reports)}")
    if failed:
        log(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
