"""One extraction cache shared by every analysis: each model x recipe is extracted once.

Files live in ``<cache>/<model>/<recipe>.nc`` (default cache: ``build/analyses/<model set>``).
``<cache>/records.json`` keeps the fingerprint of each finished file (the full extraction
configuration and, for random models, their specification); a file whose fingerprint matches is
reused, an interrupted extraction resumes from its ``.parts`` folder (see docs/extraction.md),
and a file made with other settings is extracted again.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from rsastats.io import atomic_path
from rsastats.exceptions import ConfigMismatchError, ValidationError

from ._config import ModelEntry, ModelSet, Sizes

__all__ = ["Recipe", "recipes", "ExtractionCache", "COMPREHENSION", "PRECISION_RECIPES", "GENERATION_RECIPES",
           "PEER_RECIPES"]

_CACHE_VERSION = 1  # bump when a recipe changes meaning, so that old files are not reused

PRECISION_RECIPES = ("fp16", "bf16", "int8-weight", "int8-token", "int8-dynamic")
# generation sweep: one sub-parameter changed at a time from `gen` (layer 2 of the decomposition)
GENERATION_RECIPES = ("gen", "gen-t1.0", "gen-topp1.0", "gen-long", "gen-template", "gen-seed1")
COMPREHENSION = "named"
# the peers' contrastive recipes by name (extraction.config.RECIPES): read the contrast pairs, then a vector stage
PEER_RECIPES = ("repeng", "steering-vectors")
GEN_TEMPLATE = "Answer in the first person. {text}"


@dataclass(frozen=True)
class Recipe:
    """One extraction recipe: the options of ``extraction.config.make_config`` (minus the model)."""

    name: str
    description: str
    options: Mapping[str, Any]
    factor: str = ""  # which method factor it varies against its reference recipe

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "options": dict(self.options), "factor": self.factor}


def recipes(sizes: Sizes, seed: int = 0) -> dict[str, Recipe]:
    """Every recipe of the analyses, at ``sizes``."""
    # Comprehension reads each stimulus without a chat template (SmolLM2's injects a system prompt that
    # triples the tokens) and averages the stimulus tokens, leaving out position 0 (outlier activations).
    read = dict(method="comprehension", pooling="mean", skip_first_token=True, chat_template="off", limit=sizes.prompts,
                baseline_limit=sizes.baseline, seed=seed, precision="fp32")
    gen = dict(recipe="jeong-generation", samples=sizes.samples, max_new_tokens=sizes.new_tokens, temperature=0.7,
               top_p=0.9, baseline_limit=sizes.baseline, experiment="named", seed=seed, precision="fp32")
    out = {
        "named": Recipe("named", f"comprehension of the named stimuli ({sizes.prompts} per emotion), mean over the "
                                 "stimulus tokens (first token left out), fp32, no chat template",
                        {**read, "stimuli": "named", "experiment": "named"}),
        "named-last": Recipe("named-last", "the same, pooled at the last stimulus token (the study's last-token pooling)",
                             {**read, "stimuli": "named", "experiment": "named", "pooling": "last-stimulus",
                              "skip_first_token": False}, factor="pooling"),
        "named-rep": Recipe("named-rep", f"a repeated run of the named experiment with the next {sizes.prompts} stimuli "
                                         "per emotion (other templates of the same set)",
                            {**read, "stimuli": "@named-rep", "experiment": "named"}, factor="replicate"),
        "implicit": Recipe("implicit", f"comprehension of the implicit stories ({sizes.prompts} per emotion), same "
                                       "settings (another experiment)",
                           {**read, "stimuli": "implicit", "experiment": "implicit"}, factor="experiment"),
        "gen": Recipe("gen", f"Jeong's generation recipe: {sizes.samples} continuations of {sizes.new_tokens} new tokens "
                             "per emotion, temperature 0.7, top_p 0.9, top_k 50, mean over generated tokens",
                      dict(gen), factor="method"),
        "gen-t1.0": Recipe("gen-t1.0", "generation at temperature 1.0", {**gen, "temperature": 1.0}, factor="temperature"),
        "gen-topp1.0": Recipe("gen-topp1.0", "generation with top_p 1.0 (off)", {**gen, "top_p": 1.0}, factor="top_p"),
        "gen-long": Recipe("gen-long", f"generation of {2 * sizes.new_tokens} new tokens",
                           {**gen, "max_new_tokens": 2 * sizes.new_tokens}, factor="max_new_tokens"),
        "gen-template": Recipe("gen-template", f"generation with the prompt wrapped in another template ({GEN_TEMPLATE!r})",
                               {**gen, "template": GEN_TEMPLATE}, factor="template"),
        "gen-seed1": Recipe("gen-seed1", "generation with sampling seed 1 (a replicate: sampling noise only)",
                            {**gen, "seed": seed + 1}, factor="seed"),
    }
    for precision in PRECISION_RECIPES:
        out[precision] = Recipe(precision, f"the named recipe at {precision}",
                                {**read, "stimuli": "named", "experiment": "named", "precision": precision},
                                factor="precision")
    out["study"] = Recipe("study", "the study's recipe: comprehension of the named stimuli, last-token pooling, fp16, "
                                   "chat template as the model's default",
                          dict(recipe="study", limit=sizes.prompts, baseline_limit=sizes.baseline, seed=seed,
                               experiment="named"), factor="recipe")
    # The study's recipe against the peers' (analyses/recipes.py): all at fp32 and the last layer only (at
    # layer 0 a contrast pair's last tokens are one token, so their difference is zero and has no principal
    # component). The contrast pairs are the named texts with the emotion word replaced: experiment `named`.
    out["study-fp32"] = Recipe("study-fp32", "the study's recipe at fp32 (the precision of the peers' recipes here, so "
                                             "that the recipes differ in method alone), last layer",
                               {**out["study"].options, "precision": "fp32", "layers": "last"}, factor="recipe")
    for peer in PEER_RECIPES:
        out[peer] = Recipe(peer, f"the {peer} recipe (extraction.config.RECIPES): the first {sizes.prompts} contrast pairs "
                                 "per emotion, last token, no chat template, fp32, last layer",
                           dict(recipe=peer, limit=sizes.prompts, seed=seed, experiment="named", precision="fp32",
                                layers="last"), factor="method")
    return out


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _replicate_stimuli(folder: Path, sizes: Sizes) -> Path:
    """The named stimuli ``prompts + 1 .. 2 prompts`` of each emotion as a CSV file (a repeated run with
    fresh stimuli of the same set)."""
    from extraction.stimuli import DATA_DIR

    with open(DATA_DIR / "named.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_emotion: dict[str, list[str]] = {}
    for row in rows:
        by_emotion.setdefault(row["emotion"], []).append(row["text"])
    path = folder / f"named-rep-{sizes.prompts}.csv"
    lines = [("emotion", "text")]
    for emotion, texts in by_emotion.items():
        chosen = texts[sizes.prompts:2 * sizes.prompts]
        if len(chosen) < 2:
            raise ValidationError(f"the named set has too few stimuli of {emotion!r} for a repeated run of "
                                  f"{sizes.prompts} prompts")
        lines += [(emotion, t) for t in chosen]
    if not path.is_file():
        with atomic_path(path) as tmp:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                csv.writer(fh).writerows(lines)
    return path


class ExtractionCache:
    """Extract (or reuse) ``model x recipe`` files for a model set."""

    def __init__(self, model_set: ModelSet, folder: str | os.PathLike | None = None, *, seed: int = 0,
                 log: Callable[[str], None] | None = None,
                 loader: Callable[[ModelEntry, str], Any] | None = None):
        self.model_set = model_set
        self.folder = Path(folder) if folder is not None else Path("build") / "analyses" / model_set.name
        self.seed = int(seed)
        self.recipes = recipes(model_set.sizes, self.seed)
        self.log = log or (lambda line: None)
        self.loader = loader
        self.timings: dict[str, float] = {}

    @property
    def records_path(self) -> Path:
        return self.folder / "records.json"

    def path(self, model: str, recipe: str) -> Path:
        return self.folder / model / f"{recipe}.nc"

    def _config(self, entry: ModelEntry, recipe: Recipe):
        from extraction.config import make_config

        options = dict(recipe.options)
        name = options.pop("recipe", None)
        if options.get("stimuli") == "@named-rep":
            options["stimuli"] = str(_replicate_stimuli(self.folder, self.model_set.sizes))
        model = entry.name if entry.is_random else entry.model
        return make_config(name, model=model, **options)

    def _fingerprint(self, entry: ModelEntry, recipe: Recipe) -> dict[str, Any]:
        config = self._config(entry, recipe).to_dict()
        if str(config.get("stimuli", "")).endswith(".csv"):
            config["stimuli"] = Path(config["stimuli"]).name  # the cache folder may move
        return {"version": _CACHE_VERSION, "config": config, "random": entry.random.to_dict() if entry.random else None}

    def _load(self, entry: ModelEntry, precision: str):
        if self.loader is not None:
            return self.loader(entry, precision)
        if entry.is_random:
            from ._models import random_loaded

            return random_loaded(entry, precision)
        return None  # extraction loads registry models itself

    def get(self, model: str, recipe: str) -> Path:
        """The activations file of ``model`` under ``recipe``, extracted if needed."""
        entry = self.model_set.entry(model)
        if recipe not in self.recipes:
            raise ValidationError(f"unknown recipe {recipe!r}; known: {', '.join(self.recipes)}")
        rec = self.recipes[recipe]
        if entry.is_encoder and rec.options.get("method", "") == "generation" or (
                entry.is_encoder and rec.options.get("recipe") == "jeong-generation"):
            raise ValidationError(f"model {model!r} is an encoder; it cannot run the generation recipe {recipe!r}")
        return self._extract(entry, f"{model}/{recipe}", self.path(model, recipe), lambda: self._config(entry, rec),
                             self._fingerprint(entry, rec))

    def get_config(self, model: str, config, label: str) -> Path:
        """The file of ``model`` under an extraction configuration made elsewhere (e.g. an audit's
        reference plan), extracted if needed into ``<cache>/<model>/<label>.nc``; the configuration's
        own model is replaced by ``model``'s."""
        from dataclasses import replace

        entry = self.model_set.entry(model)
        config = replace(config, model=entry.name if entry.is_random else entry.model)
        fingerprint = {"version": _CACHE_VERSION, "config": config.to_dict(),
                       "random": entry.random.to_dict() if entry.random else None}
        return self._extract(entry, f"{model}/{label}", self.path(model, label), lambda: config, fingerprint)

    def _extract(self, entry: ModelEntry, key: str, target: Path, make_config: Callable[[], Any],
                 fingerprint: Mapping[str, Any]) -> Path:
        """Reuse ``target`` when its record matches ``fingerprint``; otherwise extract ``make_config()``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fingerprint = json.loads(json.dumps(fingerprint, sort_keys=True, default=str))
        if target.is_file() and self._records().get(key, {}).get("fingerprint") == fingerprint:
            return target
        from extraction.recipe_run import run_extraction  # any method: a reading, or a reading and a vector stage

        if self.model_set.threads is not None:
            import torch

            torch.set_num_threads(int(self.model_set.threads))
        target.parent.mkdir(parents=True, exist_ok=True)
        config = make_config()
        self.log(f"extracting {key} ...")
        t0 = time.perf_counter()
        try:
            result = run_extraction(config, target, overwrite=target.exists(),
                                    loaded=self._load(entry, config.precision))
        except ConfigMismatchError:
            self.log(f"{key}: discarding an unfinished run with other settings")
            result = run_extraction(config, target, overwrite=target.exists(), restart=True,
                                    loaded=self._load(entry, config.precision))
        seconds = time.perf_counter() - t0
        self.log(f"{key}: {result.tokens:,} tokens in {seconds:.0f} s")
        records = self._records()
        records[key] = {"fingerprint": fingerprint, "seconds": round(seconds, 1), "tokens": result.tokens}
        _write_json(self.records_path, records)
        return target

    def _records(self) -> dict[str, Any]:
        try:
            data = json.loads(self.records_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def record(self, model: str, recipe: str) -> dict[str, Any]:
        """What the cache knows about a finished file (seconds, tokens), or ``{}``."""
        return dict(self._records().get(f"{model}/{recipe}", {}))
