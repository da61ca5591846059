"""How the half RDMs' squared norms change rho_corrected (rsastats/inference/equalize.py): point estimates of
the cross-half ratio from plain, from noise-equalized (shipped) and from noise-free-norm half RDMs, on fresh
data sets of designs of both generative models -- the second model's designs with emotion-specific noise
levels that both models share (where the plain ratio is biased upward) or with emotion vectors of different
lengths (``sizes``: where the equalized ratio is biased and the check of uneven shrinkage compares it with
the noise-free-norm ratio), and atlas designs with one noise level for all emotions (where equalizing should
change nothing).

Per design and variant (``plain``, ``equalized``, ``noise-free``: ``equalize`` of
:meth:`~rsastats.inference.engine.ResamplingEngine.rdm_uppers`, all on the same half splits): ``given`` the
share of data sets whose smaller split-half correlation is >= :data:`~rsastats.inference.corrected.MIN_SPLIT_HALF`
(the rule under which rho_corrected is given), and over those ``bias`` (mean of the ratio minus the data set's
own noise-free rho) and ``sd``; on the ``noise-free`` row, ``move_error_corr``: the correlation, over the data
sets where both are given, of the move (noise-free-norm ratio minus equalized ratio, what
:func:`~rsastats.inference.corrected.norm_shift` measures) with the equalized ratio's own error.
:class:`~rsastats.inference.corrected.CrossHalf` with 4 splits, as shipped.

Run:  python -m analyses.calibration.equalize_bias [--sets 60]   (about 10 min on 2 cores)
Writes reports/calibration/equalize_bias.csv.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from rsastats.inference.corrected import MIN_SPLIT_HALF, CrossHalf

from ..atlas.designs import ATLAS
from ..atlas.model import Population, calibrate_sigma, spearman
from ..atlas.shipped import model_inputs
from .independent import DESIGNS, Model, _inputs, cosine_rho
from .studies import design_table

__all__ = ["DEFAULT_DESIGNS", "design_rows", "main"]

DEFAULT_DESIGNS = ("n30-P20-hetero-common3", "n40-P8-shared0.3-hetero", "n21-P8-hetero", "n21-P4-hetero", "n21-P50-hetero",
                   "n21-P8-shared0.95-hetero", "n21-P8-equal", "n40-P20-r0.8-low-hub", "n21-P20-r0.8-mid-hub-aniso",
                   "n21-P4-r0.8-near1-lowrank", "n21-P8-r0.95-low-lowrank", "n21-P20-r0.8-high-lowrank-templ1",
                   # the check of uneven shrinkage: the sizes designs, and atlas designs where the noise-free-norm ratio's
                   # spread (near 1) or anisotropy could make it a worse estimator than the equalized one
                   "n21-P8-sizes", "n40-P20-shared0.3-sizes", "n21-P20-sizes", "n21-P3-r0.8-near1-lowrank",
                   "n21-P8-r0.8-near1-lowrank", "n21-P20-r0.8-near1-lowrank", "n21-P50-r0.8-near1-lowrank",
                   "n21-P20-r0.99-near1-lowrank-aniso", "n21-P8-r0.8-high-clustered-aniso", "n40-P50-r0.8-mid-lowrank-aniso")
N_SPLITS = 4
VARIANTS = {"plain": False, "equalized": True, "noise-free": "noise-free"}


def _data_sets(name: str, n_sets: int, seed: int):
    """(model inputs, noise-free rho) of ``n_sets`` fresh data sets of a design of any of the three models."""
    from . import cli_model

    rng = np.random.default_rng(seed)
    third = next((d for d in cli_model.DESIGNS if d.name == name), None)
    if third is not None:
        model = cli_model.Model(third)
        for _ in range(n_sets):
            mu_a, mu_b, x_a, x_b, valid = model.draw(rng)
            yield cli_model.model_inputs(x_a, x_b, valid), cli_model._rho(mu_a, mu_b)
        return
    independent = next((d for d in DESIGNS if d.name == name), None)
    if independent is not None:
        model = Model(independent)
        for _ in range(n_sets):
            mu, prompts, valid = model.draw(rng)
            yield _inputs(prompts, valid), cosine_rho(mu[0], mu[1])
        return
    design = calibrate_sigma(next(d for d in ATLAS if d.name == name))
    pop = Population.of(design)
    for _ in range(n_sets):
        ds = pop.draw(rng)
        yield model_inputs(ds, design), float(spearman(ds.true_cells[0], ds.true_cells[1]))


def design_rows(name: str, n_sets: int = 60, seed: int = 5) -> list[dict]:
    """One row per variant of one design (see the module docstring)."""
    errors: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for k, (inputs, truth) in enumerate(_data_sets(name, n_sets, seed)):
        halves = CrossHalf(inputs, "spearman", "cosine", N_SPLITS, np.random.SeedSequence([seed, k]), equalize=False)
        for variant, equalize in VARIANTS.items():
            point, aa = (halves if equalize is False else halves.renormed(equalize)).corrected(None, np.array([[0, 1]]))
            given = aa.min() >= MIN_SPLIT_HALF and np.isfinite(point[0, 0])
            errors[variant].append(point[0, 0] - truth if given else np.nan)
    rows = []
    for variant, values in errors.items():
        e = np.array(values)
        rows.append({"design": name, "variant": variant, "n_sets": n_sets, "given": float(np.isfinite(e).mean()),
                     "bias": float(np.nanmean(e)) if np.isfinite(e).any() else None,
                     "sd": float(np.nanstd(e)) if np.isfinite(e).any() else None, "move_error_corr": None})
    equalized, free = np.array(errors["equalized"]), np.array(errors["noise-free"])
    both = np.isfinite(equalized) & np.isfinite(free)
    if both.sum() >= 3:
        rows[-1]["move_error_corr"] = float(np.corrcoef(free[both] - equalized[both], equalized[both])[0, 1])
    return rows


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=60)
    parser.add_argument("--designs", nargs="*", default=list(DEFAULT_DESIGNS))
    parser.add_argument("--out", default="reports/calibration/equalize_bias.csv")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    return design_table(design_rows, args.designs, args.sets, args.jobs, args.out)


if __name__ == "__main__":
    main()
