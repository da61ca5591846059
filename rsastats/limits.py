"""Resource limits: how much memory one reading or one resampling may ask for, checked before the
memory is taken, so that a hostile or mistaken input gets a one-line error instead of exhausting
the machine.

The limit is half of the memory available when the check runs, or ``RSASTATS_MAX_MEMORY`` when set
(bytes, or a number with a K/M/G/T suffix in powers of 1024, e.g. ``64G``).  Setting it also turns
off the check of compression ratios (a file that declares far more data than its size).
"""

from __future__ import annotations

import os
import re
from typing import Any

from .exceptions import ValidationError

__all__ = ["MEMORY_ENV", "memory_limit", "format_bytes", "check_declared_size", "check_count_fits"]

MEMORY_ENV = "RSASTATS_MAX_MEMORY"
# A file (or archive member) that declares more than this many bytes and more than this many times
# its stored size is refused unless RSASTATS_MAX_MEMORY is set: real activations compress about 1.1x.
_RATIO_FLOOR = 256 << 20
_MAX_RATIO = 100
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 << 30  # no way to ask: assume a small machine


def memory_limit() -> tuple[int, bool]:
    """``(bytes, explicit)``: the limit, and whether it came from ``RSASTATS_MAX_MEMORY``."""
    raw = os.environ.get(MEMORY_ENV, "").strip()
    if raw:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", raw, flags=re.IGNORECASE)
        if not match:
            raise ValidationError(f"{MEMORY_ENV}={raw!r} is not a size; give bytes or a number with K, M, G or T "
                                  "(e.g. 64G)")
        return int(float(match.group(1)) * _UNITS[match.group(2).upper()]), True
    return _available_bytes() // 2, False


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def _limit_text(limit: int, explicit: bool) -> str:
    origin = f"set by {MEMORY_ENV}" if explicit else f"half the available memory; set {MEMORY_ENV} (e.g. 64G) to change it"
    return f"the limit is {format_bytes(limit)}: {origin}"


def check_declared_size(what: str, declared: int, stored: int | None, path: Any) -> None:
    """Refuse to read ``declared`` bytes (``what``: e.g. "its arrays") before reading them: more than
    the memory limit, or (limit not set explicitly) a decompression bomb of ``stored`` bytes."""
    limit, explicit = memory_limit()
    if declared > limit:
        raise ValidationError(f"{what}: {format_bytes(declared)} declared, more than can be read into memory "
                              f"({_limit_text(limit, explicit)}); not read", path=path)
    if not explicit and stored is not None and declared > _RATIO_FLOOR and declared > _MAX_RATIO * max(stored, 1):
        raise ValidationError(f"{what}: {format_bytes(declared)} declared in {format_bytes(stored)} on disk (more "
                              f"than {_MAX_RATIO}x: corrupt, or a decompression bomb); not read. If the file is "
                              f"genuine, set {MEMORY_ENV} (e.g. 64G) to read it", path=path)


def check_count_fits(option: str, count: int, bytes_each: int) -> int:
    """``count`` if ``count * bytes_each`` fits the memory limit, else a one-line error naming
    ``option`` (e.g. ``"--n-boot"``) and the largest count that fits."""
    limit, explicit = memory_limit()
    if count * bytes_each > limit:
        most = max(limit // max(bytes_each, 1), 0)
        raise ValidationError(f"{option} {count} needs about {format_bytes(count * bytes_each)} of memory "
                              f"({_limit_text(limit, explicit)}); use at most {option} {most}")
    return count
