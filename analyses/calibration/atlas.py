"""The design atlas of the shipped defaults, run and written up for docs/calibration.md.

Every data set of every design of :data:`analyses.atlas.designs.ATLAS` goes through
:func:`rsastats.inference.compare_models` with its defaults (:mod:`analyses.atlas.shipped`); the
results are kept per design under ``reports/calibration/atlas/`` (CSV, with the truths in JSON), so the
write-up can be rebuilt without rerunning the simulation.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from rsastats.inference.corrected import MIN_CORRECTED_EMOTIONS, MIN_PROMPTS, MIN_SPLIT_HALF
from rsastats.inference.ceiling import DEFAULT_N_SPLITS
from rsastats.inference.corrected_ci import BCA_NOTE_START as BCA_NOTE

from ..atlas.designs import ATLAS
from ..atlas.model import calibrate_sigma
from ..atlas.shipped import run_shipped
from .studies import HALF_SPLIT, binomial_ci, load_runs, write_run

__all__ = ["run_atlas", "load_atlas", "coverage_table", "table_lines", "atlas_section", "TOLERANCE"]

TOLERANCE = (0.925, 0.975)


def run_atlas(folder: str | os.PathLike, *, n_sets: int = 400, n_boot: int = 2000, n_mc: int = 6000, seed: int = 2026,
              jobs: int = 2, only: list[str] | None = None, designs=ATLAS) -> None:
    """Run the designs (all of ``designs``, or those named in ``only``) and write ``<design>.csv`` and
    ``<design>.json``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for design in designs:
        if only and design.name not in only:
            continue
        frame, truth = run_shipped(calibrate_sigma(design), n_sets, n_boot=n_boot, n_mc=n_mc, seed=seed, jobs=jobs)
        meta = {"design": asdict(design), "truth": truth, "n_sets": n_sets, "n_boot": n_boot, "n_mc": n_mc, "seed": seed,
                "half_split": HALF_SPLIT}
        write_run(out, design.name, frame, meta)
        print(f"{design.name}: {truth['seconds']:.0f} s", flush=True)


def load_atlas(folder: str | os.PathLike) -> list[tuple[dict, pd.DataFrame]]:
    """``(meta, per-data-set frame)`` of every design run, in the atlas's order."""
    return load_runs(folder, ATLAS)


def _coverage(hit: np.ndarray) -> tuple[float, float, float]:
    n = int(hit.size)
    k = int(hit.sum())
    lo, hi = binomial_ci(k, n) if n else (np.nan, np.nan)
    return (k / n if n else np.nan), lo, hi


def coverage_table(runs: list[tuple[dict, pd.DataFrame]]) -> pd.DataFrame:
    """Per design: coverage of rho's and rho_corrected's intervals of their truths, Clopper-Pearson
    intervals, widths, the share given, and the checks (estimate inside its interval, values in [-1, 1])."""
    rows = []
    for meta, f in runs:
        truth = meta["truth"]
        rho_hit = ((f["ci_low"] <= truth["measured"]) & (truth["measured"] <= f["ci_high"])).to_numpy()
        given = f["rho_corrected"].notna().to_numpy()
        g = f[given]
        cor_hit = ((g["corrected_ci_low"] <= truth["free"]) & (truth["free"] <= g["corrected_ci_high"])).to_numpy()
        above = (g["corrected_ci_low"] > truth["free"]).to_numpy()  # a miss on the high side
        below = (g["corrected_ci_high"] < truth["free"]).to_numpy()
        at_one = (g["corrected_ci_high"] >= 1.0).to_numpy()  # the upper end is the bound (note "clipped at 1")
        bca = g["corrected_note"].fillna("").str.startswith(BCA_NOTE).to_numpy()  # near the bound, or few emotions
        inside = ((f["ci_low"] <= f["rho"]) & (f["rho"] <= f["ci_high"])).all() and (
            (g["corrected_ci_low"] <= g["rho_corrected"]) & (g["rho_corrected"] <= g["corrected_ci_high"])).all()
        bounded = all(((f[c].dropna() >= -1) & (f[c].dropna() <= 1)).all()
                      for c in ("rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low", "corrected_ci_high",
                                "noise_ceiling"))
        rho_cov, rho_lo, rho_hi = _coverage(rho_hit)
        cor_cov, cor_lo, cor_hi = _coverage(cor_hit)
        d = meta["design"]
        rows.append({"design": d["name"], "n": d["n_emotions"], "P": d["n_prompts"], "reliability": d["reliability"],
                     "vectors": d["vectors_only"], "rho_true": truth["measured"], "rho_free": truth["free"],
                     "rho_coverage": rho_cov, "rho_cp_low": rho_lo, "rho_cp_high": rho_hi,
                     "rho_width": float((f["ci_high"] - f["ci_low"]).mean()), "given": float(given.mean()),
                     "n_given": int(given.sum()), "corrected_coverage": cor_cov, "corrected_cp_low": cor_lo,
                     "corrected_cp_high": cor_hi,
                     "corrected_miss_high": float(above.mean()) if len(g) else np.nan,
                     "corrected_miss_low": float(below.mean()) if len(g) else np.nan,
                     "corrected_at_one": float(at_one.mean()) if len(g) else np.nan,
                     "corrected_hits_at_one": int(cor_hit[at_one].sum()), "corrected_n_at_one": int(at_one.sum()),
                     "corrected_hits_below_one": int(cor_hit[~at_one].sum()),
                     "corrected_n_bca": int(bca.sum()), "corrected_hits_bca": int(cor_hit[bca].sum()),
                     "corrected_width": float((g["corrected_ci_high"] - g["corrected_ci_low"]).mean()) if len(g) else np.nan,
                     "inside": bool(inside), "bounded": bool(bounded), "n_sets": len(f)})
    return pd.DataFrame(rows)


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}"


def _within(x: float) -> bool:
    return TOLERANCE[0] <= x <= TOLERANCE[1]


def _not_run(table: pd.DataFrame) -> list[str]:
    """A line naming the atlas designs without results (each design is written when it finishes)."""
    missing = [d.name for d in ATLAS if d.name not in set(table["design"])]
    if not missing:
        return []
    return [f"- **Not run for this version** ({len(missing)} of {len(ATLAS)} designs, for lack of time on the "
            f"shared machine; no coverage is claimed for them): {', '.join(missing)}. `python -m analyses.calibration` "
            "runs them; the research run of the same methods (section below, `reports/calibration/methods/`) "
            "covered every design."]


def _miss_sides(table: pd.DataFrame) -> list[str]:
    """A line on the side of rho_corrected's misses: the interval lying above the truth (high) or below it
    (low); an equal-tailed interval misses 2.5% on each side."""
    t = table[table["n_given"] >= 20]
    if t.empty:
        return []
    high = t[t["corrected_miss_high"] > t["corrected_miss_low"]]
    return [f"- The side of rho_corrected's misses: the interval lies above the truth more often than below it in "
            f"**{len(high)} of {len(t)} designs** (above: {_pct(t['corrected_miss_high'].min())}-"
            f"{_pct(t['corrected_miss_high'].max())}% of data sets, mean {_pct(t['corrected_miss_high'].mean())}%; below: "
            f"{_pct(t['corrected_miss_low'].min())}-{_pct(t['corrected_miss_low'].max())}%, mean "
            f"{_pct(t['corrected_miss_low'].mean())}%, against 2.5% each for an exact equal-tailed interval); where the "
            "estimator is biased upward (the hub designs, docs/statistics.md) the interval lies above the truth too often. "
            "More misses below than above: " + (", ".join(f"{r.design} ({_pct(r.corrected_miss_low)}% below, "
                                                         f"{_pct(r.corrected_miss_high)}% above)"
                                                         for r in t[t["corrected_miss_low"] > t["corrected_miss_high"]].itertuples())
                                               or "none") + "."]


def _near_bound(table: pd.DataFrame) -> list[str]:
    """A line on the intervals that are BCa because the ratio is near the bound: how many, and how often they and the
    jackknife-t intervals cover."""
    t = table[table["n_given"] >= 20]
    if t.empty:
        return []
    n_bca, n_all = int(t["corrected_n_bca"].sum()), int(t["n_given"].sum())
    hits = t["corrected_coverage"] * t["n_given"]
    cov_bca = t["corrected_hits_bca"].sum() / n_bca if n_bca else np.nan
    cov_jk = (hits.sum() - t["corrected_hits_bca"].sum()) / (n_all - n_bca) if n_all > n_bca else np.nan
    return [f"- rho_corrected's interval is the Fisher-z jackknife-t interval in {_pct(1 - n_bca / n_all)}% of the {n_all} "
            f"given intervals of these designs and BCa (near the bound, or with fewer than 20 emotions) in {_pct(n_bca / n_all)}% "
            f"(`corrected_ci_method`); they cover the truth in {_pct(cov_jk)}% and {_pct(cov_bca)}% of data sets."]


def _at_bound(table: pd.DataFrame) -> list[str]:
    """A line on rho_corrected's intervals whose upper end is 1: how many, how often they cover, and how many of
    the designs above the band consist mostly of them."""
    t = table[table["n_given"] >= 20]
    if t.empty:
        return []
    n_one, n_all = int(t["corrected_n_at_one"].sum()), int(t["n_given"].sum())
    cov_one = t["corrected_hits_at_one"].sum() / n_one if n_one else np.nan
    cov_rest = t["corrected_hits_below_one"].sum() / (n_all - n_one) if n_all > n_one else np.nan
    above = t[t["corrected_coverage"] > TOLERANCE[1]]
    mostly = above[above["corrected_at_one"] >= 0.9]
    return [f"- Intervals whose upper end is 1 (their note says 'clipped at 1', or 'the bound +1' where joined with "
            f"rho's interval): {_pct(n_one / n_all)}% of the "
            f"{n_all} given intervals of these designs; they cover the truth in {_pct(cov_one)}% of data sets, the "
            f"others in {_pct(cov_rest)}%. Such an interval cannot miss below the truth (1 is above it), so only its "
            f"lower end can miss. Of the {len(above)} designs above the band, {len(mostly)} have at least 90% of their "
            "intervals reaching 1" + (": " + ", ".join(f"{r.design} ({_pct(r.corrected_at_one)}%)"
                                                       for r in mostly.itertuples()) if len(mostly) else "")
            + ": their excess coverage is that of intervals cut by the bound, whose upper end misses almost never."]


def table_lines(table: pd.DataFrame) -> list[str]:
    """The Markdown table of :func:`coverage_table`'s rows: header, separator and a line per design."""
    lines = ["| design | true rho | rho coverage % [CP 95%] | width | corrected given | noise-free rho | "
             "corrected coverage % [CP 95%] | width | misses high / low % | reaches 1 % |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        corrected = ("null (no prompts)" if r.vectors else
                     f"{_pct(r.corrected_coverage)} [{_pct(r.corrected_cp_low)}, {_pct(r.corrected_cp_high)}]")
        lines.append(f"| {r.design} | {r.rho_true:.3f} | {_pct(r.rho_coverage)} [{_pct(r.rho_cp_low)}, "
                     f"{_pct(r.rho_cp_high)}] | {r.rho_width:.3f} | {_pct(r.given)}% | {r.rho_free:.3f} | {corrected} | "
                     f"{'' if r.corrected_width != r.corrected_width else f'{r.corrected_width:.3f}'} | "
                     f"{'' if r.vectors else f'{_pct(r.corrected_miss_high)} / {_pct(r.corrected_miss_low)}'} | "
                     f"{'' if r.vectors else _pct(r.corrected_at_one)} |")
    return lines


def atlas_section(table: pd.DataFrame, runs: list[tuple[dict, pd.DataFrame]]) -> list[str]:
    """The Markdown of the atlas: designs, coverage of both estimands, what is and is not supported."""
    meta = runs[0][0]
    rho_ok = table[table["rho_coverage"].map(_within)]
    with_corr = table[table["n_given"] >= 20]
    cor_ok = with_corr[with_corr["corrected_coverage"].map(_within)]
    lines = [
        "## Coverage of the defaults over a design atlas",
        "",
        f"{len(table)} designs x {meta['n_sets']} data sets, every data set through `rsastats.inference.compare_models` "
        f"with its defaults ({meta['n_boot']} resamples, {DEFAULT_N_SPLITS} half splits; the Mantel test is not part of "
        "the intervals). Each data set draws its emotions from a population (low-rank, clustered, or hub emotions "
        "with heavy-tailed sizes), reads them through two models that differ (a distorted read-out and model-specific "
        "directions; optional strong anisotropy), and draws prompts with noise set to the design's reliability "
        "(optional prompt effects shared by both models, optional crossed templates); vector designs keep only the "
        "prompt means. The truths are Monte Carlo values over "
        f"{meta['n_mc']} fresh data sets of the design: **rho** targets E[rho_hat] (a replication with the same "
        "numbers of emotions and prompts), **rho_corrected** the noise-free rho averaged over emotion samples of the "
        "same size. Code: `analyses/atlas/` (model, designs) and `analyses/calibration/atlas.py`; per-data-set "
        "results in `reports/calibration/atlas/`.",
        "",
    ]
    lines += table_lines(table)
    lines += [
        "",
        f"- rho: **{len(rho_ok)} of {len(table)} designs** within [{100 * TOLERANCE[0]:g}%, {100 * TOLERANCE[1]:g}%]; "
        f"mean |coverage - 95%| = {100 * (table['rho_coverage'] - 0.95).abs().mean():.1f} points; outside: "
        + (", ".join(f"{r.design} ({_pct(r.rho_coverage)}%)" for r in table[~table['rho_coverage'].map(_within)].itertuples())
           or "none") + ".",
        f"- rho_corrected, where given in at least 20 data sets: **{len(cor_ok)} of {len(with_corr)} designs** within the "
        "band; outside: " + (", ".join(f"{r.design} ({_pct(r.corrected_coverage)}%, given {_pct(r.given)}%)"
                                      for r in with_corr[~with_corr['corrected_coverage'].map(_within)].itertuples())
                             or "none") + ".",
        *_near_bound(with_corr),
        *_miss_sides(with_corr),
        *_at_bound(with_corr),
        f"- Every estimate lies inside its own interval in every data set: {bool(table['inside'].all())}. Every rho, "
        f"rho_corrected, interval end and noise ceiling lies in [-1, 1]: {bool(table['bounded'].all())}.",
        *_not_run(table),
        f"- rho_corrected is given only with >= {MIN_PROMPTS} valid prompts per emotion in both inputs, >= "
        f"{MIN_CORRECTED_EMOTIONS} emotions (section 'Fewer than 8 emotions'), both split-half correlations >= "
        f"{MIN_SPLIT_HALF} and where the check of uneven noise shrinkage does not fire (section 'Emotion vectors of "
        "different lengths'); otherwise null with `corrected_note`. The 'given' column shows how often the rule lets "
        "it through.",
        "",
    ]
    return lines
