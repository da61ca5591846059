"""Fewer than 8 emotions: where rho's and rho_corrected's intervals stop being calibrated.

The atlas starts at 8 emotions.  :data:`FEW` crosses 4, 5, 6 and 7 emotions with five designs of the same
generative model (with prompts, so both estimands are measured), and :func:`second_designs` with four designs
of the second generative model (:mod:`.independent`: equal and emotion-specific noise levels, Student-t
noise, nearly shared geometry); every data set goes through
:func:`rsastats.inference.compare_models` with its defaults and with the two minimums of the package lifted
-- :data:`rsastats.intervals.jackknife.MIN_UNITS` (no jackknife interval of rho from fewer emotions) and
:data:`rsastats.inference.corrected.MIN_CORRECTED_EMOTIONS` (no rho_corrected or noise ceiling from fewer) --
so the table shows what the withheld intervals would have done.  Above the minimums the lifted run is the
shipped one (the minimums change nothing else).  Truths as in the atlas (Monte Carlo over fresh data sets).

``python -m analyses.calibration.few`` runs the designs into ``reports/calibration/few``;
``python -m analyses.calibration`` writes the section of docs/calibration.md (``--reuse-few`` reuses them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.rng import spawn_sequences

from ..atlas.designs import design
from ..atlas.model import calibrate_sigma
from ..atlas.shipped import _chunk, run_chunks
from ..atlas.study import truths
from .atlas import _coverage as _rate, _pct
from .studies import HALF_SPLIT, load_runs

__all__ = ["FEW", "FEW_FOLDER", "second_designs", "run_lifted", "run_few", "few_table", "few_section", "supported_from", "load_few",
           "main"]

FEW_FOLDER = "reports/calibration/few"
FEW = [design(n, p, rel, level, structure, aniso)
       for n in (4, 5, 6, 7)
       for level, structure, aniso, p, rel in (("high", "lowrank", "none", 8, 0.8), ("mid", "hub", "none", 20, 0.8),
                                               ("low", "clustered", "strong", 8, 0.95), ("near1", "lowrank", "none", 8, 0.8),
                                               ("high", "lowrank", "none", 4, 0.5))]


def second_designs() -> list:
    """Designs of the second generative model with 4 to 7 emotions (imported here: ``python -m
    analyses.calibration.independent`` must not find that module imported already)."""
    from .independent import Design

    return [Design(f"n{n}-P{p}-{name}", n, p, **kw) for n in (4, 5, 6, 7)
            for name, p, kw in (("equal", 8, {"noise": 2.0}), ("hetero", 8, {"noise": 2.0, "hetero": 0.6}),
                                ("shared0.95", 8, {"noise": 2.0, "shared": 0.95}),
                                ("t3", 20, {"noise": 4.0, "tails": True}))]


def _lifted(worker, args: tuple) -> list[dict]:
    """``worker(args)`` with the package's two minimums lifted (in this worker process)."""
    from rsastats.inference import corrected
    from rsastats.intervals import jackknife

    kept = jackknife.MIN_UNITS, corrected.MIN_CORRECTED_EMOTIONS
    jackknife.MIN_UNITS, corrected.MIN_CORRECTED_EMOTIONS = 2, 0
    try:
        return worker(args)
    finally:  # restored: with one job this runs in the calling process
        jackknife.MIN_UNITS, corrected.MIN_CORRECTED_EMOTIONS = kept


def _lifted_chunk(args: tuple) -> list[dict]:
    """The atlas's per-data-set worker with the minimums lifted."""
    return _lifted(_chunk, args)


def _lifted_second(args: tuple) -> list[dict]:
    """The second generative model's per-data-set worker with the minimums lifted."""
    from .independent import _chunk as second_chunk

    return _lifted(second_chunk, args)


def run_lifted(base, n_sets: int, *, n_boot: int = 2000, n_mc: int = 6000, seed: int = 2026,
               jobs: int = 2) -> tuple[pd.DataFrame, dict]:
    """One atlas-model design of :data:`FEW` with the minimums lifted: per data set the outputs, and the truths."""
    d = calibrate_sigma(base)
    truth = {**truths(d, n_mc), "sigma": d.sigma}
    seqs = spawn_sequences(np.random.SeedSequence([seed, d.seed]), n_sets)
    return pd.DataFrame(run_chunks(_lifted_chunk, d, seqs, jobs, n_boot)), truth


def run_few(folder: str | os.PathLike = FEW_FOLDER, *, n_sets: int = 400, n_boot: int = 2000, n_mc: int = 6000,
            seed: int = 2026, jobs: int = 2, models: tuple[str, ...] = ("atlas", "second")) -> None:
    """Run the designs of ``models`` (``atlas``: :data:`FEW`; ``second``: :func:`second_designs`) into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    from .studies import write_run

    for base in FEW if "atlas" in models else []:
        started = time.time()
        frame, truth = run_lifted(base, n_sets, n_boot=n_boot, n_mc=n_mc, seed=seed, jobs=jobs)
        truth["seconds"] = time.time() - started
        write_run(folder, base.name, frame, {"design": asdict(base), "model": "atlas", "truth": truth, "n_sets": n_sets,
                                             "n_mc": n_mc, "n_boot": n_boot, "seed": seed, "half_split": HALF_SPLIT})
        print(f"{base.name}: {truth['seconds']:.0f} s", flush=True)
    from .independent import truths as second_truths

    for d in second_designs() if "second" in models else []:
        started = time.time()
        truth = second_truths(d, n_mc)
        seqs = spawn_sequences(np.random.SeedSequence([seed, d.seed, d.n_emotions, d.n_prompts]), n_sets)
        frame = pd.DataFrame(run_chunks(_lifted_second, d, seqs, jobs, n_boot))
        truth["seconds"] = time.time() - started
        write_run(folder, d.name, frame, {"design": asdict(d), "model": "second", "truth": truth, "n_sets": n_sets,
                                          "n_mc": n_mc, "n_boot": n_boot, "seed": seed, "half_split": HALF_SPLIT})
        print(f"{d.name}: {truth['seconds']:.0f} s", flush=True)


def few_table(runs: list[tuple[dict, pd.DataFrame]]) -> pd.DataFrame:
    rows = []
    for meta, f in runs:
        t = meta["truth"]
        cov, lo, hi = _rate(((f["ci_low"] <= t["measured"]) & (t["measured"] <= f["ci_high"])).to_numpy())
        g = f[f["rho_corrected"].notna()]
        ccov, clo, chi = _rate(((g["corrected_ci_low"] <= t["free"]) & (t["free"] <= g["corrected_ci_high"])).to_numpy())
        d = meta["design"]
        rows.append({"design": d["name"], "model": meta.get("model", "atlas"), "n": d["n_emotions"],
                     "rho_true": t["measured"], "rho_coverage": cov, "rho_cp_low": lo, "rho_cp_high": hi, "rho_zero_width": float((f["ci_high"] == f["ci_low"]).mean()),
                     "rho_width": float((f["ci_high"] - f["ci_low"]).mean()), "rho_free": t["free"],
                     "n_given": len(g), "given": len(g) / len(f), "corrected_coverage": ccov, "corrected_cp_low": clo,
                     "corrected_cp_high": chi,
                     "corrected_zero_width": float((g["corrected_ci_high"] == g["corrected_ci_low"]).mean()) if len(g) else np.nan,
                     "n_sets": len(f)})
    return pd.DataFrame(rows)


def _by_n(table: pd.DataFrame, column: str, tolerance: tuple[float, float], minimum_given: int = 0) -> str:
    parts = []
    for n, part in table[table["n_given"] >= minimum_given].groupby("n"):
        cov = part[column]
        below = int((cov < tolerance[0]).sum())
        parts.append(f"{n} emotions {_pct(cov.min())}-{_pct(cov.max())}% ({below} of {len(part)} designs below "
                     f"{100 * tolerance[0]:g}%)")
    return "; ".join(parts)


def supported_from(table: pd.DataFrame, column: str, tolerance: tuple[float, float], minimum_given: int = 0) -> int | None:
    """The smallest number of emotions from which no design (given in at least ``minimum_given`` data sets)
    covers less than the band's lower end; None if even the largest has one."""
    t = table[table["n_given"] >= minimum_given] if minimum_given else table
    below = sorted(set(t[t[column] < tolerance[0]]["n"]))
    ns = sorted(set(t["n"]))
    first = max(below) + 1 if below else min(ns)
    return first if first <= max(ns) else None


def _minimum_text(table: pd.DataFrame, measured: int | None, shipped: int) -> str:
    """How the shipped minimum of rho_corrected's emotions stands to the measured one."""
    if measured == shipped:
        return "the shipped minimum agrees"
    if measured is not None and measured < shipped:
        lowest = table[(table["n"] == measured) & (table["n_given"] >= 20)]["corrected_coverage"].min()
        return (f"the shipped minimum, {shipped}, is higher: at {measured} emotions the lowest design covers "
                f"{_pct(lowest)}%, and the widening's amounts were chosen on designs with at least {shipped} emotions, "
                "so fewer are not claimed")
    return "the shipped minimum differs"


def _rho_minimum_text(table: pd.DataFrame, measured: int | None, shipped: int) -> str:
    """How the shipped minimum of rho's emotions stands to the measured one."""
    if measured == shipped:
        return "the shipped minimum agrees"
    if measured is not None and measured < shipped:
        widths = table[table["n"] == measured]["rho_width"]
        return (f"the shipped minimum, {shipped}, is higher: at {measured} emotions the intervals are "
                f"{widths.min():.2f}-{widths.max():.2f} wide on a scale of 2, and where no emotion left out moves rho "
                "their spread comes from the prompts alone (docs/statistics.md, 'No spread'), so they add next to "
                "nothing to the Mantel test")
    return "the shipped minimum differs"


def few_section(table: pd.DataFrame, meta: dict, tolerance: tuple[float, float]) -> list[str]:
    """The Markdown section: the table and what the package's minimums withhold."""
    from rsastats.inference.corrected import MIN_CORRECTED_EMOTIONS
    from rsastats.intervals.jackknife import MIN_UNITS

    lines = [
        "## Fewer than 8 emotions",
        "",
        f"{len(table)} designs x {meta['n_sets']} data sets (`analyses/calibration/few.py`; per data set in "
        f"`{FEW_FOLDER}/`): 4 to 7 emotions, each crossed with five designs of the atlas model and four of the second "
        "generative model (section 'A second generative model'), every data set through `compare_models` with its "
        "defaults and with the package's two minimums lifted, so the table shows what a withheld interval would "
        "have done. Truths as in those sections. 'zero width': the interval is a point (every leave-one-out value, "
        "or every resample, gives the same value).",
        "",
        "| model | design | true rho | rho coverage % [CP 95%] | zero width % | width | noise-free rho | corrected given | "
        "corrected coverage % [CP 95%] | zero width % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        corrected = (f"{_pct(r.corrected_coverage)} [{_pct(r.corrected_cp_low)}, {_pct(r.corrected_cp_high)}]"
                     if r.n_given else "none given")
        lines.append(f"| {r.model} | {r.design} | {r.rho_true:.3f} | {_pct(r.rho_coverage)} [{_pct(r.rho_cp_low)}, "
                     f"{_pct(r.rho_cp_high)}] | {_pct(r.rho_zero_width)} | {r.rho_width:.3f} | {r.rho_free:.3f} | "
                     f"{_pct(r.given)}% | {corrected} | {_pct(r.corrected_zero_width)} |")
    rho_from = supported_from(table, "rho_coverage", tolerance)
    cor_from = supported_from(table, "corrected_coverage", tolerance, 20)
    lines += [
        "",
        f"- rho's `jackknife-t` interval by number of emotions: {_by_n(table, 'rho_coverage', tolerance)}. At 4 "
        f"emotions {_pct(table[table['n'] == 4]['rho_zero_width'].mean())}% of the intervals have zero width (a "
        "leave-one-out RDM of 3 emotions has 3 cells). **Shipped:** no jackknife interval from fewer than "
        f"{MIN_UNITS} emotions (`MIN_UNITS`, rsastats/intervals/jackknife.py): `ci_low` and `ci_high` are null and "
        "the output says why; the Mantel test (exact, 24 permutations at 4 emotions) is still given. The smallest "
        f"number of emotions from which no design here is below the band: {rho_from} "
        f"({_rho_minimum_text(table, rho_from, MIN_UNITS)}).",
        f"- rho_corrected's interval, where given in at least 20 data sets: "
        f"{_by_n(table, 'corrected_coverage', tolerance, 20)}. **Shipped:** rho_corrected and the noise ceiling are "
        f"not given with fewer than {MIN_CORRECTED_EMOTIONS} emotions (`MIN_CORRECTED_EMOTIONS`, "
        "rsastats/inference/corrected.py; `corrected_note` says why). The smallest number of emotions from which "
        f"no design here is below the band: {cor_from} ({_minimum_text(table, cor_from, MIN_CORRECTED_EMOTIONS)}).",
        "- Above the band is not withheld: an interval that covers more than 97.5% is wider than it needs to be, "
        "not wrong; the widths show how little a few emotions can say (often more than 1 on a scale of 2).",
        "",
    ]
    return lines


def load_few(folder: str | os.PathLike = FEW_FOLDER) -> list[tuple[dict, pd.DataFrame]]:
    return load_runs(folder, FEW + second_designs())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.calibration.few", description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=400)
    parser.add_argument("--n-boot", type=int, default=2000)
    parser.add_argument("--n-mc", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--models", default="atlas,second", help="which generative models' designs to run")
    args = parser.parse_args(argv)
    run_few(n_sets=args.sets, n_boot=args.n_boot, n_mc=args.n_mc, seed=args.seed, jobs=args.jobs,
            models=tuple(args.models.split(",")))
    print(json.dumps({"designs": len(FEW) + len(second_designs()), "folder": FEW_FOLDER}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
