"""The report's sections beyond the main comparison, each computed when the settings ask for it and
the files allow it: rho across layers (:func:`layer_sensitivity`), anisotropy per layer
(:func:`geometry_table`), the variance decomposition (:func:`decomposition`), the a-priori maturity
rule (:func:`maturity`), every file against hypothesis RDMs (:func:`hypotheses`), and an audit result
saved as JSON (:func:`read_audit`).  Each appends what a reader should know to its section's ``notes``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..io import NETCDF_LOCK, open_netcdf
from ..compare import check_not_constant
from ..exceptions import EstimationError, FileFormatError, InputError, ValidationError
from ..inputs import ModelInput, load_model, split_file_layer
from ..inference.pairs import CompareAllResult, compare_all
from .config import ReportConfig
from .models import ModelSummary, rdm_options
from .progress import ReportProgress, warnings_to

__all__ = ["GEOMETRY_DESCRIPTORS", "LAYER_CURVE_PERMUTATIONS", "layer_sensitivity", "geometry_table", "has_layer_curve",
           "decomposition", "maturity", "hypotheses", "read_audit"]


# Descriptors the anisotropy section shows (see rsastats.geometry for their definitions).
GEOMETRY_DESCRIPTORS = ("baseline_anisotropy", "emotion_mean_cosine")

# The layer curve shows rho and its CI only; its Mantel p-values are not used, so few permutations.
LAYER_CURVE_PERMUTATIONS = 99


# --------------------------------------------------------------------------- rho across layers
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


def layer_sensitivity(config: ReportConfig, models: Sequence[ModelInput], summaries: Sequence[ModelSummary],
                       reference: str, scheme: str, progress: ReportProgress, notes: list[str],
                       main: CompareAllResult | None = None):
    """rho across relative depths (and for the mean of the last layers).  Where a point of the curve
    is the main comparison's own layer choice, the main comparison's rho and CI are shown, so that
    a pair has one CI in a report."""
    eligible = [(m, s) for m, s in zip(models, summaries) if m.kind != "rdm" and len(s.layers) >= 2]
    skipped = [s.name for m, s in zip(models, summaries) if (m, s) not in eligible]
    if len(eligible) < 2:
        notes.append("the layer curves need at least 2 activations or vector files with several layers; "
                     f"{', '.join(skipped)} hold one layer or are RDM files")
        return None, None
    if skipped:
        notes.append(f"not in the layer curves (fewer than 2 layers, or an RDM file): {', '.join(skipped)}")
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
        where = ", ".join(f"{s.name} layer {label}" for (_, s), label in zip(eligible, labels))
        try:
            inputs = [load_model(m.path, rdm_options(config, layer=label, last_k=None), s.name)
                      for (m, s), label in zip(eligible, labels)]
        except ValidationError as exc:  # e.g. an emotion vector of length 0 at this layer only
            notes.append(f"layer curves: the point at {where} is left out: {exc}")
            progress.advance(1)
            continue
        if main is not None and all(m.layers == (label,) for (m, _), label in zip(eligible, labels)):
            result = main  # the main comparison's own layers: its numbers, not a second interval
        else:
            result = None
        flat = [] if result is not None else _constant_rdms(inputs)
        if flat:
            notes.append(f"layer curves: the point at {where} is left out: the RDM of {', '.join(flat)} is constant "
                         "there (all off-diagonal dissimilarities equal; e.g. every text ends on the same template token "
                         "at that layer), so no rank correlation is defined")
            progress.advance(1)
            continue
        result = result or compare_all(inputs, **common)
        depth_of = {s.name: s.depth(label) for (_, s), label in zip(eligible, labels)}
        layer_of = dict(zip(names, labels))
        for row in _curve_rows(result, keep, {}):
            row.update({"layer_a": layer_of[row["a"]], "layer_b": layer_of[row["b"]],
                        "depth": 0.5 * (depth_of[row["a"]] + depth_of[row["b"]])})
            rows.append(row)
        progress.advance(1)
    if not rows:
        notes.append("no layer curve: every depth had a constant RDM")
        return None, None
    curve = pd.DataFrame(rows)[["a", "b", "depth", "layer_a", "layer_b", "rho", "ci_low", "ci_high"]]
    curve = curve.sort_values(["a", "b", "depth"], kind="stable").reset_index(drop=True)
    last_k = None
    if with_last_k:
        chosen = [tuple(s.layers[-config.last_k_check:]) for _, s in eligible]
        if main is not None and all(m.layers == c for (m, _), c in zip(eligible, chosen)):
            result = main
        else:
            inputs = [load_model(m.path, rdm_options(config, layer=None, last_k=config.last_k_check), s.name)
                      for m, s in eligible]
            result = compare_all(inputs, **common)
        last_k = pd.DataFrame(_curve_rows(result, keep, {"last_k": config.last_k_check}))
        last_k = last_k[["a", "b", "last_k", "rho", "ci_low", "ci_high"]]
        progress.advance(1)
    elif config.last_k_check > 0:
        notes.append(f"mean of the last {config.last_k_check} layers not shown: a file has fewer layers")
    return curve, last_k


def _constant_rdms(inputs: Sequence[ModelInput]) -> list[str]:
    """The inputs that cannot enter a rank correlation: their RDM is constant at this layer (e.g. the
    last token of every text is the same chat-template token at the embedding layer)."""
    out = []
    for model in inputs:
        try:
            check_not_constant(model.rdm, model.layer_selection)
        except ValidationError:
            out.append(model.name)
    return out


# --------------------------------------------------------------------------- anisotropy per layer
def _geometry_layers(labels: Sequence[int], count: int) -> list[int]:
    if len(labels) <= count:
        return list(labels)
    idx = np.unique(np.round(np.linspace(0, len(labels) - 1, count)).astype(int))
    return [int(labels[i]) for i in idx]


def geometry_table(config: ReportConfig, models: Sequence[ModelInput], summaries: Sequence[ModelSummary],
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
        options = dict(n_boot=config.geometry_n_boot, confidence=config.confidence, ci_method=DEFAULT_CI_METHOD,
                       seed=config.seed)
        try:
            items, result_notes = _geometry_items(geometry, m.path, layers, options)
        except (InputError, EstimationError):
            items, result_notes = _geometry_by_layer(geometry, m.path, layers, options, f"{s.name}: ", notes)
        for item in items:
            for name in GEOMETRY_DESCRIPTORS:
                est = item[name]
                rows.append({"model": s.name, "layer": item.layer, "depth": s.depth(item.layer), "descriptor": name,
                             "estimate": est.estimate, "ci_low": est.ci_low, "ci_high": est.ci_high,
                             "n_texts": item.n_baseline if name.startswith("baseline") else item.n_prompts,
                             "status": est.status, "note": est.note})
        for note in result_notes:
            notes.append(f"{s.name}: {note}")
        progress.advance(1)
    if not rows:
        return None, settings
    frame = pd.DataFrame(rows)
    if not has_layer_curve(frame):
        notes.append("no anisotropy figure: every file gives one layer, so there is no curve over depth (the table has "
                     "the numbers)")
    return frame, settings


def _geometry_items(geometry: Callable[..., Any], path: str, layers: Sequence[int],
                    options: dict[str, Any]) -> tuple[list[Any], list[str]]:
    result = geometry(path, layers=list(layers), **options)
    return list(result.layers), list(result.notes)


def _geometry_by_layer(geometry: Callable[..., Any], path: str, layers: Sequence[int], options: dict[str, Any],
                       name: str, notes: list[str]) -> tuple[list[Any], list[str]]:
    """Where the layers of a file together cannot be described (e.g. an all-zero text vector at one layer), each layer
    on its own: the others are kept, and each layer left out gets a note saying why."""
    items: list[Any] = []
    result_notes: list[str] = []
    failed: dict[int, str] = {}
    for layer in layers:
        try:
            got, said = _geometry_items(geometry, path, [layer], options)
        except (InputError, EstimationError) as exc:
            failed[layer] = exc.problem
            continue
        items += got
        result_notes += [x for x in said if x not in result_notes]
    if not items and len(set(failed.values())) == 1:  # one reason for the whole file: said once
        notes.append(f"{name}no anisotropy: {next(iter(failed.values()))}")
    else:
        notes.extend(f"{name}no anisotropy at layer {layer}: {why}" for layer, why in failed.items())
    return items, result_notes


def has_layer_curve(frame: pd.DataFrame) -> bool:
    """Whether an anisotropy frame has a curve to draw: some model at two or more layers."""
    return not frame.empty and bool((frame.groupby("model")["layer"].nunique() >= 2).any())


# --------------------------------------------------------------------------- method effects and maturity
def _varies_within_model(conditions: Sequence[dict[str, str]], unknown: set[str]) -> bool:
    """Whether two files of the same model differ in a method factor whose level every file records."""
    from ..variance import FACTORS

    if "model" in unknown:
        return False
    factors = [f for f in FACTORS if f != "model" and f not in unknown]
    return any(a["model"] == b["model"] and any(a[f] != b[f] for f in factors)
               for i, a in enumerate(conditions) for b in conditions[i + 1:])


def _known_components(models: Sequence[ModelInput], notes: list[str]) -> tuple[list[dict[str, str]], set[str], list[str]]:
    """Each file's condition, the factors some file does not record, and the default components
    without them: a level nobody recorded is not a level, so no decomposition is run over it."""
    from ..variance.design import DEFAULT_COMPONENTS, UNKNOWN, file_condition

    conditions = [file_condition(_file_attrs(m)) for m in models]
    unknown = {f for c in conditions for f, level in c.items() if level == UNKNOWN}
    for factor in sorted(unknown):
        names = [m.name for m, c in zip(models, conditions) if c[factor] == UNKNOWN]
        notes.append(f"{factor} is not in the decomposition: its level is unknown (not recorded) for {', '.join(names)}")
    components = [c for c in DEFAULT_COMPONENTS if not set(c.split(":")) & unknown]
    return conditions, unknown, components


def _file_attrs(model: ModelInput) -> Any:
    if model.attrs or not model.path:
        return model.attrs
    with NETCDF_LOCK, open_netcdf(model.path, decode_times=False) as handle:
        return dict(handle.attrs)


def decomposition(config: ReportConfig, models: Sequence[ModelInput], progress: ReportProgress, notes: list[str]):
    from ..variance import decompose

    if config.decompose == "no":
        return None
    required = config.decompose == "yes"
    conditions, unknown, components = _known_components(models, notes)
    if not required and not _varies_within_model(conditions, unknown):
        notes.append("no variance decomposition: no two files of the same model differ in a method factor that every "
                     "file records (method, generation sub-parameters, precision, experiment)")
        return None
    if "model" in unknown or not any(c != "model" for c in components):
        why = "no variance decomposition: the model and at least one method factor must be recorded by every file"
        if required:
            raise ValidationError(why)
        notes.append(why)
        return None
    progress.step("variance decomposition", config.decompose_n_boot)
    try:
        with warnings_to(notes):
            result = decompose(list(config.files), names=[m.name for m in models], components=components,
                               layer=config.layer,
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


def check_resample_counts(config: ReportConfig, models: Sequence[ModelInput]) -> None:
    """Refuse, before any section runs, a section's resample count whose replicates would not fit the
    memory limit (the bound each section applies when it starts, named by the report's option)."""
    from ..geometry.resampling import replicate_bytes
    from ..limits import check_count_fits
    from ..variance import DEFAULT_COMPONENTS
    from ..variance.design import parse_components

    n = models[0].rdm.n_emotions
    cells, n_pairs = n * (n - 1) // 2, len(models) * (len(models) - 1) // 2
    if config.layer_points:
        check_count_fits("--layer-n-boot", config.layer_n_boot, 8 * (n + cells + 3 * n_pairs))
    if config.geometry_layers:
        check_count_fits("--geometry-n-boot", config.geometry_n_boot, replicate_bytes(n))
    if config.maturity != "no":
        check_count_fits("--maturity-n-boot", config.maturity_n_boot, replicate_bytes(n))
    if config.decompose != "no":
        comps = parse_components(DEFAULT_COMPONENTS)
        check_count_fits("--decompose-n-boot", config.decompose_n_boot, 1024 + 24 * (len(comps) + 1 + n_pairs))


def maturity(config: ReportConfig, models: Sequence[ModelInput], progress: ReportProgress,
              notes: list[str]) -> tuple[Any, ...]:
    """The a-priori maturity rule on every activations file of a base model; other files get a note.
    A file given as FILE@LAYER is classified at its own layer (as every other section reads it), the
    others at ``config.layer`` (default: the rule's)."""
    from ..geometry import MATURITY_RULE, classify_maturity

    if config.maturity == "no":
        return ()
    results, skipped = [], {}
    for m, spec in zip(models, config.files):
        own_layer = split_file_layer(spec)[1]
        variant = str(m.rdm.attrs.get("variant", "") or "")
        if m.kind != "activations" or not m.path:
            skipped.setdefault(f"{m.kind} files: the rule needs prompts and baseline texts", []).append(m.name)
            continue
        if variant != "base":
            skipped.setdefault(f"variant {variant or 'unknown'}", []).append(m.name)
            continue
        progress.step(f"maturity rule: {m.name}", None)
        try:
            with warnings_to(notes):
                results.append(classify_maturity(m.path, layer=config.layer if own_layer is None else own_layer,
                                                 n_boot=config.maturity_n_boot, seed=config.seed))
        except (InputError, EstimationError) as exc:
            notes.append(f"{m.name}: maturity not computed: {exc}")
    if skipped:
        notes.append("The rule applies to base models only; not classified: "
                     + "; ".join(f"{', '.join(names)} ({why})" for why, names in skipped.items()) + ".")
    if config.last_k is not None and results:
        notes.append(f"The rule is evaluated at one layer ({MATURITY_RULE.layer}), not the mean of the last "
                     f"{config.last_k} layers the comparison uses.")
    return tuple(results)


def hypotheses(config: ReportConfig, models: Sequence[ModelInput], progress: ReportProgress):
    """Every file against every hypothesis (and, with ``config.partial``, the partial Mantel test of each
    given the confounds; with ``config.common_emotions``, on the emotions every hypothesis has): :func:`~rsastats.inference.hypotheses.compare_hypotheses` with the main
    comparison's settings and seed, so the numbers are those of ``rsastats hypotheses``."""
    from ..inference.hypotheses import compare_hypotheses

    progress.step("hypotheses", config.n_boot * len(models))
    # With common emotions the files are read again, cut before their RDMs are made (as the command does).
    data = list(config.files) if config.common_emotions else list(models)
    return compare_hypotheses(data, list(config.hypotheses), confounds=list(config.partial),
                              common_emotions=config.common_emotions, names=[m.name for m in models],
                              bootstrap=config.bootstrap, n_boot=config.n_boot, ci=config.ci,
                              confidence=config.confidence, permutations=config.permutations, adjust=config.adjust,
                              rank=config.rank, rdm=config.rdm, layer=config.layer, last_k=config.last_k,
                              normalization=config.normalization, n_pcs=config.n_pcs, n_splits=config.n_splits,
                              seed=config.seed, progress=progress.advance)


def read_audit(path: str | None) -> dict[str, Any] | None:
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
