"""Benchmark of the decomposition's exact REML engine against statsmodels.MixedLM on the same data.

Not a test: run it by hand on a quiet machine (check ``uptime``) and read the JSON object on the last
line.  ``python benchmarks/bench_decomposition.py [--quick]``.

Both engines fit the identical model (the default components that these files can estimate) to the
same ranked RDM cells in this one process: the exact engine (``fit_variance_components`` on per-cell
sufficient statistics) and ``statsmodels.MixedLM`` through ``fit_statsmodels``.  Reported per design:
the best of several fit times of each, their ratio, the largest difference between their variance
estimates, their log-likelihoods (a positive gap means MixedLM stopped below the optimum), and the time
of a whole ``decompose_rdms`` call with 200 bootstrap replicates (exact engine).  Single-threaded BLAS for both, as ``decompose_rdms`` uses.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rsastats.simulate import simulate_condition_rdms  # noqa: E402
from rsastats.variance import decompose_rdms  # noqa: E402
from rsastats.variance.design import DEFAULT_COMPONENTS, build_design, file_condition, parse_components  # noqa: E402
from rsastats.variance.fit import CellStatistics, fit_statsmodels, fit_variance_components  # noqa: E402
from rsastats.variance.responses import standardise  # noqa: E402

PLANTED = {"shared": 1.0, "model": 0.3, "method": 0.25, "precision": 0.15, "temperature": 0.1,
           "model:experiment": 0.15}


def conditions(n_models: int) -> list[dict]:
    out = []
    for m in range(n_models):
        model = f"model{m:02d}"
        out += [dict(model=model, method="comprehension", precision="fp16", experiment="A") for _ in range(2)]
        for precision in ("int8-token", "int8-dynamic"):
            out.append(dict(model=model, method="comprehension", precision=precision, experiment="A"))
        out.append(dict(model=model, method="comprehension", precision="fp16", experiment="B"))
        for temperature in (0.7, 1.0):
            for seed in (1, 2):
                out.append(dict(model=model, method="generation", precision="fp16", experiment="A",
                                temperature=temperature, top_p=0.9, max_new_tokens=100, template="chat", seed=seed))
    return out


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def one_design(n_models: int, n_emotions: int, repeats: int, n_boot: int) -> dict:
    conds = conditions(n_models)
    rdms = simulate_condition_rdms(conds, PLANTED, n_emotions, residual=0.3, seed=0)
    levels = [file_condition(c) for c in conds]
    design = build_design(parse_components(DEFAULT_COMPONENTS), levels)
    kept = [i for i, ok in enumerate(design.estimable) if ok]
    g = np.array([np.ones((len(conds), len(conds)))] + [design.matrices[i] for i in kept])
    a, b = np.triu_indices(n_emotions, 1)
    y = standardise(rdms[:, a, b], "rank")
    exact_time, exact = best_of(lambda: fit_variance_components(CellStatistics.from_cells(y), g), repeats)
    sm_time, sm = best_of(lambda: fit_statsmodels(y, [design.levels[i] for i in kept]), 1)
    boot_time, _ = best_of(lambda: decompose_rdms(rdms, [f"e{i}" for i in range(n_emotions)], conds, n_boot=n_boot,
                                                  seed=0), 1)
    return {
        "n_files": len(conds), "n_cells": int(a.size), "n_components": len(kept) + 1,
        "exact_seconds": exact_time, "statsmodels_seconds": sm_time, "speedup": sm_time / exact_time,
        "max_abs_variance_difference": float(np.max(np.abs(np.append(exact.variances, exact.residual)
                                                           - np.append(sm.variances, sm.residual)))),
        "loglik_exact": exact.log_likelihood, "loglik_statsmodels": sm.log_likelihood,
        # > 0: statsmodels stopped below the optimum of the same likelihood (lme4 agrees with the exact engine
        # on tests/reference fixture3, a design like the first one here).
        "loglik_gap_statsmodels": exact.log_likelihood - sm.log_likelihood,
        "statsmodels_converged_flag": sm.converged, "statsmodels_warnings": list(sm.warnings),
        "decompose_seconds_with_bootstrap": boot_time, "n_boot": n_boot,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small designs only")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    designs = [(3, 10), (6, 21)] if args.quick else [(3, 10), (6, 21), (12, 21)]
    results = []
    with threadpool_limits(limits=1, user_api="blas"):
        for n_models, n_emotions in designs:
            row = one_design(n_models, n_emotions, repeats=3, n_boot=200)
            results.append(row)
            print(f"{row['n_files']} files x {row['n_cells']} cells: exact {row['exact_seconds']:.3f} s, "
                  f"statsmodels {row['statsmodels_seconds']:.2f} s ({row['speedup']:.0f}x); max |diff| "
                  f"{row['max_abs_variance_difference']:.1e}, logLik gap {row['loglik_gap_statsmodels']:.3g}; decompose with {row['n_boot']} replicates "
                  f"{row['decompose_seconds_with_bootstrap']:.1f} s", file=sys.stderr)
    print(json.dumps({"benchmark": "decomposition", "load_average": [round(x, 2) for x in os.getloadavg()],
                      "machine": platform.machine(), "python": platform.python_version(), "results": results}))


if __name__ == "__main__":
    main()
