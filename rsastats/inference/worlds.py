"""Sign-flip worlds: the bias of the cross-half ratio (``rho_corrected``) for data built like the data at hand.

The ratio ``ab / sqrt(aa bb)`` (:mod:`rsastats.inference.corrected`) is unbiased when each half RDM is the
noise-free RDM plus noise that the other half does not share.  Prompt noise that is large, structured and read
the same way by both models -- a common direction that dominates every vector, emotions whose texts are noisier
in both models, templates -- distorts the half RDMs of both models alike, and the ratio counts the distortion as
shared geometry (docs/statistics.md, 'Structured prompt noise').  How much it does depends on the noise itself,
so it is measured on the data: in a *world*, emotion ``e``'s noise-free vector is its observed prompt mean
``m_e`` and its prompts are

    x*_ep = m_e + s_p sqrt(k_e / (k_e - 1)) (x_ep - m_e),        s_p = +1 or -1 at random,

one sign per prompt label, shared by every emotion and every model (a wild bootstrap with Rademacher weights).
A world keeps, label by label, everything the residuals have: their sizes per emotion, what emotions share at a
label (templates), what the two models share (the same texts), heavy tails; it has no duplicated prompts, so its
half splits are as disjoint as the data's.  Its noise-free rho is the observed rho; the ratio computed in the world
with the data's own half splits, minus that rho, is one draw of the ratio's error.

A world's signal is the observed means, which carry noise the truth does not have, so the worlds see less of the
bias than there is where the bias depends on how noisy the signal is (a common offset with noise both models share:
+0.140 against a true +0.185 in the fourth generative model's design D4).  So the estimate is iterated (Hall 1992,
sec. 1.4; Efron and Tibshirani 1993, ch. 10): inside each of the :data:`N_WORLDS` worlds, :data:`N_INNER` worlds are
built the same way from the world's own prompts, whose truth is the world's observed rho.  With ``b1`` the median
error of the worlds and ``b2`` that of the worlds within them, ``b1 - b2`` estimates how much ``b1`` itself misses,
and the bias is ``2 b1 - b2``; its standard error is its spread over resamples of the worlds.  One world inside each
of 80 costs what three inside each of 40 do, and the estimate's Monte Carlo SD was 0.025 against 0.035 (one D4 data
set, 16 seeds; 0.022 against 0.025 in an atlas design), since ``2 b1`` carries most of it.  Over 30 fresh data sets
per design (reports/calibration/world_check.csv) the iterated estimate moved D4 from +0.141 to +0.183 against a true
+0.185 and kept the designs without such noise about where they were.
rho_corrected's interval is widened toward the ratio less this bias
(:func:`rsastats.inference.widening.widened`); the point estimate is not changed.

The world's prompt rows are a linear map of the data's, ``x*_e = T_e x_e`` per emotion with ``T_e`` a diagonal plus
a rank-one matrix, so its Gram matrices follow from the engine's at the cost of reading them
(:func:`mapped_engine`): no activation is read twice and no matrix product is formed.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from ..rng import SeedLike, spawn_sequences
from .engine import ResamplingEngine

__all__ = ["N_WORLDS", "N_INNER", "world_maps", "mapped_engine", "world_errors", "world_bias", "summarized"]

N_WORLDS = 80
N_INNER = 1  # worlds within each world, for the iterated estimate of the bias
_SE_RESAMPLES = 200


def world_maps(engine: ResamplingEngine, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """One world's prompt maps per paired group of ``engine``, ``(d, b, w)`` each (E, P): one random sign ``s_p`` per
    prompt label (shared by every group); prompt ``p`` of emotion ``e`` becomes ``d_ep x_ep + b_ep m_e`` with
    ``m_e = sum_q w_eq x_eq`` its valid prompts' mean -- ``d = s c_e``, ``b = 1 - s c_e`` for a valid prompt, and
    ``d = 1``, ``b = 0`` for an invalid one (it carries no weight) -- i.e. ``T_e = diag(d_e) + b_e w_e^T``."""
    labels = sorted({p for g in engine.groups for p in engine.models[g.members[0]].rows.prompts})
    sign = dict(zip(labels, rng.integers(0, 2, len(labels)) * 2.0 - 1.0))
    out = []
    for group in engine.groups:
        signs = np.array([sign[p] for p in engine.models[group.members[0]].rows.prompts])
        k = group.valid.sum(axis=1, keepdims=True).astype(np.float64)
        scaled = np.sqrt(k / (k - 1.0)) * signs[None, :]
        d = np.where(group.valid, scaled, 1.0)
        b = np.where(group.valid, 1.0 - scaled, 0.0)
        out.append((d, b, group.valid / k))
    return out


def _mapped_block(block: np.ndarray, f: int, d: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Gram block (P, (f+1) P) of emotion ``f``'s rows against emotions ``<= f``, of the mapped rows:
    ``(d_f x_f + b_f m_f) . (d_e x_e + b_e m_e)`` from the rows' own products (O(block), no matrix product)."""
    n_p = block.shape[0]
    k = block.reshape(n_p, f + 1, n_p)  # [p, e, q] = x_fp . x_eq
    xm = np.einsum("peq,eq->pe", k, w[: f + 1])  # x_fp . m_e
    mx = np.einsum("p,peq->eq", w[f], k)  # m_f . x_eq
    mm = w[f] @ xm  # m_f . m_e
    de, be = d[: f + 1], b[: f + 1]
    out = k * de[None]
    out += xm[:, :, None] * be[None]
    out *= d[f][:, None, None]
    out += b[f][:, None, None] * (mx * de + mm[:, None] * be)[None]
    return out.reshape(n_p, (f + 1) * n_p)


def _mapped_rows(values: np.ndarray, d: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The mapped prompt rows (E, P, H) themselves (the engine's direct route)."""
    means = np.einsum("eq,eqh->eh", w, values)
    out = values * d[..., None]
    for e in range(out.shape[0]):  # one emotion at a time: no (E, P, H) temporary
        out[e] += b[e][:, None] * means[e][None, :]
    return out


def mapped_engine(engine: ResamplingEngine, maps: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> ResamplingEngine:
    """A copy of the prompt engine whose prompt rows are mapped by :func:`world_maps`' ``maps``: its Gram blocks
    computed from the engine's (or its rows, on the direct route); the noise estimates are recomputed when asked
    for."""
    out = copy.copy(engine)
    out.groups = []
    for group, (d, b, w) in zip(engine.groups, maps):
        new = copy.copy(group)
        new.noise, new.shared = None, None
        if group.gram_blocks is not None:
            new.gram_blocks = [[_mapped_block(block, f, d, b, w) for block in blocks]
                               for f, blocks in enumerate(group.gram_blocks)]
        else:
            new.rows = [_mapped_rows(values, d, b, w) for values in group.rows]
        out.groups.append(new)
    return out


def _observed(engine: ResamplingEngine) -> ResamplingEngine:
    """``engine`` whose fixed RDMs are those of its own prompt means (a world's observed RDMs; the data's engine keeps
    the RDMs of the files)."""
    out = copy.copy(engine)
    out.fixed = engine.rdm_uppers(engine.full_prompt_counts())[:, 0, :]
    out.fixed_order = out.order_of(out.fixed)
    return out


def _median(errors: np.ndarray, axis: int = 0) -> np.ndarray:
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pair without finite worlds: NaN
        return np.nanmedian(errors, axis=axis)


def world_errors(halves, pairs: np.ndarray, seed: SeedLike, n_worlds: int = N_WORLDS,
                 n_inner: int = N_INNER) -> tuple[np.ndarray, np.ndarray]:
    """The ratio's errors in ``n_worlds`` sign-flip worlds of ``halves`` (a
    :class:`~rsastats.inference.corrected.CrossHalf`) with the data's half splits, ``ratio - rho`` (n_worlds,
    n_pairs), and in ``n_inner`` worlds built the same way inside each world from the world's own prompts, the inner
    ratio less the world's observed rho (n_worlds, n_inner, n_pairs).  World ``w`` and its inner worlds draw their
    signs from child ``w`` of ``seed``, so the first worlds do not change when more are asked for."""
    rho = halves.components(None, pairs)[0][0]
    outer = np.full((n_worlds, len(pairs)), np.nan)
    inner = np.full((n_worlds, n_inner, len(pairs)), np.nan)
    for w, seq in enumerate(spawn_sequences(seed, n_worlds)):
        rng = np.random.default_rng(seq)
        engine = mapped_engine(halves.engine, world_maps(halves.engine, rng))
        if n_inner:
            engine = _observed(engine)
        world = halves.renormed(True, engine)
        outer[w] = world.corrected(None, pairs)[0][0] - rho
        if n_inner:
            world_rho = world.components(None, pairs)[0][0]
            for i in range(n_inner):
                within = mapped_engine(engine, world_maps(engine, rng))
                inner[w, i] = halves.renormed(True, within).corrected(None, pairs)[0][0] - world_rho
    return outer, inner


def world_bias(halves, pairs: np.ndarray, seed: SeedLike, n_worlds: int = N_WORLDS,
               n_inner: int = N_INNER) -> tuple[np.ndarray, np.ndarray]:
    """The cross-half ratio's bias for every pair of ``halves`` (a :class:`~rsastats.inference.corrected.CrossHalf`,
    not imported here: that module imports this one) in sign-flip worlds (module docstring; :func:`world_errors`):
    ``(bias, se)`` (n_pairs,).

    With ``n_inner = 0`` the bias is the median of the worlds' errors and ``se`` its Monte Carlo standard error
    (``1.2533 sd / sqrt(n)``).  Otherwise it is the iterated estimate ``2 b1 - b2``, ``b1`` the median error of the
    worlds and ``b2`` that of the worlds within them, and ``se`` its standard deviation over 200 resamples of the
    worlds (each with its inner worlds; child ``n_worlds`` of ``seed``).  NaN for a pair where fewer than half the
    worlds, or of the inner worlds, give a ratio."""
    return summarized(*world_errors(halves, pairs, seed, n_worlds, n_inner), seed)


def summarized(outer: np.ndarray, inner: np.ndarray, seed: SeedLike) -> tuple[np.ndarray, np.ndarray]:
    """``(bias, se)`` of :func:`world_bias` from the errors :func:`world_errors` returns (``inner`` with no columns:
    the plain median)."""
    n_worlds, n_inner, n_pairs = inner.shape
    finite = np.isfinite(outer).sum(axis=0)
    short = finite < max(2, n_worlds / 2)
    first = _median(outer)
    if n_inner:
        flat = inner.reshape(n_worlds * n_inner, n_pairs)
        short |= np.isfinite(flat).sum(axis=0) < max(2, flat.shape[0] / 2)
        bias = 2.0 * first - _median(flat)
        picks = np.random.default_rng(spawn_sequences(seed, n_worlds + 1)[n_worlds]).integers(
            0, n_worlds, (_SE_RESAMPLES, n_worlds))
        again = 2.0 * _median(outer[picks], axis=1) - _median(inner[picks].reshape(_SE_RESAMPLES, -1, n_pairs), axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            se = np.nanstd(again, axis=0, ddof=1)
    else:
        bias = first
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            se = 1.2533 * np.nanstd(outer, axis=0, ddof=1) / np.sqrt(np.maximum(finite, 1))
    return np.where(short, np.nan, bias), np.where(short, np.nan, se)
