"""Extract every file the analyses need for a model set, once (``python -m analyses.extract``).

The cache is shared: each analysis also extracts what it needs on its own, so this step is only a
way to do all the slow work first (and to see how long it takes).  Interrupted runs resume.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from typing import Sequence

from ._cache import ExtractionCache
from ._common import ANALYSES, DEFAULT_CONFIG
from ._config import ModelSet, load_model_set

__all__ = ["needed_files", "main"]


def needed_files(ms: ModelSet, analyses: Sequence[str] = ANALYSES) -> list[tuple[str, str]]:
    """Every ``(model, recipe)`` the analyses read, each once, cheap recipes first."""
    seen: dict[tuple[str, str], None] = {}
    for name in analyses:
        for item in importlib.import_module(f"analyses.{name}").needs(ms):
            seen.setdefault(tuple(item), None)
    slow = ("study", "fp16", "bf16", "int8-token")
    return sorted(seen, key=lambda mr: (mr[1] in slow, ms.names.index(mr[0])))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analyses.extract", description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=str(DEFAULT_CONFIG))
    parser.add_argument("--cache", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="comma-separated analyses (default: all)")
    args = parser.parse_args(argv)
    ms = load_model_set(args.models)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    cache = ExtractionCache(ms, args.cache, seed=args.seed, log=log)
    names = tuple(args.only.split(",")) if args.only else ANALYSES
    todo = needed_files(ms, names)
    started = time.perf_counter()
    for i, (model, recipe) in enumerate(todo, 1):
        log(f"[{i}/{len(todo)}] {model} / {recipe}")
        cache.get(model, recipe)
    log(f"done: {len(todo)} files in {time.perf_counter() - started:.0f} s ({cache.folder})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
