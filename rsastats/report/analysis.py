"""The computations behind a report: every number a table or figure shows comes from here.

:func:`analyse` loads the files once, compares every pair (one joint bootstrap, Mantel tests,
Holm and Benjamini-Hochberg adjustment, noise ceilings), orders the emotions by a hierarchical
clustering of the reference model, embeds every model in 2-D, and, where the files allow it,
computes rho across layers, anisotropy per layer, the variance decomposition, and the a-priori
maturity rule for every base model.  Everything random is drawn from ``config.seed``.
"""

from __future__ import annotations

import contextlib
import json
import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..exceptions import EstimationError, FileFormatError, InputError, ValidationError
from ..inference._inputs import ModelInput, RDMOptions, load_model, load_models
from ..inference.multiple import adjust_pvalues
from ..inference.pairs import CompareAllResult, compare_all, default_scheme
from .config import ReportConfig
from .ordination import MDSResult, classical_mds, cluster_order, embedding_distances, procrustes_align

__all__ = ["ModelSummary", "ReportAnalyses", "ReportProgress", "analyse", "GEOMETRY_DESCRIPTORS",
           "LAYER_CURVE_PERMUTATIONS"]

# Descriptors the anisotropy section shows (see rsastats.geometry for their definitions).
GEOMETRY_DESCRIPTORS = ("baseline_anisotropy", "emotion_mean_cosine")
# The layer curve shows rho and its CI only; its Mantel p-values are not used, so few permutations.
LAYER_CURVE_PERMUTATIONS = 99


class ReportProgress(Protocol):
    """Receives the report's progress: a new step (with a known amount of work or not), and work done."""

    def step(self, description: str, total: int | None = None) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class _NoProgress:
    def step(self, description: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@dataclass(frozen=True)
class ModelSummary:
    """One input file as the report describes it."""

    name: str
    path: str
    kind: str
    model: str
    method: str
    precision: str
    experiment: str
    n_emotions: int
    prompts_min: int | None
    prompts_max: int | None
    layers: tuple[int, ...]
    depth_of_last: int | None
    layer_used: str

    def depth(self, label: int) -> float:
        top = self.depth_of_last or (max(self.layers) if self.layers else 0)
        return float(label) / top if top else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "kind": self.kind, "model": self.model, "method": self.method,
                "precision": self.precision, "experiment": self.experiment, "n_emotions": self.n_emotions,
                "prompts_min": self.prompts_min, "prompts_max": self.prompts_max, "n_layers": len(self.layers),
                "layer_used": self.layer_used}


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
    notes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    def model(self, name: str) -> ModelSummary:
        return next(m for m in self.models if m.name == name)


@contextlib.contextmanager
def _warnings_to(notes: list[str]):
    """Warnings raised inside the block become notes of the report section (once each), so that
    what a reader should know (too few resamples, non-converged fits) is in the report itself."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in notes:
            notes.append(text)


# --------------------------------------------------------------------------- loading
def _file_layers(path: str) -> tuple[tuple[int, ...], int | None]:
    """Layer labels of a file and the depth of its last block (``n_blocks`` attribute when present)."""
    with xr.open_dataset(path, engine="netcdf4", decode_times=False) as handle:
        labels = tuple(int(x) for x in handle["layer"].values) if "layer" in handle.coords else ()
        blocks = handle.attrs.get("n_blocks", "")
    try:
        top = int(blocks)
    except (TypeError, ValueError):
        top = None
    if not labels or top is None or top < max(labels):
        top = max(labels) if labels else None
    return labels, top


def _summary(m: ModelInput) -> ModelSummary:
    attrs = m.rdm.attrs
    labels, top = _file_layers(m.path) if m.path and m.kind != "rdm" else ((), None)
    counts = m.rows.n_valid if m.rows is not None else None
    return ModelSummary(
        name=m.name, path=m.path or "", kind=m.kind, model=str(attrs.get("model", "") or ""),
        method=str(attrs.get("extraction_method", "") or ""), precision=str(attrs.get("precision", "") or ""),
        experiment=str(attrs.get("experiment", "") or ""), n_emotions=m.rdm.n_emotions,
        prompts_min=None if counts is None else int(counts.min()), prompts_max=None if counts is None else int(counts.max()),
        layers=labels, depth_of_last=top, layer_used=m.layer_selection or "as stored")


def _options(config: ReportConfig, **changes: Any) -> RDMOptions:
    base = RDMOptions(rdm=config.rdm, layer=config.layer, last_k=config.last_k, normalization=config.normalization,
                      n_pcs=config.n_pcs)
    return replace(base, **changes).checked()


# --------------------------------------------------------------------------- pieces
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


def _nearest_labels(summary: ModelSummary, depths: np.ndarray) -> list[int]:
    labels = np.array(summary.layers)
    rel = np.array([summary.depth(x) for x in labels])
    return [int(labels[np.argmin(np.abs(rel - d))]) for d in depths]


def _curve_rows(result: CompareAllResult, keep: set[tuple[str, str]], extra: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for r in result.to_frame().itertuples():
        if (r.a, r.b) in keep or (r.b, r.a) in keep:
            rows.append({"a": r.a, "b": r.b, **extra, "rho": r.rho, "ci_low": r.ci_low, "ci_high": r.ci_high})
    return rows


def _layer_sensitivity(config: ReportConfig, models: Sequence[ModelInput], summaries: Sequence[ModelSummary],
                       reference: str, scheme: str, progress: ReportProgress, notes: list[str]):
    eligible = [(m, s) for m, s in zip(models, summaries) if m.kind != "rdm" and len(s.layers) >= 2]
    skipped = [s.name for m, s in zip(models, summaries) if (m, s) not in eligible]
    if skipped:
        notes.append(f"not in the layer curves (fewer than 2 layers, or an RDM file): {', '.join(skipped)}")
    if len(eligible) < 2:
        notes.append("layer sensitivity needs at least 2 files with several layers")
        return None, None
    names = [s.name for _, s in eligible]
    if reference in names:
        keep = {(reference, n) for n in names if n != reference}
    else:
        keep = {(a, b) for i, a in enumerate(names) for b in names[i + 1:]}
    depths = np.linspace(0.0, 1.0, config.layer_points)
    chosen = [_nearest_labels(s, depths) for _, s in eligible]
    common = dict(bootstrap=scheme, n_boot=config.layer_n_boot, ci=config.ci, confidence=config.confidence,
                  permutations=LAYER_CURVE_PERMUTATIONS, rank=config.rank, rdm=config.rdm, ceiling=False, seed=config.seed)
    points = sorted({tuple(c[k] for c in chosen) for k in range(len(depths))}, key=lambda t: tuple(t))
    with_last_k = config.last_k_check > 0 and all(len(s.layers) >= config.last_k_check for _, s in eligible)
    progress.step("layer sensitivity", len(points) + int(with_last_k))
    rows = []
    for labels in points:
        inputs = [load_model(m.path, _options(config, layer=label, last_k=None), s.name)
                  for (m, s), label in zip(eligible, labels)]
        result = compare_all(inputs, **common)
        depth_of = {s.name: s.depth(label) for (_, s), label in zip(eligible, labels)}
        layer_of = dict(zip(names, labels))
        for row in _curve_rows(result, keep, {}):
            row.update({"layer_a": layer_of[row["a"]], "layer_b": layer_of[row["b"]],
                        "depth": 0.5 * (depth_of[row["a"]] + depth_of[row["b"]])})
            rows.append(row)
        progress.advance(1)
    curve = pd.DataFrame(rows)[["a", "b", "depth", "layer_a", "layer_b", "rho", "ci_low", "ci_high"]]
    curve = curve.sort_values(["a", "b", "depth"], kind="stable").reset_index(drop=True)
    last_k = None
    if with_last_k:
        inputs = [load_model(m.path, _options(config, layer=None, last_k=config.last_k_check), s.name) for m, s in eligible]
        result = compare_all(inputs, **common)
        last_k = pd.DataFrame(_curve_rows(result, keep, {"last_k": config.last_k_check}))
        last_k = last_k[["a", "b", "last_k", "rho", "ci_low", "ci_high"]]
        progress.advance(1)
    elif config.last_k_check > 0:
        notes.append(f"mean of the last {config.last_k_check} layers not shown: a file has fewer layers")
    return curve, last_k


def _geometry_layers(labels: Sequence[int], count: int) -> list[int]:
    if len(labels) <= count:
        return list(labels)
    idx = np.unique(np.round(np.linspace(0, len(labels) - 1, count)).astype(int))
    return [int(labels[i]) for i in idx]


def _geometry_table(config: ReportConfig, models: Sequence[ModelInput], summaries: Sequence[ModelSummary],
                    progress: ReportProgress, notes: list[str]) -> tuple[pd.DataFrame | None, dict[str, Any]]:
    from ..geometry import DEFAULT_CI_METHOD, geometry

    targets = [(m, s) for m, s in zip(models, summaries) if m.kind == "activations"]
    skipped = [s.name for m, s in zip(models, summaries) if m.kind != "activations"]
    if skipped:
        notes.append(f"no anisotropy for {', '.join(skipped)} (not an activations file)")
    settings = {"ci_method": DEFAULT_CI_METHOD, "n_boot": config.geometry_n_boot, "confidence": config.confidence,
                "seed": config.seed, "descriptors": list(GEOMETRY_DESCRIPTORS)}
    if not targets:
        return None, settings
    progress.step("anisotropy per layer", len(targets))
    rows = []
    for m, s in targets:
        layers = _geometry_layers(s.layers, config.geometry_layers)
        result = geometry(m.path, layers=layers, n_boot=config.geometry_n_boot, confidence=config.confidence,
                          ci_method=DEFAULT_CI_METHOD, seed=config.seed)
        for item in result.layers:
            for name in GEOMETRY_DESCRIPTORS:
                est = item[name]
                rows.append({"model": s.name, "layer": item.layer, "depth": s.depth(item.layer), "descriptor": name,
                             "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
                             "n_texts": item.n_baseline if name.startswith("baseline") else item.n_prompts,
                             "status": est.status, "note": est.note})
        for note in result.notes:
            notes.append(f"{s.name}: {note}")
        progress.advance(1)
    return pd.DataFrame(rows), settings


def _varies_within_model(paths: Sequence[str]) -> bool:
    """Whether two files of the same model differ in a method factor (read from their attributes)."""
    from ..variance import FACTORS, file_condition

    conditions = []
    for path in paths:
        with xr.open_dataset(path, engine="netcdf4", decode_times=False) as handle:
            conditions.append(file_condition(handle.attrs))
    factors = [f for f in FACTORS if f != "model"]
    return any(a["model"] == b["model"] and any(a[f] != b[f] for f in factors)
               for i, a in enumerate(conditions) for b in conditions[i + 1:])


def _decomposition(config: ReportConfig, models: Sequence[ModelInput], progress: ReportProgress, notes: list[str]):
    from ..variance import decompose

    if config.decompose == "no":
        return None
    required = config.decompose == "yes"
    if not required and not _varies_within_model([m.path for m in models if m.path]):
        notes.append("no variance decomposition: no two files of the same model differ in a method factor "
                     "(method, generation sub-parameters, precision, experiment)")
        return None
    progress.step("variance decomposition", config.decompose_n_boot)
    try:
        with _warnings_to(notes):
            result = decompose([m.path for m in models], names=[m.name for m in models], layer=config.layer,
                               last_k=config.last_k, normalization=config.normalization, n_pcs=config.n_pcs,
                               rdm=config.rdm, n_boot=config.decompose_n_boot, seed=config.seed,
                               progress=progress.advance)
    except (InputError, EstimationError) as exc:
        if required:
            raise
        notes.append(f"variance decomposition not computed: {exc}")
        return None
    for text in tuple(result.diagnostics.warnings) + tuple(result.diagnostics.notes):
        text = " ".join(str(text).split())
        if text not in notes:
            notes.append(text)
    return result


def _maturity(config: ReportConfig, models: Sequence[ModelInput], progress: ReportProgress,
              notes: list[str]) -> tuple[Any, ...]:
    """The a-priori maturity rule on every activations file of a base model; other files get a note."""
    from ..geometry import MATURITY_RULE, classify_maturity

    if config.maturity == "no":
        return ()
    results, skipped = [], {}
    for m in models:
        variant = str(m.rdm.attrs.get("variant", "") or "")
        if m.kind != "activations" or not m.path:
            skipped.setdefault(f"{m.kind} files: the rule needs prompts and baseline texts", []).append(m.name)
            continue
        if variant != "base":
            skipped.setdefault(f"variant {variant or 'unknown'}", []).append(m.name)
            continue
        progress.step(f"maturity rule: {m.name}", None)
        try:
            with _warnings_to(notes):
                results.append(classify_maturity(m.path, layer=config.layer, n_boot=config.maturity_n_boot, seed=config.seed))
        except (InputError, EstimationError) as exc:
            notes.append(f"{m.name}: maturity not computed: {exc}")
    if skipped:
        notes.append("The rule applies to base models only; not classified: "
                     + "; ".join(f"{', '.join(names)} ({why})" for why, names in skipped.items()) + ".")
    if config.last_k is not None and results:
        notes.append(f"The rule is evaluated at one layer ({MATURITY_RULE.layer}), not the mean of the last "
                     f"{config.last_k} layers the comparison uses.")
    return tuple(results)


def _audit(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileFormatError("audit file not found", path=p) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"not a JSON audit result (rsastats audit --json): {' '.join(str(exc).split())[:120]}",
                              path=p) from None
    if not isinstance(data, dict):
        raise FileFormatError("an audit result must be a JSON object (rsastats audit --json)", path=p)
    return data


# --------------------------------------------------------------------------- entry point
def analyse(config: ReportConfig, progress: ReportProgress | None = None) -> ReportAnalyses:
    """Compute everything a report shows.

    Raises the library's one-line :class:`~rsastats.exceptions.InputError` subclasses for bad
    files (unreadable, NaN/Inf, mismatched emotion sets, ...) before any resampling starts.
    """
    config = config.checked()
    progress = progress or _NoProgress()
    notes: dict[str, list[str]] = {"inputs": [], "comparison": [], "layers": [], "geometry": [], "decomposition": [],
                                   "maturity": []}
    audit = _audit(config.audit)  # a bad audit file should fail before the long work
    progress.step("loading files", None)
    for f in config.files:
        if not os.path.isfile(f):
            raise FileFormatError("file not found" if not os.path.exists(f) else "not a file", path=f)
    with _warnings_to(notes["inputs"]):
        models = load_models(list(config.files), _options(config), config.names)
    summaries = [_summary(m) for m in models]
    names = [m.name for m in models]
    reference = config.reference or names[0]
    if reference not in names:
        raise ValidationError(f"reference {reference!r} is not one of the models ({', '.join(names)})")
    scheme = config.bootstrap or default_scheme(models)

    progress.step("comparing every pair", config.n_boot)
    with _warnings_to(notes["comparison"]):
        comparison = compare_all(models, bootstrap=scheme, n_boot=config.n_boot, ci=config.ci,
                                 confidence=config.confidence, permutations=config.permutations, adjust=config.adjust,
                                 rank=config.rank, rdm=config.rdm,
                                 layer=config.layer, last_k=config.last_k, normalization=config.normalization,
                                 n_pcs=config.n_pcs, n_splits=config.n_splits, seed=config.seed,
                                 progress=progress.advance)

    ref_model = models[names.index(reference)]
    order = cluster_order(np.asarray(ref_model.rdm.matrix), ref_model.labels)
    rdms = {m.name: np.asarray(m.rdm.reorder(order).matrix) for m in models}
    mds = _embeddings(rdms, order, models[0].rdm.method or config.rdm, reference)

    layer_curve = last_k = None
    if config.layer_points:
        with _warnings_to(notes["layers"]):
            layer_curve, last_k = _layer_sensitivity(config, models, summaries, reference, scheme, progress,
                                                     notes["layers"])
    geometry_frame, geometry_settings = None, {}
    if config.geometry_layers:
        with _warnings_to(notes["geometry"]):
            geometry_frame, geometry_settings = _geometry_table(config, models, summaries, progress, notes["geometry"])
    decomposition = _decomposition(config, models, progress, notes["decomposition"])
    maturity = _maturity(config, models, progress, notes["maturity"])
    return ReportAnalyses(
        config=config, models=tuple(summaries), reference=reference, order=order, rdms=rdms,
        rdm_method=models[0].rdm.method or config.rdm, mds=mds, comparison=comparison, pairs=_pairs_table(comparison),
        ceilings=_ceiling_table(comparison), layer_curve=layer_curve, layer_last_k=last_k,
        layer_settings={"points": config.layer_points, "n_boot": config.layer_n_boot, "last_k": config.last_k_check,
                        "permutations": LAYER_CURVE_PERMUTATIONS, "bootstrap": scheme},
        geometry=geometry_frame, geometry_settings=geometry_settings, decomposition=decomposition, audit=audit,
        maturity=maturity, notes={k: v for k, v in notes.items() if v})
