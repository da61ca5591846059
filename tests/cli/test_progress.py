"""rsastats.cli.progress: the command line's one progress display."""

from __future__ import annotations

import io

import click
from rich.console import Console

from rsastats.cli.options import quiet_option
from rsastats.cli.progress import Progress, progress_bar, progress_enabled


def _console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=True, width=120), buffer


def test_disabled_progress_does_nothing_and_draws_nothing():
    with Progress(enabled=False) as progress:
        progress.step("work", 3)
        progress.advance(2)
        sink = progress.extraction("model")
        sink.start(10, 4)
        sink.advance(3, 120)
        assert progress._progress is None


def test_steps_replace_each_other_and_count_work():
    console, _ = _console()
    with Progress(enabled=True, console=console) as progress:
        progress.step("first", 5)
        progress.advance(2)
        progress.step("second", 4)
        progress.advance()
        tasks = progress._progress.tasks
        assert [(t.description, t.total, t.completed) for t in tasks] == [("second", 4, 1)]
    assert progress._progress is None


def test_extraction_hook_starts_a_step_with_work_done_and_shows_tokens_per_second():
    console, _ = _console()
    with Progress(enabled=True, console=console) as progress:
        sink = progress.extraction("[1/2] smollm2")
        sink.start(total=20, done=5)
        sink.advance(3, 600)
        (task,) = progress._progress.tasks
        assert (task.description, task.total, task.completed) == ("[1/2] smollm2", 20, 8)
        assert task.fields["rate"].endswith("tok/s")


def test_progress_is_drawn_only_for_a_terminal_without_quiet(monkeypatch):
    seen = {}

    @click.command()
    @quiet_option
    def command(quiet: bool) -> None:
        seen["enabled"] = progress_enabled()
        with progress_bar("bootstrap", 3) as advance:
            advance(1)

    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    command.main([], standalone_mode=False)
    assert seen["enabled"] is True
    command.main(["--quiet"], standalone_mode=False)
    assert seen["enabled"] is False
