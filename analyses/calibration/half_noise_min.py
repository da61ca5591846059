"""Which half takes its own noise estimate at 5 to 7 prompts per emotion (issue 14; 2026-12-07).

Since 2026-12-07 each half RDM of rho_corrected is equalized with the prompt noise its own prompts estimate where the
half holds at least :data:`rsastats.inference.equalize.HALF_NOISE_MIN` (3) of the emotion's prompts, with all the
prompts' estimate below.  With 5 prompts per emotion one half of 3 takes its own estimate (2 degrees of freedom) and
the half of 2 the all-prompts one; with 6, both halves their own.  No stored study had 5 to 7 prompts per emotion
(the atlas has 3, 4, 8, 20 and 50), so this study runs designs of the second generative model
(:mod:`analyses.calibration.independent`: equal or emotion-specific noise levels, Gaussian or Student-t prompt noise)
at 5, 6 and 7 prompts per emotion through :func:`rsastats.inference.compare_models` with its defaults, twice on the
same data sets: with the shipped minimum and with the all-prompts estimate in every half (the rule before
2026-12-07; a minimum of 4 is the same at 5 and 6 prompts).  rho_corrected's coverage is that of its estimand, the
design's noise-free rho (Monte Carlo over ``--n-mc`` fresh data sets, :func:`analyses.calibration.independent.truths`,
as in docs/calibration.md's table of the second model), and, apart, of each data set's own noise-free rho (the
cosine RDMs of its emotion means), which the interval over-covers since it also holds the variation over emotion
samples.

    python -m analyses.calibration.half_noise_min [--sets 200] [--n-mc 4000] [--jobs 2]

Writes reports/calibration/half_noise_min.csv (one row per design and minimum) and half_noise_min_sets.csv (the
outputs per data set), and prints the table as Markdown.
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.rng import spawn_sequences

from .independent import Design, _chunk, truths
from .studies import binomial_ci

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "reports" / "calibration" / "half_noise_min.csv"
NEVER = 10 ** 9  # a minimum no half reaches: every half takes all the prompts' estimate (the rule before 2026-12-07)
MINIMUMS = (3, NEVER)  # the shipped minimum first
SET_COLUMNS = ("design", "minimum", "set", "rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low",
               "corrected_ci_high", "split_half_a", "split_half_b", "rho_free")
DESIGNS = [
    Design("n21-P5-equal", 21, 5, 4.5),
    Design("n21-P6-equal", 21, 6, 5.0),
    Design("n21-P5-hetero", 21, 5, 4.5, hetero=0.6),
    Design("n21-P6-hetero", 21, 6, 5.0, hetero=0.6),
    Design("n21-P7-hetero", 21, 7, 5.5, hetero=0.6),
    Design("n21-P6-hetero-t3", 21, 6, 5.0, hetero=0.6, tails=True),
    Design("n12-P6-equal", 12, 6, 4.0),
    Design("n40-P6-hetero", 40, 6, 5.0, hetero=0.6),
    # less prompt noise: split-half correlations of about 0.7 instead of 0.35-0.6
    Design("n21-P5-hetero-low", 21, 5, 2.5, hetero=0.6),
    Design("n21-P6-equal-low", 21, 6, 3.0),
    Design("n21-P6-hetero-t3-low", 21, 6, 3.0, hetero=0.6, tails=True),
]


def rows(args: tuple) -> list[dict]:
    """The shipped outputs of data sets ``0 .. n_sets - 1`` of ``design`` with ``HALF_NOISE_MIN = minimum`` (set in
    this worker process and restored), each with its own noise-free rho."""
    import rsastats.inference.equalize as equalize

    design, minimum, n_sets, seed, n_boot = args
    seqs = spawn_sequences(np.random.SeedSequence([seed, design.seed, design.n_emotions, design.n_prompts]), n_sets)
    kept, equalize.HALF_NOISE_MIN = equalize.HALF_NOISE_MIN, minimum
    try:
        got = _chunk((design, seqs, n_boot))
    finally:
        equalize.HALF_NOISE_MIN = kept
    return [{"design": design.name, "minimum": minimum, "set": i, **row} for i, row in enumerate(got)]


def summary(frame: pd.DataFrame, free: dict[str, float]) -> pd.DataFrame:
    """Per design and minimum: where rho_corrected is given, its coverage of the design's noise-free rho ``free[design]``
    with a Clopper-Pearson interval and the misses on either side, its coverage of each data set's own noise-free rho,
    its mean error against the design's noise-free rho and the error's SD, the mean width, and the median split-half
    correlation."""
    out = []
    for (name, minimum), g in frame.groupby(["design", "minimum"], sort=False):
        given, truth = g[g["rho_corrected"].notna()], free[name]
        low_end, high_end = given["corrected_ci_low"], given["corrected_ci_high"]
        k, n = int(((low_end <= truth) & (truth <= high_end)).sum()), len(given)
        low, high = binomial_ci(k, n) if n else (np.nan, np.nan)
        own = ((low_end <= given["rho_free"]) & (given["rho_free"] <= high_end)).mean() if n else np.nan
        error = given["rho_corrected"] - truth
        out.append({"design": name, "minimum": "all prompts" if minimum == NEVER else str(minimum), "n_sets": len(g),
                    "free": truth, "given": n, "coverage": k / n if n else np.nan, "cp_low": low, "cp_high": high,
                    "miss_high": int((low_end > truth).sum()), "miss_low": int((high_end < truth).sum()),
                    "own_coverage": own, "bias": error.mean(), "sd": error.std(ddof=1),
                    "width": (high_end - low_end).mean(), "split_half": g["split_half_a"].median()})
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame) -> str:
    lines = ["| design | minimum | noise-free rho | given | coverage % [CP 95%] | misses high / low | "
             "own rho covered % | mean error | SD | width | split-half |", "|---" * 11 + "|"]
    for r in table.to_dict(orient="records"):
        lines.append(f"| {r['design']} | {r['minimum']} | {r['free']:.3f} | {r['given']} of {r['n_sets']} | "
                     f"{100 * r['coverage']:.1f} [{100 * r['cp_low']:.1f}, {100 * r['cp_high']:.1f}] | "
                     f"{r['miss_high']} / {r['miss_low']} | {100 * r['own_coverage']:.1f} | {r['bias']:+.3f} | "
                     f"{r['sd']:.3f} | {r['width']:.3f} | {r['split_half']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(prog="python -m analyses.calibration.half_noise_min",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=200)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--n-mc", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    started = time.perf_counter()
    tasks = [(d, m, args.sets, args.seed, args.n_boot) for d in DESIGNS for m in MINIMUMS]
    with ProcessPoolExecutor(args.jobs) as pool:  # one task per design and minimum: the same rows for any --jobs
        free = {d.name: t["free"] for d, t in zip(DESIGNS, pool.map(truths, DESIGNS, [args.n_mc] * len(DESIGNS)))}
        frame = pd.DataFrame([r for part in pool.map(rows, tasks) for r in part])
    table = summary(frame, free)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, float_format="%.4f")
    frame[list(SET_COLUMNS)].to_csv(args.out.with_name(args.out.stem + "_sets.csv"), index=False, float_format="%.6g")
    print(markdown(table))
    print(f"{len(frame)} data sets in {time.perf_counter() - started:.0f} s")
    return table


if __name__ == "__main__":
    main()
