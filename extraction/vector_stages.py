"""The vector stages of the contrastive recipes: numpy maths on one reading of the stimuli (no torch).

Each stage takes the pooled activations of a comprehension reading, ``rows`` (emotion, prompt,
layer, hidden) with their ``valid`` mask, and the emotion-free ``baseline`` (sample, layer, hidden)
read with the same pooling, and returns what the recipe's file holds:

``mean-diff``      rows minus their paired negative (``baseline[p]`` is the negative of prompt p):
                   the emotion vector, the mean over prompts, is the mean paired difference
                   (steering-vectors' mean aggregator).
``pca-diff``       one vector per emotion and layer: the first principal component of the centred
                   paired differences, signed so that more positives than negatives project above
                   their partner (repeng's ``read_representations``, method ``pca_diff``).
``baseline-diff``  rows minus the mean of the baseline.
``neutral-pc``     rows with the top ``n_pcs`` principal components of the (centred) baseline
                   projected out; the mean is kept (``rsastats.vectors``' ``neutral-pc``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rsastats.exceptions import ValidationError

__all__ = [
    "NEUTRAL_PCS",
    "paired_differences",
    "pca_direction",
    "pca_difference_vectors",
    "baseline_subtracted",
    "neutral_pc_projected",
]

# Components of the baseline removed by neutral-pc: rsastats.vectors.DEFAULT_N_PCS (a test keeps them equal).
NEUTRAL_PCS = 3


def paired_differences(rows: np.ndarray, valid: np.ndarray, negatives: np.ndarray) -> np.ndarray:
    """``rows[e, p] - negatives[p]`` (float64), zero where a prompt is invalid.

    ``negatives`` (prompt, layer, hidden) holds the negative of each prompt, shared by every emotion."""
    if negatives.shape[0] != rows.shape[1]:
        raise ValidationError(f"{negatives.shape[0]} contrast texts for {rows.shape[1]} prompts per emotion: "
                              "the pairs do not line up")
    diffs = rows.astype(np.float64) - negatives.astype(np.float64)[None]
    diffs[~valid.astype(bool)] = 0.0
    return diffs


def pca_direction(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """repeng's direction for one layer: unit first principal component of the centred differences
    ``positive - negative`` (pairs, hidden), signed by repeng's rule.

    The principal component's own sign is scikit-learn's (the entry of largest magnitude positive);
    repeng then projects every positive and negative on it and flips it when more pairs have the
    positive below its negative than above (a tie keeps it).
    """
    diffs = positive - negative
    centred = diffs - diffs.mean(axis=0)
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    if singular.size == 0 or singular[0] <= 0:
        raise ValidationError("the paired differences do not vary (fewer than 2 distinct pairs): no principal "
                              "component to take")
    direction = vt[0]
    direction = direction * np.sign(direction[np.argmax(np.abs(direction))])
    above = positive @ direction > negative @ direction
    below = positive @ direction < negative @ direction
    return -direction if below.mean() > above.mean() else direction


def pca_difference_vectors(rows: np.ndarray, valid: np.ndarray, negatives: np.ndarray,
                           emotions: Sequence[str] | None = None, layers: Sequence[int] | None = None) -> np.ndarray:
    """(emotion, layer, hidden): :func:`pca_direction` of each emotion's valid pairs at each layer; an
    error names the emotion and the layer (``emotions``, ``layers``: their labels)."""
    valid = valid.astype(bool)
    n_e, _, n_l, hidden = rows.shape
    out = np.empty((n_e, n_l, hidden), dtype=np.float64)
    for e in range(n_e):
        pairs = np.flatnonzero(valid[e])
        if pairs.size < 2:
            raise ValidationError(f"emotion {e} has {pairs.size} valid contrast pair(s); a principal component needs 2")
        for layer in range(n_l):
            try:
                out[e, layer] = pca_direction(rows[e, pairs, layer].astype(np.float64),
                                              negatives[pairs, layer].astype(np.float64))
            except ValidationError as exc:
                label = layers[layer] if layers is not None else layer
                hint = (" (at the embedding output both texts of a pair end in the same token; use --layers blocks)"
                        if label == 0 else "")
                raise ValidationError(f"{emotions[e] if emotions is not None else f'emotion {e}'} at layer {label}: "
                                      f"{exc.problem}{hint}") from None
    return out


def baseline_subtracted(rows: np.ndarray, valid: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """``rows - mean(baseline)`` per layer (float64), zero where a prompt is invalid."""
    out = rows.astype(np.float64) - baseline.astype(np.float64).mean(axis=0)[None, None]
    out[~valid.astype(bool)] = 0.0
    return out


def neutral_pc_projected(rows: np.ndarray, valid: np.ndarray, baseline: np.ndarray,
                         n_pcs: int = NEUTRAL_PCS) -> np.ndarray:
    """Rows with the top ``n_pcs`` principal directions of the centred baseline projected out, layer by
    layer (float64), zero where a prompt is invalid."""
    n_samples, _, hidden = baseline.shape
    if n_pcs > min(n_samples - 1, hidden):
        raise ValidationError(f"neutral-pc removes {n_pcs} components but the baseline has {n_samples} texts of "
                              f"dimension {hidden} (at most {min(n_samples - 1, hidden)} components)")
    out = rows.astype(np.float64).copy()
    for layer in range(baseline.shape[1]):
        base = baseline[:, layer].astype(np.float64)
        _, singular, vt = np.linalg.svd(base - base.mean(axis=0), full_matrices=False)
        if singular[n_pcs - 1] <= singular[0] * 1e-12:
            raise ValidationError(f"the baseline activations of layer index {layer} span fewer than {n_pcs} directions")
        basis = vt[:n_pcs]
        block = out[:, :, layer]
        out[:, :, layer] = block - (block @ basis.T) @ basis
    out[~valid.astype(bool)] = 0.0
    return out
