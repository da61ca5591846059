"""Run an extraction: stimuli -> model -> pooled residual stream -> schema v1 activations file.

Streaming and resuming: every finished emotion (and the baseline) is written atomically to a work
folder beside the output (``<out>.parts/``) together with a manifest of the full configuration.
Only one emotion is held in memory; the final file is assembled through a memory-mapped array and
written atomically, then the work folder is removed.  A killed run, started again with the same
command, skips what is on disk and produces a file identical to an uninterrupted run (the
``created`` attribute is the time the run first started).  A resume with any other configuration
is refused with :class:`~rsastats.exceptions.ConfigMismatchError`.
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from rsastats.io import output_lock, software_versions, write_dataset
from rsastats.exceptions import ModelLoadError, ValidationError

from .capture import CaptureMismatch, NonFiniteActivation, ResidualCapture
from .config import READ_METHODS, ExtractionConfig, _config_iv, parse_layers
from .generate import prompt_generator, sample_continuations
from .inputs import checked_example, encode_texts, pool_range, right_padded_batch
from .models import LoadedModel, load_model
from .parts import WorkParts, assemble, check_output, work_folder
from .precision import PrecisionInfo, apply_precision, weight_dtype
from .stimuli import STUDY_EMOTIONS, StimulusSet, load_stimuli, prompt_template_stimuli, text_sources

__all__ = ["ExtractionResult", "extract", "build_stimuli", "work_folder", "SAMPLER"]

SAMPLER = ("rsastats per-prompt sampler: temperature, then top-k, then top-p (as transformers' logits warpers), "
           "torch.multinomial with one torch.Generator per prompt seeded from "
           "SeedSequence(seed, spawn_key=(crc32(emotion), prompt index)); continuation cut before the first "
           "end-of-sequence token; the model then re-reads prompt + continuation for capture")


@dataclass(frozen=True)
class ExtractionResult:
    """Summary of a finished run (the data are in the file at ``out``)."""

    out: str
    model: str
    method: str
    pooling: str
    precision: str
    n_emotions: int
    n_prompts: int
    layers: tuple[int, ...]
    hidden_size: int
    n_baseline: int
    n_invalid: int
    resumed_emotions: tuple[str, ...]
    tokens: int
    seconds: float
    problems: tuple[str, ...] = field(default=())

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["layers"] = list(self.layers)
        out["resumed_emotions"] = list(self.resumed_emotions)
        out["problems"] = list(self.problems)
        out["tokens_per_second"] = self.tokens_per_second
        return out


class _NoProgress:
    def start(self, total: int, done: int) -> None:
        pass

    def advance(self, prompts: int, tokens: int) -> None:
        pass


# --------------------------------------------------------------------------- stimuli
def build_stimuli(config: ExtractionConfig) -> StimulusSet:
    """The stimulus set a configuration reads (selection applied)."""
    if config.prompt_template:
        emotions = config.emotions or STUDY_EMOTIONS
        stim = prompt_template_stimuli(config.prompt_template, emotions, config.samples, baseline=config.baseline)
        return stim.select(limit=config.limit, baseline_limit=config.baseline_limit)
    stim = load_stimuli(config.stimuli, baseline=config.baseline)
    return stim.select(emotions=config.emotions, limit=config.limit, baseline_limit=config.baseline_limit)


# --------------------------------------------------------------------------- running
@dataclass
class _Context:
    """Everything the per-emotion loops need."""

    config: ExtractionConfig
    loaded: LoadedModel
    capture: ResidualCapture
    chat: bool
    batch_size: int
    max_length: int | None
    eos_ids: tuple[int, ...]
    progress: Any
    verified: bool = False
    tokens: int = 0


def _batches(order: Sequence[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(order), size):
        yield list(order[i:i + size])


def _pool_rows(ctx: _Context, sequences: Sequence[Sequence[int]], ranges: Sequence[tuple[int, int]],
               where: Callable[[int], str]) -> np.ndarray:
    """Pooled activations ``(len(sequences), n_layers, hidden)`` of sequences with non-empty ranges."""
    ids, mask, weights = right_padded_batch(sequences, ranges, ctx.loaded.tokenizer.pad_token_id)
    try:
        if not ctx.verified:
            ctx.capture.verify(ids, mask, weights)
            ctx.verified = True
        pooled = ctx.capture.run(ids, mask, weights)
    except NonFiniteActivation as exc:
        raise ValidationError(
            f"{ctx.config.precision}: NaN/Inf in the residual stream at layer {exc.layer} for {where(exc.rows[0])}"
            + ("; fp16 overflows in this model: use --precision bf16 or fp32" if ctx.config.precision == "fp16" else "")
            + " (nothing was written for it)") from None
    except CaptureMismatch as exc:
        raise ModelLoadError(f"model {ctx.loaded.spec.name!r} ({ctx.loaded.architecture}): activations cannot be "
                             f"captured reliably: {exc}") from None
    values = pooled.numpy()
    if not np.isfinite(values).all():  # the hooks check every token; this guards the pooling itself
        row = int(np.argwhere(~np.isfinite(values))[0][0])
        raise ValidationError(f"{ctx.config.precision}: NaN/Inf after pooling for {where(row)}")
    ctx.tokens += int(mask.sum())
    return values


def _empty_part(n: int, n_layers: int, hidden: int) -> dict[str, np.ndarray]:
    return {"activations": np.full((n, n_layers, hidden), np.nan, dtype=np.float32),
            "valid": np.zeros(n, dtype=np.int8), "pool_start": np.zeros(n, dtype=np.int32),
            "pool_stop": np.zeros(n, dtype=np.int32), "n_tokens": np.zeros(n, dtype=np.int32)}


def _read(ctx: _Context, texts: Sequence[str], pooling: str, label: str) -> dict[str, np.ndarray]:
    """Comprehension: read every text, pool, return the part arrays."""
    encoded = encode_texts(ctx.loaded.tokenizer, texts, template=ctx.config.template, chat=ctx.chat,
                           max_length=ctx.max_length)
    part = _empty_part(len(texts), len(ctx.capture.layers), ctx.loaded.hidden_size)
    ranges = [pool_range(pooling, len(e), e.span, skip_first_token=ctx.config.skip_first_token) for e in encoded]
    part["n_tokens"][:] = [len(e) for e in encoded]
    part["pool_start"][:] = [r[0] for r in ranges]
    part["pool_stop"][:] = [r[1] for r in ranges]
    usable = [i for i, (a, b) in enumerate(ranges) if b > a]
    order = sorted(usable, key=lambda i: len(encoded[i]))  # similar lengths together: less padding
    for chunk in _batches(order, ctx.batch_size):
        values = _pool_rows(ctx, [encoded[i].input_ids for i in chunk], [ranges[i] for i in chunk],
                            lambda row, chunk=chunk: f"{label} prompt {chunk[row]} ({texts[chunk[row]][:40]!r})")
        part["activations"][chunk] = values
        part["valid"][chunk] = 1
        ctx.progress.advance(len(chunk), int(sum(len(encoded[i]) for i in chunk)))
    ctx.progress.advance(len(texts) - len(usable), 0)
    part["text"] = np.array(list(texts), dtype=str)
    return part


def _generate(ctx: _Context, emotion: str, prompts: Sequence[str]) -> dict[str, np.ndarray]:
    """Generation: sample a continuation per prompt, re-read prompt + continuation, pool."""
    config = ctx.config
    tokenizer = ctx.loaded.tokenizer
    encoded = encode_texts(tokenizer, prompts, template=config.template, chat=ctx.chat, max_length=ctx.max_length)
    if ctx.max_length is not None:
        longest = max(len(e) for e in encoded)
        if longest + config.max_new_tokens > ctx.max_length:
            raise ValidationError(f"a prompt of {longest} tokens plus {config.max_new_tokens} new tokens exceeds the "
                                  f"model's {ctx.max_length} positions; lower --max-new-tokens")
    part = _empty_part(len(prompts), len(ctx.capture.layers), ctx.loaded.hidden_size)
    texts = [""] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    for chunk in _batches(order, ctx.batch_size):
        generators = [prompt_generator(config.seed, emotion, i) for i in chunk]
        try:
            continuations = sample_continuations(
                ctx.loaded.model, [encoded[i].input_ids for i in chunk], generators, temperature=config.temperature,
                top_p=config.top_p, top_k=config.top_k, max_new_tokens=config.max_new_tokens, eos_ids=ctx.eos_ids,
                pad_id=tokenizer.pad_token_id)
        except RuntimeError as exc:
            if "inf" in str(exc).lower() or "nan" in str(exc).lower():
                raise ValidationError(f"{config.precision}: NaN/Inf logits while generating for emotion {emotion!r} "
                                      f"prompt {chunk[0]}{'; fp16 overflows: use bf16 or fp32' if config.precision == 'fp16' else ''}") from None
            raise
        sequences = [list(encoded[i].input_ids) + cont for i, cont in zip(chunk, continuations)]
        ranges = [pool_range(config.pooling, len(seq), (len(encoded[i]), len(seq)))
                  for i, seq in zip(chunk, sequences)]
        for i, seq, rng, cont in zip(chunk, sequences, ranges, continuations):
            part["n_tokens"][i], part["pool_start"][i], part["pool_stop"][i] = len(seq), rng[0], rng[1]
            texts[i] = tokenizer.decode(cont, skip_special_tokens=False)
        rows = [k for k, (a, b) in enumerate(ranges) if b > a]  # an immediate end-of-sequence leaves nothing
        if rows:
            values = _pool_rows(ctx, [sequences[k] for k in rows], [ranges[k] for k in rows],
                                lambda row, rows=rows, chunk=chunk: f"emotion {emotion!r} prompt {chunk[rows[row]]}")
            idx = [chunk[k] for k in rows]
            part["activations"][idx] = values
            part["valid"][idx] = 1
        ctx.tokens += sum(len(c) for c in continuations)
        ctx.progress.advance(len(chunk), sum(len(s) for s in sequences))
    part["text"] = np.array(texts, dtype=str)
    part["prompt_text"] = np.array(list(prompts), dtype=str)
    return part


def _eos_ids(loaded: LoadedModel) -> tuple[int, ...]:
    ids: set[int] = set()
    if loaded.tokenizer.eos_token_id is not None:
        ids.add(int(loaded.tokenizer.eos_token_id))
    generation = getattr(loaded.model, "generation_config", None)
    configured = getattr(generation, "eos_token_id", None)
    if isinstance(configured, int):
        ids.add(configured)
    elif configured:
        ids.update(int(i) for i in configured)
    return tuple(sorted(ids))


def _max_length(model: Any) -> int | None:
    value = getattr(model.config, "max_position_embeddings", None)
    return int(value) if value else None


# --------------------------------------------------------------------------- attributes
def _pooled_tokens(config: ExtractionConfig, pooling: str) -> str:
    what = {
        "last": "the last token of the model input (template and chat-template suffix included)",
        "last-stimulus": "the last token that overlaps the stimulus text",
        "mean": "the mean over the tokens that overlap the stimulus text (template and chat-template tokens excluded)",
        "mean-generated": "the mean over the generated tokens, up to and excluding the first end-of-sequence token",
    }[pooling]
    if config.method == "generation" and pooling == "last":
        what = "the last generated token before the first end-of-sequence token"
    if config.skip_first_token and pooling.startswith("mean"):
        what += "; sequence position 0 left out"
    return what + "; exact positions per prompt in pool_start/pool_stop (half-open, 0-based, in the input of n_tokens)"


def _attrs(config: ExtractionConfig, loaded: LoadedModel, info: PrecisionInfo, capture: ResidualCapture,
           stim: StimulusSet, chat: bool, example: str, baseline_pooling: str) -> dict[str, Any]:
    layout, n = capture.layout, capture.layout.n_blocks
    last = layout.last_layer_norm(config.final_norm)
    last_text = {"post-final-norm": f"{n} = output of block {n} after the final norm ({layout.norm_path})",
                 "pre-final-norm": f"{n} = output of block {n} before the final norm ({layout.norm_path})",
                 "no-final-norm": f"{n} = output of block {n} (the model has no final norm)"}[last]
    generation, spec, software = config.method == "generation", loaded.spec, software_versions()
    if config.precision in ("int8-token", "int8-weight"):
        with contextlib.suppress(md.PackageNotFoundError):
            software += f"; torchao {md.version('torchao')}"
    return {
        "model": spec.source,
        "model_name": spec.name,
        "model_path": loaded.path,
        "model_revision": loaded.revision,
        "family": spec.family,
        "variant": loaded.variant,
        "architecture": loaded.architecture,
        "n_blocks": n,
        "method": config.method,
        "pooling": config.pooling,
        "pooled_tokens": _pooled_tokens(config, config.pooling),
        "skip_first_token": int(config.skip_first_token),
        "precision": config.precision,
        "precision_scheme": info.scheme,
        "quantized_modules": info.quantized,
        "compute_dtype": info.compute_dtype,
        "batching": ("one sequence per forward pass" if info.one_sequence_per_pass else
                     f"right-padded batches of up to {config.batch_size} sequences")
                    + ("; generation: left-padded prompts with position_ids from the mask" if generation else ""),
        "batch_size": 1 if info.one_sequence_per_pass else config.batch_size,
        "experiment": config.experiment,
        "recipe": config.recipe,
        "recipe_overrides": ", ".join(config.recipe_overrides),
        "stimulus_set": stim.label,
        "stimulus_source": stim.source,
        "stimulus_selection": stim.selection,
        "template": config.template.replace("{text}", config.prompt_template) if config.prompt_template else config.template,
        "chat_template": int(chat),
        "input_example": example,
        "temperature": config.temperature if generation else "",
        "top_p": config.top_p if generation else "",
        "top_k": config.top_k if generation else "",
        "max_new_tokens": config.max_new_tokens if generation else "",
        "seed": config.seed if generation else "",
        "sampler": SAMPLER if generation else "",
        "eos_token_ids": ", ".join(map(str, _eos_ids(loaded))) if generation else "",
        "last_layer_norm": last,
        "layer_definition": f"0 = embedding output (input of block 1); i = output of block i; {last_text}",
        "baseline_pooling": baseline_pooling if stim.baseline else "",
        "software": software,
        "torch_threads": torch.get_num_threads(),  # these two decide the rounding: docs/extraction.md
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def _extract_missing(ctx: _Context, parts: WorkParts, stim: StimulusSet, keys: Sequence[str], done: set[str],
                     baseline_pooling: str | None) -> None:
    """Extract and save every emotion not in ``done``, then the baseline (unless ``baseline_pooling`` is
    None); a run stopped before its first part leaves no work folder behind."""
    try:
        for key, emotion, texts in zip(keys, stim.emotions, stim.texts):
            if key in done:
                continue
            if ctx.config.method == "generation":
                part = _generate(ctx, emotion, texts)
            else:
                part = _read(ctx, texts, ctx.config.pooling, f"emotion {emotion!r}")
            parts.save(key, part)
        if stim.baseline and baseline_pooling is not None:
            parts.save("baseline", _read(ctx, stim.baseline, baseline_pooling, "baseline"))
    except BaseException:
        parts.remove_if_empty()
        raise


# --------------------------------------------------------------------------- main entry
def extract(config: ExtractionConfig, out: str | os.PathLike, *, overwrite: bool = False, restart: bool = False,
            progress: Any = None, loaded: LoadedModel | None = None) -> ExtractionResult:
    """Run ``config`` and write the activations file ``out``.

    Parameters
    ----------
    config : see :class:`~extraction.config.ExtractionConfig` (build it with ``make_config``).
    out : the NetCDF file to write; its work folder is ``<out>.parts``.
    overwrite : replace an existing ``out``.
    restart : discard an unfinished earlier run in the work folder instead of resuming it.
    progress : an object with ``start(total, done)`` and ``advance(prompts, tokens)``, or None.
    loaded : an already loaded model (tests, notebooks); it is modified by the precision step.

    Raises
    ------
    InputError subclasses with one-line messages: another process writing ``out``
    (``OutputBusyError``; the lock is held for the whole run), bad stimuli, a model that cannot load,
    :class:`ConfigMismatchError` for a resume with other settings, ``ValidationError`` for NaN/Inf
    (fp16 overflow) with the layer and the prompt.
    """
    config = _config_iv(config, READ_METHODS)
    with output_lock(out):  # held from the first check to the final rename: one writer per output
        return _extract(config, Path(out), overwrite, restart, progress or _NoProgress(), loaded)


def _extract(config: ExtractionConfig, out: Path, overwrite: bool, restart: bool, progress: Any,
             loaded: LoadedModel | None) -> ExtractionResult:
    check_output(out, overwrite)
    stim = build_stimuli(config)
    started = time.perf_counter()
    if loaded is None:
        loaded = load_model(config.model, dtype=weight_dtype(config.precision))
    if loaded.kind == "encoder" and config.method == "generation":
        raise ModelLoadError(f"model {loaded.spec.name!r} is an encoder ({loaded.architecture}); it cannot generate: "
                             "use --method comprehension")
    chat = loaded.uses_chat_template(config.chat_template)
    info = apply_precision(loaded.model, config.precision)
    layers = parse_layers(config.layers, loaded.n_blocks)
    baseline_pooling = config.pooling if config.method == "comprehension" else "mean"
    with torch.no_grad(), ResidualCapture(loaded.model, layers, config.final_norm) as capture:
        example = checked_example(loaded.tokenizer, stim.texts, stim.baseline, template=config.template, chat=chat,
                                  max_length=_max_length(loaded.model), sources=text_sources(stim, config.baseline))
        attrs = _attrs(config, loaded, info, capture, stim, chat, example, baseline_pooling)
        fingerprint = {**attrs, "layers": list(layers), "emotions": list(stim.emotions),
                       "counts": [len(t) for t in stim.texts], "baseline_texts": len(stim.baseline),
                       "stimulus_sha256": stim.sha256}
        parts = WorkParts(out, fingerprint, restart)
        ctx = _Context(config, loaded, capture, chat, 1 if info.one_sequence_per_pass else config.batch_size,
                       _max_length(loaded.model), _eos_ids(loaded), progress)
        n_layers, hidden = len(layers), loaded.hidden_size
        keys = [f"emotion-{i:03d}" for i in range(len(stim.emotions))]
        done = {k for k, t in zip(keys, stim.texts) if parts.load(k, (len(t), n_layers, hidden)) is not None}
        has_baseline = bool(stim.baseline)
        baseline_done = has_baseline and parts.load("baseline", (len(stim.baseline), n_layers, hidden)) is not None
        total = sum(len(t) for t in stim.texts) + len(stim.baseline)
        progress.start(total, sum(len(t) for k, t in zip(keys, stim.texts) if k in done)
                       + (len(stim.baseline) if baseline_done else 0))
        _extract_missing(ctx, parts, stim, keys, done, None if baseline_done else baseline_pooling)
    ds, n_invalid = assemble(parts, keys, stim, layers, hidden, {**attrs, "created": parts.created})
    write_dataset(ds, out, overwrite=overwrite)  # re-checks the name at the final rename
    ds.close()
    parts.remove()
    problems = list(stim.problems) + parts.notes
    if n_invalid:
        problems.append(f"{n_invalid} prompt(s) gave no token to pool (valid = 0 in the file)")
    return ExtractionResult(
        out=str(out), model=loaded.spec.name, method=config.method, pooling=config.pooling, precision=config.precision,
        n_emotions=len(stim.emotions), n_prompts=stim.n_prompts, layers=layers, hidden_size=hidden,
        n_baseline=len(stim.baseline), n_invalid=n_invalid,
        resumed_emotions=tuple(e for k, e in zip(keys, stim.emotions) if k in done),
        tokens=ctx.tokens, seconds=time.perf_counter() - started, problems=tuple(problems))


