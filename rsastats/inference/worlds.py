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

What signal a world carries (``signal``, :func:`world_errors`).  Where emotions differ in noise level the same way in
both models, the observed means (``"observed"``) carry that difference as row effects (a noisier emotion's cosines
shrunk more) that the truth does not have, and worlds with that signal misjudge the bias (-0.20 against a true +0.07
in the second model's common3 design).  With ``"equalized"`` (the default) each squared norm of the signal is moved by
its emotion's noise inflation less the mean over emotions -- the half RDMs' own treatment
(:func:`rsastats.inference.equalize.equalized`) -- shrunk toward 0 by the share of that spread over emotions which the
noise estimates' own sampling variance explains (a jackknife over each emotion's prompts; :func:`equalizing_moves`):
the world's truth is then the rho of those moved Gram matrices.  At 4 or 8 prompts of real activations the share is 0
and the world the observed one.  ``zscore`` rows, whose half RDMs are not equalized, keep the observed signal.

Worlds within worlds (``n_inner``, Hall 1992, sec. 1.4; Efron and Tibshirani 1993, ch. 10): inside each world,
``n_inner`` worlds are built the same way from the world's own prompts, whose truth is the world's own signal; with
``b1`` the median error of the worlds and ``b2`` that of the worlds within them, the bias is ``2 b1 - b2``.  With the
observed signal this corrected most of what the worlds missed of a common offset with noise both models share (the
fourth generative model's design D4: +0.140 plain, +0.183 iterated, against a true +0.185).  With the equalized signal
the plain median already follows it (+0.168 against a data-set mean error of +0.176) and iterating overshoots (+0.207;
+0.156 against +0.075 in an 8-prompt hub design), so :data:`N_INNER` is 0: the bias is the median error of
:data:`N_WORLDS` worlds.  Over 14 simulated designs and 8 conditions on real activations, 60 data sets each
(``analyses.calibration.world_signals``), its root mean square error against each data set's own error of the ratio
was 0.092 and 0.060, against 0.108 and 0.065 for the observed signal iterated.
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

from ..rdm import rdm_from_gram
from ..rng import SeedLike, spawn_sequences
from .engine import ResamplingEngine
from .equalize import gram_post, prompt_noise

__all__ = ["N_WORLDS", "N_INNER", "SIGNALS", "world_maps", "mapped_engine", "equalizing_moves", "signal_rho",
           "world_errors", "world_bias", "summarized"]

N_WORLDS = 80
N_INNER = 0  # worlds within each world (the iterated estimate of the bias; none by default: module docstring)
_SE_RESAMPLES = 200
SIGNALS = ("observed", "equalized")
# A move takes at most this share of an emotion's squared mean norm (a squared norm stays > 0).
_MOVE_CAP = 0.9


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


def _blocks(engine: ResamplingEngine, group) -> list:
    """The group's Gram blocks ``[emotion f][member]: (P, (f+1) P)``, computed from its rows on the direct route."""
    return group.gram_blocks if group.gram_blocks is not None else engine._gram_blocks(group.rows)


def mapped_engine(engine: ResamplingEngine, maps: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                  moves: list[np.ndarray] | None = None) -> ResamplingEngine:
    """A copy of the prompt engine whose prompt rows are mapped by :func:`world_maps`' ``maps``: its Gram blocks
    computed from the engine's (or its rows, on the direct route); the noise estimates are recomputed when asked
    for.  ``moves`` (per group, (members, E); :func:`equalizing_moves`): the signal's squared norms moved by them, in
    the Gram blocks (every product of two valid prompts of emotion ``f`` less ``moves[f]``), on either route."""
    out = copy.copy(engine)
    out.groups = []
    for g, (group, (d, b, w)) in enumerate(zip(engine.groups, maps)):
        new = copy.copy(group)
        new.noise, new.shared = None, None
        if group.gram_blocks is not None or moves is not None:
            new.gram_blocks = [[_mapped_block(block, f, d, b, w) for block in blocks]
                               for f, blocks in enumerate(_blocks(engine, group))]
            new.rows = None
        else:
            new.rows = [_mapped_rows(values, d, b, w) for values in group.rows]
        if moves is not None:
            n_p = group.valid.shape[1]
            for f, blocks in enumerate(new.gram_blocks):
                v = group.valid[f].astype(np.float64)
                for k, block in enumerate(blocks):
                    block[:, f * n_p:] -= np.outer(v, v) * moves[g][k, f]
        out.groups.append(new)
    return out


def _with_blocks(engine: ResamplingEngine) -> ResamplingEngine:
    """``engine`` with the Gram blocks of every group (computed from the rows on the direct route)."""
    out = copy.copy(engine)
    out.groups = []
    for group in engine.groups:
        new = copy.copy(group)
        new.gram_blocks, new.rows = _blocks(engine, group), None
        out.groups.append(new)
    return out


def _mean_grams(engine: ResamplingEngine, group) -> np.ndarray:
    """Gram matrices of the group's prompt means, (members, E, E)."""
    w = group.valid / group.valid.sum(axis=1, keepdims=True)
    n_e, n_p = w.shape
    out = np.empty((len(group.members), n_e, n_e))
    for f, blocks in enumerate(_blocks(engine, group)):
        for k, block in enumerate(blocks):
            row = np.einsum("eq,eq->e", (w[f] @ block).reshape(f + 1, n_p), w[: f + 1])  # m_f . m_e, e <= f
            out[k, f, : f + 1] = row
            out[k, : f + 1, f] = row
    return out


def _jackknife_variance(block: np.ndarray) -> float:
    """The jackknife variance, over the prompts, of the noise in one emotion's mean's squared norm (``v / k``, ``v``
    the trace of its prompts' sample covariance) from the Gram matrix (k, k) of its valid prompts; NaN below 3."""
    k = block.shape[0]
    if k < 3:
        return np.nan

    def trace(sub: np.ndarray) -> float:  # the trace of the prompts' sample covariance
        n = sub.shape[0]
        return (np.trace(sub) - sub.sum() / n) / (n - 1)

    keep = ~np.eye(k, dtype=bool)
    loo = np.array([trace(block[np.ix_(keep[p], keep[p])]) for p in range(k)]) / k
    return (k - 1.0) / k * float(((loo - loo.mean()) ** 2).sum())


def equalizing_moves(engine: ResamplingEngine) -> list[np.ndarray]:
    """Per paired group of ``engine``, (members, E): each emotion's noise in its mean's squared norm (the engine's own
    estimate, :func:`rsastats.inference.equalize.prompt_noise`, over its number of prompts) less the mean over
    emotions, times ``max(0, 1 - mean jackknife variance / spread)`` (the spread: the moves' mean square), i.e.
    shrunk toward equal noise by the share of the spread the estimates' sampling variance explains (0 where no emotion
    has 3 valid prompts); capped at :data:`_MOVE_CAP` of the squared mean norm; an emotion with one prompt is not
    moved.  ValueError for ``zscore`` rows."""
    out = []
    for group in engine.groups:
        if group.post == "zscore":  # not a function of the Gram matrix: no norm to move
            raise ValueError("the equalized world signal needs a normalization that is a function of the Gram matrix "
                             "(not zscore)")
        blocks, n_p = _blocks(engine, group), group.valid.shape[1]
        counts = group.valid.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            noise = prompt_noise(group.valid, blocks, None, engine.rdm_method) / counts  # (members, E)
        moves = np.zeros((len(group.members), len(group.valid)))
        for k in range(len(group.members)):
            own = [blocks[f][k][:, f * n_p:][np.ix_(slots, slots)] for f, slots in enumerate(group.slots)]
            var = np.array([_jackknife_variance(b) for b in own])
            norms = np.array([b.sum() / max(len(b), 1) ** 2 for b in own])  # |m_f|^2
            est = noise[k]
            move = np.nan_to_num(est - np.nanmean(est)) if np.isfinite(est).any() else np.zeros_like(est)
            spread = float((move ** 2).mean())
            share = max(0.0, 1.0 - float(np.nanmean(var)) / spread) if spread > 0 and np.isfinite(var).any() else 0.0
            moves[k] = np.minimum(share * move, _MOVE_CAP * norms)
        out.append(moves)
    return out


def signal_rho(engine: ResamplingEngine, moves: list[np.ndarray], pairs: np.ndarray) -> np.ndarray:
    """The rank correlation of every pair (n_pairs,) between the RDMs of the prompt means' Gram matrices with each
    squared norm less its move (a world's noise-free RDMs; the normalization's mean step after, as for the half
    RDMs)."""
    uppers = np.empty((engine.n_models, 1, engine.fixed.shape[1]))
    for group, move in zip(engine.groups, moves):
        gram = _mean_grams(engine, group)
        idx = np.arange(gram.shape[-1])
        gram[:, idx, idx] -= move
        gram = gram_post(gram, group.post, engine.rdm_method)
        uppers[group.members, 0] = rdm_from_gram(gram, engine.rdm_method)[:, engine.iu, engine.ju]
    return engine._correlate(uppers, None, pairs, None)[0]


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
                 n_inner: int = N_INNER, signal: str = "equalized") -> tuple[np.ndarray, np.ndarray]:
    """The ratio's errors in ``n_worlds`` sign-flip worlds of ``halves`` (a
    :class:`~rsastats.inference.corrected.CrossHalf`) with the data's half splits, ``ratio - rho`` (n_worlds,
    n_pairs), and in ``n_inner`` worlds built the same way inside each world from the world's own prompts, the inner
    ratio less the world's observed rho (n_worlds, n_inner, n_pairs).  World ``w`` and its inner worlds draw their
    signs from child ``w`` of ``seed``, so the first worlds do not change when more are asked for.  ``signal``
    (module docstring): ``"equalized"`` moves each world's signal by :func:`equalizing_moves` of the data (an inner
    world's by those of its world), and a world's truth is :func:`signal_rho`; for ``zscore`` rows, whose half RDMs
    are not equalized, it is the observed signal."""
    if signal not in SIGNALS:
        raise ValueError(f"signal must be one of {', '.join(SIGNALS)}, not {signal!r}")
    base = halves.engine
    if signal == "observed" or any(group.post == "zscore" for group in base.groups):
        moves, rho = None, halves.components(None, pairs)[0][0]
    else:
        base = _with_blocks(base)  # the Gram blocks once, also on the direct route: every world moves them
        moves = equalizing_moves(base)
        rho = signal_rho(base, moves, pairs)
    outer = np.full((n_worlds, len(pairs)), np.nan)
    inner = np.full((n_worlds, n_inner, len(pairs)), np.nan)
    for w, seq in enumerate(spawn_sequences(seed, n_worlds)):
        rng = np.random.default_rng(seq)
        engine = mapped_engine(base, world_maps(base, rng), moves)
        if n_inner and moves is None:
            engine = _observed(engine)
        with np.errstate(invalid="ignore", divide="ignore"):  # a world without an RDM: NaN, below
            world = halves.renormed(True, engine)
            outer[w] = _ratio_or_nan(world, pairs) - rho
        if n_inner:
            if moves is None:
                world_moves, world_rho = None, world.components(None, pairs)[0][0]
            else:
                world_moves = equalizing_moves(engine)
                world_rho = signal_rho(engine, world_moves, pairs)
            for i in range(n_inner):
                within = mapped_engine(engine, world_maps(engine, rng), world_moves)
                with np.errstate(invalid="ignore", divide="ignore"):
                    inner[w, i] = _ratio_or_nan(halves.renormed(True, within), pairs) - world_rho
    return outer, inner


def _ratio_or_nan(world, pairs: np.ndarray) -> np.ndarray:
    """The cross-half ratio of every pair in ``world`` (a CrossHalf), NaN for a pair with a model whose full or half
    RDMs are not all finite: where a world's moved Gram matrix leaves an emotion a squared norm <= 0 in a half (heavy
    tailed prompts, a large move), that half has no cosine RDM, and its ranks would be arbitrary."""
    ratio = world.corrected(None, pairs)[0][0]
    rows = np.isfinite(world.rows).all(axis=1)
    finite = np.array([rows[i] and all(rows[world._half(i, s, h)] for s in range(world.n_splits) for h in (0, 1))
                       for i in range(world.n_models)])
    return np.where(finite[pairs[:, 0]] & finite[pairs[:, 1]], ratio, np.nan)


def world_bias(halves, pairs: np.ndarray, seed: SeedLike, n_worlds: int = N_WORLDS,
               n_inner: int = N_INNER, signal: str = "equalized") -> tuple[np.ndarray, np.ndarray]:
    """The cross-half ratio's bias for every pair of ``halves`` (a :class:`~rsastats.inference.corrected.CrossHalf`,
    not imported here: that module imports this one) in sign-flip worlds (module docstring; :func:`world_errors`):
    ``(bias, se)`` (n_pairs,).

    With ``n_inner = 0`` the bias is the median of the worlds' errors and ``se`` its Monte Carlo standard error
    (``1.2533 sd / sqrt(n)``).  Otherwise it is the iterated estimate ``2 b1 - b2``, ``b1`` the median error of the
    worlds and ``b2`` that of the worlds within them, and ``se`` its standard deviation over 200 resamples of the
    worlds (each with its inner worlds; child ``n_worlds`` of ``seed``).  NaN for a pair where fewer than half the
    worlds, or of the inner worlds, give a ratio."""
    return summarized(*world_errors(halves, pairs, seed, n_worlds, n_inner, signal), seed)


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
