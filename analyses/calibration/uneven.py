"""rho_corrected's check of uneven noise shrinkage, applied to the stored results of the calibration studies.

The check (:func:`rsastats.inference.corrected.norm_shift`, :func:`~rsastats.inference.corrected.uneven_shrinkage`)
withholds rho_corrected where the cross-half ratio moves by more than ``MAX_NORM_SHIFT`` and more than
``NORM_SHIFT_Z`` jackknife standard errors when the half RDMs' squared norms are corrected for their whole prompt
noise instead of equalized.  It uses the same half splits as the ratio and no resamples, and it comes after the
split-half rule and before the interval, so where it does not fire the shipped output is what it was.  Applying
it to a stored data set therefore needs only the data set (regenerated from its seed) and its half splits:
:func:`recheck` computes the shift and its standard error for every data set of every design in a folder
(``atlas``: reports/calibration/atlas; ``independent``: the second generative model; ``few``: the designs with
fewer than 8 emotions, minimums lifted as they were run), stores them (``norm_shift``, ``norm_shift_se``), and
where the check fires sets rho_corrected and its interval to null with the shipped note, keeping the former
values in ``*_unchecked`` columns (results run with the check already get those values from a rerun of the
data sets it withheld with the check lifted; so do the rows of designs with fewer than ``MIN_JACKKNIFE_EMOTIONS``
emotions whose interval came from the jackknife-t route, BCa there since 2026-12-06).  It also stores the ratio's bias in the shipped sign-flip worlds
(``world_bias``, ``world_bias_se``; :mod:`rsastats.inference.worlds`, the data set's own ``worlds`` seed stream)
and widens every given interval as the shipped code does (former ends in ``corrected_ci_*_unwidened``), then joins a
narrow interval at the bound with rho's interval (:mod:`analyses.calibration.join_bound`).  ``verify`` data sets per
design (those where it fired first) are rerun through the study's own shipped worker and must agree exactly.

Run:  python -m analyses.calibration.uneven {atlas,independent,few} [--designs NAME ...] [--reuse-shifts]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.corrected import DEFAULT_N_SPLITS, MIN_SPLIT_HALF, CrossHalf, norm_shift, uneven_shrinkage
from rsastats.inference.corrected_ci import BCA_NOTE_START, FEW_EMOTIONS_NOTE, MIN_JACKKNIFE_EMOTIONS, NEAR_BOUND_NOTE
from rsastats.inference.widening import WIDEN_NOTE, widened
from rsastats.inference.worlds import world_bias
from rsastats.inference.settings import streams
from rsastats.rng import spawn_sequences

from ..atlas.shipped import run_chunks
from .join_bound import joined, unjoined
from .studies import write_run

__all__ = ["FOLDERS", "UNCHECKED", "UNWIDENED", "unwidened", "recheck", "uneven_table", "uneven_section", "main"]

FOLDERS = {"atlas": "reports/calibration/atlas", "independent": "reports/calibration/independent",
           "few": "reports/calibration/few"}
GIVEN = ("rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note")
UNCHECKED = tuple(f"{c}_unchecked" for c in GIVEN)
UNWIDENED = ("corrected_ci_low_unwidened", "corrected_ci_high_unwidened")
PAIR = np.array([[0, 1]])
NOTE_START = "rho_corrected not given: it moves by"  # the check's note (uneven_shrinkage)
MOVES = ("norm_shift", "norm_shift_se", "world_bias", "world_bias_se")  # what the check and the widening need


def _source(meta: dict, study: str):
    """``(draw(seq) -> model inputs, worker, design, seqs)`` of one stored design."""
    from ..atlas.model import Design as AtlasDesign, Population
    from ..atlas.shipped import _chunk as atlas_chunk, model_inputs
    from . import independent
    from .few import _lifted_chunk, _lifted_second

    if study == "independent" or meta.get("model") == "second":
        design = independent.Design(**meta["design"])
        model = independent.Model(design)
        seqs = spawn_sequences(np.random.SeedSequence([meta["seed"], design.seed, design.n_emotions, design.n_prompts]),
                               meta["n_sets"])
        worker = _lifted_second if study == "few" else independent._chunk

        def draw(seq):
            _, prompts, valid = model.draw(np.random.default_rng(seq))
            return independent._inputs(prompts, valid)
    else:
        design = AtlasDesign(**{**meta["design"], "sigma": meta["truth"]["sigma"]})
        population = Population.of(design)
        seqs = spawn_sequences(np.random.SeedSequence([meta["seed"], design.seed]), meta["n_sets"])
        worker = _lifted_chunk if study == "few" else atlas_chunk

        def draw(seq):
            return model_inputs(population.draw(np.random.default_rng(seq)), design)
    return draw, worker, design, seqs


def stored_halves(meta: dict, study: str, indices):
    """``(i, seq, halves, point)`` of stored data sets ``indices``: each regenerated with its half splits as the shipped
    code draws them, and its cross-half ratio (``point`` (1,) of the pair)."""
    draw, _, _, seqs = _source(meta, study)
    for i in indices:
        halves = CrossHalf(draw(seqs[i]), "spearman", "cosine", DEFAULT_N_SPLITS, streams(seqs[i]).splits)
        yield i, seqs[i], halves, halves.corrected(None, PAIR)[0]


def _shift_chunk(args: tuple) -> list[dict]:
    (meta, study), indices = args
    rows = []
    for i, seq, halves, point in stored_halves(meta, study, indices):
        shift, se = norm_shift(halves, PAIR, point[0], halves.leave_one_out(PAIR))
        bias, bias_se = world_bias(halves, PAIR, streams(seq).worlds)
        rows.append({"i": i, "norm_shift": float(shift[0]), "norm_shift_se": float(se[0]), "world_bias": float(bias[0]),
                     "world_bias_se": float(bias_se[0])})
    return rows


def _shifts(meta: dict, study: str, jobs: int) -> pd.DataFrame:
    """``norm_shift``, ``norm_shift_se``, ``world_bias`` and ``world_bias_se`` of every data set, in data-set
    order."""
    return pd.DataFrame(run_chunks(_shift_chunk, (meta, study), list(range(meta["n_sets"])), jobs))


def _apply(frame: pd.DataFrame, shifts: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    frame = frame.copy()
    frame["norm_shift"], frame["norm_shift_se"] = shifts["norm_shift"].to_numpy(), shifts["norm_shift_se"].to_numpy()
    notes = [uneven_shrinkage(s, e) for s, e in zip(frame["norm_shift"], frame["norm_shift_se"])]
    reached = np.minimum(frame["split_half_a"], frame["split_half_b"]).to_numpy() >= MIN_SPLIT_HALF
    fired = reached & np.array([bool(n) for n in notes])
    for old, new in zip(GIVEN, UNCHECKED):
        frame[new] = frame[old].where(fired)
        frame.loc[fired, old] = np.nan
    frame.loc[fired, "corrected_note"] = [n for n, f in zip(notes, fired) if f]
    return frame, fired


def _widen(frame: pd.DataFrame) -> pd.DataFrame:
    """Every given interval (the check not yet applied) widened as the shipped code widens it, toward the check's
    move and the sign-flip worlds' bias (:func:`~rsastats.inference.widening.widened`), its former ends in
    :data:`UNWIDENED` (results run with the widening are first rerun without it, :func:`_without_check`, so that
    their former ends are known and the widening can be redone with other amounts, ``analyses.calibration.widen``);
    an interval whose note says it was widened already is left as it is."""
    frame = frame.copy()
    notes = frame["corrected_note"].fillna("").astype(str)
    todo = frame["rho_corrected"].notna() & ~notes.str.contains(WIDEN_NOTE, regex=False)
    frame[UNWIDENED[0]], frame[UNWIDENED[1]] = np.nan, np.nan
    for i in np.flatnonzero(todo):
        low, high = frame.at[i, "corrected_ci_low"], frame.at[i, "corrected_ci_high"]
        new_low, new_high, note = widened(low, high, (frame.at[i, "norm_shift"], frame.at[i, "norm_shift_se"]),
                                          (frame.at[i, "world_bias"], frame.at[i, "world_bias_se"]))
        if note:
            frame.loc[i, list(UNWIDENED)] = [low, high]
            frame.loc[i, ["corrected_ci_low", "corrected_ci_high"]] = [new_low, new_high]
            frame.at[i, "corrected_note"] = "; ".join(filter(None, (notes.iloc[i], note)))
    return frame


def unwidened(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with rho_corrected's interval as it was before the widening (:func:`_widen`) and the join with rho's
    interval (:mod:`analyses.calibration.join_bound`), for studies that take the shipped interval apart."""
    frame = unjoined(frame)
    if UNWIDENED[0] not in frame:
        return frame
    return frame.assign(corrected_ci_low=frame[UNWIDENED[0]].fillna(frame["corrected_ci_low"]),
                        corrected_ci_high=frame[UNWIDENED[1]].fillna(frame["corrected_ci_high"]))


def _unwiden(frame: pd.DataFrame) -> pd.DataFrame:
    """The intervals as they were before :func:`_widen` (for a rerun of the check)."""
    if UNWIDENED[0] not in frame:
        return frame
    was = frame[UNWIDENED[0]].notna()
    frame.loc[was, ["corrected_ci_low", "corrected_ci_high"]] = frame.loc[was, list(UNWIDENED)].to_numpy()
    frame.loc[was, "corrected_note"] = ["; ".join(p for p in str(n).split("; ") if not p.startswith(WIDEN_NOTE))
                                        for n in frame.loc[was, "corrected_note"]]
    return frame.drop(columns=list(UNWIDENED))


def _verify(frame: pd.DataFrame, fired: np.ndarray, meta: dict, study: str, count: int) -> None:
    """Rerun through the study's shipped worker ``count`` data sets where the check fired, ``count`` whose interval it
    widened and one more where it did not fire; their rho_corrected columns must equal the updated frame's."""
    if count <= 0:
        return
    _, worker, design, seqs = _source(meta, study)
    widened = frame[UNWIDENED[0]].notna().to_numpy() & ~fired if UNWIDENED[0] in frame else np.zeros(len(frame), bool)
    picks = (list(np.flatnonzero(fired)[:count]) + list(np.flatnonzero(widened)[:count])
             + list(np.flatnonzero(~fired)[:1]))
    for i in picks:
        row = worker((design, [seqs[i]], meta["n_boot"]))[0]
        for column in GIVEN[:3]:
            stored, new = frame.loc[i, column], row[column]
            same = (pd.isna(stored) and new is None) or (new is not None and abs(stored - new) <= 1e-12)
            if not same:
                raise RuntimeError(f"{meta['design']['name']} data set {i}: {column} is {new} when rerun, {stored} here")
        if fired[i] and row["corrected_note"] != frame.loc[i, "corrected_note"]:
            raise RuntimeError(f"{meta['design']['name']} data set {i}: the rerun's note differs")


def _without_check(meta: dict, study: str, indices) -> list[dict]:
    """The study's shipped rows of data sets ``indices`` with the check and the widening lifted (for results run
    with them: what the check withheld, and the interval before the widening, which :func:`_widen` then widens)."""
    from rsastats.inference import corrected, corrected_ci, widening

    _, worker, design, seqs = _source(meta, study)
    kept = corrected.MAX_NORM_SHIFT, widening.WIDEN_BEYOND_SE, widening.WORLD_BEYOND_SE, corrected_ci.NARROW_AT_BOUND
    corrected.MAX_NORM_SHIFT = widening.WIDEN_BEYOND_SE = widening.WORLD_BEYOND_SE = np.inf
    corrected_ci.NARROW_AT_BOUND = 0.0  # and the join with rho's interval, which comes after the widening
    try:
        return [worker((design, [seqs[i]], meta["n_boot"]))[0] for i in indices]
    finally:
        (corrected.MAX_NORM_SHIFT, widening.WIDEN_BEYOND_SE, widening.WORLD_BEYOND_SE,
         corrected_ci.NARROW_AT_BOUND) = kept


def _former_route(meta: dict, frame: pd.DataFrame) -> pd.Series:
    """Rows of a design with fewer than ``MIN_JACKKNIFE_EMOTIONS`` emotions whose interval (before the check and the
    widening) came from the jackknife-t route, which such designs no longer take (since 2026-12-06 their interval is
    BCa): rerun like the rows run with the check.  The BCa rows' notes get the shipped reason."""
    notes = frame["corrected_note"].fillna("").astype(str)
    if meta["design"]["n_emotions"] >= MIN_JACKKNIFE_EMOTIONS:
        return pd.Series(False, index=frame.index)
    bca = notes.str.startswith(BCA_NOTE_START)
    frame.loc[bca, "corrected_note"] = [n.replace(NEAR_BOUND_NOTE, FEW_EMOTIONS_NOTE) for n in notes[bca]]
    return frame["rho_corrected"].notna() & ~bca


def recheck(study: str, folder: str | os.PathLike | None = None, *, jobs: int = 2, only: list[str] | None = None,
            verify: int = 2, reuse_shifts: bool = False) -> pd.DataFrame:
    """Apply the check to every design of ``study`` stored in ``folder`` (see the module docstring); per design
    the number of data sets where rho_corrected was given before and where the check withheld it.  With
    ``reuse_shifts`` the stored moves (:data:`MOVES`) are used where a design has them (the same
    splits give the same values; for a change of the check's thresholds), and ``verify`` data sets are still rerun."""
    folder = Path(folder or FOLDERS[study])
    summary = []
    for path in sorted(folder.glob("*.json")):
        name = path.stem
        if (only and name not in only) or not path.with_suffix(".csv").exists():
            continue
        meta = json.loads(path.read_text())
        frame = pd.read_csv(path.with_suffix(".csv"), keep_default_na=True)
        if meta["design"].get("vectors_only") or "split_half_a" not in frame:
            continue
        started = time.time()
        frame["corrected_note"] = frame["corrected_note"].astype(object)
        if UNCHECKED[0] in frame:  # checked before: start again from the values the check found
            was = frame[UNCHECKED[-1]].notna() | frame[UNCHECKED[0]].notna()
            for old, new in zip(GIVEN, UNCHECKED):
                frame.loc[was, old] = frame.loc[was, new]
            frame = frame.drop(columns=list(UNCHECKED))
        frame = _unwiden(unjoined(frame))
        notes = frame["corrected_note"].fillna("").astype(str)
        native = ((notes.str.startswith(NOTE_START) & frame["rho_corrected"].isna())
                  | (notes.str.contains(WIDEN_NOTE, regex=False) & frame["rho_corrected"].notna())
                  | _former_route(meta, frame))
        for i, row in zip(np.flatnonzero(native), _without_check(meta, study, np.flatnonzero(native))):
            for column in GIVEN:  # run with the check (or the widening) already: what it withheld, the interval
                # before the widening, from a rerun with both lifted; _widen widens it again and keeps its ends
                frame.loc[i, column] = np.nan if row[column] is None else row[column]
        stored = reuse_shifts and set(MOVES) <= set(frame.columns)
        shifts = frame[list(MOVES)] if stored else _shifts(meta, study, jobs)
        for column in MOVES:
            frame[column] = shifts[column].to_numpy()
        frame, fired = _apply(_widen(frame), shifts)
        frame, _ = joined(frame, meta["design"]["n_emotions"])  # with rho's interval as a rerun forms it
        _verify(frame, fired, meta, study, verify)
        meta["uneven_check"] = {"withheld": int(fired.sum()), "seconds": time.time() - started}
        write_run(folder, name, frame, meta)
        summary.append({"design": name, "given_before": int((frame["rho_corrected"].notna() | fired).sum()),
                        "withheld": int(fired.sum())})
        print(f"{name}: the check withheld rho_corrected in {int(fired.sum())} data sets ({time.time() - started:.0f} s)",
              flush=True)
    return pd.DataFrame(summary)


def uneven_table(studies: dict[str, list[tuple[dict, pd.DataFrame]]]) -> pd.DataFrame:
    """Per design of each study whose results carry the check: the data sets where rho_corrected was given
    before it, those where it withheld it, how often the withheld intervals covered the noise-free rho, and the
    coverage of the intervals still given."""
    rows = []
    for study, runs in studies.items():
        for meta, f in runs:
            if "norm_shift" not in f:
                continue
            truth = meta["truth"]["free"]
            withheld = f[UNCHECKED[0]].notna()
            given = f["rho_corrected"].notna()
            covers = lambda lo, hi: float(((lo <= truth) & (truth <= hi)).mean()) if len(lo) else np.nan  # noqa: E731
            rows.append({"study": study, "design": meta["design"]["name"], "n_sets": len(f),
                         "given_before": int((given | withheld).sum()), "withheld": int(withheld.sum()),
                         "withheld_covered": covers(f.loc[withheld, UNCHECKED[1]], f.loc[withheld, UNCHECKED[2]]),
                         "before": covers(f[UNCHECKED[1]].fillna(f["corrected_ci_low"])[given | withheld],
                                          f[UNCHECKED[2]].fillna(f["corrected_ci_high"])[given | withheld]),
                         "after": covers(f.loc[given, "corrected_ci_low"], f.loc[given, "corrected_ci_high"]),
                         "median_shift": float(f.loc[given | withheld, "norm_shift"].median())})
    return pd.DataFrame(rows)


def uneven_section(table: pd.DataFrame, tolerance: tuple[float, float], min_given: int = 20) -> list[str]:
    """Markdown for docs/calibration.md: where the check withheld rho_corrected, and what that did to coverage."""
    from rsastats.inference.corrected import MAX_NORM_SHIFT, NORM_SHIFT_Z

    pct = lambda x: "" if not np.isfinite(x) else f"{100 * x:.1f}"  # noqa: E731
    lines = [
        "## Emotion vectors of different lengths",
        "",
        "rho_corrected is not given when the cross-half ratio moves by more than "
        f"{MAX_NORM_SHIFT} and more than {NORM_SHIFT_Z} jackknife standard errors once each emotion's squared norm in "
        "the half RDMs is corrected for its own prompt noise (the variance emotions share at a prompt label excepted) "
        "instead of equalized (`norm_shift`, "
        "`uneven_shrinkage` in `rsastats/inference/corrected.py`; docs/statistics.md, 'Emotion vectors of different "
        "lengths'). The check was applied to every stored data set of the studies above "
        "(`python -m analyses.calibration.uneven {atlas,independent,few}`: the same half splits, no resamples; "
        "data sets rerun through the shipped code agree exactly), so every coverage in this document is that of the "
        "shipped rule. What lower thresholds would do (more `sizes` designs in band, more data sets withheld where "
        "prompts share templates): `python -m analyses.calibration.uneven_threshold`, "
        "reports/calibration/uneven_threshold.csv and docs/statistics.md. Where it withheld rho_corrected:",
        "",
    ]
    for study, part in table.groupby("study", sort=False):
        lines.append(f"- {study}: in {int(part['withheld'].sum())} of {int(part['given_before'].sum())} data sets where "
                     f"rho_corrected was given before, in {int((part['withheld'] > 0).sum())} of {len(part)} designs.")
    shown = table[(table["withheld"] >= 10) | (table["withheld"] >= 0.05 * table["given_before"]) & (table["withheld"] > 0)]
    lines += [
        "",
        "Designs where it withheld rho_corrected in at least 10 data sets or 5% of those where it was given "
        "('covered': how often the withheld intervals covered the noise-free rho; coverage over the data sets "
        "where it was given before and after the check):",
        "",
        "| study | design | given before | withheld | withheld intervals covered % | coverage before % | coverage after % |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in shown.to_dict(orient="records"):
        after = pct(r["after"]) if r["given_before"] - r["withheld"] >= min_given else "given in fewer than 20"
        lines.append(f"| {r['study']} | {r['design']} | {r['given_before']} | {r['withheld']} | "
                     f"{pct(r['withheld_covered'])} | {pct(r['before'])} | {after} |")
    inside = lambda c: int(((c >= tolerance[0]) & (c <= tolerance[1])).sum())  # noqa: E731
    lines.append("")
    for study, part in table[table["study"] != "fewer than 8 emotions"].groupby("study", sort=False):
        before = part[part["given_before"] >= min_given]
        after = part[part["given_before"] - part["withheld"] >= min_given]
        lines.append(f"- {study}, designs within [{100 * tolerance[0]:g}%, {100 * tolerance[1]:g}%] where rho_corrected "
                     f"is given in at least {min_given} data sets: {inside(before['before'])} of {len(before)} before "
                     f"the check, {inside(after['after'])} of {len(after)} after.")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", choices=sorted(FOLDERS))
    parser.add_argument("--folder", default=None)
    parser.add_argument("--designs", nargs="*", default=None)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--verify", type=int, default=2)
    parser.add_argument("--reuse-shifts", action="store_true",
                        help="use the stored norm_shift columns instead of recomputing them (after a threshold change)")
    args = parser.parse_args(argv)
    recheck(args.study, args.folder, jobs=args.jobs, only=args.designs, verify=args.verify,
            reuse_shifts=args.reuse_shifts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
