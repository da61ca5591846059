"""rho_corrected under prompt noise with heavy-tailed coordinates (issue 14): found here, fixed by the half's own noise.

A generator the calibration studies did not use: each data set draws 21 (or 12, 30) emotions from a four-factor
affect space (sizes 1, 0.8, 0.5, 0.3) plus ``D_LAT - 4`` idiosyncratic factors of size ``idio``; model A reads them
through ``tanh`` of one random map, model B through a softplus of another (``HID`` = 192 dimensions each, with a
common offset); every prompt adds noise whose coordinates are *independent* Student t with 3 degrees of freedom,
scaled to unit variance (``noise`` times that; the fifth model's t noise has one heavy-tailed scale per text, which is
another thing), and 10% of the prompts beyond the third of each emotion are missing.  ``gauss`` designs are the same
with normal noise; ``levels`` designs give each emotion a noise level ``exp(0.6 N(0, 1))`` that both models share (the
case the equalization is for).

Every data set goes through :func:`rsastats.inference.compare_models` with its defaults (``n_boot`` 1000).  The
truths: rho's, the mean of rho over ``--n-mc`` fresh data sets; rho_corrected's, the mean noise-free rho (the
Spearman correlation of the noise-free vectors' cosine RDMs) over as many emotion samples.  Beside the shipped
estimate, four half-level ratios on 4 random splits (:func:`ratio`): of plain half means, of half means whose squared
norms are equalized with each emotion's noise estimated from all its prompts (the shipped half RDMs until
2026-12-07, whose bias this study found), from the half's own prompts, and ``hybrid`` (the half's own where it has at
least :data:`HYBRID_MIN` prompts, else all; shipped since: :func:`rsastats.inference.equalize.half_noise`) -- whether
the bias is the ratio's or the equalization's.  Writes ``reports/calibration/heavy_tails.csv`` and ``.md``.

    python -m analyses.calibration.heavy_tails [--sets 300] [--n-mc 3000] [--jobs 2]
"""

from __future__ import annotations

import argparse
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from .studies import binomial_ci

ROOT = Path(__file__).resolve().parents[2]
D_LAT, HID = 24, 192
MODEL_SEED = 77
RATIOS = ("plain", "all", "half", "hybrid")  # the half-level ratios of :func:`ratio`
HYBRID_MIN = 3  # ``hybrid``: a half's own noise estimate from at least this many prompts, else all the prompts' 
# name: (emotions, prompts per emotion, noise scale, idiosyncratic size, Gaussian noise, SD of the log noise level of
# an emotion, the same in both models: where the equalization is needed)
DESIGNS = {
    "21x6-t3": (21, 6, 0.5, 0.3, False, 0.0),
    "21x12-t3": (21, 12, 0.8, 0.15, False, 0.0),
    "21x12-gauss": (21, 12, 0.8, 0.15, True, 0.0),
    "30x4-t3": (30, 4, 0.35, 0.5, False, 0.0),
    "12x8-t3": (12, 8, 0.5, 0.3, False, 0.0),
    "21x6-gauss-levels": (21, 6, 0.5, 0.3, True, 0.6),
    "21x8-gauss-levels": (21, 8, 0.5, 0.3, True, 0.6),
    "21x8-t3-levels": (21, 8, 0.5, 0.3, False, 0.6),
}


class HeavyTails:
    """The two fixed read-outs and the draws of one design."""

    def __init__(self, n_emotions: int, n_prompts: int, noise: float, idio: float, gaussian: bool, levels: float = 0.0):
        rng = np.random.default_rng(MODEL_SEED)
        self.n_e, self.n_p, self.noise, self.gaussian, self.levels = n_emotions, n_prompts, noise, gaussian, levels
        self.w_a = rng.standard_normal((D_LAT, HID)) / np.sqrt(D_LAT)
        self.w_b = rng.standard_normal((D_LAT, HID)) / np.sqrt(D_LAT)
        self.m_a, self.m_b = 0.8 * rng.standard_normal(HID), 1.5 * rng.standard_normal(HID)
        self.scales = np.r_[[1.0, 0.8, 0.5, 0.3], np.full(D_LAT - 4, idio)]

    def emotions(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        z = rng.standard_normal((self.n_e, D_LAT)) * self.scales
        return np.tanh(1.5 * z @ self.w_a) + self.m_a, np.logaddexp(0.0, 2.0 * z @ self.w_b) + self.m_b

    def prompts(self, rng: np.random.Generator, vectors: np.ndarray, level: np.ndarray | float = 1.0) -> np.ndarray:
        shape = (self.n_e, self.n_p, HID)
        eps = rng.standard_normal(shape) if self.gaussian else rng.standard_t(3, size=shape) / np.sqrt(3.0)
        return vectors[:, None, :] + self.noise * np.reshape(level, (-1, 1, 1)) * eps

    def draw(self, rng: np.random.Generator):
        """Noise-free vectors of A and B, their prompts, and the valid-prompt mask."""
        a, b = self.emotions(rng)
        level = np.exp(self.levels * rng.standard_normal(self.n_e)) if self.levels else 1.0
        pa, pb = self.prompts(rng, a, level), self.prompts(rng, b, level)
        missing = rng.random((self.n_e, self.n_p)) < 0.1
        missing[:, :3] = False
        return a, b, pa, pb, ~missing


def noise_free_rho(a: np.ndarray, b: np.ndarray) -> float:
    return float(spearmanr(pdist(a, "cosine"), pdist(b, "cosine")).statistic)


def _means(p: np.ndarray, valid: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    mask = valid if keep is None else valid & keep
    return np.einsum("ep,eph->eh", mask, p) / mask.sum(axis=1)[:, None]


def _equalized_gram(means: np.ndarray, inflation: np.ndarray) -> np.ndarray:
    """Gram matrix of ``means`` with each squared norm moved by its inflation less the mean inflation, floored as in
    :func:`rsastats.inference.equalize.equalized`."""
    gram = means @ means.T
    mean, diag = inflation.mean(), np.diag(gram).copy()
    gram[np.diag_indices_from(gram)] = np.maximum(diag - inflation + mean, np.minimum(mean, diag))
    return gram


def _cosine_cells(gram: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.diag(gram))
    i, j = np.triu_indices(len(gram), 1)
    return 1.0 - gram[i, j] / (norms[i] * norms[j])


def _noise(p: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per emotion, the trace of the covariance of its prompts in ``mask`` (NaN with fewer than 2)."""
    return np.array([p[e][mask[e]].var(axis=0, ddof=1).sum() if mask[e].sum() > 1 else np.nan
                     for e in range(len(mask))])


def ratio(pa, pb, valid, rng: np.random.Generator, mode: str = "plain", n_splits: int = 4) -> float:
    """Cross-half over split-half correlations of half RDMs (A1 x B2 and A2 x B1 over A1 x A2 and B1 x B2), on
    ``n_splits`` random splits of each emotion's valid prompts: ``plain`` half means; ``all`` -- the half's squared
    norms equalized with each emotion's noise from all its prompts, as the shipped estimator does; ``half`` -- with
    the noise of the half's own prompts (that of all its prompts where the half has fewer than 2); ``hybrid`` -- the
    half's own where it has at least :data:`HYBRID_MIN` prompts, else all its prompts'."""
    out = []
    for _ in range(n_splits):
        half = np.zeros(valid.shape, bool)
        for e in range(valid.shape[0]):
            idx = rng.permutation(np.flatnonzero(valid[e]))
            half[e, idx[: len(idx) // 2]] = True
        rd = {}
        for m, p in (("a", pa), ("b", pb)):
            whole = _noise(p, valid)
            for h, mask in ((0, valid & half), (1, valid & ~half)):
                means = _means(p, mask)
                if mode == "plain":
                    gram = means @ means.T
                else:
                    own = _noise(p, mask) if mode in ("half", "hybrid") else whole
                    if mode == "hybrid":
                        own = np.where(mask.sum(axis=1) >= HYBRID_MIN, own, whole)
                    gram = _equalized_gram(means, np.where(np.isfinite(own), own, whole) / mask.sum(axis=1))
                rd[m, h] = _cosine_cells(gram)
        sp = lambda x, y: spearmanr(rd[x], rd[y]).statistic  # noqa: E731
        cross = (sp(("a", 0), ("b", 1)) + sp(("a", 1), ("b", 0))) / 2
        product = sp(("a", 0), ("a", 1)) * sp(("b", 0), ("b", 1))
        out.append(cross / np.sqrt(product) if product > 0 else np.nan)  # no ratio without positive reliabilities
    return float(np.mean(out))


def _dataset(gen: HeavyTails, pa, pb, valid):
    from rsastats.io import make_activations

    labels = [f"e{i}" for i in range(gen.n_e)]

    def one(p, name):
        return make_activations(np.where(valid[:, :, None], p, np.nan)[:, :, None, :], labels, valid=valid,
                                attrs={"model": name})
    return one(pa, "A"), one(pb, "B")


def design_rows(job: tuple) -> list[dict]:
    """Per data set of one design (a chunk ``k::step``): the shipped results and the plain ratio."""
    from rsastats.inference import compare_models

    name, n_sets, seed, k, step = job
    gen = HeavyTails(*DESIGNS[name])
    warnings.simplefilter("ignore")
    rows = []
    for i, seq in enumerate(np.random.SeedSequence([seed, 1]).spawn(n_sets)):
        if i % step != k:
            continue
        rng = np.random.default_rng(seq)
        a, b, pa, pb, valid = gen.draw(rng)
        r = compare_models(*_dataset(gen, pa, pb, valid), n_boot=1000, seed=i, permutations=99)
        rows.append({"design": name, "set": i, "rho": r.rho, "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "rho_corrected": r.rho_corrected, "corrected_ci_low": r.corrected_ci_low,
                     "corrected_ci_high": r.corrected_ci_high, "corrected_note": r.corrected_note,
                     **{f"{mode}_ratio": ratio(pa, pb, valid, np.random.default_rng([seed, i, 3]), mode)
                        for mode in RATIOS}, "noise_free": noise_free_rho(a, b)})
    return rows


def truths(job: tuple) -> tuple[str, float, float]:
    """rho's truth (mean rho of the full prompt means) and rho_corrected's (mean noise-free rho)."""
    name, n_mc, seed = job
    gen = HeavyTails(*DESIGNS[name])
    rho, free = [], []
    for seq in np.random.SeedSequence([seed, 2]).spawn(n_mc):
        a, b, pa, pb, valid = gen.draw(np.random.default_rng(seq))
        rho.append(noise_free_rho(_means(pa, valid), _means(pb, valid)))
        free.append(noise_free_rho(a, b))
    return name, float(np.mean(rho)), float(np.mean(free))


def summary(rows: pd.DataFrame, truth: dict[str, tuple[float, float]]) -> pd.DataFrame:
    out = []
    for name, g in rows.groupby("design", sort=False):
        t_rho, t_free = truth[name]
        given = g[g["rho_corrected"].notna()]
        hit = (given["corrected_ci_low"] <= t_free) & (t_free <= given["corrected_ci_high"])
        rho_hit = (g["ci_low"] <= t_rho) & (t_rho <= g["ci_high"])
        out.append({"design": name, "sets": len(g), "true_rho": t_rho, "rho_coverage": rho_hit.mean(),
                    "noise_free_rho": t_free, "corrected_given": len(given), "corrected_coverage": hit.mean(),
                    "corrected_cp_low": binomial_ci(int(hit.sum()), len(given))[0],
                    "corrected_cp_high": binomial_ci(int(hit.sum()), len(given))[1],
                    "corrected_bias": (given["rho_corrected"] - given["noise_free"]).mean(),
                    **{f"{mode}_ratio_bias": (g[f"{mode}_ratio"] - g["noise_free"]).mean() for mode in RATIOS},
                    **{f"{mode}_ratio_sd": (g[f"{mode}_ratio"] - g["noise_free"]).std() for mode in RATIOS}})
    return pd.DataFrame(out)


def markdown(table: pd.DataFrame, meta: dict) -> str:
    lines = [f"Written by `python -m analyses.calibration.heavy_tails --sets {meta['sets']} --n-mc {meta['n_mc']} "
             f"--seed {meta['seed']}` ({meta['seconds']:.0f} s; the module docstring describes the generator). "
             "Coverage of rho's truth (its mean) and of rho_corrected's (the mean noise-free rho) by the shipped "
             "defaults; bias: the mean of the estimate less the data set's own noise-free rho (rho_corrected where "
             "given; the half-level ratios over every data set: of plain half means, of half means equalized with "
             "each emotion's noise from all its prompts (shipped until 2026-12-07), from the half's own prompts, and "
             f"from the half's own where it has at least {HYBRID_MIN} prompts (hybrid, shipped since); in brackets the "
             "SD of the ratio's error; a data set "
             "where a split had a split-half correlation <= 0 has no ratio and is left out of that column).", "",
             "| design | sets | true rho | rho coverage | noise-free rho | corrected given | corrected coverage "
             "[CP 95%] | corrected bias | ratio bias: plain | equalized (all prompts) | equalized (the half's) | "
             "hybrid |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.design} | {r.sets} | {r.true_rho:.3f} | {100 * r.rho_coverage:.1f}% | "
                     f"{r.noise_free_rho:.3f} | {r.corrected_given} | {100 * r.corrected_coverage:.1f}% "
                     f"[{100 * r.corrected_cp_low:.1f}, {100 * r.corrected_cp_high:.1f}] | {r.corrected_bias:+.3f} | "
                     + " | ".join(f"{getattr(r, f'{m}_ratio_bias'):+.3f} ({getattr(r, f'{m}_ratio_sd'):.3f})"
                                  for m in RATIOS) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analyses.calibration.heavy_tails", description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=300)
    ap.add_argument("--n-mc", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=2031)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--designs", nargs="*", default=list(DESIGNS), choices=list(DESIGNS))
    ap.add_argument("--out", type=Path, default=ROOT / "reports" / "calibration")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        truth = {n: (r, f) for n, r, f in pool.map(truths, [(n, args.n_mc, args.seed + i)
                                                            for i, n in enumerate(args.designs)])}
        jobs = [(n, args.sets, args.seed + 100 + i, k, args.jobs) for i, n in enumerate(args.designs)
                for k in range(args.jobs)]
        rows = pd.DataFrame([r for part in pool.map(design_rows, jobs) for r in part]).sort_values(["design", "set"])
    table = summary(rows, truth)
    meta = {"sets": args.sets, "n_mc": args.n_mc, "seed": args.seed, "seconds": time.perf_counter() - start}
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "heavy_tails.csv", index=False, float_format="%.4f")
    text = markdown(table, meta)
    (args.out / "heavy_tails.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
