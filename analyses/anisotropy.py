"""Question 3: anisotropy and geometry descriptors for every model and layer.

The referee asks for anisotropy for every model (the study reports one number, Gemma-3 1B base
0.997).  For each model at evenly spaced layers: baseline anisotropy (mean cosine between
emotion-free texts), the mean cosine between emotion vectors, PC1 share and participation ratio,
each with a bootstrap CI.

Run:  python -m analyses.anisotropy --models analyses/configs/offline.yaml
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import xarray as xr

from rsastats.geometry import geometry
from rsastats.geometry.descriptors import descriptor
from rsastats.report.figures import anisotropy_figure

from ._cache import COMPREHENSION
from ._common import Context, collect_warnings, command, offline_limits, sizes_text
from ._document import AnalysisDocument, ci_text

NAME = "anisotropy"
TITLE = "Anisotropy and geometry per model and layer"
QUESTION = ("How anisotropic is each model's representation space at each layer (the referee: report anisotropy for "
            "every model; the study gives one number, Gemma-3 1B base 0.997), and how much of the emotion vectors' "
            "similarity is that shared direction?")
DESCRIPTORS = ("baseline_anisotropy", "emotion_mean_cosine", "baseline_pc1_share", "emotion_participation_ratio")
LABELS = {"baseline_anisotropy": "baseline anisotropy (emotion-free texts)",
          "emotion_mean_cosine": "mean cosine between emotion vectors"}


def needs(ms):
    return [(m, COMPREHENSION) for m in ms.names]


def layer_grid(labels, count: int) -> list[int]:
    """``count`` evenly spaced layer labels from the first to the last (both included)."""
    labels = sorted(int(x) for x in labels)
    idx = np.unique(np.round(np.linspace(0, len(labels) - 1, min(count, len(labels)))).astype(int))
    return [labels[i] for i in idx]


def _span(values: list[int]) -> str:
    """``"a-b"`` for the range of ``values``, one value as itself ("" for none: a note without a percentage)."""
    if not values:
        return ""
    return f"{min(values)}-{max(values)}" if min(values) != max(values) else str(values[0])


def missing_intervals(frame: pd.DataFrame) -> list[str]:
    """One line per descriptor whose interval is missing at some layers: at how many, and why (the notes, with the
    percentages of prompt noise they quote given as a range)."""
    lines = []
    for d in DESCRIPTORS:
        rows = frame[(frame["descriptor"] == d) & frame["ci_low"].isna()]
        if rows.empty:
            continue
        shares: dict[str, list[int]] = {}  # each note split around its percentage, and the percentages
        for note in rows["note"]:
            parts = re.split(r"(?<=prompt noise is )\d+(?=%)", note, maxsplit=1)
            found = re.search(r"prompt noise is (\d+)%", note)
            shares.setdefault(tuple(parts), []).extend([int(found.group(1))] if found else [])
        why = "; ".join(_span(v).join(parts) for parts, v in sorted(shares.items()))
        lines.append(f"{descriptor(d).label}: no interval at {len(rows)} of {(frame['descriptor'] == d).sum()} model "
                     f"layers: {why}")
    return lines


def analyse(ctx: Context, doc: AnalysisDocument) -> None:
    ms, s = ctx.model_set, ctx.sizes
    rows, notes = [], []
    ci_method = confidence = None
    own: set[tuple[str, str]] = set()  # descriptors whose interval is their own method, not the default's
    for name in ms.names:
        path = ctx.file(name, COMPREHENSION)
        with xr.open_dataset(path, engine="netcdf4") as ds:
            labels = [int(x) for x in ds["layer"].values]
        top = max(labels)
        with collect_warnings(notes):
            res = geometry(path, layers=layer_grid(labels, s.geometry_layers), n_boot=s.geometry_n_boot, seed=ctx.seed)
        ci_method, confidence = res.ci_method, res.confidence
        for lg in res.layers:
            for d in DESCRIPTORS:
                e = lg[d]
                if e.status == "ok" and e.ci_method and e.ci_method != ci_method:
                    own.add((d, e.ci_method))
                rows.append({"model": name, "layer": lg.layer, "depth": lg.layer / top if top else 0.0, "descriptor": d,
                             "estimate": e.estimate, "ci_low": e.ci_low, "ci_high": e.ci_high, "note": e.note})
    frame = pd.DataFrame(rows)
    caption = (f"{100 * confidence:g}% {ci_method} bootstrap CIs widened for small samples, {s.geometry_n_boot} "
               "resamples (baseline texts for "
               f"baseline descriptors, prompts within each emotion for emotion descriptors); {s.baseline} baseline texts, "
               f"{s.prompts} prompts per emotion; up to {s.geometry_layers} evenly spaced layers per model; seed {ctx.seed}.")
    if own:
        caption += " " + "; ".join(f"{descriptor(d).label}: the {m} interval" for d, m in sorted(own)) + \
            " (it covered better for that descriptor: docs/geometry.md, 'Per-descriptor intervals')."
    doc.text(f"{sizes_text(ms)} Baseline anisotropy is the mean cosine over pairs of distinct emotion-free texts; the "
             "emotion vectors' mean cosine is 1 minus the mean off-diagonal cell of the raw cosine RDM (how much of the "
             "emotion vectors is one shared direction). Definitions: docs/geometry.md.")
    doc.figure(anisotropy_figure(frame, LABELS), "anisotropy", "Anisotropy against relative depth", caption)
    wide = frame.pivot_table(index=["model", "layer", "depth"], columns="descriptor",
                             values=["estimate", "ci_low", "ci_high"], aggfunc="first")
    # a column every row of which is NaN (an interval withheld at every layer) is dropped by pivot_table: back in
    wide = wide.reindex(columns=pd.MultiIndex.from_product([["estimate", "ci_low", "ci_high"], DESCRIPTORS]))
    table = pd.DataFrame({"model": [i[0] for i in wide.index], "layer": [i[1] for i in wide.index],
                          "depth": [i[2] for i in wide.index]})
    for d in DESCRIPTORS:
        for part in ("estimate", "ci_low", "ci_high"):
            table[f"{d}_{part}"] = wide[(part, d)].to_numpy()
    order = {n: i for i, n in enumerate(ms.names)}
    table = table.sort_values(["model", "layer"], key=lambda c: c.map(order) if c.name == "model" else c)
    columns, cis = {"model": "model", "layer": "layer", "depth": "depth"}, []
    for d, header in zip(DESCRIPTORS, ("baseline anisotropy", "emotion mean cosine", "baseline PC1 share",
                                       "emotion participation ratio")):
        columns[f"{d}_estimate"] = header
        columns[f"{d}_ci_low"] = ""
        columns[f"{d}_ci_high"] = ""
        cis.append((f"{d}_ci_low", f"{d}_ci_high", f"{header} CI"))
    doc.table("per_layer", "Geometry descriptors per model and layer", caption, table, columns=columns, cis=cis,
              kinds={"layer": "int"})
    doc.bullets(notes + missing_intervals(frame))
    last = table.sort_values("layer").groupby("model", sort=False).tail(1).set_index("model")
    key = {}
    for name in ms.names:
        r = last.loc[name]
        key[name] = {"layer": int(r["layer"]), "baseline_anisotropy": r["baseline_anisotropy_estimate"],
                     "ci_low": r["baseline_anisotropy_ci_low"], "ci_high": r["baseline_anisotropy_ci_high"],
                     "emotion_mean_cosine": r["emotion_mean_cosine_estimate"]}
        doc.summary.append(f"{name}, last layer ({int(r['layer'])}): baseline anisotropy "
                           f"{ci_text(r['baseline_anisotropy_estimate'], r['baseline_anisotropy_ci_low'], r['baseline_anisotropy_ci_high'])}, "
                           f"emotion vectors' mean cosine "
                           f"{ci_text(r['emotion_mean_cosine_estimate'], r['emotion_mean_cosine_ci_low'], r['emotion_mean_cosine_ci_high'])}.")
    doc.key("last_layer", key)
    peak = table.loc[table["baseline_anisotropy_estimate"].idxmax()]
    doc.key("highest_baseline_anisotropy", {"model": peak["model"], "layer": int(peak["layer"]),
                                            "value": float(peak["baseline_anisotropy_estimate"])})
    doc.summary.append(f"Highest baseline anisotropy: {peak['model']} layer {int(peak['layer'])}, "
                       f"{peak['baseline_anisotropy_estimate']:.3f} (the study's Gemma-3 1B base: 0.997).")
    doc.limits.extend(offline_limits(ms))
    doc.limits.append("Anisotropy describes the space, not the emotion geometry: a high value means raw cosines are "
                      "dominated by a shared direction, which is why the normalization analysis matters; it does not by "
                      "itself make an RDM wrong (docs/maturity.md, analyses/maturity_thresholds.py).")


main = command(NAME)

if __name__ == "__main__":
    raise SystemExit(main())
