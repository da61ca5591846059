"""Vector sets spread over several files, one emotion per file (named by the file's stem):

``happy.gguf sad.gguf ...``        repeng control vectors (a folder of them, or the files listed);
``happy.npy sad.npy ...``          a (hidden,) vector or a (layer, hidden) array per emotion;
``happy.pt sad.pt ...``            a tensor, or ``{layer: tensor}`` (steering-vectors'
                                   ``layer_activations``) per emotion;
``happy/12.npy happy/13.npy ...``  a folder per emotion with one (hidden,) vector per layer, the
                                   layer the last number in the file name (``layer_12.npy``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...exceptions import ImportFormatError
from .arrays import load_torch
from .controlvector import read_control_vector
from .entries import VectorTable, stack_entries

__all__ = ["PER_EMOTION_SUFFIXES", "read_per_emotion_files", "folder_files"]

PER_EMOTION_SUFFIXES = (".gguf", ".npy", ".pt", ".pth")


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ImportFormatError(f"holds pickled objects or is not a .npy file ({' '.join(str(exc).split())[:100]})",
                                path=path) from None
    except (OSError, EOFError) as exc:
        raise ImportFormatError(f"is not a readable .npy file ({type(exc).__name__})", path=path) from None


def _layer_files(folder: Path) -> dict[int, np.ndarray]:
    """The per-layer vectors of one emotion's folder (``12.npy``, ``layer_12.npy``)."""
    files = sorted(f for f in folder.iterdir() if f.suffix.lower() == ".npy")
    if not files:
        raise ImportFormatError("holds no .npy files (one per layer, e.g. layer_12.npy)", path=folder)
    layers: dict[int, np.ndarray] = {}
    for f in files:
        numbers = re.findall(r"\d+", f.stem)
        if not numbers:
            raise ImportFormatError("has no layer number in its name (e.g. layer_12.npy)", path=f)
        layer = int(numbers[-1])
        if layer in layers:
            raise ImportFormatError(f"is a second file for layer {layer} in its folder", path=f)
        layers[layer] = _load_npy(f)
    return layers


def folder_files(folder: Path) -> list[Path]:
    """The per-emotion entries of a folder: files of one suffix, or sub-folders (one per emotion)."""
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    subfolders = [p for p in entries if p.is_dir()]
    files = [p for p in entries if p.is_file() and p.suffix.lower() in PER_EMOTION_SUFFIXES]
    if subfolders and files:
        raise ImportFormatError(f"mixes per-emotion files ({files[0].name}, ...) with per-emotion folders "
                                f"({subfolders[0].name}, ...); keep one layout", path=folder)
    if not subfolders and not files:
        raise ImportFormatError(f"holds no per-emotion files ({', '.join(PER_EMOTION_SUFFIXES)}) or folders", path=folder)
    return subfolders or files


def _entry(path: Path, infos: list[dict[str, Any]]) -> Any:
    if path.is_dir():
        return _layer_files(path)
    suffix = path.suffix.lower()
    if suffix == ".gguf":
        directions, info = read_control_vector(path)
        infos.append(info)
        return directions
    if suffix == ".npy":
        return _load_npy(path)
    if suffix in (".pt", ".pth"):
        return load_torch(path)
    raise ImportFormatError(f"has suffix {path.suffix!r}; per-emotion files are {', '.join(PER_EMOTION_SUFFIXES)}",
                            path=path)


def read_per_emotion_files(paths: Sequence[Path], labels: list[str] | None, where: Path) -> VectorTable:
    """One vector set from files (or folders) that each hold one emotion, named by their stems."""
    kinds = {("dir" if p.is_dir() else p.suffix.lower().replace(".pth", ".pt")) for p in paths}
    if len(kinds) != 1:
        raise ImportFormatError(f"mixes kinds of per-emotion sources ({', '.join(sorted(kinds))})", path=where)
    names = [p.name if p.is_dir() else p.stem for p in paths]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ImportFormatError(f"two files name the same emotion: {', '.join(duplicated)}", path=where)
    infos: list[dict[str, Any]] = []
    entries = {name: _entry(p, infos) for name, p in zip(names, paths)}
    values, order, layers = stack_entries(entries, where, labels, what="emotions named by the files")
    convention = "block" if kinds == {".gguf"} else None
    hints = sorted({i["model_hint"] for i in infos if i.get("model_hint")})
    attrs = {"model_hint": ", ".join(hints)} if hints else {}
    return VectorTable(values, order, layers, convention, attrs)
