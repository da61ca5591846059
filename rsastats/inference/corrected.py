"""The noise-free rho (``rho_corrected``) and the noise ceiling, from random half splits of the prompts.

``rho`` as measured is attenuated by prompt noise: what would it be with unlimited prompts per emotion?
Each emotion's valid prompts are split at random into two halves, ``n_splits`` times, by one random key per
prompt label shared by every emotion and model (:func:`~rsastats.inference.ceiling.split_counts`: with every
prompt valid, the same prompt labels in a half for every emotion, so that a template shared by prompt ``p`` of
every emotion stays common to all emotions within a half).  A half's RDM is built with noise-equalized squared norms
(:mod:`rsastats.inference.equalize`): prompt noise inflates each emotion's squared mean norm by its noise
variance over the number of prompts, and where the same emotions are noisier in both models (the same
texts) the different inflations shrink the two models' cosines alike -- shared structure the noise-free
vectors do not have, which the ratio below would count as shared geometry.  Equalizing removes the
differences and keeps the common inflation, which the attenuation model describes.  For a pair of models
A, B and split ``s``:

``r(A1, A2)``  the split-half correlation of A (its RDM from one half against the other); ``aa`` is the
               mean over splits, ``bb`` likewise for B;
``r(A1, B2)``  the cross-half correlation: A's first half against B's second half (and A2 x B1); ``ab``
               is the mean over both and over splits.

The cross-half estimator (issue 14; docs/statistics.md, docs/calibration.md) is

    rho_corrected = ab / sqrt(aa * bb)

Under the attenuation model ``r(A_h, B_h') = rho_inf sqrt(rel_A(h) rel_B(h'))`` the ratio is the noise-free
rho whatever the half lengths, with no Spearman-Brown step; the numerator pairs disjoint prompt texts, so
prompt effects that both models read the same way (the same texts) do not inflate it, as they inflate
the Spearman-Brown disattenuated rho.  Its interval (:mod:`rsastats.inference.corrected_ci`) is a
jackknife-t interval over emotions on the Fisher-z scale (the half RDMs are fixed; leaving emotions out is a
weight vector over their cells), its variance corrected for the second-order part the jackknife counts twice and
widened by the variance of the random half splits; near the bound 1, where that interval fails the ratio, and with
fewer than :data:`~.corrected_ci.MIN_JACKKNIFE_EMOTIONS` emotions, it is the BCa interval of 2,000 emotion resamples,
the point and the interval clipped to [-1, 1] (``corrected_ci_method`` says which).  It is given only when every emotion has at least :data:`MIN_PROMPTS` valid prompts in both
inputs, both split-half correlations are at least :data:`MIN_SPLIT_HALF` and there are at least
:data:`MIN_CORRECTED_EMOTIONS` emotions (the design atlas and the few-emotions study found the interval
calibrated there, and not below), and when the check of uneven noise shrinkage does not fire: the ratio
recomputed on the same splits with each half's squared norms corrected for their own prompt noise
(:func:`norm_shift`; the variance emotions share at a prompt label -- templates -- is not theirs) must not move
by more than :data:`MAX_NORM_SHIFT` and :data:`NORM_SHIFT_Z` jackknife standard errors (:func:`uneven_shrinkage`;
emotion vectors whose lengths differ much relative to the noise bias the ratio).  Otherwise it is None and
``corrected_note`` says why.  Where the check does not fire, the interval is widened toward two estimates of the
ratio's bias, each by its part beyond a multiple of its standard error: the check's move, and the bias of the ratio
in sign-flip worlds built from the data's own prompt residuals (:mod:`rsastats.inference.worlds`; structured
prompt noise that both models read); :func:`~rsastats.inference.widening.widened`, and the note says so.

The noise ceiling of a pair is ``sqrt(rel_A rel_B)`` with ``rel = 2 aa / (1 + aa)`` (Spearman-Brown to the
full prompt set; ``aa`` of the same noise-equalized halves); it is given under the same rule, and not when it is below ``|rho|`` (a ceiling below the
observed rho means the split-half model does not hold, e.g. prompt effects shared by the two models).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Sequence

import numpy as np

from ..inputs import kind_text
from ..measures import rank_measure
from ..results import Record
from ..rdm import upper_indices
from .ceiling import DEFAULT_N_SPLITS, split_counts, spearman_brown
from .corrected_ci import CORRECTED_CI, NEAR_BOUND_CI, bca_near_bound, bca_reason, jackknife_corrected
from .engine import ResamplingEngine
from .widening import WIDEN_BEYOND_SE, WIDEN_NOTE, WORLD_BEYOND_SE, widen_toward_shift, widened
from .worlds import N_WORLDS, world_bias

__all__ = ["MIN_PROMPTS", "MIN_SPLIT_HALF", "MIN_CORRECTED_EMOTIONS", "DEFAULT_N_SPLITS", "CORRECTED_CI", "NEAR_BOUND_CI",
           "MAX_NORM_SHIFT", "jackknife_corrected",
           "NORM_SHIFT_Z", "WIDEN_BEYOND_SE", "WORLD_BEYOND_SE", "WIDEN_NOTE", "N_WORLDS", "CorrectedRho", "CrossHalf",
           "corrected_rhos", "norm_shift",
           "uneven_shrinkage", "widen_toward_shift", "stepped_up",
           "ceiling_withheld", "screen_ceilings"]

MIN_PROMPTS = 3
MIN_SPLIT_HALF = 0.3
# Fewer emotions: rho_corrected and the noise ceiling are not given (with the interval of 2026-12-04 it covered
# 54-93% at 4 emotions, 83-100% at 5, 91-99% at 6 (one design of 9 below 92.5%) and 95-99% at 7; widened toward the
# worlds' bias 61-94%, 86-100%, 93-99% and 95-99%; with the iterated worlds 61-94%, 86-100%, 93-100% and 96-100%;
# with the equalized worlds (2026-12-06) 64-94%, 87-100%, 94-99% and 95.5-99%, and with the BCa route below 20 emotions
# (corrected_ci.MIN_JACKKNIFE_EMOTIONS, the same day) 94.3-99.8% at 6 and 95.8-99.7% at 7; 7 is kept because the
# widening's amounts were chosen on designs with 7 or more; docs/calibration.md, "Fewer than 8 emotions").
MIN_CORRECTED_EMOTIONS = 7
# The check of uneven noise shrinkage (:func:`norm_shift`): rho_corrected is not given when it moves by more than
# MAX_NORM_SHIFT and more than NORM_SHIFT_Z jackknife standard errors (docs/calibration.md, 'Emotion vectors of
# different lengths').  The jackknife standard error of the move overstates its SD over data sets (1.12-1.67x in the
# designs with 12 or more emotions), so 1.96 of them is a stricter test than 5%; 1.4 brought the second model's
# `sizes` designs into the band but withheld rho_corrected in 13% of the third model's data sets at 3 and 4 prompts
# (2-4% at 1.96) (analyses/calibration/uneven_threshold.py, docs/statistics.md).
MAX_NORM_SHIFT = 0.05
NORM_SHIFT_Z = 1.96
_BATCH = 256


@dataclass(frozen=True)
class CorrectedRho(Record):
    """The noise-free rho of one pair and its interval, the split-half correlations, the noise ceiling;
    ``None`` values with ``corrected_note`` / ``ceiling_note`` saying why."""

    rho_corrected: float | None
    corrected_ci_low: float | None
    corrected_ci_high: float | None
    corrected_ci_method: str
    corrected_note: str
    split_half_a: float | None
    split_half_b: float | None
    reliability_a: float | None
    reliability_b: float | None
    noise_ceiling: float | None
    ceiling_note: str
    n_splits: int | None


def stepped_up(split_half: float | None) -> float | None:
    """Spearman-Brown reliability of the full prompt set, or None where the split-half correlation is missing or
    not positive (the formula assumes a positive reliability; below -1/3 it leaves [-1, 1])."""
    return float(spearman_brown(split_half)) if split_half is not None and split_half > 0 else None


def ceiling_withheld(split_half: float | None, n_emotions: int, thin: bool = False) -> str:
    """Why a reliability or noise ceiling from this split-half correlation is not given (the rule of
    ``rho_corrected``: at least :data:`MIN_CORRECTED_EMOTIONS` emotions and a split-half correlation of at
    least :data:`MIN_SPLIT_HALF`; ``thin``: the model has an emotion with fewer than 2 valid prompts, so no split
    half), or ""."""
    if thin:
        return "no split-half reliability: an emotion has fewer than 2 valid prompts, so its prompts cannot be split"
    if split_half is None:
        return "no split-half reliability (no prompts to split, or a cross-validated RDM)"
    if n_emotions < MIN_CORRECTED_EMOTIONS:
        return (f"a noise ceiling needs >= {MIN_CORRECTED_EMOTIONS} emotions ({n_emotions} here): the split-half "
                "correlations rest on too few RDM cells (docs/calibration.md, 'Fewer than 8 emotions')")
    if not split_half >= MIN_SPLIT_HALF:
        return f"split-half correlation {split_half:.3f} is below {MIN_SPLIT_HALF}: too noisy for a ceiling"
    return ""


def screen_ceilings(nc: dict, n_emotions: int, rhos: dict | None = None, thin: Collection[str] = ()) -> dict:
    """A :meth:`NoiseCeilingResult.to_dict` with each model's ``reliability`` and each ``pair_ceiling`` that
    :func:`ceiling_withheld` rules out set to None, and a ``note`` saying why; a pair ceiling below the pair's
    ``|rho|`` (``rhos``: ``(a, b) -> rho``) is withheld too, as in ``compare`` (the leave-one-out group bounds
    are correlations between RDMs, kept); ``thin``: the names of models whose prompts cannot be split
    (:func:`~rsastats.inference.ceiling.unsplittable`)."""
    notes = {m["name"]: ceiling_withheld(m["split_half"], n_emotions, m["name"] in thin) for m in nc["models"]}
    models = [{**m, "reliability": None if notes[m["name"]] else m["reliability"], "note": notes[m["name"]]}
              for m in nc["models"]]
    pairs = []
    for p in nc["pair_ceiling"]:
        note = "; ".join(dict.fromkeys(filter(None, (notes[p["a"]], notes[p["b"]]))))
        rho = (rhos or {}).get((p["a"], p["b"]))
        if not note and p["ceiling"] is not None and rho is not None and p["ceiling"] < abs(rho):
            note = f"the ceiling's estimate is below |rho| ({abs(rho):.3f}), so it bounds nothing here"
        pairs.append({**p, "ceiling": None if note else p["ceiling"], "note": note})
    return {**nc, "models": models, "pair_ceiling": pairs}


def _withheld(note: str, n_splits: int | None = None, halves: tuple = (None, None), ceiling_note: str = "") -> CorrectedRho:
    rel = tuple(stepped_up(h) for h in halves)
    return CorrectedRho(None, None, None, CORRECTED_CI, note, halves[0], halves[1], rel[0], rel[1], None,
                        ceiling_note or note, n_splits)


class CrossHalf:
    """Fixed upper triangles of every model's full RDM and of both halves of every split; the rho,
    split-half and cross-half correlations for any batch of emotion weights."""

    def __init__(self, models: Sequence, rank: str, rdm_method: str, n_splits: int, seed: np.random.SeedSequence,
                 equalize: bool | str = True):
        engine = ResamplingEngine(models, rank=rank, scheme="prompts", rdm_method=rdm_method)
        self._build(engine, split_counts(engine, n_splits, seed), n_splits, equalize)

    def _build(self, engine: ResamplingEngine, halves: list, n_splits: int, equalize: bool | str) -> None:
        first = engine.rdm_uppers([h[0] for h in halves], equalize)  # (M, S, m); equalize=False: the plain halves
        second = engine.rdm_uppers([h[1] for h in halves], equalize)
        self.engine, self.halves = engine, halves
        self.n_models, self.n_splits, self.n_emotions = engine.n_models, n_splits, engine.n_emotions
        self.rows = np.concatenate([engine.fixed, first.reshape(-1, first.shape[-1]), second.reshape(-1, first.shape[-1])])
        self.measure = rank_measure(engine.rank)
        self.order = np.argsort(self.rows, axis=-1) if self.measure.family == "linear" and self.measure.ranks else None

    def renormed(self, equalize: bool | str = True, engine: ResamplingEngine | None = None) -> "CrossHalf":
        """The same splits with the half RDMs' squared norms treated otherwise (``equalize`` of
        :meth:`ResamplingEngine.rdm_uppers`), or of another ``engine`` of the same design (a sign-flip world)."""
        out = CrossHalf.__new__(CrossHalf)
        out._build(engine or self.engine, self.halves, self.n_splits, equalize)
        return out

    def _half(self, model: int, split: int, half: int) -> int:
        return self.n_models + half * self.n_models * self.n_splits + model * self.n_splits + split

    def _correlate(self, weights: np.ndarray | None, pairs: list[tuple[int, int]]) -> np.ndarray:
        """The measure between rows ``i`` and ``j`` of every pair, for each weight vector: (B, n_pairs)."""
        n_b = 1 if weights is None else weights.shape[0]
        if self.measure.family == "linear":
            z = self.measure.standardized_fixed(self.rows, self.order, weights)
            return np.clip(np.stack([np.einsum("bm,bm->b", z[i], z[j]) for i, j in pairs], axis=1), -1.0, 1.0)
        shape = (n_b, self.rows.shape[1])
        return np.stack([self.measure.correlate(np.broadcast_to(self.rows[i], shape), np.broadcast_to(self.rows[j], shape),
                                                weights) for i, j in pairs], axis=1)

    def split_values(self, weights: np.ndarray | None, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rho (B, n_pairs), split-half correlations (B, M, S), cross-half correlations (B, n_pairs, S), the
        latter the mean of A1 x B2 and A2 x B1 of each split); ``weights`` (B, m) or None."""
        split_pairs = [(self._half(i, s, 0), self._half(i, s, 1)) for i in range(self.n_models) for s in range(self.n_splits)]
        cross = [(self._half(i, s, h), self._half(j, s, 1 - h)) for i, j in pairs for s in range(self.n_splits)
                 for h in (0, 1)]
        values = self._correlate(weights, [(int(i), int(j)) for i, j in pairs] + split_pairs + cross)
        n_b, n_p = values.shape[0], len(pairs)
        aa = values[:, n_p:n_p + len(split_pairs)].reshape(n_b, self.n_models, self.n_splits)
        ab = values[:, n_p + len(split_pairs):].reshape(n_b, n_p, self.n_splits, 2).mean(axis=-1)
        return values[:, :n_p], aa, ab

    def components(self, weights: np.ndarray | None, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rho (B, n_pairs), split-half aa (B, M), cross-half ab (B, n_pairs)), means over the splits."""
        rho, aa, ab = self.split_values(weights, pairs)
        return rho, aa.mean(axis=-1), ab.mean(axis=-1)

    def split_variance(self, pairs: np.ndarray) -> np.ndarray:
        """The variance that the random half splits add to each pair's ratio, given the data (n_pairs,): the
        ratio of the split means linearized (delta method), ``l_s = (ab_s - ab) / sqrt(aa bb) - ratio / 2
        ((aa_s - aa) / aa + (bb_s - bb) / bb)``, its variance over the splits divided by their number; NaN
        with fewer than 2 splits or a split-half mean <= 0."""
        _, aa_s, ab_s = self.split_values(None, pairs)
        aa_s, ab_s = aa_s[0], ab_s[0]
        if self.n_splits < 2:
            return np.full(len(pairs), np.nan)
        a, b = aa_s[pairs[:, 0]], aa_s[pairs[:, 1]]  # (n_pairs, S)
        am, bm, abm = a.mean(axis=1, keepdims=True), b.mean(axis=1, keepdims=True), ab_s.mean(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            root = np.sqrt(np.where((am > 0) & (bm > 0), am * bm, np.nan))
            lin = (ab_s - abm) / root - abm / root / 2.0 * ((a - am) / am + (b - bm) / bm)
        return lin.var(axis=1, ddof=1) / self.n_splits

    def corrected(self, weights: np.ndarray | None, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rho_corrected (B, n_pairs), aa (B, M)); NaN where a split-half correlation is <= 0."""
        _, aa, ab = self.components(weights, pairs)
        ai, aj = aa[:, pairs[:, 0]], aa[:, pairs[:, 1]]
        ok = (ai > 0) & (aj > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(ok, ab / np.sqrt(np.where(ok, ai * aj, 1.0)), np.nan), aa

    def batched(self, weights: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """:meth:`corrected` for many weight vectors, in batches (memory bounded)."""
        return np.concatenate([self.corrected(weights[s:s + _BATCH], pairs)[0] for s in range(0, len(weights), _BATCH)])

    def emotion_resamples(self, counts: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """rho_corrected of every pair for emotion resamples ``counts`` (B, n) -- a resample weighs cell (i, j)
        by ``counts_i counts_j``: (B, n_pairs)."""
        iu, ju = upper_indices(counts.shape[1])
        return self.batched(counts[:, iu] * counts[:, ju], pairs)

    def leave_one_out(self, pairs: np.ndarray) -> np.ndarray:
        """rho_corrected of every pair with each emotion left out in turn: (n, n_pairs)."""
        iu, ju = upper_indices(self.n_emotions)
        leave_out = 1.0 - np.eye(self.n_emotions)
        return self.batched(leave_out[:, iu] * leave_out[:, ju], pairs)


def norm_shift(halves: CrossHalf, pairs: np.ndarray, point: np.ndarray, jack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The check of rho_corrected against uneven noise shrinkage: per pair, how far the cross-half ratio moves
    when each emotion's squared norm in the half RDMs is corrected for its own prompt noise (unbiased for the
    noise-free squared norm; less the variance emotions share at a prompt label,
    :func:`~rsastats.inference.equalize.shared_prompt_variance`) instead of equalized (``point`` (n_pairs,),
    ``jack`` (n, n_pairs): the equalized ratio and its leave-one-emotion-out values), and the jackknife standard
    error of that move over emotions: ``(shift, se)``, NaN where the corrected halves give no ratio."""
    check = halves.renormed("noise-free")
    other, _ = check.corrected(None, pairs)
    moved = check.leave_one_out(pairs) - jack
    n = moved.shape[0]
    with np.errstate(invalid="ignore"):
        se = np.sqrt((n - 1) / n * ((moved - moved.mean(axis=0)) ** 2).sum(axis=0))
    return other[0] - point, se


def _why_not(model, rdm_method: str) -> str:
    """Why this model's pairs get no corrected rho, or ""."""
    if not model.has_prompts:
        return (f"rho_corrected needs per-prompt activations in both inputs; {model.name} {kind_text(model.kind)} "
                "(no prompts to split)")
    if rdm_method == "crossval-euclidean":
        return "rho_corrected is not defined for the cross-validated RDM (it already splits the prompts)"
    fewest = int(model.rows.n_valid.min())
    if fewest < MIN_PROMPTS:
        return (f"rho_corrected needs >= {MIN_PROMPTS} valid prompts per emotion in both inputs ({model.name} has "
                f"{fewest} for an emotion); its interval is not calibrated below that")
    n = model.rdm.n_emotions
    if n < MIN_CORRECTED_EMOTIONS:
        return (f"rho_corrected and the noise ceiling need >= {MIN_CORRECTED_EMOTIONS} emotions ({n} here): with fewer, "
                "the split-half correlations rest on too few RDM cells and the interval under-covered "
                "(docs/calibration.md, 'Fewer than 8 emotions')")
    return ""


def uneven_shrinkage(shift: float, se: float) -> str:
    """Why rho_corrected is not given when the check of :func:`norm_shift` moves it by ``shift`` (standard
    error ``se``), or "" (the move is at most :data:`MAX_NORM_SHIFT`, or within :data:`NORM_SHIFT_Z` standard
    errors, or not defined)."""
    if not (abs(shift) > MAX_NORM_SHIFT and abs(shift) > NORM_SHIFT_Z * se):
        return ""
    size = f"{abs(shift) / se:.1f} standard errors" if se > 0 else "its standard error is 0"
    return (f"rho_corrected not given: it moves by {shift:+.3f} ({size}) when each "
            "emotion's squared norm is corrected for its own prompt noise instead of equalized -- the emotions' "
            "vectors differ in length so much, relative to the prompt noise, that the noise shrinks their cosines "
            "unevenly, which the split-half attenuation model does not describe (docs/statistics.md, 'Emotion "
            "vectors of different lengths')")


def _split_half_rule(aa: np.ndarray, i: int, j: int) -> str:
    if not (np.isfinite(aa[i]) and np.isfinite(aa[j])):  # min() would pass over a NaN
        return ("rho_corrected and the noise ceiling not given: a split-half correlation is undefined (an RDM of half "
                "the prompts is constant, or its noise-equalized squared norms are not positive)")
    worst = min(float(aa[i]), float(aa[j]))
    if worst >= MIN_SPLIT_HALF:
        return ""
    return (f"rho_corrected and the noise ceiling not given: a split-half correlation is {worst:.2f} "
            f"(< {MIN_SPLIT_HALF}); the noise-free rho cannot be estimated reliably from these prompts")


def _pair_result(i: int, j: int, point: float, aa: np.ndarray, rho: float, interval: tuple | None, bca: tuple | None,
                 n_splits: int, shift: tuple[float, float] = (np.nan, np.nan),
                 world: tuple[float, float] = (np.nan, np.nan)) -> CorrectedRho:
    """One pair's record: ``interval`` the jackknife interval (or None near the bound), ``bca`` the BCa
    interval's ``(low, high, note)`` where it is used; ``shift`` and ``world`` the check's move and the worlds'
    bias with their standard errors (:func:`~rsastats.inference.widening.widened`)."""
    halves = (float(aa[i]), float(aa[j]))
    note = _split_half_rule(aa, i, j)
    if note:
        return _withheld(note, n_splits, halves)
    rel = (float(spearman_brown(halves[0])), float(spearman_brown(halves[1])))
    ceiling, ceiling_note = float(np.sqrt(rel[0] * rel[1])), ""
    if ceiling < abs(rho):
        ceiling_note = (f"noise ceiling not given: its estimate is below |rho| ({abs(rho):.3f}), so it bounds nothing here "
                        "(the split-half reliabilities are too noisy, or prompt effects shared by both models raise rho)")
        ceiling = None
    uneven = uneven_shrinkage(*shift)
    if uneven:
        return CorrectedRho(None, None, None, CORRECTED_CI, uneven, *halves, *rel, ceiling, ceiling_note, n_splits)
    if interval is not None:
        low, high, wide = widened(float(interval[0]), float(interval[1]), shift, world)
        return CorrectedRho(float(point), low, high, CORRECTED_CI, wide, *halves, *rel, ceiling, ceiling_note,
                            n_splits)
    low, high, note = bca
    if not np.isfinite(low):
        return CorrectedRho(None, None, None, NEAR_BOUND_CI, note, *halves, *rel, ceiling, ceiling_note, n_splits)
    low, high, wide = widened(low, high, shift, world)
    note = "; ".join(filter(None, (note, wide)))
    return CorrectedRho(float(min(1.0, max(-1.0, point))), low, high, NEAR_BOUND_CI, note, *halves, *rel, ceiling,
                        ceiling_note, n_splits)


def corrected_rhos(models: Sequence, pairs: np.ndarray, rho: np.ndarray, *, rank: str, rdm_method: str, n_splits: int,
                   n_boot: int, confidence: float, split_seed: np.random.SeedSequence,
                   boot_seed: np.random.SeedSequence, world_seed: np.random.SeedSequence,
                   n_worlds: int = N_WORLDS) -> list[CorrectedRho]:
    """:class:`CorrectedRho` of every pair of aligned ``models`` (see the module docstring); a pair with
    a model that has no prompts, or too few, gets None with the reason.

    Splits come from ``split_seed`` (split ``s`` as :func:`~rsastats.inference.ceiling.split_counts`
    draws it, over the models that have prompts); the emotion resamples from ``boot_seed`` (as the
    engine draws emotion resamples); the sign-flip worlds of the given pairs from ``world_seed``
    (:func:`~rsastats.inference.worlds.world_bias`)."""
    reasons = [_why_not(m, rdm_method) for m in models]
    usable = [i for i, why in enumerate(reasons) if not why]
    position = {i: k for k, i in enumerate(usable)}
    kept = [k for k, (i, j) in enumerate(pairs) if i in position and j in position]
    out: list[CorrectedRho | None] = [None if k in kept else _withheld(reasons[i] or reasons[j])
                                      for k, (i, j) in enumerate(pairs)]
    if not kept:
        return out
    sub = np.array([[position[int(pairs[k][0])], position[int(pairs[k][1])]] for k in kept])
    halves = CrossHalf([models[i] for i in usable], rank, rdm_method, n_splits, split_seed)
    point, aa = halves.corrected(None, sub)
    point, aa = point[0], aa[0]
    jack = halves.leave_one_out(sub)
    shift, se = norm_shift(halves, sub, point, jack)
    given = [q for q in range(len(sub)) if not _split_half_rule(aa, *sub[q])
             and not uneven_shrinkage(float(shift[q]), float(se[q]))]  # the interval only where it is shown
    intervals = (dict(zip(given, jackknife_corrected(halves, sub[given], point[given], jack[:, given], confidence)))
                 if given else {})
    bias, bias_se = np.full(len(sub), np.nan), np.full(len(sub), np.nan)
    if given and n_worlds:
        bias[given], bias_se[given] = world_bias(halves, sub[given], world_seed, n_worlds)
    need = [q for q in given if intervals[q] is None]
    bca: dict[int, tuple] = {}
    if need:  # the emotion resamples of the BCa interval, drawn only where it is used (near the bound, few emotions)
        counts, _ = ResamplingEngine(models, rank=rank, scheme="emotions", rdm_method=rdm_method).draws(n_boot, boot_seed)
        reps = halves.emotion_resamples(counts, sub[need])
        reason = bca_reason(halves.n_emotions)
        bca = {q: bca_near_bound(float(point[q]), reps[:, c], jack[:, q], confidence, reason)
               for c, q in enumerate(need)}
    for q, k in enumerate(kept):
        out[k] = _pair_result(int(sub[q][0]), int(sub[q][1]), float(point[q]), aa, float(rho[k]), intervals.get(q),
                              bca.get(q), n_splits, (float(shift[q]), float(se[q])),
                              (float(bias[q]), float(bias_se[q])))
    return out
