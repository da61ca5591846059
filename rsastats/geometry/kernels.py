"""The maths of the geometry descriptors: functions of resampling weights, many resamples at once.

A bootstrap replicate that resamples rows (texts) with replacement is the original data with
integer weights ``w_i`` (how often row ``i`` was drawn); a jackknife replicate has one zero
weight; the point estimate has every weight 1.  Each descriptor below is written once as a
function of a batch of weight vectors ``(b, n)`` and of quantities computed once per layer
(norms, unit vectors, Gram matrices), so no resample is ever materialised as a copy of the
data and the same code gives point estimates, bootstrap and jackknife replicates.

Conventions shared by every kernel:

* a "pair" is two *different original rows*: copies of the same row that a resample
  creates are not a pair (they would add cosines of exactly 1), in the same way an
  emotion bootstrap drops the self-pairs that duplicates create;
* an undefined value (e.g. every draw of a resample picked the same row) is NaN, never 0.

Which descriptor each kernel gives is declared in the table of :mod:`rsastats.geometry.descriptors`.
The resampling plans (:func:`resampling_weights`, :func:`jackknife_weights`) draw each block
of ``DRAW_BLOCK`` replicates from its own child stream, so results depend only on the seed and
the replicate index: not on ``n_boot``, the compute batch size, or the order of evaluation.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from ..rng import SeedLike, spawn_generators

__all__ = [
    "DRAW_BLOCK",
    "resampling_weights",
    "jackknife_weights",
    "mean_pairwise_cosine",
    "dimension_contributions",
    "top_dimension_contribution",
    "norm_statistics",
    "spectrum_statistics",
    "unbiased_participation_ratio",
    "group_gram",
    "emotion_noise_fraction",
    "emotion_statistics",
    "rdm_uppers",
    "rowwise_spearman",
]

DRAW_BLOCK = 128  # replicates drawn from one child stream; part of the seed -> result map


# --------------------------------------------------------------------------- resampling plans
def resampling_weights(seed: SeedLike, n_boot: int, group_sizes: Sequence[int]) -> Iterator[np.ndarray]:
    """Bootstrap weights that resample rows with replacement *within* each group.

    Rows are laid out group after group (sizes ``group_sizes``); each group of size ``k``
    receives ``k`` draws.  Yields float arrays ``(b, sum(group_sizes))`` of counts, blocks of
    at most ``DRAW_BLOCK`` replicates in replicate order.  Replicate ``j`` depends only on
    ``seed`` and ``j``.
    """
    sizes = [int(s) for s in group_sizes]
    n_rows = sum(sizes)
    n_blocks = -(-int(n_boot) // DRAW_BLOCK)
    for k, rng in enumerate(spawn_generators(seed, n_blocks)):
        weights = np.empty((DRAW_BLOCK, n_rows))
        offset = 0
        for size in sizes:
            draws = rng.integers(0, size, size=(DRAW_BLOCK, size))
            flat = (np.arange(DRAW_BLOCK)[:, None] * size + draws).ravel()
            weights[:, offset : offset + size] = np.bincount(flat, minlength=DRAW_BLOCK * size).reshape(DRAW_BLOCK, size)
            offset += size
        take = min(DRAW_BLOCK, int(n_boot) - k * DRAW_BLOCK)
        yield weights[:take]


def jackknife_weights(group_sizes: Sequence[int]) -> np.ndarray:
    """Leave-one-row-out weights ``(n_left_out, n_rows)``.

    Rows that are alone in their group are never left out (the group would be empty).
    """
    sizes = np.asarray([int(s) for s in group_sizes])
    n_rows = int(sizes.sum())
    alone = np.repeat(sizes == 1, sizes)
    weights = np.ones((n_rows, n_rows)) - np.eye(n_rows)
    return weights[~alone]


# --------------------------------------------------------------------------- kernels
def _pair_weight(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Total weight of distinct-original pairs (ordered) and sum of squared weights."""
    m = weights.sum(axis=1)
    self_weight = np.einsum("bi,bi->b", weights, weights)
    return m * m - self_weight, self_weight


def mean_pairwise_cosine(weights: np.ndarray, unit: np.ndarray,
                         groups: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """Mean cosine over pairs of distinct rows, from the weighted sum of unit vectors.

    ``sum_{i != j} w_i w_j u_i.u_j = |sum_i w_i u_i|^2 - sum_i w_i^2`` (``|u_i| = 1``), divided by
    the pair weight ``(sum w)^2 - sum w^2``.  With unit weights this is the exact mean over the
    ``n (n-1) / 2`` distinct pairs, in O(n h) instead of O(n^2 h).

    ``groups`` (index arrays of rows resampled within groups, e.g. the prompts of each emotion): the pairs
    within a group and the pairs across groups are averaged apart and combined with the shares they have
    in the data (unit weights).  A resample's copies are all within a group, so leaving them out shrinks
    the within-group pairs only; without this weighting a resample would move the mean toward the
    across-group cosines (by as much as several standard errors where the two differ much and the noise is
    small), and a bootstrap interval would take that shift for a bias.  With unit weights the value is the
    plain mean over the distinct pairs either way.
    """
    summed = weights @ unit
    pairs, self_weight = _pair_weight(weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        all_pairs = np.einsum("bh,bh->b", summed, summed) - self_weight  # weighted sum over pairs of distinct rows
        plain = all_pairs / pairs
        if groups is None or len(groups) < 2:
            return plain
        within = np.zeros(len(weights))
        within_pairs = np.zeros(len(weights))
        group_squares = np.zeros(len(weights))  # sum over groups of (sum of the group's weights)^2
        for g in groups:
            part = weights[:, g]
            s = part @ unit[g]
            m = part.sum(axis=1)
            own = np.einsum("bi,bi->b", part, part)
            within += np.einsum("bh,bh->b", s, s) - own
            within_pairs += m * m - own
            group_squares += m * m
        sizes = np.array([len(g) for g in groups], dtype=np.float64)
        share = float(np.sum(sizes * (sizes - 1)) / (sizes.sum() ** 2 - sizes.sum()))  # within pairs / all pairs
        if share <= 0.0 or share >= 1.0:
            return plain
        total = weights.sum(axis=1)
        across = all_pairs - within
        across_pairs = total * total - group_squares
        return share * within / within_pairs + (1.0 - share) * across / across_pairs


def dimension_contributions(weights: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Contribution of each hidden dimension to :func:`mean_pairwise_cosine`, ``(b, hidden)``.

    The mean pairwise cosine is ``sum_d E_pairs[u_id u_jd]``; term ``d`` is this contribution
    (Timkey & van Schijndel 2021).  A single dimension carrying most of the anisotropy is a
    "rogue dimension".  The rows sum to :func:`mean_pairwise_cosine`.
    """
    summed = weights @ unit
    squares = (weights * weights) @ (unit * unit)
    pairs, _ = _pair_weight(weights)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (summed * summed - squares) / pairs[:, None]


def top_dimension_contribution(weights: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """The largest of :func:`dimension_contributions` per resample (NaN where any is undefined)."""
    contributions = dimension_contributions(weights, unit)
    out = np.full(len(weights), np.nan)
    finite = np.isfinite(contributions).all(axis=1)
    out[finite] = contributions[finite].max(axis=1)
    return out


def _weighted_order_statistic(weights: np.ndarray, sorted_values: np.ndarray, order: np.ndarray, k: np.ndarray) -> np.ndarray:
    """The ``k``-th smallest (1-based) value of each weighted resample."""
    cumulative = np.cumsum(weights[:, order], axis=1)
    position = np.sum(cumulative < k[:, None] - 1e-9, axis=1)
    return sorted_values[np.minimum(position, sorted_values.size - 1)]


def norm_statistics(weights: np.ndarray, norms: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, standard deviation (ddof 1) and max/median ratio of the row norms of each resample."""
    m = weights.sum(axis=1)
    shift = norms.mean()  # shifted sums keep the variance accurate when sd << mean
    centred = norms - shift
    mean_centred = weights @ centred / m
    with np.errstate(invalid="ignore", divide="ignore"):
        variance = (weights @ (centred * centred) - m * mean_centred**2) / (m - 1)
    order = np.argsort(norms, kind="stable")
    sorted_norms = norms[order]
    lower = _weighted_order_statistic(weights, sorted_norms, order, np.floor((m + 1) / 2))
    upper = _weighted_order_statistic(weights, sorted_norms, order, np.floor(m / 2) + 1)
    median = (lower + upper) / 2
    largest = np.where(weights > 0, norms[None, :], -np.inf).max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = largest / median
    return {
        "norm_mean": mean_centred + shift,
        "norm_sd": np.sqrt(np.maximum(variance, 0.0)),
        "norm_max_median": ratio,
    }


def spectrum_statistics(weights: np.ndarray, gram: np.ndarray, *, max_elements: int = 1 << 22) -> dict[str, np.ndarray]:
    """Participation ratio and first-PC share of the weighted covariance of the rows.

    The covariance of a resample, ``C = sum_i w_i (x_i - xbar)(x_i - xbar)^T / m``, has the same
    non-zero eigenvalues as ``K_ij = sqrt(w_i w_j) Gc_ij / m`` where ``Gc`` is the Gram matrix
    centred on the resample's weighted mean.  ``PR = tr(K)^2 / |K|_F^2`` needs no eigenvalues;
    the largest eigenvalue is computed on the rows the resample actually drew.  ``max_elements``
    bounds memory; it never changes the result.
    """
    n_rep, n_rows = weights.shape
    participation = np.empty(n_rep)
    pc1 = np.empty(n_rep)
    chunk = max(1, int(max_elements) // max(1, n_rows * n_rows))
    for start in range(0, n_rep, chunk):
        w = weights[start : start + chunk]
        m = w.sum(axis=1)
        to_mean = w @ gram / m[:, None]  # x_i . xbar
        mean_sq = np.einsum("ci,ci->c", to_mean, w) / m  # xbar . xbar
        centred = gram[None] - to_mean[:, :, None] - to_mean[:, None, :] + mean_sq[:, None, None]
        trace = np.einsum("ci,cii->c", w, centred) / m
        frob = np.einsum("ci,cij,cj->c", w, centred * centred, w) / (m * m)
        with np.errstate(invalid="ignore", divide="ignore"):
            participation[start : start + len(w)] = trace * trace / frob
        largest = _largest_eigenvalues(w, centred, m)
        with np.errstate(invalid="ignore", divide="ignore"):
            pc1[start : start + len(w)] = largest / trace
    degenerate = ~(np.isfinite(participation) & np.isfinite(pc1))
    participation[degenerate] = np.nan
    pc1[degenerate] = np.nan
    return {"participation_ratio": participation, "pc1_share": pc1}


def _distinct_quadruple_weight(weights: np.ndarray) -> np.ndarray:
    """``sum w_i w_j w_k w_l`` over ordered quadruples of distinct rows (power sums, Newton's identities)."""
    p1, p2, p3, p4 = (np.sum(weights**k, axis=1) for k in (1, 2, 3, 4))
    return p1**4 - 6 * p1**2 * p2 + 3 * p2**2 + 8 * p1 * p3 - 6 * p4


def unbiased_participation_ratio(weights: np.ndarray, gram: np.ndarray) -> np.ndarray:
    """``(tr S)^2 / tr(S^2)`` from unbiased U-statistic estimates of numerator and denominator.

    The plug-in participation ratio of ``n`` rows cannot exceed ``n - 1`` and is biased low
    whenever the true value is not small compared with ``n`` (always, for texts in a hidden
    space of thousands of dimensions).  Here both parts are U-statistics over quadruples of
    distinct rows ``(i, j, k, l)``:

    * ``(tr S)^2 = E[|x_i - x_j|^2 |x_k - x_l|^2] / 4``;
    * ``tr(S^2)  = E[((x_i - x_j).(x_k - x_l))^2] / 4`` (the unbiased HSIC of Song et al. 2012
      with linear kernels, K = L = G),

    so each is unbiased for any ``n >= 4``, whatever the dimension, and their ratio is
    consistent.  Each sum over distinct quadruples is reduced to O(n^2) matrix products by
    inclusion-exclusion, with resampling weights (copies of a row are never "distinct").
    ``gram`` may be of rows centred on any fixed point (the estimator is translation invariant);
    centring on the sample mean avoids cancellation when the rows share a large mean.
    """
    diag = np.diag(gram)
    off = gram - np.diag(diag)
    off_sq = off * off
    w = weights
    w2, w3 = w * w, w * w * w
    p1, p2 = w.sum(axis=1), w2.sum(axis=1)
    quads = _distinct_quadruple_weight(w)
    # numerator: squared distances D (zero diagonal)
    dist = diag[:, None] + diag[None, :] - 2 * gram
    np.fill_diagonal(dist, 0.0)
    d_w = w @ dist
    s1 = np.einsum("bi,bi->b", d_w, w)
    numerator = s1 * s1 - 4 * np.einsum("bi,bi->b", w2, d_w * d_w) + 2 * np.einsum("bi,bi->b", w2 @ (dist * dist), w2)
    # denominator: A + B - 2C of the HSIC U-statistic
    h_w, h_w2, h_w3 = w @ off_sq, w2 @ off_sq, w3 @ off_sq
    g_w, g_w2 = w @ off, w2 @ off
    pair_sq = np.einsum("bi,bi->b", h_w2, w2)  # sum_{t != u} w_t^2 w_u^2 G_tu^2
    a = (np.einsum("bi,bi->b", h_w, w) * (p1 * p1 - p2) - 4 * p1 * np.einsum("bi,bi->b", w2, h_w)
         + 4 * np.einsum("bi,bi->b", w3, h_w) + 2 * pair_sq)
    s = np.einsum("bi,bi->b", g_w, w)
    b = s * s - 4 * np.einsum("bi,bi->b", w2, g_w * g_w) + 2 * pair_sq
    c = np.einsum("bi,bi->b", w, (p1[:, None] - w) * (g_w * g_w - h_w2) - 2 * (g_w2 * g_w - h_w3))
    with np.errstate(invalid="ignore", divide="ignore"):
        trace_sq = numerator / (4 * quads)
        square_trace = (a + b - 2 * c) / quads
        ratio = trace_sq / square_trace
    return np.where((quads > 0) & (square_trace > 0), ratio, np.nan)


def _largest_eigenvalues(weights: np.ndarray, centred: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Largest eigenvalue of each ``K``, restricted to drawn rows, batched by support size."""
    out = np.empty(len(weights))
    supports = [np.flatnonzero(w) for w in weights]
    sizes = np.array([s.size for s in supports])
    for size in np.unique(sizes):
        members = np.flatnonzero(sizes == size)
        idx = np.stack([supports[i] for i in members])  # (g, size)
        root = np.sqrt(weights[members[:, None], idx])
        block = centred[members[:, None, None], idx[:, :, None], idx[:, None, :]]
        block = block * root[:, :, None] * root[:, None, :] / m[members, None, None]
        out[members] = np.linalg.eigvalsh(block)[:, -1]
    return out


def group_gram(weights: np.ndarray, gram: np.ndarray, groups: Sequence[np.ndarray]) -> np.ndarray:
    """Gram matrix ``(b, E, E)`` of the weighted group means (emotion vectors) of each resample.

    ``v_e = sum_{i in e} w_i x_i / sum_{i in e} w_i``, so ``v_e . v_f = w_e^T G_ef w_f / (n_e n_f)``:
    the hidden dimension never appears, each resample costs O(N^2).
    """
    n_rep, n_rows = weights.shape
    membership = np.zeros((n_rows, len(groups)))
    for e, rows in enumerate(groups):
        membership[rows, e] = 1.0
    sizes = weights @ membership  # (b, E)
    out = np.empty((n_rep, len(groups), len(groups)))
    for e, rows in enumerate(groups):
        partial = weights[:, rows] @ gram[rows, :]  # (b, N): sum_{i in e} w_i G_i.
        out[:, e, :] = (partial * weights) @ membership
    with np.errstate(invalid="ignore", divide="ignore"):
        return out / (sizes[:, :, None] * sizes[:, None, :])


def emotion_noise_fractions(gram: np.ndarray, groups: Sequence[np.ndarray]) -> tuple[float, float]:
    """Prompt noise in the emotion vectors, plain and centred.

    Plain: ``sum_e tr(S_e) / n_e`` over ``sum_e |v_e|^2``.  ``S_e`` is the (unbiased) covariance of emotion ``e``'s
    prompts and ``v_e`` their mean, so the numerator is the expected squared norm the noise of ``n_e`` prompts adds
    to the emotion vectors.  Centred: the noise in the vectors centred on their (unweighted) mean over their squared
    distance from it, ``(1 - 1/E) sum_e tr(S_e) / n_e`` over ``sum_e |v_e - mean|^2`` -- what the descriptors of the
    centred vectors see, much larger than the plain share where the emotions share a large common direction.
    NaN when an emotion has fewer than 2 prompts (its noise cannot be measured), or a denominator is not positive.
    """
    noise = signal = 0.0
    n_e = len(groups)
    means = np.zeros((n_e, gram.shape[0]))  # row e: the weights of emotion e's prompts in its mean
    for e, rows in enumerate(groups):
        k = len(rows)
        if k < 2:
            return float("nan"), float("nan")
        block = gram[np.ix_(rows, rows)]
        mean_sq = block.sum() / (k * k)  # |v_e|^2
        noise += (np.trace(block) - k * mean_sq) / (k - 1) / k
        signal += mean_sq
        means[e, rows] = 1.0 / k
    grand = means.mean(axis=0)
    spread = signal - n_e * float(grand @ gram @ grand)  # sum_e |v_e - mean|^2 = sum_e |v_e|^2 - E |mean|^2
    plain = float(noise / signal) if signal > 0 else float("nan")
    return plain, (float(noise * (1.0 - 1.0 / n_e) / spread) if spread > 0 else float("nan"))


def emotion_noise_fraction(gram: np.ndarray, groups: Sequence[np.ndarray], centred: bool = False) -> float:
    """One of :func:`emotion_noise_fractions`: the plain share, or with ``centred`` the centred one."""
    return emotion_noise_fractions(gram, groups)[int(centred)]


def emotion_statistics(gram: np.ndarray) -> dict[str, np.ndarray]:
    """Descriptors of a batch of emotion-vector Gram matrices ``(b, E, E)``.

    ``emotion_mean_cosine``: mean cosine over the ``E(E-1)/2`` emotion pairs (the anisotropy
    among emotion vectors; one minus the mean off-diagonal cell of the raw cosine RDM).
    ``emotion_rdm_spread``: standard deviation (ddof 0) of the off-diagonal cosine distances.
    ``emotion_participation_ratio`` and ``emotion_pc1_share``: of the emotion vectors centred
    on their mean.
    """
    n_emotions = gram.shape[-1]
    norms = np.sqrt(np.clip(np.einsum("bii->bi", gram), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = gram / (norms[:, :, None] * norms[:, None, :])
    iu = np.triu_indices(n_emotions, k=1)
    cells = cosine[:, iu[0], iu[1]]
    centred = gram - gram.mean(axis=1, keepdims=True) - gram.mean(axis=2, keepdims=True) + gram.mean(axis=(1, 2), keepdims=True)
    trace = np.einsum("bii->b", centred)
    frob = np.einsum("bij,bij->b", centred, centred)
    finite = np.isfinite(centred).all(axis=(1, 2))
    largest = np.full(len(gram), np.nan)
    if finite.any():
        largest[finite] = np.linalg.eigvalsh(centred[finite])[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "emotion_mean_cosine": cells.mean(axis=1),
            "emotion_rdm_spread": (1.0 - cells).std(axis=1),
            "emotion_participation_ratio": trace * trace / frob,
            "emotion_pc1_share": largest / trace,
        }


def rdm_uppers(gram: np.ndarray) -> np.ndarray:
    """Upper triangles ``(b, E(E-1)/2)`` of the raw cosine RDMs of emotion-vector Gram matrices."""
    norms = np.sqrt(np.clip(np.einsum("bii->bi", gram), 0.0, None))
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = gram / (norms[:, :, None] * norms[:, None, :])
    iu = np.triu_indices(gram.shape[-1], k=1)
    return 1.0 - cosine[:, iu[0], iu[1]]


def rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho (average ranks for ties) of each row of ``a`` with the same row of ``b``."""
    from scipy.stats import rankdata

    ra = rankdata(a, axis=1)
    rb = rankdata(b, axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("bi,bi->b", ra, rb) / np.sqrt(np.einsum("bi,bi->b", ra, ra) * np.einsum("bi,bi->b", rb, rb))
