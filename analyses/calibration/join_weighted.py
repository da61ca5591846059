"""rho_corrected's join with rho's interval, in the stored studies, read with rho's interval as shipped since its
low-rank weight (2026-12-07).

The join (:func:`rsastats.inference.corrected_ci.joined_with_rho`) replaces an interval of rho_corrected that is
narrow at the bound by its hull with rho's interval and the bound.  The stored studies keep rho's interval as it was
formed before the mean map and the low-rank weight (docs/calibration.md); :func:`.join_bound.joined` read it through
the mean map only (:func:`.mean_scale.shipped_ends`), so where the weight widened rho's interval the stored join, and
:mod:`.low_rank_corrected`'s rewrite, hull with an interval a rerun does not give.  Here, in every stored data set
whose rho_corrected interval before the join is narrow at the bound (the only ones the join reads rho's interval
for):

- where that interval is stored (its ``*_unjoined`` columns, or unjoined), the data set is regenerated
  (:func:`.uneven._source`: its own seed), rho's interval formed as ``compare_models`` forms it
  (:func:`.low_rank._intervals`, 'shipped'; the regenerated rho must equal the stored one) and kept in
  :data:`.mean_scale.RERUN_ENDS` where it differs from the stored interval mapped; then the join is applied again;
- where it is not known (data sets run with the join natively, :func:`.join_bound.joined_unrecorded`, or whose stored
  interval is not the join of their record, :func:`read_rows`), and below ``MIN_UNITS`` emotions, the data set is
  rerun through the study's shipped worker and rho's ends taken from the rerun, and its rho_corrected columns where
  the record does not hold; every rerun row, joined, must equal the rerun.

Then ``verify`` data sets per design that the new join moved are rerun through the shipped worker and must agree
exactly (:func:`.join_bound._verify`), and :mod:`.low_rank_corrected`'s table of the stored studies is scored again
(:func:`rescore_stored`).  A design is written only where something moved; its JSON then records ``join_weighted``
(rows read, rows rerun, ends that moved, intervals the join moved, records of the interval before the join that did
not hold and were dropped, rows verified).  real_prompts (its extraction files are not committed) and the studies
run through the command line are not covered.

Run:  python -m analyses.calibration.join_weighted [--studies atlas atlas_2028 independent few many_emotions]
[--verify 2] [--jobs 2]   (about 20 min on 2 cores, most of it the 100-emotion reruns); then the calibration
document (docs/calibration.md's first line).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.corrected_ci import narrow_at_bound
from rsastats.intervals.jackknife import MIN_UNITS
from rsastats.io import atomic_path

from ..atlas.shipped import run_chunks
from .join_bound import GIVEN, UNJOINED, _verify, join_interval, joined, joined_unrecorded, unjoined
from .low_rank import _intervals
from .mean_scale import RERUN_ENDS, shipped_ends
from .studies import write_run

__all__ = ["FOLDERS", "read_rows", "rejoin_design", "rescore_stored", "main"]

# study -> (folder, the study whose generator and worker made it)
FOLDERS = {"atlas": ("reports/calibration/atlas", "atlas"), "atlas_2028": ("reports/calibration/atlas_2028", "atlas"),
           "independent": ("reports/calibration/independent", "independent"),
           "few": ("reports/calibration/few", "few"), "many_emotions": ("reports/calibration/many_emotions", "atlas")}


def read_rows(frame: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows whose rho_corrected interval before the join is narrow at the bound (the join reads rho's interval
    there): those whose record of it holds (the stored interval is its join with rho's stored ends); those joined
    natively, with no record; and those whose record does not hold (a later rerun wrote the interval and left the
    record: the seed-2028 atlas's rows rerun for the weighted excess)."""
    before = unjoined(frame)
    lows, highs = shipped_ends(frame, n)
    unrecorded = joined_unrecorded(before)
    narrow, stale = np.zeros(len(frame), bool), np.zeros(len(frame), bool)
    for i, (lo, hi) in enumerate(zip(before["corrected_ci_low"], before["corrected_ci_high"])):
        narrow[i] = bool(np.isfinite(lo) and np.isfinite(hi) and narrow_at_bound(lo, hi))
        if narrow[i] and not unrecorded[i]:
            now = frame.loc[frame.index[i], ["corrected_ci_low", "corrected_ci_high"]].to_numpy(float)
            joined_now = np.array(join_interval(lo, hi, lows[i], highs[i]), float)
            stale[i] = not np.all((np.isnan(now) & np.isnan(joined_now)) | (np.abs(now - joined_now) <= 1e-12))
    return np.flatnonzero(narrow & ~unrecorded & ~stale), np.flatnonzero(unrecorded), np.flatnonzero(stale)


def _set_ends(frame: pd.DataFrame, i: int, low: float, high: float, n: int) -> bool:
    """Write rho's ends ``(low, high)`` of row ``i`` to RERUN_ENDS where they differ from what the row gives now."""
    now_low, now_high = (float(x[0]) for x in shipped_ends(frame.iloc[[i]], n))
    new = np.array([low, high], float)
    if np.all((np.isnan(new) & np.isnan([now_low, now_high])) | (np.abs(new - [now_low, now_high]) <= 1e-12)):
        return False
    for column in RERUN_ENDS:
        if column not in frame:
            frame[column] = np.nan
    frame.loc[frame.index[i], list(RERUN_ENDS)] = new
    return True


def _same(stored, new) -> bool:
    if new is None or (isinstance(new, float) and np.isnan(new)):
        return bool(pd.isna(stored))
    if isinstance(new, str):
        return str(stored) == new or (pd.isna(stored) and new == "")
    return not pd.isna(stored) and abs(float(stored) - float(new)) <= 1e-12


def rejoin_design(path: Path, study: str, verify: int = 2, jobs: int = 2) -> dict | None:
    """The module docstring's steps for one stored design; a summary row (None where it holds no rho_corrected)."""
    from .uneven import _source

    meta = json.loads(path.read_text())
    csv = path.with_suffix(".csv")
    if not csv.exists() or meta.get("design", {}).get("vectors_only"):
        return None
    frame = pd.read_csv(csv)
    if "corrected_ci_low" not in frame:
        return None
    n = meta["design"]["n_emotions"]
    recorded, unrecorded, stale = read_rows(frame, n)
    # below MIN_UNITS rho has an interval only with the minimum lifted, as the few-emotions study's worker lifts it
    regenerated = recorded if n >= MIN_UNITS else recorded[:0]
    rerun = np.setdiff1d(np.concatenate([recorded, unrecorded, stale]), regenerated)
    if not len(regenerated) + len(rerun):
        return {"study": path.parent.name, "design": path.stem, "read": 0}
    draw, worker, design, seqs = _source(meta, study)
    moved_ends = cleared = 0
    for i in regenerated:
        inputs = draw(seqs[i])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row = _intervals(inputs[0].rdm.upper(), inputs[1].rdm.upper(), n)
        if abs(row["rho"] - frame.loc[i, "rho"]) > 1e-12:
            raise RuntimeError(f"{csv} data set {i}: rho is {row['rho']} regenerated (not the same data set)")
        moved_ends += _set_ends(frame, i, row["ci_low_shipped"], row["ci_high_shipped"], n)
    reruns = run_chunks(worker, design, [seqs[i] for i in rerun], jobs, meta["n_boot"]) if len(rerun) else []
    frame["corrected_note"] = frame["corrected_note"].astype(object)
    for i, row in zip(rerun, reruns):
        if abs(row["rho"] - frame.loc[i, "rho"]) > 1e-12:
            raise RuntimeError(f"{csv} data set {i}: rho is {row['rho']} when rerun (not the same data set)")
        moved_ends += _set_ends(frame, i, *(np.nan if row[c] is None else row[c] for c in ("ci_low", "ci_high")), n)
        if i in recorded:
            continue  # its record holds: joined below with the rerun's ends, and checked against the rerun
        cleared += i in stale
        for column in GIVEN:
            frame.loc[i, column] = np.nan if row[column] is None else row[column]
        for column in UNJOINED:  # none, or one that does not hold: the rerun's interval is the one to keep
            if column in frame:
                frame.loc[i, column] = np.nan
    frame, _ = joined(frame, n)
    for i, row in zip(rerun, reruns):
        if not all(_same(frame.loc[i, column], row[column]) for column in GIVEN):
            raise RuntimeError(f"{csv} data set {i}: rho_corrected joined here is not the rerun's")
    changed = np.zeros(len(frame), bool)
    old = pd.read_csv(csv)
    for column in GIVEN:
        a, b = old[column], frame[column]
        changed |= ~((a.isna() & b.isna()) | (a.astype(str) == b.astype(str))).to_numpy()
    checked = _verify(frame, changed, meta, study, verify) if changed.any() else 0
    counts = {"read": int(len(regenerated) + len(rerun)), "rerun": int(len(rerun)), "ends_moved": int(moved_ends),
              "intervals_moved": int(changed.sum()), "records_dropped": int(cleared), "verified": checked}
    if moved_ends or changed.any() or cleared:  # else the stored design is as shipped already: left as it is
        write_run(path.parent, path.stem, frame, {**meta, "join_weighted": counts})
    return {"study": path.parent.name, "design": path.stem, **counts}


def rescore_stored(table: str | Path = "reports/calibration/low_rank_corrected_stored.csv") -> pd.DataFrame:
    """:mod:`.low_rank_corrected`'s table of the stored studies with its ``after`` columns scored again on the stored
    data sets as they are now (its ``before`` columns are those of its own rewrite's input, kept)."""
    from .low_rank_corrected import _scored

    frame = pd.read_csv(table)
    for k, row in frame.iterrows():
        folder = Path(table).parent / row["study"]
        meta = json.loads((folder / f"{row['design']}.json").read_text())
        now = pd.read_csv(folder / f"{row['design']}.csv")
        for column, value in _scored(now["corrected_ci_low"], now["corrected_ci_high"], meta["truth"]["free"],
                                     "after").items():
            frame.loc[k, column] = value
    with atomic_path(table) as tmp:
        frame.to_csv(tmp, index=False)
    return frame


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(prog="python -m analyses.calibration.join_weighted", description=__doc__)
    parser.add_argument("--studies", nargs="*", default=list(FOLDERS), choices=sorted(FOLDERS))
    parser.add_argument("--designs", nargs="*", help="only these designs")
    parser.add_argument("--verify", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    rows = []
    for name in args.studies:
        folder, study = FOLDERS[name]
        for path in sorted(Path(folder).glob("*.json")):
            if args.designs and path.stem not in args.designs:
                continue
            row = rejoin_design(path, study, args.verify, args.jobs)
            if row is not None:
                rows.append(row)
                print(", ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    if not args.designs:
        rescore_stored()
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
