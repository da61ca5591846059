"""The proposed defaults, written against the package's engine so that the lead can lift them
(numpy only; the study itself uses the same arithmetic through :mod:`.resample`).

``rho``            Fisher-z normal interval with the delete-one-emotion jackknife standard error
                   (:func:`jackknife_z_interval`): z(rho) -+ 1.96 SE_jack, transformed back.  No
                   bootstrap is needed for it (n leave-one-out correlations).
``rho_corrected``  cross-half disattenuation ``xh`` computed inside every emotion resample from
                   fixed split-half RDMs (:class:`CrossHalf`); BCa interval from the emotion
                   bootstrap replicates of ``xh`` with the acceleration from its own jackknife
                   (:func:`corrected_interval`); point and interval clipped to [-1, 1]; withheld
                   by :func:`corrected_rule` (fewer than 3 prompts per emotion, or a split-half
                   correlation below 0.3).
``dvar_interval``  the double-bootstrap variance correction that was studied and rejected (kept
                   for the record; see the report).

Cost: the split-half RDMs are computed once (one prompt-count array per split through the engine's
Gram route); every resample -- outer or inner -- is a weight vector over fixed cells, so the
double bootstrap costs only weighted rank correlations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from rsastats.measures.kernels import standardize, weighted_midranks
from rsastats.rng import spawn_sequences

__all__ = ["half_counts", "CrossHalf", "jackknife_z_interval", "corrected_interval", "dvar_interval", "inner_counts",
           "corrected_rule", "cell_weights", "MIN_PROMPTS", "MIN_SPLIT_HALF"]

MIN_PROMPTS = 3  # the atlas's smallest design (P = 3) is calibrated; P = 2 was not studied
MIN_SPLIT_HALF = 0.3  # below it the corrected interval over-covers and is wider than 0.6 (report)


def jackknife_z_interval(estimate: float, leave_one_out: np.ndarray, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """Interval for the as-measured rho: ``tanh(atanh(rho) -+ z_c SE)``, ``SE`` the jackknife standard
    error of ``atanh(rho)`` from the ``n`` leave-one-emotion-out correlations
    (``SE^2 = (n-1)/n sum (z_(i) - mean z_(.))^2``; Efron & Tibshirani 1993, ch. 11).  Returns
    (low, high, SE)."""
    zc = float(ndtri(0.5 + confidence / 2))
    zj = np.arctanh(np.clip(np.asarray(leave_one_out, dtype=np.float64), -1 + 1e-12, 1 - 1e-12))
    n = zj.size
    se = float(np.sqrt((n - 1) / n * np.sum((zj - zj.mean()) ** 2)))
    z = float(np.arctanh(np.clip(estimate, -1 + 1e-12, 1 - 1e-12)))
    return float(np.tanh(z - zc * se)), float(np.tanh(z + zc * se)), se


def corrected_interval(estimate: float, replicates: np.ndarray, leave_one_out: np.ndarray, *,
                       confidence: float = 0.95) -> tuple[float, float, float]:
    """(clipped point, low, high) for rho_corrected: BCa of the emotion-bootstrap replicates of the
    cross-half estimator (undefined replicates dropped), acceleration from its jackknife; all three
    clipped to [-1, 1] (the clipped point stays inside the clipped interval)."""
    from rsastats.intervals import acceleration, confidence_interval

    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    jack = np.asarray(leave_one_out, dtype=np.float64)
    acc = acceleration(jack[np.isfinite(jack)])
    lo, hi = confidence_interval(float(estimate), reps, method="bca", confidence=confidence, acceleration_value=acc)
    clip = lambda x: float(min(1.0, max(-1.0, x)))  # noqa: E731
    return clip(estimate), clip(lo), clip(hi)


def cell_weights(counts: np.ndarray) -> np.ndarray:
    n = counts.shape[-1]
    iu, ju = np.triu_indices(n, 1)
    return counts[..., iu] * counts[..., ju]


def inner_counts(seed, outer: np.ndarray, n_inner: int) -> np.ndarray:
    """(B_outer, n_inner, n): ``n_inner`` resamples of each outer resample (multinomial over its
    counts); row ``b`` draws from child ``b`` of ``seed`` (independent of batch size)."""
    n_b, n = outer.shape
    total = int(outer[0].sum())
    seqs = spawn_sequences(seed, n_b)
    return np.stack([np.random.default_rng(s).multinomial(total, outer[b] / total, size=n_inner)
                     for b, s in enumerate(seqs)]).astype(np.float64)


def half_counts(valid: np.ndarray, n_splits: int, seed) -> tuple[np.ndarray, np.ndarray]:
    """First and second halves (S, E, P) as 0/1 prompt counts: each emotion's valid prompts dealt at
    random into floor(k/2) and the rest; split ``s`` from child ``s`` of ``seed``."""
    first = np.zeros((n_splits,) + valid.shape)
    for s, seq in enumerate(spawn_sequences(seed, n_splits)):
        rng = np.random.default_rng(seq)
        for e, row in enumerate(valid):
            slots = np.flatnonzero(row)
            first[s, e, rng.permutation(slots)[: len(slots) // 2]] = 1.0
    return first, valid[None].astype(np.float64) - first


def _z_rows(values: np.ndarray, order: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Standardized weighted mid-ranks (K, B, m) of fixed rows (K, m) for weights (B, m)."""
    k, m = values.shape
    w = weights[None]
    ranks = weighted_midranks(np.broadcast_to(values[:, None, :], (k, weights.shape[0], m)), w, order[:, None, :])
    z, _ = standardize(ranks, w)
    return z


@dataclass
class CrossHalf:
    """Fixed cell vectors of every model: full RDM and the two halves of each split.

    ``full`` (M, m), ``halves`` (M, S, 2, m).  :meth:`components` gives, for emotion weights
    (B, m): rho (B, n_pairs), the mean split-half correlation of each model (B, M) and the mean
    cross-half correlation of each pair (B, n_pairs) (A-half-1 x B-half-2 and A-half-2 x B-half-1,
    averaged over both and over splits).
    """

    full: np.ndarray
    halves: np.ndarray
    pairs: np.ndarray

    def __post_init__(self):
        n_models, n_splits, _, m = self.halves.shape
        self.rows = np.concatenate([self.full, self.halves.reshape(-1, m)])
        self.order = np.argsort(self.rows, axis=-1)
        self.n_models, self.n_splits = n_models, n_splits

    def _half(self, model: int, split: int, half: int) -> int:
        return self.n_models + (model * self.n_splits + split) * 2 + half

    def components(self, weights: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_b = weights.shape[0]
        rho = np.empty((n_b, len(self.pairs)))
        aa = np.zeros((n_b, self.n_models))
        ab = np.zeros((n_b, len(self.pairs)))
        for s0 in range(0, n_b, batch):
            sl = slice(s0, s0 + batch)
            z = _z_rows(self.rows, self.order, weights[sl])
            for k, (i, j) in enumerate(self.pairs):
                rho[sl, k] = np.einsum("bm,bm->b", z[i], z[j])
            for s in range(self.n_splits):
                for i in range(self.n_models):
                    aa[sl, i] += np.einsum("bm,bm->b", z[self._half(i, s, 0)], z[self._half(i, s, 1)])
                for k, (i, j) in enumerate(self.pairs):
                    ab[sl, k] += 0.5 * (np.einsum("bm,bm->b", z[self._half(i, s, 0)], z[self._half(j, s, 1)])
                                        + np.einsum("bm,bm->b", z[self._half(i, s, 1)], z[self._half(j, s, 0)]))
        return np.clip(rho, -1, 1), aa / self.n_splits, ab / self.n_splits

    def corrected(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rho, xh, aa): xh = cross-half / sqrt(aa_i aa_j), NaN where a half correlation <= 0."""
        rho, aa, ab = self.components(weights)
        i, j = self.pairs[:, 0], self.pairs[:, 1]
        den = aa[:, i] * aa[:, j]
        ok = (aa[:, i] > 0) & (aa[:, j] > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            xh = np.where(ok, ab / np.sqrt(np.where(ok, den, 1.0)), np.nan)
        return rho, xh, aa


def dvar_interval(estimate: float, replicates: np.ndarray, inner_variances: np.ndarray, *, confidence: float = 0.95,
                  scale: str = "fisher-z") -> tuple[float, float, float]:
    """Normal interval with the double-bootstrap variance correction.

    ``replicates`` are the outer bootstrap values, ``inner_variances`` the variances of the inner
    resamples of some outer resamples (on the same scale).  The bootstrap variance of a rank
    correlation of RDM cells over-states the sampling variance (a degree-2 U-statistic: duplicated
    emotions and the plug-in estimate of the cell-level variance both inflate it); the inner level
    over-states the outer one by about the same factor, so ``V = V*^2 / mean(V**)`` (Hall 1992,
    iterated bootstrap bias correction of a variance estimate, in ratio form).  ``scale``:
    ``fisher-z`` (rho: formed on atanh, transformed back) or ``raw`` (then clipped to [-1, 1]).
    Returns (low, high, corrected standard error on the working scale).
    """
    z = float(ndtri(0.5 + confidence / 2))
    f = (lambda r: np.arctanh(np.clip(r, -1 + 1e-12, 1 - 1e-12))) if scale == "fisher-z" else (lambda r: r)
    reps = f(np.asarray(replicates, dtype=np.float64))
    reps = reps[np.isfinite(reps)]
    v_star = float(np.var(reps, ddof=1))
    v_inner = float(np.nanmean(inner_variances))
    se = float(np.sqrt(v_star * v_star / v_inner)) if v_inner > 0 else float(np.sqrt(v_star))
    centre = f(np.array(estimate))
    lo, hi = centre - z * se, centre + z * se
    if scale == "fisher-z":
        return float(np.tanh(lo)), float(np.tanh(hi)), se
    return float(np.clip(lo, -1, 1)), float(np.clip(hi, -1, 1)), se


def corrected_rule(n_prompts_min: int, half_reliabilities: tuple[float, float], *, min_prompts: int = MIN_PROMPTS,
                   min_half: float = MIN_SPLIT_HALF) -> str | None:
    """None when the corrected rho is given; otherwise the ``corrected_note``."""
    if n_prompts_min < min_prompts:
        return (f"rho_corrected needs >= {min_prompts} valid prompts per emotion in both inputs "
                f"(fewest here: {n_prompts_min}); its interval is not calibrated below that")
    worst = min(half_reliabilities)
    if not worst >= min_half:
        return (f"rho_corrected not given: the split-half correlation of an input is {worst:.2f} "
                f"(< {min_half}); the noise-free rho cannot be estimated reliably from these prompts")
    return None
