"""The resampling engine: rank correlations between many models for many resamples at once.

What one resample is
--------------------
``emotions``  draw ``n`` emotions with replacement.  The resampled RDM's upper triangle is the
              multiset in which original cell ``{i, j}`` appears ``count_i * count_j`` times (the
              self-pairs that duplicates create are dropped), so a resample is a weight vector over
              the original cells and the correlation is a weighted one (:mod:`rsastats.measures.kernels`).
``prompts``   within every emotion draw its valid prompts with replacement (prompt-count vectors),
              recompute the emotion means, the normalization's mean-vector step, the RDM and rho.
              Models whose files have the same prompt labels and valid masks are *paired*: they
              share the prompt counts (prompt ``p`` is the same stimulus for every model).
``both``      prompts first (one prompt resample per original emotion, shared by its duplicates),
              then emotions.

How it is fast
--------------
For each model the Gram matrix of all prompt rows ``K = X X^T`` (``E*P x E*P``) is computed once.
The Gram matrix of the resampled means is ``G[e, f] = c_e^T K[e, f] c_f / (n_e n_f)``; for each
emotion ``f`` and model one matrix product ``c_f^T K[f, :f+1 blocks]`` serves every resample of a batch
(only ``e <= f`` is computed; ``G`` is symmetric), and the prompt counts are shared by every model of a paired
group (:mod:`rsastats.inference.gram_step`); in ``both``, only for the emotions a resample drew (the others'
cells have weight 0: about a third of the products are skipped at 21 emotions).  Cosine, correlation (rows centred
across hidden first) and Euclidean RDMs follow from ``G``, cell by cell where no mean-vector step across emotions
intervenes; so do the ``emotion-mean`` and ``unit`` normalizations.  ``zscore`` is not a function of ``G``: it
takes the direct route (resampled means, then z-scores), as does any model whose Gram blocks would be larger than
the direct computation.  Spearman ranks of a fixed RDM are sorted once.

Reproducibility
---------------
Resamples are drawn in blocks of :data:`DRAW_BLOCK`; block ``k`` draws from child ``k`` of the seed
(:func:`rsastats.rng.spawn_sequences`), and the computation of one resample never mixes with the
others of its batch, so results are identical for any ``batch_size`` and the first ``B`` replicates
do not change when more are asked for.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..measures import rank_measure
from ..measures.kernels import degenerate, weighted_kendall
from ..rng import SeedLike, seed_sequence, spawn_sequences
from ..exceptions import ValidationError
from ..rdm import rdm_from_gram, upper_indices
from .gram_step import cells_from_lower, gram_columns, lower_grams, plain_cells, stand_in_cells
from .equalize import (equalized, gram_post, half_noise, noise_free_norms, prompt_noise, prompt_squares,
                       shared_prompt_variance, vector_gram)
from ..inputs import ModelInput

__all__ = ["DRAW_BLOCK", "SCHEMES", "ResamplingEngine", "all_pairs"]

DRAW_BLOCK = 64
SCHEMES = ("emotions", "prompts", "both")
_GRAM_BYTES_LIMIT = 1 << 30  # Gram blocks above this many bytes per paired group fall back to the direct route


def all_pairs(n: int) -> np.ndarray:
    """Index pairs ``(i, j)``, ``i < j``, row-major."""
    return np.stack(np.triu_indices(n, k=1), axis=1)


@dataclass
class _Group:
    """Models that share prompt resamples (same prompt labels and valid masks)."""

    members: list[int]
    valid: np.ndarray  # (E, P) bool
    slots: list[np.ndarray]  # valid prompt indices per emotion
    post: str
    gram_blocks: list[list[np.ndarray]] | None  # [emotion f][member]: (P, (f+1) * P)
    rows: list[np.ndarray] | None  # direct route: per member (E, P, H)
    noise: np.ndarray | None = None  # per member and emotion, the prompt noise variance (once asked for)
    squares: np.ndarray | None = None  # per member, emotion and prompt, the row's squared norm (with ``noise``)
    shared: np.ndarray | None = None  # per member, the prompt variance emotions share at a label (once asked for)


class ResamplingEngine:
    """Correlations between every requested pair of models, for the point estimate, for bootstrap
    resamples (``scheme``) and for jackknife leave-one-out samples.

    Parameters
    ----------
    models : aligned :class:`ModelInput` objects (same emotions, same order).
    rank : canonical rank method (``spearman``, ``pearson``, ``kendall-b``, ``kendall-a``).
    scheme : ``emotions``, ``prompts`` or ``both``.
    rdm_method : the RDM method the models' RDMs were computed with.
    gram : force (True) or forbid (False) the Gram route; default chooses by cost.
    workers : threads for bootstrap batches (default: the CPU count, at most 4); never changes results.
    """

    skip_absent = True  # ``both``: skip the cells of emotions a resample did not draw (False: the former route)

    def __init__(self, models: Sequence[ModelInput], *, rank: str, scheme: str, rdm_method: str, gram: bool | None = None,
                 workers: int | None = None):
        self.models = list(models)
        self.workers = max(1, int(workers if workers is not None else min(4, os.cpu_count() or 1)))
        self.rank = rank
        self.scheme = scheme
        self.rdm_method = rdm_method
        self.n_models = len(self.models)
        self.n_emotions = self.models[0].rdm.n_emotions
        self.iu, self.ju = upper_indices(self.n_emotions)
        self.fixed = np.stack([m.rdm.upper() for m in self.models])  # (M, m)
        self.measure = rank_measure(rank)
        self.fixed_order = self.order_of(self.fixed)
        self.groups: list[_Group] = []
        if scheme in ("prompts", "both"):
            self._build_groups(gram)

    # ------------------------------------------------------------------ set-up
    def _build_groups(self, gram: bool | None) -> None:
        missing = [m.name for m in self.models if m.rows is None]
        if missing:
            raise ValidationError(f"the prompt bootstrap needs per-prompt activations for every input; "
                                  f"{', '.join(missing)} has none (use the emotion bootstrap)")
        if self.rdm_method == "crossval-euclidean":
            raise ValidationError("the cross-validated RDM cannot be prompt-bootstrapped (resampled prompts would "
                                  "appear in several folds); use the emotion bootstrap")
        keyed: dict[tuple, list[int]] = {}
        for i, m in enumerate(self.models):
            key = (m.rows.prompts, m.rows.valid.tobytes(), m.rows.valid.shape, m.rows.post)
            keyed.setdefault(key, []).append(i)
        for members in keyed.values():
            rows0 = self.models[members[0]].rows
            valid = rows0.valid
            slots = [np.flatnonzero(v) for v in valid]
            n_e, n_p, _ = rows0.values.shape
            # members read the same prompts but may differ in width (e.g. 576 and 384 hidden units)
            hidden = min(self.models[i].rows.values.shape[-1] for i in members)
            use_gram = rows0.post != "zscore"
            gram_bytes = len(members) * n_p * n_p * n_e * (n_e + 1) // 2 * 8
            if gram is None:
                use_gram = use_gram and n_p * (n_e + 1) <= 2 * hidden + n_e and gram_bytes <= _GRAM_BYTES_LIMIT
            else:
                use_gram = use_gram and gram
            values = [self.models[i].rows.values for i in members]
            blocks, rows = (self._gram_blocks(values), None) if use_gram else (None, values)
            self.groups.append(_Group(members, valid, slots, rows0.post, blocks, rows))

    def _gram_blocks(self, values: list[np.ndarray]) -> list[np.ndarray]:
        from threadpoolctl import threadpool_limits

        n_e, n_p, _ = values[0].shape

        def gram(v: np.ndarray) -> np.ndarray:
            x = v.reshape(n_e * n_p, v.shape[-1])  # models may differ in width
            if self.rdm_method == "correlation":
                x = x - x.mean(axis=1, keepdims=True)  # linear per row: commutes with the prompt mean
            return x @ x.T

        # One model per thread, single-threaded BLAS inside: the products then do not depend on how
        # many BLAS threads a machine (or a dask worker, which runs with one) would otherwise use, so
        # a worker that builds this engine from the same files gets the same Gram matrices bit for bit.
        with threadpool_limits(limits=1, user_api="blas"):
            if self.workers > 1 and len(values) > 1:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(min(self.workers, len(values))) as pool:
                    grams = list(pool.map(gram, values))
            else:
                grams = [gram(v) for v in values]
        # Block (f, model): (P, (f+1) * P), the rows of emotion f against the rows of emotions <= f.
        return [[np.ascontiguousarray(k[f * n_p:(f + 1) * n_p, : (f + 1) * n_p]) for k in grams] for f in range(n_e)]

    # ------------------------------------------------------------------ RDMs of prompt resamples
    def _group_uppers(self, group: _Group, counts: np.ndarray, equalize: bool | str = False,
                      present: np.ndarray | None = None) -> np.ndarray:
        """Upper triangles (n_members, B, m) of the RDMs for prompt counts (B, E, P) (the rest: :meth:`rdm_uppers`)."""
        n_b, n_e, _ = counts.shape
        n_members = len(group.members)
        totals = counts.sum(axis=-1)  # (B, E)
        equalize = equalize if group.post != "zscore" else False
        if group.gram_blocks is not None and not equalize and plain_cells(group.post, self.rdm_method):
            lower = lower_grams(counts, group.gram_blocks, present)  # only the drawn emotions' rows where given
            return cells_from_lower(lower, totals, self.iu, self.ju, self.rdm_method)
        if group.gram_blocks is not None:
            gram = np.empty((n_b, n_members, n_e, n_e))
            for f, k, column in gram_columns(counts, group.gram_blocks):
                gram[:, k, : f + 1, f] = column
                gram[:, k, f, : f + 1] = column
            gram = gram / (totals[:, None, :, None] * totals[:, None, None, :])
        elif equalize:  # the Gram matrices of the raw means; the normalization's mean step below
            gram = np.stack([vector_gram(values, counts, totals, "none", self.rdm_method) for values in group.rows], axis=1)
        else:  # the means, then the normalization's mean step on them (zscore is not a function of their Gram matrix)
            grams = [vector_gram(values, counts, totals, group.post, self.rdm_method) for values in group.rows]
            return rdm_from_gram(np.stack(grams), self.rdm_method)[..., self.iu, self.ju]
        if equalize:
            if group.noise is None:  # all the prompts' estimate, and the rows' squared norms for a resample's own
                group.noise = prompt_noise(group.valid, group.gram_blocks, group.rows, self.rdm_method)
                group.squares = prompt_squares(group.gram_blocks, group.rows, self.rdm_method)
            noise = half_noise(gram, counts, totals, group.squares, group.noise)  # (B, members, E)
            if equalize == "noise-free":  # the mean step inside: the floor applies to the vectors' final norms
                if group.shared is None:  # a template's share of the prompt variance is not the emotion's own
                    group.shared = np.maximum(shared_prompt_variance(group.valid, group.gram_blocks, group.rows,
                                                                     self.rdm_method), 0.0)  # a variance: >= 0
                own = np.maximum(noise - group.shared[:, None], 0.0)
                gram = noise_free_norms(gram, own, counts, totals, group.post, self.rdm_method)
                return np.ascontiguousarray(rdm_from_gram(gram, self.rdm_method)[..., self.iu, self.ju].transpose(1, 0, 2))
            gram = equalized(gram, noise, counts, totals)
        gram = gram_post(gram, group.post, self.rdm_method)
        return np.ascontiguousarray(rdm_from_gram(gram, self.rdm_method)[..., self.iu, self.ju].transpose(1, 0, 2))

    def rdm_uppers(self, prompt_counts: Sequence[np.ndarray], equalize: bool | str = False,
                   present: np.ndarray | None = None) -> np.ndarray:
        """Upper triangles (M, B, m) for one prompt-count array (B, E, P) per paired group.

        ``equalize``: ``True`` -- every emotion's squared norm carries the same prompt-noise inflation (the
        half RDMs of rho_corrected); ``"noise-free"`` -- each squared norm less its whole inflation (the
        check of rho_corrected); the noise as each resample's own prompts estimate it where they are enough
        (:func:`~rsastats.inference.equalize.half_noise`); :mod:`rsastats.inference.equalize`.  Not for ``zscore``
        vectors.

        ``present`` (B, E) bool, the emotions each resample drew: the cells of the others may hold finite stand-ins
        (they have weight 0; :func:`~rsastats.inference.gram_step.lower_grams`); the rest are the same numbers."""
        n_b = prompt_counts[0].shape[0]
        out = np.empty((self.n_models, n_b, self.fixed.shape[1]))
        for group, counts in zip(self.groups, prompt_counts):
            out[group.members] = self._group_uppers(group, counts, equalize, present)
        return out

    # ------------------------------------------------------------------ correlations
    def evaluate(self, pairs: np.ndarray, emotion_counts: np.ndarray | None = None,
                 prompt_counts: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """Correlations (B, n_pairs) for a batch given as emotion counts (B, E) and/or one prompt
        count array (B, E, P) per paired group; NaN where a resampled RDM is constant."""
        weights = None
        if emotion_counts is not None:
            ec = np.asarray(emotion_counts, dtype=np.float64)
            weights = (ec[:, self.iu] * ec[:, self.ju])[None]  # (1, B, m)
        if prompt_counts is not None:
            present = None if emotion_counts is None or not self.skip_absent else ec > 0
            values = self.rdm_uppers(prompt_counts, present=present)
            if present is not None and not present.all():  # the cells not computed: distinct, not tied
                values = stand_in_cells(values, weights[0])
            order = None
        else:
            n_b = 1 if emotion_counts is None else np.shape(emotion_counts)[0]
            values = np.broadcast_to(self.fixed[:, None, :], (self.n_models, n_b, self.fixed.shape[1]))
            order = None if self.fixed_order is None else self.fixed_order[:, None, :]
        return self._correlate(values, weights, pairs, order)

    def order_of(self, uppers: np.ndarray) -> np.ndarray | None:
        """``argsort`` of fixed upper triangles when the measure ranks them (sorted once for all resamples)."""
        return np.argsort(uppers, axis=-1) if self.measure.family == "linear" and self.measure.ranks else None

    def _correlate(self, values: np.ndarray, weights: np.ndarray | None, pairs: np.ndarray, order: np.ndarray | None) -> np.ndarray:
        if self.measure.family == "linear":
            if order is not None and weights is not None and values.shape[1] == weights.shape[1]:
                z = self.measure.standardized_fixed(self.fixed, self.fixed_order, weights[0])  # rows sorted once
            else:
                z, _ = self.measure.standardized(values, weights, order)
            used = np.unique(pairs)
            out = np.empty((values.shape[1], len(pairs)))
            zz = {i: z[i] for i in used}
            for k, (i, j) in enumerate(pairs):
                out[:, k] = np.einsum("bm,bm->b", zz[i], zz[j])
            return np.clip(out, -1.0, 1.0)
        variant = self.measure.variant
        n_b = values.shape[1]
        w = None if weights is None else np.broadcast_to(weights[0], (n_b, values.shape[2]))
        bad = degenerate(values, None if w is None else w[None])
        out = np.empty((n_b, len(pairs)))
        chunk = max(1, 2_000_000 // max(1, values.shape[2] ** 2))
        for k, (i, j) in enumerate(pairs):
            for s in range(0, n_b, chunk):
                sl = slice(s, s + chunk)
                out[sl, k] = weighted_kendall(values[i, sl], values[j, sl], None if w is None else w[sl], variant)
            out[bad[i] | bad[j], k] = np.nan
        return out

    def point(self, pairs: np.ndarray) -> np.ndarray:
        """Correlations of the full-data RDMs (n_pairs,)."""
        return self.evaluate(pairs)[0]

    # ------------------------------------------------------------------ bootstrap
    def _draw_block(self, seq: np.random.SeedSequence) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
        """Counts for one block of resamples: emotions drawn with replacement (as counts), then for
        each paired group and each emotion its valid prompts drawn with replacement (as counts)."""
        rng = np.random.default_rng(seq)
        n_e = self.n_emotions
        rows = np.arange(DRAW_BLOCK)[:, None]
        ecounts = pcounts = None
        if self.scheme in ("emotions", "both"):
            idx = rng.integers(0, n_e, size=(DRAW_BLOCK, n_e))
            ecounts = np.bincount((idx + n_e * rows).ravel(), minlength=DRAW_BLOCK * n_e).reshape(DRAW_BLOCK, n_e)
            ecounts = ecounts.astype(np.float64)
        if self.scheme in ("prompts", "both"):
            pcounts = []
            for group in self.groups:
                n_p = group.valid.shape[1]
                counts = np.zeros((DRAW_BLOCK,) + group.valid.shape)
                for e, slots in enumerate(group.slots):
                    picked = slots[rng.integers(0, len(slots), size=(DRAW_BLOCK, len(slots)))]
                    counts[:, e, :] = np.bincount((picked + n_p * rows).ravel(), minlength=DRAW_BLOCK * n_p).reshape(DRAW_BLOCK, n_p)
                pcounts.append(counts)
        return ecounts, pcounts

    def draws(self, n_boot: int, seed: SeedLike) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
        """All draws of the first ``n_boot`` resamples: emotion counts (B, E) and prompt counts
        per group (B, E, P), exactly as :meth:`replicates` uses them."""
        n_blocks = -(-n_boot // DRAW_BLOCK)
        parts = [self._draw_block(s) for s in spawn_sequences(seed, n_blocks)]
        ecounts = None if parts[0][0] is None else np.concatenate([p[0] for p in parts])[:n_boot]
        pcounts = None if parts[0][1] is None else [np.concatenate([p[1][g] for p in parts])[:n_boot]
                                                    for g in range(len(self.groups))]
        return ecounts, pcounts

    def replicates(self, pairs: np.ndarray, n_boot: int, seed: SeedLike, batch_size: int = 256,
                   progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Bootstrap replicates (n_boot, n_pairs); identical for every ``batch_size`` and number of
        workers (each resample is computed the same way whichever sub-batch holds it)."""
        return self.replicate_range(pairs, 0, n_boot, seed_sequence(seed), batch_size, progress)

    def replicate_range(self, pairs: np.ndarray, start: int, stop: int, seed: np.random.SeedSequence,
                        batch_size: int = 256, progress: Callable[[int], None] | None = None,
                        threads: int | None = None) -> np.ndarray:
        """Replicates ``start .. stop - 1`` of the sequence that ``seed`` defines (stop - start, n_pairs):
        rows equal to the same rows of :meth:`replicates` for any ``stop``, so ranges computed
        apart (in chunks, on other machines) and stacked give the in-process result bit for bit.
        ``threads`` overrides the engine's thread count (a dask worker runs one task per thread)."""
        if stop <= start:
            return np.empty((0, len(pairs)))
        first, last = start // DRAW_BLOCK, (stop - 1) // DRAW_BLOCK
        seqs = dict(zip(range(first, last + 1), spawn_sequences(seed, last + 1)[first:]))
        out = np.empty((stop - start, len(pairs)))
        cache: dict[int, tuple] = {}
        with self._parallel(threads) as run:
            for lo_abs in range(start, stop, batch_size):
                hi_abs = min(lo_abs + batch_size, stop)
                needed = range(lo_abs // DRAW_BLOCK, (hi_abs - 1) // DRAW_BLOCK + 1)
                cache = {b: cache[b] if b in cache else self._draw_block(seqs[b]) for b in needed}
                lo = lo_abs - needed[0] * DRAW_BLOCK
                hi = lo + (hi_abs - lo_abs)
                parts = [cache[b] for b in needed]
                ec = None if parts[0][0] is None else np.concatenate([p[0] for p in parts])[lo:hi]
                pc = None if parts[0][1] is None else [np.concatenate(c)[lo:hi] for c in zip(*(p[1] for p in parts))]
                out[lo_abs - start:hi_abs - start] = run(pairs, ec, pc)
                if progress is not None:
                    progress(hi_abs - lo_abs)
        return out

    @contextlib.contextmanager
    def _parallel(self, threads: int | None = None):
        """Yield ``run(pairs, emotion_counts, prompt_counts)`` that splits a batch into one contiguous sub-batch per
        worker thread, with single-threaded BLAS inside (numpy releases the GIL in BLAS, sorting and ufunc loops):
        small matrix products run much faster so than with a multi-threaded BLAS, especially on a shared machine."""
        from threadpoolctl import threadpool_limits

        workers = self.workers if threads is None else max(1, int(threads))
        if workers <= 1:
            with threadpool_limits(limits=1, user_api="blas"):
                yield self.evaluate
            return
        from concurrent.futures import ThreadPoolExecutor

        def run(pairs, ec, pc):
            n_b = (ec if ec is not None else pc[0]).shape[0]
            bounds = np.linspace(0, n_b, min(workers, n_b) + 1).astype(int)
            parts = [(bounds[k], bounds[k + 1]) for k in range(len(bounds) - 1) if bounds[k + 1] > bounds[k]]
            jobs = [pool.submit(self.evaluate, pairs, None if ec is None else ec[a:b],
                                None if pc is None else [c[a:b] for c in pc]) for a, b in parts]
            return np.concatenate([j.result() for j in jobs])

        with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
            yield run

    # ------------------------------------------------------------------ jackknife
    def full_prompt_counts(self) -> list[np.ndarray]:
        return [g.valid[None].astype(np.float64) for g in self.groups]

    def jackknife(self, pairs: np.ndarray, batch_size: int = 256) -> list[np.ndarray]:
        """Leave-one-out values for BCa's acceleration, one array (n_units, n_pairs) per stratum:
        the emotions (if resampled), then the prompts of each emotion of each paired group."""
        strata: list[np.ndarray] = []
        n_e = self.n_emotions
        base_prompts = self.full_prompt_counts() if self.scheme in ("prompts", "both") else None
        if self.scheme in ("emotions", "both"):
            ec = 1.0 - np.eye(n_e)
            pc = None if base_prompts is None else [np.broadcast_to(b, (n_e,) + b.shape[1:]) for b in base_prompts]
            strata.append(self.evaluate(pairs, ec, pc))
        if self.scheme in ("prompts", "both"):
            for g, group in enumerate(self.groups):
                for e, slots in enumerate(group.slots):
                    if len(slots) < 2:
                        continue  # a single prompt cannot be left out
                    vals = []
                    for s in range(0, len(slots), batch_size):
                        chunk = slots[s:s + batch_size]
                        pc = [np.repeat(b, len(chunk), axis=0) for b in base_prompts]
                        pc[g] = pc[g].copy()
                        pc[g][np.arange(len(chunk)), e, chunk] = 0.0
                        vals.append(self.evaluate(pairs, None, pc))
                    strata.append(np.concatenate(vals))
        return strata
