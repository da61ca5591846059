"""Intervals for the SD of the baseline's activation norms (``baseline_norm_sd``), which the shipped expanded basic
interval under-covers (docs/geometry.md): four methods on the planted designs' baselines.

    python analyses/geometry_norm_sd.py [--n-sims 1000] [--n-boot 400] [--seed 8] [--designs ...] [--jobs 1]
        [--out reports/geometry_coverage]

Each data set draws the design's baseline texts (``analyses.geometry_coverage.PlantedModel``), takes the SD of their
norms (ddof 1, as ``rsastats.geometry.kernels.norm_statistics``) and ``n-boot`` resamples of the texts with
replacement (one group, as ``rsastats geometry`` resamples the baseline), and forms from the same replicates:

* ``basic-expanded``: the shipped interval (``rsastats.intervals.small_sample_expansion`` of one group of n texts);
* ``log basic-expanded``: the same on the log of the SD, mapped back (the log is nearer a pivot for a scale);
* ``bca-expanded``: BCa with the leave-one-text-out jackknife's acceleration, expanded;
* ``bootstrap-t, log``: the studentized interval of the log SD, its standard error by the delta method,
  ``sqrt((m4 - s^4 (n - 3)/(n - 1)) / n) / (2 s^2)`` (``m4`` the fourth central moment), in each resample as in the
  data (Efron & Tibshirani 1993, ch. 12).

The estimand is the planted population's SD of the norms (``PlantedModel.truth``).  Writes ``norm_sd.md``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyses.calibration import binomial_ci  # noqa: E402
from analyses.geometry_coverage import DESIGNS, PlantedModel, run_study  # noqa: E402
from rsastats.intervals import bootstrap_interval, small_sample_expansion  # noqa: E402

METHODS = ("basic-expanded", "log basic-expanded", "bca-expanded", "bootstrap-t, log")


def log_sd_and_se(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The log of the SD (ddof 1) of each row of ``x`` and its delta-method standard error."""
    n = x.shape[-1]
    centred = x - x.mean(axis=-1, keepdims=True)
    variance = np.sum(centred**2, axis=-1) / (n - 1)
    m4 = np.mean(centred**4, axis=-1)
    var_of_variance = np.maximum(m4 - variance**2 * (n - 3) / (n - 1), 1e-300) / n
    return 0.5 * np.log(variance), np.sqrt(var_of_variance) / (2.0 * variance)


def intervals(norms: np.ndarray, resampled: np.ndarray) -> dict[str, tuple[float, float]]:
    """The four intervals of one data set's norms from its resampled norms (one resample per row)."""
    n = norms.size
    expansion = small_sample_expansion([n])
    estimate, reps = float(norms.std(ddof=1)), resampled.std(axis=1, ddof=1)
    jackknife = np.array([np.delete(norms, i).std(ddof=1) for i in range(n)])
    basic = bootstrap_interval(estimate, reps, method="basic", confidence=0.95, expansion=expansion)
    log = bootstrap_interval(np.log(estimate), np.log(reps), method="basic", confidence=0.95, expansion=expansion)
    bca = bootstrap_interval(estimate, reps, method="bca", confidence=0.95, jackknife=jackknife, expansion=expansion)
    log0, se0 = log_sd_and_se(norms)
    log_b, se_b = log_sd_and_se(resampled)
    low_t, high_t = np.quantile((log_b - log0) / se_b, [0.025, 0.975])
    return {"basic-expanded": (basic.low, basic.high), "log basic-expanded": (np.exp(log.low), np.exp(log.high)),
            "bca-expanded": (bca.low, bca.high),
            "bootstrap-t, log": (float(np.exp(log0 - high_t * se0)), float(np.exp(log0 - low_t * se0)))}


def design_rows(job: tuple) -> list[dict]:
    """The counts of one design, ``job = (name, n_sims, n_boot, seed)`` (its own seed: the result does not depend on
    ``--jobs``)."""
    name, n_sims, n_boot, seed = job
    model = PlantedModel(*DESIGNS[name])
    truth, n = model.truth["baseline_norm_sd"], model.n_baseline
    rng = np.random.default_rng(seed)
    counts = {m: [0, 0, 0.0] for m in METHODS}  # hits, truth above the interval, summed width
    for _ in range(n_sims):
        norms = np.linalg.norm(model.baseline(rng, n), axis=1)
        resampled = norms[rng.integers(0, n, (n_boot, n))]
        for method, (low, high) in intervals(norms, resampled).items():
            c = counts[method]
            c[0] += int(low <= truth <= high)
            c[1] += int(truth > high)
            c[2] += high - low
    return [{"design": name, "texts": n, "method": m, "hits": h, "above": a, "n": n_sims, "width": w / n_sims}
            for m, (h, a, w) in counts.items()]


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [f"Written by `python analyses/geometry_norm_sd.py --n-sims {meta['n_sims']} --n-boot {meta['n_boot']} "
             f"--seed {meta['seed']}` ({meta['seconds']:.0f} s). Coverage (%) of the planted SD of the baseline's "
             "norms [Clopper-Pearson 95%], misses with the truth above / below the interval, and mean width; every "
             "method formed from the same resamples of each data set (the module docstring says how).", "",
             "| design (baseline texts) | " + " | ".join(METHODS) + " |", "|---|" + "---|" * len(METHODS)]
    keyed = {(r["design"], r["method"]): r for r in rows}
    for name in dict.fromkeys(r["design"] for r in rows):
        cells = []
        for method in METHODS:
            r = keyed[name, method]
            low, high = binomial_ci(r["hits"], r["n"])
            cells.append(f"{100 * r['hits'] / r['n']:.1f} [{100 * low:.1f}, {100 * high:.1f}] "
                         f"({r['above']}/{r['n'] - r['hits'] - r['above']}) {r['width']:.3f}")
        lines.append(f"| {name} ({r['texts']}) | " + " | ".join(cells) + " |")
    pooled = ["| all designs |"]
    for method in METHODS:
        hits = sum(r["hits"] for r in rows if r["method"] == method)
        total = sum(r["n"] for r in rows if r["method"] == method)
        pooled.append(f" {100 * hits / total:.1f} |")
    return "\n".join(lines + ["".join(pooled)]) + "\n"


def main(argv: list[str] | None = None) -> int:
    study = run_study(argv, __doc__, design_rows, n_sims=1000, seed=8)
    if study is None:
        return 2
    args, rows, meta = study
    (args.out / "norm_sd.md").write_text(markdown(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
