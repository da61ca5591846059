"""How much each precision changes the activations of the offline default model, and whether the
batch size changes them: the numbers quoted in docs/extraction.md.

For every precision, ``extract`` runs the same stimuli twice (batch size 1 and 8) on
SmolLM2-135M-Instruct.  Reported per precision:

* ``batch_max_rel``: largest ``|a - b| / |a|`` between the two batch sizes over all pooled vectors
  and layers (0 for the INT8 schemes that run one sequence per pass);
* ``rel_to_fp32``: median ``|x - x_fp32| / |x_fp32|`` over vectors, last layer;
* ``centred_cos_to_fp32``: mean cosine between the precision's and fp32's vectors after removing
  each one's mean over stimuli (the emotion-specific part), last layer and worst layer;
* ``rdm_rho_to_fp32``: Spearman rho between the 21x21 cosine RDMs of emotion means (last layer).

``--pooling`` picks the pooling (default ``mean``; the study used ``last``).
Prints a table and, as the last line, one JSON object.  Slow on a CPU (fp16, bf16 and int8-token
have no fast CPU kernels here): about ten minutes with the defaults.

    .venv/bin/python benchmarks/precision_effect.py [--prompts 2] [--pooling mean|last] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from extraction.config import PRECISIONS, make_config  # noqa: E402
from extraction.run import extract  # noqa: E402
from rsastats.io import open_activations  # noqa: E402


def _centred_cos(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    return float(np.mean(np.sum(x * y, axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))))


def _rdm(values: np.ndarray) -> np.ndarray:
    means = values.mean(axis=1)
    unit = means / np.linalg.norm(means, axis=1, keepdims=True)
    d = 1 - unit @ unit.T
    return d[np.triu_indices(len(d), 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=2, help="implicit stimuli per emotion")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precisions", default=",".join(PRECISIONS))
    parser.add_argument("--pooling", default="mean", choices=["mean", "last", "last-stimulus"])
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    results = {}
    values = {}
    with tempfile.TemporaryDirectory() as folder:
        for precision in [p for p in args.precisions.split(",") if p]:
            runs = []
            for batch_size in (1, 8):
                out = Path(folder) / f"{precision}-{batch_size}.nc"
                config = make_config(precision=precision, stimuli="implicit", pooling=args.pooling, limit=args.prompts,
                                     baseline="none", batch_size=batch_size)
                start = time.perf_counter()
                extract(config, out)
                seconds = time.perf_counter() - start
                runs.append(open_activations(out)["activations"].values)
            a, b = runs
            values[precision] = a
            rel = np.linalg.norm(a - b, axis=-1) / np.linalg.norm(a, axis=-1)
            results[precision] = {"batch_max_rel": float(rel.max()), "seconds_batch8": seconds}
    reference = values.get("fp32")
    for precision, a in values.items():
        if reference is None:
            break
        n_e, n_p, n_l, n_h = a.shape
        flat = a.reshape(n_e * n_p, n_l, n_h)
        ref = reference.reshape(n_e * n_p, n_l, n_h)
        rel = np.linalg.norm(flat[:, -1] - ref[:, -1], axis=-1) / np.linalg.norm(ref[:, -1], axis=-1)
        cos = [_centred_cos(flat[:, layer], ref[:, layer]) for layer in range(1, n_l)]
        results[precision].update({
            "rel_to_fp32": float(np.median(rel)), "centred_cos_to_fp32_last": cos[-1],
            "centred_cos_to_fp32_worst": float(min(cos)),
            "rdm_rho_to_fp32": float(spearmanr(_rdm(a[:, :, -1]), _rdm(reference[:, :, -1]))[0]),
        })
    print(f"SmolLM2-135M-Instruct, implicit stimuli, {args.prompts} per emotion, {args.pooling} pooling, "
          f"torch threads {args.threads}")
    print(f"  {'precision':13s} {'batch 1 vs 8':>12s} {'rel to fp32':>11s} {'centred cos':>11s} {'worst layer':>11s} {'RDM rho':>8s}")
    for precision, row in results.items():
        print(f"  {precision:13s} {row['batch_max_rel']:12.2e} {row.get('rel_to_fp32', float('nan')):11.3f} "
              f"{row.get('centred_cos_to_fp32_last', float('nan')):11.3f} {row.get('centred_cos_to_fp32_worst', float('nan')):11.3f} "
              f"{row.get('rdm_rho_to_fp32', float('nan')):8.3f}")
    print(json.dumps({"benchmark": "precision_effect", "model": "HuggingFaceTB/SmolLM2-135M-Instruct", "prompts_per_emotion":
                      args.prompts, "pooling": args.pooling, "threads": args.threads, "results": results}))


if __name__ == "__main__":
    main()
