"""The Type-I error study of the Mantel test (see the package docstring); the coverage of the intervals
is the design atlas (:mod:`analyses.atlas.shipped`)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.stats as st

from rsastats.rng import SeedLike, spawn_sequences
from rsastats.inference.permutation import draw_permutations, mantel_pvalue, mantel_statistics
from rsastats.rdm import rdm_matrix

__all__ = ["N_EMOTIONS", "HIDDEN", "HUB_LEVELS", "HALF_SPLIT", "type1_error", "binomial_ci", "load_runs", "write_run",
           "design_table"]

# How rho_corrected's half splits were drawn, recorded in the JSON of every result run since it changed (2026-12-04):
# "common", the same prompt labels in a half for every emotion (rsastats.inference.ceiling.split_counts).  Results
# without it were run with a split drawn for each emotion on its own.
HALF_SPLIT = "common"

N_EMOTIONS = 21
HIDDEN = 64
HUB_LEVELS = {"no hubs": 0.0, "moderate hubs": 0.5, "strong hubs": 1.0}


def binomial_ci(hits: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval for a proportion."""
    res = st.binomtest(int(hits), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(res.low), float(res.high)


# --------------------------------------------------------------------------- Type-I error
def _null_rdm(rng: np.random.Generator, n: int, hub: float, hidden: int = HIDDEN) -> np.ndarray:
    """A cosine RDM with anisotropy and (for hub > 0) hub emotions, unrelated to any other draw."""
    common = rng.standard_normal(hidden)
    common /= np.linalg.norm(common)
    size = np.exp(hub * rng.standard_normal(n))  # small size: the vector stays near the common direction
    specific = rng.standard_normal((n, hidden)) / np.sqrt(hidden)
    return rdm_matrix(common + size[:, None] * specific, "cosine")


def _type1_chunk(args: tuple) -> np.ndarray:
    seq, n_sets, hub, perms = args
    rng = np.random.default_rng(seq)
    out = np.empty((n_sets, 2))
    iu, ju = np.triu_indices(N_EMOTIONS, 1)
    for k in range(n_sets):
        a, b = _null_rdm(rng, N_EMOTIONS, hub), _null_rdm(rng, N_EMOTIONS, hub)
        observed, permuted = mantel_statistics(a, b, "spearman", perms, len(perms), None)
        out[k, 0] = mantel_pvalue(observed, permuted, "two-sided", False)
        out[k, 1] = st.spearmanr(a[iu, ju], b[iu, ju]).pvalue
    return out


def type1_error(n_datasets: int = 4000, hubs: dict[str, float] | None = None, permutations: int = 999,
                seed: SeedLike = 2024, jobs: int = 1) -> pd.DataFrame:
    """Rejection rates of the Mantel test and of the naive spearmanr p under the null.

    Returns one row per hub level and test, with the rate at alpha = 5% and 1% and the 95%
    Clopper-Pearson interval of the 5% rate.
    """
    hubs = HUB_LEVELS if hubs is None else hubs
    rows = []
    level_seqs = spawn_sequences(seed, len(hubs) + 1)
    perms = draw_permutations(N_EMOTIONS, permutations, level_seqs[-1])
    for (name, hub), seq in zip(hubs.items(), level_seqs):
        chunks = _chunks(n_datasets, 100)
        tasks = [(s, c, hub, perms) for s, c in zip(spawn_sequences(seq, len(chunks)), chunks)]
        p = np.concatenate(list(_map(_type1_chunk, tasks, jobs)))
        for col, test in ((0, f"Mantel ({permutations} permutations)"), (1, "naive spearmanr p")):
            hits = int(np.count_nonzero(p[:, col] <= 0.05))
            lo, hi = binomial_ci(hits, n_datasets)
            rows.append({"null": name, "hub_sd": hub, "test": test, "n_datasets": n_datasets,
                         "rejection_5pct": hits / n_datasets, "ci_low": lo, "ci_high": hi,
                         "rejection_1pct": float(np.mean(p[:, col] <= 0.01))})
    return pd.DataFrame(rows)



def _chunks(n: int, size: int) -> list[int]:
    return [min(size, n - i) for i in range(0, n, size)]


def _map(fn, tasks: list, jobs: int):
    if jobs <= 1:
        return [fn(t) for t in tasks]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(fn, tasks))


def write_run(folder: str | os.PathLike, name: str, frame: pd.DataFrame, meta: dict) -> None:
    """One stored run: ``<name>.csv`` (a row per data set) and ``<name>.json`` (design, truths, settings), each
    written atomically."""
    from rsastats.io import atomic_path

    with atomic_path(Path(folder) / f"{name}.csv") as tmp:
        frame.to_csv(tmp, index=False)
    with atomic_path(Path(folder) / f"{name}.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1) + "\n")


def load_runs(folder: str | os.PathLike, designs: Sequence) -> list[tuple[dict, pd.DataFrame]]:
    """``(meta, per-data-set frame)`` of every design (anything with a ``name``) whose ``<name>.csv`` and
    ``<name>.json`` are in ``folder``, in the designs' order."""
    out = []
    for design in designs:
        path = Path(folder) / f"{design.name}.csv"
        if path.exists():
            out.append((json.loads(path.with_suffix(".json").read_text()), pd.read_csv(path)))
    return out


def design_table(design_rows, designs: Sequence[str], n_sets: int, jobs: int, out: str | os.PathLike) -> pd.DataFrame:
    """``design_rows(design, n_sets)`` (a list of row dicts) of every design, one design per worker, as one table
    written to ``out`` (CSV, atomically) and printed."""
    from rsastats.io import atomic_path

    with ProcessPoolExecutor(jobs) as pool:
        parts = pool.map(design_rows, designs, [n_sets] * len(designs))
    table = pd.DataFrame([row for part in parts for row in part])
    with atomic_path(Path(out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return table


def grid_main(argv: list[str] | None, description: str, designs: Sequence[tuple], design_row, describe,
              out: str | os.PathLike) -> pd.DataFrame:
    """The command line of a study over a grid of ``designs`` (tuples): ``--sets``, ``--truth`` (Monte Carlo data
    sets of the truth), ``--jobs``, ``--designs`` (indices into the grid) and ``--out``; ``design_row(*design, sets,
    truth, jobs)`` per design, ``describe(row)`` printed after each, the table written to ``out`` (CSV, atomically)."""
    import argparse

    from rsastats.io import atomic_path

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--truth", type=int, default=3000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--designs", type=int, nargs="*", default=None, help="indices into the grid (default: all)")
    parser.add_argument("--out", default=str(out))
    args = parser.parse_args(argv)
    rows = []
    for k in (range(len(designs)) if args.designs is None else args.designs):
        rows.append(design_row(*designs[k], args.sets, args.truth, args.jobs))
        print(describe(rows[-1]), flush=True)
    table = pd.DataFrame(rows)
    with atomic_path(Path(args.out)) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    return table


def map_chunks(chunk, args: tuple, seqs: list, jobs: int) -> list:
    """``chunk((*args, seqs[k::jobs]))`` for each of ``jobs`` workers (in processes when ``jobs > 1``), the rows of
    all in one list."""
    parts = _map(chunk, [(*args, seqs[k::jobs]) for k in range(jobs)], jobs)
    return [row for part in parts for row in part]
