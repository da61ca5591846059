"""Do the sign-flip worlds see the cross-half ratio's bias?  (rsastats.inference.worlds; issue 14)

The shipped interval of rho_corrected is widened toward the ratio less its bias in sign-flip worlds built from the
data's own prompt residuals (:func:`rsastats.inference.worlds.world_bias`).  This study measures, point estimates
only, how close that bias comes to the ratio's true error, and whether a world's noise looks like the data's:

- simulated designs (``reports/calibration/world_check.csv``): for fresh data sets of atlas designs and of the fourth,
  blind model's D4 and D4 without its common offset, the mean of ``rho_corrected - truth`` (the shipped ratio, 4
  splits; truth: the noise-free rho -- the atlas's Spearman rho of the noise-free cosine RDMs, the fourth model's own
  noise-free rho of each data set), the mean and SD over data sets of the worlds' bias (the shipped, iterated
  estimate, and ``world_bias_plain``, the median error of the same worlds without the worlds within them), the
  root mean square of each one's difference from the data set's own error (``*_rmse``), and the mean split-half
  correlation of the data and of the worlds (one world per data set);
- real files (``reports/calibration/world_check_real.csv``), where an offline model set has been extracted
  (``python -m analyses.run_all --models analyses/configs/offline.yaml`` writes them under build/analyses/offline):
  for pairs of files with the same prompts, rho, the ratio, the worlds' bias and both split-half correlations of the
  data and of one world.

Run:  python -m analyses.calibration.world_check [--sets 30] [--designs NAME ...]   (about 6 min)
"""

from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from rsastats.inference.corrected import DEFAULT_N_SPLITS, CrossHalf
from rsastats.inference.worlds import N_WORLDS, mapped_engine, summarized, world_errors, world_maps
from rsastats.io import atomic_path

from . import fourth_model as fourth
from .cli_model import model_inputs as padded_inputs

__all__ = ["ATLAS_DESIGNS", "FOURTH_DESIGNS", "REAL_PAIRS", "design_row", "real_rows", "main"]

ATLAS_DESIGNS = ("n21-P20-r0.5-high-hub-shared0.5", "n40-P20-r0.8-low-hub", "n8-P20-r0.95-near1-hub",
                 "n21-P8-r0.8-near1-lowrank", "n21-P20-r0.8-high-lowrank-templ1", "n21-P8-r0.8-mid-lowrank-shared0.5",
                 "n40-P50-r0.8-mid-lowrank-aniso")
FOURTH_DESIGNS = ("D4", "D4_offset0")
REAL_PAIRS = (("smollm2-135m-instruct/named.nc", "minilm-l6/named.nc"),
              ("smollm2-135m-instruct/named.nc", "smollm2-135m-instruct/implicit.nc"),
              ("minilm-l6/named.nc", "minilm-l6/implicit.nc"),
              ("smollm2-135m-instruct/named.nc", "smollm2-135m-instruct/named-last.nc"),
              ("smollm2-135m-instruct/named.nc", "random-llama/named.nc"),
              ("smollm2-135m-instruct/gen.nc", "random-llama/gen.nc"))
PAIR = np.array([[0, 1]])


def _measures(models, seed: int, signal: str = "observed", n_inner: int = 1) -> dict:
    """The shipped ratio, its split-half correlations, the worlds' bias (this study's: the observed signal, one world
    inside each; :mod:`.real_prompts` asks for the shipped worlds), and one world's split-half correlations."""
    halves = CrossHalf(models, "spearman", "cosine", DEFAULT_N_SPLITS, np.random.SeedSequence([seed, 1]))
    ratio, aa = halves.corrected(None, PAIR)
    worlds = np.random.SeedSequence([seed, 2])
    outer, inner = world_errors(halves, PAIR, worlds, N_WORLDS, n_inner, signal=signal)
    bias, se = summarized(outer, inner, worlds)
    plain = summarized(outer, inner[:, :0], worlds)[0]  # the same worlds without the worlds within them
    world = halves.renormed(True, mapped_engine(halves.engine, world_maps(halves.engine, np.random.default_rng(seed))))
    world_aa = world.corrected(None, PAIR)[1][0]
    return {"rho": float(halves.components(None, PAIR)[0][0, 0]), "ratio": float(ratio[0, 0]),
            "split_half_a": float(aa[0, 0]), "split_half_b": float(aa[0, 1]), "world_bias": float(bias[0]),
            "world_bias_se": float(se[0]), "world_bias_plain": float(plain[0]), "world_split_half_a": float(world_aa[0]),
            "world_split_half_b": float(world_aa[1])}


@lru_cache(maxsize=None)
def _atlas_design(name: str):
    from ..atlas.designs import ATLAS
    from ..atlas.model import calibrate_sigma

    return calibrate_sigma(next(d for d in ATLAS if d.name == name))


def _atlas_set(name: str, rng: np.random.Generator) -> tuple[list, float]:
    from ..atlas.model import Population
    from ..atlas.shipped import model_inputs

    design = _atlas_design(name)
    ds = Population.of(design).draw(rng)
    return model_inputs(ds, design), float(spearmanr(ds.true_cells[0], ds.true_cells[1])[0])


def _fourth_set(name: str, rng: np.random.Generator) -> tuple[list, float]:
    model = fourth.Model(name)
    em = model.emotions(rng)
    x, valid = model.prompts(rng, em, model.cfg["P"])
    truth = model.noise_free_rho(rng, em, M=2000)
    return padded_inputs(x[fourth.DA], x[fourth.DB], valid), truth  # A's 48 dims padded with zeros to B's 96


def design_row(name: str, n_sets: int, seed: int = 5) -> dict:
    """The row of one design (module docstring)."""
    draw = _fourth_set if name in fourth.DESIGNS else _atlas_set
    rows = []
    for k in range(n_sets):
        models, truth = draw(name, np.random.default_rng([seed, k]))
        rows.append({**_measures(models, k), "truth": truth})
    f = pd.DataFrame(rows)
    return {"design": name, "n_sets": n_sets, "ratio_error": float((f["ratio"] - f["truth"]).mean()),
            "ratio_error_sd": float((f["ratio"] - f["truth"]).std()), "world_bias": float(f["world_bias"].mean()),
            "world_bias_sd": float(f["world_bias"].std()), "world_bias_se": float(f["world_bias_se"].mean()),
            "world_bias_plain": float(f["world_bias_plain"].mean()),
            "world_bias_rmse": float(np.sqrt(((f["world_bias"] - f["ratio"] + f["truth"]) ** 2).mean())),
            "world_bias_plain_rmse": float(np.sqrt(((f["world_bias_plain"] - f["ratio"] + f["truth"]) ** 2).mean())),
            "split_half": float(f[["split_half_a", "split_half_b"]].to_numpy().mean()),
            "world_split_half": float(f[["world_split_half_a", "world_split_half_b"]].to_numpy().mean())}


def real_rows(folder: Path) -> list[dict]:
    """One row per pair of :data:`REAL_PAIRS` found under ``folder`` (module docstring)."""
    from rsastats.inputs import load_models

    out = []
    for a, b in REAL_PAIRS:
        if not (folder / a).exists() or not (folder / b).exists():
            continue
        models = load_models([str(folder / a), str(folder / b)])
        if any(m.rows is None for m in models) or models[0].rows.prompts != models[1].rows.prompts:
            continue
        shape = models[0].rows.values.shape
        out.append({"a": a, "b": b, "emotions": shape[0], "prompts": shape[1], **_measures(models, 0)})
    return out


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=30)
    parser.add_argument("--designs", nargs="*", default=list(ATLAS_DESIGNS + FOURTH_DESIGNS))
    parser.add_argument("--real", default="build/analyses/offline")
    parser.add_argument("--out", default="reports/calibration/world_check.csv")
    args = parser.parse_args(argv)
    table = pd.DataFrame([design_row(name, args.sets) for name in args.designs])
    real = pd.DataFrame(real_rows(Path(args.real)))
    real_out = Path(args.out).with_name("world_check_real.csv")
    outputs = [(table, Path(args.out))] + ([(real, real_out)] if len(real) else [])
    for frame, path in outputs:
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.4f")
        print(frame.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return table


if __name__ == "__main__":
    main()
