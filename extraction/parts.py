"""The work folder of a resumable extraction (``<out>.parts/`` beside the output): each finished
emotion (and the baseline) as one ``.npz`` part that carries the configuration's hash, a manifest
that ties the folder to one configuration, and the assembly of the parts into the final dataset through a memory-mapped
array.  This module does not import torch."""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rsastats.exceptions import ConfigMismatchError, ValidationError
from rsastats.io import atomic_path, make_activations, remove_stale_temporaries

from .stimuli import StimulusSet

__all__ = ["work_folder", "check_output", "WorkParts", "assemble"]

_MANIFEST = "manifest.json"
_ASSEMBLED = "assembled.npy"
_HASH_KEY = "config_sha256"


_FORMAT = 1


def work_folder(out: str | os.PathLike) -> Path:
    """The folder where a run keeps its finished parts: ``<out>.parts`` beside the output."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse an existing output without ``overwrite``, and a folder in its place."""
    if out.exists() and not overwrite:
        raise ValidationError("already exists; pass --overwrite to replace it", path=out)
    if out.exists() and out.is_dir():
        raise ValidationError("is a directory; give a file name for the output", path=out)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _normalised(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


class WorkParts:
    """Finished emotions on disk, with the manifest that ties them to one configuration.

    Every part carries the SHA-256 of the configuration (``config_sha256``) and is used only when it
    matches; a part of another configuration, or one written before parts carried the hash, is
    discarded with a note (``notes``).  Build it only while holding the output's lock
    (:func:`rsastats.io.output_lock`): it removes what a killed run left half-written.
    """

    def __init__(self, out: Path, fingerprint: dict[str, Any], restart: bool):
        self.path = work_folder(out)
        self.fingerprint = _normalised(fingerprint)
        self.config_sha256 = hashlib.sha256(json.dumps(self.fingerprint, sort_keys=True).encode()).hexdigest()
        self.notes: list[str] = []
        if restart and self.path.exists():
            shutil.rmtree(self.path)
        remove_stale_temporaries(self.path)
        with contextlib.suppress(FileNotFoundError):
            (self.path / _ASSEMBLED).unlink()
        manifest = self.path / _MANIFEST
        if manifest.exists():
            try:
                stored = json.loads(manifest.read_text(encoding="utf-8"))
                old = stored["fingerprint"]
                self.created = str(stored["created"])
            except (OSError, ValueError, KeyError, TypeError):
                raise ConfigMismatchError("the work folder of an earlier run is damaged; pass --restart to discard it",
                                          path=self.path) from None
            if old != self.fingerprint:
                raise ConfigMismatchError(_mismatch(old, self.fingerprint), path=self.path)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self.created = _now()
            with atomic_path(manifest) as tmp:
                tmp.write_text(json.dumps({"format": _FORMAT, "created": self.created, "config_sha256": self.config_sha256,
                                           "fingerprint": self.fingerprint}, indent=1), encoding="utf-8")
        self._discard_foreign()

    def _discard_foreign(self) -> None:
        """Remove every part that does not carry this configuration's hash (another run's, or damaged)."""
        foreign = [file for file in sorted(self.path.glob("*.npz")) if self._stored_hash(file) != self.config_sha256]
        for file in foreign:
            file.unlink()
        if foreign:
            self.notes.append(f"discarded {len(foreign)} unfinished part(s) in {self.path} that did not carry this "
                              "configuration's hash (another configuration, an older version, or damaged); redone")

    @staticmethod
    def _stored_hash(file: Path) -> str | None:
        try:
            with np.load(file, allow_pickle=False) as data:
                return str(data[_HASH_KEY]) if _HASH_KEY in data.files else None
        except (OSError, ValueError, EOFError, KeyError):
            return None

    def _file(self, key: str) -> Path:
        return self.path / f"{key}.npz"

    def load(self, key: str, expect: tuple[int, ...]) -> dict[str, np.ndarray] | None:
        """A finished part, or None when it is absent or does not have the expected shape."""
        file = self._file(key)
        if not file.exists():
            return None
        try:
            with np.load(file, allow_pickle=False) as data:
                part = {k: data[k] for k in data.files}
        except (OSError, ValueError, EOFError):
            return None
        if str(part.pop(_HASH_KEY, "")) != self.config_sha256:
            return None  # not this configuration's part
        if part.get("activations") is None or part["activations"].shape != expect:
            return None
        return part

    def save(self, key: str, part: dict[str, np.ndarray]) -> None:
        with atomic_path(self._file(key)) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **part, **{_HASH_KEY: np.array(self.config_sha256)})

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def remove_if_empty(self) -> None:
        """Remove the folder when no part was finished: there is nothing to resume."""
        if self.path.exists() and all(p.name == _MANIFEST for p in self.path.iterdir()):
            self.remove()


def _mismatch(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    shown = "; ".join(f"{k}: earlier {_short(old.get(k))}, now {_short(new.get(k))}" for k in keys[:3])
    more = f" (and {len(keys) - 3} more)" if len(keys) > 3 else ""
    return (f"holds an unfinished run with another configuration ({shown}{more}); rerun with the earlier options "
            "to resume it, or pass --restart to discard it")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def assemble(parts: WorkParts, keys: Sequence[str], stim: StimulusSet, layers: Sequence[int], hidden: int,
              attrs: dict[str, Any]):
    """The final dataset, filled emotion by emotion into a memory-mapped array in the work folder."""
    n_e, n_p, n_l = len(keys), stim.n_prompts, len(layers)
    values = np.lib.format.open_memmap(parts.path / _ASSEMBLED, mode="w+", dtype=np.float32,
                                       shape=(n_e, n_p, n_l, hidden))
    valid = np.zeros((n_e, n_p), dtype=np.int8)
    text = np.full((n_e, n_p), "", dtype=object)
    prompt_text = np.full((n_e, n_p), "", dtype=object)
    extra = {name: np.zeros((n_e, n_p), dtype=np.int32) for name in ("pool_start", "pool_stop", "n_tokens")}
    generation = False
    for i, (key, texts) in enumerate(zip(keys, stim.texts)):
        part = parts.load(key, (len(texts), n_l, hidden))
        if part is None:  # cannot happen after a complete run; guards against a folder changed underneath
            raise ConfigMismatchError(f"part {key} is missing from the work folder or belongs to another configuration "
                                      "(changed by another process?); run the same command again", path=parts.path)
        n = len(texts)
        values[i, :n] = part["activations"]
        values[i, n:] = np.nan
        valid[i, :n] = part["valid"]
        text[i, :n] = part["text"].tolist()
        if "prompt_text" in part:
            generation = True
            prompt_text[i, :n] = part["prompt_text"].tolist()
        for name in extra:
            extra[name][i, :n] = part[name]
    baseline = parts.load("baseline", (len(stim.baseline), n_l, hidden)) if stim.baseline else None
    ds = make_activations(values, list(stim.emotions), layers=list(layers), text=text, valid=valid,
                          baseline=None if baseline is None else baseline["activations"],
                          baseline_text=None if baseline is None else baseline["text"].tolist(), attrs=attrs)
    ds = ds.assign({name: (("emotion", "prompt"), array) for name, array in extra.items()})
    if generation:
        ds = ds.assign_coords(prompt_text=(("emotion", "prompt"), prompt_text))
    if baseline is not None:
        ds = ds.assign({f"baseline_{name}": (("sample",), baseline[name].astype(np.int32))
                        for name in ("pool_start", "pool_stop", "n_tokens")})
    n_invalid = int(sum(len(t) for t in stim.texts) - int(valid.sum()))
    return ds, n_invalid
