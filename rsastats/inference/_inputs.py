"""Turning what the user gives (paths, datasets, RDMs) into aligned model geometries.

A :class:`ModelInput` holds one model's point-estimate RDM and, for activations, its per-prompt rows
(so that prompts can be resampled).  :func:`load_models` loads several, checks them, and puts every
model's emotions in the order of the first one (a one-line error names the difference when the
emotion sets differ).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import xarray as xr

from .._validation import check_count
from ..compare import align_rdms, as_rdm, check_emotion_count, check_not_constant
from ..data import file_kind, open_dataset
from ..exceptions import LabelError, RsaStatsWarning, ValidationError
from ..rdm import RDM, rdm_from_dataset, rdm_method_name
from ..vectors import DEFAULT_N_PCS, PromptRows, normalization_name, prompt_rows, select_layers

__all__ = ["RDMOptions", "ModelInput", "load_model", "load_models"]


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
                       n_pcs=check_count("n_pcs", self.n_pcs, 1), n_folds=check_count("n_folds", self.n_folds, 2))


@dataclass(frozen=True)
class ModelInput:
    """One model's geometry: its RDM and (for activations) its prompt rows."""

    name: str
    kind: str
    rdm: RDM
    rows: PromptRows | None
    layer_selection: str
    path: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.rdm.labels

    @property
    def has_prompts(self) -> bool:
        return self.rows is not None


def _peek_layers(path: Path) -> list[int] | None:
    """Layer labels of a file without loading its arrays (None if it cannot be peeked)."""
    try:
        with xr.open_dataset(path, engine="netcdf4", decode_times=False) as handle:
            if "layer" in handle.coords:
                return [int(x) for x in handle["layer"].values]
    except Exception:  # the full reader will produce the proper one-line error
        return None
    return None


def _open(path: str | os.PathLike, options: RDMOptions) -> tuple[str, xr.Dataset]:
    """Read a file, loading only the layers the options need."""
    p = Path(path)
    layers = None
    if p.is_file():
        labels = _peek_layers(p)
        if labels:
            try:
                layers, _ = select_layers(labels, options.layer, options.last_k, str(p))
            except ValidationError:
                layers = None  # let the full read report it with the file's context
    return open_dataset(p, layers=layers)


def load_model(obj: Any, options: RDMOptions | None = None, name: str | None = None) -> ModelInput:
    """A :class:`ModelInput` from a path, an xarray dataset, an :class:`RDM` or a ModelInput."""
    options = (options or RDMOptions()).checked()
    if isinstance(obj, ModelInput):
        return obj if name is None else replace(obj, name=name)
    if isinstance(obj, RDM):
        return ModelInput(name or obj.source or "rdm", "rdm", obj, None, str(obj.attrs.get("layer_selection", "")))
    if isinstance(obj, (np.ndarray, list)):
        rdm = as_rdm(obj, name or "")
        return ModelInput(name or "rdm", "rdm", rdm, None, "")
    path: str | None = None
    if isinstance(obj, (str, os.PathLike)):
        path = str(obj)
        kind, ds = _open(obj, options)
    elif isinstance(obj, xr.Dataset):
        kind = file_kind(obj)
        ds = obj
    else:
        raise ValidationError(f"cannot compare a {type(obj).__name__}: give a file path, an xarray dataset or an RDM")
    label = name or (Path(path).stem if path else str(ds.attrs.get("model") or kind))
    if kind == "rdm":
        _check_rdm_options(ds, options, path)
    rdm = rdm_from_dataset(ds, method=options.rdm, layer=options.layer, last_k=options.last_k,
                           normalization=options.normalization, n_pcs=options.n_pcs, n_folds=options.n_folds, source=path)
    rdm = replace(rdm, source=path or rdm.source or label)
    rows = None
    if kind == "activations":
        rows = prompt_rows(ds, layer=options.layer, last_k=options.last_k, normalization=options.normalization,
                           n_pcs=options.n_pcs, source=path)
    return ModelInput(label, kind, rdm, rows, str(rdm.attrs.get("layer_selection", "")), path)


def _check_rdm_options(ds: xr.Dataset, options: RDMOptions, path: str | None) -> None:
    """An RDM file is used as stored: options that would change how it was made are refused
    (nothing is silently ignored); a different dissimilarity than requested is a warning."""
    given = [flag for flag, used in (("layer", options.layer is not None), ("last_k", options.last_k is not None),
                                     ("normalization", options.normalization != "raw")) if used]
    if given:
        raise ValidationError(f"an RDM file holds no vectors: {', '.join(given)} cannot be applied to it", path=path)
    stored = str(ds.attrs.get("rdm_method", ""))
    if stored and stored != options.rdm:
        warnings.warn(f"{path or str(ds.attrs.get('source') or 'an RDM input')}: stored as a {stored} RDM while the others use {options.rdm}", RsaStatsWarning,
                      stacklevel=3)


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
                minimum: int = 2) -> list[ModelInput]:
    """Load and align several models (see the module docstring)."""
    if isinstance(objs, (str, os.PathLike, xr.Dataset, RDM)):
        raise ValidationError("give a sequence of models, not a single one")
    objs = list(objs)
    if len(objs) < minimum:
        raise ValidationError(f"need at least {minimum} models; got {len(objs)}")
    if names is not None and len(names) != len(objs):
        raise ValidationError(f"{len(names)} names for {len(objs)} models")
    models = [load_model(o, options, None if names is None else names[i]) for i, o in enumerate(objs)]
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
        check_not_constant(aligned)
        rows = m.rows if m.rows is None or m.rows.emotions == aligned.labels else _reorder_rows(m.rows, aligned.labels)
        out.append(replace(m, rdm=aligned, rows=rows))
    return out
