"""Moved to :mod:`rsastats.inference.engine`; kept while imports move."""

from .engine import *  # noqa: F401,F403
from .engine import DRAW_BLOCK, SCHEMES, ResamplingEngine, all_pairs  # noqa: F401
