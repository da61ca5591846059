"""What signal should a sign-flip world carry?  (rsastats.inference.worlds; issue 14)

The shipped sign-flip worlds take the observed prompt means ``m_e`` as a world's noise-free vectors.  Those means carry
the noise of ``k_e`` prompts: where emotions differ in noise level alike in both models, a noisier emotion's mean is
longer and its cosines shrunk more, a row effect of both RDMs that the truth does not have, and the world, whose truth
has it, misjudges the ratio's bias.  This study gives the world other signals and measures each one's estimate of the
bias against each data set's own ratio error (``ratio - truth``):

- ``iterated``: the shipped estimate (``2 b1 - b2``, 80 worlds, one inside each);
- ``plain``: the shipped world (signal ``m_e``), the median error of its worlds (no iteration);
- ``pooled``: signal ``g + lam (m_e - g)``, ``g`` the mean of the emotions' means and ``lam^2 = 1 - sum_e v_e / k_e /
  sum_e |m_e - g|^2`` (``v_e`` the emotion's prompt variance summed over hidden units): the emotions' spread around
  their centre as large as its noise-free expectation;
- ``each``: the same with one ``lam_e`` per emotion (``1 - v_e / k_e / |m_e - g|^2``), a noisier emotion shrunk more;
- ``own``: as ``each``, with the variance the emotions share at a label (templates) taken out of ``v_e``: it is the
  same in every emotion's mean and leaves ``m_e - g``;
- ``norm``: signal ``lam_e m_e`` with ``lam_e^2 = 1 - v_e / k_e / |m_e|^2`` (each norm as large as its noise-free
  expectation; the world's noise-free RDM is then the observed one, as in ``plain``);
- ``nfn`` and ``eq``: the shipped world's Gram blocks with the signal's squared norms moved as the engine moves the
  half RDMs' (:mod:`rsastats.inference.equalize`): ``nfn`` takes each emotion's own noise inflation out (the
  noise-free norms), ``eq`` only its excess over the mean inflation (every emotion then inflated alike);
- ``equalized`` and ``equalized_iterated``: the package's ``signal="equalized"`` worlds
  (:func:`rsastats.inference.worlds.world_errors`): ``eq`` with the excess shrunk toward 0 by the share of its spread
  over emotions that the noise estimates' own sampling variance (a jackknife over each emotion's prompts) explains,
  the median of :data:`~rsastats.inference.worlds.N_WORLDS` worlds and the iterated estimate with one inside each.

``lam^2`` is floored at 0.05.  The prompts of a world are ``signal_e + s_p sqrt(k_e / (k_e - 1)) (x_ep - m_e)``, one
random sign per prompt label (as shipped), ``--worlds`` of them for the study's own signals; a world's truth is the
Spearman rho of the cosine RDMs of the two models' world signals; its error is the ratio in the world, with the data's
own half splits, less that truth.  Per design: the ratio's mean error and root mean square error; per estimate its
mean, the root mean square and the median absolute value of its difference from each data set's own error, the root
mean square error of the ratio less the part of the estimate beyond 1.5 of its standard errors
(:func:`analyses.calibration.debias.debiased`; a median's standard error ``1.2533 sd / sqrt(n)``), and the mean
split-half correlation of the data and of one world.  Data sets: atlas designs, the second model's (with emotions
noisier than others in both models: ``hetero``), the fourth model's D4 and D4 without its offset, an atlas design at
the bound with narrow intervals and three 7-emotion designs of :mod:`.few` (where subtracting the shipped worlds' bias
made the estimate worse: :mod:`.debias`), and real files
(``real:A.nc:LAYER:B.nc:LAYER:P``: ``P`` of the files' prompt labels, the same for every emotion and both files;
truth: the rho of the means of all the files' prompts).

What the equalized signal does to rho_corrected's interval: :mod:`.world_coverage`.

Run:  python -m analyses.calibration.world_signals [--sets 30] [--worlds 40] [--designs ...] [--modes ...]
The committed runs (about 25 and 15 minutes on 2 cores; the real files as for :mod:`.real_prompts`,
``rsastats extract --layers 2,10,20,25 --out 21/smollm2.nc`` and ``rsastats extract --model minilm --layers 4,6
--out 21/minilm.nc``): ``--sets 60`` (every mode, the default designs), the same with ``--designs
real:21/smollm2.nc:20:21/minilm.nc:4:4 ...`` (the four pairs of :mod:`.real_prompts` at 4 and 8 prompts) and ``--out
reports/calibration/world_signals_real.csv``.
Writes reports/calibration/world_signals.csv (and .sets.csv, one row per data set).
Cosine RDMs of raw activations only (the studies' default).
"""

from __future__ import annotations

import argparse
import copy
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.corrected import DEFAULT_N_SPLITS, CrossHalf
from rsastats.inference.worlds import (N_WORLDS, _with_blocks, mapped_engine, signal_rho, summarized,
                                      world_errors, world_maps)
from rsastats.io import atomic_path
from rsastats.rng import spawn_sequences

from ..atlas.model import cosine_cells, spearman
from .debias import debiased

__all__ = ["MODES", "DESIGNS", "short_name", "shrunk_signal", "shrunk_engine",
           "gram_engine", "data_set_row", "design_rows", "main"]

MODES = ("plain", "pooled", "each", "own", "norm", "eq", "nfn", "equalized", "equalized_iterated")
CORE_MODES = {"equalized": 0, "equalized_iterated": 1}  # rsastats' own signal="equalized", N_WORLDS worlds, n_inner
GRAM_MODES = ("eq", "nfn")
PAIR = np.array([[0, 1]])
FLOOR = 0.05
ATLAS = ("n21-P20-r0.5-high-hub-shared0.5", "n40-P20-r0.8-low-hub", "n8-P20-r0.95-near1-hub",
         "n21-P8-r0.8-near1-lowrank", "n21-P20-r0.8-high-lowrank-templ1", "n21-P8-r0.8-mid-lowrank-shared0.5",
         "n21-P8-r0.5-high-hub")
INDEPENDENT = ("n30-P20-hetero-common3", "n21-P4-hetero", "n21-P8-templ", "n21-P3-templ-hetero", "n21-P20-sizes")
FOURTH = ("D4", "D4_offset0")
# (n7-P4-r0.5-high-lowrank left out: its ratio is undefined in 14 of 60 data sets and up to 13 in others, where
# rho_corrected is withheld, so an RMSE of the raw ratio says nothing about what is shown)
FEW_SEVEN = ("n7-P8-r0.8-high-lowrank", "n7-P8-r0.8-near1-lowrank", "n7-P8-r0.95-low-clustered-aniso")
NEAR_BOUND = ("n21-P4-r0.95-near1-lowrank-aniso-shared0.5",)
DESIGNS = ATLAS + INDEPENDENT + FOURTH + NEAR_BOUND + FEW_SEVEN


def _residuals(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(valid prompts per emotion k (E,), means (E, H), residuals of the valid prompts (E, P, H), each emotion's prompt
    noise in its mean's squared norm ``v_e / k_e`` (E,)) of one model's prompts (E, P, H)."""
    k = valid.sum(axis=1).astype(np.float64)
    means = np.einsum("ep,eph->eh", valid / k[:, None], values)
    resid = (values - means[:, None]) * valid[..., None]
    return k, means, resid, (resid ** 2).sum(axis=(1, 2)) / (k - 1.0) / k


def shrunk_signal(values: np.ndarray, valid: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """(signal (E, H), means (E, H)) of one model's prompts (E, P, H) for ``mode`` (module docstring)."""
    k, means, resid, noise = _residuals(values, valid)
    if mode == "plain":
        return means, means
    if mode == "norm":
        lam2 = 1.0 - noise / (means ** 2).sum(axis=1)
        return np.sqrt(np.maximum(lam2, FLOOR))[:, None] * means, means
    centre = means.mean(axis=0)
    spread = ((means - centre) ** 2).sum(axis=1)
    if mode == "own":  # a label's share, common to every emotion, leaves m_e - g
        noise = np.maximum(noise - _shared(resid, valid, k), 0.0)
    lam2 = 1.0 - noise.sum() / spread.sum() if mode == "pooled" else 1.0 - noise / spread
    lam = np.sqrt(np.maximum(lam2, FLOOR))
    return centre + np.reshape(lam, (-1, 1)) * (means - centre), means


def _shared(resid: np.ndarray, valid: np.ndarray, k: np.ndarray) -> float:
    """The prompt variance (summed over hidden units) that the emotions share at a label, in one prompt: from the
    residuals' mean over emotions at each label, less what the emotions' own noise leaves in that mean."""
    n = resid.shape[0]
    if n < 2 or not valid.all():
        return 0.0
    own_total = ((resid ** 2).sum(axis=(1, 2)) / (k - 1.0)).mean()
    at_label = (resid.mean(axis=0) ** 2).sum() / (k[0] - 1.0)
    return max(0.0, (at_label - own_total / n) * n / (n - 1.0)) / k[0]


def shrunk_engine(engine, rng: np.random.Generator, mode: str):
    """(a world's engine, the world's truth) for the two models of ``engine`` (a prompt engine of raw rows)."""
    labels = sorted({p for g in engine.groups for p in engine.models[g.members[0]].rows.prompts})
    sign = dict(zip(labels, rng.integers(0, 2, len(labels)) * 2.0 - 1.0))
    out = copy.copy(engine)
    out.groups, signals = [], {}
    for group in engine.groups:
        rows0 = engine.models[group.members[0]].rows
        if rows0.post != "none":
            raise ValueError("this study maps raw rows only")
        valid = group.valid
        k = valid.sum(axis=1, keepdims=True).astype(np.float64)
        s = np.array([sign[p] for p in rows0.prompts])[None, :] * np.sqrt(k / (k - 1.0))
        mapped = []
        for i in group.members:
            values = engine.models[i].rows.values
            signal, means = shrunk_signal(values, valid, mode)
            signals[i] = signal
            x = signal[:, None] + s[..., None] * (values - means[:, None])
            mapped.append(np.where(valid[..., None], x, 0.0))
        new = copy.copy(group)
        new.noise, new.shared = None, None
        if group.gram_blocks is not None:
            new.gram_blocks, new.rows = engine._gram_blocks(mapped), None
        else:
            new.rows = mapped
        out.groups.append(new)
    truth = float(spearman(cosine_cells(signals[0]), cosine_cells(signals[1])))
    return out, truth


def _own_noise(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each emotion's own prompt noise in its mean's squared norm, ``(v_e - shared) / k_e`` (E,), floored at 0."""
    k, _, resid, noise = _residuals(values, valid)
    return np.maximum(noise - _shared(resid, valid, k), 0.0)


def gram_engine(engine, rng: np.random.Generator, mode: str):
    """(a world's engine, its truth) whose signal is the observed means with each squared norm less its own noise
    inflation (``nfn``) or less that inflation's excess over the mean inflation (``eq``, the half RDMs' treatment),
    capped at 0.9 of the squared norm: the package's own world with these moves in its Gram blocks
    (:func:`rsastats.inference.worlds.mapped_engine`, :func:`~rsastats.inference.worlds.signal_rho`)."""
    base = _with_blocks(engine)
    moves = []
    for group in base.groups:
        rows = []
        for i in group.members:
            values = engine.models[i].rows.values
            if mode == "nfn":
                move = _own_noise(values, group.valid)
            else:
                move = _residuals(values, group.valid)[3]
                move = move - move.mean()
            norms = (np.einsum("ep,eph->eh", group.valid / group.valid.sum(axis=1, keepdims=True), values) ** 2).sum(1)
            rows.append(np.minimum(move, 0.9 * norms))
        moves.append(np.array(rows))
    return mapped_engine(base, world_maps(base, rng), moves), float(signal_rho(base, moves, PAIR)[0])


def data_set_row(models: list, truth: float, seed: int, n_worlds: int, modes: tuple = MODES) -> dict:
    """Every estimate of the ratio's bias for one data set, and its own error."""
    halves = CrossHalf(models, "spearman", "cosine", DEFAULT_N_SPLITS, np.random.SeedSequence([seed, 1]))
    ratio, aa = halves.corrected(None, PAIR)
    row = {"ratio": float(ratio[0, 0]), "truth": truth, "split_half": float(aa[0].mean())}
    seq = np.random.SeedSequence([seed, 2])
    outer, inner = world_errors(halves, PAIR, seq, N_WORLDS, 1, signal="observed")  # shipped before 2026-12-06
    bias, se = summarized(outer, inner, seq)
    row["iterated"], row["iterated_se"] = float(bias[0]), float(se[0])
    for mode in [m for m in modes if m in CORE_MODES]:
        seq = np.random.SeedSequence([seed, 3])
        outer, inner = world_errors(halves, PAIR, seq, N_WORLDS, CORE_MODES[mode], signal="equalized")
        bias, se = summarized(outer, inner, seq)
        row[mode], row[f"{mode}_se"] = float(bias[0]), float(se[0])
    for mode in [m for m in modes if m not in CORE_MODES]:
        errors, world_aa = [], np.nan
        for w, child in enumerate(spawn_sequences(np.random.SeedSequence([seed, 3]), n_worlds)):
            make = gram_engine if mode in GRAM_MODES else shrunk_engine
            engine, world_truth = make(halves.engine, np.random.default_rng(child), mode)
            value, waa = halves.renormed(True, engine).corrected(None, PAIR)
            errors.append(value[0, 0] - world_truth)
            if w == 0:
                world_aa = float(waa[0].mean())
        finite = np.asarray(errors)[np.isfinite(errors)]
        ok = len(finite) >= max(2, n_worlds / 2)
        row[mode] = float(np.median(finite)) if ok else np.nan
        row[f"{mode}_se"] = float(1.2533 * finite.std(ddof=1) / np.sqrt(len(finite))) if ok else np.nan
        row[f"{mode}_split_half"] = world_aa
    return row


def _few_set(name: str, rng: np.random.Generator) -> tuple[list, float]:
    """A data set of a 7-emotion atlas design of :mod:`.few` (its noise level read from its stored run) and its own
    noise-free rho."""
    import json
    from dataclasses import replace

    from ..atlas.model import Population
    from ..atlas.shipped import model_inputs
    from .few import FEW, FEW_FOLDER

    sigma = json.loads((Path(FEW_FOLDER) / f"{name}.json").read_text())["truth"]["sigma"]
    design = replace(next(d for d in FEW if d.name == name), sigma=sigma)
    ds = Population.of(design).draw(rng)
    return model_inputs(ds, design), float(spearman(ds.true_cells[0], ds.true_cells[1]))


def _draw(design: str, k: int) -> tuple[list, float]:
    from . import world_check

    rng = np.random.default_rng([5, k])
    if design in FEW_SEVEN:
        return _few_set(design, rng)
    if design in INDEPENDENT:
        from .independent import DESIGNS as IND, Model, _inputs, cosine_rho

        model = Model(next(d for d in IND if d.name == design))
        mu, prompts, valid = model.draw(rng)
        return _inputs(prompts, valid), cosine_rho(mu[0], mu[1])
    if design in FOURTH:
        return world_check._fourth_set(design, rng)
    return world_check._atlas_set(design, rng)


def _one(args: tuple) -> dict:
    design, k, n_worlds, modes = args
    if design.startswith("real:"):
        models, truth = _real_set(design, k)
    else:
        models, truth = _draw(design, k)
    return {"design": short_name(design), "set": k, **data_set_row(models, truth, k, n_worlds, modes)}


def short_name(design: str) -> str:
    """``real:DIR/a.nc:20:DIR/b.nc:4:8`` -> ``a-L20 b-L4 P8``; other names unchanged."""
    if not design.startswith("real:"):
        return design
    _, a, la, b, lb, n_prompts = design.split(":")
    return f"{Path(a).stem}-L{la} {Path(b).stem}-L{lb} P{n_prompts}"


def _real_set(design: str, k: int) -> tuple[list, float]:
    """``real:A.nc:LAYER:B.nc:LAYER:P``: ``P`` of the files' prompt labels, the same for every emotion and both files;
    truth: rho of the means of all prompts."""
    from .cli_model import model_inputs
    from .real_prompts import read_layer

    _, a_path, a_layer, b_path, b_layer, n_prompts = design.split(":")
    x_a, x_b = read_layer(f"{a_path}:{a_layer}")[1], read_layer(f"{b_path}:{b_layer}")[1]
    labels = np.sort(np.random.default_rng([11, int(n_prompts), k]).choice(x_a.shape[1], int(n_prompts), replace=False))
    truth = float(spearman(cosine_cells(x_a.mean(axis=1)), cosine_cells(x_b.mean(axis=1))))
    valid = np.ones((x_a.shape[0], int(n_prompts)), dtype=bool)
    return model_inputs(x_a[:, labels], x_b[:, labels], valid), truth


def design_rows(frame: pd.DataFrame) -> pd.DataFrame:
    modes = [m for m in MODES if m in frame]
    """One row per design: the mean ratio error and, per estimate, its mean and RMSE against the own errors."""
    rows = []
    for design, f in frame.groupby("design", sort=False):
        error = f["ratio"] - f["truth"]
        row = {"design": design, "n_sets": len(f), "ratio_error": error.mean(), "ratio_error_sd": error.std(),
               "ratio_rmse": float(np.sqrt((error ** 2).mean())),
               "split_half": f["split_half"].mean()}
        for est in ["iterated"] + modes:
            row[est] = f[est].mean()
            row[f"{est}_rmse"] = float(np.sqrt(((f[est] - error) ** 2).mean()))
            row[f"{est}_mad"] = float((f[est] - error).abs().median())
            estimate = debiased(f["ratio"], f[est], f[f"{est}_se"])  # as analyses.calibration.debias would ship it
            row[f"{est}_debiased_rmse"] = float(np.sqrt(((estimate - f["truth"]) ** 2).mean()))
        for mode in [m for m in modes if m not in CORE_MODES]:
            row[f"{mode}_split_half"] = f[f"{mode}_split_half"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=30)
    parser.add_argument("--worlds", type=int, default=40)
    parser.add_argument("--designs", nargs="*", default=list(DESIGNS))
    parser.add_argument("--modes", nargs="*", default=list(MODES), choices=MODES)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="reports/calibration/world_signals.csv")
    args = parser.parse_args(argv)
    tasks = [(d, k, args.worlds, tuple(args.modes)) for d in args.designs for k in range(args.sets)]
    with ProcessPoolExecutor(args.jobs) as pool:
        frame = pd.DataFrame(list(pool.map(_one, tasks)))
    table = design_rows(frame)
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    with atomic_path(Path(args.out).with_suffix(".sets.csv")) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.4f")
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(table.round(3).to_string(index=False))
    return table


if __name__ == "__main__":
    main()
