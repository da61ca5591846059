"""The interval methods that were studied on the atlas and not chosen, summarised from the research
run's committed results (``reports/calibration/methods/coverage_all.csv``, written by
``python -m analyses.atlas.run`` with the command recorded in analyses/atlas/README.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["METHOD_NAMES", "methods_section"]

METHODS_CSV = Path(__file__).resolve().parents[2] / "reports" / "calibration" / "methods" / "coverage_all.csv"
METHOD_NAMES = {
    "jackz": "Fisher-z normal, jackknife SE (`jackknife-z`, the default before `jackknife-t`)",
    "pct": "percentile", "basic": "basic (clipped)", "bca": "BCa", "normz": "Fisher-z normal, bootstrap SE",
    "dvarz": "Fisher-z normal, double-bootstrap variance V*^2 / mean V**", "dvarz_add": "same, additive 2V* - mean V**",
    "dblpct": "double-bootstrap calibrated percentile", "dblbasicz": "prepivoted basic on the z scale (Beran 1987)",
    "studz": "bootstrap-t on the z scale (jackknife SE per resample)", "norm": "normal, bootstrap SE",
    "dvar": "normal, double-bootstrap variance",
}


def _summary(frame: pd.DataFrame, band: tuple[float, float]) -> pd.DataFrame:
    rows = []
    for method, g in frame.groupby("method", sort=False):
        if method not in METHOD_NAMES:
            continue
        rows.append({"method": METHOD_NAMES[method], "designs": len(g),
                     "within": int(g["coverage"].between(*band).sum()),
                     "mean_abs_error": float((g["coverage"] - 0.95).abs().mean() * 100),
                     "min": float(g["coverage"].min() * 100), "max": float(g["coverage"].max() * 100),
                     "width": float(g["width"].mean())})
    return pd.DataFrame(rows).sort_values(["within", "mean_abs_error"], ascending=[False, True])


def methods_section(band: tuple[float, float], path: Path = METHODS_CSV) -> list[str]:
    frame = pd.read_csv(path)
    rho = _summary(frame[(frame["estimand"] == "rho") & (frame["subset"] == "all")], band)
    corrected = _summary(frame[(frame["estimand"] == "corrected") & (frame["subset"] == "supported")], band)
    bins = frame[(frame["estimand"] == "corrected-bin") & (frame["method"] == "bca")].groupby("subset", sort=False)[
        ["n", "hits"]].sum()
    lines = ["## Methods studied and not chosen", "",
             "The research run of the same atlas (its own resampling code, 1,000 resamples per data set; "
             f"`{path.relative_to(path.parents[3])}`) compared every candidate on the same data sets; its rho_corrected is the "
             "cross-half ratio of plain half RDMs (before the noise-equalized ones, which change it little where, as in "
             "the atlas, every emotion has the same noise level: reports/calibration/equalize_bias.csv). Per method: the number "
             f"of designs whose coverage lies in [{100 * band[0]:g}%, {100 * band[1]:g}%], the mean |coverage - 95%| in "
             "points, the range, and the mean width.", "",
             "| estimand | method | designs within | mean abs. error | min-max % | mean width |", "|---|---|---|---|---|---|"]
    for name, table in (("rho", rho), ("rho_corrected (where the rule gives it)", corrected)):
        for r in table.itertuples():
            lines.append(f"| {name} | {r.method} | {r.within} of {r.designs} | {r.mean_abs_error:.1f} | "
                         f"{r.min:.1f}-{r.max:.1f} | {r.width:.3f} |")
    lines += ["", "The split-half rule of rho_corrected, from the same run: coverage of the BCa interval of the corrected "
              "estimate by the smaller split-half correlation of the two inputs, pooled over designs (all data sets, "
              "before the rule):", "", "| smaller split-half correlation | data sets | coverage % |", "|---|---|---|"]
    for subset, r in bins.iterrows():
        lines.append(f"| {subset} | {int(r['n'])} | {100 * r['hits'] / r['n']:.1f} |")
    return lines + [""]
