"""Interval methods for rho_corrected, formed from the shipped estimator's own resamples on the atlas's data sets.

``python -m analyses.calibration.corrected_methods --sets 120`` takes the first ``--sets`` data sets of every
atlas design with prompts (the data sets of ``reports/calibration/atlas``: same seeds), computes rho_corrected,
its 2000 emotion-bootstrap replicates and its leave-one-emotion-out values exactly as
:func:`rsastats.inference.compare_models` does (the noise-equalized cross-half ratio, the same split and
resample streams; checked: the BCa interval formed here equals ``compare_models``' on the first data sets of
each design where ``compare_models`` uses BCa), and forms from them:

- ``bca``: the interval shipped until 2026-12-04, now shipped near the bound only (BCa, clipped to [-1, 1];
  :mod:`rsastats.inference.corrected_ci`);
- ``percentile``: the 2.5% and 97.5% quantiles of the replicates;
- ``normal-boot``: estimate -+ 1.96 x the replicates' SD;
- ``jackknife-t``: estimate -+ t(n-1) x the jackknife SE (raw scale; the ratio can exceed 1, so not on the
  Fisher-z scale);
- ``jackknife-t-bc``: the same around the jackknife bias-corrected estimate;
- ``bca-jackknife-scale``: BCa of the replicates' deviations rescaled to the jackknife SE.

It also reports the estimator's SD over data sets (its true sampling SD at the design) against the mean
bootstrap SD and jackknife SE.  Writes ``reports/calibration/corrected_methods.csv`` (one row per design).
Used by docs/statistics.md ("Why BCa for rho_corrected").
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import stdtrit

from rsastats.exceptions import RsaStatsWarning
from rsastats.inference import compare_models
from rsastats.inference.ceiling import DEFAULT_N_SPLITS
from rsastats.inference.corrected import MIN_SPLIT_HALF, NEAR_BOUND_CI, CrossHalf
from rsastats.inference.engine import ResamplingEngine
from rsastats.inference.settings import streams
from rsastats.intervals import bootstrap_interval
from rsastats.intervals.jackknife import jackknife_se
from rsastats.io import atomic_path
from rsastats.rng import spawn_sequences

from ..atlas.designs import ATLAS
from ..atlas.model import Design, Population
from ..atlas.shipped import model_inputs, run_chunks
from .studies import binomial_ci

__all__ = ["METHODS", "resamples", "intervals", "run", "main"]

ATLAS_FOLDER = Path("reports/calibration/atlas")
OUT = Path("reports/calibration/corrected_methods.csv")
METHODS = ("bca", "percentile", "normal-boot", "jackknife-t", "jackknife-t-bc", "bca-jackknife-scale")
N_CHECKED = 3  # data sets per design whose BCa interval is checked against compare_models' (where it uses BCa)


def resamples(models, seq, n_boot: int) -> tuple[float, np.ndarray, np.ndarray] | None:
    """(estimate, bootstrap replicates, leave-one-emotion-out values) of rho_corrected as ``compare_models(...,
    seed=seq)`` computes them (:func:`rsastats.inference.corrected.corrected_rhos`), or None where its rule
    withholds it (a split-half correlation below ``MIN_SPLIT_HALF``)."""
    seeds = streams(seq)
    pairs = np.array([[0, 1]])
    halves = CrossHalf(models, "spearman", "cosine", DEFAULT_N_SPLITS, seeds.splits)
    point, aa = halves.corrected(None, pairs)
    if not min(aa[0]) >= MIN_SPLIT_HALF:
        return None
    counts, _ = ResamplingEngine(models, rank="spearman", scheme="emotions", rdm_method="cosine").draws(n_boot,
                                                                                                      seeds.corrected)
    reps, jack = halves.emotion_resamples(counts, pairs), halves.leave_one_out(pairs)
    return float(point[0, 0]), reps[:, 0], jack[:, 0]


def _clip(low: float, high: float) -> tuple[float, float]:
    return float(np.clip(low, -1.0, 1.0)), float(np.clip(high, -1.0, 1.0))


def intervals(est: float, reps: np.ndarray, jack: np.ndarray) -> dict[str, tuple[float, float]]:
    """Every interval of :data:`METHODS` (95%) from one data set's resamples."""
    reps, jack = reps[np.isfinite(reps)], jack[np.isfinite(jack)]
    n = jack.size
    se, sd = jackknife_se(jack, "raw"), float(reps.std(ddof=1))
    t = float(stdtrit(n - 1, 0.975))
    bca = bootstrap_interval(est, reps, method=NEAR_BOUND_CI, confidence=0.95, jackknife=[jack])
    scaled = est + (reps - est) * (se / sd)
    bca_j = bootstrap_interval(est, scaled, method="bca", confidence=0.95, jackknife=[jack])
    centre = n * est - (n - 1) * float(jack.mean())
    q = np.quantile(reps, [0.025, 0.975])
    return {"bca": _clip(bca.low, bca.high), "percentile": _clip(q[0], q[1]),
            "normal-boot": _clip(est - 1.96 * sd, est + 1.96 * sd), "jackknife-t": _clip(est - t * se, est + t * se),
            "jackknife-t-bc": _clip(centre - t * se, centre + t * se),
            "bca-jackknife-scale": _clip(bca_j.low, bca_j.high)}


def _chunk(args: tuple) -> list[dict]:
    design, seqs, n_boot = args
    pop = Population.of(design)
    rows = []
    for k, (index, seq) in enumerate(seqs):
        a, b = model_inputs(pop.draw(np.random.default_rng(seq)), design)
        got = resamples([a, b], seq, n_boot)
        if got is None:
            rows.append({"index": index, "given": False})
            continue
        est, reps, jack = got
        row = {"index": index, "given": True, "estimate": est, "boot_sd": float(np.nanstd(reps, ddof=1)),
               "jackknife_se": jackknife_se(jack[np.isfinite(jack)], "raw")}
        for method, (low, high) in intervals(est, reps, jack).items():
            row[f"{method}_low"], row[f"{method}_high"] = low, high
        if index < N_CHECKED:  # the shipped output, for the check
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RsaStatsWarning)
                res = compare_models(a, b, n_boot=n_boot, permutations=19, seed=seq)
            if res.rho_corrected is not None and res.corrected_ci_method == NEAR_BOUND_CI and not np.allclose(
                    [res.corrected_ci_low, res.corrected_ci_high], [row["bca_low"], row["bca_high"]], rtol=0, atol=1e-12):
                raise RuntimeError(f"{design.name} data set {index}: the BCa interval differs from compare_models'")
        rows.append(row)
    return rows


def run(n_sets: int, *, jobs: int = 2, folder: Path = ATLAS_FOLDER, only: list[str] | None = None) -> pd.DataFrame:
    """One row per design: coverage of each method (with Clopper-Pearson bounds), mean width, the estimator's
    SD over data sets, the mean bootstrap SD and jackknife SE."""
    out = []
    for base in ATLAS:
        path = folder / f"{base.name}.json"
        if base.vectors_only or not path.exists() or (only and base.name not in only):
            continue
        started = time.time()
        meta = json.loads(path.read_text())
        design = Design(**{**meta["design"], "sigma": meta["truth"]["sigma"]})
        seqs = spawn_sequences(np.random.SeedSequence([meta["seed"], design.seed]), meta["n_sets"])[:n_sets]
        frame = pd.DataFrame(run_chunks(_chunk, design, list(enumerate(seqs)), jobs, meta["n_boot"]))
        given = frame[frame["given"]]
        truth = meta["truth"]["free"]
        row = {"design": base.name, "n_sets": len(frame), "n_given": len(given), "truth": truth}
        if len(given):
            row.update({"bias": float(given["estimate"].mean() - truth), "true_sd": float(given["estimate"].std()),
                        "boot_sd": float(given["boot_sd"].median()), "jackknife_se": float(given["jackknife_se"].mean())})
        for method in METHODS:
            if not len(given):
                break
            hit = (given[f"{method}_low"] <= truth) & (truth <= given[f"{method}_high"])
            low, high = binomial_ci(int(hit.sum()), len(given))
            row.update({method: float(hit.mean()), f"{method}_cp_low": low, f"{method}_cp_high": high,
                        f"{method}_width": float((given[f"{method}_high"] - given[f"{method}_low"]).mean())})
        out.append(row)
        print(f"{base.name}: {len(given)} of {len(frame)} given, {time.time() - started:.0f} s", flush=True)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(prog="python -m analyses.calibration.corrected_methods",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=120, help="data sets per design (the atlas's first ones)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="design names (default: every atlas design)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    table = run(args.sets, jobs=args.jobs, only=args.only)
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    return table


if __name__ == "__main__":
    main()
