"""The input files as the report describes them (:class:`ModelSummary`: kind, provenance, prompts,
layers and relative depth), and the RDM options of a report's settings."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


from ..io import NETCDF_LOCK, open_netcdf
from ..inputs import ModelInput, RDMOptions
from .config import ReportConfig

__all__ = ["ModelSummary", "summarise", "rdm_options"]


@dataclass(frozen=True)
class ModelSummary:
    """One input file as the report describes it."""

    name: str
    path: str
    kind: str
    model: str
    method: str
    precision: str
    experiment: str
    n_emotions: int
    prompts_min: int | None
    prompts_max: int | None
    layers: tuple[int, ...]
    depth_of_last: int | None
    layer_used: str

    def depth(self, label: int) -> float:
        top = self.depth_of_last or (max(self.layers) if self.layers else 0)
        return float(label) / top if top else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "kind": self.kind, "model": self.model, "method": self.method,
                "precision": self.precision, "experiment": self.experiment, "n_emotions": self.n_emotions,
                "prompts_min": self.prompts_min, "prompts_max": self.prompts_max,
                "n_layers": len(self.layers) if self.layers else None,  # None: no layer axis, used as stored
                "layer_used": self.layer_used}


def _file_layers(path: str) -> tuple[tuple[int, ...], int | None]:
    """Layer labels of a file and the depth of its last block (``n_blocks`` attribute when present)."""
    with NETCDF_LOCK, open_netcdf(path, decode_times=False) as handle:
        labels = tuple(int(x) for x in handle["layer"].values) if "layer" in handle.coords else ()
        blocks = handle.attrs.get("n_blocks", "")
    try:
        top = int(blocks)
    except (TypeError, ValueError):
        top = None
    if not labels or top is None or top < max(labels):
        top = max(labels) if labels else None
    return labels, top


def summarise(m: ModelInput) -> ModelSummary:
    attrs = m.rdm.attrs
    labels, top = _file_layers(m.path) if m.path and m.kind != "rdm" else ((), None)
    counts = m.rows.n_valid if m.rows is not None else None
    return ModelSummary(
        name=m.name, path=m.path or "", kind=m.kind, model=str(attrs.get("model", "") or ""),
        method=str(attrs.get("extraction_method", "") or ""), precision=str(attrs.get("precision", "") or ""),
        experiment=str(attrs.get("experiment", "") or ""), n_emotions=m.rdm.n_emotions,
        prompts_min=None if counts is None else int(counts.min()), prompts_max=None if counts is None else int(counts.max()),
        layers=labels, depth_of_last=top, layer_used=m.layer_selection or "as stored")


def rdm_options(config: ReportConfig, **changes: Any) -> RDMOptions:
    base = RDMOptions(rdm=config.rdm, layer=config.layer, last_k=config.last_k, normalization=config.normalization,
                      n_pcs=config.n_pcs)
    return replace(base, **changes).checked()
