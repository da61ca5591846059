"""The Mantel test: is the correlation between two RDMs larger than chance relabelling gives?

Cells of an RDM that share an emotion are dependent, so the p-value of a correlation over the
cells (``scipy.stats.spearmanr``'s) is not valid.  The valid test permutes the emotion labels of
one RDM, rows and columns together, and recomputes the correlation (Mantel 1967; scikit-bio's
``mantel``, R ``vegan::mantel``):

- ``p = (k + 1) / (B + 1)`` with ``k`` the number of the ``B`` random permutations at least as
  extreme as the observed statistic (the observed labelling counts as one permutation);
- when ``n! <= permutations`` every permutation is enumerated and ``p = k / n!`` (the identity is
  among the ``n!``): the exact p-value;
- ``alternative``: ``two-sided`` (``|r*| >= |r|``), ``greater`` (``r* >= r``) or ``less``.

Ranks are computed once: permuting the labels of a rank matrix is a gather, so each permutation
costs one indexed read of ``n(n-1)/2`` cells and one dot product, for a whole batch at a time.
Comparisons allow a tolerance of ``100 eps`` (as ``scipy.stats.permutation_test``) so that permutations that
reproduce the observed statistic up to rounding count as ties; scaled by ``max(|r|, 1)`` rather than ``|r|``,
since a correlation's rounding error scales with 1, not with its value: where every permutation of tied RDMs gives
0 in exact arithmetic, a relative tolerance is none, and the observed value's rounding noise decided the count
(``matrix`` gave p = 0 of an exact enumeration, which holds the identity, where ``compare`` gave 1).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..rng import SeedLike, seed_sequence, seed_to_int, spawn_sequences
from ..checks import check_choice, check_count
from ..measures import rank_measure, rank_method_name
from ..measures.kernels import weighted_kendall
from ..parallel import check_versions, ranges, runner_for, versions
from ..results import Record
from ..exceptions import ValidationError
from ..rdm import upper_indices
from ..inputs import RDMOptions, load_models

__all__ = ["ALTERNATIVES", "DEFAULT_PERMUTATIONS", "PERM_BLOCK", "MantelResult", "mantel", "mantel_statistics",
           "mantel_pvalue", "mantel_exceedances", "mantel_counts", "pvalue_from_count", "draw_permutations", "permutation_block"]

ALTERNATIVES = ("two-sided", "greater", "less")
DEFAULT_PERMUTATIONS = 9999
PERM_BLOCK = 1024
_ALT_ALIASES = {"two_sided": "two-sided", "two": "two-sided", "both": "two-sided"}


@dataclass(frozen=True)
class MantelResult(Record):
    """Outcome of a Mantel permutation test.

    ``permutation_distribution`` holds the statistic under each permutation (all ``n!`` when
    ``permutation_exact``, the identity included; otherwise the ``n_permutations`` random ones).
    JSON keys ``rank`` and ``permutation_exact`` were ``method`` and ``exact`` before 0.2 (CHANGELOG.md).
    """

    a: str
    b: str
    statistic: float
    p_value: float
    n_permutations: int
    permutation_exact: bool
    alternative: str
    rank: str
    n_emotions: int
    seed: int | None
    permutation_distribution: np.ndarray = field(repr=False, metadata={"json": False})


def _gather_upper(square: np.ndarray, perms: np.ndarray, iu: np.ndarray, ju: np.ndarray) -> np.ndarray:
    """``square[p[i], p[j]]`` for every upper-triangle cell ``(i, j)`` and every permutation ``p``
    (rows of ``perms``): a C-contiguous ``(len(perms), len(iu))`` array.

    One flat ``take`` with the row-major cell index ``p[i] * n + p[j]`` (``take`` along the
    columns builds it): the same values as ``square[perms[:, iu], perms[:, ju]]``, about twice as fast.
    """
    n = square.shape[0]
    scaled = np.multiply(perms, n, dtype=np.intp)
    cells = np.take(scaled, iu, axis=1)
    cells += np.take(perms, ju, axis=1)
    return np.take(np.ascontiguousarray(square).ravel(), cells)


class MantelKernel:
    """Statistic of ``a`` permuted against fixed ``b``, for batches of permutations.

    Linear measures (:mod:`rsastats.measures`): ``a``'s transformed cells are gathered under each
    permutation and multiplied with ``b``'s standardised cells (no re-ranking: permuting labels
    permutes the cells, whose mean and norm do not change).  Kendall's taus are recomputed.
    """

    def __init__(self, a: np.ndarray, b: np.ndarray, method: str):
        n = a.shape[0]
        self.iu, self.ju = upper_indices(n)
        self.measure = rank_measure(method)
        ua, ub = a[self.iu, self.ju], b[self.iu, self.ju]
        if self.measure.family == "linear":
            ua = self.measure.transform(ua)
            self.zb = self.measure.standardized(ub)[0]
            self.mean_a = float(ua.mean()) if self.measure.centre else 0.0
            centred = ua - self.mean_a
            self.norm_a = (float(np.sqrt(centred @ centred)) if self.measure.scale == "norm"
                           else float(np.sqrt(ua.size * (ua.size**2 - 1.0) / 12.0)))
        self.square = np.zeros((n, n))
        self.square[self.iu, self.ju] = ua
        self.square[self.ju, self.iu] = ua
        self.b = ub

    def __call__(self, perms: np.ndarray) -> np.ndarray:
        # (batch, m): a gather, no re-ranking; row-major, so every row is summed in the same order
        # whatever the batch size.
        gathered = _gather_upper(self.square, perms, self.iu, self.ju)
        if self.measure.family == "linear":
            # Multiply-and-sum, not a BLAS matrix-vector product, for the same reason.
            return np.clip(((gathered - self.mean_a) * self.zb).sum(axis=-1) / self.norm_a, -1.0, 1.0)
        out = np.empty(len(perms))
        step = max(1, 2_000_000 // max(1, self.b.size ** 2))
        for s in range(0, len(perms), step):
            out[s:s + step] = weighted_kendall(gathered[s:s + step], self.b[None, :], None, self.measure.variant)
        return out


def mantel_exceedances(observed: float, permuted: np.ndarray, alternative: str) -> int:
    """``k``: how many permuted statistics are at least as extreme as ``observed`` (with the
    ``100 eps`` tie tolerance, on the scale of a correlation).  Counts of disjoint sets of permutations add up."""
    gamma = max(abs(observed), 1.0) * 100 * np.finfo(np.float64).eps
    if alternative == "two-sided":
        return int(np.count_nonzero(np.abs(permuted) >= abs(observed) - gamma))
    if alternative == "greater":
        return int(np.count_nonzero(permuted >= observed - gamma))
    return int(np.count_nonzero(permuted <= observed + gamma))


def _exceedances_by_column(observed: np.ndarray, permuted: np.ndarray, alternative: str) -> np.ndarray:
    """:func:`mantel_exceedances` for each column of ``permuted`` (B, J) against ``observed`` (J,)."""
    gamma = np.maximum(np.abs(observed), 1.0) * 100 * np.finfo(np.float64).eps
    if alternative == "two-sided":
        return np.count_nonzero(np.abs(permuted) >= np.abs(observed) - gamma, axis=0)
    if alternative == "greater":
        return np.count_nonzero(permuted >= observed - gamma, axis=0)
    return np.count_nonzero(permuted <= observed + gamma, axis=0)


def pvalue_from_count(k: int, count: int, exact: bool) -> float:
    """``(k + 1)/(B + 1)`` (random permutations) or ``k / n!`` (exact enumeration)."""
    return float(k / count) if exact else float((k + 1) / (count + 1))


def mantel_counts(matrices: np.ndarray, pairs: np.ndarray, method: str, perms: np.ndarray, alternative: str) -> np.ndarray:
    """For each pair ``(i, j)``, how many of ``perms`` make matrix ``i`` (labels permuted) against
    matrix ``j`` at least as extreme as the observed statistic (:func:`mantel_exceedances`).

    For Spearman and Pearson, pairs that share their first model share its gather: the permuted,
    standardised upper triangle of model ``i`` for a block of :data:`PERM_BLOCK` permutations is
    multiplied by the standardised triangles of all its partners at once (one matrix product per
    model and block instead of one pass per pair), with single-threaded BLAS, so the numbers do not
    depend on the machine's thread count; blocks start at multiples of ``PERM_BLOCK`` whoever runs
    them, and a model's partners are never split, so chunked runs repeat these products exactly.
    Kendall's tau goes pair by pair.
    """
    from threadpoolctl import threadpool_limits

    pairs = np.asarray(pairs)
    out = np.zeros(len(pairs), dtype=np.int64)
    n = matrices.shape[1]
    identity = np.arange(n)[None, :]
    measure = rank_measure(method)
    if measure.family != "linear":
        for k, (i, j) in enumerate(pairs):
            kernel = MantelKernel(matrices[i], matrices[j], method)
            observed = float(kernel(identity)[0])
            permuted = np.concatenate([kernel(perms[s:s + PERM_BLOCK]) for s in range(0, len(perms), PERM_BLOCK)])
            out[k] = mantel_exceedances(observed, permuted, alternative)
        return out
    iu, ju = upper_indices(n)
    used = np.unique(pairs)
    uppers = matrices[used][:, iu, ju]
    z = measure.standardized(uppers)[0]
    row_of = {int(m): r for r, m in enumerate(used)}
    with threadpool_limits(limits=1, user_api="blas"):
        for i in np.unique(pairs[:, 0]):
            where = np.flatnonzero(pairs[:, 0] == i)
            partners = np.ascontiguousarray(z[[row_of[int(j)] for j in pairs[where, 1]]].T)  # (m, J)
            square = np.zeros((n, n))
            square[iu, ju] = z[row_of[int(i)]]
            square[ju, iu] = z[row_of[int(i)]]
            observed = np.clip(square[identity[:, iu], identity[:, ju]] @ partners, -1.0, 1.0)[0]
            counts = np.zeros(len(where), dtype=np.int64)
            for s in range(0, len(perms), PERM_BLOCK):
                block = perms[s:s + PERM_BLOCK]
                stats = np.clip(_gather_upper(square, block, iu, ju) @ partners, -1.0, 1.0)
                counts += _exceedances_by_column(observed, stats, alternative)
            out[where] = counts
    return out


def mantel_pvalue(observed: float, permuted: np.ndarray, alternative: str, exact: bool) -> float:
    """``(k + 1)/(B + 1)`` (random permutations) or ``k / n!`` (exact enumeration)."""
    return pvalue_from_count(mantel_exceedances(observed, permuted, alternative), permuted.size, exact)


def permutations_iv(permutations: Any, n: int) -> tuple[np.ndarray | None, int, bool]:
    """(explicit permutations or None, count, exact)."""
    if isinstance(permutations, (int, np.integer)) and not isinstance(permutations, (bool, np.bool_)):
        count = check_count("permutations", permutations, 1)
        if math.factorial(n) <= count:
            return np.array(list(itertools.permutations(range(n))), dtype=np.intp), math.factorial(n), True
        return None, count, False
    perms = np.asarray(permutations)
    if perms.ndim != 2 or perms.shape[1] != n or perms.shape[0] < 1 or perms.dtype.kind not in "iu":
        raise ValidationError(f"permutations must be a positive integer or an integer array (B, {n}); got "
                              f"{type(permutations).__name__} of shape {np.shape(permutations)}")
    if not np.array_equal(np.sort(perms, axis=1), np.broadcast_to(np.arange(n), perms.shape)):
        bad = int(np.flatnonzero((np.sort(perms, axis=1) != np.arange(n)).any(axis=1))[0])
        raise ValidationError(f"row {bad} of the permutations is not a permutation of 0..{n - 1}")
    return perms.astype(np.intp), perms.shape[0], False


def mantel_statistics(a: np.ndarray, b: np.ndarray, method: str, perms: np.ndarray | None, count: int,
                      seed: SeedLike, batch_size: int = PERM_BLOCK) -> tuple[float, np.ndarray]:
    """Observed statistic and the statistic under each permutation (explicit ``perms``, or
    ``count`` drawn by :func:`draw_permutations`; never dependent on ``batch_size``)."""
    n = a.shape[0]
    kernel = MantelKernel(a, b, method)
    observed = float(kernel(np.arange(n)[None, :])[0])
    if perms is None:
        perms = draw_permutations(n, count, seed)
    out = np.empty(count)
    for s in range(0, count, batch_size):
        out[s:s + batch_size] = kernel(perms[s:s + batch_size])
    return observed, out


def draw_permutations(n: int, count: int, seed: SeedLike) -> np.ndarray:
    """``count`` random permutations of ``0..n-1`` (count, n); block ``k`` of 1024 comes from child
    ``k`` of ``seed``, so the first permutations do not change when more are asked for."""
    blocks = [permutation_block(n, seq) for seq in spawn_sequences(seed, -(-count // PERM_BLOCK))]
    return np.concatenate(blocks)[:count]


def permutation_block(n: int, seq: np.random.SeedSequence) -> np.ndarray:
    """One block of :data:`PERM_BLOCK` random permutations of ``0..n-1`` from one child stream."""
    rng = np.random.default_rng(seq)
    return rng.permuted(np.tile(np.arange(n, dtype=np.intp), (PERM_BLOCK, 1)), axis=1)


# --------------------------------------------------------------------------- runner tasks
@dataclass(frozen=True)
class MantelSpec:
    """The RDMs (M, n, n), the pairs, the measure, and where the permutations come from: explicit
    ``perms`` (exact enumeration or given by the user) or ``seed`` (block ``k`` from child ``k``)."""

    matrices: np.ndarray
    pairs: np.ndarray
    method: str
    alternative: str
    count: int
    perms: np.ndarray | None
    seed: np.random.SeedSequence | None
    batch_size: int
    versions: tuple[str, str]


def _spec_perms(spec: MantelSpec, start: int, stop: int) -> np.ndarray:
    """Permutations ``start .. stop - 1`` of the run: the same rows whichever task asks."""
    if spec.perms is not None:
        return spec.perms[start:stop]
    n = spec.matrices.shape[1]
    first, last = start // PERM_BLOCK, (stop - 1) // PERM_BLOCK
    seqs = spawn_sequences(spec.seed, last + 1)[first:]
    block = np.concatenate([permutation_block(n, s) for s in seqs])
    return block[start - first * PERM_BLOCK: stop - first * PERM_BLOCK]


def mantel_task(spec: MantelSpec, pair_lo: int, pair_hi: int, start: int, stop: int, counts_only: bool) -> np.ndarray:
    """Exceedance counts (pairs,) or statistics (stop - start, pairs) for permutations ``start .. stop - 1``
    of pairs ``pair_lo .. pair_hi - 1``."""
    check_versions(spec.versions)
    perms = _spec_perms(spec, start, stop)
    pairs = spec.pairs[pair_lo:pair_hi]
    if counts_only:
        return mantel_counts(spec.matrices, pairs, spec.method, perms, spec.alternative)
    out = np.empty((stop - start, len(pairs)))
    step = spec.batch_size
    for k, (i, j) in enumerate(pairs):
        kernel = MantelKernel(spec.matrices[i], spec.matrices[j], spec.method)
        out[:, k] = np.concatenate([kernel(perms[s:s + step]) for s in range(0, len(perms), step)])
    return out


def pair_ranges(pairs: np.ndarray, n_chunks: int) -> list[tuple[int, int]]:
    """Contiguous ranges of ``pairs`` that never split the pairs of one first model (their
    permutation products are computed together, see :func:`mantel_counts`)."""
    firsts = np.asarray(pairs)[:, 0]
    if np.any(np.diff(firsts) < 0):  # not grouped by first model: keep them together
        return [(0, len(firsts))]
    starts = [0] + [k for k in range(1, len(firsts)) if firsts[k] != firsts[k - 1]] + [len(firsts)]
    target = -(-len(firsts) // max(1, n_chunks))
    out, lo = [], 0
    for b in starts[1:]:
        if b - lo >= target or b == len(firsts):
            out.append((lo, b))
            lo = b
    return out


def run_mantel(runner: Any, matrices: np.ndarray, pairs: np.ndarray, method: str, alternative: str,
               perms: np.ndarray | None, count: int, seed: SeedLike, *, counts_only: bool,
               batch_size: int = PERM_BLOCK) -> np.ndarray:
    """The Mantel work of a run, cut into (pairs x permutations) tasks for ``runner``: per pair the
    exceedance count (``counts_only``), else the statistic of each permutation (count, n_pairs).
    Whatever the cut, the numbers are those of one task doing everything."""
    pairs = np.asarray(pairs)
    spec = MantelSpec(np.ascontiguousarray(matrices, dtype=np.float64), pairs, method, alternative, count, perms,
                      None if perms is not None else seed_sequence(seed), batch_size, versions())
    n_tasks = runner.parallelism
    # Split the pairs first (many pairs), then the permutations (few pairs, e.g. one test).
    by_pairs = pair_ranges(pairs, n_tasks)
    size = -(-count // max(1, n_tasks // len(by_pairs)))
    by_perms = ranges(count, -(-count // max(1, size)), PERM_BLOCK)
    jobs = [(p, q) for p in by_pairs for q in by_perms]
    results = runner.map(mantel_task, spec, [(p[0], p[1], q[0], q[1], counts_only) for p, q in jobs])
    if counts_only:
        k = np.zeros(len(pairs), dtype=np.int64)
        for ((lo, hi), _), counts in zip(jobs, results):
            k[lo:hi] += counts
        return k
    out = np.empty((count, len(pairs)))
    for ((lo, hi), (a, b)), stats in zip(jobs, results):
        out[a:b, lo:hi] = stats
    return out


def mantel(a: Any, b: Any, *, method: str = "spearman", permutations: Any = DEFAULT_PERMUTATIONS,
           alternative: str = "two-sided", seed: SeedLike = None, batch_size: int = PERM_BLOCK,
           rdm: str = "cosine", layer: int | None = None, last_k: int | None = None, normalization: str = "raw",
           n_pcs: int = 3, scheduler: Any = None) -> MantelResult:
    """Mantel test of the rank correlation between the RDMs of ``a`` and ``b``.

    Parameters
    ----------
    a, b : RDMs, square arrays, schema-v1 datasets or file paths (emotions aligned by label).
        The labels of ``a`` are permuted.
    method : ``"spearman"`` (default), ``"pearson"``, ``"kendall-b"`` or ``"kendall-a"``.
    permutations : number of random permutations (>= 1; all ``n!`` are enumerated when
        ``n! <= permutations``), or an integer array ``(B, n)`` of explicit permutations (row
        ``p`` maps cell ``(i, j)`` of ``a`` to ``a[p[i], p[j]]``, as scikit-bio does).
    alternative : ``"two-sided"``, ``"greater"`` or ``"less"``.
    seed : seed of the random permutations.
    batch_size : permutations evaluated per vectorised batch (memory only, never the result).
    rdm, layer, last_k, normalization, n_pcs : how RDMs are built from activations or vectors.
    scheduler : a dask scheduler address or ``distributed.Client``: the permutations run in chunks
        on the cluster, with the same result (see :mod:`rsastats.parallel`); None runs in-process.

    Returns
    -------
    MantelResult
    """
    method = rank_method_name(method)
    alternative = check_choice("alternative", alternative, ALTERNATIVES, _ALT_ALIASES)
    batch_size = check_count("batch_size", batch_size, 1)
    options = RDMOptions(rdm=rdm, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs)
    models = load_models([a, b], options)
    n = models[0].rdm.n_emotions
    perms, count, exact = permutations_iv(permutations, n)
    matrices = np.stack([np.asarray(models[0].rdm.matrix), np.asarray(models[1].rdm.matrix)])
    observed = float(MantelKernel(matrices[0], matrices[1], method)(np.arange(n)[None, :])[0])
    with runner_for(scheduler) as runner:
        permuted = run_mantel(runner, matrices, np.array([[0, 1]]), method, alternative, perms, count, seed,
                              counts_only=False, batch_size=batch_size)[:, 0]
    permuted.setflags(write=False)
    return MantelResult(a=models[0].name, b=models[1].name, statistic=observed,
                        p_value=mantel_pvalue(observed, permuted, alternative, exact), n_permutations=count,
                        permutation_exact=exact, alternative=alternative, rank=method, n_emotions=n, seed=seed_to_int(seed),
                        permutation_distribution=permuted)
