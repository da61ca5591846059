"""Running resampling work on a dask.distributed cluster, with the same numbers as in-process.

What is distributed
-------------------
``bootstrap``  the resamples of :class:`~rsastats.inference._engine.ResamplingEngine` are split into
               contiguous chunks of whole draw blocks; chunk ``[start, stop)`` draws block ``k`` from
               child ``k`` of the seed (:func:`rsastats._rng.spawn_sequences`), exactly as the
               in-process run does, and every resample is computed the same way whichever batch holds
               it, so the stacked chunks equal the in-process replicates bit for bit, for any number
               of workers and any chunk size.
``permutations``  Mantel permutations are split into (pairs x permutation blocks) chunks; block ``k``
               comes from child ``k`` of the permutation seed; a chunk returns, per pair, how many of
               its permutations are at least as extreme as the observed statistic (or the statistics
               themselves for a single test), and the counts add up to the in-process ``k``.
``replicates`` :meth:`DaskRunner.chunked` runs contiguous ranges of independently seeded replicates
               (the decomposition's bootstrap: replicate ``b`` from child ``b`` of the seed).
``tasks``      :meth:`DaskRunner.each` runs independent tasks (extractions of many models and
               conditions, :mod:`extraction.manifest`) and hands back each outcome as it finishes.

Where the data go
-----------------
Workers open the input files themselves: for the prompt bootstrap a task names the files (absolute
paths) and the options, each worker builds the engine (Gram matrices) once per run, keeps it for the
run's later chunks and drops it when the run ends.  The files must therefore be readable at the same path on every worker
(a shared file system or the same mount).  A worker checks that its RDMs equal the client's and
stops with a one-line error when they do not (another file at the same path).  What is shipped
by pickling is small: the RDMs (``n x n`` per model), the seed, the pairs, explicit permutations.
Inputs given in memory (xarray datasets, RDM objects) are shipped once per worker with
``Client.scatter``; use files for data that do not fit comfortably in one message.

dask is imported only here, and only when a scheduler is given.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ._rng import SeedLike, seed_sequence, spawn_sequences
from ._version import __version__
from .exceptions import ConfigMismatchError, DependencyError, InputError, ValidationError

__all__ = [
    "SCHEDULER_ENV",
    "DaskRunner",
    "scheduler_runner",
    "connect",
    "EngineSpec",
    "engine_spec",
]

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
_CONNECT_TIMEOUT_S = 20
_WORKER_WAIT_S = 30
# Chunks per worker thread: enough to balance uneven workers, few enough to keep per-task overhead small.
_CHUNKS_PER_THREAD = 4


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise DependencyError("running on a cluster needs dask.distributed: pip install 'rsastats[distributed]'") from None
    return distributed


def connect(address: str, timeout: float = _CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` connected to ``address``, with at least one worker; one-line
    :class:`InputError` when the scheduler cannot be reached or has no workers."""
    distributed = _import_distributed()
    address = str(address).strip()
    if not address:
        raise ValidationError("the scheduler address is empty; give e.g. tcp://HOST:8786")
    _probe(address, timeout)
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"cannot reach the dask scheduler at {address}: {reason}") from None
    try:
        client.wait_for_workers(1, timeout=_WORKER_WAIT_S)
    except (TimeoutError, OSError):
        client.close()
        raise InputError(f"the dask scheduler at {address} has no workers (waited {_WORKER_WAIT_S} s); "
                         "start some with: dask worker " + address) from None
    return client


def _probe(address: str, timeout: float) -> None:
    """Fail fast, with one line, when nothing listens at a TCP address (a Client that fails to
    connect would otherwise hang on to the process for its close timeout)."""
    import socket

    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        protocol, location = parse_address(address)
        if protocol not in ("tcp", "tls"):
            return
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise InputError(f"cannot read the dask scheduler address {address!r}: {' '.join(str(exc).split())} "
                         "(give e.g. tcp://HOST:8786)") from None
    try:
        socket.create_connection((host, port), timeout=min(timeout, 10)).close()
    except OSError as exc:
        raise InputError(f"cannot reach the dask scheduler at {address}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def scheduler_runner(scheduler: Any) -> Iterator["DaskRunner | None"]:
    """Yield a :class:`DaskRunner` for ``scheduler`` (an address, a ``distributed.Client`` or a
    runner), or None for in-process work.  A client opened here is closed on exit."""
    if scheduler is None or (isinstance(scheduler, str) and not scheduler.strip()):
        yield None
        return
    if isinstance(scheduler, DaskRunner):
        yield scheduler
        return
    if isinstance(scheduler, (str, os.PathLike)):
        client = connect(str(scheduler))
        try:
            yield DaskRunner(client)
        finally:
            client.close()
        return
    distributed = _import_distributed()
    if isinstance(scheduler, distributed.Client):
        yield DaskRunner(scheduler)
        return
    raise ValidationError(f"scheduler must be an address (tcp://HOST:PORT), a distributed.Client or None; "
                          f"got {type(scheduler).__name__}")


# --------------------------------------------------------------------------- engine on workers
@dataclass(frozen=True)
class EngineSpec:
    """Everything a worker needs to build the same resampling engine as the client.

    ``paths`` (absolute) when every input is a file; otherwise ``models`` holds the loaded
    :class:`~rsastats.inference._inputs.ModelInput` objects (their prompt rows only when the
    scheme resamples prompts).  ``fixed`` holds the client's RDM upper triangles (M, m): the worker
    checks its own against them and then uses the client's, so emotion resamples see the same
    numbers.
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


def _versions() -> tuple[str, str]:
    return (__version__, np.__version__)


def engine_spec(objs: Sequence[Any], models: Sequence[Any], options: Any, *, rank: str, scheme: str,
                rdm_method: str) -> EngineSpec:
    """The spec of an engine built from ``objs`` (what the user gave) loaded as ``models``."""
    fixed = np.stack([m.rdm.upper() for m in models])
    names = tuple(m.name for m in models)
    if scheme == "emotions":
        # Only the RDMs are needed: ship them (small) rather than have workers read the files.
        light = tuple(replace(m, rows=None) for m in models)
        return EngineSpec(uuid.uuid4().hex, None, names, options, light, rank, scheme, rdm_method, fixed, _versions())
    if all(isinstance(o, (str, os.PathLike)) for o in objs):
        paths = tuple(os.path.abspath(os.fspath(o)) for o in objs)
        return EngineSpec(uuid.uuid4().hex, paths, names, options, None, rank, scheme, rdm_method, fixed, _versions())
    return EngineSpec(uuid.uuid4().hex, None, names, options, tuple(models), rank, scheme, rdm_method, fixed, _versions())


_ENGINES: "OrderedDict[str, Any]" = OrderedDict()
_ENGINES_LOCK = threading.Lock()
_ENGINES_KEPT = 2


def _check_versions(spec_versions: tuple[str, str]) -> None:
    if tuple(spec_versions) != _versions():
        raise ConfigMismatchError(
            f"a dask worker runs rsastats {__version__} with numpy {np.__version__}, the client rsastats "
            f"{spec_versions[0]} with numpy {spec_versions[1]}: install the same versions everywhere "
            "(results would not be identical)")


def _worker_engine(spec: EngineSpec):
    """The engine of ``spec``, built once per worker process and run (``spec.token``)."""
    from .inference._engine import ResamplingEngine
    from .inference._inputs import load_models

    with _ENGINES_LOCK:
        if spec.token in _ENGINES:
            _ENGINES.move_to_end(spec.token)
            return _ENGINES[spec.token]
        _check_versions(spec.versions)
        if spec.paths is not None:
            missing = [p for p in spec.paths if not os.path.isfile(p)]
            if missing:
                raise InputError(f"a dask worker cannot read {missing[0]}: the input files must be at the same path "
                                 "on every worker (shared file system)", path=None)
            models = load_models(list(spec.paths), spec.options, list(spec.names))
        else:
            models = list(spec.models)
        engine = ResamplingEngine(models, rank=spec.rank, scheme=spec.scheme, rdm_method=spec.rdm_method)
        if engine.fixed.shape != spec.fixed.shape or not np.allclose(engine.fixed, spec.fixed, rtol=1e-9, atol=1e-12):
            bad = next((i for i in range(len(models)) if not np.allclose(engine.fixed[i], spec.fixed[i], rtol=1e-9,
                                                                         atol=1e-12)), 0)
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


def _forget_engine(token: str) -> None:
    """Drop a finished run's engine from this worker (run on every worker by the client)."""
    with _ENGINES_LOCK:
        _ENGINES.pop(token, None)


def _bootstrap_task(spec: EngineSpec, pairs: np.ndarray, start: int, stop: int, seed: np.random.SeedSequence,
                    batch_size: int) -> np.ndarray:
    engine = _worker_engine(spec)
    return engine.replicate_range(pairs, start, stop, seed, batch_size, threads=1)


# --------------------------------------------------------------------------- Mantel on workers
@dataclass(frozen=True)
class MantelSpec:
    """The RDMs (M, n, n), the pairs, the method, and where the permutations come from: explicit
    ``perms`` (exact enumeration or given by the user) or ``seed`` (block ``k`` from child ``k``)."""

    matrices: np.ndarray
    pairs: np.ndarray
    method: str
    alternative: str
    count: int
    perms: np.ndarray | None
    seed: np.random.SeedSequence | None
    versions: tuple[str, str]


def _spec_perms(spec: MantelSpec, start: int, stop: int) -> np.ndarray:
    from .inference.permutation import PERM_BLOCK, permutation_block

    if spec.perms is not None:
        return spec.perms[start:stop]
    n = spec.matrices.shape[1]
    first, last = start // PERM_BLOCK, (stop - 1) // PERM_BLOCK
    seqs = spawn_sequences(spec.seed, last + 1)[first:]
    block = np.concatenate([permutation_block(n, s) for s in seqs])
    return block[start - first * PERM_BLOCK: stop - first * PERM_BLOCK]


def _mantel_task(spec: MantelSpec, pair_lo: int, pair_hi: int, start: int, stop: int, counts_only: bool) -> np.ndarray:
    """Exceedance counts (pairs,) or statistics (stop - start, pairs) for permutations start..stop-1."""
    from .inference.permutation import PERM_BLOCK, MantelKernel, mantel_counts

    _check_versions(spec.versions)
    perms = _spec_perms(spec, start, stop)
    pairs = spec.pairs[pair_lo:pair_hi]
    if counts_only:
        return mantel_counts(spec.matrices, pairs, spec.method, perms, spec.alternative)
    out = np.empty((stop - start, len(pairs)))
    for k, (i, j) in enumerate(pairs):
        kernel = MantelKernel(spec.matrices[i], spec.matrices[j], spec.method)
        out[:, k] = np.concatenate([kernel(perms[s:s + PERM_BLOCK]) for s in range(0, len(perms), PERM_BLOCK)])
    return out


def _pair_ranges(pairs: np.ndarray, n_chunks: int) -> list[tuple[int, int]]:
    """Contiguous ranges of ``pairs`` that never split the pairs of one first model (their
    permutation products are computed together, see :func:`~rsastats.inference.permutation.mantel_counts`)."""
    firsts = np.asarray(pairs)[:, 0]
    if np.any(np.diff(firsts) < 0):  # not grouped by first model: keep them together
        return [(0, len(firsts))]
    starts = [0] + [k for k in range(1, len(firsts)) if firsts[k] != firsts[k - 1]] + [len(firsts)]
    target = -(-len(firsts) // max(1, n_chunks))
    out, lo = [], 0
    for b in starts[1:]:
        if b - lo >= target or b == len(firsts):
            out.append((lo, b))
            lo = b
    return out


# --------------------------------------------------------------------------- the runner
def _ranges(total: int, n_chunks: int, align: int) -> list[tuple[int, int]]:
    """``total`` items cut into at most ``n_chunks`` contiguous ranges whose starts are multiples
    of ``align`` (whole draw blocks)."""
    blocks = -(-total // align)
    per = max(1, -(-blocks // max(1, n_chunks)))
    return [(b * align, min((b + per) * align, total)) for b in range(0, blocks, per)]


class DaskRunner:
    """Runs chunks of resampling work on a ``distributed.Client``.

    Parameters
    ----------
    client : a connected ``distributed.Client``.
    bootstrap_chunk : resamples per task (rounded up to whole draw blocks of 64); default spreads
        the work over about four tasks per worker thread.  Never changes a result.
    permutation_chunk : permutations per task (rounded up to whole blocks of 1024); default as above.
    """

    def __init__(self, client: Any, *, bootstrap_chunk: int | None = None, permutation_chunk: int | None = None):
        self.client = client
        self.bootstrap_chunk = bootstrap_chunk
        self.permutation_chunk = permutation_chunk

    @property
    def threads(self) -> int:
        try:
            return max(1, int(sum(self.client.nthreads().values())))
        except Exception:  # a client that cannot say: assume one
            return 1

    def _gather(self, futures: list, progress: Callable[[Any], None] | None) -> list:
        """Results in submission order; ``progress(future)`` as each completes; the first failure
        cancels the rest and is raised (as the worker raised it)."""
        distributed = _import_distributed()
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        try:
            for future in distributed.as_completed(futures, loop=self.client.loop):
                results[index[future.key]] = future.result()
                if progress is not None:
                    progress(index[future.key])
        except BaseException:
            self.client.cancel(futures)
            raise
        return results

    def each(self, fn: Callable[..., Any], tasks: Sequence[tuple], retries: int = 0) -> Iterator[tuple[int, Any, BaseException | None]]:
        """Run independent tasks; yield ``(index, result, None)`` or ``(index, None, error)`` as each
        finishes (a failed task does not stop the others).  A task whose worker dies is rescheduled
        by the scheduler (up to its ``allowed-failures``); ``retries`` reruns a task that raised."""
        distributed = _import_distributed()
        futures = [self.client.submit(fn, *args, pure=False, retries=retries) for args in tasks]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in distributed.as_completed(futures, loop=self.client.loop):
                try:
                    yield index[future.key], future.result(), None
                except Exception as exc:  # the task's own error, or KilledWorker after repeated worker deaths
                    yield index[future.key], None, exc
        finally:
            self.client.cancel([f for f in futures if not f.done()])

    def chunked(self, fn: Callable[..., Any], n_items: int, shared: Any, *, chunk: int | None = None,
                progress: Callable[[int], None] | None = None) -> list:
        """``[fn(shared, lo, hi) for each chunk]`` over contiguous ranges covering ``range(n_items)``,
        in order; ``shared`` is sent once (``scatter``); ``progress(hi - lo)`` as chunks finish."""
        size = chunk or self.bootstrap_chunk or -(-n_items // (self.threads * _CHUNKS_PER_THREAD))
        ranges = _ranges(n_items, -(-n_items // max(1, size)), 1)
        [shared_future] = self.client.scatter([shared], broadcast=False, hash=False)
        futures = [self.client.submit(fn, shared_future, a, b, pure=False) for a, b in ranges]
        done = None if progress is None else (lambda i: progress(ranges[i][1] - ranges[i][0]))
        return self._gather(futures, done)

    def bootstrap(self, spec: EngineSpec, pairs: np.ndarray, n_boot: int, seed: SeedLike, batch_size: int = 256,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Bootstrap replicates (n_boot, n_pairs): equal to ``engine.replicates(pairs, n_boot, seed)``."""
        from .inference._engine import DRAW_BLOCK

        seq = seed_sequence(seed)  # once: a Generator seed is advanced exactly as in-process
        size = self.bootstrap_chunk or -(-n_boot // (self.threads * _CHUNKS_PER_THREAD))
        ranges = _ranges(n_boot, -(-n_boot // max(1, size)), DRAW_BLOCK)
        [spec_future] = self.client.scatter([spec], broadcast=False, hash=False)
        [pairs_future] = self.client.scatter([np.asarray(pairs)], broadcast=False, hash=False)
        futures = [self.client.submit(_bootstrap_task, spec_future, pairs_future, a, b, seq, batch_size, pure=False)
                   for a, b in ranges]
        done = None if progress is None else (lambda i: progress(ranges[i][1] - ranges[i][0]))
        try:
            parts = self._gather(futures, done)
        finally:  # the engines (Gram matrices) can be large: free them on the workers now
            with contextlib.suppress(Exception):
                self.client.run(_forget_engine, spec.token)
        return np.concatenate(parts) if parts else np.empty((0, len(pairs)))

    def _mantel(self, matrices: np.ndarray, pairs: np.ndarray, method: str, alternative: str, perms: np.ndarray | None,
                count: int, seed: SeedLike, counts_only: bool) -> list[tuple[tuple[int, int], tuple[int, int], Any]]:
        from .inference.permutation import PERM_BLOCK

        spec = MantelSpec(np.ascontiguousarray(matrices, dtype=np.float64), np.asarray(pairs), method, alternative,
                          count, perms, None if perms is not None else seed_sequence(seed), _versions())
        n_tasks = self.threads * _CHUNKS_PER_THREAD
        # Split the pairs first (many pairs), then the permutations (few pairs, e.g. one test).
        pair_ranges = _pair_ranges(pairs, n_tasks)
        per_pairs = max(1, n_tasks // len(pair_ranges))
        size = self.permutation_chunk or -(-count // per_pairs)
        perm_ranges = _ranges(count, -(-count // max(1, size)), PERM_BLOCK)
        [spec_future] = self.client.scatter([spec], broadcast=False, hash=False)
        jobs = [(pr, qr) for pr in pair_ranges for qr in perm_ranges]
        futures = [self.client.submit(_mantel_task, spec_future, pr[0], pr[1], qr[0], qr[1], counts_only, pure=False)
                   for pr, qr in jobs]
        return [(pr, qr, res) for (pr, qr), res in zip(jobs, self._gather(futures, None))]

    def mantel_counts(self, matrices: np.ndarray, pairs: np.ndarray, method: str, alternative: str,
                      perms: np.ndarray | None, count: int, seed: SeedLike) -> np.ndarray:
        """Per pair, how many of the ``count`` permutations are at least as extreme as observed."""
        k = np.zeros(len(pairs), dtype=np.int64)
        for (lo, hi), _, counts in self._mantel(matrices, pairs, method, alternative, perms, count, seed, True):
            k[lo:hi] += counts
        return k

    def mantel_statistics(self, matrices: np.ndarray, method: str, perms: np.ndarray | None, count: int,
                          seed: SeedLike) -> np.ndarray:
        """The statistic of matrix 0 permuted against matrix 1 under each permutation (count,)."""
        out = np.empty(count)
        for _, (a, b), stats in self._mantel(matrices, np.array([[0, 1]]), method, "two-sided", perms, count, seed,
                                             False):
            out[a:b] = stats[:, 0]
        return out
