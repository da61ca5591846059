"""Runners: where chunks of work run, in this process or on a dask.distributed cluster.

A runner knows nothing of statistics.  A statistic cuts its work into tasks whose results do not
depend on how the work is cut (each resample or permutation block draws from its own child stream of
the seed) and hands them to a runner; :class:`LocalRunner` and :class:`DaskRunner` have the same
methods, so every statistic has one code path whatever runs it:

``map_ranges(fn, n_items, shared, align=, progress=)``  ``fn(shared, lo, hi, progress)`` over contiguous
        ranges covering ``range(n_items)``, results in order.  In process: one range (the task may use
        threads itself); on a cluster: several, whose starts are multiples of ``align``.
``map(fn, shared, args_list)``  ``fn(shared, *args)`` for each argument tuple, results in order.
``each(fn, tasks, retries=, on_retry=)``  independent tasks, yielded as ``(index, result, error)`` as each
        finishes (a failure does not stop the others; bad input, an ``InputError``, is not retried in process).
``broadcast(fn, *args)``  run on every worker (e.g. to free a run's cached data); in process, once.
``parallelism``  how many tasks can run at once (1 in process), for statistics that choose a chunking;
``address``  the scheduler's address ("" in process).

Statistic-specific tasks live beside their statistic (:mod:`rsastats.inference.engine`,
:mod:`rsastats.inference.permutation`, :mod:`rsastats.variance`, :mod:`extraction.manifest`).

On a cluster, input files must be readable at the same path on every worker; what is shipped is small
(RDMs, seeds, pairs), and data given in memory is scattered once per run.  dask is imported only here,
and only when a scheduler is given.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator, Sequence

from ._version import __version__
from .exceptions import ConfigMismatchError, DependencyError, InputError, ValidationError

__all__ = ["SCHEDULER_ENV", "LocalRunner", "DaskRunner", "runner_for", "connect", "check_versions", "versions"]

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
_CONNECT_TIMEOUT_S = 20
_WORKER_WAIT_S = 30
# Chunks per worker thread: enough to balance uneven workers, few enough to keep per-task overhead small.
CHUNKS_PER_THREAD = 4


def versions() -> tuple[str, str]:
    """The versions that must agree between a client and its workers for identical numbers."""
    import numpy as np

    return (__version__, np.__version__)


def check_versions(spec_versions: tuple[str, str]) -> None:
    """Refuse to compute on a worker whose rsastats or numpy differs from the client's."""
    if tuple(spec_versions) != versions():
        here = versions()
        raise ConfigMismatchError(
            f"a dask worker runs rsastats {here[0]} with numpy {here[1]}, the client rsastats "
            f"{spec_versions[0]} with numpy {spec_versions[1]}: install the same versions everywhere "
            "(results would not be identical)")


def ranges(total: int, n_chunks: int, align: int = 1) -> list[tuple[int, int]]:
    """``total`` items cut into at most ``n_chunks`` contiguous ranges whose starts are multiples of
    ``align``."""
    blocks = -(-total // align)
    per = max(1, -(-blocks // max(1, n_chunks)))
    return [(b * align, min((b + per) * align, total)) for b in range(0, blocks, per)]


class LocalRunner:
    """Runs every task in this process (the default)."""

    parallelism = 1

    def map_ranges(self, fn: Callable[..., Any], n_items: int, shared: Any, *, align: int = 1,
                   progress: Callable[[int], None] | None = None) -> list:
        return [fn(shared, 0, n_items, progress)] if n_items > 0 else []

    def map(self, fn: Callable[..., Any], shared: Any, args_list: Sequence[tuple]) -> list:
        return [fn(shared, *args) for args in args_list]

    def each(self, fn: Callable[..., Any], tasks: Sequence[tuple], retries: int = 0,
             on_retry: Callable[[int], None] | None = None) -> Iterator[tuple[int, Any, BaseException | None]]:
        for i, args in enumerate(tasks):
            error: BaseException | None = None
            result = None
            for attempt in range(retries + 1):
                try:
                    result, error = fn(*args), None
                    break
                except InputError as exc:  # bad input fails the same way every time: no retry
                    error = exc
                    break
                except Exception as exc:
                    error = exc
                    if attempt < retries and on_retry is not None:
                        on_retry(i)
            yield i, result, error

    def broadcast(self, fn: Callable[..., Any], *args: Any) -> None:
        fn(*args)

    address = ""  # where tasks run: "" for this process


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


class DaskRunner:
    """Runs tasks on a connected ``distributed.Client``.

    ``chunk`` (items per task for :meth:`map_ranges`) and ``parallelism`` (the number of tasks a
    statistic that chooses its own cut aims for) default to about four tasks per worker thread; they
    never change a result.
    """

    def __init__(self, client: Any, *, chunk: int | None = None, parallelism: int | None = None):
        self.client = client
        self.chunk = chunk
        self._parallelism = parallelism

    @property
    def parallelism(self) -> int:
        if self._parallelism is not None:
            return max(1, int(self._parallelism))
        try:
            return max(1, int(sum(self.client.nthreads().values()))) * CHUNKS_PER_THREAD
        except Exception:  # a client that cannot say: assume one thread
            return CHUNKS_PER_THREAD

    @property
    def address(self) -> str:
        return str(self.client.scheduler.address)

    def _gather(self, futures: list, progress: Callable[[int], None] | None) -> list:
        """Results in submission order; ``progress(index)`` as each completes; the first failure
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

    def _scatter(self, shared: Any) -> Any:
        [future] = self.client.scatter([shared], broadcast=False, hash=False)
        return future

    def map_ranges(self, fn: Callable[..., Any], n_items: int, shared: Any, *, align: int = 1,
                   progress: Callable[[int], None] | None = None) -> list:
        if n_items <= 0:
            return []
        size = self.chunk or -(-n_items // self.parallelism)
        cuts = ranges(n_items, -(-n_items // max(1, size)), align)
        shared_future = self._scatter(shared)
        futures = [self.client.submit(fn, shared_future, a, b, None, pure=False) for a, b in cuts]
        done = None if progress is None else (lambda i: progress(cuts[i][1] - cuts[i][0]))
        return self._gather(futures, done)

    def map(self, fn: Callable[..., Any], shared: Any, args_list: Sequence[tuple]) -> list:
        shared_future = self._scatter(shared)
        return self._gather([self.client.submit(fn, shared_future, *args, pure=False) for args in args_list], None)

    def each(self, fn: Callable[..., Any], tasks: Sequence[tuple], retries: int = 0,
             on_retry: Callable[[int], None] | None = None) -> Iterator[tuple[int, Any, BaseException | None]]:
        """A task whose worker dies is rescheduled by the scheduler (up to its ``allowed-failures``);
        ``retries`` reruns a task that raised (the scheduler does it: ``on_retry`` is not called)."""
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

    def broadcast(self, fn: Callable[..., Any], *args: Any) -> None:
        with contextlib.suppress(Exception):
            self.client.run(fn, *args)


@contextlib.contextmanager
def runner_for(scheduler: Any) -> Iterator["LocalRunner | DaskRunner"]:
    """A runner for ``scheduler``: None (or an empty address) runs in process; an address or a
    ``distributed.Client`` runs on that cluster (a client opened here is closed on exit); a runner
    passes through."""
    if scheduler is None or (isinstance(scheduler, str) and not scheduler.strip()):
        yield LocalRunner()
        return
    if isinstance(scheduler, (LocalRunner, DaskRunner)):
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
