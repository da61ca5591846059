"""The interval of rho (as measured) alone: a cheap rerun over the atlas's own data sets, and the designs
where the two models share little or no geometry (:data:`analyses.atlas.designs.WEAK`).

rho's interval is formed from the leave-one-emotion-out jackknife only, so a change of it does not need the
bootstrap of rho_corrected (the costly part of the atlas, about 107 min): :func:`rerun_atlas_rho`
recomputes rho's interval with every method of :data:`analyses.atlas.shipped.RHO_METHODS` on the very data
sets of ``reports/calibration/atlas`` (checked: the rerun's rho equals the stored one) and rewrites those
columns.  :func:`rerun_atlas_corrected` does the same for rho_corrected's columns (with the bootstrap:
about 50 min on 2 cores) when its estimator changes.  :func:`run_weak` runs the weak and unrelated designs
from scratch (Monte Carlo truths included) into ``reports/calibration/weak``.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..atlas.designs import ATLAS, WEAK
from ..atlas.model import Design, calibrate_sigma
from ..atlas.shipped import RHO_METHODS, chunk_order, run_rho, shipped_rows
from ..atlas.study import truths
from .mean_scale import shipped_ends
from .studies import HALF_SPLIT, binomial_ci, write_run

__all__ = ["rerun_atlas_rho", "rerun_atlas_corrected", "CORRECTED_COLUMNS", "run_weak", "rho_table", "weak_section",
           "WEAK_FOLDER"]

WEAK_FOLDER = "reports/calibration/weak"


def rerun_atlas_rho(folder: str | os.PathLike, *, jobs: int = 2, only: list[str] | None = None) -> None:
    """Recompute rho's intervals of every atlas design found in ``folder`` on its own data sets."""
    folder = Path(folder)
    for base in ATLAS:
        path = folder / f"{base.name}.csv"
        if (only and base.name not in only) or not path.exists():
            continue
        started = time.time()
        meta = json.loads(path.with_suffix(".json").read_text())
        frame = pd.read_csv(path, keep_default_na=True)
        design = Design(**{**meta["design"], "sigma": meta["truth"]["sigma"]})
        new = run_rho(design, meta["n_sets"], seed=meta["seed"], jobs=jobs)
        n = len(new)
        # Stored rows are in data-set order, or (runs before that was kept) chunk by chunk of 2 workers.
        for order in (np.arange(n), chunk_order(n, 2)):
            if len(frame) == n and np.allclose(frame["rho"].to_numpy(), new["rho"].to_numpy()[order], rtol=0, atol=1e-12):
                break
        else:
            raise RuntimeError(f"{path}: the rerun's rho differs from the stored rho (not the same data sets)")
        frame = frame.iloc[np.argsort(order)].reset_index(drop=True)
        for column in new.columns:
            frame[column] = new[column]
        meta["rho_interval"] = {"methods": list(RHO_METHODS), "seconds": time.time() - started}
        write_run(folder, base.name, frame, meta)
        print(f"{base.name}: rho intervals rerun in {time.time() - started:.0f} s", flush=True)


CORRECTED_COLUMNS = ("rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note", "split_half_a",
                     "split_half_b", "noise_ceiling", "ceiling_note")


def rerun_atlas_corrected(folder: str | os.PathLike, *, jobs: int = 2, only: list[str] | None = None,
                          reason: str = "") -> None:
    """Recompute rho_corrected, its interval and note, the split-half correlations and the noise ceiling of
    every atlas design with prompts found in ``folder``, on its own data sets with the shipped
    ``compare_models`` and the stored number of resamples (checked: the rerun's rho equals the stored one, and
    rho's interval the stored one as the package forms it since the mean map, :func:`.mean_scale.shipped_ends`; the
    stored rho columns are kept); the truths are kept.  ``reason`` is recorded in the design's JSON."""
    folder = Path(folder)
    for base in ATLAS:
        path = folder / f"{base.name}.csv"
        if (only and base.name not in only) or not path.exists() or base.vectors_only:
            continue
        started = time.time()
        meta = json.loads(path.with_suffix(".json").read_text())
        frame = pd.read_csv(path, keep_default_na=True)
        design = Design(**{**meta["design"], "sigma": meta["truth"]["sigma"]})
        new = shipped_rows(design, meta["n_sets"], n_boot=meta["n_boot"], seed=meta["seed"], jobs=jobs)
        shipped = shipped_ends(frame, design.n_emotions)
        same = [np.allclose(old, new[c].to_numpy(dtype=float), rtol=0, atol=1e-12)
                for old, c in ((frame["rho"].to_numpy(), "rho"), (shipped[0], "ci_low"), (shipped[1], "ci_high"))]
        if len(frame) != len(new) or not all(same):
            raise RuntimeError(f"{path}: the rerun's rho or rho's interval differs from the stored one (not the same "
                               "data sets, or rho's interval changed: rerun it first with rerun_atlas_rho)")
        for column in CORRECTED_COLUMNS:
            frame[column] = new[column]
        # the check of uneven shrinkage's columns belong to the former run's splits and values: recompute them with
        # ``python -m analyses.calibration.uneven atlas`` (left here, its restart would restore former values)
        # (the join with rho's interval is in the rerun: its former columns go too)
        # (and the worlds' bias and the ends before the widening: a recheck would widen the former ends again)
        stale = ("norm_shift", "norm_shift_se", "world_bias", "world_bias_se")
        former = ("_unchecked", "_unjoined", "_unwidened")
        frame = frame.drop(columns=[c for c in frame if c in stale or c.endswith(former)])
        meta["corrected_rerun"] = {"reason": reason, "seconds": time.time() - started}
        meta["half_split"] = HALF_SPLIT
        write_run(folder, base.name, frame, meta)
        print(f"{base.name}: rho_corrected rerun in {time.time() - started:.0f} s", flush=True)


def run_weak(folder: str | os.PathLike = WEAK_FOLDER, *, n_sets: int = 400, n_mc: int = 6000, seed: int = 2026,
             jobs: int = 2, only: list[str] | None = None) -> None:
    """Run the weak and unrelated designs: rho's intervals per data set, and the Monte Carlo truths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for base in WEAK:
        if only and base.name not in only:
            continue
        started = time.time()
        design = calibrate_sigma(base)
        truth = {**truths(design, n_mc), "sigma": design.sigma}
        frame = run_rho(design, n_sets, seed=seed, jobs=jobs)
        truth["seconds"] = time.time() - started
        write_run(folder, base.name, frame, {"design": asdict(base), "truth": truth, "n_sets": n_sets, "n_mc": n_mc,
                                          "seed": seed})
        print(f"{base.name}: {truth['seconds']:.0f} s", flush=True)


def rho_table(runs: list[tuple[dict, pd.DataFrame]]) -> pd.DataFrame:
    """Per design and method of :data:`RHO_METHODS` found in the frames: coverage of E[rho_hat] with its
    Clopper-Pearson interval, the mean width, and whether every estimate lies inside its interval."""
    rows = []
    for meta, f in runs:
        truth = meta["truth"]["measured"]
        row = {"design": meta["design"]["name"], "n": meta["design"]["n_emotions"], "rho_true": truth,
               "rho_mcse": meta["truth"]["measured_mcse"], "n_sets": len(f)}
        for k, method in enumerate(RHO_METHODS):
            tag = "" if k == 0 else f"_{method}"
            if f"ci_low{tag}" not in f:
                continue
            lo, hi = f[f"ci_low{tag}"], f[f"ci_high{tag}"]
            hit = int(((lo <= truth) & (truth <= hi)).sum())
            cp = binomial_ci(hit, len(f))
            row.update({f"{method}": hit / len(f), f"{method}_cp_low": cp[0], f"{method}_cp_high": cp[1],
                        f"{method}_width": float((hi - lo).mean()),
                        f"{method}_inside": bool(((lo <= f["rho"]) & (f["rho"] <= hi)).all())})
        rows.append(row)
    return pd.DataFrame(rows)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def method_counts(table: pd.DataFrame, tolerance: tuple[float, float]) -> str:
    """One sentence per method: designs within the band, mean |coverage - 95%|, range."""
    parts = []
    for method in RHO_METHODS:
        if method not in table:
            continue
        cov = table[method]
        within = int(((cov >= tolerance[0]) & (cov <= tolerance[1])).sum())
        parts.append(f"`{method}` {within} of {len(table)} designs within [{100 * tolerance[0]:g}%, "
                     f"{100 * tolerance[1]:g}%] (mean |coverage - 95%| {100 * (cov - 0.95).abs().mean():.1f} points, "
                     f"range {_pct(cov.min())}-{_pct(cov.max())}%)")
    return "; ".join(parts)


def weak_section(weak: pd.DataFrame, atlas: pd.DataFrame, tolerance: tuple[float, float], meta: dict) -> list[str]:
    """Markdown: rho's interval where the models share little or nothing, and both methods on the atlas."""
    default, other = RHO_METHODS
    lines = [
        "## rho's interval where the models share little or no geometry",
        "",
        f"{len(weak)} designs x {meta['n_sets']} data sets (`analyses.atlas.designs.WEAK`; per data set in "
        f"`{WEAK_FOLDER}/`): the same generative model with a strongly distorted read-out (`weak`, `faint`) or with "
        "model B reading an independent draw of emotions (`unrelated`: population rho 0; with hubs the two models' "
        "row effects are independent too). Truth: E[rho_hat] over "
        f"{meta['n_mc']} fresh data sets. Both intervals of rho on the same data sets: `{default}` (the default) and "
        f"`{other}` (the default before: the normal interval with the plain jackknife SE).",
        "",
        f"| design | true rho | `{default}` % [CP 95%] | width | `{other}` % [CP 95%] | width |",
        "|---|---|---|---|---|---|",
    ]
    for r in weak.to_dict(orient="records"):
        lines.append(f"| {r['design']} | {r['rho_true']:+.3f} | {_pct(r[default])} [{_pct(r[default + '_cp_low'])}, "
                     f"{_pct(r[default + '_cp_high'])}] | {r[default + '_width']:.3f} | {_pct(r[other])} "
                     f"[{_pct(r[other + '_cp_low'])}, {_pct(r[other + '_cp_high'])}] | {r[other + '_width']:.3f} |")
    lines += [
        "",
        f"- Weak and unrelated designs: {method_counts(weak, tolerance)}. Outside the band with `{default}`: "
        + (", ".join(f"{r['design']} ({_pct(r[default])}%)" for r in weak.to_dict(orient="records")
                     if not tolerance[0] <= r[default] <= tolerance[1]) or "none")
        + " (docs/statistics.md, 'The interval of rho', says why).",
        f"- The atlas (same data sets as the table above): {method_counts(atlas, tolerance)}.",
        f"- Every estimate inside its `{default}` interval: "
        f"{bool(weak[default + '_inside'].all() and atlas[default + '_inside'].all())}.",
        "- Why the plain jackknife over-covers here: near rho = 0 the RDM correlation is a degenerate U-statistic "
        "of the emotions, and the jackknife counts its second-order variance twice (Efron & Stein 1981), so its "
        "variance is about twice the true one. `jackknife-t` removes that excess in proportion to the estimated "
        "degeneracy and uses Student's t with n - 1 degrees of freedom (docs/statistics.md).",
        "",
    ]
    return lines
