"""Cost of the proposed defaults at the speed-target size (21 emotions x 50 prompts x 2048 dims):
one pair (``compare``) and 12 models (``matrix``, 66 pairs), with the package's engine.

    python -m analyses.atlas.bench [--models 12] [--n-boot 2000] [--n-dbl 200] [--n-inner 25] [--n-splits 8]

Prints one JSON object with the seconds of each step.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from rsastats.inference.engine import ResamplingEngine, all_pairs
from rsastats.inputs import ModelInput
from rsastats.rdm import RDM, rdm_matrix
from rsastats.vectors import PromptRows

from .proposal import CrossHalf, cell_weights, dvar_interval, half_counts, inner_counts


def _models(n_models: int, n_e: int, n_p: int, hidden: int, seed: int = 0) -> list[ModelInput]:
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_e, hidden))
    labels = tuple(f"e{i:02d}" for i in range(n_e))
    out = []
    for k in range(n_models):
        mu = base + 0.5 * rng.standard_normal((n_e, hidden))
        values = (mu[:, None, :] + 2.0 * rng.standard_normal((n_e, n_p, hidden))).astype(np.float64)
        rows = PromptRows(values=values, valid=np.ones((n_e, n_p), dtype=bool), emotions=labels,
                          prompts=tuple(range(n_p)), post="none", layers=(0,), normalization="raw", n_pcs=None)
        out.append(ModelInput(f"m{k}", "activations", RDM(rdm_matrix(values.mean(axis=1)), labels, "cosine", f"m{k}"), rows,
                              "bench"))
    return out


def run(n_models: int, n_boot: int, n_dbl: int, n_inner: int, n_splits: int, n_dbl_corr: int, n_inner_corr: int) -> dict:
    models = _models(n_models, 21, 50, 2048)
    pairs = all_pairs(n_models)
    t = {}
    t0 = time.perf_counter()
    emo = ResamplingEngine(models, rank="spearman", scheme="emotions", rdm_method="cosine")
    point = emo.point(pairs)
    counts, _ = emo.draws(n_boot, 1)
    reps = emo.replicates(pairs, n_boot, 1)
    t["emotion_bootstrap"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    emo.evaluate(pairs, 1.0 - np.eye(21))
    t["rho_jackknife"] = time.perf_counter() - t0
    ivs = [(np.nan, np.nan)] * len(pairs)
    if n_dbl:
        t0 = time.perf_counter()
        inner = inner_counts(2, counts[:n_dbl], n_inner).reshape(-1, 21)
        inner_reps = emo.evaluate(pairs, inner).reshape(n_dbl, n_inner, len(pairs))
        z_in = np.arctanh(np.clip(inner_reps, -1 + 1e-12, 1 - 1e-12))
        v_inner = np.var(z_in, axis=1, ddof=1)
        ivs = [dvar_interval(point[k], reps[:, k], v_inner[:, k]) for k in range(len(pairs))]
        t["rho_double_bootstrap_variance"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    prm = ResamplingEngine(models, rank="spearman", scheme="prompts", rdm_method="cosine")
    first, second = half_counts(prm.groups[0].valid, n_splits, 3)
    u1, u2 = prm.rdm_uppers([first]), prm.rdm_uppers([second])  # (M, S, m)
    halves = np.stack([u1, u2], axis=2)
    t["split_half_rdms"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ch = CrossHalf(np.stack([m.rdm.upper() for m in models]), halves, pairs)
    _, xh_point, _ = ch.corrected(np.ones((1, 210)))
    _, xh_reps, _ = ch.corrected(cell_weights(counts))
    t["corrected_bootstrap"] = time.perf_counter() - t0
    civs = [(np.nan, np.nan)] * len(pairs)
    if n_dbl_corr:
        t0 = time.perf_counter()
        inner_c = inner_counts(4, counts[:n_dbl_corr], n_inner_corr).reshape(-1, 21)
        _, xh_inner, _ = ch.corrected(cell_weights(inner_c))
        v_c = np.nanvar(xh_inner.reshape(n_dbl_corr, n_inner_corr, -1), axis=1, ddof=1)
        civs = [dvar_interval(xh_point[0, k], xh_reps[:, k], v_c[:, k], scale="raw") for k in range(len(pairs))]
        t["corrected_double_bootstrap_variance"] = time.perf_counter() - t0
    t["total"] = sum(t.values())
    return {"n_models": n_models, "n_pairs": len(pairs), "n_boot": n_boot, "n_dbl": n_dbl, "n_inner": n_inner,
            "n_splits": n_splits, "n_dbl_corrected": n_dbl_corr, "n_inner_corrected": n_inner_corr,
            "seconds": {k: round(v, 3) for k, v in t.items()}, "load_average": os.getloadavg(),
            "example": {"rho": float(point[0]), "ci": ivs[0][:2], "xh": float(xh_point[0, 0]), "corrected_ci": civs[0][:2]}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", type=int, default=12)
    ap.add_argument("--n-boot", type=int, default=2000)
    ap.add_argument("--n-dbl", type=int, default=200)
    ap.add_argument("--n-inner", type=int, default=25)
    ap.add_argument("--n-splits", type=int, default=8)
    ap.add_argument("--n-dbl-corrected", type=int, default=100)
    ap.add_argument("--n-inner-corrected", type=int, default=10)
    a = ap.parse_args(argv)
    print(json.dumps(run(a.models, a.n_boot, a.n_dbl, a.n_inner, a.n_splits, a.n_dbl_corrected, a.n_inner_corrected)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
