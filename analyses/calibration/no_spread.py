"""rho's interval where no leave-one-out value moves rho: nearly identical models (issue 14).

One model read at two precisions, or a base and an instruct model that differ in a handful of distances, give two RDMs
of the same rank order on most subsets of emotions: rho is 1 and so is every leave-one-emotion-out rho, although a new
sample of emotions or prompts would sometimes break a tie, so the truth (rho's mean over such samples) lies just below
1.  Before 2026-12-06 the interval then had width 0 and missed the truth every time.  The shipped rule
(:func:`rsastats.intervals.jackknife_interval`, docs/statistics.md 'No spread') takes the standard error from the
leave-one-prompt-out values (:mod:`rsastats.inference.prompt_jackknife`), and gives no interval where those do not move
rho either.

The model: emotions ``mu = loadings @ basis + specific + common`` (3 latent factors, 64 dimensions, as
:func:`rsastats.simulate.true_vectors`; fresh loadings and specific parts per data set, the basis and the common part
fixed), prompts ``mu + 0.5 eps`` for model A, and model B = model A plus ``diff * 0.5 eps'`` (the second precision's
rounding: ``diff`` the share of the prompt noise).  The truth is the mean rho of ``--truth`` fresh data sets; each data
set's interval is :func:`analyses.calibration.at_bound.interval` (rho's default interval as ``compare_models`` gives
it, tested there), before (width 0 where nothing moves rho) and shipped.

Run:  python -m analyses.calibration.no_spread [--sets 200] [--truth 3000] [--jobs 2]   (about 10 minutes on 2 cores).
Writes reports/calibration/no_spread.csv.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.rng import spawn_sequences

from ..atlas.model import cosine_cells, spearman
from .at_bound import interval
from .independent import _inputs
from .studies import binomial_ci, grid_main, map_chunks

__all__ = ["DESIGNS", "draw", "truth", "design_row", "main"]

OUT = Path("reports/calibration/no_spread.csv")
HIDDEN, FACTORS, NOISE = 64, 3, 0.5
# (emotions, prompts, diff): diff is model B's extra noise as a share of the prompt noise
DESIGNS = tuple((n, p, d) for n in (6, 8, 12, 21) for p in (4, 8, 20) for d in (0.01, 0.1, 0.3))


class _Population:
    def __init__(self, seed: int = 7):
        rng = np.random.default_rng(seed)
        self.basis = rng.standard_normal((FACTORS, HIDDEN)) / np.sqrt(HIDDEN)
        self.common = rng.standard_normal(HIDDEN) / np.sqrt(HIDDEN)


def draw(pop: _Population, n: int, p: int, diff: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Prompts (n, p, HIDDEN) of models A and B."""
    mu = (rng.standard_normal((n, FACTORS)) @ pop.basis + 0.5 * rng.standard_normal((n, HIDDEN)) / np.sqrt(HIDDEN)
          + pop.common)
    x = mu[:, None, :] + NOISE * rng.standard_normal((n, p, HIDDEN)) / np.sqrt(HIDDEN)
    return x, x + diff * NOISE * rng.standard_normal(x.shape) / np.sqrt(HIDDEN)


def truth(n: int, p: int, diff: float, n_mc: int) -> float:
    """rho as measured, averaged over ``n_mc`` fresh data sets."""
    pop, rng = _Population(), np.random.default_rng([11, n, p, int(diff * 1000)])
    return float(np.mean([spearman(*(cosine_cells(x.mean(axis=1)) for x in draw(pop, n, p, diff, rng)))
                          for _ in range(n_mc)]))


def _chunk(args: tuple) -> list[dict]:
    n, p, diff, seqs = args
    pop, out = _Population(), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seq in seqs:
            x, y = draw(pop, n, p, diff, np.random.default_rng(seq))
            out.append(interval(*_inputs(np.stack([x, y]), np.ones((n, p), bool))))
    return out


def design_row(n: int, p: int, diff: float, sets: int, n_mc: int, jobs: int = 2) -> dict:
    """Per design: the truth, the share of data sets without spread, and the coverage before and shipped (a missing
    interval counts as a miss), with Clopper-Pearson bounds."""
    seqs = spawn_sequences(np.random.SeedSequence([2026, n, p, int(diff * 1000)]), sets)
    got, target = pd.DataFrame(map_chunks(_chunk, (n, p, diff), seqs, jobs)), truth(n, p, diff, n_mc)
    flat = got["no_spread"].to_numpy(bool)
    shown = np.isfinite(got["shipped_low"]).to_numpy()
    row = {"n_emotions": n, "n_prompts": p, "diff": diff, "sets": sets, "truth": target, "no_spread": flat.mean(),
           "shown": shown.mean()}
    # before: the raw scale from 8 emotions (shipped since 2026-12-06), width 0 where nothing moved rho
    low = np.where(flat, got["rho"], np.where(n >= 8, got["raw_low"], got["fisher-z_low"]))
    high = np.where(flat, got["rho"], np.where(n >= 8, got["raw_high"], got["fisher-z_high"]))
    for kind, (lo, hi) in {"before": (low, high), "shipped": (got["shipped_low"], got["shipped_high"])}.items():
        hit = ((np.asarray(lo) <= target) & (target <= np.asarray(hi)))
        cp = binomial_ci(int(hit.sum()), len(hit))
        row |= {f"{kind}_coverage": hit.mean(), f"{kind}_cp_low": cp[0], f"{kind}_cp_high": cp[1]}
    row["shipped_coverage_of_shown"] = hit[shown].mean() if shown.any() else np.nan
    widths = (got["shipped_high"] - got["shipped_low"])[shown]
    row["shipped_median_width"] = float(np.median(widths)) if shown.any() else np.nan
    return row


def _describe(row: dict) -> str:
    return (f"n{row['n_emotions']}-P{row['n_prompts']}-diff{row['diff']}: truth {row['truth']:.6f}; no spread "
            f"{100 * row['no_spread']:.0f}%; coverage before {100 * row['before_coverage']:.1f}%, shipped "
            f"{100 * row['shipped_coverage']:.1f}% ({100 * row['shipped_coverage_of_shown']:.1f}% of the "
            f"{100 * row['shown']:.0f}% shown)")


def main(argv: list[str] | None = None) -> pd.DataFrame:
    return grid_main(argv, __doc__.splitlines()[0], DESIGNS, design_row, _describe, OUT)


if __name__ == "__main__":
    main()
