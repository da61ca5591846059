"""``docs/calibration.md``: run both calibration studies and write them up in Markdown, every
number computed by :mod:`analyses.calibration.studies` (rerun with the same seed to reproduce it)."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import numpy as np
import pandas as pd

from rsastats.io import atomic_path

from .studies import (HIDDEN, INTERVALS, N_EMOTIONS, N_PROMPTS, NOISE_LEVELS, bias_table, choose_default, coverage_study,
                      library_setting, summarize_coverage, type1_error)

__all__ = ["write_report"]


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _type1_section(t1: pd.DataFrame, n_null: int) -> list[str]:
    lines = [
        "## Type-I error of the Mantel test",
        "",
        f"{n_null} simulated null data sets per row: two models with {N_EMOTIONS} emotions whose cosine RDMs "
        "both have a common direction (anisotropy) and, for hub SD > 0, hub emotions (vectors near the common "
        "direction, so their whole RDM row is small) -- drawn independently in the two models, so the emotion "
        "labels are exchangeable. The Mantel p uses 999 label permutations (rows and columns together); the naive p "
        "is `scipy.stats.spearmanr`'s over the 210 cells, as if they were independent. Rejection at alpha = 5% "
        "(95% Clopper-Pearson interval) and at 1%.",
        "",
        "| null | test | rejection at 5% | 95% CI | rejection at 1% |",
        "|---|---|---|---|---|",
    ]
    for r in t1.itertuples():
        lines.append(f"| {r.null} (hub SD {r.hub_sd}) | {r.test} | {_pct(r.rejection_5pct)} | "
                     f"[{_pct(r.ci_low)}, {_pct(r.ci_high)}] | {_pct(r.rejection_1pct)} |")
    mantel_rates = t1[t1["test"].str.startswith("Mantel")]["rejection_5pct"]
    naive_rates = t1[t1["test"].str.startswith("naive")]["rejection_5pct"]
    return lines + [
        "",
        f"The Mantel test rejects {_pct(mantel_rates.min())}-{_pct(mantel_rates.max())} of true nulls at the 5% level; "
        f"the naive p rejects {_pct(naive_rates.min())}-{_pct(naive_rates.max())}: cells of an RDM that share an "
        "emotion are dependent, and the more the rows differ (hubs) the worse the naive p gets. rsastats never "
        "reports it.",
        "",
    ]


def _coverage_intro(n_coverage: int, n_boot: int, rho_pop: float) -> list[str]:
    return [
        "## Coverage of bootstrap intervals",
        "",
        f"{n_coverage} data sets per noise level; each has {N_EMOTIONS} emotions drawn from a fixed population of two "
        f"related models (three shared latent factors read out by model-specific linear maps, an idiosyncratic part "
        f"and a common direction; hidden size {HIDDEN}) and {N_PROMPTS} prompts per emotion with Gaussian prompt noise "
        f"of SD {', '.join(f'{v} ({k})' for k, v in NOISE_LEVELS.items())} times the typical per-dimension signal. "
        f"{n_boot} resamples per interval; 95% intervals; cosine RDMs; Spearman rho. Population noise-free rho "
        f"= {rho_pop:.3f} (over 4 x 600 emotions).",
        "",
        "Targets: the **prompt** bootstrap treats the 21 emotions as fixed, so its target is the *conditional* "
        "noise-free rho of the emotions drawn; the **emotion** and **two-factor** (both) bootstraps treat the emotions "
        "as a sample, so their target is the *population* noise-free rho. Coverage of each scheme's own target "
        "(hit rate with its 95% Clopper-Pearson interval; mean width in parentheses):",
        "",
    ]


def _coverage_tables(summary: pd.DataFrame, records: pd.DataFrame) -> list[str]:
    rel = summary[summary["relevant"]]
    header = "| noise (mean reliability) | scheme | " + " | ".join(INTERVALS) + " |"
    lines = [header, "|---|---|" + "---|" * len(INTERVALS)]
    reliab = records.groupby("noise", sort=False).apply(
        lambda g: float(np.mean(np.sqrt(g["reliability_a"] * g["reliability_b"]))), include_groups=False)
    for (noise, scheme), g in rel.groupby(["noise", "scheme"], sort=False):
        cells = []
        for method in INTERVALS:
            r = g[g["method"] == method].iloc[0]
            cells.append(f"{_pct(r.coverage)} [{_pct(r.ci_low)}, {_pct(r.ci_high)}] ({r.mean_width:.3f})")
        lines.append(f"| {noise} ({reliab[noise]:.2f}) | {scheme} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The same intervals against the *other* target (for the record: a prompt bootstrap says nothing about "
        "other emotions, an emotion bootstrap nothing about prompt noise):",
        "",
        header, "|---|---|" + "---|" * len(INTERVALS),
    ]
    for (noise, scheme), g in summary[~summary["relevant"]].groupby(["noise", "scheme"], sort=False):
        cells = [f"{_pct(g[g['method'] == m].iloc[0].coverage)}" for m in INTERVALS]
        lines.append(f"| {noise} ({reliab[noise]:.2f}) | {scheme} (vs {g['target'].iloc[0]}) | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Where the misses fall (share of data sets whose interval lies entirely below / above the target, "
        "each scheme's own target):",
        "",
        "| noise | scheme | " + " | ".join(INTERVALS) + " |", "|---|---|" + "---|" * len(INTERVALS),
    ]
    for (noise, scheme), g in rel.groupby(["noise", "scheme"], sort=False):
        cells = [f"{_pct(g[g['method'] == m].iloc[0].miss_below)} / {_pct(g[g['method'] == m].iloc[0].miss_above)}"
                 for m in INTERVALS]
        lines.append(f"| {noise} | {scheme} | " + " | ".join(cells) + " |")
    return lines + [""]


def _bias_section(bias: pd.DataFrame) -> list[str]:
    lines = [
        "## Bias of point estimates (prompt noise attenuates rho)",
        "",
        "Mean error against the noise-free rho over the same data sets: the plain estimate, the bootstrap "
        "bias-corrected estimate from the prompt bootstrap, and the disattenuated estimate (split-half "
        "reliabilities with Spearman-Brown, 20 splits).",
        "",
        "| noise | mean sqrt(r_A r_B) | estimate | bias vs conditional | RMSE vs conditional | bias vs population |",
        "|---|---|---|---|---|---|",
    ]
    for r in bias.itertuples():
        lines.append(f"| {r.noise} | {r.mean_reliability:.3f} | {r.estimate} | {r.bias_vs_conditional:+.4f} | "
                     f"{r.rmse_vs_conditional:.4f} | {r.bias_vs_population:+.4f} |")
    return lines + [""]


def _default_section(best: str, errors: pd.Series) -> list[str]:
    lines = [
        "## Default interval",
        "",
        "Rule (fixed after a 20-data-set smoke run, before this run): the default is the method -- percentile, "
        "basic with Fisher-z bounds, basic clipped to [-1, 1], or BCa -- whose coverage of each scheme's own target "
        "is nearest nominal on average over the 3 noise levels x 3 schemes (mean absolute coverage error); ties go "
        "to the simpler method.",
        "",
        "| method | mean absolute coverage error |",
        "|---|---|",
    ]
    for method, err in errors.items():
        lines.append(f"| {method} | {100 * err:.1f} points |")
    return lines + [
        "",
        f"Chosen: **{best}**. rsastats implements it as `DEFAULT_CI = \"{library_setting(best)[0]}\"`"
        + (f" with `BASIC_BOUNDED = \"{library_setting(best)[1]}\"`" if library_setting(best)[1] else "")
        + " in `rsastats/inference/bootstrap.py` (the `--ci` default of `rsastats compare` and `rsastats matrix`); "
        "a unit test checks that the library and this report agree.",
        "",
    ]


def write_report(path: str, *, n_null: int = 4000, n_coverage: int = 400, n_boot: int = 1000, seed: int = 2024,
                 jobs: int = 1) -> dict[str, Any]:
    """Run both studies and write the Markdown report; return the numbers."""
    started = time.time()
    t1 = type1_error(n_null, seed=seed, jobs=jobs)
    t_null = time.time() - started
    records, rho_pop = coverage_study(n_coverage, n_boot=n_boot, seed=seed, jobs=jobs)
    summary = summarize_coverage(records)
    best, errors = choose_default(summary)
    bias = bias_table(records)
    elapsed = time.time() - started
    lines = [
        "# Calibration of rsastats' tests and intervals",
        "",
        f"Generated by `python -m analyses.calibration --out {path} --null {n_null} --coverage {n_coverage} "
        f"--n-boot {n_boot} --seed {seed} --jobs {jobs}` (analyses/calibration/) in {elapsed / 60:.1f} min on "
        f"{os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}). "
        "Every number below is computed by that script; rerun it to reproduce them exactly (same seed).",
        "",
    ]
    lines += _type1_section(t1, n_null)
    lines += _coverage_intro(n_coverage, n_boot, rho_pop)
    lines += _coverage_tables(summary, records)
    lines += _bias_section(bias)
    lines += _default_section(best, errors)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"type1": t1, "coverage": summary, "records": records, "bias": bias, "chosen": best, "errors": errors,
            "population_rho": rho_pop, "seconds": elapsed, "seconds_type1": t_null}
