"""The computations behind a report: every number a table or figure shows comes from here.

:func:`analyse` loads the files once, compares every pair (one joint bootstrap, Mantel tests,
Holm and Benjamini-Hochberg adjustment, noise ceilings), orders the emotions by a hierarchical
clustering of the reference model, embeds every model in 2-D, and, where the files allow it,
computes the further sections of :mod:`rsastats.report.sections` (rho across layers, anisotropy per
layer, the variance decomposition, the a-priori maturity rule for every base model), and, when the
settings name them, every file against hypothesis RDMs and the partial Mantel tests given confound
RDMs.  Everything random is drawn from ``config.seed``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd

from ..exceptions import FileFormatError, RsaStatsError, ValidationError
from ..hypotheses import load_hypotheses
from ..inference.hypotheses import common_emotions_of
from ..inputs import file_path, load_models
from ..inference.multiple import adjust_pvalues
from ..inference.pairs import CompareAllResult, compare_all
from .config import ReportConfig
from .models import ModelSummary, rdm_options, summarise
from .ordination import MDSResult, classical_mds, cluster_order, embedding_distances, procrustes_align
from .progress import NoProgress, ReportProgress, warnings_to
from . import sections
from .sections import GEOMETRY_DESCRIPTORS, LAYER_CURVE_PERMUTATIONS

__all__ = ["ModelSummary", "ReportAnalyses", "ReportProgress", "analyse", "GEOMETRY_DESCRIPTORS",
           "LAYER_CURVE_PERMUTATIONS"]


@dataclass(frozen=True)
class ReportAnalyses:
    """Everything a report shows, before it is formatted (see :func:`analyse`)."""

    config: ReportConfig
    models: tuple[ModelSummary, ...]
    reference: str
    order: tuple[str, ...]
    rdms: dict[str, np.ndarray]
    rdm_method: str
    mds: dict[str, MDSResult]
    comparison: CompareAllResult
    pairs: pd.DataFrame
    ceilings: pd.DataFrame | None
    layer_curve: pd.DataFrame | None
    layer_last_k: pd.DataFrame | None
    layer_settings: dict[str, Any]
    geometry: pd.DataFrame | None
    geometry_settings: dict[str, Any]
    decomposition: Any
    audit: dict[str, Any] | None
    maturity: tuple[Any, ...] = ()  # MaturityClassification of each base model
    hypotheses: Any = None  # HypothesisResult of every file against every hypothesis (config.hypotheses)
    notes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    def model(self, name: str) -> ModelSummary:
        return next(m for m in self.models if m.name == name)


# --------------------------------------------------------------------------- the main comparison
def _pairs_table(result: CompareAllResult) -> pd.DataFrame:
    frame = result.to_frame()
    p = frame["p_value"].to_numpy(dtype=float)
    frame = frame.drop(columns=["p_adjusted"])
    at = frame.columns.get_loc("p_value") + 1
    frame.insert(at, "p_holm", adjust_pvalues(p, "holm"))
    frame.insert(at + 1, "p_bh", adjust_pvalues(p, "bh"))
    return frame


def _ceiling_table(result: CompareAllResult) -> pd.DataFrame | None:
    nc = result.noise_ceiling
    if not nc:
        return None
    frame = pd.DataFrame(nc["models"])
    if frame[["split_half", "reliability", "loo_lower", "loo_upper"]].isna().all().all():
        return None
    return frame


def _embeddings(rdms: dict[str, np.ndarray], order: Sequence[str], method: str, reference: str) -> dict[str, MDSResult]:
    out = {}
    for name, matrix in rdms.items():
        distances, transform = embedding_distances(matrix, method)
        out[name] = classical_mds(distances, 2, labels=order, transform=transform)
    target = out[reference].coordinates
    aligned = {}
    for name, res in out.items():
        coords = res.coordinates if name == reference else procrustes_align(res.coordinates, target)
        aligned[name] = replace(res, coordinates=coords - coords.mean(axis=0))
    return aligned


@contextmanager
def _section(name: str) -> Iterator[None]:
    """Errors raised while computing a section say which section they come from."""
    try:
        yield
    except RsaStatsError as exc:
        raise type(exc)(f"report section '{name}': {exc.problem}", path=exc.path) from None


# --------------------------------------------------------------------------- entry point
def analyse(config: ReportConfig, progress: ReportProgress | None = None) -> ReportAnalyses:
    """Compute everything a report shows.

    Raises the library's one-line :class:`~rsastats.exceptions.InputError` subclasses for bad
    files (unreadable, NaN/Inf, mismatched emotion sets, ...) before any resampling starts.
    """
    config = config.checked()
    progress = progress or NoProgress()
    notes: dict[str, list[str]] = {"inputs": [], "comparison": [], "layers": [], "geometry": [], "decomposition": [],
                                   "maturity": []}
    audit = sections.read_audit(config.audit)  # a bad audit file should fail before the long work
    progress.step("loading files", None)
    for f in map(file_path, config.files):  # FILE@LAYER: the file
        if not os.path.isfile(f):
            raise FileFormatError("file not found" if not os.path.exists(f) else "not a file", path=f)
    with warnings_to(notes["inputs"]), _section("main comparison"):
        models = load_models(list(config.files), rdm_options(config), config.names)
    sections.check_resample_counts(config, models)  # a count that cannot fit fails before the long work
    if config.hypotheses:  # a bad hypothesis file fails before the long work
        with _section("hypotheses"):
            emotions = models[0].labels
            if config.common_emotions:
                emotions = common_emotions_of(emotions, list(config.hypotheses) + list(config.partial), models[0].path)[0]
            load_hypotheses(list(config.hypotheses), emotions)
    summaries = [summarise(m) for m in models]
    names = [m.name for m in models]
    reference = config.reference or names[0]
    if reference not in names:
        raise ValidationError(f"reference {reference!r} is not one of the models ({', '.join(names)})")

    progress.step("comparing every pair", config.n_boot)
    with warnings_to(notes["comparison"]), _section("main comparison"):
        comparison = compare_all(models, bootstrap=config.bootstrap, n_boot=config.n_boot, ci=config.ci,
                                 confidence=config.confidence, permutations=config.permutations, adjust=config.adjust,
                                 rank=config.rank, rdm=config.rdm,
                                 layer=config.layer, last_k=config.last_k, normalization=config.normalization,
                                 n_pcs=config.n_pcs, n_splits=config.n_splits, seed=config.seed,
                                 progress=progress.advance, confounds=list(config.partial))
    scheme = comparison.bootstrap
    hypotheses = None
    if config.hypotheses:
        with warnings_to(notes.setdefault("hypotheses", [])), _section("hypotheses"):
            hypotheses = sections.hypotheses(config, models, progress)

    ref_model = models[names.index(reference)]
    order = cluster_order(np.asarray(ref_model.rdm.matrix), ref_model.labels)
    rdms = {m.name: np.asarray(m.rdm.reorder(order).matrix) for m in models}
    mds = _embeddings(rdms, order, models[0].rdm.method or config.rdm, reference)

    layer_curve = last_k = None
    if config.layer_points:
        with warnings_to(notes["layers"]), _section("layer sensitivity"):
            layer_curve, last_k = sections.layer_sensitivity(config, models, summaries, reference, scheme,
                                                             progress, notes["layers"], comparison)
    geometry_frame, geometry_settings = None, {}
    if config.geometry_layers:
        with warnings_to(notes["geometry"]), _section("anisotropy"):
            geometry_frame, geometry_settings = sections.geometry_table(config, models, summaries, progress,
                                                                        notes["geometry"])
    with _section("decomposition"):
        decomposition = sections.decomposition(config, models, progress, notes["decomposition"])
    with _section("maturity"):
        maturity = sections.maturity(config, models, progress, notes["maturity"])
    return ReportAnalyses(
        config=config, models=tuple(summaries), reference=reference, order=order, rdms=rdms,
        rdm_method=models[0].rdm.method or config.rdm, mds=mds, comparison=comparison, pairs=_pairs_table(comparison),
        ceilings=_ceiling_table(comparison), layer_curve=layer_curve, layer_last_k=last_k,
        layer_settings={"points": config.layer_points, "n_boot": config.layer_n_boot, "last_k": config.last_k_check,
                        "permutations": LAYER_CURVE_PERMUTATIONS, "bootstrap": scheme},
        geometry=geometry_frame, geometry_settings=geometry_settings, decomposition=decomposition, audit=audit,
        maturity=maturity, hypotheses=hypotheses, notes={k: v for k, v in notes.items() if v})
