"""One vector set from per-emotion entries: each emotion a 1-D ``(hidden,)`` array, a 2-D
``(layer, hidden)`` array, or a mapping ``{layer: 1-D array}`` (steering-vectors'
``layer_activations``, repeng's ``directions``).  Every emotion must have the same layers and the
same hidden size; anything else is one error naming the emotion, the layers and the shapes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ...exceptions import ImportFormatError, LabelError

__all__ = ["VectorTable", "stack_entries", "layer_number", "shape_text"]


@dataclass(frozen=True)
class VectorTable:
    """What a reader found: ``values`` (emotion, hidden) or (emotion, layer, hidden), the emotion
    labels, the producer's layer indices (None without a layer axis), the producer's layer
    convention when the format fixes it (None: unknown), and attributes the file itself records."""

    values: np.ndarray
    labels: list[str]
    layers: list[int] | None = None
    convention: str | None = None
    attrs: Mapping[str, Any] | None = None


def shape_text(shape: Sequence[int]) -> str:
    """A shape as people write it: ``(4, 6)``, ``(6,)``, ``scalar`` for ``()``."""
    shape = tuple(int(n) for n in shape)
    return "scalar" if not shape else str(shape)


def layer_number(key: Any, emotion: str, path: Path) -> int:
    """A layer key as an int: ``3``, ``"3"``, ``"layer_3"``, ``"layers.3"``; else an error."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return int(key)
    match = re.fullmatch(r"\D*?(-?\d+)", str(key).strip())
    if match is None:
        raise ImportFormatError(f"emotion {emotion!r}: key {str(key)!r} is not a layer number", path=path)
    return int(match.group(1))


def _as_vector(value: Any, where: str, path: Path) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise ImportFormatError(f"{where} holds a {type(value).__name__}, not a tensor or array", path=path)
    if value.dtype.kind not in "iuf":
        raise ImportFormatError(f"{where} is not numeric (dtype {value.dtype})", path=path)
    return value


def _layered(emotion: str, entry: Any, path: Path) -> tuple[list[int] | None, np.ndarray]:
    """(layers, array) of one emotion's entry: layers None for a 1-D vector."""
    if isinstance(entry, Mapping):
        if not entry:
            raise ImportFormatError(f"emotion {emotion!r} holds no layers", path=path)
        layers, rows = [], []
        for key, value in entry.items():
            layer = layer_number(key, emotion, path)
            vec = _as_vector(value, f"emotion {emotion!r}, layer {layer}", path)
            if vec.ndim != 1:
                raise ImportFormatError(f"emotion {emotion!r}, layer {layer}: expected a 1-D (hidden,) vector, got shape "
                                        f"{shape_text(vec.shape)}", path=path)
            layers.append(layer)
            rows.append(vec)
        sizes = sorted({r.shape[0] for r in rows})
        if len(sizes) != 1:
            raise ImportFormatError(f"emotion {emotion!r}: layers have different hidden sizes {sizes}", path=path)
        order = np.argsort(layers, kind="stable")
        return [layers[i] for i in order], np.stack([rows[i] for i in order])
    vec = _as_vector(entry, f"emotion {emotion!r}", path)
    if vec.ndim == 1:
        return None, vec
    if vec.ndim == 2:
        return list(range(vec.shape[0])), vec
    raise ImportFormatError(f"emotion {emotion!r}: expected a (hidden,) or (layer, hidden) array, got shape "
                            f"{shape_text(vec.shape)}", path=path)


def stack_entries(entries: Mapping[str, Any], path: Path, labels: Sequence[str] | None = None,
                  what: str = "emotion keys in the file") -> tuple[np.ndarray, list[str], list[int] | None]:
    """Stack per-emotion entries into (values, labels, layers); ``labels`` (optional) must be the
    same set as the entries' names and gives the order."""
    names = [str(k) for k in entries]
    if not names:
        raise ImportFormatError("holds no emotions", path=path)
    if labels is not None:
        if sorted(labels) != sorted(names):
            raise LabelError(f"--labels do not match the {what} ({', '.join(names)})", path=path)
        names = list(labels)
    by_name = {str(k): v for k, v in entries.items()}
    parts = {name: _layered(name, by_name[name], path) for name in names}
    with_layers = [n for n in names if parts[n][0] is not None]
    if with_layers and len(with_layers) != len(names):
        flat = [n for n in names if parts[n][0] is None]
        raise ImportFormatError(f"some emotions hold one vector ({', '.join(flat[:4])}) and others one per layer "
                                f"({', '.join(with_layers[:4])})", path=path)
    hidden = {n: parts[n][1].shape[-1] for n in names}
    if len(set(hidden.values())) != 1:
        shown = ", ".join(f"{n} {h}" for n, h in list(hidden.items())[:6])
        raise ImportFormatError(f"emotions have different hidden sizes ({shown})", path=path)
    if not with_layers:
        return np.stack([parts[n][1] for n in names]), names, None
    first = parts[names[0]][0]
    for name in names[1:]:
        layers = parts[name][0]
        if layers != first:
            missing = sorted(set(first) - set(layers))
            extra = sorted(set(layers) - set(first))
            detail = "; ".join(x for x in (f"lacks layer(s) {missing}" if missing else "",
                                           f"has extra layer(s) {extra}" if extra else "") if x)
            raise ImportFormatError(f"ragged layers: emotion {name!r} {detail or 'has its layers in another order'} "
                                    f"compared with {names[0]!r} (layers {first})", path=path)
    return np.stack([parts[n][1] for n in names]), names, list(first)
