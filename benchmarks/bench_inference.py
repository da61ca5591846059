"""Benchmark of the two-factor (emotion x prompt) bootstrap and of the Mantel test.

Not a test: run it by hand, on a quiet machine (check ``uptime``), and read the JSON object on the
last line.  ``python benchmarks/bench_inference.py [--resamples N] [--quick] [--write docs/performance.md]``
(``--write`` replaces the file's part between ``<!-- inference:begin -->`` and ``<!-- inference:end -->``
with this run's table).

What is measured, all on the same simulated data in this one process:

1. rsastats' resampling engine: 12 models x 21 emotions x 50 prompts x 2048 dimensions (float64),
   bootstrap over emotions *and* prompts, all 66 pairs per resample: resamples per second.
2. The machine's GEMM floor: the dense matrix-product rate (square fp64 GEMM, all cores) and the
   resample rate it would allow if every resample cost only its matrix-product flops
   (``12 * P^2 * E (E + 1)`` flops: the Gram-block products of every emotion pair); the share of that
   floor the engine reaches; and the rate of the engine's Gram step alone (its products and the contraction with
   the counts, on its own blocks, counts and drawn emotions), the most the engine could reach.  Since 2026-12-06
   the engine skips the products of the emotions a resample did not draw (about 35% of them at 21 emotions:
   ``(1 - 1/E)^E``), so the floor counts more flops than the engine now does: the share compares resamples per
   second with the machine's GEMM rate (as in every earlier run), not the efficiency of each product.
3. Exactness: the first resamples recomputed by a naive loop (means -> cosine -> scipy.stats.spearmanr,
   duplicates materialised) must agree to 1e-12.
4. Peers: rsatoolbox ``eval_bootstrap_pattern`` (defaults, and ``boot_noise_ceil=False``: the lean,
   fair comparison) and ``eval_dual_bootstrap``; scikit-bio ``mantel``.  Slow peers are timed on a
   subset of resamples and scaled linearly (stated in the output).

   Like for like: rsatoolbox evaluates a set of model RDMs against one data RDM, so the engine is
   timed on the same 11 pairs (model 0 against each other model), not on all 66 (per pair, the
   66-pair run would look better than it is, since the per-model work is shared by more pairs).
   ``eval_bootstrap_pattern`` resamples conditions: it is compared with the emotion scheme.
   ``eval_dual_bootstrap`` resamples conditions and RDMs: it is compared with the two-factor scheme;
   its data are one RDM per prompt (the prompt factor as its RDM factor), it always evaluates three
   bootstraps per sample (both factors, RDMs only, patterns only) and their noise ceilings, and all
   three are counted as pair-resamples (generous to the peer; the statistics differ, the work is of
   the same kind).  Every timing is the best of 3 runs, ours and the peers' alike; Mantel uses the
   same number of permutations for both.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

from _inference_peers import best_of, time_mantel, time_rsatoolbox

E, P, H, M = 21, 50, 2048, 12


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def make_models():
    from rsastats.inputs import RDMOptions, load_models
    from rsastats.simulate import simulate_activations, true_vectors

    truth = true_vectors(E, H, seed=0)
    rng = np.random.default_rng(1)
    datasets = [simulate_activations(E, P, 1, H, noise=1.0, seed=10 + i, attrs={"model": f"model{i:02d}"},
                                     vectors=truth + 0.6 * rng.standard_normal(truth.shape) / np.sqrt(H))
                for i in range(M)]
    return load_models(datasets, RDMOptions())


def gemm_rates(workers: int) -> dict:
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((2048, 2048))
    with threadpool_limits(limits=workers, user_api="blas"):
        a @ a
        best, _ = best_of(lambda: a @ a)
    return {"square_gflops": 2 * 2048**3 / best / 1e9}


def paired_floor_shares(engine, pairs, n_res: int, flops: float, workers: int, rounds: int = 7) -> dict:
    """The engine's share of the GEMM floor from ``rounds`` alternated rounds: each round times ``n_res`` resamples
    of the engine, then the square GEMM (best of 2), and divides.  The best-of-3 figures above time the engine and
    the GEMM half a minute apart; on a shared machine whose speed drifts, a round's two timings are seconds apart, and
    the median of the rounds' shares does not pick the engine's luckiest moment."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).random((2048, 2048))
    shares, rates, floors = [], [], []
    for _ in range(rounds):
        t = time.perf_counter()
        engine.replicates(pairs, n_res, 1)
        rates.append(n_res / (time.perf_counter() - t))
        with threadpool_limits(limits=workers, user_api="blas"):
            gemm, _ = best_of(lambda: a @ a, repeats=2)
        floors.append(2 * 2048**3 / gemm / flops)
        shares.append(rates[-1] / floors[-1])
    return {"rounds": rounds, "shares": shares, "engine_resamples_per_s": rates, "floor_resamples_per_s": floors,
            "median_share": float(np.median(shares))}


def gram_step_rate(engine, n_res: int, workers: int, batch: int = 256) -> float:
    """Resamples/s of the engine's Gram step alone (:func:`rsastats.inference.gram_step.gram_columns`: the matrix
    products and the contraction with the counts, nothing else), on the engine's own Gram blocks and prompt
    counts and the emotions each resample drew (the engine skips the others), each batch split into one sub-batch per
    thread as the engine splits it: the rate the engine could
    reach if building the RDMs, ranking them and correlating them took no time."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    from rsastats.inference.gram_step import gram_columns

    ecounts, counts = engine.draws(n_res, 1)
    present = None if ecounts is None else ecounts > 0  # the emotions drawn: the rest the engine skips
    blocks = engine.groups[0].gram_blocks
    parts = []
    for lo in range(0, n_res, batch):
        bounds = np.linspace(lo, min(lo + batch, n_res), workers + 1).astype(int)
        parts.append([(counts[0][bounds[k]:bounds[k + 1]], None if present is None else present[bounds[k]:bounds[k + 1]])
                      for k in range(workers)])

    def one(part):
        for _ in gram_columns(part[0], blocks, part[1]):
            pass

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        run = lambda: [list(pool.map(one, sub)) for sub in parts]  # noqa: E731
        run()
        best, _ = best_of(run)
    return n_res / best


def skip_ratio(engine, pairs, n_res: int, rounds: int = 5) -> dict:
    """Two-factor resamples/s with the cells of emotions a resample did not draw skipped (the shipped route) and
    with every cell computed (``skip_absent = False``, the route before 2026-12-06), on the same engine, data and
    seed, with the engine's threads and with one.  The two routes alternate (which goes first alternates too) for
    ``rounds`` rounds; each rate is the best of its rounds and the ratio the median of the rounds' ratios (this
    shared machine's speed drifts by up to 2x within a minute, and adjacent runs drift together).  The replicates are
    the same bits."""
    import copy

    out = {}
    for threads in sorted({engine.workers, 1}, reverse=True):
        routes = {}
        for skip in (True, False):
            eng = copy.copy(engine)  # shares the Gram blocks
            eng.workers, eng.skip_absent = threads, skip
            routes[skip] = eng
        n = n_res if threads > 1 else n_res // 2
        got = {True: [], False: []}
        for k in range(rounds):
            for skip in ((True, False) if k % 2 == 0 else (False, True)):
                t = time.perf_counter()
                routes[skip].replicates(pairs, n, 1)
                got[skip].append(n / (time.perf_counter() - t))
        out[f"skipped_{threads}_threads"] = max(got[True])
        out[f"every_cell_{threads}_threads"] = max(got[False])
        out[f"ratio_{threads}_threads"] = float(np.median(np.array(got[True]) / np.array(got[False])))
    return out


def naive_check(models, engine, pairs, n=3):
    import scipy.stats as st
    from scipy.spatial.distance import pdist, squareform

    ecounts, pcounts = engine.draws(n, 2024)
    got = engine.replicates(pairs, n, 2024)
    worst = 0.0
    for r in range(n):
        idx = np.repeat(np.arange(E), ecounts[r].astype(int))
        iu, ju = np.triu_indices(len(idx), 1)
        keep = idx[iu] != idx[ju]
        cells = []
        for m in models:
            c = pcounts[0][r]
            means = np.einsum("ep,eph->eh", c, m.rows.values) / c.sum(axis=1)[:, None]
            d = squareform(pdist(means, "cosine"))
            cells.append(d[idx[iu[keep]], idx[ju[keep]]])
        for k, (i, j) in enumerate(pairs):
            worst = max(worst, abs(got[r, k] - st.spearmanr(cells[i], cells[j]).statistic))
    return worst


def _yes(flag: bool) -> str:
    return "**met**" if flag else "**not met**"


def _load_remark(r: dict) -> str:
    """Whether other jobs shared the cores, judged from the 1-minute load average of the run."""
    busiest = max(r["load_before"][0], r["load_after"][0])
    if busiest > 0.5 * r["cores"]:
        return f": other jobs shared the cores (1-minute load up to {busiest:.2f} on {r['cores']} cores)"
    return f": the cores were mostly free (1-minute load at most {busiest:.2f} on {r['cores']} cores)"


def render(r: dict) -> str:
    """The Markdown section of one run (every number from ``r``, the run's JSON object)."""
    peers = r["rsatoolbox"]
    lean, default, dual = (peers[k] for k in ("eval_bootstrap_pattern_lean", "eval_bootstrap_pattern_default",
                                              "eval_dual_bootstrap"))
    mant, targets = r["mantel"], r["targets"]
    lines = [
        f"Measured with `python benchmarks/bench_inference.py` on {r['when']} "
        f"({r['cores']} cores, {r['workers']} threads; load average {r['load_before']} before and {r['load_after']} "
        f"after{_load_remark(r)}). Every timing is the best of 3 within the run; "
        f"{r['resamples_timed']:,} resamples timed.",
        "",
        "| what | result | target |",
        "|---|---|---|",
        f"| two-factor bootstrap, {r['shape']['models']} models x {r['shape']['emotions']} emotions x "
        f"{r['shape']['prompts']} prompts x {r['shape']['hidden']} dims, fp64, all {r['shape']['pairs']} pairs per "
        f"resample | {r['resamples_per_s']:,.0f} resamples/s ({r['pair_resamples_per_s']:,.0f} pair-resamples/s) | "
        f">= 3,000/s: {_yes(targets['resamples_per_s>=3000'])} |",
        f"| GEMM floor in the same run: square fp64 GEMM {r['gemm_square_gflops']:.1f} GFLOP/s "
        f"({r['flops_per_resample'] / 1e6:.2f} MFLOP per resample) | floor {r['gemm_floor_resamples_per_s']:,.0f} "
        f"resamples/s; the engine reaches {r['share_of_gemm_floor']:.0%} | >= 60%: "
        f"{_yes(targets['share_of_gemm_floor>=0.6'])} |",
        f"| the same share from {r['paired_floor_shares']['rounds']} rounds that each time "
        f"{r['resamples_timed'] // 2:,} resamples of the engine and then the GEMM (a round's two timings seconds "
        "apart) | "
        f"median {r['paired_floor_shares']['median_share']:.0%} (rounds {min(r['paired_floor_shares']['shares']):.0%} "
        f"to {max(r['paired_floor_shares']['shares']):.0%}) | >= 60%: {_yes(targets['paired_median_share>=0.6'])} |",
        f"| the engine's Gram step alone (its matrix products and the contraction with the counts, on its own blocks, "
        f"counts and drawn emotions, the same threads; no RDMs, ranks or correlations) | "
        f"{r['gram_step_resamples_per_s']:,.0f} resamples/s, {r['gram_step_share_of_gemm_floor']:.0%} of the floor: "
        "the most the engine could reach | |",
        *[f"| the engine with the cells of emotions not drawn skipped, against every cell computed (the route before "
          f"2026-12-06), {t} thread{'s' if t > 1 else ''}, 5 alternated rounds in this run | best "
          f"{r['skip_absent'][f'skipped_{t}_threads']:,.0f} against {r['skip_absent'][f'every_cell_{t}_threads']:,.0f} "
          f"resamples/s; the rounds' median ratio {r['skip_absent'][f'ratio_{t}_threads']:.2f}x | |"
          for t in sorted({r['workers'], 1}, reverse=True)],
        f"| emotion-only bootstrap, same data, {r['shape']['pairs']} pairs | "
        f"{r['emotion_scheme_resamples_per_s']:,.0f} resamples/s | |",
        f"| naive loop (means -> cosine -> scipy `spearmanr`), first 3 resamples x {r['shape']['pairs']} pairs | "
        f"max abs difference {r['naive_max_abs_diff']:.1e} | <= 1e-12: {_yes(targets['naive<=1e-12'])} |",
        f"| rsatoolbox `eval_bootstrap_pattern(boot_noise_ceil=False)` vs rsastats' emotion bootstrap, same "
        f"{r['peer_pairs']} pairs ({lean['samples_timed']} peer samples timed, scaled) | "
        f"{lean['us_per_pair_resample']:,.1f} vs {lean['rsastats_us_per_pair_resample']:.2f} us per pair-resample: "
        f"**{lean['ratio']:.0f}x** | >= 50x: {_yes(targets['lean_eval_bootstrap_pattern_ratio>=50'])} |",
        f"| rsatoolbox `eval_bootstrap_pattern` (defaults, with its noise-ceiling bootstrap) | "
        f"{default['us_per_pair_resample']:,.1f} vs {default['rsastats_us_per_pair_resample']:.2f} us: "
        f"{default['ratio']:.0f}x | |",
        f"| rsatoolbox `eval_dual_bootstrap` vs rsastats' two-factor bootstrap, same {r['peer_pairs']} pairs "
        f"({dual['samples_timed']} peer samples timed, scaled; its 3 bootstraps per sample all counted) | "
        f"{dual['us_per_pair_resample']:,.0f} vs {dual['rsastats_us_per_pair_resample']:.1f} us per pair-resample: "
        f"{dual['ratio']:,.0f}x | |",
        f"| Mantel, {r['shape']['emotions']} emotions, Spearman, {mant['permutations']:,} permutations each: "
        f"rsastats `mantel` vs scikit-bio `mantel` | {mant['rsastats_us_per_permutation']:.2f} vs "
        f"{mant['skbio_us_per_permutation']:.2f} us per permutation: **{mant['ratio']:.1f}x** | "
        f">= 5x: {_yes(targets['mantel_vs_skbio>=5'])} |",
    ]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resamples", type=int, default=4096)
    parser.add_argument("--quick", action="store_true", help="fewer resamples and peer samples (a smoke run)")
    parser.add_argument("--write", default=None, help="Markdown file whose inference section is replaced")
    args = parser.parse_args(argv)
    from rsastats.inference.engine import ResamplingEngine, all_pairs

    n_res = 512 if args.quick else args.resamples
    load_before = load()
    workers = min(4, os.cpu_count() or 1)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; load {load_before}", flush=True)
    t0 = time.perf_counter()
    models = make_models()
    print(f"data: {M} models x {E} emotions x {P} prompts x {H} dims, fp64 ({time.perf_counter() - t0:.1f} s)", flush=True)
    pairs = all_pairs(M)
    t0 = time.perf_counter()
    engine = ResamplingEngine(models, rank="spearman", scheme="both", rdm_method="cosine", workers=workers)
    setup = time.perf_counter() - t0
    engine.replicates(pairs, 256, 1)
    best, median = best_of(lambda: engine.replicates(pairs, n_res, 1))
    rate = n_res / best
    print(f"rsastats both-scheme bootstrap: {rate:.0f} resamples/s (best of 3; median {n_res / median:.0f}/s), "
          f"{len(pairs)} pairs each; Gram set-up {setup:.1f} s", flush=True)
    emotions_engine = ResamplingEngine(models, rank="spearman", scheme="emotions", rdm_method="cosine", workers=workers)
    emotions_engine.replicates(pairs, 256, 1)
    e_best, _ = best_of(lambda: emotions_engine.replicates(pairs, n_res, 1))
    e_rate = n_res / e_best
    print(f"rsastats emotion-scheme bootstrap: {e_rate:.0f} resamples/s ({len(pairs)} pairs)", flush=True)
    # The peers' task: model 0 (the "data") against each of the other 11.
    peer_pairs = np.array([[0, k] for k in range(1, M)])
    both_11, _ = best_of(lambda: engine.replicates(peer_pairs, n_res, 1))
    emotions_11, _ = best_of(lambda: emotions_engine.replicates(peer_pairs, n_res * 4, 1))
    both_11_rate, emotions_11_rate = n_res / both_11, n_res * 4 / emotions_11
    print(f"same 11 pairs as the peers: {both_11_rate:.0f} resamples/s two-factor, {emotions_11_rate:.0f} emotions only",
          flush=True)

    gemm = gemm_rates(workers)
    flops = M * P * P * E * (E + 1)
    floor = gemm["square_gflops"] * 1e9 / flops
    gram_rate = gram_step_rate(engine, n_res, workers)
    paired = paired_floor_shares(engine, pairs, n_res // 2, flops, workers, rounds=3 if args.quick else 7)
    print(f"engine and GEMM alternated, {paired['rounds']} rounds: share of the floor {min(paired['shares']):.0%} to "
          f"{max(paired['shares']):.0%}, median {paired['median_share']:.0%}", flush=True)
    print(f"GEMM: {gemm['square_gflops']:.1f} GFLOP/s square fp64 ({workers} threads); floor {floor:.0f} resamples/s "
          f"at {flops / 1e6:.2f} MFLOP each; reached {rate / floor:.0%} of it; the Gram step alone {gram_rate:.0f} "
          f"resamples/s ({gram_rate / floor:.0%} of the floor)", flush=True)

    skip = skip_ratio(engine, pairs, n_res)
    for threads in (workers, 1):
        on, off = skip[f"skipped_{threads}_threads"], skip[f"every_cell_{threads}_threads"]
        print(f"emotions not drawn skipped, {threads} thread(s): {on:.0f} resamples/s against {off:.0f} with every "
              f"cell computed (best of 5 alternated rounds each); median ratio of the rounds "
              f"{skip[f'ratio_{threads}_threads']:.2f}x", flush=True)

    worst = naive_check(models, engine, pairs)
    print(f"naive loop (means -> cosine -> scipy spearmanr), first 3 resamples x 66 pairs: max |diff| = {worst:.1e}", flush=True)

    subset = {"eval_bootstrap_pattern_default": 10 if args.quick else 40, "eval_bootstrap_pattern_lean": 10 if args.quick else 40,
              "eval_dual_bootstrap": 2 if args.quick else 4}
    peers = time_rsatoolbox(models, subset)
    ours_us = {"both": 1e6 / (both_11_rate * len(peer_pairs)), "emotions": 1e6 / (emotions_11_rate * len(peer_pairs))}
    like_for_like = {"eval_bootstrap_pattern_default": "emotions", "eval_bootstrap_pattern_lean": "emotions",
                     "eval_dual_bootstrap": "both"}
    for name, res in peers.items():
        scheme = like_for_like[name]
        res["compared_with"] = f"rsastats {scheme} scheme, same 11 pairs"
        res["rsastats_us_per_pair_resample"] = ours_us[scheme]
        res["ratio"] = res["us_per_pair_resample"] / ours_us[scheme]
        print(f"rsatoolbox {name}: {res['us_per_pair_resample']:.1f} us per pair-resample ({res['samples_timed']} samples "
              f"timed, scaled); rsastats ({scheme}) {ours_us[scheme]:.2f} us: {res['ratio']:.0f}x", flush=True)
    mant = time_mantel(models, 9999 if not args.quick else 999)
    print(f"Mantel (21 emotions, Spearman, {mant['permutations']} permutations each): rsastats "
          f"{mant['rsastats_us_per_permutation']:.2f} us/permutation, scikit-bio "
          f"{mant['skbio_us_per_permutation']:.2f} us/permutation: {mant['ratio']:.1f}x", flush=True)
    result = {
        "benchmark": "bench_inference", "when": time.strftime("%Y-%m-%d %H:%M"), "python": platform.python_version(), "numpy": np.__version__,
        "cores": os.cpu_count(), "workers": workers, "load_before": load_before, "load_after": load(),
        "shape": {"models": M, "emotions": E, "prompts": P, "hidden": H, "pairs": len(pairs), "dtype": "float64"},
        "resamples_timed": n_res, "resamples_per_s": rate, "pair_resamples_per_s": rate * len(pairs),
        "emotion_scheme_resamples_per_s": e_rate,
        "peer_pairs": len(peer_pairs), "both_scheme_resamples_per_s_peer_pairs": both_11_rate,
        "emotion_scheme_resamples_per_s_peer_pairs": emotions_11_rate,
        "gemm_square_gflops": gemm["square_gflops"], "gram_step_resamples_per_s": gram_rate,
        "gram_step_share_of_gemm_floor": gram_rate / floor, "skip_absent": skip,
        "flops_per_resample": flops, "gemm_floor_resamples_per_s": floor, "share_of_gemm_floor": rate / floor,
        "paired_floor_shares": paired,
        "naive_max_abs_diff": worst, "rsatoolbox": peers, "mantel": mant,
        "targets": {"resamples_per_s>=3000": rate >= 3000, "share_of_gemm_floor>=0.6": rate / floor >= 0.6,
                    "paired_median_share>=0.6": paired["median_share"] >= 0.6,
                    "lean_eval_bootstrap_pattern_ratio>=50": peers["eval_bootstrap_pattern_lean"]["ratio"] >= 50,
                    "mantel_vs_skbio>=5": mant["ratio"] >= 5, "naive<=1e-12": worst <= 1e-12},
    }
    from rsastats.results import to_jsonable

    if args.write:
        from _markdown import write_section

        write_section(args.write, "inference", render(result))
        print(f"wrote the inference section of {args.write}", flush=True)
    print(json.dumps(to_jsonable(result)))
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
