"""Reference extractions for :mod:`rsastats.audit`: turn the attributes of an audited file into an
extraction configuration for a reference model, and run (or reuse) that extraction.

The mapping from attributes to :class:`extraction.config.ExtractionConfig` is torch-free; running
an extraction imports :mod:`extraction.run` (torch) only when a file is not cached yet.  Every
attribute the audited file does not record is filled in from its recipe (when it names one) or a
stated default, and the choice is returned as a :class:`ReferenceAssumption`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from extraction.config import JEONG_PROMPT, METHODS, PRECISIONS, RECIPES, ExtractionConfig, make_config

from .variance.design import level_text
from .exceptions import ConfigMismatchError, DependencyError, FileFormatError, InputError, ModelLoadError

__all__ = [
    "ReferenceAssumption",
    "ReferencePlan",
    "plan_reference",
    "reference_path",
    "default_reference_dir",
    "run_reference",
]

_BUILTIN = ("named", "implicit")
_POOLINGS_OF = {"comprehension": ("last", "last-stimulus", "mean"), "generation": ("mean-generated", "last")}
# Normalizations that need the emotion-free baseline texts (the others do not read them).
BASELINE_NORMALIZATIONS = ("baseline-mean", "neutral-pc")


@dataclass(frozen=True)
class ReferenceAssumption:
    """A setting of a reference extraction that the audited file does not record.

    ``blocking`` is True when the assumption concerns one of the four layers' settings (the reference
    then may not reproduce that layer, and the audit's verdict is ``inconclusive``); an assumed
    sampling seed is not blocking (seeds are exchangeable draws).
    """

    side: str
    attribute: str
    value: str
    reason: str
    blocking: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"side": self.side, "attribute": self.attribute, "value": self.value, "reason": self.reason,
                "blocking": self.blocking}


@dataclass(frozen=True)
class ReferencePlan:
    """How the reference model re-extracts one audited file's recipe."""

    side: str
    config: ExtractionConfig
    assumptions: tuple[ReferenceAssumption, ...]

    @property
    def stochastic(self) -> bool:
        """Generation with sampling: repeated runs with other seeds give other texts."""
        return self.config.method == "generation" and self.config.temperature > 0

    def to_dict(self) -> dict[str, Any]:
        return {"side": self.side, "config": self.config.to_dict(),
                "assumptions": [a.to_dict() for a in self.assumptions]}


def _text(attrs: Mapping[str, Any], name: str) -> str:
    return level_text(attrs.get(name, ""))


def _number(text: str, kind: type) -> Any:
    try:
        value = float(text)
    except ValueError:
        return None
    if kind is int:
        return int(value) if value.is_integer() else None
    return value


def _stimuli_settings(attrs: Mapping[str, Any], method: str, recipe: Mapping[str, Any], side: str,
                      assume: Callable[..., None]) -> dict[str, Any]:
    """``stimuli`` / ``prompt_template`` / ``template`` of the reference run."""
    source = str(attrs.get("stimulus_source", "") or "")
    name = str(attrs.get("stimulus_set", "") or "").split(" sha256:")[0].strip()
    template = str(attrs.get("template", "") or "")
    out: dict[str, Any] = {}
    if source.startswith("built-in:"):
        out["stimuli"] = source.split(":", 1)[1]
    elif source.startswith("template:"):
        out["prompt_template"] = source.split(":", 1)[1]
    elif source:
        if not Path(source).is_file():
            raise FileFormatError(f"{side}'s stimuli came from {source}, which is not on this machine: put the file "
                                  "there or pass --reference-files with extractions made from it")
        out["stimuli"] = source
    elif name in _BUILTIN:
        out["stimuli"] = name
    elif name == "prompt-template" and "{emotion}" in template:
        out["prompt_template"] = template
    else:
        fallback = recipe.get("prompt_template") or recipe.get("stimuli")
        if fallback is None:
            fallback = JEONG_PROMPT if method == "generation" else "named"
        key = "prompt_template" if "{emotion}" in str(fallback) else "stimuli"
        out[key] = fallback
        what = f"the stimulus set {name!r}" if name else "its stimulus set"
        assume("stimulus_set", str(fallback), f"{side} does not say where {what} came from")
    if "prompt_template" in out and method != "generation":
        # A prompt template is for generation only; a comprehension file that names one is inconsistent.
        raise FileFormatError(f"{side} is a comprehension file whose stimuli are a generation prompt template; "
                              "its attributes contradict each other")
    prompt = out.get("prompt_template", "")
    if prompt and prompt in template:
        out["template"] = template.replace(prompt, "{text}", 1)
    elif template.count("{text}") == 1:
        out["template"] = template
    else:
        out["template"] = "{text}"
        if not template:
            assume("template", "{text}", f"{side} does not record its template")
        else:
            assume("template", "{text}", f"{side}'s template {template!r} has no {{text}} slot rsastats can fill")
    return out


def plan_reference(attrs: Mapping[str, Any], side: str, *, model: str, emotions: Sequence[str],
                   n_prompts: int | None, limit: int | None, baseline: bool) -> ReferencePlan:
    """The extraction that re-creates ``side``'s recipe (its attributes) on the reference ``model``.

    Parameters
    ----------
    attrs : the audited file's attributes.
    side : ``"A"`` or ``"B"`` (used in assumptions and messages).
    model : reference model (registry name, folder, .gguf file or cached hub id).
    emotions : the emotions to extract (the audited emotion set).
    n_prompts : prompts per emotion in the audited file (None for vector sets: the recipe's full set).
    limit : cap on prompts per emotion (``--limit``).
    baseline : read the emotion-free baseline texts (needed by baseline normalizations only).
    """
    assumptions: list[ReferenceAssumption] = []

    def assume(attribute: str, value: Any, reason: str, blocking: bool = True) -> None:
        assumptions.append(ReferenceAssumption(side, attribute, str(value), reason, blocking))

    recipe_name = str(attrs.get("recipe", "") or "")
    recipe = dict(RECIPES[recipe_name].settings) if recipe_name in RECIPES else {}

    def recorded(name: str, default: Any, reason_missing: str | None = None) -> str:
        value = _text(attrs, name)
        if value:
            return value
        fallback = recipe.get(name, default)
        source = f"recipe {recipe_name}'s value" if name in recipe else "rsastats' default"
        assume(name, fallback, reason_missing or f"{side} does not record {name}; {source} was used")
        return level_text(fallback)

    method = _text(attrs, "method")
    if method not in METHODS:
        method = recipe.get("method", "comprehension")
        assume("method", method, f"{side} does not record its method")
    pooling = _text(attrs, "pooling")
    if pooling not in _POOLINGS_OF[method]:
        chosen = recipe.get("pooling", _POOLINGS_OF[method][0])
        assume("pooling", chosen, f"{side} records pooling {pooling!r}, which rsastats cannot run for {method}"
               if pooling else f"{side} does not record its pooling")
        pooling = chosen
    precision = _text(attrs, "precision")
    if precision == "int8":
        precision = "int8-token"
        assume("precision", precision, f"{side} records int8 without its scheme (int8-dynamic, int8-token and "
               "int8-weight move the geometry very differently)")
    elif precision not in PRECISIONS:
        chosen = recipe.get("precision", "fp32")
        assume("precision", chosen, f"{side} does not record its precision" if not precision else
               f"{side}'s precision {precision!r} is not one rsastats can run")
        precision = chosen
    settings: dict[str, Any] = {"model": model, "method": method, "pooling": pooling, "precision": precision,
                                "layers": "last", "emotions": tuple(emotions), "baseline": "builtin" if baseline else "none",
                                "experiment": _text(attrs, "experiment")}
    settings.update(_stimuli_settings(attrs, method, recipe, side, assume))
    settings["final_norm"] = "pre" if _text(attrs, "last_layer_norm") == "pre-final-norm" else "post"
    settings["chat_template"] = "on" if _text(attrs, "chat_template") == "1" else "off"
    settings["skip_first_token"] = _text(attrs, "skip_first_token") == "1"
    if method == "generation":
        for name, kind, default in (("temperature", float, 1.0), ("top_p", float, 1.0), ("top_k", int, 0),
                                    ("max_new_tokens", int, 100)):
            value = _number(recorded(name, default), kind)
            if value is None:
                value = recipe.get(name, default)
                assume(name, value, f"{side}'s {name} {_text(attrs, name)!r} is not a number rsastats can use")
            settings[name] = value
        seed = _number(_text(attrs, "seed"), int)
        if seed is None or seed < 0:
            seed = 0
            assume("seed", 0, f"{side} does not record its sampling seed; seeds are exchangeable draws", blocking=False)
        settings["seed"] = seed
    if settings.get("prompt_template"):
        settings["samples"] = int(n_prompts) if n_prompts else int(recipe.get("samples", 10))
    elif n_prompts:
        settings["limit"] = int(n_prompts)
    if limit is not None:
        settings["limit"] = min(limit, settings["limit"]) if settings.get("limit") else limit
    config = make_config(None, **settings)
    config = replace(config, recipe=recipe_name if recipe_name in RECIPES else "")
    return ReferencePlan(side, config, tuple(assumptions))


# --------------------------------------------------------------------------- cache
def default_reference_dir() -> Path:
    """``<rsastats cache>/audit-references`` (the cache is ``$RSASTATS_CACHE``, else
    ``$XDG_CACHE_HOME/rsastats``, else ``~/.cache/rsastats``; as in :func:`extraction.models.cache_root`)."""
    if os.environ.get("RSASTATS_CACHE"):
        root = Path(os.environ["RSASTATS_CACHE"])
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rsastats"
    return root.expanduser() / "audit-references"


def _config_key(config: ExtractionConfig) -> str:
    payload = json.dumps(config.to_dict(), sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def reference_path(config: ExtractionConfig, reference_dir: str | os.PathLike) -> Path:
    """Where the extraction of ``config`` is kept: ``<dir>/<recipe or method>-<seed>-<config hash>.nc``."""
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", config.recipe or config.method).strip("-") or "reference"
    seed = f"-seed{config.seed}" if config.method == "generation" else ""
    return Path(reference_dir) / f"{label}{seed}-{_config_key(config)}.nc"


def _check_model(model: str) -> Any:
    """Load the reference model once, to fail early with one line if it cannot be used."""
    from extraction.models import load_model  # imports torch

    try:
        return load_model(model)
    except (ModelLoadError, DependencyError) as exc:
        raise ModelLoadError(f"the reference model cannot be loaded: {exc.problem if exc.path is None else exc}; "
                             "give another --reference-model or pass --reference-files REF_A REF_B") from None


def run_reference(plans: Sequence[ReferencePlan], reference_dir: str | os.PathLike, *, runs: int = 1,
                  progress: Callable[[str], Any] | None = None) -> tuple[list[list[Path]], list[ReferenceAssumption], list[str]]:
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
    jobs: list[tuple[int, ExtractionConfig, Path]] = []
    for p, plan in enumerate(plans):
        for run in range(runs if plan.stochastic else 1):
            config = replace(plan.config, seed=plan.config.seed + run)
            jobs.append((p, config, reference_path(config, folder)))
    files: list[list[Path]] = [[] for _ in plans]
    assumptions: list[ReferenceAssumption] = []
    notes: list[str] = []
    todo = [(p, c, path) for p, c, path in jobs if not path.exists()]
    has_chat = True
    if todo:
        loaded = _check_model(plans[0].config.model)
        if loaded.kind == "encoder" and any(c.method == "generation" for _, c, _ in todo):
            raise ModelLoadError(f"the reference model {plans[0].config.model!r} is an encoder ({loaded.architecture}) "
                                 "and cannot re-run a generation recipe: choose a causal reference model")
        has_chat = bool(getattr(loaded.tokenizer, "chat_template", None))
        del loaded
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
    for p, plan in enumerate(plans):
        if plan.config.chat_template == "on" and not _file_used_chat(files[p][0]):
            assumptions.append(ReferenceAssumption(plan.side, "chat_template", "off",
                                                   f"{plan.side} used a chat template; the reference model has none"))
    if reused:
        notes.append(f"{reused} of {len(jobs)} reference extraction(s) reused from {folder}")
    return files, assumptions, notes


def _file_used_chat(path: Path) -> bool:
    import xarray as xr

    with xr.open_dataset(path, engine="netcdf4") as handle:
        return str(handle.attrs.get("chat_template", "0")) in ("1", "1.0")


def _extract(config: ExtractionConfig, path: Path, progress: Any) -> None:
    from extraction.run import extract  # imports torch

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
