"""Coverage of rho's interval under the non-default bootstrap schemes, ``--bootstrap prompts`` and ``both``.

The default interval (jackknife-t over emotions, each emotion's prompts travelling with it) is calibrated on the
atlas (docs/calibration.md).  ``--bootstrap prompts`` resamples the prompts within each emotion and keeps the
emotions; ``both`` resamples prompts, then emotions.  Both need a bootstrap interval (``--ci percentile|basic|bca``).
What they estimate was said in words (docs/statistics.md, section 4) but not measured.  This study measures it on
the atlas's own data sets (the same streams as :func:`analyses.atlas.shipped.run_shipped` with seed 2026, so the
stored default intervals of ``reports/calibration/atlas/`` belong to the same data sets), against two truths:

- ``measured``: the atlas's truth of rho, E[rho_hat] over new emotions and prompts of the design;
- ``conditional``: E[rho_hat | these emotions], the mean of rho over ``n_cond`` fresh prompt sets for the data set's
  own noise-free emotion vectors (what a prompt bootstrap can at most target: it keeps the emotions).

Every interval is that of :func:`rsastats.inference.bootstrap_rho` with the scheme and method named; an interval
that excludes its estimate is not shown by the package (NaN) and is counted as such.

    python -m analyses.calibration.schemes [--sets 400] [--n-boot 1000] [--n-cond 500] [--jobs 2]

writes ``reports/calibration/schemes/<design>.csv`` (a row per data set), ``coverage.csv`` and ``settings.json``.
"""

from __future__ import annotations

import argparse
import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.exceptions import EstimationError, RsaStatsWarning
from rsastats.inference.bootstrap import bootstrap_rho
from rsastats.rng import spawn_sequences

from ..atlas.designs import ATLAS
from ..atlas.model import Population, cosine_cells, spearman
from ..atlas.shipped import model_inputs, run_chunks
from .atlas import TOLERANCE
from .studies import binomial_ci

__all__ = ["SCHEMES", "conditional_truth", "scheme_rows", "coverage", "section", "main"]

OUT = Path("reports/calibration/schemes")
MIN_SHOWN = 20  # a design's coverage is counted where at least this many of its intervals are shown
ATLAS_RESULTS = Path("reports/calibration/atlas")
# (scheme, interval method): the non-default schemes with the bootstrap intervals they allow, and the emotion
# bootstrap's percentile interval beside them (the same resamples as the default's scheme, a bootstrap interval)
SCHEMES = (("prompts", "percentile"), ("prompts", "bca"), ("both", "percentile"), ("both", "bca"),
           ("emotions", "percentile"))


def conditional_truth(pop: Population, mu: np.ndarray, n_cond: int, rng: np.random.Generator,
                      batch: int = 100) -> float:
    """E[rho_hat | emotions]: the mean Spearman rho of the two models' cosine RDMs over ``n_cond`` fresh prompt sets
    for the noise-free vectors ``mu`` (2, n, H) (:meth:`Population.noise`, templates and shared effects included)."""
    d = pop.design
    total = 0.0
    for start in range(0, n_cond, batch):
        k = min(batch, n_cond - start)
        means = mu[None] + np.stack([pop.noise(d.n_emotions, d.n_prompts, d.sigma, rng).mean(axis=2)
                                     for _ in range(k)])
        cells = cosine_cells(means)  # (k, 2, m)
        total += float(spearman(cells[:, 0], cells[:, 1]).sum())
    return total / n_cond


def _chunk(args: tuple) -> list[dict]:
    design, seqs, n_boot, n_cond = args
    pop = Population.of(design)
    rows = []
    for seq in seqs:
        rng = np.random.default_rng(seq)
        ds = pop.draw(rng)
        a, b = model_inputs(ds, design)
        truth_rng = np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, 1 << 20)))
        row = {"rho": float(spearman(*ds.cells)), "conditional": conditional_truth(pop, ds.mu, n_cond, truth_rng)}
        for scheme, ci in SCHEMES:
            low = high = np.nan
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RsaStatsWarning)
                    res = bootstrap_rho(a, b, scheme=scheme, ci=ci, n_boot=n_boot, seed=seq)
                low, high = res.ci_low, res.ci_high
            except EstimationError:  # BCa with every replicate on one side of rho: the package gives no interval
                pass
            row.update({f"{scheme}_{ci}_low": low, f"{scheme}_{ci}_high": high})
        rows.append(row)
    return rows


def scheme_rows(design, n_sets: int, *, n_boot: int = 1000, n_cond: int = 500, seed: int = 2026,
                jobs: int = 2) -> pd.DataFrame:
    """Per data set (``0 .. n_sets - 1`` of the atlas's streams with ``seed``): rho, its conditional truth and the
    intervals of :data:`SCHEMES` (NaN where the package gives none: an interval that excludes its
    estimate, or BCa with every resample on one side of it).  ``design`` needs its ``sigma``."""
    seqs = spawn_sequences(np.random.SeedSequence([seed, design.seed]), n_sets)
    return pd.DataFrame(run_chunks(_chunk, design, seqs, jobs, n_boot, n_cond))


def _rate(hit: np.ndarray) -> tuple[float, float, float]:
    if hit.size == 0:
        return np.nan, np.nan, np.nan
    lo, hi = binomial_ci(int(hit.sum()), hit.size)
    return float(hit.mean()), lo, hi


def coverage(name: str, frame: pd.DataFrame, measured: float, default: pd.DataFrame | None) -> list[dict]:
    """Per scheme and method: the share of data sets with an interval shown, its coverage of both truths
    (Clopper-Pearson), the sides of its misses of the measured truth, and its median width; the default's row from
    the stored atlas results of the same data sets (``default``: their ``ci_low``, ``ci_high``), where given."""
    cond = frame["conditional"].to_numpy()
    methods = [(f"{s} {c}", frame[f"{s}_{c}_low"].to_numpy(), frame[f"{s}_{c}_high"].to_numpy()) for s, c in SCHEMES]
    if default is not None and len(default) >= len(frame):
        methods.append(("emotions jackknife-t (default)", default["ci_low"].to_numpy()[:len(frame)],
                        default["ci_high"].to_numpy()[:len(frame)]))
    rows = []
    for label, low, high in methods:
        shown = np.isfinite(low) & np.isfinite(high)
        lo, hi, c = low[shown], high[shown], cond[shown]
        cov_m, cov_m_lo, cov_m_hi = _rate((lo <= measured) & (measured <= hi))
        cov_c, cov_c_lo, cov_c_hi = _rate((lo <= c) & (c <= hi))
        rows.append({"design": name, "method": label, "sets": len(frame), "shown": shown.mean(),
                     "measured": measured, "conditional_mean": float(cond.mean()),
                     "coverage_measured": cov_m, "cp_low_measured": cov_m_lo, "cp_high_measured": cov_m_hi,
                     "above_measured": float(np.mean(lo > measured)) if lo.size else np.nan,
                     "below_measured": float(np.mean(hi < measured)) if lo.size else np.nan,
                     "coverage_conditional": cov_c, "cp_low_conditional": cov_c_lo, "cp_high_conditional": cov_c_hi,
                     "median_width": float(np.median(hi - lo)) if lo.size else np.nan})
    return rows


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per method over the designs where it shows at least :data:`MIN_SHOWN` intervals: designs within the band for
    each truth, below it, the range, the width; the shown share over every design."""
    rows = []
    for method, every in table.groupby("method", sort=False):
        g = every[every["shown"] * every["sets"] >= MIN_SHOWN]
        rows.append({"method": method, "designs": len(g), "few_shown": len(every) - len(g),
                     "within_measured": int(g["coverage_measured"].between(*TOLERANCE).sum()),
                     "below_measured": int((g["coverage_measured"] < TOLERANCE[0]).sum()),
                     "min_measured": g["coverage_measured"].min(), "max_measured": g["coverage_measured"].max(),
                     "within_conditional": int(g["coverage_conditional"].between(*TOLERANCE).sum()),
                     "below_conditional": int((g["coverage_conditional"] < TOLERANCE[0]).sum()),
                     "min_conditional": g["coverage_conditional"].min(),
                     "max_conditional": g["coverage_conditional"].max(),
                     "shown_min": every["shown"].min(), "shown_mean": every["shown"].mean(),
                     "width": g["median_width"].median()})
    return pd.DataFrame(rows)


def _p(x: float) -> str:
    return "-" if not np.isfinite(x) else f"{100 * x:.1f}"


def section(path: Path = OUT / "coverage.csv") -> list[str]:
    """The section of docs/calibration.md on the other bootstrap schemes, from the stored ``coverage.csv`` (none
    without it)."""
    if not Path(path).exists():
        return []
    table = pd.read_csv(path)
    summary = _summary(table)
    band = f"[{100 * TOLERANCE[0]:g}%, {100 * TOLERANCE[1]:g}%]"
    n_sets = int(table["sets"].min())
    lines = ["## The other bootstrap schemes: `--bootstrap prompts` and `both`", "",
             f"{table['design'].nunique()} atlas designs with prompts x {n_sets} data sets (the atlas's own data sets, "
             "seed 2026), every interval from `rsastats.inference.bootstrap_rho` with the scheme and method named "
             "(`python -m analyses.calibration.schemes`, analyses/calibration/schemes.py, whose docstring defines the "
             "truths; per data set in `reports/calibration/schemes/`). Two truths: **measured**, the atlas's truth of "
             "rho (E[rho_hat] over new emotions and prompts: what the default interval targets), and **conditional**, "
             "E[rho_hat | these emotions] (the mean rho over 500 fresh prompt sets of the data set's own noise-free "
             "emotions: what a bootstrap that keeps the emotions could at most target). An interval the package does "
             "not show (one that excludes its estimate, or BCa with every resample on one side of it) counts in "
             f"'shown', not in the coverage. Per method over the designs where it shows at least {MIN_SHOWN} "
             "intervals: how many cover each truth within "
             f"{band} (and below it), the range of coverage, how often an interval is shown, and the median width.", "",
             "| scheme and interval | measured: within / below | range % | conditional: within / below | range % | "
             "shown % (min, mean) | median width |", "|---|---|---|---|---|---|---|"]
    for r in summary.itertuples():
        few = f" ({r.few_shown} more with fewer than {MIN_SHOWN} shown)" if r.few_shown else ""
        lines.append(f"| {r.method} | {r.within_measured} / {r.below_measured} of {r.designs}{few} | "
                     f"{_p(r.min_measured)}-{_p(r.max_measured)} | {r.within_conditional} / {r.below_conditional} | "
                     f"{_p(r.min_conditional)}-{_p(r.max_conditional)} | {_p(r.shown_min)}, {_p(r.shown_mean)} | "
                     f"{r.width:.3f} |" if np.isfinite(r.width) else "- |")
    methods = list(summary["method"])
    lines += ["", "So neither prompt scheme is calibrated for either truth: `--bootstrap prompts|both` print a "
              "`warning:` that says so (`SCHEME_WARNINGS`, rsastats/inference/settings.py), the table's interval text "
              "says 'not calibrated', and rho_corrected's join at the bound uses rho's default interval instead of the "
              "one shown (docs/statistics.md, 'Joined with rho's interval').", "",
              "Per design: coverage % of the measured / conditional truth (shown %).", "",
              "| design | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for design, g in table.groupby("design", sort=False):
        cells = {r.method: f"{_p(r.coverage_measured)} / {_p(r.coverage_conditional)} ({100 * r.shown:.0f})"
                 for r in g.itertuples()}
        lines.append(f"| {design} | " + " | ".join(cells.get(m, "") for m in methods) + " |")
    return lines + [""]


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=400)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--n-cond", type=int, default=500)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="*", default=None, help="design names (default: every atlas design with "
                        "prompts)")
    parser.add_argument("--reuse", action="store_true", help="tabulate the stored per-data-set results only")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from rsastats.io import atomic_path

    if not args.reuse:
        settings = {"sets": args.sets, "n_boot": args.n_boot, "n_cond": args.n_cond, "seed": args.seed}
        with atomic_path(out / "settings.json") as tmp:
            tmp.write_text(json.dumps(settings) + "\n")
    rows = []
    for design in ATLAS:
        if design.vectors_only or (args.only and design.name not in args.only):
            continue
        meta = json.loads((ATLAS_RESULTS / f"{design.name}.json").read_text())
        path = out / f"{design.name}.csv"
        if args.reuse:
            if not path.exists():
                continue
            frame = pd.read_csv(path)
        else:
            design = replace(design, sigma=meta["truth"]["sigma"])
            frame = scheme_rows(design, args.sets, n_boot=args.n_boot, n_cond=args.n_cond, seed=args.seed,
                                jobs=args.jobs)
            with atomic_path(path) as tmp:
                frame.to_csv(tmp, index=False)
        default = pd.read_csv(ATLAS_RESULTS / f"{design.name}.csv") if meta.get("seed") == args.seed else None
        part = coverage(design.name, frame, meta["truth"]["measured"], default)
        rows += part
        print(design.name, "; ".join(f"{r['method']} {100 * r['coverage_measured']:.1f}/"
                                     f"{100 * r['coverage_conditional']:.1f} ({100 * r['shown']:.0f}% shown)"
                                     for r in part), flush=True)
    table = pd.DataFrame(rows)
    with atomic_path(out / "coverage.csv") as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    within = table.assign(ok=table["coverage_measured"].between(*TOLERANCE)).groupby("method")["ok"].sum()
    print(within.to_string())
    return table


if __name__ == "__main__":
    main()
