"""Emotion labels: the one message for two inputs whose emotion sets differ.

Every command that puts two or more inputs side by side (compare, matrix, geometry, decompose,
audit, report) reports differing emotion sets with :func:`emotion_difference`, so the message reads
the same everywhere: ``emotion sets differ (only in A: x, y; only in B: z)``.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["emotion_difference"]

_SHOWN = 6


def _listed(labels: Sequence[str]) -> str:
    return f"{', '.join(labels[:_SHOWN])}{' ...' if len(labels) > _SHOWN else ''}"


def emotion_difference(a: Sequence[str], b: Sequence[str], name_a: str, name_b: str) -> str:
    """One line naming the emotions only one of two inputs holds (or, for equal sets of different
    sizes, the sizes)."""
    set_a, set_b = set(a), set(b)
    only_a = [x for x in a if x not in set_b]
    only_b = [x for x in b if x not in set_a]
    parts = []
    if only_a:
        parts.append(f"only in {name_a}: {_listed(only_a)}")
    if only_b:
        parts.append(f"only in {name_b}: {_listed(only_b)}")
    if not parts:
        parts.append(f"{name_a} has {len(a)} labels, {name_b} has {len(b)}")
    return "emotion sets differ (" + "; ".join(parts) + ")"
