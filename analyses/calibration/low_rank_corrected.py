"""rho_corrected's interval where emotions vary along few directions: the leave-two-out excess weighted like rho's
(docs/statistics.md, 'Low-rank emotion spaces'; rsastats/inference/corrected_ci.py).

rho_corrected's ``jackknife-t`` interval removes the jackknife's doubly counted second-order variance, estimated from
the leave-two-out ratios (:func:`rsastats.inference.degeneracy.leave_two_out_excess`).  Since 2026-12-07 that excess is
scaled by :func:`~rsastats.inference.degeneracy.low_rank_weight` of the leave-two-out kernel's rank share, as rho's
is.  Two parts:

- ``generator``: the designs of :mod:`.low_rank`'s random sweeps and its one- and two-direction grid
  (:data:`GENERATOR_FAMILIES`) with 20 or more emotions (below, rho_corrected's interval is BCa and the weight plays
  no part), 150 data sets each, through :func:`rsastats.inference.compare_models`' defaults, every data set twice (the
  excess whole, and weighted: the shipped interval); the truth is the noise-free rho, E[rho of the RDMs of the
  emotions' mean vectors] over 2,000 fresh draws of the emotions.
- ``stored``: every stored data set with 20 to 64 emotions and prompts of the atlas, its seed-2028 replication, the
  second generative model and the many-emotions designs (:data:`STORED_FOLDERS`; the weak designs hold no
  rho_corrected at 20 emotions or more, above 64 there is no leave-two-out excess).  Only the interval the
  jackknife-t route forms moves, and it comes before the check of uneven shrinkage, the widening and the join with
  rho's interval, so each such data set is regenerated (its own seed and half splits) and its interval formed with the
  whole excess and weighted.  Where the stored rows keep the interval before the widening, the whole-excess one must
  equal it (to 1e-12: the same data sets; or the weighted one, a design rewritten already) and the weighted one takes
  its place; rows run with the widening and the join natively are rerun through the study's worker, the check and
  the join lifted, where the weight moves their interval (BCa rows are never rerun).  The check, the widening (the
  stored moves: no resamples) and the join are then applied as :func:`.uneven.recheck` applies them, and some data
  sets are rerun through the study's shipped worker, which must agree exactly.  Coverage before and after, per
  design: reports/calibration/low_rank_corrected_stored.csv.

Run:  python -m analyses.calibration.low_rank_corrected {generator,stored} [--sets 150] [--jobs 2]   (the generator
about 50 min on 2 idle cores, the stored studies about 45 min)
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference import corrected_ci
from rsastats.inference.corrected_ci import (BCA_NOTE_START, JOIN_NOTE, MAX_LEAVE_TWO_OUT, MIN_JACKKNIFE_EMOTIONS,
                                            jackknife_corrected)
from rsastats.inference.widening import WIDEN_NOTE
from rsastats.io import atomic_path

from ..atlas.shipped import run_chunks
from .join_bound import unjoined
from .studies import binomial_ci, write_run

__all__ = ["STORED_FOLDERS", "generator_designs", "generator_rows", "run_generator", "generator_table",
           "reweight_design", "run_stored", "coverage_row", "section", "main"]

FOLDER = Path("reports/calibration")
# folder -> the study whose generator made it (.uneven._source); the weak designs hold no rho_corrected at 20 emotions
# or more
STORED_FOLDERS = {"atlas": "atlas", "atlas_2028": "atlas", "independent": "independent", "many_emotions": "atlas"}
PAIR = np.array([[0, 1]])
# The low-rank study's families run here: its random sweeps and the one- and two-direction grid (where rho's interval
# failed most; its `grid` family of two and three directions is left out for time: 24 designs more, about 40 min).
GENERATOR_FAMILIES = ("sweep", "sweep52", "grid1")


def generator_designs(families: tuple[str, ...] = GENERATOR_FAMILIES) -> list[tuple[str, str, int, dict]]:
    """The designs of :func:`.low_rank.designs` of ``families`` with :data:`MIN_JACKKNIFE_EMOTIONS` or more
    emotions."""
    from .low_rank import designs

    return [d for d in designs() if d[0] in families and d[3]["E"] >= MIN_JACKKNIFE_EMOTIONS]


class _Excess:
    """``corrected_ci``'s leave-two-out excess, whole (``weighted=False``) or as shipped, noting whether the weight
    moved any excess of the call (so that a data set is run twice only where it did)."""

    def __init__(self, weighted: bool):
        self.weighted, self.moved, self.shipped = weighted, False, corrected_ci.leave_two_out_excess

    def __call__(self, value, loo, l2o, *, low_rank: bool = True) -> float:
        whole = self.shipped(value, loo, l2o, low_rank=False)
        weighted = self.shipped(value, loo, l2o, low_rank=True)
        self.moved |= weighted != whole
        return weighted if self.weighted else whole

    def __enter__(self):
        corrected_ci.leave_two_out_excess = self
        return self

    def __exit__(self, *exc):
        corrected_ci.leave_two_out_excess = self.shipped


def generator_rows(design: dict, seed: int, n_sets: int, n_mc: int, n_boot: int) -> tuple[float, list[dict]]:
    """The noise-free rho of a design of :mod:`.low_rank` and a row per data set: rho_corrected and its interval with
    the whole excess and shipped."""
    from rsastats.inference import compare_models

    from ..atlas.model import cosine_cells, spearman
    from .independent import _inputs  # the second model's loader stand-in (paired prompt labels)
    from .low_rank import Generator

    gen = Generator(design, seed)
    mc = np.random.default_rng([seed, 1])
    free = float(np.mean([spearman(*map(cosine_cells, gen.means(mc))) for _ in range(n_mc)]))
    rows = []
    for s in range(n_sets):
        a, b = _inputs(*gen.prompts(np.random.default_rng([seed, 9, s])))  # two widths: a list, not stacked
        row: dict = {"set": s}
        for tag, weighted in (("shipped", True), ("whole", False)):
            with warnings.catch_warnings(), _Excess(weighted) as excess:
                warnings.simplefilter("ignore")
                res = compare_models(a, b, n_boot=n_boot, permutations=19, seed=np.random.SeedSequence([seed, 9, s]))
            row.update({f"rho_corrected_{tag}": res.rho_corrected, f"low_{tag}": res.corrected_ci_low,
                        f"high_{tag}": res.corrected_ci_high})
            if tag == "shipped":
                row.update(rho=res.rho, moved=excess.moved, note=res.corrected_note or "")
                if not excess.moved:  # the weight moved nothing: the whole excess gives the same record
                    row.update({f"{k}_whole": row[f"{k}_shipped"] for k in ("rho_corrected", "low", "high")})
                    break
        rows.append(row)
    return free, rows


def _generator_job(args: tuple) -> pd.DataFrame:
    family, name, seed, design, n_sets, n_mc, n_boot = args
    started = time.time()
    free, rows = generator_rows(design, seed, n_sets, n_mc, n_boot)
    frame = pd.DataFrame(rows).assign(family=family, design=name, free=free)
    print(f"{name}: {time.time() - started:.0f} s", flush=True)
    return frame


def run_generator(n_sets: int = 150, n_mc: int = 2000, n_boot: int = 1000, jobs: int = 2) -> pd.DataFrame:
    """Every generator design (module docstring): a row per data set, reports/calibration/low_rank_corrected_sets.csv,
    and a row per design, low_rank_corrected.csv."""
    tasks = [(*d, n_sets, n_mc, n_boot) for d in generator_designs()]
    parts = []
    with ProcessPoolExecutor(jobs) as pool:
        for part in pool.map(_generator_job, tasks):  # in order, each as it is done: a run cut short keeps its designs
            sets = pd.concat(parts := [*parts, part], ignore_index=True)
            with atomic_path(FOLDER / "low_rank_corrected_sets.csv") as tmp:
                sets.to_csv(tmp, index=False)
    table = generator_table(sets)
    with atomic_path(FOLDER / "low_rank_corrected.csv") as tmp:
        table.to_csv(tmp, index=False)
    return table


def _scored(low: pd.Series, high: pd.Series, truth: float, tag: str) -> dict:
    """Intervals ``(low, high)`` scored against ``truth``: how many are given, their coverage with its Clopper-Pearson
    interval, and their median width, as ``<what>_<tag>``."""
    given = low.notna() & high.notna()
    inside = ((low <= truth) & (truth <= high))[given]
    cp_low, cp_high = binomial_ci(int(inside.sum()), int(given.sum()))
    return {f"given_{tag}": int(given.sum()), f"coverage_{tag}": float(inside.mean()) if given.any() else np.nan,
            f"cp_low_{tag}": cp_low, f"cp_high_{tag}": cp_high, f"width_{tag}": float((high - low)[given].median())}


def generator_table(sets: pd.DataFrame) -> pd.DataFrame:
    """Per design: the data sets where rho_corrected's interval was given, where the weight moved it, and the coverage
    of the noise-free rho with the whole excess and shipped (Clopper-Pearson intervals, median widths)."""
    rows = []
    for (family, name), g in sets.groupby(["family", "design"], sort=False):
        truth = float(g["free"].iloc[0])
        row = {"family": family, "design": name, "free": truth, "sets": len(g), "moved": int(g["moved"].sum())}
        for tag in ("whole", "shipped"):
            row.update(_scored(g[f"low_{tag}"], g[f"high_{tag}"], truth, tag))
        rows.append(row)
    return pd.DataFrame(rows)


def _intervals_job(args: tuple) -> list[dict]:
    """rho_corrected's jackknife-t interval of stored data sets ``indices``, with the whole excess and weighted."""
    from .uneven import stored_halves

    (meta, study), indices = args
    rows = []
    for i, _, halves, point in stored_halves(meta, study, indices):
        jack = halves.leave_one_out(PAIR)
        row = {"i": i}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for tag, low_rank in (("whole", False), ("weighted", True)):
                got = jackknife_corrected(halves, PAIR, point[0], jack, 0.95, low_rank=low_rank)[0]
                row[f"low_{tag}"], row[f"high_{tag}"] = got if got is not None else (np.nan, np.nan)
        rows.append(row)
    return rows


def _unwound(frame: pd.DataFrame) -> pd.DataFrame:
    """rho_corrected's columns as :func:`.uneven.recheck` starts from them: before the check, the join and the
    widening (rows run with them natively keep them; the recheck reruns those)."""
    from .uneven import GIVEN, UNCHECKED, _unwiden

    frame = frame.copy()
    frame["corrected_note"] = frame["corrected_note"].astype(object)
    if UNCHECKED[0] in frame:
        was = frame[UNCHECKED[-1]].notna() | frame[UNCHECKED[0]].notna()
        for old, new in zip(GIVEN, UNCHECKED):
            frame.loc[was, old] = frame.loc[was, new]
        frame = frame.drop(columns=list(UNCHECKED))
    return _unwiden(unjoined(frame))


def _unjoined_unchecked(meta: dict, study: str, indices) -> list[dict]:
    """The study's shipped rows of data sets ``indices`` with the check of uneven shrinkage and the join lifted (the
    widening kept): the state :func:`_unwound` leaves a row run with them natively in."""
    from rsastats.inference import corrected

    from .uneven import _source

    _, worker, design, seqs = _source(meta, study)
    kept = corrected.MAX_NORM_SHIFT, corrected_ci.NARROW_AT_BOUND
    corrected.MAX_NORM_SHIFT, corrected_ci.NARROW_AT_BOUND = np.inf, 0.0
    try:
        return [worker((design, [seqs[i]], meta["n_boot"]))[0] for i in indices]
    finally:
        corrected.MAX_NORM_SHIFT, corrected_ci.NARROW_AT_BOUND = kept


def _shipped(meta: dict, study: str, indices) -> list[dict]:
    """The study's shipped rows of data sets ``indices``."""
    from .uneven import _source

    _, worker, design, seqs = _source(meta, study)
    return [worker((design, [seqs[i]], meta["n_boot"]))[0] for i in indices]


def reweight_design(path: Path, study: str, jobs: int, verify: int = 2) -> dict | None:
    """Rewrite one stored design's rho_corrected columns with the weighted excess (module docstring); its coverage
    before and after (:func:`coverage_row`), or None where the design has no such interval.

    Rows whose interval before the widening is stored take the weighted interval in its place; rows run with the
    widening (and the join, the check) natively, whose interval before them is not stored, are rerun through the
    study's worker with the check and the join lifted where the weight moves their interval; the check, the widening
    (the stored moves) and the join are then applied as :func:`.uneven.recheck` applies them, without rerunning the
    rows the weight leaves alone (BCa, or a weight of 1)."""
    from .join_bound import joined
    from .uneven import MOVES, _apply, _verify, _widen

    meta = json.loads(path.read_text())
    design = meta["design"]
    n = design["n_emotions"]
    if (design.get("vectors_only") or n < MIN_JACKKNIFE_EMOTIONS or n * (n - 1) // 2 > MAX_LEAVE_TWO_OUT
            or not path.with_suffix(".csv").exists()):
        return None  # no jackknife-t interval, or none with a leave-two-out excess to weight
    stored = pd.read_csv(path.with_suffix(".csv"), keep_default_na=True)
    if "split_half_a" not in stored:
        return None
    started = time.time()
    checked = set(MOVES) <= set(stored.columns)  # else run with the check, the widening and the join: rows as shipped
    frame = _unwound(stored) if checked else stored.assign(corrected_note=stored["corrected_note"].astype(object))
    notes = frame["corrected_note"].fillna("").astype(str)
    native = (notes.str.contains(WIDEN_NOTE, regex=False) | notes.str.contains(JOIN_NOTE, regex=False)).to_numpy()
    native = native | (not checked)
    todo = np.flatnonzero((frame["rho_corrected"].notna() & ~notes.str.startswith(BCA_NOTE_START)).to_numpy())
    new = pd.DataFrame(run_chunks(_intervals_job, (meta, study), list(todo), jobs)) if len(todo) else None
    moved, rerun = 0, []
    for k, i in enumerate(todo):
        whole = new.loc[k, ["low_whole", "high_whole"]].to_numpy(float)
        weighted = new.loc[k, ["low_weighted", "high_weighted"]].to_numpy(float)
        if native[i]:  # no stored interval to check it against: rerun where the weight moves it
            if not np.array_equal(weighted, whole, equal_nan=True):
                rerun.append(i)
            continue
        old = frame.loc[i, ["corrected_ci_low", "corrected_ci_high"]].to_numpy(float)
        if not (np.all(np.abs(old - whole) <= 1e-12) or np.all(np.abs(old - weighted) <= 1e-12)):  # or rewritten
            raise RuntimeError(f"{path.stem} data set {i}: the regenerated interval {whole} is not the stored {old}")
        moved += int(not np.array_equal(weighted, whole))
        frame.loc[i, ["corrected_ci_low", "corrected_ci_high"]] = weighted
    for i, row in zip(rerun, _unjoined_unchecked(meta, study, rerun) if checked else _shipped(meta, study, rerun)):
        for column in ("rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note"):
            frame.loc[i, column] = np.nan if row[column] is None else row[column]
    if checked:
        frame, fired = _apply(_widen(frame), frame[list(MOVES)])
        frame, _ = joined(frame, design["n_emotions"])
        _verify(frame, fired, meta, study, verify)  # rows rerun through the shipped worker agree exactly
    else:  # rows the weight left alone, rerun, must give their stored values
        _verify(frame, np.zeros(len(frame), bool), meta, study, verify)
    meta["low_rank_corrected"] = {"formed": int(len(todo)), "moved": moved + len(rerun), "rerun": len(rerun),
                                  "seconds": time.time() - started}
    write_run(path.parent, path.stem, frame, meta)
    return coverage_row(path.parent.name, meta, stored, frame, formed=len(todo), moved=moved + len(rerun),
                        rerun=len(rerun))


def coverage_row(study: str, meta: dict, before: pd.DataFrame, after: pd.DataFrame, **counts) -> dict:
    """Coverage of the noise-free rho by rho_corrected's shipped interval before and after, with Clopper-Pearson
    intervals, and the median width of each."""
    truth = meta["truth"]["free"]
    row = {"study": study, "design": meta["design"]["name"], "n_emotions": meta["design"]["n_emotions"],
           "sets": len(after), **counts}
    for tag, f in (("before", before), ("after", after)):
        row.update(_scored(f["corrected_ci_low"], f["corrected_ci_high"], truth, tag))
    return row


def run_stored(jobs: int = 2, only: list[str] | None = None) -> pd.DataFrame:
    """Every stored study (module docstring); writes reports/calibration/low_rank_corrected_stored.csv."""
    rows = []
    for folder, study in STORED_FOLDERS.items():
        for path in sorted((FOLDER / folder).glob("*.json")):
            if only and path.stem not in only:
                continue
            row = reweight_design(path, study, jobs)
            if row is not None:
                rows.append(row)
                print(f"{folder}/{path.stem}: {row['moved']} of {row['formed']} intervals moved, coverage "
                      f"{row['coverage_before']:.3f} -> {row['coverage_after']:.3f}", flush=True)
    frame = pd.DataFrame(rows)
    if not only:
        with atomic_path(FOLDER / "low_rank_corrected_stored.csv") as tmp:
            frame.to_csv(tmp, index=False)
    return frame


def _summary(frame: pd.DataFrame, before: str, after: str, labels: tuple[str, str], min_given: int = 20) -> list[str]:
    """A line per column pair: designs (rho_corrected given in >= ``min_given`` data sets) within [92.5%, 97.5%],
    clearly below (Clopper-Pearson upper end < 92.5%), the range and the mean |coverage - 95%|."""
    lines = []
    for tag, label in zip((before, after), labels):
        part = frame[frame[f"given_{tag}"] >= min_given]
        c = part[f"coverage_{tag}"]
        low = part[part[f"cp_high_{tag}"] < 0.925]
        lines.append(f"- {label}: {int(c.between(0.925, 0.975).sum())} of {len(part)} designs within [92.5%, 97.5%], "
                     f"{len(low)} clearly below (Clopper-Pearson upper end < 92.5%), "
                     f"{int((part[f'cp_low_{tag}'] > 0.975).sum())} clearly above, range "
                     f"{100 * c.min():.1f}-{100 * c.max():.1f}%, mean |coverage - 95%| "
                     f"{100 * (c - 0.95).abs().mean():.2f} points"
                     + (": " + ", ".join(f"{r['design']} ({100 * r[f'coverage_{tag}']:.1f}%)" for _, r in low.iterrows())
                        if len(low) else "") + ".")
    return lines


def section(folder: str | Path = FOLDER) -> list[str]:
    """docs/calibration.md's section on the study (run on its own; no stored results: no lines)."""
    folder = Path(folder)
    if not any((folder / f).exists() for f in ("low_rank_corrected.csv", "low_rank_corrected_stored.csv")):
        return []
    lines = ["## rho_corrected's interval in low-rank designs", ""]
    if not (folder / "low_rank_corrected.csv").exists():
        lines += ["The study's generator part (`python -m analyses.calibration.low_rank_corrected generator`) has no "
                  "committed results yet (docs/statistics.md, 'Low-rank emotion spaces', gives a scratch run's).", ""]
    else:
        frame = pd.read_csv(folder / "low_rank_corrected.csv")
        lines += [f"The {len(frame)} designs of the low-rank study with 20 or more emotions (below, rho_corrected's "
                  f"interval is BCa), {int(frame['sets'].min())} data sets each, through `compare_models`' defaults "
                  "twice: the leave-two-out excess whole (the default before the evening of 2026-12-07) and weighted "
                  "by its kernel's effective rank as rho's is (shipped); truth: the noise-free rho "
                  "(`python -m analyses.calibration.low_rank_corrected generator`; per design in "
                  "reports/calibration/low_rank_corrected.csv). Designs where rho_corrected is given in at least 20 "
                  "data sets:", "",
                  *_summary(frame, "whole", "shipped", ("whole excess", "shipped")), ""]
    if (folder / "low_rank_corrected_stored.csv").exists():
        stored = pd.read_csv(folder / "low_rank_corrected_stored.csv")
        lines += ["The stored studies' data sets with 20 or more emotions and prompts, rewritten "
                  "(`python -m analyses.calibration.low_rank_corrected stored`: each jackknife-t interval regenerated "
                  "-- with the whole excess it equals the stored one -- and weighted, then checked, widened and joined "
                  "as shipped): "
                  f"{int(stored['moved'].sum())} of {int(stored['formed'].sum())} jackknife-t intervals moved, in "
                  f"{int((stored['moved'] > 0).sum())} of {len(stored)} designs; per study:", ""]
        for study, part in stored.groupby("study", sort=False):
            lines += [f"{study}:", "", *_summary(part, "before", "after", ("before", "after")), ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.calibration.low_rank_corrected", description=__doc__)
    parser.add_argument("part", choices=["generator", "stored"])
    parser.add_argument("--sets", type=int, default=150, help="data sets per generator design")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--designs", nargs="*", help="stored designs to rewrite (default: every one)")
    args = parser.parse_args(argv)
    if args.part == "generator":
        print(run_generator(args.sets, jobs=args.jobs).round(3).to_string())
    else:
        print(run_stored(args.jobs, args.designs).round(3).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
