"""``docs/calibration.md``: the Type-I error of the Mantel test and the coverage of the shipped intervals over
the design atlas, every number computed by :mod:`analyses.calibration` (rerun with the same seeds to
reproduce it)."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import numpy as np
import pandas as pd

from rsastats.inference.difference import DIFFERENCE_CI
from rsastats.intervals import DEFAULT_CI
from rsastats.io import atomic_path

from ..atlas.designs import WEAK
from .atlas import TOLERANCE, atlas_section, coverage_table, load_atlas, run_atlas
from .rho import WEAK_FOLDER, rerun_atlas_corrected, rerun_atlas_rho, rho_table, run_weak, weak_section
from .methods import methods_section
from .studies import HALF_SPLIT, N_EMOTIONS, load_runs, type1_error

__all__ = ["write_report", "ATLAS_FOLDER"]

ATLAS_FOLDER = "reports/calibration/atlas"


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


# Why rho_corrected's columns were last recomputed on the atlas's data sets (recorded in each design's JSON).
CORRECTED_RERUN_REASON = ("the sign-flip worlds with the equalized signal, median of 80 worlds, none within them "
                          "(rsastats/inference/worlds.py)")


def _corrected_rerun_text(runs: list) -> str:
    """Provenance of the atlas's rho_corrected columns, read from the designs' JSON files."""
    reasons: dict[str, int] = {}
    for meta, _ in runs:
        if "corrected_rerun" in meta:
            reasons[meta["corrected_rerun"]["reason"]] = reasons.get(meta["corrected_rerun"]["reason"], 0) + 1
    rerun = sum(reasons.values())
    if not rerun:
        return ""
    return (f"; rho_corrected's columns recomputed on the data sets of {rerun} designs with prompts (`--rerun-corrected`, "
            "last for " + "; ".join(f"{n} design{'s' * (n > 1)}: {reason}" for reason, n in sorted(reasons.items())) + ")")


def _half_split_text(studies: dict[str, list]) -> str:
    """Which stored results were run with the common half split (their JSON's ``half_split``) and which before it."""
    with_prompts = {study: [meta for meta, _ in runs if not meta["design"].get("vectors_only")] for study, runs in studies.items()}
    before = {study: sum(meta.get("half_split") != HALF_SPLIT for meta in metas) for study, metas in with_prompts.items()}
    if not any(before.values()):
        return ""
    counts = ", ".join(f"{n} of {len(with_prompts[study])} designs of the {study}" for study, n in before.items() if n)
    return (f" rho_corrected's columns of {counts} were run before its half splits became common to all emotions "
            "(2026-12-04; docs/statistics.md, 'Prompts built from shared templates'), with a split drawn for each emotion "
            "on its own. Their prompts are exchangeable within an emotion and independent across emotions, for which "
            "both schemes give the half RDMs the same joint distribution: their coverage stands, but a rerun gives "
            "other digits (reports/calibration/half_split.csv compares the two schemes on the same data sets).")


def _default_section() -> list[str]:
    return [
        "## The defaults",
        "",
        f"`DEFAULT_CI = \"{DEFAULT_CI}\"` (`rsastats/intervals/methods.py`): the interval of rho as measured is "
        "Tukey's jackknife-t interval on the Fisher-z scale (n - 1 degrees of freedom) over emotions (the sampling "
        "unit; each emotion's prompts travel with it), its leave-one-emotion-out jackknife variance corrected for the "
        "second-order part the jackknife counts twice, in proportion to the estimated degeneracy and (since "
        "2026-12-07) to the kernel's effective rank as a share of the emotions "
        "(`rsastats/inference/degeneracy.py`; section 'rho's interval in low-rank designs'). rho_corrected "
        "(noise-free) is the cross-half disattenuation of half "
        "RDMs whose emotions carry the same prompt-noise inflation of their squared norms (noise-equalized, "
        "`rsastats/inference/equalize.py`), with a Fisher-z jackknife-t interval over emotions whose variance is "
        "second-order corrected and adds the variance of the random half splits, and near the bound 1 (and with fewer "
        "than 20 emotions, since 2026-12-06) the BCa interval of its emotion-bootstrap replicates "
        "(`rsastats/inference/corrected_ci.py`; since 2026-12-04, BCa everywhere before); an interval narrower than "
        "0.02 within 0.02 of the bound is joined with rho's interval (since 2026-12-06, `joined_with_rho`) and the "
        "bound (since 2026-12-06, later the same day), always rho's default interval whatever interval of rho is "
        "shown (`rsastats/inference/join.py`). Why: "
        "docs/statistics.md, 'Two estimands' and 'Joined with rho's interval'; the alternatives above. "
        f"`DIFFERENCE_CI = \"{DIFFERENCE_CI}\"` (`rsastats/inference/difference.py`, since 2026-12-06; "
        "`jackknife`, the plain normal interval, before): the difference of two correlations that share a model "
        "gets Tukey's jackknife-t on the raw scale with the jackknife variance less its whole second-order excess "
        "(section 'The difference of two correlations that share a model'; docs/statistics.md, section 6).",
        "",
    ]


def write_report(path: str, *, n_null: int = 4000, n_sets: int = 400, n_boot: int = 2000, n_mc: int = 6000,
                 seed: int = 2024, atlas_seed: int = 2026, jobs: int = 1, run: bool = True, rerun_rho: bool = False,
                 rerun_corrected: bool = False,
                 run_weak_designs: bool = True, run_independent_designs: bool = True, run_few_designs: bool = True,
                 atlas_folder: str = ATLAS_FOLDER, weak_folder: str = WEAK_FOLDER, independent_folder: str | None = None,
                 few_folder: str = "reports/calibration/few") -> dict[str, Any]:
    """Run the studies (``run``; else reuse the atlas results in ``atlas_folder``, with rho's intervals
    recomputed on its data sets when ``rerun_rho`` and rho_corrected's when ``rerun_corrected``; the weak
    designs when ``run_weak_designs``, else reused from ``weak_folder``; the second generative model's designs
    likewise, and the designs with fewer than 8 emotions) and write the report."""
    # imported here: ``python -m analyses.calibration.independent`` (or ``.few``) would otherwise find it imported already
    from .few import few_section, few_table, load_few, run_few
    from .independent import FOLDER, independent_section, independent_table, load_independent, run_independent
    from .uneven import recheck, uneven_section, uneven_table
    from .widen import widen_section

    independent_folder = independent_folder or FOLDER
    started = time.time()
    t1 = type1_error(n_null, seed=seed, jobs=jobs)
    if run:
        run_atlas(atlas_folder, n_sets=n_sets, n_boot=n_boot, n_mc=n_mc, seed=atlas_seed, jobs=jobs)
    else:
        if rerun_rho:
            rerun_atlas_rho(atlas_folder, jobs=jobs)
        if rerun_corrected:
            rerun_atlas_corrected(atlas_folder, jobs=jobs, reason=CORRECTED_RERUN_REASON)
    if run_weak_designs:
        run_weak(weak_folder, n_sets=n_sets, n_mc=n_mc, seed=atlas_seed, jobs=jobs)
    if run_independent_designs:
        run_independent(independent_folder, n_sets=n_sets, n_boot=n_boot, n_mc=n_mc, seed=atlas_seed, jobs=jobs)
    if run_few_designs:
        run_few(few_folder, n_sets=n_sets, n_boot=n_boot, n_mc=n_mc, seed=atlas_seed, jobs=jobs)
    # results just run (with the check) get its move, SE and withheld values, as the reused ones have them
    for study, folder, fresh in (("atlas", atlas_folder, run or rerun_corrected),
                                 ("independent", independent_folder, run_independent_designs),
                                 ("few", few_folder, run_few_designs)):
        if fresh:
            recheck(study, folder, jobs=jobs)
    runs = load_atlas(atlas_folder)
    few_runs = load_few(few_folder)
    table = coverage_table(runs)
    weak_runs = load_runs(weak_folder, WEAK)
    independent_runs = load_independent(independent_folder)
    elapsed = time.time() - started
    command = (f"python -m analyses.calibration --out {path} --null {n_null} --sets {n_sets} --n-boot {n_boot} "
               f"--n-mc {n_mc} --seed {seed} --atlas-seed {atlas_seed} --jobs {jobs}"
               + ("" if run else " --reuse-atlas") + (" --rerun-rho" if rerun_rho and not run else "")
               + (" --rerun-corrected" if rerun_corrected and not run else "")
               + ("" if run_weak_designs else " --reuse-weak") + ("" if run_independent_designs else " --reuse-independent")
               + ("" if run_few_designs else " --reuse-few"))
    lines = [
        "# Calibration of rsastats' tests and intervals",
        "",
        f"Generated by `{command}` (analyses/calibration/) in {elapsed / 60:.1f} min on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}, numpy {np.__version__})"
        + ("" if run else "; the atlas results were reused from " + atlas_folder
           + (" with rho's intervals recomputed on their data sets (`--rerun-rho`)"
              if runs and all("rho_interval" in meta for meta, _ in runs) else "")
           + _corrected_rerun_text(runs))
        + ("" if run_weak_designs else "; the weak designs' results were reused from " + weak_folder)
        + ("" if run_independent_designs else "; the second generative model's from " + independent_folder)
        + ("" if run_few_designs else "; the designs with fewer than 8 emotions from " + few_folder)
        + ". Every number below is computed "
        "by that script; rerun it to reproduce them (same seeds)."
        + _half_split_text({"atlas": runs, "second model": independent_runs, "few-emotions study": few_runs}),
        "",
    ]
    lines += _type1_section(t1, n_null)
    lines += atlas_section(table, runs)
    if few_runs:
        lines += few_section(few_table(few_runs), few_runs[0][0], TOLERANCE)
    if weak_runs:
        lines += weak_section(rho_table(weak_runs), rho_table(runs), TOLERANCE, weak_runs[0][0])
    from . import low_rank, low_rank_caution, low_rank_corrected  # each run on its own (python -m ...); reused here

    lines += low_rank.section()
    lines += low_rank_corrected.section()
    lines += low_rank_caution.section()
    if independent_runs:
        lines += independent_section(independent_table(independent_runs), independent_runs[0][0], TOLERANCE)
    from . import cli_model, difference, many_emotions, schemes  # here: `python -m` of each finds it not yet imported

    third = cli_model.coverage_table()
    if len(third):  # run on its own (python -m analyses.calibration.cli_model); always reused here
        lines += cli_model.coverage_markdown(third, heading="##").split("\n")
    lines += many_emotions.section()  # run on its own (python -m analyses.calibration.many_emotions); reused here
    checked = uneven_table({"atlas": runs, "second model": independent_runs, "fewer than 8 emotions": few_runs})
    if len(checked):
        lines += uneven_section(checked, TOLERANCE)
        lines += widen_section()
    lines += _default_section()
    lines += methods_section(TOLERANCE)
    lines += schemes.section()  # run on its own (python -m analyses.calibration.schemes); reused here
    lines += difference.section()  # likewise (python -m analyses.calibration.difference)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with atomic_path(os.path.join(atlas_folder, "coverage.csv")) as tmp:
        table.to_csv(tmp, index=False)
    return {"type1": t1, "coverage": table, "seconds": elapsed}
