"""What an audit returns: the reference range and the whole result (JSON keys of ``rsastats audit
--json`` are built here and nowhere else)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..inference.bootstrap import BootstrapResult
from ..inference.pairs import ComparisonResult
from ..results import Record
from .attributes import AttributeComparison, LayerComparison
from .references import ReferenceAssumption
from .verdict import AuditVerdict

__all__ = ["ReferenceRange", "AuditResult"]


@dataclass(frozen=True)
class ReferenceRange(Record):
    """The rho expected under identical geometry: rho between the reference model's extractions
    under A's and B's recipes, with its interval (pooled over runs of stochastic recipes).

    ``runs`` holds the bootstrap of each reference pair (``files_a[i]`` vs ``files_b[i]``); in
    ``to_dict`` they become ``n_runs`` and one ``runs`` record per pair.  ``bootstrap`` is what
    was resampled (the observed scheme, or ``emotions`` when a reference file holds no prompts).
    ``note`` is ``""`` for a usable range; otherwise it says in words why there is none (A and B
    record one recipe, or the reference came out degenerate), and ``rho``/``ci_low``/``ci_high``
    are NaN: an uninformative reference is never shown as a range."""

    model: str
    files_a: tuple[str, ...] = field(metadata={"json": False})
    files_b: tuple[str, ...] = field(metadata={"json": False})
    rho: float
    ci_low: float
    ci_high: float
    bootstrap: str
    ci_method: str
    confidence: float
    runs: tuple[BootstrapResult, ...] = field(repr=False, metadata={"json": False})
    plans: tuple[dict[str, Any], ...] = field(default=(), repr=False)
    assumptions: tuple[ReferenceAssumption, ...] = ()
    note: str = ""

    @property
    def informative(self) -> bool:
        """Whether there is a reference range (``note`` is empty)."""
        return not self.note

    @property
    def low(self) -> float:
        """``ci_low`` (the name before the vocabulary of :mod:`rsastats.results`)."""
        return self.ci_low

    @property
    def high(self) -> float:
        """``ci_high`` (the name before the vocabulary)."""
        return self.ci_high

    @property
    def scheme(self) -> str:
        """``bootstrap`` (the name before the vocabulary)."""
        return self.bootstrap

    def run_records(self) -> list[dict[str, Any]]:
        """One record per reference pair: its files, rho, interval and resamples."""
        return [{"run": i, "file_a": fa, "file_b": fb, "rho": r.rho, "ci_low": r.ci_low, "ci_high": r.ci_high,
                 "n_boot": r.n_boot} for i, (fa, fb, r) in enumerate(zip(self.files_a, self.files_b, self.runs))]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        tail = {key: out.pop(key) for key in ("plans", "assumptions", "note")}
        return out | {"n_runs": len(self.runs), "runs": self.run_records()} | tail


@dataclass(frozen=True)
class AuditResult(Record):
    """Everything :func:`rsastats.audit.audit` found.  ``to_dict()`` is flat where it can be
    (scalars first, then lists of records: layers, attributes, assumptions, reference runs, notes);
    ``to_frame()`` is one summary row; ``layers_frame()`` and ``attributes_frame()`` the layer tables."""

    a: str
    b: str
    model_a: str
    model_b: str
    emotions: tuple[str, ...]
    common_emotions: bool
    left_out: dict[str, tuple[str, ...]]
    attributes: tuple[AttributeComparison, ...]
    layers: tuple[LayerComparison, ...]
    observed: ComparisonResult
    reference: ReferenceRange
    verdict: AuditVerdict
    max_interval_width: float
    seed: int | None
    notes: tuple[str, ...]
    seconds: float

    def summary(self) -> dict[str, Any]:
        """The scalar fields: verdict, layers that separate A and B, observed rho, reference range."""
        obs, ref = self.observed, self.reference
        return {
            "verdict": self.verdict.verdict, "numbers_say": self.verdict.numbers_say, "a": self.a, "b": self.b,
            "model_a": self.model_a, "model_b": self.model_b, "n_emotions": len(self.emotions),
            "common_emotions": self.common_emotions,
            "separating_layers": ", ".join(x.layer for x in self.layers if x.status == "differs"),
            "unknown_layers": ", ".join(x.layer for x in self.layers if x.status == "unknown"),
            "incomplete_layers": ", ".join(x.layer for x in self.layers if not x.complete),
            "rho": obs.rho, "ci_low": obs.ci_low, "ci_high": obs.ci_high, "ci_method": obs.ci_method,
            "confidence": obs.confidence, "bootstrap": obs.bootstrap, "n_boot": obs.n_boot, "p_value": obs.p_value,
            "n_permutations": obs.n_permutations, "rdm": obs.rdm, "rank": obs.rank, "layer": obs.layer,
            "normalization": obs.normalization, "reference_model": ref.model, "reference_rho": ref.rho,
            "reference_low": ref.ci_low, "reference_high": ref.ci_high, "reference_note": ref.note,
            "reference_bootstrap": ref.bootstrap,
            "reference_runs": len(ref.runs), "gap": obs.rho - ref.rho, "max_interval_width": self.max_interval_width,
            "seed": self.seed, "seconds": self.seconds,
        }

    def to_dict(self) -> dict[str, Any]:
        return self.summary() | {
            "reasons": list(self.verdict.reasons),
            "notes": list(self.notes),
            "emotions": list(self.emotions),
            "left_out": {k: list(v) for k, v in self.left_out.items()},
            "layers": [x.to_dict() for x in self.layers],
            "attributes": [x.to_dict() for x in self.attributes],
            "assumptions": [x.to_dict() for x in self.reference.assumptions],
            "reference_files": self.reference.run_records(),
            "reference_plans": list(self.reference.plans),
            "observed": self.observed.to_dict(),
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([self.summary()])

    def layers_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.layers])

    def attributes_frame(self) -> pd.DataFrame:
        return pd.DataFrame([x.to_dict() for x in self.attributes])
