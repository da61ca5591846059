"""Readers of per-prompt activations made by other tools (``import_activations``; ``rsastats import --prompts``).

An activations file holds one vector per prompt, which is what rho_corrected and the split-half noise ceilings need
(a vector set holds one per emotion).  The sources:

``.npy``, ``.pt``                a 3-D (emotion, prompt, hidden) or 4-D (emotion, prompt, layer, hidden) array;
                                 labels from ``--labels``;
``.npz``, ``.safetensors``,      one such array (``--key``, or the only 3-D/4-D array) with labels from an
a ``.pt`` dict                   ``emotions``/``labels`` array or ``--labels``, layer indices from a ``layers`` array,
                                 and optionally a ``valid`` (emotion, prompt) array of 0/1 and a ``text`` (emotion,
                                 prompt) array of strings; or one array per emotion, keyed by its name: 2-D (prompt,
                                 hidden) or 3-D (prompt, layer, hidden);
``.csv``/``.tsv``                one row per prompt: the emotion column, numeric columns, and optionally a ``text``
                                 column (the prompt's text); an emotion's rows are its prompts, in file order;
per-emotion files                ``happy.npy``, ``happy.pt``: a (prompt, hidden) or (prompt, layer, hidden) array each.

Emotions may have different numbers of prompts (per-emotion arrays, CSV rows): the shorter ones are padded with
prompts marked invalid (``valid`` = 0), as in rsastats' own files.  In one padded array, a prompt whose values are all
NaN is such padding, unless a ``valid`` array says which prompts count; a prompt with some NaN values and not others
is an error naming it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ...exceptions import ImportFormatError, LabelError
from .arrays import _LABEL_KEYS, _LAYER_KEYS, load_csv_table, load_npy, load_torch, read_mapping
from .entries import shape_text

__all__ = ["PromptTable", "read_prompt_table"]

_VALID_KEYS = ("valid",)
_TEXT_KEYS = ("text", "texts")
TEXT_COLUMN = "text"


@dataclass(frozen=True)
class PromptTable:
    """What a reader found: ``values`` (emotion, prompt, hidden) or (emotion, prompt, layer, hidden) (padding NaN),
    ``valid`` (emotion, prompt) bool, the emotion labels, the producer's layer indices (None: ``0..n-1`` or no layer
    axis), ``convention`` (None: unknown) and the prompts' texts (None where the source holds none)."""

    values: np.ndarray
    valid: np.ndarray
    labels: list[str]
    layers: list[int] | None = None
    convention: str | None = None
    text: np.ndarray | None = None


def _numeric(value: Any, what: str, path: Path) -> np.ndarray:
    value = np.asarray(value)
    if value.dtype.kind not in "iuf":
        raise ImportFormatError(f"{what} is not numeric (dtype {value.dtype})", path=path)
    return value


def _padded(entries: Mapping[str, Any], names: Sequence[str], path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per-emotion (prompt, hidden) or (prompt, layer, hidden) arrays stacked along a prompt axis padded with NaN,
    and the valid mask (the padding invalid)."""
    arrays = {n: _numeric(entries[n], f"emotion {n!r}", path) for n in names}
    dims = {a.ndim for a in arrays.values()}
    if not dims <= {2, 3} or len(dims) != 1:
        shown = ", ".join(f"{n} {shape_text(a.shape)}" for n, a in list(arrays.items())[:4])
        raise ImportFormatError(f"expected one (prompt, hidden) or (prompt, layer, hidden) array per emotion, all of "
                                f"one kind; got {shown}", path=path)
    trailing = {n: a.shape[1:] for n, a in arrays.items()}
    if len(set(trailing.values())) != 1:
        shown = ", ".join(f"{n} {shape_text(a.shape)}" for n, a in list(arrays.items())[:6])
        raise ImportFormatError(f"the emotions' arrays differ beyond their prompt axis: {shown} (every emotion needs "
                                "the same layers and hidden size)", path=path)
    empty = [n for n, a in arrays.items() if a.shape[0] == 0]
    if empty:
        raise ImportFormatError(f"emotion {empty[0]!r} holds no prompts", path=path)
    n_p = max(a.shape[0] for a in arrays.values())
    dtype = np.result_type(np.float32, *(a.dtype for a in arrays.values()))  # float32 stays float32 (memory)
    values = np.full((len(names), n_p, *trailing[names[0]]), np.nan, dtype=dtype)
    valid = np.zeros((len(names), n_p), dtype=bool)
    for i, n in enumerate(names):
        values[i, : arrays[n].shape[0]] = arrays[n]
        valid[i, : arrays[n].shape[0]] = True
    return values, valid


def _per_emotion_table(entries: Mapping[str, Any], labels: list[str] | None, what: str, path: Path) -> PromptTable:
    """One array per emotion, keyed by its name, in the order of ``labels`` (which must name the same emotions)."""
    names = list(entries)
    if labels is not None:
        if sorted(labels) != sorted(names):
            raise LabelError(f"--labels do not match the {what} ({', '.join(names)})", path=path)
        names = list(labels)
    values, valid = _padded(entries, names, path)
    return PromptTable(values, valid, names)


def _nan_padding(values: np.ndarray, labels: Sequence[str], path: Path) -> np.ndarray:
    """The valid mask of one padded array: a prompt all NaN is padding; partly NaN is an error."""
    flat = np.isnan(values).reshape(values.shape[0], values.shape[1], -1)
    some, every = flat.any(axis=-1), flat.all(axis=-1)
    partial = some & ~every
    if partial.any():
        e, p = np.argwhere(partial)[0]
        raise ImportFormatError(f"emotion {labels[e]!r}, prompt {p}: some values are NaN and others not (a prompt "
                                "without an activation must be NaN throughout, or marked in a 'valid' array)", path=path)
    return ~every


def _from_array(values: np.ndarray, labels: list[str] | None, path: Path, layers: list[int] | None = None,
                valid: Any = None, text: Any = None) -> PromptTable:
    values = _numeric(values, "the activations", path)
    if values.ndim not in (3, 4):
        raise ImportFormatError(f"expected a 3-D (emotion, prompt, hidden) or 4-D (emotion, prompt, layer, hidden) "
                                f"array of per-prompt activations, got shape {shape_text(values.shape)}", path=path)
    if labels is None:
        raise LabelError("the file holds no emotion labels; give --labels (comma-separated, or a file with one per "
                         "line)", path=path)
    if len(labels) != values.shape[0]:
        raise LabelError(f"{len(labels)} labels for {values.shape[0]} emotions", path=path)
    if valid is None:
        mask = _nan_padding(values, labels, path) if values.dtype.kind == "f" else np.ones(values.shape[:2], bool)
    else:
        mask = np.asarray(valid)
        if mask.shape != values.shape[:2]:
            raise ImportFormatError(f"the 'valid' array has shape {shape_text(mask.shape)}, not (emotion, prompt) "
                                    f"{shape_text(values.shape[:2])}", path=path)
        if mask.dtype.kind not in "biu" or not np.isin(mask, (0, 1)).all():
            raise ImportFormatError("the 'valid' array must hold only 0 and 1", path=path)
        mask = mask.astype(bool)
    if text is not None:
        text = np.asarray(text)
        if text.shape != values.shape[:2] or text.dtype.kind not in "UO":
            raise ImportFormatError(f"the 'text' array must hold one string per (emotion, prompt) "
                                    f"{shape_text(values.shape[:2])}; got {text.dtype} {shape_text(text.shape)}",
                                    path=path)
        text = text.astype(object)
    return PromptTable(values, mask, labels, layers, None, text)


def _from_mapping(arrays: Mapping[str, Any], labels: list[str] | None, key: str | None, path: Path) -> PromptTable:
    arrays = {str(k): v for k, v in arrays.items()}
    label_key = next((k for k in _LABEL_KEYS if k in arrays), None)
    if label_key is not None and labels is None:
        labels = [str(x) for x in np.asarray(arrays[label_key]).ravel().tolist()]
    named = labels is not None and sorted(labels) == sorted(k for k in arrays if k != label_key)  # one per emotion
    extra = {k: next((x for x in keys if x in arrays and not named), None)
             for k, keys in (("layers", _LAYER_KEYS), ("valid", _VALID_KEYS), ("text", _TEXT_KEYS))}
    numeric = {k: v for k, v in arrays.items() if k not in (label_key, *extra.values())}
    if any(isinstance(v, Mapping) for v in numeric.values()):
        raise ImportFormatError("holds nested dicts ({emotion: {layer: ...}}); per-prompt activations are an "
                                "(emotion, prompt[, layer], hidden) array or one (prompt[, layer], hidden) array per "
                                "emotion", path=path)
    if key is not None and key not in numeric:
        raise ImportFormatError(f"no array named {key!r} (found: {', '.join(sorted(numeric))}); check --key", path=path)
    big = [k for k, v in numeric.items() if np.ndim(v) in (3, 4)]
    if key is not None or (len(big) == 1 and (label_key is not None or len(numeric) == 1) and not named):
        name = key if key is not None else big[0]
        layers = None
        if extra["layers"] is not None and np.ndim(numeric[name]) == 4:
            layers = [int(x) for x in np.asarray(arrays[extra["layers"]]).ravel().tolist()]
        return _from_array(numeric[name], labels, path, layers, *(arrays.get(extra[k]) if extra[k] else None
                                                                   for k in ("valid", "text")))
    if label_key is None and (len(numeric) > 1 or named) and all(np.ndim(v) in (2, 3) for v in numeric.values()):
        return _per_emotion_table(numeric, labels, "emotion keys in the file", path)
    shapes = ", ".join(f"{k} {shape_text(np.shape(v))}" for k, v in numeric.items())
    raise ImportFormatError(f"cannot tell which array holds the per-prompt activations ({shapes}); name it with --key",
                            path=path)


def _from_csv(path: Path, labels: list[str] | None, emotion_column: str, text_column: str | None) -> PromptTable:
    """``text_column`` None: a column named ``text``, if there is one, holds the texts; a name: that column must."""
    matrix, found, text = load_csv_table(path, emotion_column, text_column or TEXT_COLUMN, text_column is not None)
    stripped = np.array([str(x).strip() for x in found], dtype=object)
    rows = {n: np.flatnonzero(stripped == n) for n in dict.fromkeys(stripped)}  # an emotion's rows, in file order
    table = _per_emotion_table({n: matrix[r] for n, r in rows.items()}, labels, "file's emotion column", path)
    if text is None:
        return table
    texts = np.full(table.valid.shape, "", dtype=object)
    for i, n in enumerate(table.labels):
        texts[i, : len(rows[n])] = [text[j] for j in rows[n]]
    return dataclasses.replace(table, text=texts)


def _per_emotion(paths: Sequence[Path], labels: list[str] | None, where: Path) -> PromptTable:
    bad = [p for p in paths if p.is_dir() or p.suffix.lower() not in (".npy", ".pt", ".pth")]
    if bad:
        raise ImportFormatError("per-prompt activations per emotion are .npy or .pt files (happy.npy: a (prompt, "
                                "hidden) or (prompt, layer, hidden) array)", path=bad[0])
    names = [p.stem for p in paths]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ImportFormatError(f"two files name the same emotion: {', '.join(duplicated)}", path=where)
    entries = {}
    for name, p in zip(names, paths):
        entry = load_npy(p) if p.suffix.lower() == ".npy" else load_torch(p)
        if not isinstance(entry, np.ndarray):
            raise ImportFormatError(f"holds a {type(entry).__name__}, not one (prompt[, layer], hidden) tensor", path=p)
        entries[name] = entry
    return _per_emotion_table(entries, labels, "emotions named by the files", where)


def read_prompt_table(paths: Sequence[Path], fmt: str | None, labels: list[str] | None, key: str | None,
                      emotion_column: str, members: Sequence[Path] | None = None,
                      text_column: str | None = None) -> PromptTable:
    """The per-prompt activations of the sources (module docstring).  ``fmt`` is the array format of one file;
    ``members`` the per-emotion files of a folder or of several sources; ``text_column`` the texts' column of a
    CSV/TSV file (None: ``text`` where present)."""
    if text_column is not None and fmt != "csv":
        raise ImportFormatError("--text-column applies to a CSV/TSV source only", path=paths[0])
    if members is not None:
        return _per_emotion(members, labels, paths[0])
    p = paths[0]
    if fmt == "csv":
        return _from_csv(p, labels, emotion_column, text_column)
    if fmt == "npy":
        return _from_array(load_npy(p), labels, p)
    if fmt in ("npz", "safetensors"):
        return _from_mapping(read_mapping(p, fmt), labels, key, p)
    obj = load_torch(p)
    if isinstance(obj, dict):
        return _from_mapping(obj, labels, key, p)
    if not isinstance(obj, np.ndarray):
        raise ImportFormatError(f"holds a {type(obj).__name__}, not a tensor or a dict of tensors", path=p)
    return _from_array(obj, labels, p)
