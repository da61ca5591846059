"""Point estimators of the two estimands, as functions of emotion weights over fixed cell vectors.

``rho``            Spearman rho of the two cosine RDMs of the prompt means (as measured).
``sb``             rho / sqrt(R_A R_B), R = Spearman-Brown step-up of the mean split-half
                   correlation (the package's ``rho_disattenuated`` today).
``xh``             cross-half disattenuation: mean over splits of the correlations between one
                   model's half RDM and the *other* half of the other model (disjoint prompts, so
                   prompt effects that both models share do not enter), divided by
                   sqrt(mean r(A1, A2) * mean r(B1, B2)).  Both numerator and denominator are at
                   half length, so no Spearman-Brown step is needed (under the attenuation model
                   r(A_h, B_h') = rho sqrt(rel_A(h) rel_B(h')) and r(A1, A2) = sqrt(rel_A(1) rel_A(2)),
                   so the ratio is rho even for unequal halves).
``*_db``           the same from *debiased* cosine RDMs: the squared norm of a prompt mean is
                   inflated by the prompt noise (E|m|^2 = |mu|^2 + tr(S)/P); replacing it by the
                   mean of <x_p, x_q> over p != q (unbiased) removes the systematic part of the
                   noise's effect on cosines (which reorders cells when norms differ: hubs,
                   anisotropy), leaving the random part that disattenuation models.

Splits are *paired*: emotion ``e``'s prompts are dealt into halves once, and both models use the
same halves (prompt ``p`` is the same text for both models).
"""

from __future__ import annotations

import numpy as np

from rsastats.rdm import rdm_from_gram

from .model import DataSet
from .resample import CellSet

__all__ = ["SplitCells", "split_cells", "estimators", "ESTIMATORS"]

ESTIMATORS = ("rho", "sb", "xh", "sb_db", "xh_db")


def _half_masks(rng: np.random.Generator, n: int, p: int, n_splits: int) -> np.ndarray:
    """(S, n, P) bool: True for the first half (floor(P/2) prompts) of each emotion."""
    masks = np.zeros((n_splits, n, p), dtype=bool)
    k = p // 2
    for s in range(n_splits):
        order = np.argsort(rng.random((n, p)), axis=1)[:, :k]
        np.put_along_axis(masks[s], order, True, axis=1)
    return masks


def _cells_from_gram(gram: np.ndarray) -> np.ndarray:
    n = gram.shape[-1]
    iu, ju = np.triu_indices(n, 1)
    return rdm_from_gram(gram, "cosine")[..., iu, ju]


def _half_grams(x: np.ndarray, mask: np.ndarray, debias: bool) -> np.ndarray:
    """Gram matrix (n, n) of the means of the prompts selected by ``mask`` (n, P) of rows x (n, P, H);
    with ``debias`` the diagonal is the mean of <x_p, x_q> over selected p != q (None-safe: needs >= 2)."""
    w = mask.astype(np.float64)
    k = w.sum(axis=1)
    means = np.einsum("np,nph->nh", w, x) / k[:, None]
    gram = means @ means.T
    if debias:
        sq = np.einsum("np,nph,nph->n", w, x, x)  # sum of |x_p|^2 over the half
        diag = (k**2 * np.diag(gram) - sq) / (k * (k - 1))
        gram[np.diag_indices_from(gram)] = diag
    return gram


class SplitCells:
    """Cell vectors of one data set: rows 0, 1 = full RDMs of A, B; then per variant (plain,
    debiased) and split s: A1, A2, B1, B2."""

    def __init__(self, ds: DataSet, n_splits: int, rng: np.random.Generator, debias: bool):
        x = ds.prompts
        n, p = x.shape[1], x.shape[2]
        self.n_splits = n_splits
        self.has_halves = p >= 2 and not ds.vectors_only
        self.has_db = debias and p >= 4 and self.has_halves
        rows = [ds.cells[0], ds.cells[1]]
        if self.has_db:
            full = np.ones((n, p), dtype=bool)
            for m in range(2):
                g = _half_grams(x[m], full, True)
                rows.append(_cells_from_gram(g) if np.all(np.diag(g) > 0) else np.full(len(ds.cells[0]), np.nan))
        variants = [False] + ([True] if self.has_db else [])
        if self.has_halves:
            masks = _half_masks(rng, n, p, n_splits)
            for db in variants:
                for s in range(n_splits):
                    for m in range(2):
                        for half in (masks[s], ~masks[s]):
                            g = _half_grams(x[m], half, db)
                            ok = np.all(np.diag(g) > 0)
                            rows.append(_cells_from_gram(g) if ok else np.full(len(ds.cells[0]), np.nan))
        cells = np.stack(rows)
        self.valid = bool(np.all(np.isfinite(cells)))
        self.cellset = CellSet(np.nan_to_num(cells, nan=0.0))
        self.pairs, self.index = self._pairs(variants)

    def _pairs(self, variants):
        pairs = [(0, 1)]
        index = {"rho": [0]}
        if self.has_db:
            index["rho_db"] = [1]
            pairs.append((2, 3))
        base = 4 if self.has_db else 2
        for v, db in enumerate(variants if self.has_halves else []):
            tag = "_db" if db else ""
            for name in ("aa", "bb", "ab", "ba"):
                index[name + tag] = []
            for s in range(self.n_splits):
                a1, a2, b1, b2 = (base + 4 * (v * self.n_splits + s) + k for k in range(4))
                for name, pair in (("aa", (a1, a2)), ("bb", (b1, b2)), ("ab", (a1, b2)), ("ba", (a2, b1))):
                    index[name + tag].append(len(pairs))
                    pairs.append(pair)
        return np.array(pairs), {k: np.array(v) for k, v in index.items()}

    def correlations(self, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Mean correlations per kind (B,) for weights (B, m)."""
        r = self.cellset.correlate(self.pairs, weights)
        return {k: np.nanmean(r[:, v], axis=1) if len(v) > 1 else r[:, v[0]] for k, v in self.index.items()}


def split_cells(ds: DataSet, n_splits: int, seed, debias: bool = True) -> SplitCells:
    return SplitCells(ds, n_splits, np.random.default_rng(seed), debias)


def _sb(r: np.ndarray) -> np.ndarray:
    return 2.0 * r / (1.0 + r)


def estimators(c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Estimators (B,) from mean correlations; NaN where a reliability is not positive.  Not clipped:
    the caller decides what to do with values outside [-1, 1]."""
    out = {"rho": c["rho"]}
    with np.errstate(invalid="ignore", divide="ignore"):
        for tag, base in (("", "rho"), ("_db", "rho_db")):
            if "aa" + tag not in c:
                continue
            raa, rbb = c["aa" + tag], c["bb" + tag]
            good = (raa > 0) & (rbb > 0)
            den_sb = np.sqrt(np.where(good, _sb(raa) * _sb(rbb), np.nan))
            out["sb" + tag] = c[base] / den_sb if base in c else c["rho"] / den_sb
            out["xh" + tag] = 0.5 * (c["ab" + tag] + c["ba" + tag]) / np.sqrt(np.where(good, raa * rbb, np.nan))
    return out
