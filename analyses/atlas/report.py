"""Markdown tables of the atlas run (the content of /work/scratch/calib/REPORT.md's tables).

    python -m analyses.atlas.report /work/scratch/calib/atlas --rho pct --corrected pct --min-half 0.2
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from .intervals import CORRECTED_METHODS, RHO_METHODS, corrected_intervals, rho_intervals
from .summary import binomial_ci, load

NOMINAL = (0.925, 0.975)


def _pct(x):
    return "" if not np.isfinite(x) else f"{100 * x:.1f}"


def per_dataset(res: dict) -> pd.DataFrame:
    """One row per data set: estimates, observed split-half correlations, every interval."""
    rec = res["records"]
    rows = []
    for i in range(rec["point"].shape[0]):
        row = {"rho": rec["point"][i, 0], "aa": rec["point"][i, 1], "bb": rec["point"][i, 2]}
        for m, (lo, hi) in rho_intervals(rec, i).items():
            row[f"rho_{m}_lo"], row[f"rho_{m}_hi"] = lo, hi
        if not np.all(np.isnan(rec["point"][:, 1])):
            est, ivs = corrected_intervals(rec, i)
            row["xh"] = est
            for m, (lo, hi) in ivs.items():
                row[f"cor_{m}_lo"], row[f"cor_{m}_hi"] = lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def coverage(lo, hi, truth):
    ok = np.isfinite(lo) & np.isfinite(hi)
    hits = int(np.sum(ok & (lo <= truth) & (hi >= truth)))
    n = int(ok.sum())
    c = binomial_ci(hits, n)
    return {"n": n, "coverage": hits / n if n else np.nan, "cp_low": c[0], "cp_high": c[1],
            "width": float(np.mean((hi - lo)[ok])) if n else np.nan,
            "below": float(np.mean(hi[ok] < truth)) if n else np.nan, "above": float(np.mean(lo[ok] > truth)) if n else np.nan}


def tables(folder: str, min_half: float, min_prompts: int) -> dict[str, pd.DataFrame]:
    designs, cov = [], []
    for res in load(folder):
        d, t = res["design"], res["truth"]
        cache = f"{folder}/{d['name']}.ivs"
        try:
            df = pd.read_pickle(cache)
        except FileNotFoundError:
            df = per_dataset(res)
            df.to_pickle(cache)
        has_halves = "xh" in df
        half = np.minimum(df["aa"], df["bb"]) if has_halves else pd.Series(np.nan, index=df.index)
        supported = (half >= min_half) & (d["n_prompts"] >= min_prompts) if has_halves else half > 2
        designs.append({"design": d["name"], "n": d["n_emotions"], "P": d["n_prompts"], "reliability": d["reliability"],
                        "structure": d["structure"], "anisotropy": d["anisotropy"], "shared": d["shared_prompts"],
                        "templates": d["templates"], "vectors": d["vectors_only"], "sigma": d["sigma"],
                        "E_rho_hat": t["measured"], "E_rho_hat_mcse": t["measured_mcse"], "sd_rho_hat": t["measured_sd"],
                        "rho_free": t["free"], "rho_free_mcse": t["free_mcse"],
                        "mean_half": float(np.nanmean(half)) if has_halves else np.nan,
                        "supported_share": float(np.mean(supported)) if has_halves else np.nan,
                        "xh_mean": float(np.nanmean(df["xh"])) if has_halves else np.nan,
                        "xh_at_one": float(np.nanmean(df["xh"] >= 1.0)) if has_halves else np.nan,
                        "n_sets": len(df), "seconds": res["seconds"]})
        for m in RHO_METHODS:
            if f"rho_{m}_lo" in df:
                cov.append({"design": d["name"], "estimand": "rho", "method": m, "subset": "all",
                            **coverage(df[f"rho_{m}_lo"].to_numpy(), df[f"rho_{m}_hi"].to_numpy(), t["measured"])})
        if has_halves:
            for m in [m for m in CORRECTED_METHODS if f"cor_{m}_lo" in df]:
                lo, hi = df[f"cor_{m}_lo"].to_numpy(), df[f"cor_{m}_hi"].to_numpy()
                cov.append({"design": d["name"], "estimand": "corrected", "method": m, "subset": "all",
                            **coverage(lo, hi, t["free"])})
                s = supported.to_numpy()
                cov.append({"design": d["name"], "estimand": "corrected", "method": m, "subset": "supported",
                            **coverage(lo[s], hi[s], t["free"])})
            for lo_b, hi_b in ((-1, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.5), (0.5, 0.8), (0.8, 1.01)):
                s = ((half >= lo_b) & (half < hi_b)).to_numpy()
                for m in [m for m in CORRECTED_METHODS if f"cor_{m}_lo" in df]:
                    r = coverage(df[f"cor_{m}_lo"].to_numpy()[s], df[f"cor_{m}_hi"].to_numpy()[s], t["free"])
                    hits = r["coverage"] * r["n"] if r["n"] else 0
                    cov.append({"design": d["name"], "estimand": "corrected-bin", "method": m,
                                "subset": f"[{lo_b:g},{hi_b:g})", **r, "hits": hits})
    return {"designs": pd.DataFrame(designs), "coverage": pd.DataFrame(cov)}


def method_summary(cov: pd.DataFrame, estimand: str, subset: str, exclude=()) -> pd.DataFrame:
    g = cov[(cov.estimand == estimand) & (cov.subset == subset) & ~cov.design.isin(exclude) & (cov.n > 0)]
    out = g.groupby("method").apply(lambda x: pd.Series({
        "designs": len(x), "within_92.5_97.5": int(((x.coverage >= NOMINAL[0]) & (x.coverage <= NOMINAL[1])).sum()),
        "cp_contains_95": int(((x.cp_low <= 0.95) & (x.cp_high >= 0.95)).sum()),
        "mean_abs_error": float((x.coverage - 0.95).abs().mean() * 100), "min": float(x.coverage.min() * 100),
        "max": float(x.coverage.max() * 100), "mean_width": float(x.width.mean())}), include_groups=False)
    return out.sort_values("mean_abs_error")


def markdown(df: pd.DataFrame, floatfmt: str = ".3f") -> str:
    return df.to_markdown(index=False, floatfmt=floatfmt)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--min-half", type=float, default=0.2)
    ap.add_argument("--min-prompts", type=int, default=3)
    a = ap.parse_args(argv)
    t = tables(a.folder, a.min_half, a.min_prompts)
    t["designs"].to_csv(f"{a.folder}/designs.csv", index=False)
    t["coverage"].to_csv(f"{a.folder}/coverage_all.csv", index=False)
    pd.set_option("display.width", 250, "display.max_rows", 500, "display.max_columns", 50)
    print(t["designs"].round(3).to_string())
    for est, sub in (("rho", "all"), ("corrected", "all"), ("corrected", "supported")):
        print(est, sub)
        print(method_summary(t["coverage"], est, sub).round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())


def _fmt_cov(r) -> str:
    return f"{100 * r.coverage:.1f} [{100 * r.cp_low:.1f}, {100 * r.cp_high:.1f}]"


def write_markdown(folder: str, out: str, rho_method: str, corrected_method: str, min_half: float, min_prompts: int,
                   compare_rho=("pct", "basic", "bca", "normz", "jackz", "dvarz", "studz", "mstudz", "mbasicz"),
                   compare_cor=("pct", "basic", "bca", "norm")) -> None:
    t = tables(folder, min_half, min_prompts)
    d, cov = t["designs"], t["coverage"]
    d.to_csv(f"{folder}/designs.csv", index=False)
    cov.to_csv(f"{folder}/coverage_all.csv", index=False)
    lines = ["### Designs and Monte Carlo truths", "",
             "| design | n | P | target rel. | structure | aniso | shared g | templ. | vectors | E[rho_hat] (mcse) | SD(rho_hat) "
             "| noise-free rho (mcse) | mean min split-half r | share with corrected |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in d.itertuples():
        lines.append(f"| {r.design} | {r.n} | {r.P} | {r.reliability:g} | {r.structure} | {r.anisotropy} | {r.shared:g} | "
                     f"{r.templates:g} | {'yes' if r.vectors else ''} | {r.E_rho_hat:.3f} ({r.E_rho_hat_mcse:.4f}) | "
                     f"{r.sd_rho_hat:.3f} | {r.rho_free:.3f} ({r.rho_free_mcse:.4f}) | "
                     f"{'' if not np.isfinite(r.mean_half) else f'{r.mean_half:.2f}'} | "
                     f"{'' if not np.isfinite(r.supported_share) else f'{100 * r.supported_share:.0f}%'} |")
    lines += ["", f"### rho (as measured): recommended `{rho_method}`, per design", "",
              "| design | coverage % [Clopper-Pearson 95%] | mean width | miss below / above | " +
              " | ".join(m for m in compare_rho if m != rho_method) + " |",
              "|---|---|---|---|" + "---|" * (len(compare_rho) - (rho_method in compare_rho))]
    rho = cov[(cov.estimand == "rho") & (cov.subset == "all")]
    for name in d.design:
        g = rho[rho.design == name].set_index("method")
        r = g.loc[rho_method]
        others = " | ".join(f"{100 * g.loc[m].coverage:.1f}" for m in compare_rho if m != rho_method)
        lines.append(f"| {name} | {_fmt_cov(r)} | {r.width:.3f} | {100 * r.below:.1f} / {100 * r.above:.1f} | {others} |")
    lines += ["", "### rho: every method over the atlas", "", method_summary(cov, "rho", "all").round(2).reset_index().to_markdown(index=False)]
    cor = cov[(cov.estimand == "corrected") & (cov.subset == "supported")]
    cor_all = cov[(cov.estimand == "corrected") & (cov.subset == "all")]
    lines += ["", f"### rho_corrected: recommended `{corrected_method}` where given (P >= {min_prompts}, min split-half r >= "
              f"{min_half}), per design", "",
              "| design | share given | coverage % [CP] where given | mean width | coverage % all data sets | " +
              " | ".join(m for m in compare_cor if m != corrected_method) + " (where given) |",
              "|---|---|---|---|---|" + "---|" * (len(compare_cor) - (corrected_method in compare_cor))]
    for r0 in d.itertuples():
        g = cor[cor.design == r0.design].set_index("method")
        if g.empty:
            continue
        r = g.loc[corrected_method]
        a = cor_all[cor_all.design == r0.design].set_index("method").loc[corrected_method]
        others = " | ".join(f"{100 * g.loc[m].coverage:.1f}" if g.loc[m].n else "" for m in compare_cor if m != corrected_method)
        cell = _fmt_cov(r) if r.n else "(none given)"
        width = f"{r.width:.3f}" if r.n else ""
        lines.append(f"| {r0.design} | {100 * r0.supported_share:.0f}% | {cell} | {width} | {100 * a.coverage:.1f} | {others} |")
    lines += ["", "### rho_corrected: every method over the atlas, where given", "",
              method_summary(cov, "corrected", "supported").round(2).reset_index().to_markdown(index=False),
              "", "### rho_corrected: every method over the atlas, all data sets (no rule)", "",
              method_summary(cov, "corrected", "all").round(2).reset_index().to_markdown(index=False)]
    bins = cov[cov.estimand == "corrected-bin"]
    agg = bins.groupby(["subset", "method"]).agg(n=("n", "sum"), hits=("hits", "sum"),
                                                 width=("width", lambda w: float(np.nanmean(w)))).reset_index()
    agg["coverage"] = agg.hits / agg.n
    piv = agg.pivot(index="subset", columns="method", values="coverage")
    nn = agg[agg.method == corrected_method].set_index("subset")
    lines += ["", "### rho_corrected: coverage by the observed split-half correlation (min over the two models), pooled over "
              "designs", "", "| min split-half r | data sets | " + " | ".join(piv.columns) + f" | mean width ({corrected_method}) |",
              "|---|---|" + "---|" * len(piv.columns) + "---|"]
    for s in piv.index:
        lines.append(f"| {s} | {int(nn.loc[s].n)} | " + " | ".join(_pct(piv.loc[s, m]) for m in piv.columns)
                     + f" | {nn.loc[s].width:.3f} |")
    with open(out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
