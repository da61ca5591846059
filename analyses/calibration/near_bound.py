"""Measured and not adopted: rho_corrected's BCa interval near the bound, rescaled to the jackknife's width.

Near the bound 1 rho_corrected's interval is the BCa interval of 2,000 emotion resamples
(:func:`rsastats.inference.corrected_ci.bca_near_bound`), and the designs above [92.5%, 97.5%] are all there
(docs/calibration.md).  Is it too wide?  For every stored data set whose shipped interval is BCa, this script
recomputes on the same half splits and the same resamples (the stored BCa interval is reproduced, checked to
1e-9):

- ``boot_sd``: the SD of the emotion-bootstrap ratios, against ``jack_se`` (the jackknife standard error with the
  split variance, ``sqrt(V + split variance)``) and, per design, ``ratio_sd``, the SD of the (unclipped) ratio over
  these data sets (over the whole design where ``bca_share``, the share of given intervals that are BCa, is near 1);
- ``rescaled``: BCa of the replicates moved about the estimate to the jackknife's width,
  ``r + (r*_b - r) jack_se / boot_sd`` (the bootstrap's shape and the jackknife's scale; the leave-one-out values
  moved alike, so the acceleration is unchanged);
- ``rescaled_c``: the same with the second-order-corrected jackknife variance (as the shipped jackknife-t);
- ``hull``: BCa with its lower end lowered to the raw-scale jackknife-t end ``r - t sqrt(V_c + split variance)``
  where that is lower (``t`` of ``n - 1`` degrees of freedom, ``V_c`` the second-order-corrected variance), for
  BCa intervals that collapse onto the bound when most resampled ratios reach 1;
- ``bca_final`` and ``rescaled_final``: ``bca`` (the shipped interval) and ``rescaled`` finished as shipped --
  widened toward the check's move and the sign-flip worlds' bias with each data set's stored amounts
  and then joined with rho's interval where narrow at the bound (:func:`analyses.calibration.widen.finished`): does
  the shipped widening make up for the narrower rescaled interval where the estimator is biased (added 2026-12-06)?

Besides the table per design, reports/calibration/near_bound_width.csv gives the coverage of the BCa intervals
pooled over the designs by their width, those that reach 1 apart.

Run:  python -m analyses.calibration.near_bound [--sets 200] [--min-share 0.3]   (about 7 min on 2 cores).
Writes reports/calibration/near_bound.csv (one row per design) and near_bound_width.csv.  With ``--worlds`` it writes
instead reports/calibration/world_bias_error.csv (:func:`world_bias_table`, from the stored results, seconds).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from rsastats.inference.corrected import DEFAULT_N_SPLITS, CrossHalf
from rsastats.inference.corrected_ci import bca_near_bound
from rsastats.inference.degeneracy import leave_two_out_excess, leave_two_out_weights
from rsastats.inference.engine import ResamplingEngine
from rsastats.inference.settings import streams
from rsastats.intervals.jackknife import corrected_variance
from rsastats.io import atomic_path

from ..atlas.shipped import run_chunks
from .corrected_jackknife import _rate
from .join_bound import joined_unrecorded
from .uneven import FOLDERS, _source, unwidened
from .uneven_threshold import stored
from .widen import finished

__all__ = ["VARIANTS", "WIDTH_BINS", "near_bound_intervals", "design_row", "width_table", "main"]

VARIANTS = ("bca", "rescaled", "rescaled_c", "hull", "bca_final", "rescaled_final")
WIDTH_BINS = (0.0, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 2.0)
PAIR = np.array([[0, 1]])


def near_bound_intervals(models: list, seq: np.random.SeedSequence, n_boot: int, confidence: float = 0.95) -> dict:
    """The shipped BCa interval of one data set and its rescaled variants (module docstring)."""
    seeds = streams(seq)
    halves = CrossHalf(models, "spearman", "cosine", DEFAULT_N_SPLITS, seeds.splits)
    n = halves.n_emotions
    point = float(halves.corrected(None, PAIR)[0][0][0])
    jack = halves.leave_one_out(PAIR)[:, 0]
    counts, _ = ResamplingEngine(models, rank="spearman", scheme="emotions", rdm_method="cosine").draws(n_boot,
                                                                                                      seeds.corrected)
    reps = halves.emotion_resamples(counts, PAIR)[:, 0]
    split = float(halves.split_variance(PAIR)[0])
    v = (n - 1) / n * ((jack - jack.mean()) ** 2).sum()
    two = halves.batched(leave_two_out_weights(n), PAIR)[:, 0]
    v_c = corrected_variance(v, leave_two_out_excess(point, jack, two), n)
    boot_sd = float(np.nanstd(reps, ddof=1))
    out = {"point": point, "boot_sd": boot_sd, "jack_se": float(np.sqrt(v + split))}
    scales = (("bca", 1.0), ("rescaled", np.sqrt(v + split) / boot_sd), ("rescaled_c", np.sqrt(v_c + split) / boot_sd))
    for name, scale in scales:
        low, high, _ = bca_near_bound(point, point + scale * (reps - point), point + scale * (jack - point), confidence)
        out[f"{name}_low"], out[f"{name}_high"] = low, high
    t = float(stdtrit(n - 1, 0.5 + confidence / 2))
    out["hull_low"], out["hull_high"] = min(out["bca_low"], point - t * np.sqrt(v_c + split)), out["bca_high"]
    return out


def _chunk(args: tuple) -> list[dict]:
    (meta, study), indices = args
    draw, _, _, seqs = _source(meta, study)
    return [{"i": i, **near_bound_intervals(draw(seqs[i]), seqs[i], meta["n_boot"])} for i in indices]


def design_row(study: str, path: Path, n_sets: int, min_share: float, jobs: int = 2) -> dict | None:
    """One design's row (its data sets' BCa intervals and truth under ``"sets"``), or None where fewer than
    ``min_share`` of the given intervals (or 20) are BCa."""
    meta = json.loads(path.read_text())
    frame = unwidened(pd.read_csv(path.with_suffix(".csv")))  # the BCa interval as computed, before the widening
    if meta["design"].get("vectors_only") or "corrected_note" not in frame:
        return None
    bca = frame["rho_corrected"].notna() & frame["corrected_note"].astype(str).str.startswith("BCa")
    if bca.sum() < max(20, min_share * frame["rho_corrected"].notna().sum()):
        return None
    picks = list(np.flatnonzero(bca.to_numpy())[:n_sets])
    got = pd.DataFrame(run_chunks(_chunk, (meta, study), picks, jobs))
    stored = frame.iloc[picks].reset_index(drop=True)
    check = ~joined_unrecorded(stored)  # recomputed, but no pre-join interval is stored to check them against
    if not (np.allclose(stored["corrected_ci_low"][check], got["bca_low"][check], rtol=0, atol=1e-9)
            and np.allclose(stored["corrected_ci_high"][check], got["bca_high"][check], rtol=0, atol=1e-9)):
        raise RuntimeError(f"{path}: the recomputed BCa interval differs from the stored one (rerun the study first)")
    for name in ("bca", "rescaled"):
        got[f"{name}_final_low"], got[f"{name}_final_high"] = finished(got[f"{name}_low"], got[f"{name}_high"], stored)
    truth = meta["truth"]["free"]
    row = {"study": study, "design": meta["design"]["name"], "n_bca": len(got), "truth": truth,
           "bca_share": float(bca.sum() / frame["rho_corrected"].notna().sum()),
           "ratio_sd": float(got["point"].std()), "jack_se": float(got["jack_se"].median()),
           "boot_sd": float(got["boot_sd"].median())}
    for name in VARIANTS:
        low, high = got[f"{name}_low"], got[f"{name}_high"]
        given = low.notna() & high.notna()
        row.update({f"{name}_{k}": v for k, v in _rate(low[given], high[given], truth).items()})
    row["sets"] = got.assign(truth=truth)[["bca_low", "bca_high", "truth"]]
    print(f"{study} {row['design']}: {len(got)} BCa, boot SD {row['boot_sd']:.3f}, jackknife {row['jack_se']:.3f}, "
          f"ratio SD {row['ratio_sd']:.3f}; coverage "
          + ", ".join(f"{k} {100 * row[f'{k}_coverage']:.1f}" for k in VARIANTS),
          flush=True)
    return row


def width_table(sets: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the BCa intervals pooled over designs, by width (``WIDTH_BINS``), those reaching 1 apart."""
    sets = sets.assign(width=pd.cut(sets["bca_high"] - sets["bca_low"], WIDTH_BINS, include_lowest=True).astype(str),
                       at_bound=sets["bca_high"] >= 1.0,
                       covered=(sets["bca_low"] <= sets["truth"]) & (sets["truth"] <= sets["bca_high"]))
    return (sets.groupby(["at_bound", "width"], sort=True).agg(n=("covered", "size"), coverage=("covered", "mean"))
            .reset_index())


def world_bias_table(folder: str = FOLDERS["atlas"]) -> pd.DataFrame:
    """Per stored design with rho_corrected given in at least 20 data sets: the median bias the sign-flip worlds read
    (``world_bias``, the amount the shipped widening moves the interval toward) against rho_corrected's mean error
    (the unchecked value less the noise-free truth): is the worlds' reading right near the bound?  Seconds: reads
    the stored results only (:func:`~analyses.calibration.uneven_threshold.stored`)."""
    rows = []
    for _, meta, frame in stored({"atlas": folder}):
        given = frame["given"]
        if "world_bias" not in frame or given.sum() < 20:
            continue
        truth = meta["truth"]["free"]
        rows.append({"design": meta["design"]["name"], "given": int(given.sum()), "truth": truth,
                     "mean_error": float(frame.loc[given, "value"].mean() - truth),
                     "world_bias_median": float(frame.loc[given, "world_bias"].median()),
                     "world_bias_se_median": float(frame.loc[given, "world_bias_se"].median())})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=200, help="at most this many BCa data sets per design")
    parser.add_argument("--min-share", type=float, default=0.3, help="designs where at least this share is BCa")
    parser.add_argument("--studies", nargs="*", default=["atlas", "independent"])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="reports/calibration/near_bound.csv")
    parser.add_argument("--worlds", action="store_true", help="only the worlds' bias against the error "
                        "(reports/calibration/world_bias_error.csv; seconds)")
    args = parser.parse_args(argv)
    if args.worlds:
        table = world_bias_table()
        with atomic_path(Path(args.out).with_name("world_bias_error.csv")) as tmp:
            table.to_csv(tmp, index=False, float_format="%.4f")
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        return table
    rows = [row for study in args.studies for path in sorted(Path(FOLDERS[study]).glob("*.json"))
            if (row := design_row(study, path, args.sets, args.min_share, args.jobs)) is not None]
    widths = width_table(pd.concat([row.pop("sets") for row in rows], ignore_index=True))
    table = pd.DataFrame(rows)
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    with atomic_path(Path(args.out).with_name(Path(args.out).stem + "_width.csv")) as tmp:
        widths.to_csv(tmp, index=False, float_format="%.4f")
    for r in widths.itertuples():
        print(f"BCa width {r.width} ({'reaching 1' if r.at_bound else 'below 1'}): {r.n} intervals cover "
              f"{100 * r.coverage:.1f}%")
    band = lambda c: int(((c >= 0.925) & (c <= 0.975)).sum())  # noqa: E731
    for name in VARIANTS:
        c = table[f"{name}_coverage"]
        print(f"{name}: {band(c)} of {len(table)} designs within [92.5%, 97.5%], {(c < 0.925).sum()} below, "
              f"{(c > 0.975).sum()} above")
    ratio = table["boot_sd"] / table["ratio_sd"]
    print(f"bootstrap SD / SD of the ratio over data sets: {ratio.min():.2f}-{ratio.max():.2f} "
          f"(median {ratio.median():.2f})")
    return table


if __name__ == "__main__":
    main()
