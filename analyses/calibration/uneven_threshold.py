"""The threshold of the check of uneven shrinkage, chosen on the stored results.

The check (:func:`rsastats.inference.corrected.uneven_shrinkage`) withholds rho_corrected where the move of the
cross-half ratio under noise-free norms (``norm_shift``) exceeds ``MAX_NORM_SHIFT`` and ``z`` jackknife standard
errors (``norm_shift_se``).  Both are stored for every data set of the atlas, the second generative model and the
few-emotions study (``python -m analyses.calibration.uneven``), with the interval the shipped code gives without
the check (``*_unchecked`` where the check fired), so any threshold can be applied to them without a rerun.  This
script writes:

- reports/calibration/uneven_threshold.csv: for each ``z`` (and ``MAX_NORM_SHIFT`` 0.03, 0.05, 0.08), over the
  designs with at least :data:`MIN_CORRECTED_EMOTIONS` emotions where rho_corrected is then given in at least 20
  data sets: how many cover within [92.5%, 97.5%], below and above, the mean |coverage - 95%|, and the share of
  the intervals given without the check that it withholds;
- reports/calibration/uneven_threshold_se.csv: per design, the SD of the move over data sets against the root
  mean square of its jackknife standard error (``se_ratio``): the jackknife, which counts the second-order part of
  the variance twice (as for rho, :mod:`rsastats.inference.degeneracy`), overstates the move's SD, so a threshold in
  jackknife standard errors is a stricter test than its nominal level;
- reports/calibration/uneven_threshold_cli.csv: for the third generative model (:mod:`.cli_model`, whose stored
  results, run through the CLI, do not keep the move), the move recomputed on each data set's own splits and the
  share of data sets where rho_corrected passes the split-half rule that each ``z`` withholds, per design, and the
  mean and SD of the move.

Run:  python -m analyses.calibration.uneven_threshold   (about a minute; reads reports/calibration/{atlas,
independent,few,cli_model}).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.corrected import (DEFAULT_N_SPLITS, MAX_NORM_SHIFT, MIN_CORRECTED_EMOTIONS, MIN_SPLIT_HALF,
                                         CrossHalf, norm_shift)
from rsastats.io import atomic_path

from . import cli_model
from .corrected_jackknife import _draw
from .uneven import FOLDERS
from ..atlas.shipped import run_chunks

__all__ = ["Z_GRID", "SHIFT_GRID", "stored", "threshold_table", "se_ratio_table", "cli_moves", "cli_withheld", "main"]

Z_GRID = (1.0, 1.15, 1.28, 1.4, 1.5, 1.64, 1.96, 2.58)
SHIFT_GRID = (0.03, 0.05, 0.08)
BAND = (0.925, 0.975)
MIN_GIVEN = 20


def stored(folders: dict[str, str] = FOLDERS) -> list[tuple[str, dict, pd.DataFrame]]:
    """``(study, meta, frame)`` of every stored design that carries the check's columns, with
    ``n_emotions >= MIN_CORRECTED_EMOTIONS``, prompts, and the unchecked estimate and interval in
    ``value``/``given``/``low``/``high``."""
    out = []
    for study, folder in folders.items():
        for path in sorted(Path(folder).glob("*.json")):
            if not path.with_suffix(".csv").exists():
                continue
            meta = json.loads(path.read_text())
            frame = pd.read_csv(path.with_suffix(".csv"))
            if ("norm_shift" not in frame or meta["design"].get("vectors_only")
                    or meta["design"]["n_emotions"] < MIN_CORRECTED_EMOTIONS):
                continue
            unchecked = "rho_corrected_unchecked" in frame
            pick = lambda col: frame[col].fillna(frame[f"{col}_unchecked"]) if unchecked else frame[col]  # noqa: E731
            frame = frame.assign(value=pick("rho_corrected"), given=pick("rho_corrected").notna(),
                                 low=pick("corrected_ci_low"), high=pick("corrected_ci_high"))
            out.append((study, meta, frame))
    return out


def _fires(frame: pd.DataFrame, z: float, max_shift: float) -> np.ndarray:
    move, se = frame["norm_shift"].abs(), frame["norm_shift_se"]
    return ((move > max_shift) & (move > z * se)).fillna(False).to_numpy(bool)


def threshold_table(designs: list[tuple[str, dict, pd.DataFrame]]) -> pd.DataFrame:
    """One row per threshold pair (module docstring)."""
    rows = []
    for max_shift in SHIFT_GRID:
        for z in Z_GRID:
            coverage, given_all, kept_all = [], 0, 0
            for _, meta, f in designs:
                truth = meta["truth"]["free"]
                kept = f["given"].to_numpy(bool) & ~_fires(f, z, max_shift)
                given_all += int(f["given"].sum())
                kept_all += int(kept.sum())
                if kept.sum() >= MIN_GIVEN:
                    hit = (f["low"] <= truth) & (truth <= f["high"])
                    coverage.append(float(hit[kept].mean()))
            c = np.array(coverage)
            rows.append({"max_shift": max_shift, "z": z, "designs": len(c),
                         "in_band": int(((c >= BAND[0]) & (c <= BAND[1])).sum()), "below": int((c < BAND[0]).sum()),
                         "above": int((c > BAND[1]).sum()), "mean_abs_error": float(np.abs(c - 0.95).mean()),
                         "withheld_share": 1.0 - kept_all / given_all})
    return pd.DataFrame(rows)


def se_ratio_table(designs: list[tuple[str, dict, pd.DataFrame]], min_sets: int = 50) -> pd.DataFrame:
    """Per design (split-half rule reached, the move defined, at least ``min_sets`` data sets): the SD of the
    move over data sets, the root mean square of its jackknife SE, and their ratio."""
    rows = []
    for study, meta, f in designs:
        ok = (np.minimum(f["split_half_a"], f["split_half_b"]) >= MIN_SPLIT_HALF) & f["norm_shift"].notna() \
            & f["norm_shift_se"].notna()
        if ok.sum() < min_sets:
            continue
        sd = float(f.loc[ok, "norm_shift"].std())
        rms = float(np.sqrt((f.loc[ok, "norm_shift_se"] ** 2).mean()))
        rows.append({"study": study, "design": meta["design"]["name"], "n_emotions": meta["design"]["n_emotions"],
                     "n_sets": int(ok.sum()), "move_sd": sd, "se_rms": rms, "se_ratio": rms / sd if sd > 0 else np.nan})
    return pd.DataFrame(rows)


def _cli_chunk(args: tuple) -> list[dict]:
    meta, indices = args
    get = _draw("cli", meta)
    pair = np.array([[0, 1]])
    rows = []
    for i in indices:
        models, split_seed = get(i)
        halves = CrossHalf(models, "spearman", "cosine", DEFAULT_N_SPLITS, split_seed)
        point, aa = halves.corrected(None, pair)
        shift, se = norm_shift(halves, pair, point[0], halves.leave_one_out(pair))
        rows.append({"i": i, "norm_shift": float(shift[0]), "norm_shift_se": float(se[0]),
                     "split_half": float(aa[0].min())})
    return rows


def cli_moves(folder: str = cli_model.FOLDER, jobs: int = 2) -> pd.DataFrame:
    """The check's move and its SE for every stored data set of the third model (on its own splits)."""
    parts = []
    for path in sorted(Path(folder).glob("*.json")):
        meta = json.loads(path.read_text())
        got = pd.DataFrame(run_chunks(_cli_chunk, meta, list(range(meta["n_sets"])), jobs))
        parts.append(got.assign(design=meta["design"]["name"]))
    return pd.concat(parts, ignore_index=True)


def cli_withheld(moves: pd.DataFrame) -> pd.DataFrame:
    """Per design and ``z`` (``MAX_NORM_SHIFT`` as shipped): the share of the data sets past the split-half rule
    whose rho_corrected the check withholds, and the mean and SD of the move (the noise-free-norm ratio less the
    shipped one)."""
    past = moves[moves["split_half"] >= MIN_SPLIT_HALF]
    rows = [{"design": design, "z": z, "n_sets": len(g), "withheld_share": float(_fires(g, z, MAX_NORM_SHIFT).mean()),
             "mean_move": float(g["norm_shift"].mean()), "sd_move": float(g["norm_shift"].std())}
            for design, g in past.groupby("design", sort=False) for z in Z_GRID]
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="reports/calibration/uneven_threshold.csv")
    parser.add_argument("--se-out", default="reports/calibration/uneven_threshold_se.csv")
    parser.add_argument("--cli-out", default="reports/calibration/uneven_threshold_cli.csv")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    designs = stored()
    table, ratios, cli = threshold_table(designs), se_ratio_table(designs), cli_withheld(cli_moves(jobs=args.jobs))
    for data, out in ((table, args.out), (ratios, args.se_out), (cli, args.cli_out)):
        with atomic_path(Path(out)) as tmp:
            data.to_csv(tmp, index=False, float_format="%.4f")
    for r in table[table["max_shift"] == 0.05].itertuples():
        print(f"z {r.z}: {r.in_band} of {r.designs} designs in band, {r.below} below, {r.above} above, mean error "
              f"{100 * r.mean_abs_error:.2f} points, withholds {100 * r.withheld_share:.1f}% of the intervals")
    big = ratios[ratios["n_emotions"] >= 12]["se_ratio"]
    print(f"jackknife SE / SD of the move, designs with >= 12 emotions ({len(big)}): {big.min():.2f}-{big.max():.2f}, "
          f"median {big.median():.2f}")
    for design, g in cli.groupby("design", sort=False):
        print(f"third model {design}: withheld " + ", ".join(f"{100 * r.withheld_share:.1f}% at z {r.z}"
                                                            for r in g.itertuples() if r.z in (1.28, 1.4, 1.96)))
    return table


if __name__ == "__main__":
    main()
