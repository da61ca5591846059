"""Coverage of the interval of a difference of two correlations that share a model, rho(A, B) - rho(A, C)
(:func:`rsastats.inference.compare_difference`; ``rsastats hypotheses`` forms its differences the same way), and the
size of its test of no difference.

The atlas has two models per data set.  Here each design is an atlas design (its population, its calibrated prompt
noise) read by a third model C (:meth:`analyses.atlas.model.Population.with_third`): either a copy of model B's
read-out and common direction (``null`` designs: B and C differ only in their own emotion directions and prompt noise,
so rho(A, B) and rho(A, C) have the same distribution and the truth is exactly 0, which makes the p-value's rejection
rate a size), or a read-out ``W_A + tau D_C`` of its own (C closer to A than B is for small ``tau``, farther for
large).  ``-hyp`` designs give B and C as hypothesis RDMs, as ``rsastats hypotheses`` compares them: the cosine RDMs
of their noise-free vectors (fixed by the data set's emotions) against model A's prompts.  The truth is
E[rho_hat(A, B) - rho_hat(A, C)] over data sets of the design (what a replication with the same numbers of emotions
and prompts would find on average), by Monte Carlo.

Per data set, every interval comes from ``compare_difference`` itself: the default (``jackknife-t``), the plain
jackknife normal interval (``jackknife``, the default before 2026-12-06) and the paired bootstrap's percentile and
BCa intervals; and, from the same leave-one-out values, the jackknife-t with the excess weighted by the degeneracy as
rho's interval takes it (``weighted``).

    python -m analyses.calibration.difference [--sets 400] [--n-boot 1000] [--n-mc 6000] [--jobs 2]

writes ``reports/calibration/difference/<design>.csv`` (a row per data set), ``coverage.csv`` and ``settings.json``.
"""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import stdtr, stdtrit

from rsastats.exceptions import RsaStatsWarning
from rsastats.inference import compare_difference
from rsastats.inference.degeneracy import difference_second_order
from rsastats.inputs import RDMOptions, load_models
from rsastats.inference.engine import ResamplingEngine
from rsastats.intervals.jackknife import corrected_variance, jackknife_se
from rsastats.io import atomic_path
from rsastats.rdm import RDM, rdm_matrix
from rsastats.rng import spawn_sequences

from ..atlas.designs import ATLAS
from ..atlas.model import Population, cosine_cells, spearman
from ..atlas.shipped import model_inputs, run_chunks
from .atlas import TOLERANCE
from .studies import binomial_ci

__all__ = ["DESIGNS", "METHODS", "difference_rows", "truth", "coverage", "section", "main"]

OUT = Path("reports/calibration/difference")
ATLAS_RESULTS = Path("reports/calibration/atlas")
# B and C as hypothesis RDMs (``rsastats hypotheses``): the cosine RDMs of their noise-free vectors, which the data
# set's emotions fix, against model A's prompts
HYPOTHESES = "hyp"
# (atlas design, C's read-out distortion tau; None: a copy of B's read-out, the null[, HYPOTHESES])
DESIGNS = (
    ("n21-P8-r0.8-high-clustered-aniso", None), ("n21-P20-r0.5-mid-clustered", None), ("n40-P20-r0.8-low-hub", None),
    ("n8-P8-r0.8-high-lowrank", None), ("n21-P20-r0.8-near1-lowrank", None), ("n21-P3-r0.8-near1-lowrank", None),
    ("n40-P4-r0.95-near1-lowrank", None), ("n8-P20-r0.95-high-hub-vectors", None),
    ("n21-P8-r0.8-mid-lowrank-shared0.5", None), ("n21-P20-r0.8-high-lowrank-templ1", None),
    ("n40-P8-r0.5-low-clustered-aniso-vectors", None),
    ("n21-P8-r0.95-low-lowrank", 1.5), ("n21-P8-r0.5-high-hub", 1.0), ("n21-P20-r0.8-near1-lowrank", 0.5),
    ("n40-P50-r0.8-mid-lowrank-aniso", 0.1), ("n8-P50-r0.99-high-clustered", 1.0), ("n21-P20-r0.8-mid-hub-aniso", 1.0),
    ("n21-P4-r0.5-high-lowrank", 0.1), ("n40-P20-r0.8-low-hub", 1.0), ("n21-P50-r0.95-high-hub-aniso", 0.3),
    ("n21-P8-r0.8-high-clustered-aniso", None, HYPOTHESES), ("n21-P20-r0.5-mid-clustered", None, HYPOTHESES),
    ("n8-P8-r0.8-high-lowrank", None, HYPOTHESES), ("n21-P8-r0.95-low-lowrank", 1.5, HYPOTHESES),
    ("n40-P20-r0.8-low-hub", 1.0, HYPOTHESES),
)
# The intervals compared: the shipped default first, then those compare_difference gives by name, then "weighted"
METHODS = ("jackknife-t", "jackknife", "percentile", "bca", "weighted")


def _name(base: str, tau: float | None, *kind: str) -> str:
    return f"{base}-C{'null' if tau is None else f'{tau:g}'}" + "".join(f"-{k}" for k in kind)


def _inputs(ds, design, kind: tuple[str, ...]) -> list:
    """A data set's three inputs: the models' (:func:`analyses.atlas.shipped.model_inputs`), or with
    :data:`HYPOTHESES` model A's and the cosine RDMs of B's and C's noise-free vectors."""
    inputs = model_inputs(ds, design)
    if HYPOTHESES not in kind:
        return inputs
    labels = inputs[0].rdm.labels
    return [inputs[0], *(RDM(rdm_matrix(ds.mu[m], "cosine"), labels, "cosine", f"hypothesis{m}") for m in (1, 2))]


def _population(base: str, tau: float | None):
    meta = json.loads((ATLAS_RESULTS / f"{base}.json").read_text())
    design = replace(next(d for d in ATLAS if d.name == base), sigma=meta["truth"]["sigma"])
    return design, Population.of(design).with_third(tau, 1)


def truth(base: str, tau: float | None, n_mc: int, seed: int = 99, *kind: str) -> tuple[float, float]:
    """The Monte Carlo value of E[rho_hat(A, B) - rho_hat(A, C)] over ``n_mc`` data sets of the design, and its
    Monte Carlo SE (a null design's truth is 0 by symmetry; :func:`main` takes 0 there and keeps this as a check)."""
    design, pop = _population(base, tau)
    rng = np.random.default_rng([design.seed, seed, 3])
    out = []
    for start in range(0, n_mc, 250):
        k = min(250, n_mc - start)
        if HYPOTHESES in kind:  # model A's prompt means against B's and C's noise-free vectors
            draws = [pop.emotions(design.n_emotions, rng)[0] for _ in range(k)]
            means = np.stack([np.stack([mu[0] + pop.noise(design.n_emotions, design.n_prompts, design.sigma,
                                                          rng)[0].mean(axis=1), mu[1], mu[2]]) for mu in draws])
        else:
            means = np.stack([pop.draw_means(rng) for _ in range(k)])
        cells = cosine_cells(means)
        out.append(spearman(cells[:, 0], cells[:, 1]) - spearman(cells[:, 0], cells[:, 2]))
    values = np.concatenate(out)
    return float(values.mean()), float(values.std() / np.sqrt(values.size))


def _chunk(args: tuple) -> list[dict]:
    (base, tau, *kind), seqs, n_boot, confidence = args
    design, pop = _population(base, tau)
    rows = []
    for seq in seqs:
        a, b, c = _inputs(pop.draw(np.random.default_rng(seq)), design, tuple(kind))
        row = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RsaStatsWarning)
            for method in METHODS[:4]:
                res = compare_difference(a, b, c, ci=method, n_boot=n_boot, confidence=confidence, seed=seq)
                row.update({"difference": res.difference, f"{method}_low": res.ci_low, f"{method}_high": res.ci_high,
                            f"{method}_p": res.p_value})
        # the excess weighted by the degeneracy (rho's rule), on the jackknife variance of the leave-one-out differences
        n = design.n_emotions
        engine = ResamplingEngine(load_models([a, b, c], RDMOptions()), rank="spearman", scheme="emotions",
                                  rdm_method="cosine")
        pairs = np.array([[0, 1], [0, 2]])
        loo = engine.jackknife(pairs)[0]
        variance = jackknife_se(loo[:, 0] - loo[:, 1], "raw") ** 2
        excess = difference_second_order(*engine.fixed, *engine.point(pairs), "spearman")
        se = float(np.sqrt(corrected_variance(variance, excess, n)))
        q = float(stdtrit(n - 1, 0.5 + confidence / 2.0))
        d = row["difference"]
        row.update({"weighted_low": d - q * se, "weighted_high": d + q * se,
                    "weighted_p": float(min(1.0, 2.0 * stdtr(n - 1, -abs(d) / se))) if se > 0 else np.nan,
                    "excess_share": excess / variance if variance > 0 else np.nan})
        rows.append(row)
    return rows


def difference_rows(base: str, tau: float | None, n_sets: int, *kind: str, n_boot: int = 1000,
                    confidence: float = 0.95, seed: int = 2026, jobs: int = 2) -> pd.DataFrame:
    """Per data set ``0 .. n_sets - 1`` of the design: the difference and every interval of :data:`METHODS` with its
    p-value."""
    design, _ = _population(base, tau)
    seqs = spawn_sequences(np.random.SeedSequence([seed, design.seed, 3]), n_sets)
    return pd.DataFrame(run_chunks(_chunk, (base, tau, *kind), seqs, jobs, n_boot, confidence))


def coverage(name: str, tau: float | None, frame: pd.DataFrame, true: float) -> list[dict]:
    """Per method: coverage of the truth (Clopper-Pearson), the sides of the misses, the median width, and for a null
    design the rejection rate of no difference at 5% (its size)."""
    rows = []
    for method in METHODS:
        low, high = frame[f"{method}_low"].to_numpy(), frame[f"{method}_high"].to_numpy()
        shown = np.isfinite(low) & np.isfinite(high)
        hit = (low[shown] <= true) & (true <= high[shown])
        lo, hi = binomial_ci(int(hit.sum()), int(hit.size))
        p = frame[f"{method}_p"].to_numpy()
        rows.append({"design": name, "null": tau is None, "method": method, "sets": len(frame), "truth": true,
                     "shown": float(shown.mean()), "coverage": float(hit.mean()), "cp_low": lo, "cp_high": hi,
                     "above": float(np.mean(low[shown] > true)), "below": float(np.mean(high[shown] < true)),
                     "median_width": float(np.median(high[shown] - low[shown])),
                     "rejection_5pct": float(np.mean(p[np.isfinite(p)] <= 0.05)) if tau is None else np.nan,
                     "excess_share": float(frame["excess_share"].median())})
    return rows


def _p(x: float) -> str:
    return f"{100 * x:.1f}"


def section(path: Path = OUT / "coverage.csv") -> list[str]:
    """The section of docs/calibration.md on the difference of two correlations (none without the stored table)."""
    if not Path(path).exists():
        return []
    table = pd.read_csv(path)
    band = f"[{100 * TOLERANCE[0]:g}%, {100 * TOLERANCE[1]:g}%]"
    wide = table.pivot(index="design", columns="method", values="coverage").loc[table["design"].unique()]
    first = table.drop_duplicates("design").set_index("design")
    default = table[table["method"] == METHODS[0]].set_index("design")
    lines = ["## The difference of two correlations that share a model", "",
             f"{len(wide)} designs x {int(table['sets'].min())} data sets "
             "(`python -m analyses.calibration.difference`, whose docstring describes them; per data set in "
             "`reports/calibration/difference/`): each an atlas design "
             "read by a third model C, a copy of model B's read-out (`Cnull`: the truth is 0 by symmetry, and the "
             "rejection rate of 'no difference' at 5% is the test's size) or a read-out of its own (`C<tau>`); "
             "`-hyp`: B and C given as hypothesis RDMs, the RDMs of their noise-free vectors, against A's prompts (as "
             "`rsastats hypotheses` compares a model with two hypotheses). Every "
             "interval of rho(A, B) - rho(A, C) from `compare_difference` itself (`weighted`: the same jackknife-t "
             "with the excess weighted by the degeneracy, as rho's interval takes it). The truth is E[rho_hat(A, B) - "
             "rho_hat(A, C)] by Monte Carlo. Coverage % per method; the default's Clopper-Pearson interval and width; "
             "the excess's median share of the jackknife variance; for null designs the size of the default's and of "
             "the plain jackknife's test.", "",
             "| design | truth | " + " | ".join(("default jackknife-t [CP 95%]" if m == METHODS[0] else m)
                                             for m in METHODS) + " | width | excess share | size % (default, plain) |",
             "|---" * (len(METHODS) + 5) + "|"]
    for design, row in wide.iterrows():
        d = default.loc[design]
        plain = table[(table["design"] == design) & (table["method"] == "jackknife")]["rejection_5pct"].iloc[0]
        size = f"{_p(d.rejection_5pct)}, {_p(plain)}" if bool(first.loc[design, "null"]) else ""
        cells = [f"{_p(row[m])} [{_p(d.cp_low)}, {_p(d.cp_high)}]" if m == METHODS[0] else _p(row[m]) for m in METHODS]
        lines.append(f"| {design} | {first.loc[design, 'truth']:+.4f} | " + " | ".join(cells)
                     + f" | {d.median_width:.3f} | {d.excess_share:.2f} | {size} |")
    lines.append("")
    for method in METHODS:
        cov = wide[method]
        lines.append(f"- {method}{' (default)' if method == METHODS[0] else ''}: {int(cov.between(*TOLERANCE).sum())} "
                     f"of {len(cov)} designs within {band} ({int((cov < TOLERANCE[0]).sum())} below, "
                     f"{int((cov > TOLERANCE[1]).sum())} above; range {_p(cov.min())}-{_p(cov.max())}%).")
    nulls = default[default["null"]]
    plain = table[(table["method"] == "jackknife") & table["null"]]["rejection_5pct"]
    lines += [f"- Size of the test of no difference at 5% over the {len(nulls)} null designs: the default's "
              f"{_p(nulls['rejection_5pct'].min())}-{_p(nulls['rejection_5pct'].max())}% (mean "
              f"{_p(nulls['rejection_5pct'].mean())}%), the plain jackknife's {_p(plain.min())}-{_p(plain.max())}% "
              f"(mean {_p(plain.mean())}%).", ""]
    return lines


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=400)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--n-mc", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--designs", type=int, nargs="*", default=None, help="indices into DESIGNS (default: all)")
    parser.add_argument("--reuse", action="store_true", help="tabulate the stored per-data-set results only")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.reuse:
        with atomic_path(OUT / "settings.json") as tmp:
            tmp.write_text(json.dumps({"sets": args.sets, "n_boot": args.n_boot, "n_mc": args.n_mc,
                                       "seed": args.seed}) + "\n")
    rows = []
    for k in (range(len(DESIGNS)) if args.designs is None else args.designs):
        base, tau, *kind = DESIGNS[k]
        name = _name(base, tau, *kind)
        path = OUT / f"{name}.csv"
        if args.reuse:
            frame = pd.read_csv(path)
            true = json.loads(path.with_suffix(".json").read_text())["truth"]
        else:
            frame = difference_rows(base, tau, args.sets, *kind, n_boot=args.n_boot, seed=args.seed, jobs=args.jobs)
            monte_carlo, mcse = truth(base, tau, args.n_mc, 99, *kind)
            true = 0.0 if tau is None else monte_carlo
            with atomic_path(path) as tmp:
                frame.to_csv(tmp, index=False)
            with atomic_path(path.with_suffix(".json")) as tmp:
                tmp.write_text(json.dumps({"truth": true, "monte_carlo": monte_carlo, "truth_mcse": mcse}) + "\n")
        part = coverage(name, tau, frame, true)
        rows += part
        print(name, f"truth {true:+.4f};", "; ".join(f"{r['method']} {_p(r['coverage'])}" for r in part),
              f"size {_p(part[0]['rejection_5pct'])}" if tau is None else "", flush=True)
    table = pd.DataFrame(rows)
    if args.designs is None:  # every design: the table of docs/calibration.md
        with atomic_path(OUT / "coverage.csv") as tmp:
            table.to_csv(tmp, index=False, float_format="%.4f")
    return table


if __name__ == "__main__":
    main()
