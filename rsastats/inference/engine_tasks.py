"""Bootstrap replicates of the resampling engine as runner tasks (:mod:`rsastats.parallel`).

:func:`bootstrap_replicates` is the one code path of every bootstrap in :mod:`rsastats.inference`:
the replicates ``[lo, hi)`` of the sequence that the seed defines are a task; block ``k`` of
:data:`~rsastats.inference.engine.DRAW_BLOCK` resamples draws from child ``k`` of the seed and every
resample is computed on its own, so the stacked chunks equal the in-process replicates bit for bit,
for any number of workers and any chunk size.

In process the task uses the engine already built (with its threads).  On a cluster each worker
builds the same engine once per run from an :class:`EngineSpec` — the input files (absolute paths,
which must be readable on every worker) or the loaded models when inputs were given in memory — checks
that its RDMs equal the client's, keeps it for the run's later chunks and drops it when the run ends.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np

from .._rng import SeedLike, seed_sequence
from ..exceptions import ConfigMismatchError, InputError
from ..parallel import check_versions, versions
from .engine import DRAW_BLOCK, ResamplingEngine

__all__ = ["EngineSpec", "engine_spec", "BootstrapJob", "bootstrap_task", "bootstrap_replicates", "forget_engine"]


@dataclass(frozen=True)
class EngineSpec:
    """Everything a worker needs to build the same resampling engine as the client.

    ``paths`` (absolute) when every input is a file; otherwise ``models`` holds the loaded
    :class:`~rsastats.inputs.ModelInput` objects (their prompt rows only when the scheme resamples
    prompts).  ``fixed`` holds the client's RDM upper triangles (M, m): the worker checks its own
    against them and then uses the client's, so emotion resamples see the same numbers.
    """

    token: str
    paths: tuple[str, ...] | None
    names: tuple[str, ...]
    options: Any  # RDMOptions
    models: tuple | None
    rank: str
    scheme: str
    rdm_method: str
    fixed: np.ndarray
    versions: tuple[str, str]


def engine_spec(objs: Sequence[Any], models: Sequence[Any], options: Any, *, rank: str, scheme: str,
                rdm_method: str) -> EngineSpec:
    """The spec of an engine built from ``objs`` (what the user gave) loaded as ``models``."""
    fixed = np.stack([m.rdm.upper() for m in models])
    names = tuple(m.name for m in models)
    token = uuid.uuid4().hex
    if scheme == "emotions":
        # Only the RDMs are needed: ship them (small) rather than have workers read the files.
        light = tuple(replace(m, rows=None) for m in models)
        return EngineSpec(token, None, names, options, light, rank, scheme, rdm_method, fixed, versions())
    if all(isinstance(o, (str, os.PathLike)) for o in objs):
        paths = tuple(os.path.abspath(os.fspath(o)) for o in objs)
        return EngineSpec(token, paths, names, options, None, rank, scheme, rdm_method, fixed, versions())
    return EngineSpec(token, None, names, options, tuple(models), rank, scheme, rdm_method, fixed, versions())


_ENGINES: "OrderedDict[str, ResamplingEngine]" = OrderedDict()
_ENGINES_LOCK = threading.Lock()
_ENGINES_KEPT = 2


def _worker_engine(spec: EngineSpec) -> ResamplingEngine:
    """The engine of ``spec``, built once per worker process and run (``spec.token``)."""
    from ..inputs import load_models

    with _ENGINES_LOCK:
        if spec.token in _ENGINES:
            _ENGINES.move_to_end(spec.token)
            return _ENGINES[spec.token]
        check_versions(spec.versions)
        if spec.paths is not None:
            missing = [p for p in spec.paths if not os.path.isfile(p)]
            if missing:
                raise InputError(f"a dask worker cannot read {missing[0]}: the input files must be at the same path "
                                 "on every worker (shared file system)")
            models = load_models(list(spec.paths), spec.options, list(spec.names))
        else:
            models = list(spec.models)
        engine = ResamplingEngine(models, rank=spec.rank, scheme=spec.scheme, rdm_method=spec.rdm_method)
        same = [engine.fixed.shape == spec.fixed.shape and np.allclose(engine.fixed[i], spec.fixed[i], rtol=1e-9, atol=1e-12)
                for i in range(len(models))]
        if not all(same):
            bad = same.index(False)
            where = spec.paths[bad] if spec.paths else spec.names[bad]
            raise ConfigMismatchError(f"a dask worker reads other data than the client for {where}: the file must be "
                                      "the same on every machine")
        # The client's RDMs, bit for bit (they are what the emotion resamples correlate).
        engine.fixed = spec.fixed
        engine.fixed_order = engine.order_of(spec.fixed)
        _ENGINES[spec.token] = engine
        while len(_ENGINES) > _ENGINES_KEPT:
            _ENGINES.popitem(last=False)
        return engine


def forget_engine(token: str) -> None:
    """Drop a finished run's engine from this process (run on every worker when a run ends)."""
    with _ENGINES_LOCK:
        _ENGINES.pop(token, None)


@dataclass(frozen=True)
class BootstrapJob:
    """One run's bootstrap: the spec, the pairs, the seed and the batch size; ``engine`` is the engine
    already built in this process and never travels (a worker builds its own from ``spec``)."""

    spec: EngineSpec
    pairs: np.ndarray
    seed: np.random.SeedSequence
    batch_size: int
    engine: ResamplingEngine | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["engine"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def bootstrap_task(job: BootstrapJob, lo: int, hi: int, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Replicates ``lo .. hi - 1`` (hi - lo, n_pairs).  A worker runs one task per thread, so its
    engine runs single-threaded; in process the engine uses its own threads."""
    if job.engine is not None:
        return job.engine.replicate_range(job.pairs, lo, hi, job.seed, job.batch_size, progress)
    return _worker_engine(job.spec).replicate_range(job.pairs, lo, hi, job.seed, job.batch_size, progress, threads=1)


def bootstrap_replicates(runner: Any, engine: ResamplingEngine, objs: Sequence[Any], models: Sequence[Any],
                         options: Any, pairs: np.ndarray, n_boot: int, seed: SeedLike, batch_size: int = 256,
                         progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Bootstrap replicates (n_boot, n_pairs) of ``engine`` (built from ``objs`` loaded as ``models``),
    run by ``runner``: equal to ``engine.replicates(pairs, n_boot, seed, batch_size)`` whatever runs it."""
    spec = engine_spec(objs, models, options, rank=engine.rank, scheme=engine.scheme, rdm_method=engine.rdm_method)
    job = BootstrapJob(spec, np.asarray(pairs), seed_sequence(seed), batch_size, engine)
    try:
        parts = runner.map_ranges(bootstrap_task, n_boot, job, align=DRAW_BLOCK, progress=progress)
    finally:  # the engines (Gram matrices) can be large: free them on the workers now
        runner.broadcast(forget_engine, spec.token)
    return np.concatenate(parts) if parts else np.empty((0, len(pairs)))
