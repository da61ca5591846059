"""Progress of long work, drawn as one rich bar on stderr: the command line's only progress display.

:class:`Progress` takes work in named steps (``step(description, total)``, then ``advance(n)``),
which is what the report and the demo report (:class:`rsastats.report.ReportProgress`); a one-step
bar whose ``advance`` is passed to the library's ``progress=`` callbacks is :func:`progress_bar`;
:meth:`Progress.extraction` adapts it to extraction's ``start(total, done)`` /
``advance(prompts, tokens)`` and shows tokens per second.  Bars are drawn only when stderr is a
terminal and ``--quiet`` was not given; otherwise every method does nothing.
"""

from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Callable, Iterator

from .options import quiet_mode

__all__ = ["Progress", "progress_enabled", "step_progress", "progress_bar"]


class Progress:
    """One rich progress bar on stderr, step after step; inert when ``enabled`` is false.

    Use it as a context manager: the bar is drawn inside the block and removed at its end.
    ``console`` replaces the stderr console (tests).
    """

    def __init__(self, enabled: bool, *, console: Any = None):
        self.enabled = enabled
        self._console = console
        self._progress: Any = None
        self._task: Any = None
        self._tokens = 0
        self._started = 0.0

    def __enter__(self) -> "Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn)

            self._progress = RichProgress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                          MofNCompleteColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
                                          console=self._console or Console(stderr=True), transient=True)
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None

    def step(self, description: str, total: int | None = None) -> None:
        """Start a new step (replacing the previous one's bar); ``total`` None when unknown."""
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(description, total=total, rate="")
        self._tokens, self._started = 0, time.perf_counter()

    def advance(self, n: int = 1, tokens: int = 0) -> None:
        """``n`` units of the current step done; ``tokens`` processed meanwhile (shown as tok/s)."""
        if self._progress is None or self._task is None:
            return
        fields: dict[str, Any] = {}
        if tokens:
            self._tokens += tokens
            elapsed = time.perf_counter() - self._started
            fields["rate"] = f"{self._tokens / elapsed:,.0f} tok/s" if elapsed > 0 else ""
        self._progress.update(self._task, advance=n, **fields)

    def extraction(self, description: str) -> "_ExtractionProgress":
        """This bar as extraction's progress hook (``start(total, done)``, ``advance(prompts, tokens)``)."""
        return _ExtractionProgress(self, description)


class _ExtractionProgress:
    """Extraction's progress hook drawn on a :class:`Progress`: one step per extraction."""

    def __init__(self, progress: Progress, description: str):
        self.progress, self.description = progress, description

    def start(self, total: int, done: int) -> None:
        self.progress.step(self.description, total)
        if done:
            self.progress.advance(done)

    def advance(self, prompts: int, tokens: int) -> None:
        self.progress.advance(prompts, tokens)


def progress_enabled() -> bool:
    """Draw progress: stderr is a terminal and the running command was not given ``--quiet``."""
    return not quiet_mode() and sys.stderr.isatty()


def step_progress() -> Progress:
    """A :class:`Progress` for the running command (drawn only when :func:`progress_enabled`)."""
    return Progress(enabled=progress_enabled())


@contextlib.contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """One step of ``total`` units; yields its ``advance(n)`` for a library ``progress=`` callback."""
    with step_progress() as progress:
        progress.step(description, total)
        yield progress.advance
