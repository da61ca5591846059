"""What an extraction run does: its configuration, the named recipes, layer specs (no torch here).

A run is fully described by an :class:`ExtractionConfig`.  Recipes are named presets that
reproduce prior pipelines; options given explicitly override them, and the output records both
the recipe and what was overridden.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping, Sequence

from rsastats.exceptions import ValidationError

__all__ = [
    "METHODS",
    "READ_METHODS",
    "STAGE_METHODS",
    "PAIRED_METHODS",
    "POOLINGS",
    "PRECISIONS",
    "FINAL_NORMS",
    "CHAT_TEMPLATE_CHOICES",
    "Recipe",
    "RECIPES",
    "JEONG_PROMPT",
    "ExtractionConfig",
    "make_config",
    "parse_layers",
]

# comprehension and generation write what the model read; the stage methods are made from a reading of
# the stimuli (comprehension) by extraction/recipe_run.py: the mean or first principal component of the
# differences of contrast pairs, the means minus the baseline mean, or the neutral-PC projection.
READ_METHODS = ("comprehension", "generation")
STAGE_METHODS = ("mean-diff", "pca-diff", "baseline-diff", "neutral-pc")
PAIRED_METHODS = ("mean-diff", "pca-diff")  # need stimuli whose baseline text p is the contrast of prompt p
METHODS = READ_METHODS + STAGE_METHODS
# last: last token of the model input (chat/template suffix included); last-stimulus: last token of the
# stimulus text; mean: mean over the stimulus text's tokens; mean-generated: mean over generated tokens.
POOLINGS = ("last", "last-stimulus", "mean", "mean-generated")
_POOLINGS_OF = {"comprehension": ("last", "last-stimulus", "mean"), "generation": ("mean-generated", "last"),
                **{m: ("last", "last-stimulus", "mean") for m in STAGE_METHODS}}
PRECISIONS = ("fp32", "fp16", "bf16", "int8-dynamic", "int8-token", "int8-weight")
FINAL_NORMS = ("post", "pre")
CHAT_TEMPLATE_CHOICES = ("auto", "on", "off")
JEONG_PROMPT = "Write a short paragraph about a character who feels deeply {emotion}:"


@dataclass(frozen=True)
class Recipe:
    """A named preset: the settings it fixes and where they come from."""

    name: str
    description: str
    settings: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "settings": dict(self.settings)}


RECIPES: dict[str, Recipe] = {
    "study": Recipe(
        "study",
        "the reference study's pipeline: comprehension of the named stimuli, last-token pooling, fp16",
        {"method": "comprehension", "stimuli": "named", "pooling": "last", "precision": "fp16"},
    ),
    "jeong-generation": Recipe(
        "jeong-generation",
        "generation pipeline of Jeong (2026a): one prompt per emotion, sampled (temperature 0.7, top_p 0.9, "
        "and transformers' implicit top_k 50), 100 new tokens, mean over the generated tokens",
        {"method": "generation", "prompt_template": JEONG_PROMPT, "samples": 10, "temperature": 0.7, "top_p": 0.9,
         "top_k": 50, "max_new_tokens": 100, "pooling": "mean-generated"},
    ),
    "story-mean": Recipe(
        "story-mean",
        "implicit stories read in comprehension mode, mean over the story's tokens, the top principal components "
        "of the emotion-free baseline projected out of every row (method neutral-pc; subtracting the mean over "
        "emotions is the emotion-mean normalization of the comparison)",
        {"method": "neutral-pc", "stimuli": "implicit", "pooling": "mean"},
    ),
    "repeng": Recipe(
        "repeng",
        "repeng's ControlVector.train (method pca_diff): the contrast pairs read without a chat template, last "
        "token, first principal component of the centred paired differences, signed so that most positives "
        "project above their negatives; every block's output (at the embedding output the two texts of a pair "
        "end in the same token, so their difference is 0)",
        {"method": "pca-diff", "stimuli": "contrast", "pooling": "last", "chat_template": "off", "layers": "blocks"},
    ),
    "steering-vectors": Recipe(
        "steering-vectors",
        "steering-vectors' train_steering_vector (mean aggregator, read_token_index -1): the contrast pairs read "
        "without a chat template, last token, mean of the paired differences (positive minus negative); every "
        "block's output",
        {"method": "mean-diff", "stimuli": "contrast", "pooling": "last", "chat_template": "off", "layers": "blocks"},
    ),
}


@dataclass(frozen=True)
class ExtractionConfig:
    """Every setting of one extraction run.

    Attributes
    ----------
    model : registry name (``default``, ``minilm``, ``llama-3.2-3b-instruct``, ...), local folder,
        ``.gguf`` file, or a hub id present in the local Hugging Face cache.
    method : ``comprehension`` (read each stimulus) or ``generation`` (generate from each prompt,
        then read prompt + generated text), or a stage method made from a reading (``mean-diff``,
        ``pca-diff``, ``baseline-diff``, ``neutral-pc``; see :mod:`extraction.recipe_run`).
    pooling : ``last``, ``last-stimulus``, ``mean`` (comprehension) or ``mean-generated``, ``last``
        (generation); ``None`` picks ``last`` / ``mean-generated``.
    precision : ``fp32``, ``fp16``, ``bf16``, ``int8-dynamic``, ``int8-token``, ``int8-weight``.
    layers : layer spec (see :func:`parse_layers`), e.g. ``all``, ``-1``, ``0,10,20``, ``20-30``.
    final_norm : ``post`` (the last layer is after the model's final norm, as ``hidden_states[-1]``)
        or ``pre`` (the raw output of the last block).
    stimuli : ``named``, ``implicit`` or a CSV/TSV/JSON file of emotion, text.
    prompt_template : generation only: a prompt with ``{emotion}``; replaces ``stimuli`` by
        ``samples`` copies of the filled prompt per emotion, each sampled with its own seed.
    template : wraps each stimulus (``{text}`` marks where); its tokens are never pooled by ``mean``.
    chat_template : ``auto`` (instruct models that have one), ``on`` or ``off``.
    skip_first_token : mean pooling leaves out sequence position 0 (its activations can be ~100x
        larger than the rest) when it falls inside the stimulus.
    temperature, top_p, top_k, max_new_tokens : sampling (generation only; temperature 0 = greedy,
        top_k 0 = off, top_p 1 = off).
    seed : seed of the sampling; prompt i of emotion e always gets the same child seed.
    baseline : ``builtin``, ``none`` or a file of emotion-free texts.
    limit, baseline_limit, emotions : run on a subset (first ``limit`` prompts per emotion ...).
    batch_size : sequences per forward pass (changes speed, not results; the INT8 schemes with
        dynamic activation scales always run one sequence per pass).
    """

    model: str = "default"
    method: str = "comprehension"
    pooling: str | None = None
    precision: str = "fp32"
    layers: str = "all"
    final_norm: str = "post"
    stimuli: str = "named"
    prompt_template: str = ""
    samples: int = 10
    template: str = "{text}"
    chat_template: str = "auto"
    skip_first_token: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    max_new_tokens: int = 100
    seed: int = 0
    baseline: str = "builtin"
    limit: int | None = None
    baseline_limit: int | None = None
    emotions: tuple[str, ...] | None = None
    recipe: str = ""
    recipe_overrides: tuple[str, ...] = field(default=())
    experiment: str = ""
    batch_size: int = 16

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["emotions"] = list(self.emotions) if self.emotions is not None else None
        out["recipe_overrides"] = list(self.recipe_overrides)
        return out


_FIELDS = {f.name for f in fields(ExtractionConfig)}


def make_config(recipe: str | None = None, **options: Any) -> ExtractionConfig:
    """Build and validate a configuration: defaults, then the recipe's settings, then ``options``.

    Options passed as ``None`` count as not given.  Options that change a recipe's setting are
    listed in ``recipe_overrides``.
    """
    unknown = sorted(set(options) - _FIELDS)
    if unknown:
        raise ValidationError(f"unknown extraction option(s): {', '.join(unknown)}")
    given = {k: v for k, v in options.items() if v is not None}
    _check_types(given)
    if isinstance(given.get("layers"), int):
        given["layers"] = str(given["layers"])
    settings: dict[str, Any] = {}
    overrides: list[str] = []
    if recipe:
        if recipe not in RECIPES:
            raise ValidationError(f"unknown recipe {recipe!r}; choose one of {', '.join(RECIPES)}")
        settings.update(RECIPES[recipe].settings)
        overrides = [f"{k}={given[k]}" for k in RECIPES[recipe].settings if k in given and given[k] != settings[k]]
        settings["recipe"] = recipe
    settings.update(given)
    if "emotions" in settings and settings["emotions"] is not None:
        settings["emotions"] = tuple(settings["emotions"])
    config = replace(ExtractionConfig(), **settings, recipe_overrides=tuple(overrides))
    return _config_iv(config)


_TYPE_OF_FIELD = {f.name: str(f.type).replace(" | None", "") for f in fields(ExtractionConfig)}
_TYPE_WORDS = {"str": "text", "int": "an integer", "float": "a number", "bool": "true or false",
               "tuple[str, ...]": "a list of emotion names"}


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "str":
        return isinstance(value, (str, os.PathLike))
    if kind == "bool":
        return isinstance(value, bool) or value in (0, 1)
    if kind == "int-list":
        return isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    if kind == "tuple[str, ...]":
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) and v.strip() for v in value)
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (kind == "float" and isinstance(value, float))


def _check_types(given: Mapping[str, Any]) -> None:
    """Each given option has its field's type (a manifest or a recipe can hold anything)."""
    for name, value in given.items():
        kind = _TYPE_OF_FIELD.get(name, "")
        if name == "layers":  # text ("all", "-4:", "3,5") or a list of layer numbers
            if isinstance(value, bool) or not (isinstance(value, (str, int)) or _type_ok("int-list", value)):
                raise ValidationError(f"layers must be text such as 'all', 'last' or '0,3-5', or a list of integers; "
                                      f"got {value!r}"[:200])
            continue
        if kind in _TYPE_WORDS and not _type_ok(kind, value):
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise ValidationError(f"{name.replace('_', '-')} must be {_TYPE_WORDS[kind]}, got {shown}")


def _config_iv(config: ExtractionConfig, methods: Sequence[str] = METHODS) -> ExtractionConfig:
    """Check every setting and fill the method-dependent default pooling (``methods``: those the
    caller runs; :func:`extraction.run.extract` runs the read methods only)."""
    def choice(name: str, allowed: Sequence[str]) -> None:
        value = getattr(config, name)
        if value not in allowed:
            raise ValidationError(f"{name.replace('_', '-')} must be one of {', '.join(allowed)}, got {value!r}")

    if config.method in STAGE_METHODS and config.method not in methods:
        raise ValidationError(f"method {config.method} is made from a reading: run it with "
                              "extraction.recipe_run.run_extraction")
    choice("method", methods)
    choice("precision", PRECISIONS)
    choice("final_norm", FINAL_NORMS)
    choice("chat_template", CHAT_TEMPLATE_CHOICES)
    pooling = config.pooling or _POOLINGS_OF[config.method][0]
    if pooling not in _POOLINGS_OF[config.method]:
        raise ValidationError(f"pooling {pooling!r} does not apply to {config.method}; "
                              f"use one of {', '.join(_POOLINGS_OF[config.method])}")
    if config.template.count("{text}") != 1:
        raise ValidationError(f"template must contain '{{text}}' exactly once, got {config.template!r}")
    if config.method in PAIRED_METHODS and config.stimuli != "contrast":
        raise ValidationError(f"method {config.method} reads contrast pairs: use --stimuli contrast "
                              f"(got {config.stimuli!r})")
    if config.method in STAGE_METHODS and str(config.baseline).lower() == "none" and config.stimuli != "contrast":
        raise ValidationError(f"method {config.method} subtracts or projects out the baseline texts: --baseline none "
                              "leaves none")
    if config.prompt_template and config.method != "generation":
        raise ValidationError("a prompt template (with {emotion}) is for generation; comprehension reads --stimuli")
    if config.prompt_template and "{emotion}" not in config.prompt_template:
        raise ValidationError(f"prompt template must contain '{{emotion}}', got {config.prompt_template!r}")
    if not config.temperature >= 0:
        raise ValidationError(f"temperature must be >= 0 (0 = greedy), got {config.temperature}")
    if not 0 < config.top_p <= 1:
        raise ValidationError(f"top-p must be in (0, 1], got {config.top_p}")
    for name, low in (("top_k", 0), ("max_new_tokens", 1), ("seed", 0), ("batch_size", 1), ("samples", 1)):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValidationError(f"{name.replace('_', '-')} must be an integer >= {low}, got {value!r}")
    if config.limit is not None and (not isinstance(config.limit, int) or config.limit < 1):
        raise ValidationError(f"limit must be a positive integer, got {config.limit!r}")
    _layer_items(config.layers)  # syntax only; the range is checked against the model
    return replace(config, pooling=pooling)


_RANGE = re.compile(r"^(\d+)-(\d+)$")


def _layer_items(spec: str | Sequence[int]) -> str | list[int]:
    """``"all"``, ``"blocks"``, ``"last"`` or the integers a layer spec names (syntax check only)."""
    if not isinstance(spec, str):
        return [int(v) for v in spec]
    text = spec.strip().lower()
    if text in ("all", "blocks", "last"):
        return text
    items: list[int] = []
    for part in text.split(","):
        part = part.strip()
        match = _RANGE.match(part)
        if match:
            lo, hi = int(match.group(1)), int(match.group(2))
            if hi < lo:
                raise ValidationError(f"layer range {part!r} runs backwards")
            items.extend(range(lo, hi + 1))
        elif re.fullmatch(r"-?\d+", part):
            items.append(int(part))
        else:
            raise ValidationError(f"cannot read layer spec {spec!r}: use 'all', 'blocks', 'last', integers like '0,-1' or "
                                  "ranges like '10-20'")
    return items


def parse_layers(spec: str | Sequence[int], n_blocks: int) -> tuple[int, ...]:
    """Layer indices from a spec, for a model with ``n_blocks`` blocks (indices 0..n_blocks).

    ``all``; ``blocks`` (every block's output, not the embedding output: the layers repeng and
    steering-vectors read); ``last``; a comma list of integers (negative ones count from the end: -1 is
    the last layer); inclusive ranges ``a-b``.  Index 0 is the embedding output, ``i`` the output of block ``i``.
    """
    items = _layer_items(spec)
    n_layers = n_blocks + 1
    if items == "all":
        return tuple(range(n_layers))
    if items == "blocks":
        return tuple(range(1, n_layers))
    if items == "last":
        return (n_blocks,)
    resolved = []
    for value in items:
        index = value + n_layers if value < 0 else value
        if not 0 <= index < n_layers:
            raise ValidationError(f"layer {value} does not exist: the model has layers 0..{n_blocks} "
                                  f"(0 = embedding output, {n_blocks} = last block)")
        resolved.append(index)
    if len(set(resolved)) != len(resolved):
        raise ValidationError(f"layer spec {spec!r} names a layer twice")
    return tuple(sorted(resolved))
