"""Command-line plumbing shared by every subcommand: errors, JSON output, progress, options.

Conventions (docs/cli.md): exit 0 on success, 2 on bad input or usage (the message starts
with ``error:`` and is one line), 1 on anything else; ``--json`` prints exactly one JSON
object on stdout; progress bars go to stderr and are hidden when stderr is not a terminal
or ``--quiet`` is given; ``--debug`` (before the subcommand) shows tracebacks.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import traceback
import warnings
from typing import Any, Callable, Iterator

import click

from .exceptions import InputError, RsaStatsError
from .results import to_jsonable

__all__ = [
    "LazyGroup",
    "json_option",
    "quiet_option",
    "seed_option",
    "emit_json",
    "to_jsonable",
    "stdout_console",
    "progress_bar",
    "step_progress",
    "StepProgress",
    "json_mode",
]

_JSON_KEY = "rsastats.json"
_QUIET_KEY = "rsastats.quiet"


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout."""
    click.echo(json.dumps(to_jsonable(obj), indent=2, allow_nan=False))


def stdout_console():
    """A rich console on stdout (imported lazily: rich is only needed for people)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def json_mode() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.find_root().meta.get(_JSON_KEY))


def _flag_setter(key: str) -> Callable[[click.Context, click.Parameter, bool], bool]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.find_root().meta[key] = True
        return value

    return callback


def json_option(func: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, callback=_flag_setter(_JSON_KEY), is_eager=True,
                        help="Print exactly one JSON object on stdout instead of a table.")(func)


def quiet_option(func: Callable) -> Callable:
    return click.option("--quiet", "-q", is_flag=True, callback=_flag_setter(_QUIET_KEY),
                        help="No progress bars.")(func)


def seed_option(func: Callable) -> Callable:
    return click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                        help="Seed of every random procedure (permutations, resamples).")(func)


def scheduler_option(func: Callable) -> Callable:
    """``--scheduler ADDRESS`` (or ``DASK_SCHEDULER_ADDRESS``): run the chunked work on a dask cluster."""
    return click.option("--scheduler", default=None, envvar="DASK_SCHEDULER_ADDRESS", show_envvar=True,
                        metavar="ADDRESS",
                        help="Run on the dask.distributed scheduler at ADDRESS (tcp://HOST:8786): resampling chunks "
                             "or extraction tasks go to its workers, which read and write files at the same paths; "
                             "statistics come out identical to an in-process run. Without it everything runs in this "
                             "process. Needs the 'distributed' extra (README: Running on a cluster).")(func)


@contextlib.contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yield ``advance(n)``; draws a rich progress bar on stderr only for a terminal without --quiet."""
    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx and ctx.find_root().meta.get(_QUIET_KEY))
    if quiet or not sys.stderr.isatty():
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)


class StepProgress:
    """Progress of work done in named steps (``step(description, total)``, ``advance(n)``), drawn
    as one rich bar on stderr; inert when ``enabled`` is false."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> "StepProgress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def step(self, description: str, total: int | None = None) -> None:
        if self._progress is None:
            return
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, n)


def step_progress() -> StepProgress:
    """A :class:`StepProgress` that draws only for a terminal and without --quiet."""
    ctx = click.get_current_context(silent=True)
    quiet = bool(ctx and ctx.find_root().meta.get(_QUIET_KEY))
    return StepProgress(enabled=not quiet and sys.stderr.isatty())


DEBUG_KEY = "rsastats.debug"


def _debug(meta: dict[str, Any]) -> bool:
    return bool(meta.get(DEBUG_KEY)) or os.environ.get("RSASTATS_DEBUG", "") not in ("", "0")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _one_line_warning(seen: set[str]) -> Callable[..., None]:
    """``warnings.showwarning`` for the command line: ``warning: <message>`` on stderr, once per message
    (no source file and line: those are for --debug)."""

    def show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        text = _one_line(str(message))
        if text not in seen:
            seen.add(text)
            click.echo(f"warning: {text}", err=True)

    return show


class LazyGroup(click.Group):
    """A click group whose subcommands live in modules imported only when needed,
    and whose ``main`` turns every error into the project's one-line ``error:`` convention."""

    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_subcommands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            module_name, attr = self.lazy_subcommands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        code = 0
        ctx_meta: dict[str, Any] = {}
        try:
            with warnings.catch_warnings(), self.make_context(prog_name or "rsastats", argv, **extra) as ctx:
                ctx_meta = ctx.meta
                if not _debug(ctx_meta):
                    warnings.showwarning = _one_line_warning(set())
                self.invoke(ctx)
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except click.exceptions.Abort:
            click.echo("error: aborted", err=True)
            code = 1
        except click.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            code = self._report(f"{_one_line(exc.format_message())}{hint}", 2, ctx_meta)
        except click.ClickException as exc:
            code = self._report(_one_line(exc.format_message()), exc.exit_code or 1, ctx_meta)
        except InputError as exc:
            if _debug(ctx_meta):
                traceback.print_exc()
            code = self._report(str(exc), 2, ctx_meta)
        except RsaStatsError as exc:
            if _debug(ctx_meta):
                traceback.print_exc()
            code = self._report(str(exc), 1, ctx_meta)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            code = 130
        except Exception as exc:  # anything unexpected: still one line unless --debug
            if _debug(ctx_meta):
                traceback.print_exc()
            code = self._report(f"internal error: {type(exc).__name__}: {_one_line(str(exc))} (rerun with --debug for the traceback)", 1, ctx_meta)
        if standalone_mode:
            sys.exit(code)
        return code

    @staticmethod
    def _report(message: str, code: int, meta: dict[str, Any]) -> int:
        click.echo(f"error: {message}", err=True)
        if meta.get(_JSON_KEY):
            click.echo(json.dumps({"error": message, "exit_code": code}))
        return code
