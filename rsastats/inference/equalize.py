"""Gram-matrix steps of prompt resamples: noise-equalized squared norms for the half RDMs of
``rho_corrected``, and a normalization's mean-vector step.

Prompt noise adds its variance over the number of prompts to an emotion's squared mean norm,
``E |m_e|^2 = |mu_e|^2 + s_e / k_e`` (``s_e`` the trace of the emotion's within-prompt covariance), so
the cosines of an emotion with noisier prompts are shrunk more.  Where the same emotions are noisier in
two models -- the same texts, read by both -- that shrinkage is structure the two RDMs share and the
noise-free vectors do not have, and the cross-half ratio counts it as shared geometry (docs/statistics.md,
"Noise levels that differ across emotions").  Here each emotion's squared norm is moved by its own noise
contribution less the mean contribution over emotions: every emotion then carries the same inflation, so
the differences go and the common part (which the attenuation model of the ratio does describe) stays.
Estimating ``|mu_e|^2`` itself (an unbiased norm) would remove the common part too, but it divides the
cosines of weak emotions by a small, noisy number: at low signal-to-noise rho_corrected was then withheld
in most data sets (measured; docs/statistics.md).  It serves as rho_corrected's check instead
(:func:`noise_free_norms`; :func:`rsastats.inference.corrected.norm_shift`): where emotion vectors differ
much in length, the common inflation that equalizing keeps shrinks the short ones' cosines more.

Whose noise: a half's squared norm carries the noise of the prompts it holds, ``sum_p |x_p - mu|^2 / k^2`` and
cross terms, and with heavy-tailed prompt noise (a few prompts far out) that realized amount strays far from its
expectation ``s_e / k``.  The half's own estimate of ``s_e`` moves with it; the estimate from all the emotion's
prompts does not, so it left most of a half's stray inflation in place, which the two models share (the same
texts) and the ratio counted as shared geometry (rho_corrected +0.04 to +0.07 with t(3) coordinates,
reports/calibration/heavy_tails.md).  :func:`half_noise` takes the half's own estimate where the half has at least
:data:`HALF_NOISE_MIN` prompts and all the prompts' below (with halves of 2 prompts and noise levels that differ
across emotions the ratio's error SD was 0.199 with the own estimate, against 0.043 with plain halves).
"""

from __future__ import annotations

import numpy as np

from ..vectors import apply_post

__all__ = ["prompt_noise", "prompt_squares", "half_noise", "HALF_NOISE_MIN", "shared_prompt_variance", "equalized",
           "noise_free_norms", "NORM_FLOOR", "gram_post", "vector_gram"]

# The floor of a noise-corrected squared norm, as a share of the mean noise inflation over emotions: a
# noise-free squared norm is >= 0, and the floor keeps the cosines of an emotion whose estimate falls to or
# below 0 (its prompts carry no measurable signal) defined.
NORM_FLOOR = 0.1
# A half's prompt noise is estimated from its own prompts where it holds at least this many, else from all the
# emotion's prompts (:func:`half_noise`).
HALF_NOISE_MIN = 3


def prompt_squares(gram_blocks: list | None, rows: list | None, rdm_method: str) -> np.ndarray:
    """Per model, emotion and prompt the squared norm ``|x_p|^2`` of the prompt's row (centred across hidden first for
    the correlation RDM), from a paired group's Gram blocks (``[emotion f][model]: (P, (f+1) P)``) or its rows (per
    model ``(E, P, H)``): ``(n_models, E, P)``."""
    if gram_blocks is not None:
        n_p = gram_blocks[0][0].shape[0]
        return np.stack([np.stack([np.diagonal(gram_blocks[f][m][:, f * n_p:]) for f in range(len(gram_blocks))])
                         for m in range(len(gram_blocks[0]))])
    centred = [v - v.mean(axis=-1, keepdims=True) if rdm_method == "correlation" else v for v in rows]
    return np.stack([np.einsum("eph,eph->ep", v, v) for v in centred])


def prompt_noise(valid: np.ndarray, gram_blocks: list | None, rows: list | None, rdm_method: str) -> np.ndarray:
    """Per model and emotion, the unbiased estimate of the prompt noise variance ``s_e`` (the trace of
    the within-emotion covariance of its valid prompt rows; rows centred across hidden first for the
    correlation RDM), from a paired group's Gram blocks (``[emotion f][model]: (P, (f+1) P)``) or its
    rows (per model ``(E, P, H)``): ``(n_models, E)``; NaN for an emotion with fewer than 2 prompts."""
    weights = valid.astype(np.float64)  # (E, P)
    k = weights.sum(axis=1)
    n_p = weights.shape[1]
    squares = prompt_squares(gram_blocks, rows, rdm_method)
    n_models = len(squares)
    out = np.empty((n_models, len(k)))
    for m in range(n_models):
        if gram_blocks is not None:
            total = np.array([w @ gram_blocks[f][m][:, f * n_p:] @ w for f, w in enumerate(weights)])  # |sum_p x_p|^2
        else:
            values = rows[m]
            if rdm_method == "correlation":
                values = values - values.mean(axis=-1, keepdims=True)
            sums = np.einsum("ep,eph->eh", weights, values)
            total = np.einsum("eh,eh->e", sums, sums)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[m] = ((weights * squares[m]).sum(axis=1) - total / k) / (k - 1)
    return out


def half_noise(gram: np.ndarray, counts: np.ndarray, totals: np.ndarray, squares: np.ndarray,
               whole: np.ndarray) -> np.ndarray:
    """The prompt noise variance of each emotion as a resample's prompts estimate it: ``(B, models, E)``.

    ``gram`` (B, models, E, E) of the count-weighted prompt means (counts (B, E, P), their sums ``totals`` (B, E)),
    ``squares`` the rows' squared norms (:func:`prompt_squares`), ``whole`` the estimate from all the prompts
    (:func:`prompt_noise`).  Where a resample holds at least :data:`HALF_NOISE_MIN` distinct prompts of an emotion,
    ``(sum_p c_p |x_p|^2 - T |m|^2) / (T - 1)`` with ``T`` the count total and ``m`` the mean (each copy of a prompt
    counted as a row; for 0/1 counts the unbiased estimate from those prompts); below, ``whole``."""
    idx = np.arange(gram.shape[-1])
    summed = np.einsum("bep,mep->bme", counts, squares)  # the rows of invalid prompts are 0 and have count 0
    t = totals[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        own = (summed - t * gram[..., idx, idx]) / (t - 1)
    enough = ((counts > 0).sum(axis=-1) >= HALF_NOISE_MIN)[:, None, :]
    return np.where(enough, own, whole[None])


def shared_prompt_variance(valid: np.ndarray, gram_blocks: list | None, rows: list | None,
                           rdm_method: str) -> np.ndarray:
    """Per model, the prompt variance that emotions share at the same prompt label (a template that prompt ``p``
    of every emotion is built from): the mean over pairs of emotions ``e < f`` of
    ``sum_p (x_ep - xbar_e) . (x_fp - xbar_f) / (n - 1)`` over the ``n`` labels valid in both (means over those
    labels; rows centred across hidden first for the correlation RDM), unbiased for the trace of the shared
    component's covariance; about 0 where prompts of different emotions are unrelated.  From the Gram blocks
    (``[emotion f][model]: (P, (f+1) P)``) or the rows (per model ``(E, P, H)``): ``(n_models,)``; 0 where no
    pair has 2 common labels."""
    w = valid.astype(np.float64)  # (E, P)
    n_e, n_p = w.shape
    n_models = len(gram_blocks[0]) if gram_blocks is not None else len(rows)
    out = np.zeros(n_models)
    for m in range(n_models):
        values = None
        if gram_blocks is None:
            values = rows[m] - rows[m].mean(axis=-1, keepdims=True) if rdm_method == "correlation" else rows[m]
        total, count = 0.0, 0
        for f in range(1, n_e):
            common = w[:f] * w[f]  # (f, P): labels valid in both e < f and f
            n = common.sum(axis=1)
            if gram_blocks is not None:
                block = gram_blocks[f][m][:, : f * n_p].reshape(n_p, f, n_p).transpose(1, 0, 2)  # (e, p_f, q_e)
                paired = np.einsum("epp,ep->e", block, common)
                sums = np.einsum("ep,epq,eq->e", common, block, common)
            else:
                paired = np.einsum("eph,ph,ep->e", values[:f], values[f], common)
                sums = np.einsum("eh,eh->e", np.einsum("ep,eph->eh", common, values[:f]), common @ values[f])
            ok = n >= 2
            total += float(((paired[ok] - sums[ok] / n[ok]) / (n[ok] - 1)).sum())
            count += int(ok.sum())
        out[m] = total / count if count else 0.0
    return out


def equalized(gram: np.ndarray, noise: np.ndarray, counts: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """``gram`` (B, models, E, E) of count-weighted prompt means (counts (B, E, P), their sums ``totals``
    (B, E)) with each diagonal entry moved by its emotion's noise inflation ``s_e sum_p c_p^2 / T_e^2``
    less the mean inflation over emotions; floored at that mean (a noise-free squared norm is >= 0), or
    at the entry itself where it is smaller; ``noise`` (models, E), or (B, models, E) per resample (:func:`half_noise`).
    Modifies and returns ``gram``."""
    spread = (counts ** 2).sum(axis=-1) / totals ** 2  # (B, E): variance factor of the weighted mean
    inflation = np.broadcast_to(noise, gram.shape[:-1]) * spread[:, None, :]  # (B, models, E)
    mean = inflation.mean(axis=-1, keepdims=True)
    idx = np.arange(gram.shape[-1])
    diag = gram[..., idx, idx]
    gram[..., idx, idx] = np.maximum(diag - inflation + mean, np.minimum(mean, diag))
    return gram


def noise_free_norms(gram: np.ndarray, noise: np.ndarray, counts: np.ndarray, totals: np.ndarray, post: str = "none",
                     rdm_method: str = "cosine") -> np.ndarray:
    """``gram`` as in :func:`equalized` with each diagonal entry less its emotion's noise inflation
    ``s_e sum_p c_p^2 / T_e^2``, ``noise`` the emotion's own prompt noise (the engine passes ``s_e`` less
    :func:`shared_prompt_variance`, both floored at 0: a template's share of the prompt variance is in the
    off-diagonal products too, so removing it from the diagonal alone would inflate every cosine; unbiased for the
    noise-free squared norm up to that common share), then the
    normalization's mean step
    (:func:`gram_post`; ``emotion-mean`` centring is linear in the Gram matrix, so still unbiased), each squared
    norm floored at :data:`NORM_FLOOR` times the mean inflation over emotions before and after that step.
    Modifies ``gram``; returns the result."""
    inflation = np.broadcast_to(noise, gram.shape[:-1]) * ((counts ** 2).sum(axis=-1) / totals ** 2)[:, None, :]
    floor = NORM_FLOOR * inflation.mean(axis=-1, keepdims=True)
    idx = np.arange(gram.shape[-1])
    gram[..., idx, idx] = np.maximum(gram[..., idx, idx] - inflation, floor)  # before ``unit`` divides by the norms
    gram = gram_post(gram, post, rdm_method)
    gram[..., idx, idx] = np.maximum(gram[..., idx, idx], floor)  # after centring, which moves them
    return gram


def gram_post(gram: np.ndarray, post: str, rdm_method: str) -> np.ndarray:
    """A normalization's mean-vector step on Gram matrices (..., E, E): ``emotion-mean`` centres the
    vectors across emotions (double centring); ``unit`` scales them to length 1 (only the Euclidean RDM
    depends on it); ``none`` as is."""
    if post == "emotion-mean":
        return (gram - gram.mean(axis=-1, keepdims=True) - gram.mean(axis=-2, keepdims=True)
                + gram.mean(axis=(-2, -1), keepdims=True))
    if post == "unit" and rdm_method == "euclidean":
        with np.errstate(invalid="ignore", divide="ignore"):  # a half's or resample's squared norm <= 0: NaN cells,
            inv = 1.0 / np.sqrt(np.diagonal(gram, axis1=-2, axis2=-1))  # which the callers treat as undefined
            return gram * inv[..., :, None] * inv[..., None, :]
    return gram


def vector_gram(values: np.ndarray, counts: np.ndarray, totals: np.ndarray, post: str, rdm_method: str) -> np.ndarray:
    """Gram matrices (B, E, E) of the count-weighted means of one model's prompt rows (E, P, H) after the
    normalization's mean-vector step (any ``post``, ``zscore`` included; rows centred across hidden
    after it for the correlation RDM)."""
    means = np.matmul(counts.transpose(1, 0, 2), values).transpose(1, 0, 2) / totals[..., None]  # (B, E, H)
    if post == "unit":  # a half's or resample's mean of length 0 gives NaN cells (undefined), not an input error
        with np.errstate(invalid="ignore", divide="ignore"):
            vectors = means / np.linalg.norm(means, axis=-1, keepdims=True)
    else:
        vectors = apply_post(means, post)
    if rdm_method == "correlation":
        vectors = vectors - vectors.mean(axis=-1, keepdims=True)
    return np.matmul(vectors, vectors.transpose(0, 2, 1))
