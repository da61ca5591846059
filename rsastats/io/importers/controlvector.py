"""repeng control vectors: GGUF files with ``general.architecture = controlvector`` and one tensor
``direction.{i}`` per decoder block i (what ``ControlVector.export_gguf`` writes), one concept per
file.  Read with the ``gguf`` package (``GGUFReader``); repeng's block i is the output of decoder
block i, ``hidden_states[i + 1]`` (convention "block")."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ...exceptions import DependencyError, ImportFormatError

__all__ = ["read_control_vector"]

_DIRECTION = re.compile(r"direction\.(\d+)")


def _field_text(reader: Any, name: str) -> str | None:
    field = reader.get_field(name)
    if field is None or not len(field.parts):
        return None
    return bytes(field.parts[field.data[0]] if field.data else field.parts[-1]).decode("utf-8", errors="replace")


def _open(path: Path) -> Any:
    try:
        import gguf
    except ImportError:
        raise DependencyError("reading .gguf control vectors needs the gguf package: pip install gguf", path=path) from None
    try:
        return gguf.GGUFReader(path)
    except Exception as exc:  # struct/memmap/ValueError on truncated or foreign files
        raise ImportFormatError(f"is not a readable GGUF file: truncated or corrupt ({path.stat().st_size} bytes; "
                                f"the gguf reader raised {type(exc).__name__})", path=path) from None


def read_control_vector(path: Path) -> tuple[dict[int, np.ndarray], dict[str, Any]]:
    """The directions ``{block: (hidden,) float64}`` of one control-vector GGUF file and what it
    records about its model (``controlvector.model_hint``, ``controlvector.layer_count``)."""
    reader = _open(path)
    arch = _field_text(reader, "general.architecture")
    if arch is None:
        raise ImportFormatError("is a GGUF file without general.architecture; a repeng control vector has "
                                "general.architecture = controlvector", path=path)
    if arch != "controlvector":
        raise ImportFormatError(f"is a GGUF file of architecture {arch!r} (a model?), not a control vector "
                                "(general.architecture = controlvector)", path=path)
    directions: dict[int, np.ndarray] = {}
    for tensor in reader.tensors:
        match = _DIRECTION.fullmatch(tensor.name)
        if match is None:
            continue
        data = np.asarray(tensor.data)
        if data.dtype.kind != "f":
            raise ImportFormatError(f"tensor {tensor.name} is stored as {tensor.tensor_type.name}; only float "
                                    "(F32/F16) directions are read", path=path)
        if int(np.prod(data.shape)) != int(tensor.n_elements):
            raise ImportFormatError(f"tensor {tensor.name} is truncated", path=path)
        directions[int(match.group(1))] = data.reshape(-1).astype(np.float64)
    if not directions:
        raise ImportFormatError("is a control-vector GGUF file with no direction.N tensors", path=path)
    info: dict[str, Any] = {}
    hint = _field_text(reader, "controlvector.model_hint")
    if hint:
        info["model_hint"] = hint
    return dict(sorted(directions.items())), info
