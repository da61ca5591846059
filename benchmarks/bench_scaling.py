"""How the cost of comparing many models grows: time vs number of models and vs resamples.

Measures, on simulated models (21 emotions x 50 prompts; the hidden size only changes the one-off
Gram set-up, not the cost of a resample), the parts of ``rsastats matrix``:

* ``setup``       building the engine: one Gram matrix per model (linear in models, and in hidden size);
* ``both``        one two-factor (emotions x prompts) bootstrap resample, all pairs;
* ``emotions``    one emotion bootstrap resample, all pairs;
* ``mantel``      one label permutation, all pairs;

for 12, 25, 50, 100 and 200 models, and the two-factor bootstrap for several resample counts.
Each part is fitted by least squares as ``t = c + a * models + b * pairs`` (``pairs = M (M - 1) / 2``):
``a`` is the per-model work (Gram products, ranks), ``b`` the per-pair work (correlations);
the fit and its largest relative residual are reported, with the share of the per-pair term.
Optionally (``--dask``) the bootstrap on a 2-worker LocalCluster against the in-process run.

    .venv/bin/python benchmarks/bench_scaling.py [--write docs/performance.md] [--quick] [--dask]

``--write`` replaces the part of the file between ``<!-- scaling:begin -->`` and
``<!-- scaling:end -->`` with the measured tables (the rest of the file is left alone).
The last line printed is a JSON object.  Timings on a shared machine are noisy: the load average
before and after is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

E, P = 21, 50


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def make_models(n_models: int, hidden: int):
    """Aligned ModelInputs, loaded one at a time (the simulated datasets are dropped as we go)."""
    from rsastats.inputs import RDMOptions, load_model, load_models
    from rsastats.simulate import simulate_activations, true_vectors

    truth = true_vectors(E, hidden, seed=0)
    rng = np.random.default_rng(1)
    options = RDMOptions().checked()
    models = []
    for i in range(n_models):
        ds = simulate_activations(E, P, 1, hidden, noise=1.0, seed=10 + i, attrs={"model": f"model{i:03d}"},
                                  vectors=truth + 0.6 * rng.standard_normal(truth.shape) / np.sqrt(hidden))
        models.append(load_model(ds, options))
    return load_models(models, options)


def measure(n_models: int, hidden: int, resamples: int, permutations: int, repeats: int) -> dict:
    from rsastats.inference.engine import ResamplingEngine, all_pairs
    from rsastats.inference.permutation import draw_permutations, mantel_counts

    models = make_models(n_models, hidden)
    pairs = all_pairs(n_models)
    t = time.perf_counter()
    engine = ResamplingEngine(models, rank="spearman", scheme="both", rdm_method="cosine")
    setup = time.perf_counter() - t
    assert engine.groups[0].gram_blocks is not None, "the Gram route was not chosen: raise --hidden"
    engine.replicates(pairs, 16, 0)
    both = best_of(lambda: engine.replicates(pairs, resamples, 1), repeats) / resamples
    emotions_engine = ResamplingEngine(models, rank="spearman", scheme="emotions", rdm_method="cosine")
    emotions_engine.replicates(pairs, 16, 0)
    emotions = best_of(lambda: emotions_engine.replicates(pairs, resamples * 4, 1), repeats) / (resamples * 4)
    matrices = np.stack([np.asarray(m.rdm.matrix) for m in models])
    perms = draw_permutations(E, permutations, 2)
    mantel = best_of(lambda: mantel_counts(matrices, pairs, "spearman", perms, "two-sided"), repeats) / permutations
    return {"models": n_models, "pairs": len(pairs), "setup_s": setup, "both_ms_per_resample": both * 1e3,
            "emotions_ms_per_resample": emotions * 1e3, "mantel_ms_per_permutation": mantel * 1e3}


def resample_sweep(n_models: int, hidden: int, counts: list[int], repeats: int) -> list[dict]:
    from rsastats.inference.engine import ResamplingEngine, all_pairs

    models = make_models(n_models, hidden)
    pairs = all_pairs(n_models)
    engine = ResamplingEngine(models, rank="spearman", scheme="both", rdm_method="cosine")
    engine.replicates(pairs, 16, 0)
    return [{"models": n_models, "resamples": b, "seconds": best_of(lambda: engine.replicates(pairs, b, 1), repeats)}
            for b in counts]


def fit_growth(rows: list[dict], key: str) -> dict:
    """Least squares ``t = c + a M + b M(M-1)/2``; coefficients, largest relative residual, and the
    per-pair share at each M."""
    m = np.array([r["models"] for r in rows], dtype=float)
    t = np.array([r[key] for r in rows], dtype=float)
    design = np.column_stack([np.ones_like(m), m, m * (m - 1) / 2])
    coef, *_ = np.linalg.lstsq(design, t, rcond=None)
    fitted = design @ coef
    pair_share = coef[2] * m * (m - 1) / 2 / np.maximum(fitted, 1e-300)
    return {"constant": coef[0], "per_model": coef[1], "per_pair": coef[2],
            "max_relative_residual": float(np.max(np.abs(fitted - t) / t)), "pair_share": pair_share.tolist()}


def fit_linear(rows: list[dict]) -> dict:
    b = np.array([r["resamples"] for r in rows], dtype=float)
    t = np.array([r["seconds"] for r in rows], dtype=float)
    design = np.column_stack([np.ones_like(b), b])
    coef, *_ = np.linalg.lstsq(design, t, rcond=None)
    return {"constant_s": coef[0], "per_resample_ms": coef[1] * 1e3,
            "max_relative_residual": float(np.max(np.abs(design @ coef - t) / t))}


def dask_overhead(n_models: int, hidden: int, resamples: int, permutations: int) -> dict:
    """``compare_all`` end to end (files read, engine built, bootstrap, Mantel; no ceilings) in this
    process and on a 2-worker LocalCluster of processes, same files; results must be identical."""
    import tempfile

    import distributed

    from rsastats.io import write_dataset
    from rsastats.inference import compare_all
    from rsastats.simulate import simulate_activations, true_vectors

    truth = true_vectors(E, hidden, seed=0)
    rng = np.random.default_rng(1)
    options = dict(n_boot=resamples, permutations=permutations, ceiling=False, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [str(write_dataset(simulate_activations(E, P, 1, hidden, noise=1.0, seed=10 + i,
                                                        vectors=truth + 0.6 * rng.standard_normal(truth.shape) / np.sqrt(hidden),
                                                        attrs={"model": f"model{i:03d}"}), Path(tmp) / f"m{i}.nc"))
                 for i in range(n_models)]
        t = time.perf_counter()
        ref = compare_all(paths, **options)
        in_process = time.perf_counter() - t
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                      silence_logs=50) as cluster, distributed.Client(cluster) as client:
            client.run(lambda: __import__("rsastats.inference"))  # imports, not counted
            t = time.perf_counter()
            got = compare_all(paths, scheduler=client, **options)
            on_cluster = time.perf_counter() - t
    return {"models": n_models, "resamples": resamples, "permutations": permutations, "in_process_s": in_process,
            "cluster_s": on_cluster, "workers": 2,
            "identical": bool(np.array_equal(got.bootstrap_distribution, ref.bootstrap_distribution)
                              and got.pairs.equals(ref.pairs))}


def render(result: dict) -> str:
    rows = result["by_models"]
    fits = result["fits"]
    lines = [f"Measured by `python benchmarks/bench_scaling.py --write docs/performance.md` on {result['when']}, "
             f"{result['machine']}, {result['cores']} cores, load average {result['load_before']} before and "
             f"{result['load_after']} after (other engineers' jobs share these cores: read the growth, "
             "not the absolute times). Simulated models, 21 emotions x 50 prompts x "
             f"{result['hidden']} dimensions, fp64, Spearman, cosine RDMs, all pairs; best of {result['repeats']}.",
             "",
             "| models | pairs | Gram set-up (s) | two-factor bootstrap (ms / resample) | emotion bootstrap (ms / resample) "
             "| Mantel (ms / permutation) | `matrix` defaults, projected (s) |",
             "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        total = r["setup_s"] + 2000 * r["both_ms_per_resample"] / 1e3 + 9999 * r["mantel_ms_per_permutation"] / 1e3
        lines.append(f"| {r['models']} | {r['pairs']:,} | {r['setup_s']:.2f} | {r['both_ms_per_resample']:.2f} | "
                     f"{r['emotions_ms_per_resample']:.3f} | {r['mantel_ms_per_permutation']:.3f} | {total:,.0f} |")
    lines += ["", "The last column adds the set-up, 2,000 two-factor resamples and 9,999 permutations (the "
              "defaults of `rsastats matrix`) from the per-unit times; noise ceilings and the jackknife (BCa) "
              "are not included.", "",
              "Growth, fitted by least squares as `t = c + a * models + b * pairs`:", "",
              "| part | per model (a) | per pair (b) | largest relative residual | per-pair share at "
              + ", ".join(str(r["models"]) for r in rows) + " models |",
              "|---|---:|---:|---:|---|"]
    to_us = {"setup_s": 1e6, "both_ms_per_resample": 1e3, "emotions_ms_per_resample": 1e3, "mantel_ms_per_permutation": 1e3}
    names = {"setup_s": "Gram set-up (once)", "both_ms_per_resample": "two-factor bootstrap, per resample",
             "emotions_ms_per_resample": "emotion bootstrap, per resample", "mantel_ms_per_permutation": "Mantel, per permutation"}
    for key, fit in fits.items():
        shares = ", ".join(f"{min(1.0, max(0.0, s)):.0%}" for s in fit["pair_share"])
        lines.append(f"| {names[key]} | {fit['per_model'] * to_us[key]:.3g} us | {fit['per_pair'] * to_us[key]:.3g} us | "
                     f"{fit['max_relative_residual']:.0%} | {shares} |")
    sweep = result["by_resamples"]
    lin = result["resample_fit"]
    lines += ["", f"Time vs resamples ({sweep[0]['models']} models, two-factor bootstrap, all pairs):", "",
              "| resamples | seconds | ms per resample |", "|---:|---:|---:|"]
    for r in sweep:
        lines.append(f"| {r['resamples']:,} | {r['seconds']:.3f} | {r['seconds'] / r['resamples'] * 1e3:.2f} |")
    lines += ["", f"Linear: `t = {lin['constant_s']:.3f} s + {lin['per_resample_ms']:.2f} ms x resamples` "
              f"(largest relative residual {lin['max_relative_residual']:.0%}).", ""]
    if result.get("dask"):
        d = result["dask"]
        lines += [f"`compare_all` end to end on {d['models']} models ({d['resamples']:,} two-factor resamples, "
                  f"{d['permutations']:,} permutations, no ceilings): {d['in_process_s']:.2f} s in this process, "
                  f"{d['cluster_s']:.2f} s on a LocalCluster of {d['workers']} worker processes on the same "
                  f"{result['cores']} cores (each worker reads the files and builds its own Gram matrices); results "
                  f"identical: {'yes' if d['identical'] else 'NO'}.", ""]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="12,25,50,100,200")
    parser.add_argument("--hidden", type=int, default=768, help="hidden size (>= 540 so that the Gram route is used)")
    parser.add_argument("--resamples", type=int, default=128)
    parser.add_argument("--permutations", type=int, default=2048)
    parser.add_argument("--sweep", default="64,256,1024,4096", help="resample counts for the linear sweep (12 models)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="12, 25, 50 models, fewer resamples (a smoke run)")
    parser.add_argument("--dask", action="store_true", help="also time a 2-worker LocalCluster against in-process")
    parser.add_argument("--write", type=Path, default=None, help="Markdown file whose scaling section is replaced")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_info

    counts = [12, 25, 50] if args.quick else [int(x) for x in args.models.split(",")]
    sweep = [64, 256] if args.quick else [int(x) for x in args.sweep.split(",")]
    resamples = 32 if args.quick else args.resamples
    permutations = 1024 if args.quick else args.permutations
    load_before = load()
    print(f"load {load_before}; {os.cpu_count()} cores", flush=True)
    rows = []
    for n in counts:
        row = measure(n, args.hidden, resamples, permutations, args.repeats)
        rows.append(row)
        print(f"{n:4d} models {row['pairs']:6d} pairs: set-up {row['setup_s']:.2f} s, two-factor "
              f"{row['both_ms_per_resample']:.2f} ms/resample, emotions {row['emotions_ms_per_resample']:.3f} ms/resample, "
              f"Mantel {row['mantel_ms_per_permutation']:.3f} ms/permutation", flush=True)
    fits = {key: fit_growth(rows, key) for key in ("setup_s", "both_ms_per_resample", "emotions_ms_per_resample",
                                                    "mantel_ms_per_permutation")}
    by_resamples = resample_sweep(12, args.hidden, sweep, args.repeats)
    for r in by_resamples:
        print(f"12 models, {r['resamples']:5d} resamples: {r['seconds']:.3f} s", flush=True)
    result = {
        "benchmark": "bench_scaling", "when": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(),
        "numpy": np.__version__, "blas": [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info()],
        "machine": platform.processor() or platform.machine(), "cores": os.cpu_count(), "hidden": args.hidden,
        "emotions": E, "prompts": P, "repeats": args.repeats, "resamples_timed": resamples,
        "permutations_timed": permutations, "by_models": rows, "fits": fits, "by_resamples": by_resamples,
        "resample_fit": fit_linear(by_resamples), "load_before": load_before,
    }
    if args.dask:
        result["dask"] = dask_overhead(12, args.hidden, 256 if args.quick else 2000, 999 if args.quick else 9999)
        print(f"dask: {result['dask']}", flush=True)
    result["load_after"] = load()
    for key, fit in fits.items():
        print(f"fit {key}: per model {fit['per_model']:.4g}, per pair {fit['per_pair']:.4g}, "
              f"max rel. residual {fit['max_relative_residual']:.1%}", flush=True)
    if args.write:
        from _markdown import write_section

        write_section(args.write, "scaling", render(result))
        print(f"wrote the scaling section of {args.write}", flush=True)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
