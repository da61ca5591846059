"""Linear-probe directions saved by concept-probes 0.1.0 (``ProbeReport.save`` / ``save_probe``), one concept per
emotion: ``ROOT/<concept>/<model>/layer_<L>/weights.npy`` (with ``bias.json`` and ``meta.json``), ``<model>`` the
model's name with ``/`` written ``_``, and ``L`` an index of ``hidden_states`` (the probes read the residual stream
after block L, ``site`` ``resid_post``: the hidden-states convention).

A probe's weights are not a mean activation: they are the logistic-regression direction that separates texts of the
concept from texts without it, with the scaler folded in (``w / sigma``), so they apply to raw activations.  The file
says so (``producer_method``); the bias and the metrics stay behind.  ``meta.json`` gives the model (``model_name``)
and the pooling (``token_position``: ``mean``, or ``final``, the last token).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ...exceptions import ImportFormatError
from .arrays import load_npy
from .entries import VectorTable, stack_entries

__all__ = ["is_concept_probe_root", "read_concept_probes"]

LAYER_DIR = re.compile(r"layer_(\d+)")
POOLING = {"mean": "mean", "final": "last"}
PROBE_METHOD = ("linear probe (concept-probes): the logistic-regression direction that separates texts of the concept "
                "from texts without it, its scaler folded in (w / sigma); not a mean activation")


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _layer_dirs(model_dir: Path) -> list[Path]:
    return [d for d in _subfolders(model_dir) if LAYER_DIR.fullmatch(d.name) and (d / "weights.npy").is_file()]


def is_concept_probe_root(folder: Path) -> bool:
    """Whether ``folder`` holds concept folders of model folders of ``layer_<L>/weights.npy`` (see the docstring)."""
    concepts = _subfolders(folder)
    return bool(concepts) and all(any(_layer_dirs(m) for m in _subfolders(c)) for c in concepts)


def _meta(layer_dir: Path) -> dict[str, Any]:
    path = layer_dir / "meta.json"
    if not path.is_file():
        return {}
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFormatError(f"is not valid JSON: {' '.join(str(exc).split())[:120]}", path=path) from None
    return meta if isinstance(meta, dict) else {}


def read_concept_probes(root: Path, labels: list[str] | None, model: str | None) -> VectorTable:
    """One vector set from a concept-probes root: each concept an emotion, each ``layer_<L>`` a layer; ``model``
    (``--key``) picks the model folder where a concept holds probes of several models."""
    entries: dict[str, dict[int, Any]] = {}
    metas: list[dict[str, Any]] = []
    folders: set[str] = set()
    for concept in _subfolders(root):
        models = [m for m in _subfolders(concept) if _layer_dirs(m)]
        if model is not None:
            models = [m for m in models if m.name in (model, model.replace("/", "_"))]
        if len(models) != 1:
            names = ", ".join(m.name for m in _subfolders(concept) if _layer_dirs(m)) or "none"
            raise ImportFormatError(f"concept {concept.name!r} holds probes of {len(models)} model folder(s) "
                                    f"{'named ' + repr(model) if model else ''} (it has: {names}); name one with "
                                    "--key MODEL", path=root)
        folders.add(models[0].name)
        entries[concept.name] = {}
        for layer_dir in _layer_dirs(models[0]):
            layer = int(LAYER_DIR.fullmatch(layer_dir.name).group(1))
            entries[concept.name][layer] = load_npy(layer_dir / "weights.npy")
            metas.append(_meta(layer_dir))
    if len(folders) > 1:
        raise ImportFormatError(f"the concepts' probes are of different models ({', '.join(sorted(folders))}): one "
                                "vector set holds one model's; name it with --key MODEL", path=root)
    values, order, layers = stack_entries(entries, root, labels, what="concepts (folders) of the probe root")
    attrs: dict[str, Any] = {"producer_method": PROBE_METHOD}
    for key, name in (("model_name", "model"), ("token_position", "pooling"), ("site", "producer_site")):
        seen = sorted({str(m[key]) for m in metas if m.get(key) not in (None, "")})
        if len(seen) > 1:
            raise ImportFormatError(f"the probes' meta.json files disagree on {key} ({', '.join(seen)})", path=root)
        if seen:
            attrs[name] = POOLING.get(seen[0], seen[0]) if name == "pooling" else seen[0]
    convention = "hidden-states" if attrs.get("producer_site", "resid_post") == "resid_post" else None
    return VectorTable(values, order, layers, convention, attrs)
