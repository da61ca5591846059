"""What would the equalized world signal do to rho_corrected's interval?  (rsastats.inference.worlds; issue 14)

:mod:`.world_signals` found that worlds whose signal has its squared norms equalized (``signal="equalized"``, the
median of 80 worlds, no worlds within them) estimate the cross-half ratio's bias better than the iterated observed
worlds that were shipped until then (they are the default since).  The interval of rho_corrected is widened toward the
ratio less that bias (:func:`rsastats.inference.widening.widened`), so switching would move intervals.  This study
runs designs of the second generative model (:mod:`.independent`), of the atlas and the fourth model's D4 (in process,
its files' float32 rounding kept) through ``compare_models`` with every default, once with the observed iterated
worlds (shipped until 2026-12-06) and once with the equalized worlds (shipped since; a patch of rho_corrected's call
of ``world_bias`` inside the worker processes), on the data sets of their stored runs (D4: fresh ones, the same for
both signals), and reports rho_corrected's coverage of the design's noise-free rho with its Clopper-Pearson interval,
the misses above and below, the mean width, and (second and fourth model) the estimate's mean error against each data
set's own noise-free rho.

Run:  python -m analyses.calibration.world_coverage [--sets 400] [--designs ...]   (2 to 5 minutes per design)
Writes reports/calibration/world_coverage.csv.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.io import atomic_path
from rsastats.rng import spawn_sequences

__all__ = ["COVERAGE_DESIGNS", "coverage_rows", "main"]

ATLAS_FOLDER = "reports/calibration/atlas"
FOURTH_FOLDER = "reports/calibration/fourth_model"
FOURTH = ("D4",)
# worlds within each world: the observed signal as shipped until 2026-12-06 (iterated); the equalized one, shipped since
SIGNAL_INNER = {"observed": 1, "equalized": 0}

COVERAGE_DESIGNS = ("n30-P20-hetero-common3", "n21-P4-hetero", "n21-P8-hetero", "n21-P3-templ-hetero", "n21-P8-equal",
                    "n21-P8-templ", "n21-P20-r0.5-high-hub-shared0.5", "n8-P20-r0.95-near1-hub",
                    "n21-P4-r0.95-near1-lowrank-aniso-shared0.5", "n21-P8-r0.5-high-hub", "D4")


def _signal_chunk(args: tuple) -> list[dict]:
    """The data sets of :func:`analyses.calibration.independent._chunk` or :func:`analyses.atlas.shipped._chunk`
    (``compare_models`` with every default) with the worlds of ``signal``: rho_corrected's own call of ``world_bias``
    is given that signal and :data:`SIGNAL_INNER` worlds within each world (a patch inside this worker process
    only)."""
    from functools import partial

    import rsastats.inference.corrected as corrected
    from rsastats.inference import worlds

    from ..atlas.shipped import _chunk as atlas_chunk
    from .independent import _chunk as independent_chunk

    design, seqs, n_boot, signal, kind = args
    chunk = {"atlas": atlas_chunk, "fourth": _fourth_chunk}.get(kind, independent_chunk)
    corrected.world_bias = partial(worlds.world_bias, signal=signal, n_inner=SIGNAL_INNER[signal])
    try:
        return chunk((design, seqs, n_boot))
    finally:
        corrected.world_bias = worlds.world_bias


def _fourth_chunk(args: tuple) -> list[dict]:
    """Data sets of the fourth, blind model's design through ``compare_models`` in this process (its own study runs
    the command line; here the two signals meet the same data sets): the outputs and each data set's own noise-free
    rho."""
    import warnings
    from dataclasses import asdict

    from rsastats.exceptions import RsaStatsWarning
    from rsastats.inference import compare_models

    from . import fourth_model as fourth
    from .cli_model import model_inputs

    name, seqs, n_boot = args
    model, rows = fourth.Model(name), []
    for seq in seqs:
        rng = np.random.default_rng(seq)
        em = model.emotions(rng)
        x, valid = model.prompts(rng, em, model.cfg["P"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RsaStatsWarning)
            res = asdict(compare_models(*model_inputs(x[fourth.DA], x[fourth.DB], valid, as_file=True),
                                        n_boot=n_boot, permutations=19, seed=seq))
        rows.append({k: res[k] for k in ("rho_corrected", "corrected_ci_low", "corrected_ci_high")}
                    | {"rho_free": model.noise_free_rho(rng, em, M=2000)})
    return rows


def _coverage_design(name: str, n_sets: int, seed: int, n_mc: int) -> tuple:
    """(design, kind, data-set seeds, noise-free truth) of a design of the second model or of the atlas, the data sets
    of its stored run (an atlas design's noise level and truth read from it: reports/calibration/atlas/<name>.json)."""
    from ..atlas.designs import ATLAS as ATLAS_DESIGNS
    from .independent import DESIGNS as IND, truths

    if name in FOURTH:  # its truth: the design's mean noise-free rho of its stored study (truth.json)
        stored = json.loads((Path(FOURTH_FOLDER) / "truth.json").read_text())[name]
        return name, "fourth", spawn_sequences(np.random.SeedSequence([seed, 4]), n_sets), stored["truth_free"]
    second = [d for d in IND if d.name == name]
    if second:
        design = second[0]
        seqs = spawn_sequences(np.random.SeedSequence([seed, design.seed, design.n_emotions, design.n_prompts]),
                               n_sets)
        return design, "independent", seqs, truths(design, n_mc)["free"]
    stored = json.loads((Path(ATLAS_FOLDER) / f"{name}.json").read_text())["truth"]
    design = replace(next(d for d in ATLAS_DESIGNS if d.name == name), sigma=stored["sigma"])
    seqs = spawn_sequences(np.random.SeedSequence([seed, design.seed]), n_sets)
    return design, "atlas", seqs, stored["free"]


def coverage_rows(names: tuple = COVERAGE_DESIGNS, n_sets: int = 400, jobs: int = 2, n_boot: int = 2000,
                  seed: int = 2026, n_mc: int = 6000) -> pd.DataFrame:
    """Per design (of the second model or of the atlas) and signal: rho_corrected's coverage of the design's noise-free
    rho through ``compare_models`` with every default (the data sets of the design's stored run, the same for both
    signals), with its Clopper-Pearson interval, misses above and below, mean width, and the estimate's mean error
    against each data set's own noise-free rho (the second model's designs)."""
    from analyses.atlas.shipped import run_chunks

    from .studies import binomial_ci

    rows = []
    for name in names:
        design, kind, seqs, free = _coverage_design(name, n_sets, seed, n_mc)
        for signal in ("observed", "equalized"):
            f = pd.DataFrame(run_chunks(_signal_chunk, design, seqs, jobs, n_boot, signal, kind))
            g = f[f["rho_corrected"].notna()]
            hit = (g["corrected_ci_low"] <= free) & (free <= g["corrected_ci_high"])
            low, high = binomial_ci(int(hit.sum()), len(g))
            rows.append({"design": name, "signal": signal, "given": len(g), "coverage": float(hit.mean()),
                         "cp_low": low, "cp_high": high, "miss_above": float((g["corrected_ci_low"] > free).mean()),
                         "miss_below": float((g["corrected_ci_high"] < free).mean()),
                         "width": float((g["corrected_ci_high"] - g["corrected_ci_low"]).mean()),
                         "error": float((g["rho_corrected"] - g["rho_free"]).mean()) if "rho_free" in g else np.nan})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=400)
    parser.add_argument("--designs", nargs="*", default=list(COVERAGE_DESIGNS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="reports/calibration/world_coverage.csv")
    args = parser.parse_args(argv)
    table = coverage_rows(tuple(args.designs), args.sets, args.jobs)
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    with pd.option_context("display.width", 200):
        print(table.round(3).to_string(index=False))
    return table


if __name__ == "__main__":
    main()
