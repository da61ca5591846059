"""rho_corrected's interval widened toward two estimates of the ratio's bias (docs/statistics.md).

The cross-half ratio (:mod:`rsastats.inference.corrected`) is biased where its attenuation model does not hold.
Two measurements of the data say which way and by about how much:

``shift``  the move of the ratio when each emotion's squared norm in the half RDMs is corrected for its own prompt
           noise instead of equalized (:func:`~rsastats.inference.corrected.norm_shift`; emotion vectors of very
           different lengths), with its jackknife standard error;
``world``  the ratio's bias in sign-flip worlds built from the data's own prompt residuals
           (:func:`~rsastats.inference.worlds.world_bias`; structured prompt noise that both models share), with
           its Monte Carlo standard error; the ratio less the bias is where the truth lies, so the move is
           ``-bias``.

Each move counts by its part beyond a multiple of its standard error (:data:`WIDEN_BEYOND_SE`,
:data:`WORLD_BEYOND_SE`), and the interval grows on each side by the larger of the moves toward that side, kept in
[-1, 1].  The point estimate does not change, so it stays inside its interval.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WIDEN_BEYOND_SE", "WORLD_BEYOND_SE", "WIDEN_NOTE", "widened", "widen_toward_shift"]

# The move of the check of uneven shrinkage counts beyond this many of its jackknife standard errors
# (docs/calibration.md, 'Widening toward the check's move').
WIDEN_BEYOND_SE = 0.5
# The worlds' bias counts beyond this many of its Monte Carlo standard errors (docs/calibration.md, 'Sign-flip
# worlds').
WORLD_BEYOND_SE = 1.5
WIDEN_NOTE = "widened by"  # the start of the note of a widened interval


def _fmt(x: float) -> str:
    return f"{x:+.3f}" if abs(x) >= 5e-4 else f"{x:+.1e}"  # a tiny move is not shown as 0


def _size(move: float, se: float) -> str:
    return f"{abs(move) / se:.1f} standard errors" if se > 0 else "its standard error is 0"


def _step(move: float, se: float, beyond: float) -> float:
    if not (np.isfinite(move) and np.isfinite(se)) or beyond == np.inf:
        return 0.0
    return float(np.sign(move)) * max(0.0, abs(move) - beyond * se)


def widened(low: float, high: float, shift: tuple[float, float] = (np.nan, np.nan),
            world: tuple[float, float] = (np.nan, np.nan), *, beyond: float | None = None,
            world_beyond: float | None = None) -> tuple[float, float, str]:
    """``(low, high)`` widened toward the check's move ``shift = (move, se)`` and the worlds' ``world = (bias,
    se)`` (module docstring; NaN: not measured), and the note that says so ("" where nothing moved)."""
    beyond = WIDEN_BEYOND_SE if beyond is None else beyond
    world_beyond = WORLD_BEYOND_SE if world_beyond is None else world_beyond
    steps = {"shift": _step(shift[0], shift[1], beyond), "world": _step(-world[0], world[1], world_beyond)}
    down, up = min(0.0, *steps.values()), max(0.0, *steps.values())
    new_low, new_high = max(-1.0, low + down), min(1.0, high + up)
    ends = []
    for moved, end, bound in ((new_low - low, "lower end", new_low == -1.0), (new_high - high, "upper end",
                                                                               new_high == 1.0)):
        if moved != 0.0:
            ends.append(f"{_fmt(moved)} ({end}{', clipped at the bound' if bound else ''})")
    if not ends:
        return low, high, ""
    used = [k for k, s in steps.items() if s != 0.0 and ((s < 0 and new_low < low) or (s > 0 and new_high > high))]
    toward = {"shift": (f"the ratio with noise-corrected norms, which moves it by {_fmt(shift[0])} "
                        f"({_size(shift[0], shift[1])}) (docs/statistics.md, 'Emotion vectors of different lengths')"),
              "world": (f"the ratio less its bias in sign-flip worlds of these prompts, which put the bias at "
                        f"{_fmt(world[0])} ({_size(world[0], world[1])}) (docs/statistics.md, 'Structured prompt "
                        "noise')")}
    return new_low, new_high, f"{WIDEN_NOTE} {' and '.join(ends)} toward {' and '.join(toward[k] for k in used)}"


def widen_toward_shift(low: float, high: float, shift: float, se: float, *,
                       beyond: float | None = None) -> tuple[float, float, str]:
    """:func:`widened` toward the check's move alone (``beyond`` standard errors; default
    :data:`WIDEN_BEYOND_SE`)."""
    return widened(low, high, (shift, se), beyond=beyond)
