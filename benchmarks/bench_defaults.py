"""Benchmark of the shipped defaults through the command line (issue 14, item 5).

Not a test: run it by hand, on a quiet machine (check ``uptime``), and read the JSON object on the
last line.  ``python benchmarks/bench_defaults.py [--models 12] [--repeats 3]``

What is measured, on the same simulated files in this one process:

1. ``rsastats compare A.nc B.nc --json`` on two activation files of 21 emotions x 50 prompts x 2048
   dimensions (one layer, float32 as the schema stores them), with every default: the Fisher-z
   jackknife-t interval of rho, the Mantel test (9999 permutations), the split-half noise ceiling and
   rho_corrected with its interval (the jackknife-t with leave-two-out ratios: with 50 prompts even the default pair,
   rho near 0.99, is not near the bound; the 2,000 emotion resamples the BCa route near the bound adds are timed
   apart, in this process).  Wall time of the whole command
   (interpreter start, imports, reading and validating the files, writing the JSON), best of
   ``--repeats``.  Target: <= 5 s.  The CPU seconds of the command (user + system, all its threads)
   are printed too: on a shared machine they say more than the wall time.
2. ``rsastats matrix`` of ``--models`` such files (66 pairs for 12), defaults; wall time of one run.
   Target: <= 90 s.
3. The peer on the same data, in the same process: rsatoolbox's ``eval_bootstrap_pattern`` (the
   condition = emotion bootstrap of a Spearman comparison, ``boot_noise_ceil=False``, 2000 samples) for
   the pair of item 1, timed from the two RDMs (rsatoolbox is given the RDMs; it does not read these
   files), and its cost scaled to 66 pairs.  rsastats does more per pair (Mantel test, noise ceilings,
   rho_corrected with half splits); the ratio is printed as measured, not adjusted.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

E, P, H = 21, 50, 2048
TARGET_COMPARE, TARGET_MATRIX = 5.0, 90.0


def write_models(folder: Path, n_models: int, seed: int = 0, specific: float = 0.5) -> list[Path]:
    """Activation files sharing a latent emotion structure, each with its own read-out, its own emotion-level
    deviations (SD ``specific``: 0.5 gives rho near 0.99, 2.0 about 0.83, as between the study's mature models) and
    prompt noise."""
    from rsastats.io import make_activations, write_dataset

    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(E, 16))
    emotions = [f"emotion-{i:02d}" for i in range(E)]
    paths = []
    for m in range(n_models):
        readout = rng.normal(size=(16, H)) / 4
        means = latent @ readout + specific * rng.normal(size=(E, H))
        values = means[:, None, :] + rng.normal(size=(E, P, H))
        path = folder / f"model{m:02d}.nc"
        ds = make_activations(values[:, :, None, :], emotions, attrs={"model": f"simulated-{m}"})
        write_dataset(ds, path)
        paths.append(path)
    return paths


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cli(args: list[str]) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (user + system, all threads) and the JSON of one command."""
    exe = Path(sys.executable).with_name("rsastats")
    cpu, t = _children_cpu(), time.perf_counter()
    proc = subprocess.run([str(exe), *args, "--json"], capture_output=True, text=True, check=False)
    elapsed, cpu = time.perf_counter() - t, _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"rsastats {' '.join(args)} failed: {proc.stderr.strip()}")
    return elapsed, cpu, json.loads(proc.stdout)


def time_peer(paths: list[Path], n_boot: int = 2000) -> float:
    """rsatoolbox's emotion bootstrap of the Spearman rho of one pair, from the same files' cosine RDMs."""
    from rsatoolbox.inference import eval_bootstrap_pattern
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs
    from scipy.spatial.distance import pdist

    from rsastats.io import open_activations

    means = [np.asarray(open_activations(p)["activations"].values[:, :, 0, :], dtype=np.float64).mean(axis=1)
             for p in paths[:2]]
    model = ModelFixed("b", pdist(means[1], "cosine"))
    data = RDMs(pdist(means[0], "cosine")[None, :], dissimilarity_measure="cosine")
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        eval_bootstrap_pattern([model], data, method="spearman", N=10, boot_noise_ceil=False)
        t = time.perf_counter()
        eval_bootstrap_pattern([model], data, method="spearman", N=n_boot, boot_noise_ceil=False)
        return time.perf_counter() - t


def time_near_bound(paths: list[Path], n_boot: int = 2000) -> float:
    """Seconds of what rho_corrected adds near the bound, in this process, for the pair of item 1: 2,000 emotion
    resamples of its 4 half splits' cross-half ratio (the BCa route; away from the bound it is not drawn)."""
    from rsastats.inference.corrected import DEFAULT_N_SPLITS, CrossHalf
    from rsastats.inference.engine import ResamplingEngine
    from rsastats.inputs import load_models

    models = load_models([str(p) for p in paths[:2]])
    halves = CrossHalf(models, "spearman", "cosine", DEFAULT_N_SPLITS, np.random.SeedSequence(0))
    t = time.perf_counter()
    counts, _ = ResamplingEngine(models, rank="spearman", scheme="emotions", rdm_method="cosine").draws(
        n_boot, np.random.SeedSequence(1))
    halves.emotion_resamples(counts, np.array([[0, 1]]))
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--specific", type=float, default=0.5,
                        help="SD of each model's own emotion-level deviations: 0.5 (default) makes the files agree "
                             "almost perfectly (rho near 0.99), 2 about as much as the study's mature models (0.83)")
    args = parser.parse_args(argv)
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_models(Path(tmp), args.models, specific=args.specific)
        compare_times, compare_cpu = [], []
        for _ in range(args.repeats):
            dt, cpu, res = run_cli(["compare", str(paths[0]), str(paths[1])])
            compare_times.append(dt)
            compare_cpu.append(cpu)
        matrix_s, matrix_cpu, _ = run_cli(["matrix", *map(str, paths)])
        peer_s = time_peer(paths)
        near_bound_s = time_near_bound(paths)
    n_pairs = args.models * (args.models - 1) // 2
    compare_s = min(compare_times)
    out = {
        "design": {"emotions": E, "prompts": P, "hidden": H, "models": args.models, "pairs": n_pairs},
        "compare_seconds": compare_s, "compare_target": TARGET_COMPARE, "compare_met": compare_s <= TARGET_COMPARE,
        "compare_cpu_seconds": min(compare_cpu), "matrix_seconds": matrix_s, "matrix_cpu_seconds": matrix_cpu, "matrix_target": TARGET_MATRIX, "matrix_met": matrix_s <= TARGET_MATRIX,
        "specific": args.specific, "rho": res["rho"], "rho_corrected": res.get("rho_corrected"),
        "corrected_ci_method": res.get("corrected_ci_method"), "near_bound_route_seconds": near_bound_s,
        "peer": "rsatoolbox eval_bootstrap_pattern(spearman, N=2000, boot_noise_ceil=False), one pair, from RDMs",
        "peer_seconds_per_pair": peer_s,
        "ratio_compare_vs_peer": compare_s / peer_s,
        "ratio_matrix_vs_peer_66": matrix_s / (peer_s * n_pairs),
        "load_before": load_before, "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
    }
    print(f"compare: {compare_s:.2f} s, {min(compare_cpu):.2f} CPU-s (target {TARGET_COMPARE:g} s); matrix of "
          f"{args.models}: {matrix_s:.1f} s, {matrix_cpu:.1f} CPU-s "
          f"(target {TARGET_MATRIX:g} s); rho {res['rho']:.3f}, rho_corrected's interval "
          f"{res.get('corrected_ci_method')} (the BCa route near the bound would add {near_bound_s:.2f} s); "
          f"rsatoolbox bootstrap alone: {peer_s:.2f} s per pair; "
          f"load average {load_before} -> {out['load_after']}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
