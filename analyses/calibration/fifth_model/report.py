"""The fifth model's report (``report``): scores the stored runs against the truths, writes summary.json and report.md.

Reads ``OUT`` from the package (:mod:`analyses.calibration.fifth_model`), where a test or a caller may set it; only
reads the stored files (truth.json, runs.csv, failures.csv, truth_accuracy.csv), never runs a comparison.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field

import numpy as np

from .. import fifth_model as _pkg
from ..studies import binomial_ci  # Clopper-Pearson, as every calibration study
from .model import DESIGNS, M_TRUTH


def _f(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def _load_runs():
    """The rows of runs.csv, and the failed commands (failures.csv's rows first, then runs.csv's)."""
    with open(_pkg.OUT / "runs.csv") as fh:
        rows = list(csv.DictReader(fh))
    failed = [r for r in rows if r["rc"] != "0"]
    fpath = _pkg.OUT / "failures.csv"
    if fpath.exists():
        with open(fpath) as fh:
            failed = list(csv.DictReader(fh)) + failed
    return rows, failed


@dataclass
class _Tally:
    """One design's counts over its data sets (rho's interval, rho_corrected's, the noise-free values)."""
    cover: int = 0
    miss_lo: int = 0
    miss_hi: int = 0
    no_ci: int = 0
    widths: list = field(default_factory=list)
    rc_n: int = 0
    rc_cov: int = 0
    rc_above: int = 0
    rc_below: int = 0
    rc_w: list = field(default_factory=list)
    rc_bias: list = field(default_factory=list)
    nf_vals: list = field(default_factory=list)
    ceil_n: int = 0


def _score_dataset(d, r, tr, checks, t):
    """Add one data set (a runs.csv row of design ``d``, true rho ``tr``) to the tally ``t`` and to ``checks``."""
    checks["n"] += 1
    rho = _f(r["rho"]); lo = _f(r["ci_low"]); hi = _f(r["ci_high"])
    checks["rho_match_max"] = max(checks["rho_match_max"], abs(rho - float(r["rho_numpy"])))
    vals = {"rho": rho, "ci_low": lo, "ci_high": hi, "rho_corrected": _f(r["rho_corrected"]),
            "corrected_ci_low": _f(r["corrected_ci_low"]), "corrected_ci_high": _f(r["corrected_ci_high"]),
            "noise_ceiling": _f(r["noise_ceiling"])}
    for k, v in vals.items():
        if v is not None and not (-1.0 <= v <= 1.0):
            checks["out_of_range"].append((d.name, r["i"], k, v))
    if lo is None or hi is None:
        t.no_ci += 1; checks["rho_no_ci"] += 1
    else:
        t.widths.append(hi - lo)
        if lo <= rho <= hi:
            checks["rho_in_ci"] += 1
        if lo <= tr <= hi:
            t.cover += 1
        elif tr < lo:
            t.miss_lo += 1
        else:
            t.miss_hi += 1
    nf = float(r["noise_free"]); t.nf_vals.append(nf)
    rc = vals["rho_corrected"]
    if rc is None:
        if not r["corrected_note"].strip():
            checks["null_without_note"] += 1
    else:
        t.rc_n += 1; checks["rc_given"] += 1
        clo, chi = vals["corrected_ci_low"], vals["corrected_ci_high"]
        if clo is None or chi is None:
            checks["rc_missing_interval"] += 1
            return  # nor is its noise ceiling counted
        if clo <= rc <= chi:
            checks["rc_in_ci"] += 1
        t.rc_w.append(chi - clo)
        t.rc_bias.append(rc - nf)
        if clo <= nf <= chi:
            t.rc_cov += 1
        elif nf > chi:
            t.rc_above += 1
        else:
            t.rc_below += 1
    if vals["noise_ceiling"] is not None:
        t.ceil_n += 1


def _design_row(d, rs, truth_d, checks):
    """The summary row of design ``d`` from its successful data sets ``rs`` (``truth_d``: its truth.json entry)."""
    tr = truth_d["true_rho"]
    n = len(rs)
    t = _Tally()
    for r in rs:
        _score_dataset(d, r, tr, checks, t)
    n_ci = n - t.no_ci
    lo_cp, hi_cp = binomial_ci(t.cover, n_ci)
    # The documented estimand of rho_corrected (docs/statistics.md, 'Two estimands'; the atlas's truth): the
    # noise-free rho averaged over emotion samples of the design, here the mean of every data set's own value.
    nf_pop = float(np.mean(t.nf_vals))
    pop_ends = [(_f(r["corrected_ci_low"]), _f(r["corrected_ci_high"])) for r in rs
                if _f(r["rho_corrected"]) is not None and _f(r["corrected_ci_low"]) is not None]
    rc_cov_pop = sum(lo_ <= nf_pop <= hi_ for lo_, hi_ in pop_ends)
    rc_bias, nf_vals = t.rc_bias, t.nf_vals
    return {"design": d.name, "E": d.E, "P": d.P, "n": n, "true_rho": tr, "true_rho_se": truth_d["mc_se"],
            "mean_rho": float(np.mean([_f(r["rho"]) for r in rs])),
            "rho_cov": 100 * t.cover / n_ci if n_ci else float("nan"), "rho_cp": (100 * lo_cp, 100 * hi_cp),
            "rho_miss_truth_below_lo": t.miss_lo, "rho_miss_truth_above_hi": t.miss_hi, "rho_no_ci": t.no_ci,
            "rho_width": float(np.mean(t.widths)) if t.widths else float("nan"),
            "rc_given": t.rc_n, "rc_cov": 100 * t.rc_cov / t.rc_n if t.rc_n else float("nan"),
            "rc_cp": tuple(100 * x for x in binomial_ci(t.rc_cov, t.rc_n)) if t.rc_n else (float("nan"),) * 2,
            "rc_above": t.rc_above, "rc_below": t.rc_below,
            "rc_cov_pop": 100 * rc_cov_pop / len(pop_ends) if pop_ends else float("nan"),
            "rc_cp_pop": (tuple(100 * x for x in binomial_ci(rc_cov_pop, len(pop_ends))) if pop_ends
                          else (float("nan"),) * 2),
            "nf_pop_se": (float(np.std(nf_vals, ddof=1) / math.sqrt(len(nf_vals))) if len(nf_vals) > 1
                          else float("nan")),
            "rc_width": float(np.mean(t.rc_w)) if t.rc_w else float("nan"),
            "rc_bias": float(np.mean(rc_bias)) if rc_bias else float("nan"),
            "rc_bias_se": (float(np.std(rc_bias, ddof=1) / math.sqrt(len(rc_bias))) if len(rc_bias) > 1
                           else float("nan")),
            "nf_mean": float(np.mean(nf_vals)), "nf_sd": float(np.std(nf_vals)),
            "ceiling_given": t.ceil_n, "cosA": truth_d["median_cos_A"], "cosB": truth_d["median_cos_B"]}


def _accuracy_text():
    """The paragraph on the noise-free truth's accuracy (truth_accuracy.csv); "" where it was not run."""
    acc_path = _pkg.OUT / "truth_accuracy.csv"
    if not acc_path.exists():
        return ""
    with open(acc_path) as fh:
        acc = list(csv.DictReader(fh))
    a1 = np.array([float(r["rich_M_seed1"]) for r in acc]); a2 = np.array([float(r["rich_M_seed2"]) for r in acc])
    a4 = np.array([float(r["rich_4M"]) for r in acc]); p1 = np.array([float(r["plain_M_seed1"]) for r in acc])
    p4 = np.array([float(r["plain_4M"]) for r in acc])
    return (f"On {len(acc)} data sets (the first {len(acc) // 5} of each non-identical design), the Richardson truth "
            f"at M = {M_TRUTH} with two independent Monte Carlo seeds differs by SD {np.std(a1 - a2, ddof=1):.4f} "
            f"(so one truth's MC SD is about {np.std(a1 - a2, ddof=1) / math.sqrt(2):.4f}; "
            f"max |diff| {np.max(np.abs(a1 - a2)):.4f}); "
            f"against the Richardson truth at 4M = {4 * M_TRUTH}: mean {np.mean(a1 - a4):+.4f}, "
            f"SD {np.std(a1 - a4, ddof=1):.4f}, "
            f"max |diff| {np.max(np.abs(a1 - a4)):.4f}. The un-extrapolated rho_M is below it by "
            f"{np.mean(a4 - p1):.4f} on average (rho_4M: {np.mean(a4 - p4):.4f}), the 1/M attenuation that the "
            f"extrapolation removes.")


def _designs_md(truth):
    """The report's head and its table of designs."""
    md = ["# Fifth generative model: acceptance check of `rsastats compare`'s intervals", "",
          "Generated by `python -m analyses.calibration.fifth_model report`; the model and the truths are described "
          "in the docstring of the package `analyses/calibration/fifth_model/` (written without reading the project's "
          "own simulation models). Each data set: two activation files, `rsastats compare a.nc b.nc --json "
          "--permutations 99` (defaults otherwise).",
          "", "## Designs", "",
          "| design | E | P | valid per emotion | features | median cos of emotion means: A / B / A without its "
          "massive dims | note |", "|---|---|---|---|---|---|---|"]
    for d in DESIGNS:
        feats = ", ".join(k for k in ("massive", "common", "rogue", "near_identical") if getattr(d, k))
        feats += f", templates sd {d.sigma_t}, t df {d.df}, noise {d.sigma} (log-sd {d.spread})"
        if not d.near_identical:
            feats += f", B: MLP, delta {d.delta}, nu {d.nu}"
        else:
            feats += f", B = A + {d.tau} x typical-scale noise"
        t = truth[d.name]
        md.append(f"| {d.name} | {d.E} | {d.P} | {min(d.n_min, d.P)}..{d.P} | {feats} | {t['median_cos_A']:.4f} / "
                  f"{t['median_cos_B']:.4f} / {t['median_cos_A_ordinary_dims']:.3f} | {d.note} |")
    return md


def _results_md(table):
    """The results section: one row per design."""
    md = ["", "## Results", "",
          "true rho: mean numpy rho over fresh data sets (MC SE); rho cov: % of data sets whose interval holds the "
          "true rho [Clopper-Pearson 95%] (misses: truth below the interval / above); rc: rho_corrected; its coverage "
          "is of the data set's own noise-free rho (misses: truth above / below the interval); bias: "
          "mean(rho_corrected - own noise-free rho) (SE); rc cov of the mean: % of rho_corrected's intervals that hold "
          "the design's noise-free rho averaged over its data sets (the estimand the package documents for "
          "rho_corrected, 'averaged over emotion samples of the same size', which the atlas's truth is; its Monte "
          "Carlo SE in brackets after the mean). The data set's own value is a narrower "
          "target: it leaves out how much the noise-free rho varies with the emotions drawn, which an interval over "
          "emotions includes, so the interval covers it more often.",
          "",
          "| design | n | true rho (SE) | mean rho | rho cov % [CP] | misses lo/hi | rho width | rc given | "
          "rc cov % [CP] | rc misses above/below | rc width | rc bias (SE) | noise-free rho mean (sd) [SE] | "
          "rc cov of the mean % [CP] | ceiling given |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in table:
        md.append(f"| {r['design']} | {r['n']} | {r['true_rho']:.4f} ({r['true_rho_se']:.4f}) | {r['mean_rho']:.4f} | "
                  f"{r['rho_cov']:.1f} [{r['rho_cp'][0]:.1f}, {r['rho_cp'][1]:.1f}] | "
                  f"{r['rho_miss_truth_below_lo']}/{r['rho_miss_truth_above_hi']}"
                  f"{' (no CI: ' + str(r['rho_no_ci']) + ')' if r['rho_no_ci'] else ''} | {r['rho_width']:.3f} | "
                  f"{r['rc_given']}/{r['n']} | "
                  f"{r['rc_cov']:.1f} [{r['rc_cp'][0]:.1f}, {r['rc_cp'][1]:.1f}] | {r['rc_above']}/{r['rc_below']} | "
                  f"{r['rc_width']:.3f} | "
                  f"{r['rc_bias']:+.4f} ({r['rc_bias_se']:.4f}) | {r['nf_mean']:.3f} ({r['nf_sd']:.3f}) "
                  f"[{r['nf_pop_se']:.4f}] | {r['rc_cov_pop']:.1f} [{r['rc_cp_pop'][0]:.1f}, {r['rc_cp_pop'][1]:.1f}] | "
                  f"{r['ceiling_given']}/{r['n']} |")
    return md


def _checks_md(c, failed, rows, acc_txt):
    """The checks over all data sets, the truth's accuracy, the failed commands and the distinct stderr texts."""
    md = ["", "## Checks over all data sets", "",
          f"- data sets compared (exit 0): {c['n']}; failed commands: {len(failed)}",
          f"- numpy rho = CLI rho: max |difference| {c['rho_match_max']:.2e} over all {c['n']} data sets",
          f"- rho inside its own interval: {c['rho_in_ci']}/{c['n'] - c['rho_no_ci']} (no interval: {c['rho_no_ci']})",
          f"- rho_corrected inside its own interval: {c['rc_in_ci']}/{c['rc_given']} "
          f"(given without an interval: {c['rc_missing_interval']})",
          f"- values outside [-1, 1] (rho, ci ends, rho_corrected, its ends, noise_ceiling): "
          f"{len(c['out_of_range'])} {c['out_of_range'][:10]}",
          f"- rho_corrected null with an empty corrected_note: {c['null_without_note']}",
          "", "## Accuracy of the noise-free truth", "", acc_txt or "(not run)", ""]
    if failed:
        md += ["## Failed commands", ""] + [f"- {r['design']} #{r['i']}: exit {r['rc']}: {r['stderr']}" for r in failed]
    else:
        md += ["## Failed commands", "", "None (every `rsastats compare` exited 0)."]
    warn = sorted({r["stderr"] for r in rows if r["stderr"]})
    if warn:
        md += ["", "Distinct stderr texts of successful runs:", ""] + [f"- `{w[:300]}`" for w in warn[:15]]
    return md


def cmd_report(args):
    truth = json.loads((_pkg.OUT / "truth.json").read_text())
    rows, failed = _load_runs()
    table = []
    checks = {"n": 0, "rho_match_max": 0.0, "rho_in_ci": 0, "rho_no_ci": 0, "rc_in_ci": 0, "rc_given": 0,
              "out_of_range": [], "null_without_note": 0, "rc_missing_interval": 0}
    for d in DESIGNS:
        rs = [r for r in rows if r["design"] == d.name and r["rc"] == "0"]
        if not rs:
            continue
        table.append(_design_row(d, rs, truth[d.name], checks))
    (_pkg.OUT / "summary.json").write_text(json.dumps({"table": table, "checks": checks, "failed": len(failed)},
                                                      indent=1))
    acc_txt = _accuracy_text()
    md = _designs_md(truth) + _results_md(table) + _checks_md(checks, failed, rows, acc_txt)
    (_pkg.OUT / "report.md").write_text("\n".join(md) + "\n" + (args.extra or ""))
    print("\n".join(md))
