"""Run one design of the atlas: Monte Carlo truths, then per data set every resampling quantity the
interval methods of :mod:`analyses.atlas.intervals` need (they are formed afterwards, so one run
serves every method).

Per data set (all from emotion resamples over fixed cell vectors, see :mod:`.estimators`):

- point values of the correlation components ``rho, aa, bb, ab, ba`` (``aa`` = mean split-half
  correlation of model A, ``ab`` = mean cross-half correlation A-half-1 x B-half-2, ...);
- ``n_outer`` bootstrap replicates of the components;
- the jackknife (leave one emotion out) values of the components;
- a double bootstrap on the first ``n_dbl`` outer resamples, ``n_inner`` inner resamples each:
  per outer resample the inner variance (Fisher-z scale for rho, raw for the corrected
  estimator) and the prepivoting fractions;
- a studentized bootstrap on the first ``n_stud`` outer resamples: the jackknife SE of z(rho)
  within each resample.
"""

from __future__ import annotations

import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from .estimators import estimators, split_cells
from .model import Design, Population, cosine_cells, spearman
from .resample import cell_weights, emotion_counts, inner_counts

__all__ = ["Config", "truths", "analyse", "run_design"]

COMPONENTS = ("rho", "aa", "bb", "ab", "ba")


@dataclass(frozen=True)
class Config:
    n_outer: int = 1000
    n_dbl: int = 200
    n_inner: int = 50
    n_stud: int = 0
    n_splits: int = 8
    dbl_corrected: bool = True  # double bootstrap of the corrected estimator too (costlier)
    n_dbl_xh: int = 100  # outer resamples with an inner bootstrap of the corrected estimator
    n_inner_xh: int = 10  # inner resamples each (only their variance is used)


def truths(design: Design, n_mc: int = 20000, seed: int = 99) -> dict[str, float]:
    """Monte Carlo truths: E[rho_hat] over data sets of the design, and the noise-free rho averaged
    over emotion samples of the same size; with their Monte Carlo standard errors."""
    pop = Population.of(design)
    rng = np.random.default_rng([design.seed, seed])
    measured, free = [], []
    batch = 500
    for _ in range(n_mc // batch):
        means = np.stack([pop.draw_means(rng) for _ in range(batch)])  # (b, 2, n, H)
        cells = cosine_cells(means)
        measured.append(spearman(cells[:, 0], cells[:, 1]))
        mu = np.stack([pop.emotions(design.n_emotions, rng)[0] for _ in range(batch)])
        cells = cosine_cells(mu)
        free.append(spearman(cells[:, 0], cells[:, 1]))
    measured, free = np.concatenate(measured), np.concatenate(free)
    return {"measured": float(measured.mean()), "measured_mcse": float(measured.std() / np.sqrt(measured.size)),
            "measured_sd": float(measured.std()), "free": float(free.mean()),
            "free_mcse": float(free.std() / np.sqrt(free.size))}


def _components(sc, weights) -> np.ndarray:
    c = sc.correlations(weights)
    keys = COMPONENTS if sc.has_halves else ("rho",)
    out = np.full((len(c["rho"]), len(COMPONENTS)), np.nan)
    for k, key in enumerate(keys):
        out[:, k] = c[key]
    return out


def _xh(comp: np.ndarray) -> np.ndarray:
    e = estimators({k: comp[..., i] for i, k in enumerate(COMPONENTS)})
    return e.get("xh", np.full(comp.shape[:-1], np.nan))


def _z(r: np.ndarray) -> np.ndarray:
    return np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12))


def analyse(ds, design: Design, config: Config, seq: np.random.SeedSequence) -> dict[str, np.ndarray]:
    """Every resampling quantity of one data set (see the module docstring)."""
    s_split, s_outer, s_inner = seq.spawn(3)
    n = design.n_emotions
    sc = split_cells(ds, config.n_splits, s_split, debias=False)
    rho_only = sc.cellset, np.array([[0, 1]])
    point = _components(sc, None)[0]
    counts = emotion_counts(np.random.default_rng(s_outer), config.n_outer, n)
    boot = _components(sc, cell_weights(counts))
    jack = _components(sc, cell_weights(1.0 - np.eye(n)))
    out = {"point": point, "boot": boot, "jack": jack}
    if config.n_dbl:
        inner = inner_counts(np.random.default_rng(s_inner), counts[: config.n_dbl], config.n_inner)
        w = cell_weights(inner.reshape(-1, n))
        r_in = rho_only[0].correlate(rho_only[1], w)[:, 0].reshape(config.n_dbl, config.n_inner)
        z_in, z_out, z_hat = _z(r_in), _z(boot[: config.n_dbl, 0]), _z(point[0])
        out["dbl_rho_var_z"] = np.nanvar(z_in, axis=1, ddof=1)
        out["dbl_rho_var"] = np.nanvar(r_in, axis=1, ddof=1)
        out["dbl_rho_u_pct"] = np.nanmean(r_in <= point[0], axis=1)
        out["dbl_rho_u_basic"] = np.nanmean((z_in - z_out[:, None]) <= (z_out - z_hat)[:, None], axis=1)
        if config.dbl_corrected and sc.has_halves:
            k, j = min(config.n_dbl_xh, config.n_dbl), min(config.n_inner_xh, config.n_inner)
            w_xh = cell_weights(inner[:k, :j].reshape(-1, n))
            x_in = _xh(_components(sc, w_xh)).reshape(k, j)
            x_out, x_hat = _xh(boot[:k]), _xh(point)
            out["dbl_xh_var"] = np.nanvar(x_in, axis=1, ddof=1)
            out["dbl_xh_u_pct"] = np.nanmean(x_in <= x_hat, axis=1)
            out["dbl_xh_u_basic"] = np.nanmean((x_in - x_out[:, None]) <= (x_out - x_hat)[:, None], axis=1)
    if config.n_stud:
        c = counts[: config.n_stud]
        loo = np.maximum(c[:, None, :] - np.eye(n)[None], 0.0)
        r_loo = rho_only[0].correlate(rho_only[1], cell_weights(loo.reshape(-1, n)))[:, 0].reshape(config.n_stud, n)
        z_loo = _z(r_loo)
        zbar = (c * z_loo).sum(1) / c.sum(1)  # leave-one-draw-out mean: each draw of emotion i gives z_loo[i]
        out["stud_se_z"] = np.sqrt((n - 1) / n * (c * (z_loo - zbar[:, None]) ** 2).sum(1))
    return out


def _chunk(args) -> list[dict]:
    design, config, seqs = args
    warnings.simplefilter("ignore")
    pop = Population.of(design)
    rows = []
    for seq in seqs:
        s_data, s_an = seq.spawn(2)
        ds = pop.draw(np.random.default_rng(s_data))
        rows.append(analyse(ds, design, config, s_an))
    return rows


def run_design(design: Design, config: Config, n_sets: int, seed: int = 2026, jobs: int = 2,
               n_mc: int = 20000) -> dict:
    """Truths and per-data-set records of one design (a dict of stacked arrays)."""
    started = time.time()
    truth = truths(design, n_mc)
    seqs = np.random.SeedSequence([seed, design.seed]).spawn(n_sets)
    chunks = [(design, config, seqs[i:i + 10]) for i in range(0, n_sets, 10)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(_chunk, chunks))
    else:
        parts = [_chunk(c) for c in chunks]
    rows = [r for p in parts for r in p]
    keys = sorted(set().union(*[r.keys() for r in rows]))
    stacked = {k: np.stack([r.get(k, np.full_like(rows[0][k], np.nan)) for r in rows]) for k in keys
               if all(k in r for r in rows)}
    return {"design": asdict(design), "config": asdict(config), "truth": truth, "records": stacked,
            "seconds": time.time() - started}
