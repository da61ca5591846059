"""The fifth model's command line: ``python -m analyses.calibration.fifth_model truth|run|retry|accuracy|report``."""
from __future__ import annotations

import argparse

from .model import N_TRUTH
from .report import cmd_report
from .run import cmd_accuracy, cmd_retry, cmd_run, cmd_truth


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m analyses.calibration.fifth_model")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("truth"); p.add_argument("--n", type=int, default=N_TRUTH)
    p = sub.add_parser("run"); p.add_argument("--n", type=int, default=200)
    p.add_argument("--start", type=int, default=0)
    p.add_argument("--designs", nargs="*"); p.add_argument("--max-seconds", type=float, default=0)
    p = sub.add_parser("retry")
    p = sub.add_parser("accuracy"); p.add_argument("--n", type=int, default=5)
    p = sub.add_parser("report"); p.add_argument("--extra", default="")
    args = ap.parse_args(argv)
    commands = {"truth": cmd_truth, "run": cmd_run, "retry": cmd_retry, "accuracy": cmd_accuracy,
                "report": cmd_report}
    commands[args.cmd](args)
