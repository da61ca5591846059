"""Peak memory of extraction vs the number of stimuli: streaming (``extract``) against holding
everything (the usual ``output_hidden_states`` loop that stacks all activations, then writes).

Both run the offline default model (SmolLM2-135M) over the same named stimuli, all layers, fp32,
batch 16, for several prompt counts per emotion.  Each (method, count) runs in a fresh subprocess of
this script, so allocator reuse cannot hide growth; a thread samples the process's anonymous
resident memory (``RssAnon`` in /proc/self/status: heap and tensors, not the file pages of the
model or of the memory-mapped output) every 2 ms, and the peak above the level right after the
model was loaded is reported.  Streaming keeps one emotion in memory, so its peak should not grow
with the number of prompts; the peer's grows with the size of the output.  The growth per text is
fitted by least squares and compared with the bytes one text adds to the file.

Counts start at 16 prompts per emotion: below the batch size (16) a batch holds all of an emotion's
prompts, so the forward pass itself (activations of every layer for the whole batch) grows with the
count, in both methods alike (measured: 25 MiB at 4 prompts per emotion, 121 MiB at 16 and at 32).

    .venv/bin/python benchmarks/bench_extraction_memory.py [--limits 16,32,48] [--threads 1] [--write docs/performance.md]

``--write`` replaces the file's part between ``<!-- extraction-memory:begin -->`` and
``<!-- extraction-memory:end -->`` with this run's table.

Linux only (/proc).  The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _rss_anon() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no RssAnon in /proc/self/status (Linux only)")


class _PeakSampler:
    def __init__(self, period: float = 0.002):
        self.period = period
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_anon())
            time.sleep(self.period)

    def __enter__(self):
        self.peak = _rss_anon()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_anon())


def _child(method: str, limit: int, threads: int, out: str) -> dict:
    import gc

    import numpy as np
    import torch

    from extraction.config import make_config
    from extraction.models import load_model

    torch.set_num_threads(threads)
    config = make_config(None, model="default", stimuli="named", limit=limit, baseline="none", layers="all",
                         precision="fp32", batch_size=16)
    loaded = load_model("default")
    gc.collect()
    baseline = _rss_anon()
    started = time.perf_counter()
    with _PeakSampler() as sampler:
        if method == "streaming":
            from extraction.run import extract

            result = extract(config, out, loaded=loaded)
            n_texts = result.n_emotions * result.n_prompts
        else:
            n_texts = _hold_everything(config, loaded, out)
    seconds = time.perf_counter() - started
    size = os.path.getsize(out)
    del np
    return {"method": method, "limit": limit, "texts": n_texts, "peak_above_loaded_bytes": sampler.peak - baseline,
            "loaded_bytes": baseline, "file_bytes": size, "seconds": seconds}


def _hold_everything(config, loaded, out: str) -> int:
    """The usual loop: output_hidden_states per batch, every activation kept, one write at the end."""
    import numpy as np
    import torch

    from extraction.inputs import encode_texts, pool_range, right_padded_batch
    from extraction.run import build_stimuli
    from rsastats.io import make_activations, write_dataset

    stim = build_stimuli(config)
    chat = loaded.uses_chat_template(config.chat_template)
    rows = []
    with torch.no_grad():
        for texts in stim.texts:
            encoded = encode_texts(loaded.tokenizer, texts, template=config.template, chat=chat)
            per_emotion = []
            for start in range(0, len(encoded), config.batch_size):
                chunk = encoded[start:start + config.batch_size]
                ranges = [pool_range("last", len(e), e.span) for e in chunk]
                ids, mask, weights = right_padded_batch([e.input_ids for e in chunk], ranges,
                                                        loaded.tokenizer.pad_token_id)
                states = loaded.model(input_ids=ids, attention_mask=mask, use_cache=False, logits_to_keep=1,
                                      output_hidden_states=True).hidden_states
                pooled = torch.stack([torch.bmm(weights[:, None, :], s.float())[:, 0] for s in states], dim=1)
                per_emotion.append(pooled.numpy())
            rows.append(np.concatenate(per_emotion))
    values = np.stack(rows)  # (emotion, prompt, layer, hidden): everything in memory
    ds = make_activations(values, list(stim.emotions), attrs={"model": loaded.spec.source, "precision": "fp32"})
    write_dataset(ds, out)
    return values.shape[0] * values.shape[1]


def _fit(rows: list[dict]) -> dict:
    import numpy as np

    x = np.array([r["texts"] for r in rows], dtype=float)
    y = np.array([r["peak_above_loaded_bytes"] for r in rows], dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    per_text_file = float(np.mean([r["file_bytes"] / r["texts"] for r in rows]))
    return {"bytes_per_text": float(slope), "intercept_bytes": float(intercept), "file_bytes_per_text": per_text_file,
            "growth_vs_file": float(slope / per_text_file)}


def render(result: dict) -> str:
    """The Markdown section of one run (every number from ``result``, the run's JSON object)."""
    runs, fits = result["runs"], result["fits"]
    lines = [f"Measured with `python benchmarks/bench_extraction_memory.py` on "
             f"{result['when']}: {result['model']}, batch 16, {result['threads']} torch thread, each (method, count) in "
             f"a fresh process; load average {result['load_before']} before and {result['load_after']} after. Peak "
             "anonymous resident memory (heap and tensors) above the level right after the model was loaded:", "",
             "| texts (21 emotions x prompts) | streaming `extract` (MiB) | hold everything, then write (MiB) | "
             "output file (MiB) |", "|---:|---:|---:|---:|"]
    for s_row, h_row in zip(runs["streaming"], runs["hold_everything"]):
        lines.append(f"| {s_row['texts']:,} | {s_row['peak_above_loaded_bytes'] / 2**20:.1f} | "
                     f"{h_row['peak_above_loaded_bytes'] / 2**20:.1f} | {s_row['file_bytes'] / 2**20:.1f} |")
    st, ho = fits["streaming"], fits["hold_everything"]
    lines += ["", f"Growth fitted by least squares: streaming {st['bytes_per_text'] / 1024:.1f} KiB per text "
              f"({st['growth_vs_file']:.2f}x the {st['file_bytes_per_text'] / 1024:.1f} KiB one text adds to the file), "
              f"holding everything {ho['bytes_per_text'] / 1024:.1f} KiB per text ({ho['growth_vs_file']:.2f}x); "
              f"streaming's growth is {result['streaming_growth_over_peer_growth']:.1%} of the peer's."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", default="16,32,48", help="prompts per emotion, >= the batch size 16 (named stimuli have 48)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "LIMIT"), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--write", type=Path, default=None, help="Markdown file whose extraction-memory section is replaced")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child[0], int(args.child[1]), args.threads, args.out)))
        return
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, list[dict]] = {"streaming": [], "hold_everything": []}
    with tempfile.TemporaryDirectory() as tmp:
        # Warm-up (discarded): the first load converts the GGUF weights and caches them.
        subprocess.run([sys.executable, __file__, "--child", "streaming", "1", "--threads", str(args.threads), "--out",
                        str(Path(tmp) / "warm-up.nc")], capture_output=True, text=True, check=True)
        for limit in [int(x) for x in args.limits.split(",")]:
            for method in results:  # interleaved, so drifting load hits both alike
                out = str(Path(tmp) / f"{method}-{limit}.nc")
                done = subprocess.run([sys.executable, __file__, "--child", method, str(limit), "--threads",
                                       str(args.threads), "--out", out], capture_output=True, text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                results[method].append(row)
                print(f"{method:16s} {row['texts']:5d} texts: peak {row['peak_above_loaded_bytes'] / 2**20:8.1f} MiB above "
                      f"the loaded model (file {row['file_bytes'] / 2**20:.1f} MiB, {row['seconds']:.0f} s)", flush=True)
    fits = {method: _fit(rows) for method, rows in results.items()}
    for method, fit in fits.items():
        print(f"{method:16s} grows {fit['bytes_per_text'] / 1024:8.1f} KiB per text "
              f"({fit['growth_vs_file']:.2f}x the {fit['file_bytes_per_text'] / 1024:.1f} KiB one text adds to the file)")
    result = {"benchmark": "extraction_memory", "when": time.strftime("%Y-%m-%d %H:%M"),
              "model": "SmolLM2-135M-Instruct (default), fp32, all layers", "threads": args.threads,
              "load_before": load_before, "load_after": [round(x, 2) for x in os.getloadavg()], "runs": results,
              "fits": fits, "streaming_growth_over_peer_growth": fits["streaming"]["bytes_per_text"]
              / fits["hold_everything"]["bytes_per_text"]}
    if args.write:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from _markdown import write_section

        write_section(args.write, "extraction-memory", render(result))
        print(f"wrote the extraction-memory section of {args.write}", flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
