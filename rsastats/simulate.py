"""Synthetic activations with a planted emotion geometry, for tests, calibration and the demo.

The generative model: each emotion ``e`` has a true vector ``mu_e`` (shared structure plus
emotion-specific parts); prompt ``p`` of emotion ``e`` at layer ``l`` is
``offset + scale_l * mu_e + noise * eps``, with isotropic Gaussian ``eps``.  Because the true
vectors are known, so is the noise-free RDM, which makes coverage of intervals checkable.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import xarray as xr

from ._rng import SeedLike, as_generator
from .data import make_activations
from .exceptions import ValidationError

__all__ = ["STUDY_EMOTIONS", "true_vectors", "simulate_activations"]

# The 21 conditions of the reference study, in its order.
STUDY_EMOTIONS = (
    "happy", "sad", "calm", "desperate", "afraid", "angry", "proud", "guilty", "nervous", "hopeful", "brooding",
    "gloomy", "reflective", "enthusiastic", "hostile", "loving", "exasperated", "blissful", "anxious", "grateful",
    "neutral",
)


def true_vectors(n_emotions: int, hidden: int, *, n_factors: int = 3, shared: float = 1.0, seed: SeedLike = 0) -> np.ndarray:
    """Emotion vectors (n_emotions, hidden) built from a few latent factors (like valence and
    arousal) plus emotion-specific directions, and a common component of size ``shared``
    (the hub that makes raw cosine RDMs anisotropic)."""
    if n_emotions < 2 or hidden < 2:
        raise ValidationError("need at least 2 emotions and 2 hidden dimensions")
    rng = as_generator(seed)
    loadings = rng.standard_normal((n_emotions, n_factors))
    basis = rng.standard_normal((n_factors, hidden)) / np.sqrt(hidden)
    specific = 0.5 * rng.standard_normal((n_emotions, hidden)) / np.sqrt(hidden)
    common = shared * rng.standard_normal(hidden) / np.sqrt(hidden)
    return loadings @ basis + specific + common


def simulate_activations(
    n_emotions: int = 21,
    n_prompts: int = 20,
    n_layers: int = 3,
    hidden: int = 64,
    *,
    noise: float = 1.0,
    vectors: np.ndarray | None = None,
    n_baseline: int = 0,
    emotions: Sequence[str] | None = None,
    attrs: Mapping[str, Any] | None = None,
    seed: SeedLike = 0,
) -> xr.Dataset:
    """An activations dataset with known true vectors (stored in ``attrs`` is only the recipe;
    pass ``vectors`` to plant your own, shape (n_emotions, hidden)).

    ``noise`` is the standard deviation of the per-prompt noise relative to the typical norm
    of a true vector (1.0 means noise as large as the signal in each prompt).
    """
    rng = as_generator(seed)
    if vectors is None:
        vectors = true_vectors(n_emotions, hidden, seed=rng)
    vectors = np.asarray(vectors, dtype=np.float64)
    if vectors.shape != (n_emotions, hidden):
        raise ValidationError(f"vectors must have shape ({n_emotions}, {hidden}), got {vectors.shape}")
    if emotions is None:
        emotions = STUDY_EMOTIONS[:n_emotions] if n_emotions <= len(STUDY_EMOTIONS) else [f"emotion{i:03d}" for i in range(n_emotions)]
    scale = np.linspace(0.5, 1.5, n_layers)
    typical = float(np.sqrt(np.mean(np.sum(vectors**2, axis=1)) / hidden))
    eps = rng.standard_normal((n_emotions, n_prompts, n_layers, hidden))
    acts = scale[None, None, :, None] * vectors[:, None, None, :] + noise * typical * eps
    baseline = None
    if n_baseline:
        baseline = noise * typical * rng.standard_normal((n_baseline, n_layers, hidden)) + vectors.mean(axis=0)[None, None, :]
    text = np.array([[f"{e} prompt {p}" for p in range(n_prompts)] for e in emotions], dtype=object)
    meta = {"model": "simulated", "family": "simulated", "method": "comprehension", "precision": "fp32",
            "pooling": "simulated", "experiment": "simulation", "stimulus_set": "simulated", "seed": ""}
    meta.update(attrs or {})
    return make_activations(acts, emotions, text=text, baseline=baseline, attrs=meta)
