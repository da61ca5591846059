"""rho_corrected's join with rho's interval near the bound, applied to the stored results of the calibration studies.

Since 2026-12-06 an interval of rho_corrected narrower than ``NARROW_AT_BOUND`` with an end within that distance of
the bound is replaced by its hull with rho's interval (and, since later that day, the bound), or withheld where rho
has no interval (:func:`rsastats.inference.corrected_ci.joined_with_rho`). The join comes last: it reads only the
pair's rho_corrected record and rho's interval, which the stored results hold per data set. :func:`joined` applies it
to a stored frame and keeps the former values in ``*_unjoined`` columns (:func:`unjoined` restores them, for studies
that take the interval apart and for :mod:`analyses.calibration.uneven`, which reruns the steps before it); ``verify``
data sets per design where it moved something are rerun through the study's shipped worker and must agree exactly.
Stored intervals of rho of width 0 (from before the 'No spread' rule of 2026-12-06: 369 data sets of the designs with
4-5 emotions) are rerun first (:func:`refresh_flat`), since the join reads rho's interval, and the notes are brought
to the shipped wording (:func:`current_notes`: the former note of a narrow interval at the bound dropped, the reason
of the BCa route below 20 emotions).  Below 8 emotions a stored Fisher-z end of rho's interval that rounded to +-1
before the map cannot be mapped back; where the join reads it, the data set is rerun for rho's shipped ends
(:func:`refresh_unmappable`, kept beside the stored ends).

Run:  python -m analyses.calibration.join_bound [--studies atlas independent few atlas_2028 real_prompts] [--verify 2]
(about 5 min on 2 cores, most of it the reruns); then ``python -m analyses.calibration.real_prompts --summary`` and the
calibration document (docs/calibration.md's first line).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.corrected import CorrectedRho
from rsastats.inference.corrected_ci import (FEW_EMOTIONS_NOTE, JOIN_NOTE, MIN_JACKKNIFE_EMOTIONS, NEAR_BOUND_NOTE,
                                             joined_with_rho, narrow_at_bound)
from rsastats.intervals.jackknife import RAW_AT_BOUND_FROM

from .mean_scale import RERUN_ENDS, shipped_ends
from .studies import write_run

__all__ = ["FOLDERS", "GIVEN", "UNJOINED", "current_notes", "refresh_flat", "refresh_unmappable", "join_interval",
           "joined", "unjoined", "rejoin", "main"]

GIVEN = ("rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note")
UNJOINED = tuple(f"{c}_unjoined" for c in GIVEN)
# study -> folder; the worker that reran a data set (analyses.calibration.uneven._source) by the study's model
FOLDERS = {"atlas": "reports/calibration/atlas", "independent": "reports/calibration/independent",
           "few": "reports/calibration/few", "atlas_2028": "reports/calibration/atlas_2028",
           "real_prompts": "reports/calibration/real_prompts"}
# real_prompts: its data sets come from extraction files that are not committed, so none is rerun
WORKER_STUDY = {"atlas_2028": "atlas", "real_prompts": None}


def joined_unrecorded(frame: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` (after :func:`unjoined`) whose interval is still joined with rho's: data sets rerun through
    the shipped worker after the join was shipped, which hold no pre-join columns.  A study that takes the interval
    apart recomputes them but cannot check them against a stored pre-join interval."""
    return frame["corrected_note"].astype(str).str.contains(JOIN_NOTE, regex=False).to_numpy()


def unjoined(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with rho_corrected's columns as they were before the join (a copy; ``frame`` itself where it was
    never joined)."""
    if UNJOINED[0] not in frame:
        return frame
    frame = frame.copy()
    frame["corrected_note"] = frame["corrected_note"].astype(object)
    was = frame[UNJOINED[1]].notna()  # the join moves only given intervals (their note may be empty)
    for old, new in zip(GIVEN, UNJOINED):
        frame.loc[was, old] = frame.loc[was, new]
    return frame.drop(columns=list(UNJOINED))


# the note that a narrow interval at the bound carried before the join (2026-12-04 to 2026-12-06)
FORMER_NOTE = ("narrower than ", "read its lower end as optimistic")


def current_notes(frame: pd.DataFrame, n_emotions: int | None) -> pd.DataFrame:
    """``frame`` with rho_corrected's notes as the shipped code writes them: without the former note of a narrow
    interval at the bound, and with fewer than ``MIN_JACKKNIFE_EMOTIONS`` emotions the reason of the BCa route that
    applies there (results run before 2026-12-06, whose intervals were all BCa, as checked by the reruns)."""
    frame = frame.copy()
    notes = frame["corrected_note"].astype(object)

    def clean(note):
        if pd.isna(note):
            return note
        parts = [p for p in str(note).split("; ") if not (p.startswith(FORMER_NOTE[0]) and FORMER_NOTE[1] in p)]
        text = "; ".join(parts)
        if n_emotions is not None and n_emotions < MIN_JACKKNIFE_EMOTIONS:
            text = text.replace(NEAR_BOUND_NOTE, FEW_EMOTIONS_NOTE)
        return text

    frame["corrected_note"] = notes.map(clean)
    return frame


def _value(x) -> float | None:
    return None if pd.isna(x) else float(x)


def join_interval(low: float, high: float, rho_low: float, rho_high: float) -> tuple[float, float]:
    """The shipped join of one interval ``(low, high)`` of rho_corrected with rho's; NaN ends where it withholds it."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return low, high
    record = CorrectedRho(0.5 * (low + high), float(low), float(high), "", "", None, None, None, None, None, "", None)
    out = joined_with_rho(record, _value(rho_low), _value(rho_high))
    return (np.nan, np.nan) if out.rho_corrected is None else (out.corrected_ci_low, out.corrected_ci_high)


def joined(frame: pd.DataFrame, n_emotions: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """``frame`` (its rho_corrected columns and rho's ``ci_low``, ``ci_high`` as shipped before the join) joined as
    the shipped code joins, the former values in the ``*_unjoined`` columns of the rows it moved; and those rows.
    With ``n_emotions``, rho's interval is first taken as the package forms it since the mean map
    (:func:`.mean_scale.shipped_ends`; stored studies keep rho's columns from before it): what a rerun joins with."""
    frame = unjoined(frame).copy()
    rho_ends = frame[["ci_low", "ci_high"]].to_numpy(float)
    if n_emotions is not None:
        rho_ends = np.column_stack(shipped_ends(frame, n_emotions))
    frame["corrected_note"] = frame["corrected_note"].astype(object)
    for column in UNJOINED:
        frame[column] = pd.Series(np.nan, index=frame.index, dtype=object if column == UNJOINED[-1] else float)
    fired = np.zeros(len(frame), bool)
    for i, row in enumerate(frame.itertuples(index=False)):
        if pd.isna(row.rho_corrected):
            continue
        note = "" if pd.isna(row.corrected_note) else str(row.corrected_note)
        before = CorrectedRho(float(row.rho_corrected), _value(row.corrected_ci_low), _value(row.corrected_ci_high),
                              "", note, None, None, None, None, None, "", None)
        after = joined_with_rho(before, _value(rho_ends[i, 0]), _value(rho_ends[i, 1]))
        if after == before:
            continue
        fired[i] = True
        label = frame.index[i]
        for column, new in zip(GIVEN, UNJOINED):
            frame.at[label, new] = frame.at[label, column]
        frame.at[label, "rho_corrected"] = np.nan if after.rho_corrected is None else after.rho_corrected
        frame.at[label, "corrected_ci_low"] = np.nan if after.corrected_ci_low is None else after.corrected_ci_low
        frame.at[label, "corrected_ci_high"] = np.nan if after.corrected_ci_high is None else after.corrected_ci_high
        frame.at[label, "corrected_note"] = after.corrected_note
    return frame, fired


def _verify(frame: pd.DataFrame, fired: np.ndarray, meta: dict, study: str, count: int) -> int:
    """Rerun ``count`` data sets the join moved through the study's shipped worker; their rho_corrected columns must
    equal the joined frame's.  Returns how many were rerun."""
    from .uneven import _source

    picks = list(np.flatnonzero(fired)[:count])
    if not picks or WORKER_STUDY.get(study, study) is None:
        return 0
    _, worker, design, seqs = _source(meta, WORKER_STUDY.get(study, study))
    for i in picks:
        row = worker((design, [seqs[i]], meta["n_boot"]))[0]
        for column in GIVEN[:3]:
            stored, new = frame.loc[i, column], row[column]
            if not ((pd.isna(stored) and new is None) or (new is not None and abs(stored - new) <= 1e-12)):
                raise RuntimeError(f"{meta['design']['name']} data set {i}: {column} is {new} when rerun, {stored} here")
        if row["corrected_note"] != frame.loc[i, "corrected_note"]:
            raise RuntimeError(f"{meta['design']['name']} data set {i}: the rerun's note differs")
    return len(picks)


def _rerun_ends(frame: pd.DataFrame, meta: dict, study: str, rows: np.ndarray, columns: tuple[str, str]) -> pd.DataFrame:
    """``frame`` (a copy) with the ends of rho's interval of data sets ``rows`` rerun through the study's shipped worker
    written to ``columns`` (checked: the rerun's rho is the stored one)."""
    from .uneven import _source

    _, worker, design, seqs = _source(meta, WORKER_STUDY.get(study, study))
    frame = frame.copy()
    for column in columns:
        if column not in frame:
            frame[column] = np.nan
    for i in rows:
        row = worker((design, [seqs[i]], meta["n_boot"]))[0]
        if abs(row["rho"] - frame.loc[i, "rho"]) > 1e-12:
            raise RuntimeError(f"{meta['design']['name']} data set {i}: rho is {row['rho']} when rerun")
        frame.loc[i, list(columns)] = [np.nan if row[c] is None else row[c] for c in ("ci_low", "ci_high")]
    return frame


def refresh_flat(frame: pd.DataFrame, meta: dict, study: str) -> tuple[pd.DataFrame, int]:
    """``frame`` with rho's interval rerun where it is stored with width 0 (results from before 2026-12-06, when no
    leave-one-out value moving rho gave the interval ``[rho, rho]``; :func:`rsastats.intervals.jackknife_interval`,
    'No spread'), through the study's shipped worker; and how many rows.  The join reads rho's interval."""
    flat = np.flatnonzero((frame["ci_low"] == frame["ci_high"]).to_numpy())
    if not len(flat) or WORKER_STUDY.get(study, study) is None:
        return frame, 0
    return _rerun_ends(frame, meta, study, flat, ("ci_low", "ci_high")), len(flat)


def refresh_unmappable(frame: pd.DataFrame, meta: dict, study: str) -> tuple[pd.DataFrame, int]:
    """``frame`` with rho's interval rerun through the study's shipped worker where the join could read it and its
    stored ends cannot be mapped as the package maps them (below ``RAW_AT_BOUND_FROM`` emotions, a Fisher-z end that
    rounded to +-1 before the map, :func:`.mean_scale.mapped`), the rerun's ends in :data:`.mean_scale.RERUN_ENDS`
    (the stored pre-map columns are kept, as elsewhere); and how many rows were rerun.  The join can read rho's
    interval only where rho_corrected's interval before it is narrow at the bound."""
    n = meta.get("design", {}).get("n_emotions")
    if n is None or n >= RAW_AT_BOUND_FROM or WORKER_STUDY.get(study, study) is None:
        return frame, 0
    before = unjoined(frame)
    narrow = np.array([np.isfinite(lo) and np.isfinite(hi) and narrow_at_bound(lo, hi)
                       for lo, hi in zip(before["corrected_ci_low"], before["corrected_ci_high"])], bool)
    at_one = ((frame["ci_low"] <= -1) | (frame["ci_high"] >= 1)).to_numpy()
    done = frame[RERUN_ENDS[0]].notna().to_numpy() if RERUN_ENDS[0] in frame else np.zeros(len(frame), bool)
    rows = np.flatnonzero(narrow & at_one & ~done)
    if not len(rows):
        return frame, 0
    return _rerun_ends(frame, meta, study, rows, RERUN_ENDS), len(rows)


def rejoin(study: str, folder: str | Path | None = None, verify: int = 2) -> pd.DataFrame:
    """Join every stored design of ``study`` (from its values before any earlier join); per design the data sets
    where rho_corrected was given and those the join moved or withheld."""
    folder = Path(folder or FOLDERS[study])
    summary = []
    for path in sorted(folder.glob("*.json")):
        meta = json.loads(path.read_text())
        if not path.with_suffix(".csv").exists() or meta.get("design", {}).get("vectors_only"):
            continue
        frame = pd.read_csv(path.with_suffix(".csv"))
        if "corrected_ci_low" not in frame or "ci_low" not in frame:
            continue
        n_emotions = meta.get("design", {}).get("n_emotions")
        frame, refreshed = refresh_flat(current_notes(frame, n_emotions), meta, study)
        frame, unmappable = refresh_unmappable(frame, meta, study)
        frame, fired = joined(frame, n_emotions)  # with rho's interval as the package forms it since the mean map
        checked = _verify(frame, fired, meta, study, verify)
        former = meta.get("join_bound", {})
        meta["join_bound"] = {"moved": int(fired.sum()), "withheld": int((fired & frame["rho_corrected"].isna()).sum()),
                              "rho_interval_rerun": refreshed + former.get("rho_interval_rerun", 0),
                              "unmappable_rerun": unmappable + former.get("unmappable_rerun", 0)}
        write_run(folder, path.stem, frame, meta)
        summary.append({"study": study, "design": path.stem, **meta["join_bound"], "verified": checked})
        print(f"{study} {path.stem}: rho's interval rerun in {refreshed} data sets of width 0 and {unmappable} whose "
              f"ends the map cannot invert; joined {int(fired.sum())} intervals ({checked} rerun and equal)", flush=True)
    return pd.DataFrame(summary)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", nargs="*", default=list(FOLDERS), choices=sorted(FOLDERS))
    parser.add_argument("--verify", type=int, default=2)
    args = parser.parse_args(argv)
    return pd.concat([rejoin(study, verify=args.verify) for study in args.studies], ignore_index=True)


if __name__ == "__main__":
    main()
