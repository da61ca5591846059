"""rho_corrected's interval for nearly identical models, before and after the join with rho's interval (issue 14).

One model at two precisions, or a base and an instruct model that differ a little, have a noise-free rho just below 1.
The cross-half ratio's resamples then pile up at 1, and its interval with them: narrow intervals that reach the bound
covered 27-76% in the calibration studies (docs/statistics.md, 'Narrow intervals at the bound').  Since 2026-12-06 an
interval of rho_corrected narrower than ``NARROW_AT_BOUND`` near the bound is joined with rho's interval and the bound
(:func:`rsastats.inference.corrected_ci.joined_with_rho`).  This study measures both.

The model: emotions ``mu`` as in :mod:`analyses.calibration.no_spread` (3 latent factors, 64 dimensions, fresh per
data set), model B's emotions ``mu + shift z`` (``z`` standard normal per emotion and dimension, scaled by
``1/sqrt(64)``: a true difference between the models, so the noise-free rho is below 1), prompts ``mu + 0.5 eps`` for
model A and model B's the same prompts moved to its emotions plus ``diff * 0.5 eps'`` of its own (``diff`` a share of
the prompt noise: the second precision's rounding, or the second model's own reading).  Truths over ``--truth`` fresh
data sets: ``free`` (rho of the emotions' RDMs, rho_corrected's) and ``measured`` (rho of the prompt means, rho's).
Each data set goes through :func:`rsastats.inference.compare_models` with its defaults (permutations aside); the
interval before the join is the same run's with the join lifted, and the shipped one is that joined with rho's
interval (a test checks it against ``compare_models``).

Run:  python -m analyses.calibration.near_identical [--sets 200] [--truth 3000] [--jobs 2]   (12 min with one job).
Writes reports/calibration/near_identical.csv.
"""

from __future__ import annotations

import warnings
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference import compare_models, corrected_ci
from rsastats.inference.corrected import CorrectedRho
from rsastats.rng import spawn_sequences

from ..atlas.model import cosine_cells, spearman
from .independent import _inputs
from .no_spread import FACTORS, HIDDEN, NOISE, _Population
from .studies import binomial_ci, grid_main, map_chunks

__all__ = ["DESIGNS", "draw", "truths", "one", "design_row", "main"]

OUT = Path("reports/calibration/near_identical.csv")
# (emotions, prompts, shift, diff): shift the models' true difference, diff model B's own prompt noise (share)
DESIGNS = tuple((n, p, shift, diff) for n in (8, 12, 21) for p in (4, 8, 20) for shift, diff in ((0.02, 0.1), (0.1, 0.3)))


def draw(pop: _Population, n: int, p: int, shift: float, diff: float, rng: np.random.Generator) -> tuple:
    """``(mu, mu_b, x, y)``: both models' emotions (n, HIDDEN) and prompts (n, p, HIDDEN)."""
    mu = (rng.standard_normal((n, FACTORS)) @ pop.basis + 0.5 * rng.standard_normal((n, HIDDEN)) / np.sqrt(HIDDEN)
          + pop.common)
    mu_b = mu + shift * rng.standard_normal((n, HIDDEN)) / np.sqrt(HIDDEN)
    x = mu[:, None, :] + NOISE * rng.standard_normal((n, p, HIDDEN)) / np.sqrt(HIDDEN)
    y = x - mu[:, None, :] + mu_b[:, None, :] + diff * NOISE * rng.standard_normal(x.shape) / np.sqrt(HIDDEN)
    return mu, mu_b, x, y


def truths(n: int, p: int, shift: float, diff: float, n_mc: int) -> tuple[float, float]:
    """``(free, measured)``: rho of the emotions and of the prompt means, averaged over ``n_mc`` fresh data sets."""
    pop, rng = _Population(), np.random.default_rng([13, n, p, int(shift * 1000), int(diff * 1000)])
    free, measured = [], []
    for _ in range(n_mc):
        mu, mu_b, x, y = draw(pop, n, p, shift, diff, rng)
        free.append(spearman(cosine_cells(mu), cosine_cells(mu_b)))
        measured.append(spearman(cosine_cells(x.mean(axis=1)), cosine_cells(y.mean(axis=1))))
    return float(np.mean(free)), float(np.mean(measured))


def one(x: np.ndarray, y: np.ndarray, seed: int) -> dict:
    """One data set through ``compare_models``: rho's interval and rho_corrected's before and after the join."""
    kept = corrected_ci.NARROW_AT_BOUND
    corrected_ci.NARROW_AT_BOUND = 0.0  # the join lifted: no interval is narrower than 0
    try:
        res = compare_models(*_inputs(np.stack([x, y]), np.ones(x.shape[:2], bool)), permutations=19, seed=seed)
    finally:
        corrected_ci.NARROW_AT_BOUND = kept
    before = CorrectedRho(**{f.name: getattr(res, f.name) for f in fields(CorrectedRho)})
    after = corrected_ci.joined_with_rho(before, res.ci_low, res.ci_high)
    nan = lambda v: np.nan if v is None else float(v)  # noqa: E731
    return {"rho": res.rho, "ci_low": nan(res.ci_low), "ci_high": nan(res.ci_high),
            "before": nan(before.rho_corrected), "before_low": nan(before.corrected_ci_low),
            "before_high": nan(before.corrected_ci_high), "rho_corrected": nan(after.rho_corrected),
            "corrected_ci_low": nan(after.corrected_ci_low), "corrected_ci_high": nan(after.corrected_ci_high),
            "joined": corrected_ci.JOIN_NOTE in after.corrected_note}


def _chunk(args: tuple) -> list[dict]:
    n, p, shift, diff, seqs = args
    pop, out = _Population(), []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seq in seqs:
            _, _, x, y = draw(pop, n, p, shift, diff, np.random.default_rng(seq))
            out.append(one(x, y, int(seq.generate_state(1)[0])))
    return out


def _coverage(low, high, truth: float, given: np.ndarray) -> dict:
    """Coverage (a data set without the interval counts as a miss) with its Clopper-Pearson bounds, and misses."""
    low, high = np.asarray(low, float), np.asarray(high, float)
    hit = (low <= truth) & (truth <= high)
    cp = binomial_ci(int(hit.sum()), len(hit))
    return {"coverage": hit.mean(), "cp_low": cp[0], "cp_high": cp[1], "shown": given.mean(),
            "miss_low": (high < truth).mean(), "miss_high": (low > truth).mean(),
            "median_width": float(np.median((high - low)[given])) if given.any() else np.nan}


def design_row(n: int, p: int, shift: float, diff: float, sets: int, n_mc: int, jobs: int = 2) -> dict:
    """One design's truths and the coverage of rho's interval and of rho_corrected's before and after the join."""
    seqs = spawn_sequences(np.random.SeedSequence([2026, n, p, int(shift * 1000), int(diff * 1000)]), sets)
    got = pd.DataFrame(map_chunks(_chunk, (n, p, shift, diff), seqs, jobs))
    free, measured = truths(n, p, shift, diff, n_mc)
    row = {"n_emotions": n, "n_prompts": p, "shift": shift, "diff": diff, "sets": sets, "free": free,
           "measured": measured, "joined": got["joined"].mean()}
    parts = {"rho": (got["ci_low"], got["ci_high"], measured, got["ci_low"].notna()),
             "before": (got["before_low"], got["before_high"], free, got["before_low"].notna()),
             "shipped": (got["corrected_ci_low"], got["corrected_ci_high"], free, got["corrected_ci_low"].notna())}
    for kind, (low, high, truth, given) in parts.items():
        row |= {f"{kind}_{k}": v for k, v in _coverage(low, high, truth, given.to_numpy()).items()}
    row["corrected_bias"] = float((got["rho_corrected"] - free).mean())
    return row


def _describe(row: dict) -> str:
    return (f"n{row['n_emotions']}-P{row['n_prompts']}-shift{row['shift']}-diff{row['diff']}: free {row['free']:.5f}, "
            f"measured {row['measured']:.5f}; rho {100 * row['rho_coverage']:.1f}%; rho_corrected before "
            f"{100 * row['before_coverage']:.1f}%, joined in {100 * row['joined']:.0f}%, shipped "
            f"{100 * row['shipped_coverage']:.1f}% (shown {100 * row['shipped_shown']:.0f}%, median width "
            f"{row['shipped_median_width']:.4f})")


def main(argv: list[str] | None = None) -> pd.DataFrame:
    return grid_main(argv, __doc__.splitlines()[0], DESIGNS, design_row, _describe, OUT)


if __name__ == "__main__":
    main()
