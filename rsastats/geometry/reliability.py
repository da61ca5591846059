"""Split-half reliability of one model's raw cosine emotion RDM over prompts, with a jackknife CI.

The estimate is the core's (:func:`rsastats.inference.noise_ceiling`: the mean Spearman rho between
the RDMs of two random halves of each emotion's prompts, over random splits, stepped up to the full
prompt count with Spearman-Brown ``2r / (1 + r)``).  The interval is a grouped jackknife over prompts
whose split-half correlations are recomputed from the layer's Gram matrix (:func:`split_half_rho`),
never from copies of the data.  The maturity rule uses it as one of its two inputs.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import xarray as xr

from ..rng import spawn_sequences
from ..inference.ceiling import noise_ceiling, spearman_brown
from . import kernels

__all__ = ["half_masks", "split_half_rho", "rdm_reliability"]


def half_masks(rng: np.random.Generator, sizes: Sequence[int], n_splits: int) -> np.ndarray:
    """``(n_splits, N)`` 0/1 masks: a random half (floor(n/2) prompts) of each emotion's prompts."""
    masks = np.zeros((n_splits, sum(sizes)))
    offset = 0
    for size in sizes:
        keys = rng.random((n_splits, size))
        chosen = np.argsort(keys, axis=1)[:, : size // 2]
        np.put_along_axis(masks[:, offset : offset + size], chosen, 1.0, axis=1)
        offset += size
    return masks


def split_half_rho(rows: Any, weights: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Mean over splits of the Spearman rho between the two halves' RDMs, per weight vector ``(b,)``.

    ``rows``: a layer's prompt rows (:class:`rsastats.geometry.layers.LayerRows`); ``weights``
    ``(b, N)``: which prompts are in the data (0 = left out); ``masks`` ``(K, N)``: which prompts form
    half A of each split.  A split whose half lost every prompt of an emotion is undefined and skipped.
    """
    n_rep, n_rows = weights.shape
    half_a = (weights[:, None, :] * masks[None]).reshape(-1, n_rows)
    half_b = (weights[:, None, :] * (1.0 - masks[None])).reshape(-1, n_rows)
    upper_a = kernels.rdm_uppers(kernels.group_gram(half_a, rows.gram, rows.groups))
    upper_b = kernels.rdm_uppers(kernels.group_gram(half_b, rows.gram, rows.groups))
    rho = kernels.rowwise_spearman(upper_a, upper_b).reshape(n_rep, len(masks))
    rho = np.where(np.isfinite(rho), rho, np.nan)
    counts = np.sum(np.isfinite(rho), axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, np.nansum(rho, axis=1) / np.maximum(counts, 1), np.nan)


def rdm_reliability(ds: xr.Dataset, layer: int, rows: Any, stream: np.random.SeedSequence, *, n_splits: int,
                    confidence: float) -> tuple[float, float, float, str]:
    """Split-half (Spearman-Brown) reliability of the raw cosine RDM at ``layer`` and its CI:
    ``(estimate, ci_low, ci_high, note)``.

    The estimate is the core's mean split-half Spearman rho over ``n_splits`` random splits, stepped up
    with Spearman-Brown.  The CI is a grouped jackknife: group g holds the g-th valid prompt of every
    emotion; each group is left out in turn (the same random splits throughout); the standard error of
    ``atanh(mean split-half r)`` is ``sqrt((G-1)/G * sum (z_g - zbar)^2)``, and ``tanh(z +- t_{G-1} SE)``
    is mapped through Spearman-Brown.  (A prompt bootstrap would be biased here: a resample holds only
    ~63% distinct prompts, so its reliability is that of a shorter test.)
    """
    from scipy import stats

    point_stream, split_stream = spawn_sequences(stream, 2)
    ceiling = noise_ceiling(ds.sel(layer=[layer]), rank="spearman", n_splits=n_splits, seed=point_stream,
                            rdm="cosine", normalization="raw")
    r_full = ceiling.split_half[0]
    if r_full is None:
        return np.nan, np.nan, np.nan, "split-half correlation undefined (a half's RDM is constant)"
    sizes = rows.group_sizes
    masks = half_masks(np.random.default_rng(split_stream), sizes, n_splits)
    n_groups = max(sizes)
    leave_out = np.ones((n_groups, sum(sizes)))
    for start, size in zip(np.cumsum([0, *sizes[:-1]]), sizes):
        leave_out[np.arange(size), start + np.arange(size)] = 0.0
    r_jack = split_half_rho(rows, leave_out, masks)
    estimate = float(spearman_brown(r_full))  # floored at -1 where r < -1/3
    # below r = -1/3 the step-up leaves [-1, 1] (r = -0.5 gives -2): a reliability is a correlation, so -1 is shown
    floored = (f"the split-half correlation {r_full:.3f} is below -1/3, where the Spearman-Brown step-up falls below "
               "-1; the reliability is shown as -1" if r_full < -1.0 / 3.0 else "")
    with np.errstate(invalid="ignore", divide="ignore"):
        z_full, z_jack = np.arctanh(np.clip(r_full, -1, 1)), np.arctanh(np.clip(r_jack, -1, 1))
    if not (np.isfinite(z_full) and np.isfinite(z_jack).all()):
        return estimate, np.nan, np.nan, "; ".join(x for x in ("jackknife undefined (a split-half correlation of +-1)",
                                                               floored) if x)
    se = float(np.sqrt((n_groups - 1) / n_groups * np.sum((z_jack - z_jack.mean()) ** 2)))
    q = float(stats.t.ppf(0.5 + confidence / 2, df=n_groups - 1))
    low, high = np.tanh(z_full - q * se), np.tanh(z_full + q * se)
    return estimate, float(spearman_brown(low)), float(spearman_brown(high)), floored

