"""The command line's plumbing, at its old path: kept so that modules not yet moved to the new
names go on working.  The code lives in :mod:`rsastats.cli.errors` (``LazyGroup``),
:mod:`rsastats.cli.options`, :mod:`rsastats.cli.output` and :mod:`rsastats.cli.progress`; import
from there (``to_jsonable`` is :func:`rsastats.results.to_jsonable`)."""

from __future__ import annotations

from .cli.errors import DEBUG_KEY, LazyGroup
from .cli.options import json_mode, json_option, quiet_option, scheduler_option, seed_option
from .cli.output import emit_json, stdout_console
from .cli.progress import Progress as StepProgress
from .cli.progress import progress_bar, step_progress
from .results import to_jsonable

__all__ = [
    "DEBUG_KEY",
    "LazyGroup",
    "json_option",
    "quiet_option",
    "seed_option",
    "scheduler_option",
    "emit_json",
    "to_jsonable",
    "stdout_console",
    "progress_bar",
    "step_progress",
    "StepProgress",
    "json_mode",
]
