"""Model-set configuration of the analyses: which models, how much of each stimulus set, how many
resamples (``analyses/configs/*.yaml``).

A configuration file::

    name: offline
    description: one paragraph shown in every report
    sizes: {prompts: 16, baseline: 32, samples: 4, new_tokens: 20, n_boot: 1000, permutations: 9999, ...}
    threads: 1
    models:
      - {name: smollm2-135m-instruct, model: default, generate: true}
      - {name: minilm-l6, model: minilm}
      - {name: random-llama, random: {architecture: llama, layers: 4, hidden: 64, seed: 1, tokenizer: default}}
    base_instruct:            # pairs for the base x instruct analysis
      - {base: qwen-base, instruct: qwen-instruct}
    precision_models: [smollm2-135m-instruct]
    precisions: [fp16, bf16, int8-weight, int8-token, int8-dynamic]   # compared with fp32 (default: all five)
    generation_models: [smollm2-135m-instruct]   # default: every model with generate: true
    audit_model: smollm2-135m-instruct

``model`` is anything :func:`extraction.models.load_model` accepts (registry name, folder, hub id);
``random`` builds a tiny randomly initialised model of an architecture of the study (a negative
control: it has the tokenizer and the architecture, but no training).  Relative paths are taken
relative to the configuration file.  Unknown keys are errors.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from rsastats.exceptions import FileFormatError, ValidationError
from rsastats.io import load_yaml, read_text_file

__all__ = ["Sizes", "RandomSpec", "ModelEntry", "ModelSet", "load_model_set", "RANDOM_ARCHITECTURES"]

RANDOM_ARCHITECTURES = ("llama", "qwen2", "mistral", "gemma3_text", "bert")


@dataclass(frozen=True)
class Sizes:
    """How much each extraction reads and how many resamples each analysis draws."""

    prompts: int = 16  # named / implicit stimuli per emotion (of 48 / 44)
    baseline: int = 32  # emotion-free baseline texts (of 150)
    samples: int = 4  # generated continuations per emotion
    new_tokens: int = 20  # tokens per continuation
    n_boot: int = 1000  # bootstrap resamples of the main comparisons
    permutations: int = 9999  # Mantel permutations
    layer_n_boot: int = 200  # per-layer comparisons
    geometry_n_boot: int = 300  # anisotropy and maturity
    geometry_layers: int = 8  # layers per model in the anisotropy analysis (evenly spaced)
    decompose_n_boot: int = 200  # variance decomposition
    n_splits: int = 50  # split-half reliability splits
    last_k: int = 4  # "average of the final k layers"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RandomSpec:
    """A tiny randomly initialised model: architecture, size, weight seed, whose tokenizer it uses."""

    architecture: str
    layers: int = 4
    hidden: int = 64
    seed: int = 0
    tokenizer: str = "words"  # "words" (a word-level tokenizer of the built-in stimuli) or a model name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ModelEntry:
    """One model of a set: its name in tables, where it comes from, what it can do."""

    name: str
    model: str = ""  # what load_model takes ("" for random models)
    random: RandomSpec | None = None
    family: str = ""
    variant: str = ""
    generate: bool = False  # run the generation recipes on it
    note: str = ""

    @property
    def is_random(self) -> bool:
        return self.random is not None

    @property
    def is_encoder(self) -> bool:
        return self.random is not None and self.random.architecture == "bert" or self.model == "minilm"

    @property
    def label(self) -> str:
        """A short description for tables."""
        if self.random is not None:
            r = self.random
            return (f"random {r.architecture} ({r.layers} blocks, hidden {r.hidden}, weight seed {r.seed}, "
                    f"{r.tokenizer} tokenizer)")
        return self.model

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["random"] = self.random.to_dict() if self.random else None
        return out


@dataclass(frozen=True)
class ModelSet:
    """A configuration file, read and checked."""

    name: str
    path: str
    description: str
    sizes: Sizes
    models: tuple[ModelEntry, ...]
    base_instruct: tuple[tuple[str, str], ...] = ()
    precision_models: tuple[str, ...] = ()
    precisions: tuple[str, ...] = ("fp16", "bf16", "int8-weight", "int8-token", "int8-dynamic")
    generation_models: tuple[str, ...] = ()
    audit_model: str = ""
    threads: int | None = 1
    extra: Mapping[str, Any] = field(default_factory=dict)

    def entry(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.name == name:
                return m
        raise ValidationError(f"model {name!r} is not in the set {self.name!r} ({', '.join(self.names)})", path=self.path)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.models)

    @property
    def trained(self) -> tuple[ModelEntry, ...]:
        return tuple(m for m in self.models if not m.is_random)

    @property
    def random(self) -> tuple[ModelEntry, ...]:
        return tuple(m for m in self.models if m.is_random)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "description": self.description, "sizes": self.sizes.to_dict(),
                "models": [m.to_dict() for m in self.models], "base_instruct": [list(p) for p in self.base_instruct],
                "precision_models": list(self.precision_models), "precisions": list(self.precisions),
                "generation_models": list(self.generation_models),
                "audit_model": self.audit_model, "threads": self.threads}


_TOP = {"name", "description", "sizes", "models", "base_instruct", "precision_models", "precisions", "generation_models",
        "audit_model", "threads"}


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str, path: Path) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError(f"unknown key(s) in {where}: {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})",
                              path=path)


def _entry(raw: Any, base: Path, path: Path) -> ModelEntry:
    if not isinstance(raw, Mapping) or "name" not in raw:
        raise ValidationError(f"each model needs a mapping with a name; got {raw!r}", path=path)
    _check_keys(raw, {f.name for f in fields(ModelEntry)}, f"model {raw.get('name')!r}", path)
    spec = dict(raw)
    if ("random" in spec) == bool(spec.get("model")):
        raise ValidationError(f"model {spec['name']!r} needs exactly one of 'model' and 'random'", path=path)
    if "random" in spec:
        r = spec["random"]
        if not isinstance(r, Mapping):
            raise ValidationError(f"model {spec['name']!r}: 'random' must be a mapping", path=path)
        _check_keys(r, {f.name for f in fields(RandomSpec)}, f"model {spec['name']!r} random", path)
        rs = RandomSpec(**r)
        if rs.architecture not in RANDOM_ARCHITECTURES:
            raise ValidationError(f"model {spec['name']!r}: architecture must be one of {', '.join(RANDOM_ARCHITECTURES)}; "
                                  f"got {rs.architecture!r}", path=path)
        spec["random"] = rs
        spec.setdefault("family", f"random-{rs.architecture}")
        spec.setdefault("variant", "base")
        if spec.get("generate") and rs.architecture == "bert":
            raise ValidationError(f"model {spec['name']!r}: an encoder cannot generate", path=path)
    else:
        model = str(spec["model"])
        local = (base / model).expanduser()
        if model.startswith((".", "/")) and local.exists():
            spec["model"] = str(local.resolve())
    return ModelEntry(**{k: v for k, v in spec.items()})


def _precisions(raw: Any, path: Path) -> tuple[str, ...]:
    allowed = ("fp16", "bf16", "int8-weight", "int8-token", "int8-dynamic")
    if raw is None:
        return allowed
    values = tuple(str(x) for x in raw)
    bad = [x for x in values if x not in allowed]
    if bad or not values:
        raise ValidationError(f"precisions must be a non-empty list of {', '.join(allowed)}; got {list(raw)!r}", path=path)
    return values


def load_model_set(path: str | os.PathLike, **size_overrides: Any) -> ModelSet:
    """Read a configuration file; ``size_overrides`` replace entries of ``sizes`` (e.g. in tests)."""
    path = Path(path)
    data = load_yaml(read_text_file(path, "model-set file"), path)
    if not isinstance(data, Mapping):
        raise FileFormatError("a model-set file holds a mapping (name, models, sizes, ...)", path=path)
    _check_keys(data, _TOP, "the model-set file", path)
    raw_sizes = dict(data.get("sizes") or {})
    _check_keys(raw_sizes, {f.name for f in fields(Sizes)}, "sizes", path)
    sizes = replace(Sizes(**raw_sizes), **{k: v for k, v in size_overrides.items() if v is not None})
    for f in fields(Sizes):
        value = getattr(sizes, f.name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(f"sizes.{f.name} must be a positive integer; got {value!r}", path=path)
    models = tuple(_entry(m, path.parent, path) for m in data.get("models") or [])
    if len(models) < 2:
        raise ValidationError("a model set needs at least 2 models", path=path)
    names = [m.name for m in models]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValidationError(f"duplicated model name(s): {', '.join(dup)}", path=path)
    pairs = []
    for p in data.get("base_instruct") or []:
        if not isinstance(p, Mapping) or set(p) != {"base", "instruct"}:
            raise ValidationError(f"each base_instruct entry is {{base: NAME, instruct: NAME}}; got {p!r}", path=path)
        pairs.append((str(p["base"]), str(p["instruct"])))
    generation = tuple(data.get("generation_models") or [m.name for m in models if m.generate])
    out = ModelSet(name=str(data.get("name") or path.stem), path=str(path), description=str(data.get("description") or ""),
                   sizes=sizes, models=models, base_instruct=tuple(pairs),
                   precision_models=tuple(data.get("precision_models") or ()), generation_models=generation,
                   precisions=_precisions(data.get("precisions"), path),
                   audit_model=str(data.get("audit_model") or ""),
                   threads=None if data.get("threads", 1) is None else int(data.get("threads", 1)))
    for name in [n for p in out.base_instruct for n in p] + list(out.precision_models) + list(out.generation_models) \
            + ([out.audit_model] if out.audit_model else []):
        out.entry(name)
    for name in out.generation_models:
        if out.entry(name).is_encoder:
            raise ValidationError(f"generation model {name!r} is an encoder; encoders cannot generate", path=path)
    return out
