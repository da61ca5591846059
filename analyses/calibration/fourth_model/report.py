"""The fourth model's reports: ``report`` (report_numbers.md) and ``ablate-report`` (ablations.md).

Both only read the stored results (truth.json, results_<design>.csv) in the output folder ``HERE``, read from the
package (:mod:`analyses.calibration.fourth_model`), where ``python -m analyses.calibration.fourth_model --out`` sets it.
"""
import collections
import csv
import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from rsastats.io import atomic_path

from .. import fourth_model as _pkg
from ..studies import binomial_ci
from .model import ABLATIONS, DESIGNS


def fnum(s):
    return float(s) if s not in ("", None, "None") else np.nan


def _pct(a, b):
    return f"{100 * a / b:.1f}%" if b else "n/a"


def _flag(c):
    return "" if c is None else ("" if 0.925 <= c <= 0.975 else " FLAG")


def _note_counts(rows):
    """rho_corrected's null reasons, the notes starting with / containing 'widened by', and every note's head."""
    notes = collections.Counter()
    widened = widened_any = 0
    for r in rows:
        note = r["corrected_note"] or ""
        if r["rho_corrected"] in ("", "None"):
            notes[re.sub(r"-?\d+(\.\d+)?", "#", note)[:150]] += 1
        if note.startswith("widened by"):
            widened += 1
        if "widened by" in note:
            widened_any += 1
    # every note text (also on given values)
    allnotes = collections.Counter(re.sub(r"-?\d+(\.\d+)?", "#", r["corrected_note"] or "")[:70] for r in rows)
    return notes, widened, widened_any, allnotes


def _design_stats(rows, T):
    """The numbers of one design's section and summary row (``rows``: its results CSV, ``T``: its truth entry)."""
    def g(k):
        return np.array([fnum(r[k]) for r in rows])
    rho, lo, hi = g("rho"), g("ci_low"), g("ci_high")
    rc, clo, chi = g("rho_corrected"), g("corrected_ci_low"), g("corrected_ci_high")
    own, rnp, nc = g("own_free"), g("rho_np"), g("noise_ceiling")
    tr, tf = T["truth_rho"], T["truth_free"]
    given_ci = ~np.isnan(lo)
    cov = (lo <= tr) & (tr <= hi)
    k, m = int(cov[given_ci].sum()), int(given_ci.sum())
    given_c = ~np.isnan(rc)
    covc = (clo <= tf) & (tf <= chi)
    kc, mc = int(covc[given_c].sum()), int(given_c.sum())
    notes, widened, widened_any, allnotes = _note_counts(rows)
    outside = int(np.sum(given_ci & ((rho < lo - 1e-12) | (rho > hi + 1e-12))))
    outside_c = int(np.sum(given_c & ((rc < clo - 1e-12) | (rc > chi + 1e-12))))
    vals = np.concatenate([rho, lo, hi, rc, clo, chi, nc, g("reliability_a"), g("reliability_b"),
                           g("split_half_a"), g("split_half_b")])
    vals = vals[~np.isnan(vals)]
    return SimpleNamespace(
        n=len(rows), rho=rho, lo=lo, hi=hi, rc=rc, clo=clo, chi=chi, own=own, nc=nc, tr=tr, tf=tf,
        given_ci=given_ci, k=k, m=m, given_c=given_c, kc=kc, mc=mc, notes=notes, widened=widened,
        widened_any=widened_any, allnotes=allnotes, outside=outside, outside_c=outside_c,
        out11=int(np.sum(np.abs(vals) > 1 + 1e-12)), mism=float(np.nanmax(np.abs(rho - rnp))),
        clp=binomial_ci(k, m), clc=binomial_ci(kc, mc) if mc else (np.nan, np.nan), seconds=g("seconds"),
        rel_a=g("reliability_a"), rel_b=g("reliability_b"), sh_a=g("split_half_a"), sh_b=g("split_half_b"))


def _design_lines(name, v, T):
    """One design's section of report_numbers.md."""
    n, rho, lo, hi, rc, clo, chi, own = v.n, v.rho, v.lo, v.hi, v.rc, v.clo, v.chi, v.own
    tr, tf, given_ci, given_c, k, m, kc, mc = v.tr, v.tf, v.given_ci, v.given_c, v.k, v.m, v.kc, v.mc
    clp, clc, p = v.clp, v.clc, _pct
    lines = [f"## {name}", "",
             "settings: " + ", ".join(f"{kk}={vv}" for kk, vv in T["settings"].items()), "",
             f"- data sets: {n}; CLI seconds per comparison: median {np.median(v.seconds):.1f}",
             f"- truth_rho = {tr:.4f} (MC se {T['truth_rho_se']:.4f}, {T['n']} data sets; "
             f"sd of rho_hat {T['sd_rho_hat']:.3f}); truth_free = {tf:.4f} (MC se {T['truth_free_se']:.4f}; "
             f"sd of own noise-free rho {T['sd_free']:.3f})",
             f"- mean reliability_a/b (package) {np.nanmean(v.rel_a):.3f}/"
             f"{np.nanmean(v.rel_b):.3f}; mean split_half_a/b {np.nanmean(v.sh_a):.3f}/"
             f"{np.nanmean(v.sh_b):.3f}",
             f"- max |CLI rho - numpy rho_hat| = {v.mism:.2e}; mean rho {np.nanmean(rho):.4f}",
             f"- rho interval given {m}/{n}; coverage of truth_rho {k}/{m} = {p(k, m)} "
             f"(95% CP {100 * clp[0]:.1f}-{100 * clp[1]:.1f}%); misses: truth above ci_high "
             f"{int(np.sum(given_ci & (tr > hi)))}, below ci_low {int(np.sum(given_ci & (tr < lo)))}; "
             f"mean width {np.nanmean(hi - lo):.3f}",
             ]
    if mc:
        lines += [
            f"- rho_corrected given {mc}/{n} ({p(mc, n)}); coverage of truth_free {kc}/{mc} = {p(kc, mc)} "
            f"(95% CP {100 * clc[0]:.1f}-{100 * clc[1]:.1f}%); misses: truth above corrected_ci_high "
            f"{int(np.sum(given_c & (tf > chi)))}, below corrected_ci_low {int(np.sum(given_c & (tf < clo)))}; "
            f"mean width {np.nanmean((chi - clo)[given_c]):.3f}",
            f"- coverage of each data set's own noise-free rho by the corrected interval: "
            f"{int(np.sum(given_c & (clo <= own) & (own <= chi)))}/{mc}",
            f"- bias of rho_corrected vs own noise-free rho: mean {np.nanmean((rc - own)[given_c]):+.4f} "
            f"(se {np.nanstd((rc - own)[given_c], ddof=1) / np.sqrt(mc):.4f}); "
            f"median {np.nanmedian((rc - own)[given_c]):+.4f}; mean rho_corrected {np.nanmean(rc[given_c]):.4f} "
            f"vs mean own noise-free (same data sets) {np.mean(own[given_c]):.4f}",
            f"- bias of rho vs truth_rho: {np.nanmean(rho) - tr:+.4f}; "
            f"mean own noise-free (all) {np.mean(own):.4f}",
        ]
    else:
        lines += [f"- rho_corrected given 0/{n}; bias of rho vs truth_rho: {np.nanmean(rho) - tr:+.4f}"]
    lines += ["- rho_corrected null reasons: " + "; ".join(f"{c}x '{t}'" for t, c in v.notes.most_common(4)),
              f"- corrected_note starts with 'widened by': {v.widened}/{n}; contains 'widened by': "
              f"{v.widened_any}/{n}; note heads: "
              + "; ".join(f"{c}x '{t}'" for t, c in v.allnotes.most_common(5)),
              f"- noise_ceiling given {int(np.sum(~np.isnan(v.nc)))}/{n}",
              f"- estimate outside its own interval: rho {v.outside}, rho_corrected {v.outside_c};"
              f" values outside [-1, 1]: {v.out11}", ""]
    return lines


def _summary_row(name, v, T):
    """One design's row of the summary table."""
    n, k, m, kc, mc, clp, clc, p, flag = v.n, v.k, v.m, v.kc, v.mc, v.clp, v.clc, _pct, _flag
    s = T["settings"]
    rel = f"{np.nanmean(v.rel_a):.2f}/{np.nanmean(v.rel_b):.2f}"
    return (name, s["E"], s["P"], rel,
            f"{v.tr:.3f}", f"{v.tf:.3f}", p(k, m) + flag(k / m if m else None),
            f"{100*clp[0]:.1f}-{100*clp[1]:.1f}", f"{mc}/{n}",
            (p(kc, mc) + flag(kc / mc)) if mc else "n/a",
            f"{100*clc[0]:.1f}-{100*clc[1]:.1f}" if mc else "",
            f"{np.nanmean((v.rc - v.own)[v.given_c]):+.3f}" if mc else "", f"{v.widened}/{v.widened_any}")


def cmd_report():
    truth = json.loads(Path(_pkg.HERE, "truth.json").read_text())
    lines = ["# Independent acceptance test of `rsastats compare` intervals (fourth generative model)", ""]
    summary = []
    for name in DESIGNS:
        if name in ABLATIONS:
            continue
        path = os.path.join(_pkg.HERE, f"results_{name}.csv")
        if not os.path.exists(path) or name not in truth:
            continue
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        v = _design_stats(rows, truth[name])
        lines += _design_lines(name, v, truth[name])
        summary.append(_summary_row(name, v, truth[name]))
    head = ["design", "E", "P", "rel a/b", "truth_rho", "truth_free", "cov rho", "CP", "corr given",
            "cov corr", "CP", "bias corr", "widened (starts/contains)"]
    tab = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    tab += ["| " + " | ".join(str(c) for c in r) + " |" for r in summary]
    txt = "\n".join(lines[:2] + ["## Summary", ""] + tab + [""] + lines[2:])
    with atomic_path(os.path.join(_pkg.HERE, "report_numbers.md")) as tmp:
        tmp.write_text(txt)
    print(txt)


def cmd_ablate_report():
    lines = ["| variant | n | rho_corrected given | mean rho | mean own noise-free | mean rho_corrected - own (se) |"
             " corrected CI covers own | rel a/b | BCa-near-1 notes |", "|" + "---|" * 9]
    for name in ["D4"] + list(ABLATIONS) + ["D4_centred"]:
        path = os.path.join(_pkg.HERE, f"results_{name}.csv")
        if not os.path.exists(path):
            continue
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        if name == "D4":
            rows = rows[:40]
        g = lambda k: np.array([fnum(r[k]) for r in rows])
        rc, clo, chi, own = g("rho_corrected"), g("corrected_ci_low"), g("corrected_ci_high"), g("own_free")
        ok = ~np.isnan(rc)
        d = (rc - own)[ok]
        bca = sum("near the bound" in (r["corrected_note"] or "") for r in rows)
        lines.append(f"| {name} | {len(rows)} | {ok.sum()} | {np.nanmean(g('rho')):.3f} | {own.mean():.3f} | "
                     f"{d.mean():+.3f} ({d.std(ddof=1) / np.sqrt(len(d)):.3f}) | "
                     f"{int(np.sum(ok & (clo <= own) & (own <= chi)))}/{ok.sum()} | "
                     f"{np.nanmean(g('reliability_a')):.2f}/{np.nanmean(g('reliability_b')):.2f} | {bca} |")
    txt = "\n".join(lines)
    with atomic_path(os.path.join(_pkg.HERE, "ablations.md")) as tmp:
        tmp.write_text(txt + "\n")
    print(txt)
