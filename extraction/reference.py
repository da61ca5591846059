"""Reference extractions for ``rsastats audit``: turn the attributes of an audited file into an
extraction configuration for a reference model, and run (or reuse) that extraction.

:class:`ReferenceExtractor` is the reference maker that :func:`rsastats.audit.audit` calls through
``make_references=`` (the command line wires ``--reference-model`` to it): it receives one request
per audited side (``side``, ``attrs``, ``emotions``, ``n_prompts``, ``baseline``) and answers with
:class:`ReferenceExtractions` (the files, the assumptions, the plans), the shape the audit reads.
The core never imports this module.

The mapping from attributes to :class:`extraction.config.ExtractionConfig` is torch-free; running
an extraction imports :mod:`extraction.run` (torch) only when a file is not cached yet.  Every
attribute the audited file does not record is filled in from its recipe (when it names one) or a
stated default, and the choice is returned as a :class:`PlanAssumption`.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from rsastats.exceptions import (ConfigMismatchError, DependencyError, FileFormatError, InputError, ModelLoadError,
                                 ValidationError)

from .config import ExtractionConfig
from .reference_plan import PlanAssumption, ReferencePlan, plan_reference
from .registry import cache_root

__all__ = [
    "ReferenceExtractions",
    "ReferenceExtractor",
    "reference_path",
    "default_reference_dir",
    "run_reference",
]


@dataclass(frozen=True)
class ReferenceExtractions:
    """What :class:`ReferenceExtractor` made: the files of A's recipe (one per run) and of B's, the
    reference model, the settings assumed, each side's plan (as JSON) and notes (files reused)."""

    model: str
    files_a: tuple[str, ...]
    files_b: tuple[str, ...]
    assumptions: tuple[PlanAssumption, ...]
    plans: tuple[dict[str, Any], ...]
    notes: tuple[str, ...]


class ReferenceExtractor:
    """Re-extracts each audited recipe on one reference model, caching the files.

    Parameters
    ----------
    model : registry name (``default``, ``minilm``, ...), local folder, ``.gguf`` file or cached hub id.
    reference_dir : where extractions are kept and reused (default :func:`default_reference_dir`);
        an interrupted extraction resumes there.
    limit : at most this many prompts per emotion (default: as many as the audited file has; the
        recipe's full set for vector sets).
    baseline_limit : at most this many baseline (emotion-free) texts, for recipes and normalizations
        that read them (default: as many as the audited file holds; the built-in set in full when it
        holds none).
    progress : ``progress(description)`` returns a progress object for each extraction
        (:func:`extraction.run.extract`).

    Called as ``extractor(requests, runs=k)`` with the audit's two requests, it returns
    :class:`ReferenceExtractions`.
    """

    def __init__(self, model: str = "default", *, reference_dir: str | os.PathLike | None = None,
                 limit: int | None = None, baseline_limit: int | None = None,
                 progress: Callable[[str], Any] | None = None) -> None:
        if not str(model or "").strip():
            raise ValidationError("give a reference model (e.g. 'default') or two reference files")
        self.model = str(model)
        self.reference_dir = Path(reference_dir) if reference_dir is not None else default_reference_dir()
        self.limit = None if limit is None else _limit_iv(limit)
        self.baseline_limit = None if baseline_limit is None else _limit_iv(baseline_limit, "baseline_limit")
        self.progress = progress

    def plans(self, requests: Sequence[Any]) -> list[ReferencePlan]:
        """The extraction that re-creates each request's recipe (torch-free)."""
        return [plan_reference(r.attrs, r.side, model=self.model, emotions=r.emotions, n_prompts=r.n_prompts,
                               limit=self.limit, baseline=r.baseline, n_baseline=getattr(r, "n_baseline", None),
                               baseline_limit=self.baseline_limit) for r in requests]

    def __call__(self, requests: Sequence[Any], *, runs: int = 1) -> ReferenceExtractions:
        plans = self.plans(requests)
        files, assumed, notes = run_reference(plans, self.reference_dir, runs=runs, progress=self.progress)
        assumptions = tuple(x for plan in plans for x in plan.assumptions) + tuple(assumed)
        return ReferenceExtractions(self.model, tuple(map(str, files[0])), tuple(map(str, files[1])), assumptions,
                                    tuple(p.to_dict() for p in plans), tuple(notes))


def _limit_iv(limit: Any, name: str = "limit") -> int:
    """A cap on prompts (or texts): an integer >= 1 (a float that is one is taken; a bool is not)."""
    if isinstance(limit, float) and limit.is_integer():
        limit = int(limit)
    if isinstance(limit, bool) or not isinstance(limit, numbers.Integral):
        raise ValidationError(f"{name} must be an integer >= 1; got {limit!r}")
    if int(limit) < 1:
        raise ValidationError(f"{name} must be >= 1; got {int(limit)}")
    return int(limit)


# --------------------------------------------------------------------------- cache
def default_reference_dir() -> Path:
    """``<rsastats cache>/audit-references`` (the cache is :func:`extraction.registry.cache_root`)."""
    return cache_root() / "audit-references"


def _config_key(config: ExtractionConfig) -> str:
    payload = json.dumps(config.to_dict(), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def reference_path(config: ExtractionConfig, reference_dir: str | os.PathLike) -> Path:
    """Where the extraction of ``config`` is kept: ``<dir>/<recipe or method>-<seed>-<config hash>.nc``."""
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", config.recipe or config.method).strip("-") or "reference"
    seed = f"-seed{config.seed}" if config.method == "generation" else ""
    return Path(reference_dir) / f"{label}{seed}-{_config_key(config)}.nc"


# --------------------------------------------------------------------------- running
def _check_model(model: str) -> Any:
    """Load the reference model once, to fail early with one line if it cannot be used."""
    from .models import load_model  # imports torch

    try:
        return load_model(model)
    except (ModelLoadError, DependencyError) as exc:
        raise ModelLoadError(f"the reference model cannot be loaded: {exc.problem if exc.path is None else exc}; "
                             "give another --reference-model or pass --reference-files REF_A REF_B") from None


def _jobs(plans: Sequence[ReferencePlan], folder: Path, runs: int) -> list[tuple[int, ExtractionConfig, Path]]:
    """``(plan index, config, file)`` of every extraction: a stochastic plan ``runs`` times with
    seeds ``seed, seed + 1, ...``, a deterministic one once."""
    jobs = []
    for p, plan in enumerate(plans):
        for run in range(runs if plan.stochastic else 1):
            config = replace(plan.config, seed=plan.config.seed + run)
            jobs.append((p, config, reference_path(config, folder)))
    return jobs


def _model_has_chat(todo: Sequence[tuple[int, ExtractionConfig, Path]], model: str) -> bool:
    """Load the model of the extractions still to do; refuse an encoder for generation recipes."""
    loaded = _check_model(model)
    if loaded.kind == "encoder" and any(c.method == "generation" for _, c, _ in todo):
        raise ModelLoadError(f"the reference model {model!r} is an encoder ({loaded.architecture}) "
                             "and cannot re-run a generation recipe: choose a causal reference model")
    return bool(getattr(loaded.tokenizer, "chat_template", None))


def run_reference(plans: Sequence[ReferencePlan], reference_dir: str | os.PathLike, *, runs: int = 1,
                  progress: Callable[[str], Any] | None = None) -> tuple[list[list[Path]], list[PlanAssumption], list[str]]:
    """Run (or reuse from ``reference_dir``) the extractions of ``plans``.

    A stochastic plan (sampled generation) runs ``runs`` times with seeds ``seed, seed + 1, ...``;
    a deterministic one once.  Finished files are reused; an interrupted extraction resumes from its
    ``.parts`` folder.  ``progress(description)`` returns an object for :func:`extraction.run.extract`.

    Returns the files per plan, the assumptions made while running (a chat template the model lacks)
    and notes (which files were reused).
    """
    folder = Path(reference_dir).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileFormatError(f"cannot create the reference folder: {exc.strerror}", path=folder) from None
    jobs = _jobs(plans, folder, runs)
    todo = [job for job in jobs if not job[2].exists()]
    has_chat = _model_has_chat(todo, plans[0].config.model) if todo else True
    files: list[list[Path]] = [[] for _ in plans]
    reused = 0
    for p, config, path in jobs:
        actual = config
        if config.chat_template == "on" and not has_chat:
            actual = replace(config, chat_template="off")
        if path.exists():
            reused += 1
        else:
            _extract(actual, path, progress(f"reference {plans[p].side}: {config.recipe or config.method}")
                     if progress else None)
        files[p].append(path)
    assumptions = [PlanAssumption(plan.side, "chat_template", "off",
                                  f"{plan.side} used a chat template; the reference model has none")
                   for p, plan in enumerate(plans) if plan.config.chat_template == "on" and not _file_used_chat(files[p][0])]
    notes = [f"{reused} of {len(jobs)} reference extraction(s) reused from {folder}"] if reused else []
    return files, assumptions, notes


def _file_used_chat(path: Path) -> bool:
    from rsastats.io import NETCDF_LOCK, open_netcdf

    with NETCDF_LOCK, open_netcdf(path) as handle:
        return str(handle.attrs.get("chat_template", "0")) in ("1", "1.0")


def _extract(config: ExtractionConfig, path: Path, progress: Any) -> None:
    from .recipe_run import run_extraction as extract  # imports torch

    try:
        extract(config, path, progress=progress)
    except ConfigMismatchError:
        # The unfinished run was made by other software versions (the key covers every setting).
        extract(config, path, progress=progress, restart=True)
    except InputError as exc:
        raise type(exc)(f"reference extraction ({config.recipe or config.method} on {config.model}): {exc}") from None
    finally:
        stop = getattr(progress, "stop", None)
        if callable(stop):
            stop()

