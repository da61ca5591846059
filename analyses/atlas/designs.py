"""The designs of the atlas (and of the pilot).

Noise-free rho levels come from the read-out distortion ``tau`` and the one-model emotion part
``specific``; measured over the atlas (hidden size 32): ``near1`` 0.98-0.99, ``high`` 0.88-0.98,
``mid`` 0.77-0.88, ``low`` 0.40-0.52 (they also depend on structure and anisotropy); ``weak`` and ``faint``
(the :data:`WEAK` designs) give rho as measured of about 0.13-0.18 and 0.04-0.07, ``unrelated`` designs 0."""

from __future__ import annotations

import zlib

from .model import Design

__all__ = ["LEVELS", "design", "PILOT", "ATLAS", "WEAK"]

LEVELS = {"near1": (0.15, 0.2), "high": (0.5, 0.6), "mid": (1.0, 1.5), "low": (2.0, 3.0), "weak": (3.5, 6.0),
          "faint": (6.0, 10.0)}


def design(n: int, p: int, rel: float, level: str = "high", structure: str = "lowrank", anisotropy: str = "none",
           shared: float = 0.0, templates: float = 0.0, vectors: bool = False, unrelated: bool = False,
           seed: int | None = None) -> Design:
    tau, spec = LEVELS[level]
    tags = [f"n{n}", f"P{p}", f"r{rel:g}", level, structure]
    if anisotropy != "none":
        tags.append("aniso")
    if shared:
        tags.append(f"shared{shared:g}")
    if templates:
        tags.append(f"templ{templates:g}")
    if vectors:
        tags.append("vectors")
    if unrelated:
        tags[3] = "unrelated"
    name = "-".join(tags)
    return Design(name, n, p, rel, structure=structure, anisotropy=anisotropy, tau=tau, specific=spec,
                  shared_prompts=shared, templates=templates, vectors_only=vectors, unrelated=unrelated, hidden=32,
                  seed=seed if seed is not None else zlib.crc32(name.encode()))


PILOT = [
    design(8, 8, 0.8, "high"),
    design(21, 8, 0.5, "low"),
    design(21, 20, 0.9, "high", "hub", "strong"),
    design(21, 4, 0.8, "near1"),
    design(21, 3, 0.95, "near1"),
    design(40, 8, 0.5, "high", "clustered", "strong"),
    design(21, 8, 0.8, "mid", shared=0.5),
    design(21, 20, 0.8, "high", templates=1.0),
    design(21, 20, 0.8, "mid", vectors=True),
    design(8, 20, 0.95, "near1"),
]
ATLAS = [
    # prompts per emotion at 21 emotions (the study's size), noise-free rho near 1
    design(21, 3, 0.8, "near1"),
    design(21, 4, 0.8, "near1"),
    design(21, 8, 0.8, "near1"),
    design(21, 20, 0.8, "near1"),
    design(21, 50, 0.8, "near1"),
    design(21, 20, 0.99, "near1", anisotropy="strong"),
    # reliability x structure x anisotropy at 21 emotions
    design(21, 3, 0.5, "mid"),
    design(21, 4, 0.5, "high"),
    design(21, 8, 0.5, "high", "hub"),
    design(21, 20, 0.5, "mid", "clustered"),
    design(21, 50, 0.95, "high", "hub", "strong"),
    design(21, 8, 0.95, "low"),
    design(21, 20, 0.8, "mid", "hub", "strong"),
    design(21, 8, 0.8, "high", "clustered", "strong"),
    # 8 emotions
    design(8, 8, 0.8, "high"),
    design(8, 20, 0.95, "near1", "hub"),
    design(8, 4, 0.5, "mid", anisotropy="strong"),
    design(8, 50, 0.99, "high", "clustered"),
    # 40 emotions
    design(40, 8, 0.5, "high", "clustered", "strong"),
    design(40, 20, 0.8, "low", "hub"),
    design(40, 4, 0.95, "near1"),
    design(40, 50, 0.8, "mid", anisotropy="strong"),
    # shared prompt effects (paired texts read the same way by both models), crossed templates
    design(21, 8, 0.8, "mid", shared=0.5),
    design(21, 20, 0.5, "high", "hub", shared=0.5),
    design(21, 4, 0.95, "near1", anisotropy="strong", shared=0.5),
    design(21, 20, 0.8, "high", templates=1.0),
    # vector files (prompt means only): rho as measured, emotion resampling only
    design(21, 20, 0.8, "mid", vectors=True),
    design(8, 20, 0.95, "high", "hub", vectors=True),
    design(40, 8, 0.5, "low", "clustered", "strong", vectors=True),
]

# Weak and absent shared geometry (rho as measured from 0 to about 0.2): where the RDM correlation is close
# to a degenerate U-statistic and the plain jackknife's variance is about twice the true one.
WEAK = [
    design(8, 8, 0.8, "weak"),
    design(8, 8, 0.8, "faint"),
    design(8, 8, 0.8, "high", unrelated=True),
    design(21, 8, 0.8, "weak"),
    design(21, 8, 0.8, "faint"),
    design(21, 8, 0.8, "high", unrelated=True),
    design(21, 20, 0.5, "high", "hub", unrelated=True),
    design(21, 4, 0.8, "high", "clustered", "strong", unrelated=True),
    design(21, 20, 0.8, "high", vectors=True, unrelated=True),
    design(40, 8, 0.8, "weak"),
    design(40, 8, 0.8, "faint"),
    design(40, 20, 0.8, "high", "hub", unrelated=True),
]
