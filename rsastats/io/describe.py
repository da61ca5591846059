"""What a file holds, and whether it is valid: the library side of ``rsastats describe``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .files import open_dataset

__all__ = ["FileDescription", "describe_file"]


@dataclass(frozen=True)
class FileDescription:
    """Summary of one validated rsastats file."""

    path: str
    kind: str
    schema: str
    dims: dict[str, int]
    emotions: list[str]
    layers: list[int] | None
    prompts_valid: dict[str, int] | None
    has_baseline: bool
    n_baseline: int
    attrs: dict[str, Any] = field(default_factory=dict)
    valid: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "schema": self.schema,
            "valid": self.valid,
            "dims": dict(self.dims),
            "n_emotions": len(self.emotions),
            "emotions": list(self.emotions),
            "layers": self.layers,
            "prompts_valid": self.prompts_valid,
            "has_baseline": self.has_baseline,
            "n_baseline": self.n_baseline,
            "attrs": dict(self.attrs),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per attribute: a table for reports and notebooks."""
        rows = [("kind", self.kind), ("schema", self.schema), ("dims", ", ".join(f"{k}={v}" for k, v in self.dims.items()))]
        rows += [(k, v) for k, v in self.attrs.items() if k != "schema"]
        return pd.DataFrame(rows, columns=["field", "value"])


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def describe_file(path: str | os.PathLike) -> FileDescription:
    """Read and validate ``path`` (raises a one-line ``InputError`` if invalid) and summarise it."""
    kind, ds = open_dataset(path)
    emotions = [str(e) for e in ds["emotion"].values]
    prompts_valid = None
    if kind == "activations":
        if "valid" in ds.data_vars:
            counts = ds["valid"].values.sum(axis=1)
        else:
            counts = np.full(len(emotions), ds.sizes["prompt"])
        prompts_valid = {e: int(c) for e, c in zip(emotions, counts)}
    return FileDescription(
        path=str(Path(path)),
        kind=kind,
        schema=str(ds.attrs["schema"]),
        dims={str(k): int(v) for k, v in ds.sizes.items()},
        emotions=emotions,
        layers=[int(x) for x in ds["layer"].values] if "layer" in ds.coords else None,
        prompts_valid=prompts_valid,
        has_baseline="baseline" in ds.data_vars,
        n_baseline=int(ds.sizes.get("sample", 0)),
        attrs={str(k): _plain(v) for k, v in ds.attrs.items()},
    )
