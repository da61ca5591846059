"""The stimulus set: texts grouped by emotion, the baseline texts, and the content hash recorded in
every output file (used by :mod:`extraction.stimuli`; no torch here)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from rsastats.exceptions import LabelError, ValidationError

__all__ = ["StimulusSet"]


@dataclass(frozen=True)
class StimulusSet:
    """Texts grouped by emotion, in a fixed order, plus the emotion-free baseline texts.

    Attributes
    ----------
    name : short name (``named``, ``implicit``, a file stem, or ``prompt-template``).
    emotions : emotion labels in order.
    texts : one tuple of texts per emotion (counts may differ between emotions).
    baseline : emotion-free texts (may be empty).
    source : where the texts came from (``built-in:named`` or a file path).
    selection : how this set was cut from its source (``""`` when it is the whole set).
    problems : non-fatal findings of the loader (e.g. unbalanced counts).
    paired : baseline text p is the contrast (negative) of prompt p of every emotion (``contrast``).
    """

    name: str
    emotions: tuple[str, ...]
    texts: tuple[tuple[str, ...], ...]
    baseline: tuple[str, ...] = ()
    source: str = ""
    selection: str = ""
    problems: tuple[str, ...] = field(default=())
    paired: bool = False

    @property
    def counts(self) -> dict[str, int]:
        """Number of texts per emotion."""
        return {e: len(t) for e, t in zip(self.emotions, self.texts)}

    @property
    def n_prompts(self) -> int:
        """Length of the prompt axis: the largest count of any emotion."""
        return max((len(t) for t in self.texts), default=0)

    @property
    def sha256(self) -> str:
        """SHA-256 of the exact content (emotions, texts in order, baseline)."""
        content: dict[str, Any] = {"emotions": list(self.emotions), "texts": [list(t) for t in self.texts],
                                   "baseline": list(self.baseline)}
        if self.paired:  # only then, so that the hashes of unpaired sets stay what they were
            content["paired"] = True
        payload = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        """``"<name> sha256:<first 16 hex digits>"``: the value of the ``stimulus_set`` attribute."""
        return f"{self.name} sha256:{self.sha256[:16]}"

    def select(self, *, emotions: Sequence[str] | None = None, limit: int | None = None,
               baseline_limit: int | None = None) -> "StimulusSet":
        """A subset: only ``emotions`` (in the given order), the first ``limit`` texts of each,
        the first ``baseline_limit`` baseline texts (0 drops the baseline)."""
        parts = []
        chosen = list(self.emotions)
        if emotions is not None:
            missing = [e for e in emotions if e not in self.emotions]
            if missing:
                raise LabelError(f"emotion(s) {', '.join(map(repr, missing))} not in stimulus set {self.name!r} "
                                 f"(it has {', '.join(self.emotions)})")
            if len(set(emotions)) != len(emotions):
                raise LabelError("an emotion is named twice in the selection")
            chosen = list(emotions)
            if chosen != list(self.emotions):
                parts.append(f"emotions={','.join(chosen)}")
        index = {e: i for i, e in enumerate(self.emotions)}
        texts = [self.texts[index[e]] for e in chosen]
        if limit is not None:
            if limit < 1:
                raise ValidationError(f"limit must be at least 1 prompt per emotion, got {limit}")
            if limit < max(len(t) for t in texts):
                parts.append(f"first {limit} prompts per emotion")
            texts = [t[:limit] for t in texts]
        baseline = self.baseline
        if self.paired:  # the negatives follow their prompts; the baseline limit does not apply
            baseline = baseline[:max(len(t) for t in texts)]
            baseline_limit = None
        if baseline_limit is not None:
            if baseline_limit < 0:
                raise ValidationError(f"baseline limit must be >= 0, got {baseline_limit}")
            if baseline_limit < len(baseline):
                parts.append(f"first {baseline_limit} baseline texts")
            baseline = baseline[:baseline_limit]
        selection = "; ".join(p for p in (self.selection, *parts) if p)
        return replace(self, emotions=tuple(chosen), texts=tuple(texts), baseline=baseline, selection=selection)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "selection": self.selection, "sha256": self.sha256,
                "emotions": list(self.emotions), "counts": self.counts, "n_baseline": len(self.baseline),
                "problems": list(self.problems)}
