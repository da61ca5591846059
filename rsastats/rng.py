"""Seeds in, reproducible child streams out.

Every random function of rsastats takes one ``seed`` argument (``None``, an int, a
``numpy.random.SeedSequence`` or a ``numpy.random.Generator``).  Work that is split
into chunks draws each chunk from its own child stream, made by
``SeedSequence.spawn`` from the chunk's index, so that results do not depend on the
chunk size, the batch size or the number of workers that run the chunks.
"""

from __future__ import annotations

from typing import Union

import numpy as np

from .exceptions import ValidationError

__all__ = ["SeedLike", "seed_sequence", "as_generator", "spawn_generators", "spawn_sequences", "seed_to_int"]

SeedLike = Union[None, int, np.integer, np.random.SeedSequence, np.random.Generator]


def seed_sequence(seed: SeedLike) -> np.random.SeedSequence:
    """Return the ``SeedSequence`` behind ``seed``.

    A ``Generator`` is not copied: a fresh ``SeedSequence`` is drawn from it, which
    advances the generator (as ``Generator.spawn`` does).
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63 - 1, size=4, dtype=np.int64).tolist())
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, (bool, np.bool_)):
        raise ValidationError(f"seed must be an integer, a SeedSequence or a Generator, not {seed!r}")
    if isinstance(seed, (int, np.integer)):
        if int(seed) < 0:
            raise ValidationError(f"seed must be a non-negative integer, got {int(seed)}")
        return np.random.SeedSequence(int(seed))
    raise ValidationError(f"seed must be an integer, a SeedSequence or a Generator, not {type(seed).__name__}")


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a ``Generator``; an existing one is passed through unchanged."""
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed_sequence(seed))


def spawn_sequences(seed: SeedLike, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child ``SeedSequence`` objects of ``seed``.

    Child ``i`` depends only on ``seed`` and ``i``; asking for more children later
    (``n`` larger) leaves the first ones unchanged.
    """
    if int(n) < 0:
        raise ValidationError(f"number of child streams must be >= 0, got {n}")
    root = seed_sequence(seed)
    # Children are derived from the root's entropy and the child index directly, not by
    # calling root.spawn (which is stateful), so repeated calls give the same children.
    return [
        np.random.SeedSequence(root.entropy, spawn_key=tuple(root.spawn_key) + (i,), pool_size=root.pool_size)
        for i in range(int(n))
    ]


def spawn_generators(seed: SeedLike, n: int) -> list[np.random.Generator]:
    """``n`` independent child generators; see :func:`spawn_sequences`."""
    return [np.random.default_rng(s) for s in spawn_sequences(seed, n)]


def seed_to_int(seed: SeedLike) -> int | None:
    """A JSON-friendly record of the seed: the int when one was given, else ``None``."""
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        return int(seed)
    return None
