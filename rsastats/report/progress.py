"""How the report's analyses tell what they are doing: progress (a new step, and work done) and
notes (warnings raised inside an analysis become notes of its report section)."""

from __future__ import annotations

import contextlib
import warnings
from typing import Protocol

__all__ = ["ReportProgress", "NoProgress", "warnings_to"]


class ReportProgress(Protocol):
    """Receives the report's progress: a new step (with a known amount of work or not), and work done."""

    def step(self, description: str, total: int | None = None) -> None: ...

    def advance(self, n: int = 1) -> None: ...


class NoProgress:
    """Progress that goes nowhere (the default)."""

    def step(self, description: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass


@contextlib.contextmanager
def warnings_to(notes: list[str]):
    """Warnings raised inside the block become notes of the report section (once each), so that
    what a reader should know (too few resamples, non-converged fits) is in the report itself."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in notes:
            notes.append(text)
