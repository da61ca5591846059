"""Vector sets spread over several files, one emotion per file (named by the file's stem):

``happy.gguf sad.gguf ...``        repeng control vectors (a folder of them, or the files listed);
``happy.npy sad.npy ...``          a (hidden,) vector or a (layer, hidden) array per emotion;
``happy.pt sad.pt ...``            a tensor, or ``{layer: tensor}`` (steering-vectors'
                                   ``layer_activations``) per emotion;
``happy/12.npy happy/13.npy ...``  a folder per emotion with one (hidden,) vector per layer, the
                                   layer the last number in the file name (``layer_12.npy``).
``layer_12_happy.npy ...``         one (hidden,) vector per layer and emotion, named ``layer_<L>_<emotion>``: the
                                   probe folder of emotion-probes (``EmotionExtractor.extract_all``), whose
                                   ``layer_<L>_mean.npy`` is the mean over emotions it subtracted from every vector
                                   (not an emotion), ``<L>`` the index of ``model.model.layers`` whose output it hooked
                                   (the block convention), and ``checkpoints/`` the vectors before that subtraction.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...exceptions import ImportFormatError
from .arrays import load_npy, load_torch
from .controlvector import read_control_vector
from .entries import VectorTable, stack_entries

__all__ = ["PER_EMOTION_SUFFIXES", "read_per_emotion_files", "folder_files", "layer_named", "read_layer_named_files"]

PER_EMOTION_SUFFIXES = (".gguf", ".npy", ".pt", ".pth")
LAYER_NAMED = re.compile(r"layer_(\d+)_(.+)")
PROBE_MEAN = "mean"  # emotion-probes' layer_<L>_mean.npy: the mean it subtracted, not an emotion
PROBE_CHECKPOINTS = "checkpoints"  # emotion-probes' copies of the vectors before that subtraction


def layer_named(paths: Sequence[Path]) -> bool:
    """Whether ``paths`` are .npy files all named ``layer_<L>_<emotion>`` (the layout of emotion-probes)."""
    return bool(paths) and all(p.is_file() and p.suffix.lower() == ".npy" and LAYER_NAMED.fullmatch(p.stem)
                               for p in paths)


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
        layers[layer] = load_npy(f)
    return layers


def folder_files(folder: Path) -> list[Path]:
    """The per-emotion entries of a folder: files of one suffix, or sub-folders (one per emotion)."""
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    subfolders = [p for p in entries if p.is_dir()]
    files = [p for p in entries if p.is_file() and p.suffix.lower() in PER_EMOTION_SUFFIXES]
    if layer_named(files) and [p.name for p in subfolders] in ([], [PROBE_CHECKPOINTS]):
        return files  # an emotion-probes probe folder (its checkpoints are read by no one: see the docstring)
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
        return load_npy(path)
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


def read_layer_named_files(paths: Sequence[Path], labels: list[str] | None, where: Path) -> VectorTable:
    """One vector set from ``layer_<L>_<emotion>.npy`` files (see the module docstring); with ``layer_<L>_mean.npy``
    (emotion-probes) the layers are in the block convention and the file records that the vectors are centred."""
    entries: dict[str, dict[int, Any]] = {}
    means: list[int] = []
    for p in paths:
        match = LAYER_NAMED.fullmatch(p.stem)
        layer, name = int(match.group(1)), match.group(2)
        if name == PROBE_MEAN:
            means.append(layer)
            continue
        if layer in entries.setdefault(name, {}):
            raise ImportFormatError(f"is a second file for emotion {name!r} at layer {layer}", path=p)
        entries[name][layer] = load_npy(p)
    if not entries:
        raise ImportFormatError(f"holds only the means over emotions ({PROBE_MEAN}), no emotion's vector", path=where)
    names = sorted(entries)
    values, order, layers = stack_entries({n: entries[n] for n in names}, where, labels,
                                          what="emotions named by the files (layer_<L>_<emotion>.npy)")
    if not means:
        return VectorTable(values, order, layers, None, {})
    if sorted(means) != sorted(layers or []):
        raise ImportFormatError(f"has the mean over emotions ({PROBE_MEAN}) for layer(s) {sorted(means)} but vectors "
                                f"for layer(s) {layers}", path=where)
    attrs = {"producer_centring": "emotion-mean: at every layer the producer subtracted the mean over these emotions "
                                  "(layer_<L>_mean.npy) from each vector",
             "source_layer_hook": "output of model.model.layers[L] (a forward hook): the block convention"}
    return VectorTable(values, order, layers, "block", attrs)
