"""Which extraction re-creates an audited file's recipe on a reference model (torch-free).

:func:`plan_reference` reads the attributes an audited file records (method, pooling, precision,
stimuli, template, chat template, sampling settings) and builds the
:class:`extraction.config.ExtractionConfig` that repeats them; every setting the file does not
record (or records in a form rsastats cannot run) is filled in from its named recipe or a stated
default and returned as a :class:`PlanAssumption`.  Used by :mod:`extraction.reference`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from rsastats.io import attribute_text, known_attribute
from rsastats.exceptions import FileFormatError

from .config import (_POOLINGS_OF, JEONG_PROMPT, METHODS, PAIRED_METHODS, PRECISIONS, RECIPES, STAGE_METHODS,
                     ExtractionConfig, make_config)
from .stimuli import BUILTIN_SETS

__all__ = ["PlanAssumption", "ReferencePlan", "plan_reference"]

# The recipe whose method a file records, when it names no recipe: each peer's recipe is its method's
# only one in rsastats (the study and jeong-generation share their methods with other pipelines).
_RECIPE_OF_METHOD = {r.settings["method"]: name for name, r in RECIPES.items() if r.settings["method"] in STAGE_METHODS}
# Sampling settings of a generation recipe: (name, type, rsastats' default).
_SAMPLING = (("temperature", float, 1.0), ("top_p", float, 1.0), ("top_k", int, 0), ("max_new_tokens", int, 100))

Assume = Callable[..., None]


@dataclass(frozen=True)
class PlanAssumption:
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
    assumptions: tuple[PlanAssumption, ...]

    @property
    def stochastic(self) -> bool:
        """Generation with sampling: repeated runs with other seeds give other texts."""
        return self.config.method == "generation" and self.config.temperature > 0

    def to_dict(self) -> dict[str, Any]:
        return {"side": self.side, "config": self.config.to_dict(),
                "assumptions": [a.to_dict() for a in self.assumptions]}


def _text(attrs: Mapping[str, Any], name: str) -> str:
    return known_attribute(attrs, name)


def _number(text: str, kind: type) -> Any:
    try:
        value = float(text)
    except ValueError:
        return None
    if kind is int:
        return int(value) if value.is_integer() else None
    return value


def _stimuli_source(attrs: Mapping[str, Any], method: str, recipe: Mapping[str, Any], side: str,
                    assume: Assume) -> dict[str, Any]:
    """``stimuli`` or ``prompt_template`` of the reference run."""
    source = str(attrs.get("stimulus_source", "") or "")
    name = str(attrs.get("stimulus_set", "") or "").split(" sha256:")[0].strip()
    template = str(attrs.get("template", "") or "")
    if source.startswith("built-in:"):
        return {"stimuli": source.split(":", 1)[1]}
    if source.startswith("template:"):
        return {"prompt_template": source.split(":", 1)[1]}
    if source:
        if not Path(source).is_file():
            raise FileFormatError(f"{side}'s stimuli came from {source}, which is not on this machine: put the file "
                                  "there or pass --reference-files with extractions made from it")
        return {"stimuli": source}
    if name in BUILTIN_SETS:
        return {"stimuli": name}
    if name == "prompt-template" and "{emotion}" in template:
        return {"prompt_template": template}
    fallback = recipe.get("prompt_template") or recipe.get("stimuli")
    if fallback is None:
        fallback = JEONG_PROMPT if method == "generation" else "named"
    what = f"the stimulus set {name!r}" if name else "its stimulus set"
    assume("stimulus_set", str(fallback), f"{side} does not say where {what} came from")
    return {"prompt_template" if "{emotion}" in str(fallback) else "stimuli": fallback}


def _stimuli_settings(attrs: Mapping[str, Any], method: str, recipe: Mapping[str, Any], side: str,
                      assume: Assume) -> dict[str, Any]:
    """``stimuli`` / ``prompt_template`` / ``template`` of the reference run."""
    out = _stimuli_source(attrs, method, recipe, side, assume)
    if "prompt_template" in out and method != "generation":
        # A prompt template is for generation only; a comprehension file that names one is inconsistent.
        raise FileFormatError(f"{side} is a comprehension file whose stimuli are a generation prompt template; "
                              "its attributes contradict each other")
    template = str(attrs.get("template", "") or "")
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


def _method_settings(attrs: Mapping[str, Any], recipe: Mapping[str, Any], side: str,
                     assume: Assume) -> dict[str, Any]:
    """``method``, ``pooling`` and ``precision`` (layers 1 and 3) of the reference run."""
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
    return {"method": method, "pooling": pooling, "precision": precision}


def _sampling_settings(attrs: Mapping[str, Any], recipe: Mapping[str, Any], recipe_name: str, side: str,
                       assume: Assume) -> dict[str, Any]:
    """Sampling settings and seed of a generation recipe (layer 2)."""
    settings: dict[str, Any] = {}
    for name, kind, default in _SAMPLING:
        text = _text(attrs, name)
        if not text:
            fallback = recipe.get(name, default)
            source = f"recipe {recipe_name}'s value" if name in recipe else "rsastats' default"
            assume(name, fallback, f"{side} does not record {name}; {source} was used")
            text = attribute_text(fallback)
        value = _number(text, kind)
        if value is None:
            value = recipe.get(name, default)
            assume(name, value, f"{side}'s {name} {_text(attrs, name)!r} is not a number rsastats can use")
        settings[name] = value
    seed = _number(_text(attrs, "seed"), int)
    if seed is None or seed < 0:
        seed = 0
        assume("seed", 0, f"{side} does not record its sampling seed; seeds are exchangeable draws", blocking=False)
    settings["seed"] = seed
    return settings


def plan_reference(attrs: Mapping[str, Any], side: str, *, model: str, emotions: Sequence[str],
                   n_prompts: int | None, limit: int | None, baseline: bool, n_baseline: int | None = None,
                   baseline_limit: int | None = None) -> ReferencePlan:
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
    n_baseline : baseline texts the audited file holds (its recipe read the first ``n_baseline``); None:
        the built-in set in full.
    baseline_limit : cap on baseline texts (``--baseline-limit``).
    """
    assumptions: list[PlanAssumption] = []

    def assume(attribute: str, value: Any, reason: str, blocking: bool = True) -> None:
        assumptions.append(PlanAssumption(side, attribute, str(value), reason, blocking))

    recipe_name = str(attrs.get("recipe", "") or "")
    if recipe_name not in RECIPES:
        recipe_name = _RECIPE_OF_METHOD.get(_text(attrs, "method"), recipe_name)
    recipe = dict(RECIPES[recipe_name].settings) if recipe_name in RECIPES else {}
    settings: dict[str, Any] = {"model": model, **_method_settings(attrs, recipe, side, assume), "layers": "last",
                                "emotions": tuple(emotions), "experiment": _text(attrs, "experiment")}
    # A baseline-diff or neutral-pc recipe reads the baseline to make its rows (contrast pairs carry their own).
    needs_baseline = baseline or settings["method"] in STAGE_METHODS and settings["method"] not in PAIRED_METHODS
    settings["baseline"] = "builtin" if needs_baseline else "none"
    caps = [int(x) for x in (n_baseline, baseline_limit) if x]
    if needs_baseline and caps:
        settings["baseline_limit"] = min(caps)
    settings.update(_stimuli_settings(attrs, settings["method"], recipe, side, assume))
    settings["final_norm"] = "pre" if _text(attrs, "last_layer_norm") == "pre-final-norm" else "post"
    settings["chat_template"] = "on" if _text(attrs, "chat_template") == "1" else "off"
    settings["skip_first_token"] = _text(attrs, "skip_first_token") == "1"
    if settings["method"] == "generation":
        settings.update(_sampling_settings(attrs, recipe, recipe_name, side, assume))
    if settings.get("prompt_template"):
        settings["samples"] = int(n_prompts) if n_prompts else int(recipe.get("samples", 10))
    elif n_prompts:
        settings["limit"] = int(n_prompts)
    if limit is not None:
        settings["limit"] = min(limit, settings["limit"]) if settings.get("limit") else limit
    config = make_config(None, **settings)
    config = replace(config, recipe=recipe_name if recipe_name in RECIPES else "")
    return ReferencePlan(side, config, tuple(assumptions))
