"""Why rho_corrected's interval under-covers in hub designs (issue 14): a diagnostic of the estimator's bias.

The atlas (docs/calibration.md) found the BCa interval of ``rho_corrected`` below 92.5% in two hub designs
(rows of very different sizes: emotions whose vectors are short, near the centre) and missing on the high
side only.  This script measures, on fresh data sets of a few atlas designs, point estimates only:

- ``spearman_bias``: mean of ``rho_corrected`` (the shipped cross-half estimator,
  :class:`rsastats.inference.corrected.CrossHalf`, 4 splits) minus the noise-free Spearman rho of the
  same data set (the cosine RDMs of its noise-free vectors); ``spearman_sd`` its SD over data sets;
- ``pearson_bias``: the same cross-half ratio computed with Pearson correlations of the RDM cells, minus
  the noise-free Pearson correlation: whether the bias is the rank transform's (the attenuation model
  ``r(A_h, B_h') = rho sqrt(rel_A rel_B)`` is exact for Pearson under additive noise, not for Spearman);
- ``split_share``: the share of the estimator's variance that is the choice of the random half splits
  (8 split seeds per data set); the emotion bootstrap holds the splits fixed, so this part is not in the
  interval.

Run:  python -m analyses.atlas.hub_bias [--sets 150] [--designs NAME ...]   (about 2 min for the defaults)
Writes reports/calibration/hub_bias.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from rsastats.inference.corrected import CrossHalf
from rsastats.io import atomic_path

from .designs import ATLAS
from .model import Population, calibrate_sigma, cosine_cells
from .shipped import model_inputs

__all__ = ["DEFAULT_DESIGNS", "design_bias", "main"]

DEFAULT_DESIGNS = ("n40-P20-r0.8-low-hub", "n21-P20-r0.5-high-hub-shared0.5", "n21-P20-r0.8-mid-hub-aniso",
                   "n8-P20-r0.95-near1-hub", "n21-P8-r0.8-near1-lowrank", "n40-P50-r0.8-mid-lowrank-aniso")
N_SPLITS = 4


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    return float(x @ y / np.sqrt((x @ x) * (y @ y)))


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    return _pearson(rankdata(x), rankdata(y))


def _pearson_cross_half(prompts: np.ndarray, rng: np.random.Generator) -> float:
    """The cross-half ratio ab / sqrt(aa bb) with Pearson correlations of cosine-RDM cells; the same
    split for both models (the paired design)."""
    _, n, p, _ = prompts.shape
    aa, ab = np.zeros(2), 0.0
    for _ in range(N_SPLITS):
        order = np.argsort(rng.random((n, p)), axis=1)
        halves = (order[:, : p // 2], order[:, p // 2:])
        cells = {(m, h): cosine_cells(np.take_along_axis(prompts[m], idx[:, :, None], axis=1).mean(axis=1))
                 for m in range(2) for h, idx in enumerate(halves)}
        aa += [_pearson(cells[0, 0], cells[0, 1]), _pearson(cells[1, 0], cells[1, 1])]
        ab += _pearson(cells[0, 0], cells[1, 1]) + _pearson(cells[0, 1], cells[1, 0])
    aa, ab = aa / N_SPLITS, ab / (2 * N_SPLITS)
    return float(ab / np.sqrt(aa[0] * aa[1])) if aa.min() > 0 else np.nan


def _shipped(a, b, seed) -> float:
    point, _ = CrossHalf([a, b], "spearman", "cosine", N_SPLITS, seed).corrected(None, np.array([[0, 1]]))
    return float(point[0, 0])


def design_bias(name: str, n_sets: int = 150, n_split_sets: int = 60, seed: int = 5) -> dict:
    """The row of one design (see the module docstring)."""
    design = calibrate_sigma(next(d for d in ATLAS if d.name == name))
    pop = Population.of(design)
    rng = np.random.default_rng(seed)
    rows, within, means = [], [], []
    for k in range(n_sets):
        ds = pop.draw(rng)
        a, b = model_inputs(ds, design)
        true = ds.true_cells
        spear = _shipped(a, b, np.random.SeedSequence([seed, k]))
        pear = _pearson_cross_half(ds.prompts, np.random.default_rng([seed, k]))
        rows.append((spear - _spearman(true[0], true[1]), pear - _pearson(true[0], true[1])))
        if k < n_split_sets:
            draws = [_shipped(a, b, np.random.SeedSequence([seed, k, s])) for s in range(8)]
            within.append(np.var(draws, ddof=1))
            means.append(np.mean(draws))
    diff = np.array(rows)
    total = np.var(means) + np.mean(within)
    return {"design": name, "n_sets": n_sets, "spearman_bias": float(np.nanmean(diff[:, 0])),
            "spearman_sd": float(np.nanstd(diff[:, 0])), "pearson_bias": float(np.nanmean(diff[:, 1])),
            "split_share": float(np.mean(within) / total)}


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=150)
    parser.add_argument("--designs", nargs="*", default=list(DEFAULT_DESIGNS))
    parser.add_argument("--out", default="reports/calibration/hub_bias.csv")
    args = parser.parse_args(argv)
    table = pd.DataFrame([design_bias(name, args.sets) for name in args.designs])
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return table


if __name__ == "__main__":
    main()
