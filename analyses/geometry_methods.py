"""Interval methods for the geometry descriptors, compared on the planted designs of ``geometry_coverage``.

    python analyses/geometry_methods.py [--n-sims 400] [--n-boot 400] [--seed 100] [--jobs 2]
        [--out reports/geometry_coverage]

Every data set of a design (``analyses.geometry_coverage.PlantedModel``; seeds ``seed + i`` for design ``i``, so
not the data sets of the coverage study) is resampled once as ``rsastats geometry`` resamples it (within-group
bootstrap weights, leave-one-row-out jackknife values per group), and every method below forms its interval from
those same replicates:

* ``basic`` / ``percentile`` / ``bca``: the package's bootstrap intervals without the small-sample expansion;
* ``basic-expanded`` / ``bca-expanded``: with it (``rsastats.intervals.small_sample_expansion``; basic is the default);
* ``jackknife-t``: ``theta - bias -+ t_df SE`` with the stratified jackknife's SE and bias (``df`` = rows - groups);
* ``bootstrap-se-t``: the basic interval's point ``-+ t_df`` times the bootstrap SD.

``prompt_anisotropy`` is also formed with the pair kernel of before 2026-12-06 (``former kernel``: a resample's
pairs not split into within and across emotions), with the basic interval without the expansion, as the package
formed it then.  Coverage of the planted values (``geometry_coverage``'s estimands) is counted where the package
gives the descriptor an interval (noise-free descriptors only below its prompt-noise limit).  Writes
``methods.csv`` (per design, descriptor and method: data sets, hits, mean width) and ``methods.md``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyses.calibration import binomial_ci  # noqa: E402
from analyses.geometry_coverage import CHECKED, DESIGNS, PlantedModel, run_study, write_rows  # noqa: E402
from rsastats.geometry import kernels  # noqa: E402
from rsastats.geometry.descriptors import evaluate_descriptors, group_descriptors  # noqa: E402
from rsastats.geometry.intervals import MAX_NOISE_FRACTION  # noqa: E402
from rsastats.geometry.layers import layer_data  # noqa: E402
from rsastats.geometry.resampling import group_replicates, resampling_settings, resampling_streams  # noqa: E402
from rsastats.intervals import bootstrap_interval, small_sample_expansion  # noqa: E402
from rsastats.rng import spawn_sequences  # noqa: E402

METHODS = ("basic-expanded", "basic", "percentile", "bca", "bca-expanded", "jackknife-t", "bootstrap-se-t",
           "former kernel")
BAND = (0.925, 0.975)


def _jackknife(strata: list[np.ndarray], estimate: float) -> tuple[float, float]:
    """Stratified jackknife SE and bias of ``estimate`` from leave-one-row-out values per group."""
    variance = bias = 0.0
    for t in strata:
        n = t.size
        if n >= 2:
            variance += (n - 1) / n * float(np.sum((t - t.mean()) ** 2))
            bias += (n - 1) * (float(t.mean()) - estimate)
    return float(np.sqrt(variance)), bias


def _intervals(d, est: float, reps: np.ndarray, jack: list[np.ndarray], sizes: list[int],
               former: np.ndarray | None) -> dict[str, tuple[float, float]]:
    expansion = small_sample_expansion(sizes)
    out = {}
    for name, method, expand in (("basic", "basic", None), ("basic-expanded", "basic", expansion),
                                 ("percentile", "percentile", None), ("bca", "bca", None),
                                 ("bca-expanded", "bca", expansion)):
        iv = bootstrap_interval(est, reps, method=method, confidence=0.95, jackknife=jack, bounds=d.bounds,
                                clip_to_bounds=True, expansion=expand)
        out[name] = (iv.low, iv.high)
    df = max(sum(sizes) - len(sizes), 1)
    q = stats.t.ppf(0.975, df)
    se, bias = _jackknife(jack, est)
    out["jackknife-t"] = (est - bias - q * se, est - bias + q * se)
    finite = reps[np.isfinite(reps)]
    centre, spread = 2 * est - float(np.median(finite)), float(np.std(finite, ddof=1))
    out["bootstrap-se-t"] = (centre - q * spread, centre + q * spread)
    if former is not None:
        iv = bootstrap_interval(est, former, method="basic", confidence=0.95, bounds=d.bounds, clip_to_bounds=True)
        out["former kernel"] = (iv.low, iv.high)
    return out


def design_counts(job: tuple) -> list[dict]:
    """Per descriptor and method of one design: data sets with an interval, hits, summed width."""
    design, n_sims, n_boot, seed = job
    warnings.simplefilter("ignore")
    model = PlantedModel(*DESIGNS[design])
    settings = resampling_settings(n_boot, 0.95, "bca")
    counts: dict[tuple[str, str], list[float]] = {}
    for seq in spawn_sequences(seed, n_sims):
        data_seed, boot_seed = seq.spawn(2)
        ds = model.dataset(data_seed)
        data = layer_data(ds, "activations", int(ds["layer"].values[0]), None)
        streams = resampling_streams(boot_seed)
        for group, rows, stream in (("baseline", data.baseline, streams["baseline"]),
                                    ("emotion", data.prompts, streams["prompts"])):
            entries = [d for d in group_descriptors(group) if d.name in CHECKED]
            if group == "emotion" and kernels.emotion_noise_fraction(rows.gram, rows.groups) > MAX_NOISE_FRACTION:
                entries = [d for d in entries if not d.noise_free]  # the package gives these no interval
            reps = group_replicates(lambda w: evaluate_descriptors(entries, rows, w), rows.group_sizes, stream,
                                    settings)
            for d in entries:
                former = None
                if d.name == "prompt_anisotropy":
                    weights = np.concatenate(list(kernels.resampling_weights(stream, n_boot, rows.group_sizes)))
                    former = kernels.mean_pairwise_cosine(weights[:n_boot], rows.unit)
                est = reps.point[d.name]
                for method, (low, high) in _intervals(d, est, reps.resamples[d.name], reps.jackknife[d.name],
                                                      rows.group_sizes, former).items():
                    c = counts.setdefault((d.name, method), [0, 0, 0.0])
                    if np.isfinite(low) and np.isfinite(high):
                        c[0] += 1
                        c[1] += int(low <= model.truth[d.name] <= high)
                        c[2] += high - low
    return [{"design": design, "descriptor": name, "method": method, "n": int(n), "hits": int(h),
             "coverage": h / n if n else float("nan"), "mean_width": w / n if n else float("nan")}
            for (name, method), (n, h, w) in counts.items()]


def markdown(rows: list[dict], meta: dict) -> str:
    designs = list(dict.fromkeys(r["design"] for r in rows))
    lines = [f"Written by `python analyses/geometry_methods.py --n-sims {meta['n_sims']} --n-boot {meta['n_boot']} "
             f"--seed {meta['seed']}` ({meta['seconds']:.0f} s): every method formed from the same replicates of "
             "each data set (the module docstring says how). Coverage of the planted value where the package gives an "
             "interval; '(below)': its Clopper-Pearson 95% interval lies below 95%. Counts per method use the cells "
             "with at least 20 intervals.", "",
             f"Cells (design x descriptor) within [{BAND[0]}, {BAND[1]}] and below it, per method:", "",
             "| method | within | below | above | cells |", "|---|---|---|---|---|"]
    for method in METHODS:
        cov = [r["coverage"] for r in rows if r["method"] == method and r["n"] >= 20]
        lines.append(f"| {method} | {sum(BAND[0] <= c <= BAND[1] for c in cov)} | {sum(c < BAND[0] for c in cov)} | "
                     f"{sum(c > BAND[1] for c in cov)} | {len(cov)} |")
    lines += ["", "Coverage (%) per descriptor and design, one table per method:", ""]
    for method in METHODS:
        sub = [r for r in rows if r["method"] == method]
        if not sub:
            continue
        lines += [f"**{method}**", "", "| descriptor | " + " | ".join(designs) + " |",
                  "|---" * (len(designs) + 1) + "|"]
        for name in CHECKED:
            cells = []
            for design in designs:
                r = next((r for r in sub if r["design"] == design and r["descriptor"] == name), None)
                if r is None or r["n"] == 0:
                    cells.append("-")
                    continue
                low, high = binomial_ci(r["hits"], r["n"])
                flag = " (below)" if high < 0.95 else ""
                cells.append(f"{100 * r['coverage']:.1f}{flag}")
            if any(c != "-" for c in cells):
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    study = run_study(argv, __doc__, design_counts, n_sims=400, seed=100)
    if study is None:
        return 2
    args, rows, meta = study
    write_rows(args.out / "methods.csv", rows)
    (args.out / "methods.md").write_text(markdown(rows, meta) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
