"""The fourth model's command line: ``python -m analyses.calibration.fourth_model CMD [designs ...] [--n N] [--out DIR]``
(the commands are listed in the package docstring)."""
import argparse
import os

from .. import fourth_model as _pkg
from .model import ABLATIONS, DESIGNS
from .report import cmd_ablate_report, cmd_report
from .run import cmd_calib, cmd_check, cmd_run, cmd_truth


def main(argv=None):
    ap = argparse.ArgumentParser(prog="fourth_model.py")  # the name argparse gave it as a script, kept
    ap.add_argument("cmd")
    ap.add_argument("designs", nargs="*")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", default=_pkg.HERE)
    a = ap.parse_args(argv)
    _pkg.HERE = a.out  # the output folder every command reads (from the package)
    os.makedirs(_pkg.HERE, exist_ok=True)
    names = a.designs or [k for k in DESIGNS if k not in ABLATIONS]
    if a.cmd == "calib":
        cmd_calib(names)
    elif a.cmd == "check":
        cmd_check(names[0])
    elif a.cmd == "truth":
        cmd_truth(names, a.n if a.n != 200 else 2000)
    elif a.cmd == "run":
        for nm in names:
            cmd_run(nm, a.n)
    elif a.cmd == "run-centred":
        for nm in names:
            cmd_run(nm, a.n, normalization="emotion-mean")
    elif a.cmd == "report":
        cmd_report()
    elif a.cmd == "ablate-report":
        cmd_ablate_report()
