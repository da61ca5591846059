"""Geometry bootstrap: the weights route of rsastats.geometry against a naive loop, same resamples.

The naive peer materialises every resample (rows copied by index) and computes each descriptor
with numpy/scipy: ``scipy.spatial.distance.pdist`` over pairs of distinct original texts for the
anisotropy, ``numpy.linalg.eigvalsh`` of the sample covariance for the spectrum, emotion means then
``pdist`` for the emotion descriptors.  Both run in this process on the same data and the same
resample weights; the script checks that they agree (to 1e-9 relative) and prints the speed ratio.

    python benchmarks/bench_geometry.py [--n-boot 200] [--hidden 576] [--prompts 20] [--baseline 100]

Timings on a shared machine are noisy; run with OPENBLAS_NUM_THREADS=1 when other jobs are running
(multi-threaded BLAS on a loaded machine makes the small products of both routes much slower).
The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from scipy.spatial.distance import pdist

from rsastats.data import make_activations
from rsastats.geometry import kernels
from rsastats.geometry.descriptors import evaluate_descriptors, group_descriptors
from rsastats.geometry.layers import layer_data


def naive_baseline(x: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    idx = np.repeat(np.arange(len(x)), counts.astype(int))
    sample = x[idx]
    cos = 1 - pdist(sample, "cosine")
    a, b = np.triu_indices(len(idx), k=1)
    distinct = idx[a] != idx[b]
    eig = np.linalg.eigvalsh(np.cov(sample.T, bias=True))
    norms = np.linalg.norm(sample, axis=1)
    return {"baseline_anisotropy": cos[distinct].mean(), "baseline_participation_ratio_plugin": eig.sum() ** 2 / (eig**2).sum(),
            "baseline_pc1_share": eig.max() / eig.sum(), "baseline_norm_mean": norms.mean(), "baseline_norm_sd": norms.std(ddof=1)}


def naive_emotions(acts: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    e, p, _ = acts.shape
    c = counts.reshape(e, p).astype(int)
    vectors = np.stack([np.repeat(acts[i], c[i], axis=0).mean(axis=0) for i in range(e)])
    dist = pdist(vectors, "cosine")
    sv2 = np.linalg.svd(vectors - vectors.mean(axis=0), compute_uv=False) ** 2
    return {"emotion_mean_cosine": np.mean(1 - dist), "emotion_rdm_spread": np.std(dist),
            "emotion_participation_ratio": sv2.sum() ** 2 / (sv2**2).sum(), "emotion_pc1_share": sv2.max() / sv2.sum()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=576)
    parser.add_argument("--emotions", type=int, default=21)
    parser.add_argument("--prompts", type=int, default=20)
    parser.add_argument("--baseline", type=int, default=100)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    acts = (rng.standard_normal((args.emotions, args.prompts, 1, args.hidden))
            + 2 * rng.standard_normal((args.emotions, 1, 1, args.hidden)) + 3.0).astype(np.float32)
    base = (rng.standard_normal((args.baseline, 1, args.hidden)) + 3.0).astype(np.float32)
    ds = make_activations(acts, [f"e{i}" for i in range(args.emotions)], baseline=base, attrs={"model": "bench"})
    data = layer_data(ds, "activations", 0, None)
    baseline_descriptors = group_descriptors("baseline")
    emotion_descriptors = group_descriptors("emotion", per_prompt=False)
    w_base = np.concatenate(list(kernels.resampling_weights(1, args.n_boot, data.baseline.group_sizes)))
    w_prompts = np.concatenate(list(kernels.resampling_weights(2, args.n_boot, data.prompts.group_sizes)))
    x_base, x_acts = base[:, 0].astype(np.float64), acts[:, :, 0].astype(np.float64)

    t0 = time.perf_counter()
    ours_b = {k: np.concatenate([evaluate_descriptors(baseline_descriptors, data.baseline, w_base[i:i + 128])[k]
                                 for i in range(0, args.n_boot, 128)])
              for k in ("baseline_anisotropy", "baseline_participation_ratio_plugin", "baseline_pc1_share",
                        "baseline_norm_mean", "baseline_norm_sd")}
    ours_e = {k: np.concatenate([evaluate_descriptors(emotion_descriptors, data.prompts, w_prompts[i:i + 128])[k]
                                 for i in range(0, args.n_boot, 128)])
              for k in ("emotion_mean_cosine", "emotion_rdm_spread", "emotion_participation_ratio", "emotion_pc1_share")}
    ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    naive_b = [naive_baseline(x_base, w) for w in w_base]
    naive_e = [naive_emotions(x_acts, w) for w in w_prompts]
    naive = time.perf_counter() - t0

    worst = 0.0
    for ours_d, naive_list in ((ours_b, naive_b), (ours_e, naive_e)):
        for key, values in ours_d.items():
            ref = np.array([d[key] for d in naive_list])
            worst = max(worst, float(np.max(np.abs(values - ref) / np.maximum(np.abs(ref), 1e-12))))
    assert worst < 1e-9, f"the two routes disagree: max relative difference {worst:.2e}"
    result = {"benchmark": "geometry_bootstrap", "n_boot": args.n_boot, "hidden": args.hidden,
              "emotions": args.emotions, "prompts": args.prompts, "baseline": args.baseline,
              "seconds_rsastats": round(ours, 4), "seconds_naive": round(naive, 4),
              "speedup": round(naive / ours, 2), "resamples_per_second": round(args.n_boot / ours, 1),
              "max_relative_difference": worst}
    print(f"rsastats {ours:.3f} s, naive loop {naive:.3f} s for {args.n_boot} resamples "
          f"(x{naive / ours:.1f}); max relative difference {worst:.1e}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
