"""Noise ceilings: how high could a correlation be, given how noisy each RDM is?

Two quantities, for two situations:

Split-half reliability (one model with prompts)
    Split each emotion's valid prompts at random into two halves (the same prompt labels in a half for
    every emotion where all are valid: :func:`split_counts`), compute an RDM from each half,
    and correlate the halves (``rank`` method).  Average over ``n_splits`` random splits and step the
    half-length reliability up to the full prompt set with the Spearman-Brown formula
    ``r_full = 2 r_half / (1 + r_half)``.  For two models with reliabilities ``r_A`` and ``r_B`` the
    attenuation bound on their observable correlation is ``sqrt(r_A r_B)`` (``pair ceiling``), and
    ``rho / sqrt(r_A r_B)`` is the disattenuated correlation (Spearman 1904).  Spearman-Brown is
    exact for Pearson correlations of sums of parallel measurements; for a rank correlation of
    RDMs it is an approximation (studied in docs/calibration.md).

Leave-one-out bounds (a group of >= 3 models treated as noisy measurements of one geometry)
    As Nili et al. (2014) and ``rsatoolbox.inference.boot_noise_ceiling``: pool the RDMs (mean of
    rank-transformed RDMs for rank methods, of z-scored RDMs for Pearson); the *upper* bound is the
    mean correlation of each RDM with the pool of all RDMs, the *lower* bound the mean correlation
    of each RDM with the pool of the others.  Equal to rsatoolbox's values (``tests/reference``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..rng import SeedLike, seed_to_int, spawn_sequences
from ..checks import check_count
from ..measures import correlate_rows, pool_uppers, rank_method_name
from ..exceptions import EstimationError, ValidationError
from ..results import Record
from .engine import ResamplingEngine
from ..inputs import ModelInput, RDMOptions, load_models

__all__ = ["DEFAULT_N_SPLITS", "NoiseCeilingResult", "noise_ceiling", "split_counts", "split_half_reliability", "spearman_brown",
           "group_bounds", "disattenuate", "unsplittable"]

# Random half splits; the design atlas calibrated the noise-free rho with 4 (docs/calibration.md).
DEFAULT_N_SPLITS = 4
_SPLIT_BLOCK = 32


def spearman_brown(r: Any, factor: float = 2.0) -> np.ndarray:
    """Reliability of a measurement ``factor`` times as long: ``k r / (1 + (k - 1) r)``, floored at -1 (a reliability
    is a correlation; for ``k = 2`` the formula falls below -1 where ``r < -1/3``: -2 at ``r = -0.5``).  NaN stays
    NaN."""
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.fmax(factor * r / (1.0 + (factor - 1.0) * r), np.where(np.isnan(r), np.nan, -1.0))


def disattenuate(rho: float, reliability_a: float | None, reliability_b: float | None) -> float | None:
    """``rho / sqrt(r_A r_B)``; None when a reliability is missing or not positive."""
    if reliability_a is None or reliability_b is None or not (reliability_a > 0 and reliability_b > 0):
        return None
    return float(rho / np.sqrt(reliability_a * reliability_b))


def split_counts(engine: ResamplingEngine, n_splits: int, seed: SeedLike) -> list[tuple[np.ndarray, np.ndarray]]:
    """Half-split prompt indicators per paired group: (first halves, second halves), each (S, E, P).

    Split ``s`` (from child ``s // 32`` of ``seed``) draws one random key per prompt label, shared by every
    emotion and every group; each emotion's first half is the ``floor(k / 2)`` of its ``k`` valid prompts
    with the smallest keys.  With every prompt valid, the first half of every emotion holds the same prompt
    labels.  Prompt ``p`` of different emotions is often built from one template ("I feel {emotion} at
    work"); a split drawn for each emotion on its own would put different templates in different emotions'
    halves, turning a template effect that the full prompt set shares across emotions into half-RDM noise
    that is anti-correlated between the two halves of a split, which biases rho_corrected upward
    (docs/statistics.md, 'Prompts built from shared templates').  Where prompts are exchangeable within an
    emotion and independent across emotions, each emotion's half is a uniformly random half of its valid
    prompts either way, and the half RDMs have the same joint distribution."""
    out = []
    seqs = spawn_sequences(seed, -(-n_splits // _SPLIT_BLOCK))
    labels = sorted({p for g in engine.groups for p in engine.models[g.members[0]].rows.prompts})
    per_group_first = [np.zeros((n_splits,) + g.valid.shape) for g in engine.groups]
    for k, seq in enumerate(seqs):
        rng = np.random.default_rng(seq)
        for s in range(k * _SPLIT_BLOCK, min((k + 1) * _SPLIT_BLOCK, n_splits)):
            key = dict(zip(labels, rng.random(len(labels))))
            for g, group in enumerate(engine.groups):
                keys = np.array([key[p] for p in engine.models[group.members[0]].rows.prompts])
                for e, slots in enumerate(group.slots):
                    per_group_first[g][s, e, slots[np.argsort(keys[slots], kind="stable")[: len(slots) // 2]]] = 1.0
    for g, group in enumerate(engine.groups):
        first = per_group_first[g]
        out.append((first, group.valid[None].astype(np.float64) - first))
    return out


def split_half_reliability(models: Sequence[ModelInput], *, rank: str, rdm_method: str, n_splits: int,
                           seed: SeedLike) -> tuple[np.ndarray, np.ndarray]:
    """(mean split-half correlation, Spearman-Brown reliability) per model; models need prompts."""
    too_few = [f"{m.name}:{e}" for m in models for e, n in zip(m.rows.emotions, m.rows.n_valid) if n < 2]
    if too_few:
        raise ValidationError(f"split-half reliability needs >= 2 valid prompts per emotion; too few for {', '.join(too_few[:4])}")
    engine = ResamplingEngine(models, rank=rank, scheme="prompts", rdm_method=rdm_method)
    halves = split_counts(engine, n_splits, seed)
    u1 = engine.rdm_uppers([h[0] for h in halves])
    u2 = engine.rdm_uppers([h[1] for h in halves])
    rho = correlate_rows(u1, u2, rank)  # (M, S)
    defined = np.isfinite(rho).sum(axis=1)  # a model whose every split is undefined (a constant half RDM): NaN
    half = np.where(defined > 0, np.where(np.isfinite(rho), rho, 0.0).sum(axis=1) / np.maximum(defined, 1), np.nan)
    return half, spearman_brown(half)


def group_bounds(uppers: np.ndarray, rank: str) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Leave-one-out (lower, upper) noise ceiling of a group of RDM upper triangles (M, m), with the
    per-model values."""
    n = uppers.shape[0]
    pooled_all = pool_uppers(uppers, rank)
    upper_each = correlate_rows(np.broadcast_to(pooled_all, uppers.shape), uppers, rank)
    lower_each = np.array([correlate_rows(pool_uppers(np.delete(uppers, i, axis=0), rank), uppers[i], rank) for i in range(n)])
    return float(np.mean(lower_each)), float(np.mean(upper_each)), lower_each, upper_each


@dataclass(frozen=True)
class NoiseCeilingResult(Record):
    """Noise ceilings of a set of models (see the module docstring).

    ``split_half`` and ``reliability`` are per model (None for models without prompts);
    ``pair_ceiling`` maps ``(name_a, name_b)`` to ``sqrt(r_A r_B)``; ``lower``/``upper`` are the
    group's leave-one-out bounds (None for fewer than 3 models).
    """

    names: tuple[str, ...]
    split_half: tuple[float | None, ...]
    reliability: tuple[float | None, ...]
    pair_ceiling: dict[tuple[str, str], float | None]
    lower: float | None
    upper: float | None
    lower_each: tuple[float, ...] | None
    upper_each: tuple[float, ...] | None
    n_splits: int
    rank: str
    seed: int | None

    def reliability_of(self, name: str) -> float | None:
        return self.reliability[self.names.index(name)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "models": [{"name": n, "split_half": s, "reliability": r,
                        "loo_lower": None if self.lower_each is None else self.lower_each[i],
                        "loo_upper": None if self.upper_each is None else self.upper_each[i]}
                       for i, (n, s, r) in enumerate(zip(self.names, self.split_half, self.reliability))],
            "pair_ceiling": [{"a": a, "b": b, "ceiling": c} for (a, b), c in self.pair_ceiling.items()],
            "lower": self.lower, "upper": self.upper, "n_splits": self.n_splits, "rank": self.rank, "seed": self.seed,
        }

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.to_dict()["models"])


def _opt(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def unsplittable(models: Sequence[ModelInput]) -> set[str]:
    """Names of the models with prompts that have an emotion of fewer than 2 valid prompts: no split half."""
    return {m.name for m in models if m.has_prompts and int(np.min(m.rows.n_valid)) < 2}


def ceilings_for(models: Sequence[ModelInput], *, rank: str, rdm_method: str, n_splits: int, seed: SeedLike,
                 strict: bool = True) -> NoiseCeilingResult:
    """:func:`noise_ceiling` on models that are already loaded and aligned.  With ``strict=False`` (``matrix``,
    ``hypotheses``: the ceilings beside other results) the models of :func:`unsplittable` have no split-half
    reliability (None, as a model without prompts) instead of stopping everything with an error; the split keys are
    drawn per prompt label, so the other models' splits are those they would have without them."""
    thin = set() if strict else unsplittable(models)
    with_prompts = [i for i, m in enumerate(models) if m.has_prompts and m.name not in thin]
    half: list[float | None] = [None] * len(models)
    rel: list[float | None] = [None] * len(models)
    if with_prompts and rdm_method != "crossval-euclidean":
        h, r = split_half_reliability([models[i] for i in with_prompts], rank=rank, rdm_method=rdm_method,
                                      n_splits=n_splits, seed=seed)
        for k, i in enumerate(with_prompts):
            half[i], rel[i] = _opt(h[k]), _opt(r[k])
    names = tuple(m.name for m in models)
    pairs: dict[tuple[str, str], float | None] = {}
    for i in range(len(models)):
        for j in range(i + 1, len(models)):
            ri, rj = rel[i], rel[j]
            pairs[(names[i], names[j])] = None if ri is None or rj is None or ri <= 0 or rj <= 0 else float(np.sqrt(ri * rj))
    lower = upper = None
    lower_each = upper_each = None
    if len(models) >= 3:
        lo, up, le, ue = group_bounds(np.stack([m.rdm.upper() for m in models]), rank)
        lower, upper = _opt(lo), _opt(up)
        lower_each, upper_each = tuple(float(x) for x in le), tuple(float(x) for x in ue)
    return NoiseCeilingResult(names, tuple(half), tuple(rel), pairs, lower, upper, lower_each, upper_each,
                              n_splits, rank, seed_to_int(seed))


def noise_ceiling(models: Any, *, rank: str = "spearman", n_splits: int = DEFAULT_N_SPLITS, seed: SeedLike = None,
                  rdm: str = "cosine", layer: int | None = None, last_k: int | None = None, normalization: str = "raw",
                  n_pcs: int = 3) -> NoiseCeilingResult:
    """Split-half reliabilities (Spearman-Brown), pairwise attenuation ceilings and, for >= 3
    models, leave-one-out group bounds.

    Parameters
    ----------
    models : one model or a sequence of models (paths, datasets or RDMs).  Reliabilities need
        activations (prompts); group bounds need >= 3 models of any kind.
    rank : correlation used throughout (as for the comparisons it bounds).
    n_splits : random half splits averaged (>= 1).
    seed : seed of the random splits.
    rdm, layer, last_k, normalization, n_pcs : how RDMs are built.

    Returns
    -------
    NoiseCeilingResult
    """
    rank = rank_method_name(rank)
    n_splits = check_count("n_splits", n_splits, 1)
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs).checked()
    many = models if isinstance(models, (list, tuple)) else [models]
    loaded = load_models(many, options, minimum=1)
    if not any(m.has_prompts for m in loaded) and len(loaded) < 3:
        raise ValidationError("a noise ceiling needs activations (prompts) or a group of at least 3 models")
    if options.rdm == "crossval-euclidean" and len(loaded) < 3:
        raise EstimationError("split-half reliability is not defined for the cross-validated RDM (it already uses the splits)")
    return ceilings_for(loaded, rank=rank, rdm_method=options.rdm, n_splits=n_splits, seed=seed)
