"""Figures of inference results (matplotlib, Agg backend; files written atomically)."""

from __future__ import annotations

import os

import numpy as np

from ..io import atomic_path

__all__ = ["rho_heatmap"]


def rho_heatmap(result, path: str | os.PathLike) -> None:
    """Heatmap of rho for every pair of a :class:`~rsastats.inference.pairs.CompareAllResult`,
    with rho and the adjusted-p stars in each cell, written as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
            if i == j:
                continue
            p = adjusted[i, j]
            stars = "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""
            ax.text(j, i, f"{rho[i, j]:.2f}{stars}", ha="center", va="center", fontsize=8,
                    color="white" if abs(rho[i, j]) > 0.6 else "black")
    fig.colorbar(image, ax=ax, label=f"{result.rank} rho")
    ax.set_title(f"{result.rdm} RDMs; * adjusted Mantel p ({result.adjust}) < .05")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
