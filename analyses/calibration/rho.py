"""The interval of rho (as measured) alone: a cheap rerun over the atlas's own data sets, and the designs
where the two models share little or no geometry (:data:`analyses.atlas.designs.WEAK`).

rho's interval is formed from the leave-one-emotion-out jackknife only, so a change of it does not need the
bootstrap of rho_corrected (the costly part of the atlas, about 107 min): :func:`rerun_atlas_rho`
recomputes rho's interval with every method of :data:`analyses.atlas.shipped.RHO_METHODS` on the very data
sets of ``reports/calibration/atlas`` (checked: the rerun's rho equals the stored one) and rewrites those
columns.  :func:`rerun_corrected` does the same for rho_corrected's columns of any study's stored designs (with the
bootstrap: about 50 min on 2 cores for the atlas) when its estimator changes.  :func:`run_weak` runs the weak and
unrelated designs from scratch (Monte Carlo truths included) into ``reports/calibration/weak``.
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
from ..atlas.shipped import RHO_METHODS, chunk_order, run_chunks, run_rho
from ..atlas.study import truths
from .mean_scale import RERUN_ENDS, shipped_ends
from .studies import HALF_SPLIT, binomial_ci, write_run

__all__ = ["rerun_atlas_rho", "rerun_corrected", "rerun_atlas_corrected", "CORRECTED_COLUMNS", "run_weak", "rho_table",
           "weak_section", "WEAK_FOLDER"]

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


def rerun_corrected(folder: str | os.PathLike, study: str = "atlas", *, jobs: int = 2, only: list[str] | None = None,
                    reason: str = "") -> list[str]:
    """Recompute rho_corrected, its interval and note, the split-half correlations and the noise ceiling of every
    design with prompts stored in ``folder``, on its own data sets through the study's shipped worker
    (:func:`.uneven._source`: ``"atlas"`` for the atlas, its seed-2028 replication and the many-emotions study, whose
    designs are the atlas model's; ``"few"``, with the package's minimums lifted; ``"independent"``) and the stored
    number of resamples; the truths and the stored rho columns are kept.  Checked: the rerun's rho equals the stored
    one, and rho's interval the stored one as the package forms it since the mean map
    (:func:`.mean_scale.shipped_ends`), except where stored ends at +-1 are not what the package gives now (Fisher-z
    ends that rounded to +-1 below ``RAW_AT_BOUND_FROM`` emotions, which the map cannot invert, or an interval stored
    before a later rule at the bound): there the rerun's ends go to :data:`.mean_scale.RERUN_ENDS`.  The
    columns of the check of uneven shrinkage and of the worlds go (``python -m analyses.calibration.uneven``
    recomputes them where a study keeps them).  ``reason`` is recorded in the design's JSON; returns the designs
    rerun."""
    from .uneven import _source

    folder, done = Path(folder), []
    for path in sorted(folder.glob("*.json")):
        meta = json.loads(path.read_text())
        csv = path.with_suffix(".csv")
        if (only and path.stem not in only) or not csv.exists() or meta["design"].get("vectors_only"):
            continue
        frame = pd.read_csv(csv, keep_default_na=True)
        if "split_half_a" not in frame:
            continue
        started, n = time.time(), meta["design"]["n_emotions"]
        _, worker, design, seqs = _source(meta, study)
        new = pd.DataFrame(run_chunks(worker, design, seqs, jobs, meta["n_boot"]))
        same = lambda a, b: (np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= 1e-12)  # noqa: E731
        ends = zip(shipped_ends(frame, n), (new[c].to_numpy(dtype=float) for c in ("ci_low", "ci_high")))
        ends_same = np.logical_and.reduce([same(old, rerun) for old, rerun in ends])
        # stored ends at +-1 that the map cannot invert (below RAW_AT_BOUND_FROM emotions), or that a later rule at the
        # bound changed (seed-2028 atlas, n8-P20-r0.95-near1-hub #359: [-1, 1] stored, [0.991, 1] now)
        at_bound = ~ends_same & ((frame["ci_low"] <= -1) | (frame["ci_high"] >= 1)).to_numpy()
        if len(frame) != len(new) or not same(frame["rho"].to_numpy(float), new["rho"].to_numpy(float)).all() or not (
                ends_same | at_bound).all():
            raise RuntimeError(f"{csv}: the rerun's rho or rho's interval differs from the stored one (not the same "
                               "data sets, or rho's interval changed: rerun it first with rerun_atlas_rho)")
        for column, rerun in zip(RERUN_ENDS, ("ci_low", "ci_high")):
            if at_bound.any() or column in frame:
                kept = frame[column] if column in frame else np.nan
                frame[column] = np.where(at_bound, new[rerun].to_numpy(dtype=float), kept)
        for column in CORRECTED_COLUMNS:  # those the study's worker gives (the second model's has no ceiling note)
            if column in new:
                frame[column] = new[column]
            elif column in frame:
                raise RuntimeError(f"{csv}: the study's worker gives no {column}")
        # the check's columns belong to the former run's splits and values, and the join's and the widening's former
        # values too (a recheck would otherwise restore or widen them again): recompute them with
        # ``python -m analyses.calibration.uneven``
        stale = ("norm_shift", "norm_shift_se", "world_bias", "world_bias_se")
        former = ("_unchecked", "_unjoined", "_unwidened")
        frame = frame.drop(columns=[c for c in frame if c in stale or c.endswith(former)])
        meta["corrected_rerun"] = {"reason": reason, "seconds": time.time() - started}
        if "join_bound" in meta:  # the rerun is joined as shipped: what the join moved goes, what it reran stays
            meta["join_bound"] = {k: v for k, v in meta["join_bound"].items() if k.endswith("_rerun")}
        meta["half_split"] = HALF_SPLIT
        write_run(folder, path.stem, frame, meta)
        done.append(path.stem)
        print(f"{path.stem}: rho_corrected rerun in {time.time() - started:.0f} s", flush=True)
    return done


def rerun_atlas_corrected(folder: str | os.PathLike, *, jobs: int = 2, only: list[str] | None = None,
                          reason: str = "", designs=ATLAS) -> list[str]:
    """:func:`rerun_corrected` of the atlas model's ``designs`` (the atlas's; the many-emotions study's are
    :data:`analyses.calibration.many_emotions.DESIGNS`) stored in ``folder``, or of those named in ``only``."""
    names = [d.name for d in designs if not only or d.name in only]
    return rerun_corrected(folder, "atlas", jobs=jobs, only=names, reason=reason) if names else []


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
        "degeneracy and uses Student's t with n - 1 degrees of freedom (docs/statistics.md). The intervals in this "
        "table are those before 2026-12-07, when the excess removed was also scaled by the kernel's effective rank; "
        "on the same data sets that changes them as section 'rho's interval in low-rank designs' shows.",
        "",
    ]
    return lines
