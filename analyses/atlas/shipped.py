"""Coverage of the shipped defaults over the design atlas: every data set goes through
:func:`rsastats.inference.compare_models` exactly as a user's two files would (defaults: the Fisher-z
jackknife interval of rho, the cross-half rho_corrected with its interval and its rule), so the
numbers in docs/calibration.md are those of the code that ships, not of a re-implementation.

A data set of a design (:mod:`.model`) becomes two :class:`~rsastats.inputs.ModelInput` objects: for
designs with prompts, the prompt rows of both models with the same prompt labels (the paired design:
both models read the same texts, so they share their half splits); for vector designs, the prompt
means only.  The truths are the Monte Carlo values of :func:`.study.truths`.
"""

from __future__ import annotations

import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict

import numpy as np
import pandas as pd

from rsastats.exceptions import RsaStatsWarning
from rsastats.inference import compare_models
from rsastats.inputs import ModelInput
from rsastats.rdm import RDM, rdm_from_rows, rdm_matrix
from rsastats.rng import spawn_sequences
from rsastats.vectors import PromptRows

from .model import DataSet, Design, Population, calibrate_sigma
from .study import truths

__all__ = ["model_inputs", "run_shipped", "shipped_rows", "run_chunks", "run_rho", "chunk_order", "FIELDS", "RHO_METHODS"]

# The intervals of rho compared by :func:`run_rho`: the shipped default first.
RHO_METHODS = ("jackknife-t", "jackknife-z")
FIELDS = ("rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note",
          "split_half_a", "split_half_b", "noise_ceiling", "ceiling_note")


def model_inputs(ds: DataSet, design: Design) -> list[ModelInput]:
    """The models of a data set (two; three from :meth:`Population.with_third`) as the package's loader would hand
    them to a comparison."""
    n, p = design.n_emotions, design.n_prompts
    labels = tuple(f"e{i:02d}" for i in range(n))
    out = []
    for m in range(len(ds.mu)):
        if design.vectors_only:
            rdm = RDM(rdm_matrix(ds.means[m], "cosine"), labels, "cosine", f"model{m}")
            out.append(ModelInput(f"model{m}", "vectors", rdm, None, "as stored"))
            continue
        rows = PromptRows(values=np.asarray(ds.prompts[m], dtype=np.float64), valid=np.ones((n, p), dtype=bool),
                          emotions=labels, prompts=tuple(range(p)), post="none", layers=(0,), normalization="raw",
                          n_pcs=None)
        rdm = RDM(rdm_from_rows(rows, "cosine"), labels, "cosine", f"model{m}")
        out.append(ModelInput(f"model{m}", "activations", rdm, rows, "layer 0"))
    return out


def _chunk(args: tuple) -> list[dict]:
    design, seqs, n_boot = args
    pop = Population.of(design)
    rows = []
    for seq in seqs:
        rng = np.random.default_rng(seq)
        a, b = model_inputs(pop.draw(rng), design)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RsaStatsWarning)
            res = compare_models(a, b, n_boot=n_boot, permutations=19, seed=seq)
        rows.append({k: v for k, v in asdict(res).items() if k in FIELDS})
    return rows


def run_shipped(design: Design, n_sets: int, *, n_boot: int = 2000, n_mc: int = 6000, seed: int = 2026,
                jobs: int = 2) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per data set the shipped outputs (a DataFrame) and the design's truths."""
    design = design if design.sigma is not None else calibrate_sigma(design)
    start = time.time()
    truth = truths(design, n_mc)
    frame = shipped_rows(design, n_sets, n_boot=n_boot, seed=seed, jobs=jobs)
    truth = {**truth, "sigma": design.sigma, "seconds": time.time() - start}
    return frame, truth


def shipped_rows(design: Design, n_sets: int, *, n_boot: int = 2000, seed: int = 2026, jobs: int = 2) -> pd.DataFrame:
    """The shipped outputs (:data:`FIELDS`) of data sets ``0 .. n_sets - 1`` of a design whose ``sigma``
    is set, in data-set order (the data sets of :func:`run_shipped` with the same ``seed``)."""
    seqs = spawn_sequences(np.random.SeedSequence([seed, design.seed]), n_sets)
    return pd.DataFrame(run_chunks(_chunk, design, seqs, jobs, n_boot))


def run_chunks(worker, design, seqs: list, jobs: int, *extra) -> list[dict]:
    """``worker((design, seqs[i::jobs], *extra))`` for each of ``jobs`` chunks, in worker processes when
    ``jobs > 1``; the rows in data-set order whatever the number of workers."""
    chunks = [(design, seqs[i::jobs], *extra) for i in range(jobs)]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            parts = list(pool.map(worker, chunks))
    else:
        parts = [worker(c) for c in chunks]
    return _in_order(parts, jobs, len(seqs))


def _rho_chunk(args: tuple) -> list[dict]:
    design, seqs = args
    pop = Population.of(design)
    rows = []
    for seq in seqs:
        rng = np.random.default_rng(seq)
        a, b = model_inputs(pop.draw(rng), design)
        row = {}
        for method in RHO_METHODS:  # rho's interval is jackknife-only: the resamples are not used
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RsaStatsWarning)
                res = compare_models(a, b, n_boot=50, ci=method, permutations=19, ceiling=False, seed=seq)
            tag = "" if method == RHO_METHODS[0] else f"_{method}"
            row.update({"rho": res.rho, f"ci_low{tag}": res.ci_low, f"ci_high{tag}": res.ci_high})
        rows.append(row)
    return rows


def run_rho(design: Design, n_sets: int, *, seed: int = 2026, jobs: int = 2) -> pd.DataFrame:
    """rho and its intervals (:data:`RHO_METHODS`; the first without a suffix) for the same data sets as
    :func:`run_shipped` with the same ``seed`` (the data set streams are the same), without the bootstrap
    of rho_corrected: a cheap rerun of rho's columns when its interval changes."""
    design = design if design.sigma is not None else calibrate_sigma(design)
    seqs = spawn_sequences(np.random.SeedSequence([seed, design.seed]), n_sets)
    return pd.DataFrame(run_chunks(_rho_chunk, design, seqs, jobs))


def _in_order(parts: list[list[dict]], jobs: int, n_sets: int) -> list[dict]:
    """Rows in data-set order, whatever the number of workers (chunk i holds data sets i, i + jobs, ...)."""
    rows: list[dict] = [{}] * n_sets
    for i, part in enumerate(parts):
        for k, row in enumerate(part):
            rows[i + k * jobs] = row
    return rows


def chunk_order(n_sets: int, jobs: int) -> np.ndarray:
    """The data-set index of each row as :func:`run_shipped` wrote them before it kept data-set order
    (chunk by chunk)."""
    return np.concatenate([np.arange(n_sets)[i::jobs] for i in range(jobs)])
