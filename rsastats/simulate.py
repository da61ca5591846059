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

__all__ = ["STUDY_EMOTIONS", "true_vectors", "simulate_activations", "simulate_condition_rdms", "simulate_condition_vectors",
           "AUDIT_RECIPE_A", "AUDIT_RECIPE_B", "simulate_audit_case"]

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


def simulate_condition_rdms(
    conditions: Sequence[Mapping[str, Any]],
    variances: Mapping[str, float],
    n_emotions: int = 21,
    *,
    residual: float = 1.0,
    emotion_dependence: float = 0.0,
    seed: SeedLike = 0,
) -> np.ndarray:
    """RDMs (files, emotions, emotions) with planted variance components, for the decomposition.

    Cell ``(i, j)`` of file ``f`` is ``2 + sum_c b_c[level_c(f)]_ij + e_f,ij``: one random
    symmetric effect matrix per level of every component ``c`` in ``variances`` (``"shared"`` for
    the effect common to all files, otherwise factor names joined by ``:`` as in
    :data:`rsastats.variance.DEFAULT_COMPONENTS`), with cell variance ``variances[c]``, plus a
    file-level residual of variance ``residual``.  Components of generation sub-parameters act on
    generation files only.  ``emotion_dependence`` (in [0, 1)) is the share of each effect that
    comes from per-emotion terms ``u_i + u_j``, which makes cells that share an emotion correlate
    (correlation ``emotion_dependence / 2``), as cells of real RDMs do.

    ``conditions`` are file attributes or levels (see :func:`rsastats.variance.file_condition`).
    """
    from .variance.design import component_levels, file_condition, parse_components

    if not 0 <= emotion_dependence < 1:
        raise ValidationError(f"emotion_dependence must be in [0, 1), got {emotion_dependence}")
    if n_emotions < 3:
        raise ValidationError("need at least 3 emotions")
    rng = as_generator(seed)
    conds = [file_condition(c) for c in conditions]
    n_files = len(conds)
    a, b = np.triu_indices(n_emotions, 1)

    def effect(sd: float) -> np.ndarray:
        u = rng.standard_normal(n_emotions)
        cell = np.sqrt(emotion_dependence / 2) * (u[a] + u[b]) + np.sqrt(1 - emotion_dependence) * rng.standard_normal(a.size)
        return sd * cell

    cells = np.full((n_files, a.size), 2.0)
    for name, variance in variances.items():
        sd = float(np.sqrt(variance))
        if name == "shared":
            cells += effect(sd)[None, :]
            continue
        (comp,) = parse_components([name])
        levels = component_levels(comp, conds)
        drawn: dict[str, np.ndarray] = {}
        for f, level in enumerate(levels):
            if level is None:
                continue
            if level not in drawn:
                drawn[level] = effect(sd)
            cells[f] += drawn[level]
    for f in range(n_files):
        cells[f] += effect(float(np.sqrt(residual)))
    rdms = np.zeros((n_files, n_emotions, n_emotions))
    rdms[:, a, b] = cells
    rdms[:, b, a] = cells
    return rdms


def simulate_condition_vectors(
    conditions: Sequence[Mapping[str, Any]],
    effects: Mapping[str, float],
    n_emotions: int = 21,
    hidden: int = 32,
    *,
    noise: float = 0.1,
    shared: float = 1.0,
    emotions: Sequence[str] | None = None,
    seed: SeedLike = 0,
) -> list[xr.Dataset]:
    """Vector-set datasets, one per condition, whose geometry moves with planted condition effects.

    File ``f``'s emotion vectors are ``mu + sum_c effects[c] * P_c[level_c(f)] + noise * E_f``:
    ``mu`` from :func:`true_vectors`, one random perturbation ``P`` (emotions x hidden, scaled to the
    typical size of a vector of ``mu``) per level of each component ``c`` of ``effects`` (factor
    names joined by ``:``; generation sub-parameters act on generation files only), and independent
    noise per file; ``shared`` is the common component of :func:`true_vectors` (larger: more
    anisotropic vectors, whose RDM cells correlate more).  ``conditions`` are the files' attributes,
    written into each dataset.
    Unlike :func:`simulate_condition_rdms` the planted sizes are not variance shares of the
    rank-transformed RDM cells; use it to test the file path end to end.
    """
    from .data import make_vectors
    from .variance.design import component_levels, file_condition, parse_components

    rng = as_generator(seed)
    mu = true_vectors(n_emotions, hidden, shared=shared, seed=rng)
    typical = float(np.sqrt(np.mean(np.sum(mu**2, axis=1))))
    if emotions is None:
        emotions = STUDY_EMOTIONS[:n_emotions] if n_emotions <= len(STUDY_EMOTIONS) else [f"emotion{i:03d}" for i in range(n_emotions)]
    conds = [file_condition(c) for c in conditions]

    def perturbation() -> np.ndarray:
        return typical * rng.standard_normal((n_emotions, hidden)) / np.sqrt(hidden)

    values = [mu.copy() for _ in conds]
    for name, size in effects.items():
        (comp,) = parse_components([name])
        drawn: dict[str, np.ndarray] = {}
        for f, level in enumerate(component_levels(comp, conds)):
            if level is None:
                continue
            if level not in drawn:
                drawn[level] = perturbation()
            values[f] = values[f] + size * drawn[level]
    out = []
    for f, cond in enumerate(conditions):
        attrs = {k: v for k, v in cond.items() if v is not None}
        out.append(make_vectors(values[f] + noise * perturbation(), list(emotions), attrs=attrs))
    return out


# Attributes of the two recipes in :func:`simulate_audit_case`: every setting of the four layers recorded.
AUDIT_RECIPE_A = {"method": "comprehension", "pooling": "last", "precision": "fp16", "template": "{text}",
                  "chat_template": 1, "stimulus_set": "named sha256:0000000000000000", "experiment": "a"}
AUDIT_RECIPE_B = {"method": "generation", "pooling": "mean-generated", "precision": "fp32",
                  "template": "Write about {emotion}:", "chat_template": 1, "temperature": 0.7, "top_p": 0.9, "top_k": 50,
                  "max_new_tokens": 100, "seed": 0, "stimulus_set": "prompt-template sha256:1111111111111111",
                  "experiment": "b"}


def simulate_audit_case(
    *,
    method_effect: float = 0.8,
    difference: float = 0.0,
    reference_sensitivity: float = 1.0,
    n_emotions: int = 21,
    n_prompts: int = 8,
    hidden: int = 32,
    noise: float = 1.0,
    seed: SeedLike = 0,
) -> tuple[list[xr.Dataset], dict[str, float]]:
    """Four activations datasets for an audit with a planted truth: A, B, reference A, reference B.

    The audited models share one geometry ``G`` (:func:`true_vectors`); the reference model has its
    own, ``G_R``, drawn from the same distribution.  Recipe A reads the geometry as it is; recipe B
    adds a method perturbation ``method_effect * U`` (``U``: random emotion-specific directions of
    the typical vector size), drawn afresh for each model, so the method effect transfers between
    models in size but not in its exact directions.  ``difference > 0`` plants a geometric
    difference in B (``G + difference * D``, ``D`` like ``U``): B's geometry then differs beyond
    method effects.  ``reference_sensitivity`` scales the method effect in the reference model (1:
    the transfer assumption holds; 0.5: the reference model is half as sensitive to the method).
    Prompts add Gaussian noise (``noise`` times the typical per-dimension signal).

    Returns ``([A, B, reference_A, reference_B], truth)`` with the noise-free Spearman rhos
    ``truth = {"rho_observed": ..., "rho_reference": ...}`` of the two pairs' cosine RDMs.
    """
    from scipy.stats import spearmanr

    rng = as_generator(seed)

    def perturbation(vectors: np.ndarray) -> np.ndarray:
        typical = float(np.sqrt(np.mean(np.sum(vectors**2, axis=1))))
        return typical * rng.standard_normal(vectors.shape) / np.sqrt(vectors.shape[1])

    def cosine_cells(vectors: np.ndarray) -> np.ndarray:
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return (1.0 - unit @ unit.T)[np.triu_indices(len(vectors), 1)]

    geometry = true_vectors(n_emotions, hidden, seed=rng)
    reference = true_vectors(n_emotions, hidden, seed=rng)
    a = geometry
    b = geometry + difference * perturbation(geometry) + method_effect * perturbation(geometry)
    ref_a = reference
    ref_b = reference + reference_sensitivity * method_effect * perturbation(reference)
    truth = {"rho_observed": float(spearmanr(cosine_cells(a), cosine_cells(b))[0]),
             "rho_reference": float(spearmanr(cosine_cells(ref_a), cosine_cells(ref_b))[0])}
    files = []
    for vectors, recipe, model in ((a, AUDIT_RECIPE_A, "audited-1"), (b, AUDIT_RECIPE_B, "audited-2"),
                                   (ref_a, AUDIT_RECIPE_A, "reference"), (ref_b, AUDIT_RECIPE_B, "reference")):
        files.append(simulate_activations(n_emotions, n_prompts, 1, hidden, noise=noise, vectors=vectors,
                                          attrs={**recipe, "model": model}, seed=rng))
    return files, truth
