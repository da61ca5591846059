"""The one loader: what the user gives (paths, datasets, RDMs) becomes validated, aligned inputs.

Two levels, used by every analysis:

:func:`open_source`   one file or in-memory dataset -> a validated :class:`Source` (its kind, dataset,
                      attributes and a name), reading only the layers asked for, in one opening.
:func:`load_models`   several inputs -> :class:`ModelInput` objects: each model's RDM and, for
                      activations, its per-prompt rows (built once; the RDM is made from them), with
                      every model's emotions put in the order of the first one.

Inputs whose emotion sets differ get one message everywhere (:func:`rsastats.labels.emotion_difference`),
naming the file that differs.
"""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import xarray as xr

from .checks import check_count
from .compare import align_rdms, as_rdm, check_emotion_count, check_not_constant
from .io import layer_offset, open_dataset, validate_dataset
from .exceptions import LabelError, RsaStatsWarning, ValidationError
from .labels import emotion_difference
from .rdm import RDM, rdm_from_rows, rdm_matrix, rdm_method_name, rdm_provenance
from .vectors import (DEFAULT_N_PCS, PromptRows, check_one_layer, normalization_name, prompt_rows, recorded_layers,
                      select_layers, vector_array)

__all__ = ["Source", "open_source", "kind_text", "check_same_emotions", "RDMOptions", "ModelInput", "load_model", "load_models",
           "layer_value", "split_file_layer", "file_path"]

KINDS = ("activations", "vectors", "rdm")


@dataclass(frozen=True)
class Source:
    """One validated input: a schema-v1 dataset, where it came from and what to call it."""

    name: str
    kind: str
    dataset: xr.Dataset = field(repr=False)
    path: str | None = None

    @property
    def attrs(self) -> Mapping[str, Any]:
        return self.dataset.attrs

    @property
    def emotions(self) -> tuple[str, ...]:
        return tuple(str(e) for e in self.dataset["emotion"].values)

    @property
    def where(self) -> str:
        """The path, or a description of an in-memory dataset, for messages and tables."""
        if self.path is not None:
            return self.path
        return _given_path(self) or f"<dataset {self.attrs.get('model', '')}>".replace(" >", ">")


def _given_path(source: Source) -> str | None:
    """Where an in-memory dataset says it came from (its ``source_path`` attribute, set by a caller that opened a
    file and cut it), for messages; ``None`` if it does not say."""
    return str(source.attrs.get("source_path", "") or "") or None


_KIND_TEXT = {"activations": "an activations file", "vectors": "a vector-set file", "rdm": "an RDM file"}


def kind_text(kind: str) -> str:
    """``"is an activations file"``, ``"is a vector-set file"``, ``"is an RDM file"``."""
    return f"is {_KIND_TEXT[kind]}"


def _kind_error(kind: str, kinds: Sequence[str], what: str) -> str:
    return f"{kind_text(kind)}; {what} needs {' or '.join(_KIND_TEXT[k] for k in kinds)}"


def open_source(obj: Any, *, name: str | None = None, layers: Any = None, kinds: Sequence[str] = KINDS,
                what: str = "this analysis") -> Source:
    """A validated :class:`Source` from a path or an ``xarray.Dataset`` (a :class:`Source` passes through).

    ``layers``: layer labels to read, or a function of the file's layer labels returning them (only
    those layers are loaded from disk).  ``kinds``: the file kinds ``what`` accepts; another kind is
    a one-line error naming the file.
    """
    if isinstance(obj, Source):
        source = obj if name is None else replace(obj, name=name)
    elif isinstance(obj, (str, os.PathLike)):
        path = str(obj)
        kind, ds = open_dataset(obj, layers=layers)
        source = Source(name or Path(path).stem, kind, ds, path)
    elif isinstance(obj, xr.Dataset):
        kind, ds = validate_dataset(obj, None)
        source = Source(name or str(ds.attrs.get("model") or kind), kind, ds, None)
    else:
        raise ValidationError(f"{what} takes file paths or xarray datasets, not a {type(obj).__name__}")
    if source.kind not in kinds:
        raise ValidationError(_kind_error(source.kind, kinds, what), path=source.where)
    return source


def layer_value(value: Any, what: str = "layer") -> int | None:
    """A layer choice as :func:`rsastats.vectors.select_layers` takes it: ``None``, an integer (a layer
    label, or a negative position from the end) or ``"last"`` (= ``-1``); a numeric string is read as
    an integer.  Anything else is a one-line error."""
    if value is None:
        return None
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "last":
            return -1
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
    raise ValidationError(f"{what} must be a layer number, a negative position from the end (-1 = last) or 'last'; "
                          f"got {value!r}")


def split_file_layer(obj: Any) -> tuple[Any, int | None]:
    """``"run.nc@15"`` -> ``("run.nc", 15)``; ``"run.nc@last"`` -> ``("run.nc", -1)``.

    A path that exists is taken as it is, ``@`` and all; so is any other input, and a name whose part
    after the last ``@`` is not a layer.  A missing file stays missing (the loader names it).
    """
    if not isinstance(obj, (str, os.PathLike)):
        return obj, None
    text = os.fspath(obj)
    if "@" not in text or os.path.exists(text):
        return obj, None
    path, _, spec = text.rpartition("@")
    if not path or not re.fullmatch(r"\s*([+-]?\d+|last)\s*", spec, flags=re.IGNORECASE):
        return obj, None
    return path, layer_value(spec, f"the layer after '@' in {text!r}")


def file_path(obj: Any) -> Any:
    """The file of an input that may carry a layer (``FILE@LAYER``): what to look for on disk."""
    return split_file_layer(obj)[0]


def check_same_emotions(sources: Sequence[Source]) -> None:
    """One :class:`LabelError` naming the first input whose emotion set differs from the first one's."""
    first = sources[0]
    for other in sources[1:]:
        if set(other.emotions) != set(first.emotions) or len(other.emotions) != len(first.emotions):
            raise LabelError(emotion_difference(first.emotions, other.emotions, first.name, other.name), path=other.where)


@dataclass(frozen=True)
class RDMOptions:
    """How a file becomes an RDM: dissimilarity, layer choice, normalization."""

    rdm: str = "cosine"
    layer: int | None = None
    last_k: int | None = None
    normalization: str = "raw"
    n_pcs: int = DEFAULT_N_PCS
    n_folds: int = 2

    def checked(self) -> "RDMOptions":
        return replace(self, rdm=rdm_method_name(self.rdm), normalization=normalization_name(self.normalization),
                       layer=layer_value(self.layer),
                       n_pcs=check_count("n_pcs", self.n_pcs, 1), n_folds=check_count("n_folds", self.n_folds, 2))

    def layer_selector(self, source: str | None) -> Callable[[list[int]], list[int]]:
        """The layer labels a file must load for these options, as a function of its labels."""
        return lambda labels: select_layers(labels, self.layer, self.last_k, source)[0]


@dataclass(frozen=True)
class ModelInput:
    """One model's geometry: its RDM and (for activations) its prompt rows."""

    name: str
    kind: str
    rdm: RDM
    rows: PromptRows | None
    layer_selection: str
    path: str | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict, repr=False)
    layers: tuple[int, ...] | None = None  # the rsastats layers used (None: not recorded, or convention unknown)
    layer_offset: int | None = 0  # rsastats layer = stored label + this (None: the file's convention is unknown)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.rdm.labels

    @property
    def has_prompts(self) -> bool:
        return self.rows is not None


def _geometry(source: Source, options: RDMOptions) -> tuple[RDM, PromptRows | None, str, tuple[int, ...] | None]:
    """The RDM (and prompt rows) of a source, each built once, and the layer labels used."""
    ds, path = source.dataset, source.path or _given_path(source)
    if source.kind == "rdm":
        _check_rdm_options(ds, options, path)
        return RDM.from_dataset(ds, path), None, "", recorded_layers(ds.attrs)
    name = str(ds.attrs.get("model") or path or "")
    if source.kind == "activations":
        rows = prompt_rows(ds, layer=options.layer, last_k=options.last_k, normalization=options.normalization,
                           n_pcs=options.n_pcs, source=path)
        chosen, description = select_layers(ds["layer"].values, options.layer, options.last_k, path)
        matrix = rdm_from_rows(rows, options.rdm, n_folds=options.n_folds, source=path)
        labels, norm = rows.emotions, rows.normalization
    else:
        rows = None
        if options.rdm == "crossval-euclidean":
            raise ValidationError("the cross-validated distance needs per-prompt activations; a vector file has none",
                                  path=path)
        labels, vectors, description = vector_array(ds, layer=options.layer, last_k=options.last_k,
                                                    normalization=options.normalization, source=path)
        chosen = (select_layers(ds["layer"].values, options.layer, options.last_k, path)[0] if "layer" in ds.dims
                  else recorded_layers(ds.attrs))
        matrix = rdm_matrix(vectors, options.rdm, labels=labels, source=path)
        norm = options.normalization
    rdm = RDM(matrix, tuple(labels), options.rdm, name, rdm_provenance(ds.attrs, description, norm))
    return rdm, rows, description, None if chosen is None else tuple(int(x) for x in chosen)


def _restricted(source: Source, emotions: Sequence[str]) -> Source:
    """``source`` on ``emotions`` (in that order), cut before any RDM or prompt row is made from it (a
    normalization over emotions then sees only these); a one-line error names emotions it lacks."""
    have = source.emotions
    missing = [e for e in emotions if e not in set(have)]
    if missing:
        raise LabelError(f"lacks {len(missing)} of the emotions asked for: {', '.join(missing)}", path=source.where)
    if list(have) == list(emotions):
        return source
    keep = {"emotion": list(emotions)}
    if source.kind == "rdm":
        keep["emotion_"] = list(emotions)
    return replace(source, dataset=source.dataset.sel(keep))


def _restricted_rdm(rdm: RDM, emotions: Sequence[str]) -> RDM:
    missing = [e for e in emotions if e not in set(rdm.labels)]
    if missing:
        raise LabelError(f"lacks {len(missing)} of the emotions asked for: {', '.join(missing)}", path=rdm.source or None)
    pos = {lab: i for i, lab in enumerate(rdm.labels)}
    idx = np.array([pos[e] for e in emotions])
    return RDM(rdm.matrix[np.ix_(idx, idx)], tuple(emotions), rdm.method, rdm.source, rdm.attrs)


def load_model(obj: Any, options: RDMOptions | None = None, name: str | None = None,
               emotions: Sequence[str] | None = None) -> ModelInput:
    """A :class:`ModelInput` from a path, a dataset, a :class:`Source`, an :class:`RDM`, a square array
    or a ModelInput; with ``emotions``, on those emotions only (a file or dataset is cut before its RDM
    is made; an RDM is cut; a ModelInput or an array cannot be)."""
    options = (options or RDMOptions()).checked()
    if emotions is not None and isinstance(obj, (ModelInput, np.ndarray, list)):
        raise ValidationError(f"a {type(obj).__name__} cannot be restricted to some emotions: give a file, a dataset "
                              "or an RDM")
    if isinstance(obj, ModelInput):
        return obj if name is None else replace(obj, name=name)
    if isinstance(obj, RDM):
        rdm = obj if emotions is None else _restricted_rdm(obj, [str(e) for e in emotions])
        return ModelInput(name or obj.source or "rdm", "rdm", rdm, None, str(obj.attrs.get("layer_selection", "")))
    if isinstance(obj, (np.ndarray, list)):
        return ModelInput(name or "rdm", "rdm", as_rdm(obj, name or ""), None, "")
    if not isinstance(obj, (str, os.PathLike, xr.Dataset, Source)):
        raise ValidationError(f"cannot compare a {type(obj).__name__}: give a file path, an xarray dataset or an RDM")
    given, (obj, file_layer) = obj, split_file_layer(obj)
    if file_layer is not None:  # FILE@LAYER: this file's own layer, over the default
        options = replace(options, layer=file_layer, last_k=None)
    path = str(obj) if isinstance(obj, (str, os.PathLike)) else None
    source = open_source(obj, layers=options.layer_selector(path) if path else None)
    if emotions is not None:
        source = _restricted(source, [str(e) for e in emotions])
    if path and "layer" in source.dataset.coords and source.kind != "rdm":
        # Only the chosen layers were read: choose all of them (a negative position would now count
        # back within the subset).
        options = replace(options, layer=None, last_k=source.dataset.sizes["layer"])
    label = name or (Path(source.path).stem if source.path else str(source.attrs.get("model") or source.kind))
    if name is None and file_layer is not None:
        label = f"{label}@{os.fspath(given).rpartition('@')[2].strip()}"
    rdm, rows, description, used = _geometry(source, options)
    rdm = replace(rdm, source=source.path or _given_path(source) or rdm.source or label)
    layer_text = str(rdm.attrs.get("layer_selection", "")) if source.kind == "rdm" else description
    offset = layer_offset(source.attrs) if source.kind != "rdm" else 0
    physical = None if used is None or offset is None else tuple(x + offset for x in used)
    return ModelInput(label, source.kind, rdm, rows, layer_text, source.path, dict(source.attrs), physical, offset)


def _check_rdm_options(ds: xr.Dataset, options: RDMOptions, path: str | None) -> None:
    """An RDM file is used as stored: options that would change how it was made are refused
    (nothing is silently ignored); a different dissimilarity than requested is a warning."""
    if options.normalization != "raw":
        raise ValidationError("an RDM file holds no vectors: normalization cannot be applied to it", path=path)
    check_one_layer(ds.attrs, options.layer, options.last_k, "RDM", path)
    stored = str(ds.attrs.get("rdm_method", ""))
    if stored and stored != options.rdm:
        warnings.warn(f"{path or str(ds.attrs.get('source') or 'an RDM input')}: stored as a {stored} RDM while the others "
                      f"use {options.rdm}", RsaStatsWarning, stacklevel=4)


def _reorder_rows(rows: PromptRows, labels: Sequence[str]) -> PromptRows:
    pos = {lab: i for i, lab in enumerate(rows.emotions)}
    idx = np.array([pos[x] for x in labels])
    return replace(rows, values=rows.values[idx], valid=rows.valid[idx], emotions=tuple(labels))


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        if names.count(n) > 1:
            seen[n] = seen.get(n, 0) + 1
            out.append(f"{n}#{seen[n]}")
        else:
            out.append(n)
    return out


def load_models(objs: Sequence[Any], options: RDMOptions | None = None, names: Sequence[str] | None = None,
                minimum: int = 2, emotions: Sequence[str] | None = None) -> list[ModelInput]:
    """Load and align several models: each one's emotions in the order of the first model's; a
    one-line error names a model whose emotion set differs or whose RDM is constant.  With
    ``emotions``, every model on those emotions only (:func:`load_model`)."""
    if isinstance(objs, (str, os.PathLike, xr.Dataset, RDM, Source)):
        raise ValidationError("give a sequence of models, not a single one")
    objs = list(objs)
    if len(objs) < minimum:
        raise ValidationError(f"need at least {minimum} models; got {len(objs)}")
    if names is not None and len(names) != len(objs):
        raise ValidationError(f"{len(names)} names for {len(objs)} models")
    models = [load_model(o, options, None if names is None else names[i], emotions) for i, o in enumerate(objs)]
    if names is None:
        models = [replace(m, name=n) for m, n in zip(models, _unique_names([m.name for m in models]))]
    first = models[0]
    check_emotion_count(first.rdm.n_emotions, first.path)
    out = []
    for m in models:
        try:
            _, aligned = align_rdms(first.rdm, m.rdm, first.name, m.name)
        except LabelError as exc:
            raise LabelError(f"{exc.problem}", path=m.path) from None
        check_not_constant(aligned, m.layer_selection)
        rows = m.rows if m.rows is None or m.rows.emotions == aligned.labels else _reorder_rows(m.rows, aligned.labels)
        out.append(replace(m, rdm=aligned, rows=rows))
    _warn_unlike_producers(out, (options or RDMOptions()).normalization)
    return out


def _warn_unlike_producers(models: Sequence[ModelInput], normalization: str) -> None:
    """A warning where imported vectors were made unlike the others in a way their RDMs show by themselves: centred
    on their mean over emotions by their producer (emotion-probes), or linear-probe directions (concept-probes)."""
    def those(key: str, start: str) -> list[str]:
        return [m.name for m in models if str((m.attrs or {}).get(key, "")).startswith(start)]

    centred, probes = those("producer_centring", "emotion-mean"), those("producer_method", "linear probe")
    if centred and len(centred) < len(models) and normalization == "raw":
        warnings.warn(f"{', '.join(centred)}: the producer centred these vectors on their mean over emotions and the "
                      "others' are not centred, so their cosine RDMs differ by that alone; --normalization emotion-mean "
                      "centres every input alike", RsaStatsWarning, stacklevel=3)
    if probes and len(probes) < len(models):
        warnings.warn(f"{', '.join(probes)}: linear-probe directions compared with vectors that are not (mean "
                      "activations): rho says how alike the two kinds of vectors are arranged, which is a question of "
                      "method as much as of geometry", RsaStatsWarning, stacklevel=3)
