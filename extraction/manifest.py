"""Many extractions as independent tasks: a manifest in, one activations file per task out, and a
state file that records what is done.

A manifest (YAML or JSON) lists tasks; each task is one ``rsastats extract`` run (one model, one
recipe, one precision, ...) with its own output file::

    defaults:                    # optional, shared by every task
      recipe: study
      layers: last
    tasks:
      - {model: default, precision: fp32, out: runs/smollm2-fp32.nc}
      - {model: default, precision: bf16, out: runs/smollm2-bf16.nc}
      - {model: minilm, stimuli: implicit, pooling: mean, out: runs/minilm.nc}

Keys are the options of ``rsastats extract`` (``max_new_tokens`` or ``max-new-tokens``); ``out`` is
required and must lie inside the manifest's folder (``..`` or an absolute path elsewhere is refused
unless ``allow_outside``).  Relative paths (``out``, and ``model``/``stimuli``/``baseline`` when
they name a file or folder that exists there) are relative to the manifest's folder; workers get
absolute paths.

The state file (``<manifest>.state.json`` beside it; ``manifest_state.py``) is written only by the
process that runs the manifest (it holds the state file's lock: one run of a manifest at a time),
atomically, after every change: a task is ``submitted`` before it runs and ``done`` or
``failed`` after.  Running the manifest again skips tasks whose output exists and whose state says
this task made it (``done``, or ``submitted`` when the runner stopped before recording the end: the
output file is written atomically, so it exists only complete), and runs the rest; a failed task is
run again without redoing the others.  A task whose worker dies is rescheduled by dask, and the
extraction itself resumes from the emotions it had finished (its ``<out>.parts`` folder).  An
output that exists without this task's record is refused unless ``overwrite`` (it may hold another
configuration: a changed task gets a new identity).

Nothing here imports torch; :func:`run_task` does, on the process that runs it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from rsastats.io import load_mapping_text, output_lock
from rsastats.exceptions import FileFormatError, InputError, OutputBusyError, RsaStatsError, ValidationError

from .config import ExtractionConfig, make_config
from .manifest_state import ManifestState, now_iso

__all__ = ["ManifestTask", "TaskOutcome", "ManifestResult", "load_manifest", "run_manifest", "run_task", "extract_task",
           "state_path_for", "TASK_KEYS"]

TASK_KEYS = tuple(sorted({f.name for f in fields(ExtractionConfig)} - {"recipe_overrides"} | {"out"}))
_PATH_KEYS = ("model", "stimuli", "baseline")


@dataclass(frozen=True)
class ManifestTask:
    """One extraction: its position in the manifest, identity, configuration and output file."""

    index: int
    task_id: str
    config: ExtractionConfig
    out: str

    def describe(self) -> str:
        return f"task {self.index + 1} ({self.config.model}, {self.config.precision} -> {self.out})"


@dataclass(frozen=True)
class TaskOutcome:
    """What happened to one task in this run: ``done``, ``skipped`` (done before) or ``failed``."""

    index: int
    task_id: str
    out: str
    model: str
    method: str
    precision: str
    status: str
    attempts: int
    seconds: float | None
    tokens: int | None
    error: str
    retryable: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.index + 1, "task_id": self.task_id, "out": self.out, "model": self.model,
                "method": self.method, "precision": self.precision, "status": self.status, "attempts": self.attempts,
                "seconds": self.seconds, "tokens": self.tokens, "error": self.error, "retryable": self.retryable}


@dataclass(frozen=True)
class ManifestResult:
    """Every task of a manifest run, in manifest order."""

    manifest: str
    state: str
    scheduler: str
    outcomes: tuple[TaskOutcome, ...]

    @property
    def n_failed(self) -> int:
        return sum(o.status == "failed" for o in self.outcomes)

    def failure_message(self) -> str:
        """One line: which tasks failed, their outputs and reasons, and whether running the same
        command again can succeed (not when every failure is bad input)."""
        failed = [o for o in self.outcomes if o.status == "failed"]
        what = "; ".join(f"task {o.index + 1} ({o.model}, {o.precision} -> {o.out}): {o.error}" for o in failed)
        again = [str(o.index + 1) for o in failed if o.retryable]
        advice = (f"run the same command again to retry task(s) {', '.join(again)} (finished tasks are skipped)" if again
                  else "running the same command again would fail the same way: correct the input first")
        return f"{self.manifest}: {len(failed)} of {len(self.outcomes)} tasks failed: {what}; {advice}"

    def to_dict(self) -> dict[str, Any]:
        counts = {s: sum(o.status == s for o in self.outcomes) for s in ("done", "skipped", "failed")}
        return {"manifest": self.manifest, "state": self.state, "scheduler": self.scheduler,
                "n_tasks": len(self.outcomes), **{f"n_{k}": v for k, v in counts.items()},
                "tasks": [o.to_dict() for o in self.outcomes]}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([o.to_dict() for o in self.outcomes])


# --------------------------------------------------------------------------- reading
def state_path_for(manifest: str | os.PathLike) -> Path:
    """The state file of a manifest: ``<manifest>.state.json`` beside it."""
    manifest = Path(manifest)
    return manifest.with_name(manifest.name + ".state.json")


def _read(path: Path) -> Any:
    if not path.is_file():
        raise FileFormatError("file not found" if not path.exists() else "is not a file", path=path)
    return load_mapping_text(path, "manifest")


def _resolve(value: Any, folder: Path) -> Any:
    if isinstance(value, str) and value and not os.path.isabs(value) and (folder / value).exists():
        return str((folder / value).resolve())
    return value


def _task_id(config: ExtractionConfig, out: str) -> str:
    payload = json.dumps({"config": config.to_dict(), "out": out}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _manifest_iv(data: Any, path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    if not isinstance(data, dict) or "tasks" not in data:
        raise FileFormatError("a manifest is a mapping with a 'tasks' list (and optional 'defaults')", path=path)
    unknown_top = sorted(set(data) - {"tasks", "defaults"})
    if unknown_top:
        raise FileFormatError(f"unknown manifest key(s) {', '.join(unknown_top)}: use 'defaults' and 'tasks'", path=path)
    defaults = data.get("defaults") or {}
    tasks = data["tasks"]
    if not isinstance(defaults, dict):
        raise FileFormatError("'defaults' must be a mapping of extract options", path=path)
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, dict) for t in tasks):
        raise FileFormatError("'tasks' must be a non-empty list of mappings (one per extraction)", path=path)
    return defaults, tasks


def _inside(out: str, manifest: Path) -> bool:
    """Whether ``out`` (relative to the manifest's folder, or absolute) names a place inside that folder."""
    folder = os.path.abspath(manifest.parent)
    target = os.path.normpath(os.path.join(folder, out))
    return os.path.commonpath([folder, target]) == folder and target != folder


def load_manifest(path: str | os.PathLike, *, allow_outside: bool = False) -> list[ManifestTask]:
    """Tasks of a manifest file, validated (every configuration through ``make_config``).

    Raises a one-line :class:`~rsastats.exceptions.InputError` naming the manifest and the task for
    an unknown key, a missing ``out``, an invalid setting, two tasks writing the same file, or (unless
    ``allow_outside``) an ``out`` outside the manifest's folder (``..``, or an absolute path elsewhere).
    """
    path = Path(path)
    defaults, entries = _manifest_iv(_read(path), path)
    folder = path.resolve().parent
    tasks: list[ManifestTask] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        options = {str(k).replace("-", "_"): v for k, v in {**defaults, **entry}.items()}
        where = f"task {index + 1}"
        unknown = sorted(set(options) - set(TASK_KEYS))
        if unknown:
            raise ValidationError(f"{where}: unknown option(s) {', '.join(unknown)}; a task takes {', '.join(TASK_KEYS)}",
                                  path=path)
        out = options.pop("out", None)
        if not isinstance(out, str) or not out.strip():
            raise ValidationError(f"{where}: 'out' (the activations file to write) is missing", path=path)
        if not allow_outside and not _inside(out, path):
            raise ValidationError(f"{where}: 'out' {out!r} is outside the manifest's folder; pass --allow-outside to "
                                  "write there", path=path)
        out = str((folder / out).resolve()) if not os.path.isabs(out) else out
        for key in _PATH_KEYS:
            if key in options:
                options[key] = _resolve(options[key], folder)
        if isinstance(options.get("emotions"), str):
            options["emotions"] = [e.strip() for e in options["emotions"].split(",") if e.strip()]
        recipe = options.pop("recipe", None)
        try:
            config = make_config(recipe, **options)
        except InputError as exc:
            raise ValidationError(f"{where}: {exc.problem}", path=path) from None
        if out in seen:
            raise ValidationError(f"{where} writes {out}, as task {seen[out] + 1} does: give each task its own 'out'",
                                  path=path)
        seen[out] = index
        tasks.append(ManifestTask(index, _task_id(config, out), config, out))
    return tasks


# --------------------------------------------------------------------------- running
def extract_task(config: ExtractionConfig, out: str, overwrite: bool = False, threads: int | None = None,
                 restart: bool = False):
    """Run one extraction on whichever process calls it (a dask worker); its ``ExtractionResult``."""
    from .recipe_run import run_extraction as extract  # imports torch

    if threads is not None:
        import torch

        torch.set_num_threads(int(threads))
    return extract(config, out, overwrite=overwrite, restart=restart)


def run_task(config: ExtractionConfig, out: str, overwrite: bool = False, threads: int | None = None) -> dict[str, Any]:
    """:func:`extract_task`, its result as a dict (what a manifest run records)."""
    return extract_task(config, out, overwrite, threads).to_dict()


def _retryable(exc: BaseException) -> bool:
    """Whether the same task can succeed when run again: not after bad input (which fails the same
    way every time), except an output another process was writing."""
    return isinstance(exc, OutputBusyError) or not isinstance(exc, InputError)


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, RsaStatsError):
        return str(exc)
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _plan(tasks: Sequence[ManifestTask], state: ManifestState, overwrite: bool, manifest: Path) -> tuple[list, list]:
    """(tasks to run, tasks already done); refuses outputs this manifest did not make."""
    to_run, done = [], []
    for task in tasks:
        record = state.get(task.task_id)
        exists = os.path.exists(task.out)
        if exists and record is not None and record.get("status") in ("done", "submitted") and not overwrite:
            done.append(task)
        elif exists and not overwrite:
            raise ValidationError(f"{task.describe()}: {task.out} already exists and the state file does not record "
                                  "it as this task's output (another configuration?); pass --overwrite to replace it",
                                  path=manifest)
        else:
            to_run.append(task)
    return to_run, done


def _execute(tasks: Sequence[ManifestTask], state: ManifestState, function: Callable[..., dict[str, Any]], *, runner: Any,
             retries: int, overwrite: bool, threads: int | None,
             progress: Callable[[ManifestTask, str], None] | None) -> dict[str, tuple[str, dict[str, Any] | None, str]]:
    """Run ``function(config, out, overwrite, threads)`` for each task; record every end in the state."""
    outcomes: dict[str, tuple[str, dict[str, Any] | None, str]] = {}

    def finish(task: ManifestTask, result: dict[str, Any] | None, error: BaseException | None) -> None:
        if error is None:
            state.update(task, status="done", finished=now_iso(), error="", seconds=result.get("seconds"),
                         tokens=result.get("tokens"))
            outcomes[task.task_id] = ("done", result, "")
        else:
            line = _error_line(error)
            state.update(task, status="failed", finished=now_iso(), error=line, retryable=_retryable(error))
            outcomes[task.task_id] = ("failed", None, line)
        state.save()
        if progress is not None:
            progress(task, outcomes[task.task_id][0])

    for task in tasks:
        record = state.update(task, status="submitted", started=now_iso(), error="")
        record["attempts"] = int(record.get("attempts", 0)) + 1
    state.save()
    args = [(task.config, task.out, overwrite, threads) for task in tasks]

    def retried(i: int) -> None:
        state.update(tasks[i], attempts=int(state.get(tasks[i].task_id)["attempts"]) + 1)

    for i, result, error in runner.each(function, args, retries=retries, on_retry=retried):
        finish(tasks[i], result, error)
    return outcomes


def run_manifest(manifest: str | os.PathLike, *, scheduler: Any = None, retries: int = 1, overwrite: bool = False,
                 restart: bool = False, threads: int | None = None, state_path: str | os.PathLike | None = None,
                 progress: Callable[[ManifestTask, str], None] | None = None,
                 function: Callable[..., dict[str, Any]] = run_task, allow_outside: bool = False) -> ManifestResult:
    """Run every task of ``manifest`` that is not done yet; in this process, or on a dask cluster.

    Parameters
    ----------
    manifest : the YAML/JSON manifest (see the module docstring).
    scheduler : dask scheduler address, ``distributed.Client`` or None (in-process, one task after
        another).  On a cluster each task is one dask task; workers read and write the paths given
        (a shared file system), and need the ``extract`` extra.
    retries : how often a task that raised an error (other than bad input) is run again in this
        call; a task whose worker died is rescheduled by dask regardless.
    overwrite : replace outputs that exist (also those of finished tasks: everything runs again).
    restart : discard the unfinished work folders (``<out>.parts``) of the tasks that run, instead
        of resuming them.
    threads : torch threads per task (default: torch's choice).
    state_path : default ``<manifest>.state.json``.
    progress : called with ``(task, status)`` as each task ends.
    function : what runs a task (``run_task``); tests pass a stand-in.
    allow_outside : let tasks write outside the manifest's folder (refused by default).

    Returns
    -------
    ManifestResult : one outcome per task, in manifest order (``failed`` ones carry the error line).
    """
    manifest = Path(manifest)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValidationError(f"retries must be an integer >= 0, got {retries!r}")
    tasks = load_manifest(manifest, allow_outside=allow_outside)
    state_file = Path(state_path) if state_path is not None else state_path_for(manifest)
    with output_lock(state_file):  # one run of a manifest at a time; each task locks its own output
        return _run_locked(manifest, tasks, ManifestState(state_file, manifest.resolve()), scheduler, retries, overwrite,
                           restart, threads, progress, function)


def _run_locked(manifest: Path, tasks: list[ManifestTask], state: ManifestState, scheduler: Any, retries: int,
                overwrite: bool, restart: bool, threads: int | None, progress: Any, function: Any) -> ManifestResult:
    from rsastats.parallel import runner_for

    to_run, done = _plan(tasks, state, overwrite, manifest)
    for task in done:
        if state.get(task.task_id).get("status") != "done":  # the runner stopped after the file was written
            state.update(task, status="done", finished=now_iso())
    if restart:
        from .parts import work_folder

        for task in to_run:
            with output_lock(task.out):
                shutil.rmtree(work_folder(task.out), ignore_errors=True)
    with runner_for(scheduler if to_run else None) as runner:
        ran = _execute(to_run, state, function, runner=runner, retries=retries, overwrite=overwrite, threads=threads,
                       progress=progress) if to_run else {}
        address = runner.address
    state.save()
    outcomes = []
    for task in tasks:
        record = state.get(task.task_id) or {}
        status, result, error = ran.get(task.task_id, ("skipped", None, ""))
        seconds = (result or {}).get("seconds", record.get("seconds"))
        tokens = (result or {}).get("tokens", record.get("tokens"))
        outcomes.append(TaskOutcome(task.index, task.task_id, task.out, task.config.model, task.config.method,
                                    task.config.precision, status, int(record.get("attempts", 0)), seconds, tokens, error,
                                    status == "failed" and bool(record.get("retryable", True))))
    return ManifestResult(str(manifest), str(state.path), address, tuple(outcomes))
