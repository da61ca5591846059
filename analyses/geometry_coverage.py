"""Coverage of the geometry intervals on planted designs with known population values.

    python analyses/geometry_coverage.py [--n-sims 200] [--n-boot 400] [--seed 0] [--jobs 2]
        [--out reports/geometry_coverage]

The planted model (Gaussian vectors with a chosen covariance): baseline texts
``x = mu + Sigma^(1/2) z`` with a power-law spectrum ``lambda_k ~ k^(-1/2)`` in a random basis and an
offset ``mu`` along one direction (it sets the anisotropy); prompts ``x_ep = v_e + noise * z`` around
fixed emotion vectors ``v_e ~ N(1, I)``.  The estimand of each descriptor is stated with it:

* baseline descriptors: the population value of the baseline distribution (participation ratio and
  PC1 share from ``Sigma``; the others from 400,000 draws);
* ``prompt_*``: the population value for the design's prompt layout (4,000 draws per emotion);
* ``emotion_*``: the value of the noise-free emotion vectors ``v_e`` (unlimited prompts).

Every data set goes through :func:`rsastats.geometry.geometry` with the default interval; coverage
is the fraction of data sets whose interval contains the estimand, with a Clopper-Pearson 95%
interval.  Also counted: how often the printed estimate lies inside its own interval (it must,
always) and how often the plug-in value does (what the output showed before the estimate was
the interval's own point).  Writes ``coverage.md``, ``coverage.csv`` and ``coverage.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyses.calibration import binomial_ci  # noqa: E402
from rsastats.exceptions import RsaStatsWarning  # noqa: E402
from rsastats.geometry import DEFAULT_CI_METHOD, DESCRIPTORS, geometry  # noqa: E402
from rsastats.io import make_activations  # noqa: E402
from rsastats.rng import spawn_sequences  # noqa: E402

# name: (hidden, baseline texts, offset norm per sqrt(hidden), prompt noise sd, emotions, prompts per emotion)
DESIGNS = {
    "moderate anisotropy, n > hidden": (32, 60, 1.0, 1.0, 12, 16),
    "high anisotropy, n < hidden": (96, 40, 3.0, 1.0, 12, 16),
    "study-sized: 21 emotions x 8 prompts, hidden 128": (128, 100, 1.0, 1.5, 21, 8),
    "thin: 8 emotions x 4 prompts, noisy": (64, 20, 1.0, 3.0, 8, 4),
    # added 2026-12-06 with the small-sample expansion, to check it on designs it was not first seen on
    "6 emotions x 6 prompts, strong anisotropy, noisy": (48, 30, 2.0, 2.0, 6, 6),
    "3 prompts per emotion, hidden 256": (256, 50, 0.5, 0.5, 16, 3),
    "little prompt noise: 10 emotions x 10 prompts": (100, 25, 1.5, 0.3, 10, 10),
    "many texts, hidden 16: 30 emotions x 5 prompts": (16, 200, 1.0, 1.0, 30, 5),
}
# Descriptors with an interval (the others say in words why they have none).
CHECKED = tuple(d.name for d in DESCRIPTORS if d.has_ci)


def expected_noise_fractions(vectors: np.ndarray, noise: float, n_prompts: int) -> tuple[float, float]:
    """The expected prompt noise (isotropic, SD ``noise`` per dimension, ``n_prompts`` per emotion) in the emotion
    vectors over their squared norm, and in the centred vectors over their squared distance from their mean: the
    plain and centred shares of ``rsastats.geometry.kernels.emotion_noise_fractions`` in expectation."""
    n_e, hidden = vectors.shape
    total = noise**2 * hidden / n_prompts * n_e
    return (float(total / np.sum(vectors**2)),
            float(total * (1 - 1 / n_e) / np.sum((vectors - vectors.mean(axis=0)) ** 2)))


class PlantedModel:
    """One planted design: draws data sets and knows its population descriptors."""

    def __init__(self, hidden: int, n_baseline: int, offset: float, noise: float, n_emotions: int, n_prompts: int,
                 seed: int = 123):
        rng = np.random.default_rng(seed)
        self.hidden, self.n_baseline, self.noise = hidden, n_baseline, noise
        self.n_emotions, self.n_prompts = n_emotions, n_prompts
        lam = np.arange(1, hidden + 1) ** -0.5
        self.lam = lam / lam.sum() * hidden
        self.basis = np.linalg.qr(rng.standard_normal((hidden, hidden)))[0]
        self.mu = np.zeros(hidden)
        self.mu[0] = offset * np.sqrt(hidden)
        self.vectors = rng.standard_normal((n_emotions, hidden)) + 1.0
        self.set_noise_fractions()
        self.truth = self._truth(np.random.default_rng(seed + 1))

    def set_noise_fractions(self) -> None:
        """The expected noise shares of :func:`expected_noise_fractions` (what noise_free_support measures)."""
        self.noise_fraction, self.centred_noise_fraction = expected_noise_fractions(self.vectors, self.noise,
                                                                                    self.n_prompts)

    def baseline(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.mu + (rng.standard_normal((n, self.hidden)) * np.sqrt(self.lam)) @ self.basis.T

    def prompts(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.vectors[:, None, :] + self.noise * rng.standard_normal((self.n_emotions, n, self.hidden))

    def _truth(self, rng: np.random.Generator) -> dict[str, float]:
        big = self.baseline(rng, 400_000)
        norms = np.linalg.norm(big, axis=1)
        unit = big / norms[:, None]
        half = len(unit) // 2
        lam = self.lam
        out = {
            "baseline_anisotropy": float(np.mean(np.sum(unit[:half] * unit[half:], axis=1))),
            "baseline_top_dim_contribution": float(np.max(unit.mean(axis=0) ** 2)),
            "baseline_participation_ratio": float(lam.sum() ** 2 / (lam**2).sum()),
            "baseline_pc1_share": float(lam.max() / lam.sum()),
            "baseline_norm_mean": float(norms.mean()),
            "baseline_norm_sd": float(norms.std()),
        }
        out.update(self._prompt_truth(rng))
        v = self.vectors
        unit_v = v / np.linalg.norm(v, axis=1, keepdims=True)
        iu = np.triu_indices(self.n_emotions, k=1)
        cos = (unit_v @ unit_v.T)[iu]
        sv2 = np.linalg.svd(v - v.mean(axis=0), compute_uv=False) ** 2
        out.update(emotion_mean_cosine=float(cos.mean()), emotion_rdm_spread=float((1 - cos).std()),
                   emotion_participation_ratio=float(sv2.sum() ** 2 / (sv2**2).sum()),
                   emotion_pc1_share=float(sv2.max() / sv2.sum()))
        return out

    def _prompt_truth(self, rng: np.random.Generator) -> dict[str, float]:
        """Prompt descriptors: pairs within an emotion and between emotions weighted as in the design."""
        many = self.prompts(rng, 4000)
        p_norms = np.linalg.norm(many, axis=2)
        p_unit = many / p_norms[:, :, None]
        k = many.shape[1]
        sums = p_unit.sum(axis=1)
        within = (np.sum(sums**2, axis=1) - k) / (k * (k - 1))
        means = sums / k
        e, p = self.n_emotions, self.n_prompts
        n_within = e * p * (p - 1) / 2
        n_between = e * p * (e * p - 1) / 2 - n_within
        between = (means @ means.T)[np.triu_indices(e, k=1)].mean()
        return {"prompt_anisotropy": float((within.mean() * n_within + between * n_between) / (n_within + n_between)),
                "prompt_norm_mean": float(p_norms.mean()), "prompt_norm_sd": float(p_norms.std())}

    def dataset(self, seed: int | np.random.SeedSequence):
        rng = np.random.default_rng(seed)
        acts = self.prompts(rng, self.n_prompts)
        base = self.baseline(rng, self.n_baseline)
        return make_activations(acts[:, :, None, :], [f"e{i}" for i in range(self.n_emotions)],
                                baseline=base[:, None, :], attrs={"model": "planted"})


def simulate(model: PlantedModel, n_sims: int, n_boot: int, seed: int, ci_method: str | None = None) -> dict:
    """Per descriptor over ``n_sims`` data sets: ``hits`` (interval contains the estimand), ``inside``
    (estimate inside its interval), ``plugin_inside``, ``with_ci`` (data sets with an interval), mean
    estimate and plug-in value."""
    counts = {name: dict(hits=0, inside=0, plugin_inside=0, with_ci=0, estimate=0.0, plugin=0.0) for name in CHECKED}
    for k, seq in enumerate(spawn_sequences(seed, n_sims)):
        data_seed, boot_seed = seq.spawn(2)
        layer = geometry(model.dataset(data_seed), n_boot=n_boot, ci_method=ci_method, seed=boot_seed).layers[0]
        for name in CHECKED:
            est, c = layer[name], counts[name]
            c["estimate"] += est.estimate / n_sims
            c["plugin"] += est.plugin / n_sims
            if est.status != "ok":
                continue
            c["with_ci"] += 1
            c["hits"] += int(est.ci_low <= model.truth[name] <= est.ci_high)
            c["inside"] += int(est.ci_low <= est.estimate <= est.ci_high)
            c["plugin_inside"] += int(est.ci_low <= est.plugin <= est.ci_high)
    return counts


def rows_of(design: str, model: PlantedModel, counts: dict) -> list[dict]:
    rows = []
    for name in CHECKED:
        c = counts[name]
        low, high = binomial_ci(c["hits"], c["with_ci"]) if c["with_ci"] else (float("nan"), float("nan"))
        rows.append({"design": design, "noise_fraction": model.noise_fraction,
                     "centred_noise_fraction": model.centred_noise_fraction, "descriptor": name,
                     "estimand": model.truth[name],
                     "mean_estimate": c["estimate"], "mean_plugin": c["plugin"], "n": c["with_ci"],
                     "coverage": c["hits"] / c["with_ci"] if c["with_ci"] else float("nan"),
                     "coverage_low": low, "coverage_high": high, "estimate_inside": c["inside"],
                     "plugin_inside": c["plugin_inside"]})
    return rows


def summary_table(rows: list[dict], designs: list[str]) -> str:
    """Coverage of every descriptor (rows) in every design (columns): the table docs/geometry.md quotes."""
    short = {d: f"{DESIGNS[d][4]}x{DESIGNS[d][5]}, hidden {DESIGNS[d][0]}, n {DESIGNS[d][1]}" for d in designs}
    noise = {r["design"]: (r["noise_fraction"], r["centred_noise_fraction"]) for r in rows}
    lines = ["| descriptor | " + " | ".join(f"{short[d]} (noise {noise[d][0]:.0%}, centred {noise[d][1]:.0%})"
                                            for d in designs) + " |",
             "|---|" + "---|" * len(designs)]
    for name in CHECKED:
        cells = []
        for d in designs:
            r = next(r for r in rows if r["design"] == d and r["descriptor"] == name)
            cells.append(f"{r['coverage']:.2f} [{r['coverage_low']:.2f}, {r['coverage_high']:.2f}]" if r["n"]
                         else "no CI (says why)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(rows: list[dict], meta: dict) -> str:
    lines = [f"Simulated with `python analyses/geometry_coverage.py --n-sims {meta['n_sims']} --n-boot "
             f"{meta['n_boot']} --seed {meta['seed']}` ({meta['seconds']:.0f} s); interval {meta['ci_method']} at "
             f"{meta['confidence']:.0%} with the small-sample expansion of a within-group bootstrap "
             "(`rsastats.intervals.small_sample_expansion`); brackets: Clopper-Pearson 95% intervals of the coverage. "
             "\"estimate inside\" "
             "and \"plug-in inside\" count the data sets whose printed estimate (the interval's own point) and "
             "plug-in value lie inside the interval.", "",
             "Coverage by design (columns: emotions x prompts, hidden size, baseline texts; noise: the prompt noise "
             "in the emotion vectors as a share of their squared norm; centred: in the centred vectors as a share of "
             "their squared distance from their mean, which decides the intervals of the participation ratio and PC1 "
             "share of the emotions):", "", summary_table(rows, meta["designs"]), ""]
    for design in meta["designs"]:
        hidden, n_base, _, noise, n_emo, n_prompts = DESIGNS[design]
        design_rows = [r for r in rows if r["design"] == design]
        lines += [f"**{design}** (hidden {hidden}, {n_base} baseline texts, {n_emo} emotions x {n_prompts} prompts, "
                  f"prompt noise sd {noise}: noise is {design_rows[0]['noise_fraction']:.0%} of the emotion vectors' "
                  f"squared norm, {design_rows[0]['centred_noise_fraction']:.0%} of the centred vectors' squared "
                  "distance from their mean)", "",
                  "| descriptor | estimand | mean estimate | mean plug-in | coverage | estimate inside | plug-in inside |",
                  "|---|---|---|---|---|---|---|"]
        for r in design_rows:
            coverage = (f"{r['coverage']:.3f} [{r['coverage_low']:.3f}, {r['coverage_high']:.3f}]" if r["n"] else
                        "no interval given (the output says why)")
            lines.append(f"| {r['descriptor']} | {r['estimand']:.4g} | {r['mean_estimate']:.4g} | {r['mean_plugin']:.4g} | "
                         f"{coverage} | {r['estimate_inside']}/{r['n']} | {r['plugin_inside']}/{r['n']} |")
        lines.append("")
    return "\n".join(lines)


def run_designs(worker, jobs: list[tuple], n_workers: int, start: float) -> list[dict]:
    """The rows of ``worker`` over ``jobs`` (one design each, its name first), in the order of ``jobs``, from
    ``n_workers`` processes; each design's progress to stderr."""
    rows: list[dict] = []
    with ProcessPoolExecutor(max_workers=max(1, n_workers)) as pool:
        for job, part in zip(jobs, pool.map(worker, jobs)):
            rows += part
            print(f"{job[0]}: done after {time.time() - start:.0f} s", file=sys.stderr)
    return rows


def write_rows(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _design_rows(job: tuple) -> list[dict]:
    """The rows of one design (in a worker process: each design has its own seed, so the result does not depend
    on ``--jobs``)."""
    design, n_sims, n_boot, seed = job
    warnings.simplefilter("ignore", RsaStatsWarning)
    model = PlantedModel(*DESIGNS[design])
    return rows_of(design, model, simulate(model, n_sims, n_boot, seed))


def design_arguments(argv: list[str] | None, doc: str, n_sims: int, seed: int) -> argparse.Namespace | None:
    """The options of a study over :data:`DESIGNS` (``--n-sims``, ``--n-boot``, ``--seed``, ``--designs``,
    ``--jobs``, ``--out``); None, with a one-line error, for an unknown design."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-sims", type=int, default=n_sims)
    parser.add_argument("--n-boot", type=int, default=400)
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--designs", nargs="*", default=list(DESIGNS), help="a subset of the designs, by name")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (one design each)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "geometry_coverage")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.designs) - set(DESIGNS))
    if unknown:
        print(f"error: unknown design {unknown[0]!r}; the designs are {', '.join(DESIGNS)}", file=sys.stderr)
        return None
    return args


def run_study(argv: list[str] | None, doc: str, worker, n_sims: int, seed: int):
    """A study over :data:`DESIGNS` from its command line (:func:`design_arguments`): ``worker`` run on each chosen
    design with its own seed (``seed`` + the design's index), in ``--jobs`` processes.  Returns the options, the
    rows and the run's metadata (with ``--out`` created); None after a one-line error."""
    args = design_arguments(argv, doc, n_sims=n_sims, seed=seed)
    if args is None:
        return None
    start = time.time()
    jobs = [(d, args.n_sims, args.n_boot, args.seed + list(DESIGNS).index(d)) for d in args.designs]
    rows = run_designs(worker, jobs, args.jobs, start)
    args.out.mkdir(parents=True, exist_ok=True)
    return args, rows, {"n_sims": args.n_sims, "n_boot": args.n_boot, "seed": args.seed, "seconds": time.time() - start}


def main(argv: list[str] | None = None) -> int:
    args = design_arguments(argv, __doc__, n_sims=200, seed=0)
    if args is None:
        return 2
    start = time.time()
    jobs = [(design, args.n_sims, args.n_boot, args.seed + i) for i, design in enumerate(args.designs)]
    rows = run_designs(_design_rows, jobs, args.jobs, start)
    meta = {"n_sims": args.n_sims, "n_boot": args.n_boot, "seed": args.seed, "seconds": time.time() - start,
            "ci_method": f"`{DEFAULT_CI_METHOD}` (`normal` for baseline_pc1_share)",
            "confidence": 0.95, "designs": {d: DESIGNS[d] for d in args.designs}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "coverage.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    write_rows(args.out / "coverage.csv", rows)
    (args.out / "coverage.md").write_text(markdown(rows, meta) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
