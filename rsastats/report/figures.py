"""Report figures (matplotlib, Agg backend), each written as PNG and SVG, atomically.

Every figure function takes numbers (arrays, DataFrames, result objects), draws one figure and
returns it; :func:`save_figure` writes it.  Output is byte-reproducible: SVG ids are salted with
a constant and no creation date or software URL is embedded.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..io import atomic_path, output_lock

__all__ = ["ReportFigure", "pyplot", "save_figure", "slug", "unique_slugs", "rdm_heatmap", "mds_panels", "rho_matrix_figure", "forest_plot",
           "layer_curve_figure", "anisotropy_figure", "variance_bars", "rho_heatmap"]

_DPI = 110


@dataclass(frozen=True)
class ReportFigure:
    """A written figure: where its PNG and SVG are, and what its caption says."""

    name: str
    title: str
    caption: str
    png: Path
    svg: Path

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "caption": self.caption, "png": str(self.png), "svg": str(self.svg)}


def pyplot():
    """matplotlib.pyplot on the Agg backend, with the report's settings (reproducible SVG, 9 pt text)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "rsastats"  # deterministic ids in SVG files
    matplotlib.rcParams["svg.fonttype"] = "none"  # text as text: smaller, faster, searchable SVG files
    matplotlib.rcParams["font.size"] = 9
    return plt


def slug(text: str) -> str:
    """A file-name-safe version of a model name."""
    out = re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")
    return out or "model"


def unique_slugs(names: Sequence[str]) -> list[str]:
    """File-name-safe, distinct versions of ``names``: names that slug alike (``m 1``, ``m-1``; or
    differ only in case, which some file systems do not tell apart) get ``-2``, ``-3``, ... in order."""
    taken: set[str] = set()
    out = []
    for name in names:
        base = candidate = slug(name)
        k = 1
        while candidate.lower() in taken:
            k += 1
            candidate = f"{base}-{k}"
        taken.add(candidate.lower())
        out.append(candidate)
    return out


def save_figure(fig: Any, folder: str | Path, name: str, title: str, caption: str) -> ReportFigure:
    """Write ``fig`` as ``folder/name.png`` and ``folder/name.svg`` (each atomically) and close it."""
    plt = pyplot()
    folder = Path(folder)
    png, svg = folder / f"{name}.png", folder / f"{name}.svg"
    try:
        with atomic_path(png) as tmp:
            fig.savefig(tmp, format="png", dpi=_DPI, metadata={"Software": None})
        with atomic_path(svg) as tmp:
            fig.savefig(tmp, format="svg", metadata={"Date": None, "Creator": None})
    finally:
        plt.close(fig)
    return ReportFigure(name, title, caption, png, svg)


# --------------------------------------------------------------------------- RDMs and MDS
def rdm_heatmap(matrix: np.ndarray, order: Sequence[str], title: str, colour_label: str):
    """Heatmap of one RDM with rows and columns in ``order``."""
    plt = pyplot()
    n = len(order)
    # labels stay readable when the HTML shows two heatmaps side by side (about 540 px each)
    size = max(4.0, 0.17 * n + 1.8)
    font = 8 if n <= 30 else 6
    fig, ax = plt.subplots(figsize=(size + 0.9, size))
    off = matrix[~np.eye(n, dtype=bool)]
    image = ax.imshow(matrix, cmap="viridis", vmin=float(off.min()), vmax=float(off.max()), interpolation="nearest")
    ax.set_xticks(range(n), order, rotation=90, fontsize=font)
    ax.set_yticks(range(n), order, fontsize=font)
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=colour_label)
    fig.tight_layout()
    return fig


def mds_panels(embeddings: Mapping[str, Any], order: Sequence[str], reference: str):
    """One panel per model: the 2-D classical MDS of its RDM (rotated to the reference's), each
    emotion coloured by its position in ``order`` (the reference's clustering order)."""
    plt = pyplot()
    names = list(embeddings)
    ncols = min(3, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 4.0 * nrows), squeeze=False)
    cmap = plt.get_cmap("turbo")
    hue = {e: 0.05 + 0.9 * i / max(1, len(order) - 1) for i, e in enumerate(order)}
    for ax, name in zip(axes.flat, names):
        res = embeddings[name]
        xy = np.asarray(res.coordinates)
        scale = float(np.sqrt((xy**2).sum(axis=1).mean())) or 1.0
        xy = xy / scale
        for (x, y), label in zip(xy, res.labels):
            ax.scatter([x], [y], s=22, color=cmap(hue.get(label, 0.5)), edgecolors="0.3", linewidths=0.4)
            ax.annotate(label, (x, y), fontsize=8, xytext=(3, 2), textcoords="offset points")
        ex = res.explained
        ax.set_title(f"{name}{' (reference)' if name == reference else ''}\n"
                     f"axes carry {100 * ex[0]:.0f}% + {100 * ex[1]:.0f}%", fontsize=9)
        ax.set_aspect("equal", adjustable="datalim")
        ax.axhline(0, color="0.85", lw=0.6, zorder=0)
        ax.axvline(0, color="0.85", lw=0.6, zorder=0)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- comparisons
def _stars(p: float) -> str:
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def rho_matrix_figure(names: Sequence[str], pairs: pd.DataFrame, rank: str, adjust_column: str, adjust_label: str):
    """Heatmap of rho for every pair, each cell with rho, its CI and stars for the adjusted p."""
    plt = pyplot()
    names = list(names)
    k = len(names)
    rho = np.eye(k)
    text = [["" for _ in names] for _ in names]
    for r in pairs.itertuples():
        i, j = names.index(r.a), names.index(r.b)
        rho[i, j] = rho[j, i] = r.rho
        cell = f"{r.rho:.2f}{_stars(getattr(r, adjust_column))}"
        if len(names) <= 6:  # with more models the CIs no longer fit; they are in the table below
            cell += f"\n[{r.ci_low:.2f}, {r.ci_high:.2f}]"
        text[i][j] = text[j][i] = cell
    size = max(4.5, 1.1 * k + 1.8)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad="0.92")
    shown = rho.copy()
    np.fill_diagonal(shown, np.nan)  # the diagonal (rho = 1 by definition) would dominate the colour scale
    image = ax.imshow(np.ma.masked_invalid(shown), vmin=-1, vmax=1, cmap=cmap)
    ax.set_xticks(range(k), names, rotation=40, ha="right")
    ax.set_yticks(range(k), names)
    font = 8
    for i in range(k):
        for j in range(k):
            if i != j:
                ax.text(j, i, text[i][j], ha="center", va="center", fontsize=font,
                        color="white" if abs(rho[i, j]) > 0.6 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label=f"{rank} rho")
    ax.set_title(f"rho{' [CI]' if k <= 6 else ''}; * {adjust_label}-adjusted Mantel p < .05, ** < .01, *** < .001",
                 fontsize=9)
    fig.tight_layout()
    return fig


def rho_heatmap(result: Any, path: str | os.PathLike) -> None:
    """Heatmap of rho for every pair of a :class:`~rsastats.inference.pairs.CompareAllResult`, with
    rho and the adjusted-p stars in each cell, written as PNG (``rsastats matrix --plot``)."""
    plt = pyplot()
    names = list(result.names)
    rho = result.rho_matrix().to_numpy()
    adjusted = np.full(rho.shape, np.nan)
    for row in result.pairs.itertuples():
        i, j = names.index(row.a), names.index(row.b)
        adjusted[i, j] = adjusted[j, i] = row.p_adjusted
    size = max(4.0, 0.6 * len(names) + 2.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(rho, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            if i != j:
                ax.text(j, i, f"{rho[i, j]:.2f}{_stars(adjusted[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if abs(rho[i, j]) > 0.6 else "black")
    fig.colorbar(image, ax=ax, label=f"{result.rank} rho")
    ax.set_title(f"{result.rdm} RDMs; * adjusted Mantel p ({result.adjust}) < .05")
    fig.tight_layout()
    try:
        with output_lock(path), atomic_path(path) as tmp:  # a file of its own: one writer at a time
            fig.savefig(tmp, format="png", dpi=120)
    finally:
        plt.close(fig)


def forest_plot(pairs: pd.DataFrame, confidence: float, group_ceiling: tuple[float, float] | None):
    """rho of every pair with its CI; the pair's noise ceiling (sqrt(r_A r_B)) as an open diamond,
    and the group's leave-one-out ceiling as a shaded band."""
    plt = pyplot()
    rows = pairs.reset_index(drop=True)
    n = len(rows)
    fig, ax = plt.subplots(figsize=(7.0, max(3.0, 0.38 * n + 1.9)))
    y = np.arange(n)[::-1]
    if group_ceiling is not None and all(v is not None for v in group_ceiling):
        lo, hi = group_ceiling
        ax.axvspan(lo, hi, color="0.88", zorder=0, label=f"group noise ceiling [{lo:.2f}, {hi:.2f}]")
    ax.hlines(y, rows["ci_low"], rows["ci_high"], color="tab:blue", lw=2, label=f"{100 * confidence:g}% CI")
    ax.plot(rows["rho"], y, "o", color="tab:blue", label="rho")
    if "noise_ceiling" in rows.columns and rows["noise_ceiling"].notna().any():
        ax.plot(rows["noise_ceiling"], y, "D", mfc="none", color="tab:red", label="pair noise ceiling")
    ax.set_yticks(y, [f"{a} vs {b}" for a, b in zip(rows["a"], rows["b"])], fontsize=8)
    ax.axvline(0, color="0.5", lw=0.8)
    ends = pd.concat([rows["ci_low"], rows["rho"]]).astype(float)  # no interval (fewer than 5 emotions): the points
    low = min(0.0, float(ends.min(skipna=True)) - 0.05)
    ax.set_xlim(max(-1.0, low), 1.05)
    ax.set_xlabel("rho")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.25 / fig.get_figheight(), 1, 1))
    return fig


def layer_curve_figure(curve: pd.DataFrame, last_k: pd.DataFrame | None, confidence: float, rank: str):
    """rho against relative depth for each pair (CI band), with the mean of the final layers beside depth 1."""
    plt = pyplot()
    pairs = list(dict.fromkeys(zip(curve["a"], curve["b"])))
    legend_rows = math.ceil(len(pairs) / 2)
    legend_height = 0.25 + 0.2 * legend_rows  # inches below the axes, so the legend never covers a curve
    fig, ax = plt.subplots(figsize=(7.0, 4.2 + legend_height))
    cmap = plt.get_cmap("tab10")
    for k, (a, b) in enumerate(pairs):
        part = curve[(curve["a"] == a) & (curve["b"] == b)].sort_values("depth")
        colour = cmap(k % 10)
        ax.fill_between(part["depth"], part["ci_low"], part["ci_high"], color=colour, alpha=0.12 if len(pairs) > 3 else 0.2,
                        lw=0)
        ax.plot(part["depth"], part["rho"], "o-", color=colour, ms=3, label=f"{a} vs {b}")
        if last_k is not None:
            row = last_k[(last_k["a"] == a) & (last_k["b"] == b)]
            if len(row):
                r = row.iloc[0]
                x = 1.04 + 0.012 * k
                # a line from CI low to high (a basic interval need not contain the estimate)
                ax.vlines([x], [r["ci_low"]], [r["ci_high"]], color=colour, lw=1.2)
                ax.plot([x], [r["rho"]], "s", color=colour, ms=4)
    if last_k is not None and len(last_k):
        ax.axvline(1.02, color="0.8", lw=0.8, ls="--")
        ax.text(1.04, ax.get_ylim()[0], f" mean of\n last {int(last_k['last_k'].iloc[0])}", fontsize=7, va="bottom")
    ax.set_xlabel("relative depth (0 = embedding output, 1 = last layer)")
    ax.set_ylabel(f"{rank} rho ({100 * confidence:g}% CI band)")
    ax.axhline(0, color="0.6", lw=0.6)
    handles, names = ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, legend_height / fig.get_figheight(), 1, 1))
    return fig


def anisotropy_figure(frame: pd.DataFrame, labels: Mapping[str, str]):
    """One panel per descriptor: the estimate against relative depth with its CI band, one line per model."""
    plt = pyplot()
    descriptors = [d for d in labels if d in set(frame["descriptor"])]
    models = list(dict.fromkeys(frame["model"]))
    ncol = min(len(models), 3 * len(descriptors))
    legend_height = 0.25 + 0.2 * math.ceil(len(models) / max(ncol, 1))  # the legend sits below the panels
    fig, axes = plt.subplots(1, len(descriptors), figsize=(5.2 * len(descriptors), 3.8 + legend_height), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, descriptor in zip(axes.flat, descriptors):
        for k, model in enumerate(models):
            part = frame[(frame["model"] == model) & (frame["descriptor"] == descriptor)].sort_values("depth")
            part = part[part["estimate"].notna()]
            if part.empty:
                continue
            colour = cmap(k % 10)
            ok = part["ci_low"].notna() & part["ci_high"].notna()
            ax.fill_between(part["depth"][ok], part["ci_low"][ok], part["ci_high"][ok], color=colour, alpha=0.18, lw=0)
            ax.plot(part["depth"], part["estimate"], "o-", ms=3, color=colour, label=model)
        ax.set_title(labels[descriptor], fontsize=9)
        ax.set_xlabel("relative depth (0 = embedding output, 1 = last layer)")
        ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.0)
    axes.flat[0].set_ylabel("mean cosine")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, legend_height / fig.get_figheight(), 1, 1))
    return fig


def variance_bars(components: pd.DataFrame, layers: pd.DataFrame):
    """Share of variance of each estimable component (left) and of each layer of method choices
    (right), with bootstrap CIs."""
    plt = pyplot()
    comp = components[components["estimable"].astype(bool)].reset_index(drop=True)
    layer_names = list(dict.fromkeys(list(layers["layer"]) + list(comp["layer"])))
    cmap = plt.get_cmap("tab10")
    colour = {name: cmap(i % 10) for i, name in enumerate(layer_names)}
    height = max(2.8, 0.32 * max(len(comp), len(layers)) + 1.4)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.0, height))

    def bars(ax, names, shares, lows, highs, colours, title):
        y = np.arange(len(names))[::-1]
        shares = np.asarray(shares, dtype=float)
        lows, highs = np.asarray(lows, dtype=float), np.asarray(highs, dtype=float)
        ax.barh(y, shares, color=colours, alpha=0.85)
        ok = np.isfinite(lows) & np.isfinite(highs)
        # the CI as a line of its own: a bootstrap interval need not contain the estimate
        ax.hlines(y[ok], lows[ok], highs[ok], color="black", lw=1.0)
        ax.plot(lows[ok], y[ok], "|", color="black", ms=6)
        ax.plot(highs[ok], y[ok], "|", color="black", ms=6)
        ax.set_yticks(y, names, fontsize=8)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of variance")
        ax.set_title(title, fontsize=9)

    bars(left, list(comp["component"]), comp["share"], comp["share_ci_low"], comp["share_ci_high"],
         [colour[x] for x in comp["layer"]], "components")
    bars(right, list(layers["layer"]), layers["share"], layers["share_ci_low"], layers["share_ci_high"],
         [colour[x] for x in layers["layer"]], "layers of method choices")
    fig.tight_layout()
    return fig
