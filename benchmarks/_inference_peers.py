"""The peers of ``bench_inference.py`` (rsatoolbox's bootstraps, scikit-bio's Mantel test) and the best-of timing
that both use; see that script's docstring for what is compared with what."""

from __future__ import annotations

import time
import warnings

import numpy as np


def best_of(fn, repeats=3):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times), float(np.median(times))


def time_rsatoolbox(models, subset: dict, repeats: int = 3) -> dict:
    from rsatoolbox.inference import eval_bootstrap_pattern, eval_dual_bootstrap
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs
    from scipy.spatial.distance import pdist

    rdm_models = [ModelFixed(m.name, m.rdm.upper()) for m in models[1:]]
    data = RDMs(models[0].rdm.upper()[None, :], dissimilarity_measure="cosine")
    # For the dual bootstrap the data need an RDM-level factor: one RDM per prompt (from that
    # prompt's activation for each emotion) stands in for the prompt factor.
    rows = models[0].rows.values  # (emotion, prompt, hidden)
    per_prompt = np.stack([pdist(rows[:, p, :], "cosine") for p in range(rows.shape[1])])
    data_prompts = RDMs(per_prompt, dissimilarity_measure="cosine")
    out = {}
    runs = {
        "eval_bootstrap_pattern_default": lambda n: eval_bootstrap_pattern(rdm_models, data, method="spearman", N=n),
        "eval_bootstrap_pattern_lean": lambda n: eval_bootstrap_pattern(rdm_models, data, method="spearman", N=n,
                                                                        boot_noise_ceil=False),
        "eval_dual_bootstrap": lambda n: eval_dual_bootstrap(rdm_models, data_prompts, method="spearman", N=n),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import contextlib
        import io

        for name, fn in runs.items():
            n = subset[name]
            with contextlib.redirect_stderr(io.StringIO()):  # tqdm bars
                fn(2)
                dt, _ = best_of(lambda: fn(n), repeats)
            evaluations = 3 if name == "eval_dual_bootstrap" else 1  # both, rdm-only, pattern-only per sample
            pair_resamples = n * len(rdm_models) * evaluations
            out[name] = {"samples_timed": n, "seconds": dt, "pairs_per_sample": len(rdm_models) * evaluations,
                         "us_per_pair_resample": dt / pair_resamples * 1e6,
                         "note": "timed on a subset of samples (best of 3) and scaled linearly (per pair-resample)"}
    return out


def time_mantel(models, permutations: int) -> dict:
    from skbio.stats.distance import mantel as skbio_mantel

    from rsastats.inference import mantel

    a, b = np.asarray(models[0].rdm.matrix), np.asarray(models[1].rdm.matrix)
    mantel(a, b, permutations=99, seed=0)
    ours, _ = best_of(lambda: mantel(a, b, permutations=permutations, seed=0))
    skbio_mantel(a, b, method="spearman", permutations=9, seed=0)
    theirs, _ = best_of(lambda: skbio_mantel(a, b, method="spearman", permutations=permutations, seed=0))
    ours_us, theirs_us = ours / permutations * 1e6, theirs / permutations * 1e6
    return {"rsastats_us_per_permutation": ours_us, "skbio_us_per_permutation": theirs_us,
            "ratio": theirs_us / ours_us, "permutations": permutations}
