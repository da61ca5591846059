"""Representational dissimilarity matrices (RDMs): computing them and a validated RDM type.

Methods (``RDM_METHODS``):

``cosine``              ``1 - cos(v_i, v_j)``: the study's "raw cosine RDM" (default).
``correlation``         ``1 - pearson(v_i, v_j)`` across hidden dimensions.
``euclidean``           ``||v_i - v_j||``.
``crossval-euclidean``  cross-validated squared Euclidean distance over prompt folds (needs
                        activations): ``mean_{a != b} (m_i^a - m_j^a) . (m_i^b - m_j^b)`` where
                        ``m^a`` are the emotion means over fold ``a`` of the prompts.  Prompt noise
                        does not inflate it (its expectation is the noise-free squared distance),
                        so it can be negative.

The upper triangle of an ``n x n`` matrix is taken row-major (``k < l``), the order of
``scipy.spatial.distance.squareform`` and of ``rsatoolbox``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .checks import check_choice, check_count, check_finite_array
from .io import make_rdm, validate_rdm, file_kind
from .exceptions import DependencyError, LabelError, ValidationError
from .labels import emotion_difference
from .vectors import (DEFAULT_N_PCS, PromptRows, apply_post, mean_vectors, near_zero_rows, normalization_name, prompt_rows,
                      select_layers, vector_array)

__all__ = [
    "RDM_METHODS",
    "VECTOR_RDM_METHODS",
    "RDM",
    "rdm_matrix",
    "rdm_from_gram",
    "upper",
    "upper_indices",
    "crossvalidated_rdm",
    "rdm_from_dataset",
    "rdm_from_rows",
    "rdm_provenance",
    "to_rsatoolbox",
    "from_rsatoolbox",
]

VECTOR_RDM_METHODS = ("cosine", "correlation", "euclidean")
RDM_METHODS = VECTOR_RDM_METHODS + ("crossval-euclidean",)
_METHOD_ALIASES = {"cos": "cosine", "corr": "correlation", "euclid": "euclidean", "crossval": "crossval-euclidean",
                   "crossnobis": "crossval-euclidean", "cv-euclidean": "crossval-euclidean"}


def rdm_method_name(method: str) -> str:
    return check_choice("RDM method", method, RDM_METHODS, _METHOD_ALIASES)


def upper_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the strict upper triangle, row-major (``k < l``)."""
    return np.triu_indices(int(n), k=1)


def upper(matrix: Any) -> np.ndarray:
    """The strict upper triangle of a square matrix as a 1-D array, row-major (``k < l``)."""
    m = np.asarray(matrix)
    if m.ndim < 2 or m.shape[-1] != m.shape[-2]:
        raise ValidationError(f"expected a square matrix; got shape {m.shape}")
    iu, ju = upper_indices(m.shape[-1])
    return m[..., iu, ju]


def rdm_from_gram(gram: np.ndarray, method: str) -> np.ndarray:
    """RDMs from Gram matrices ``(..., n, n)`` of the emotion vectors.

    For ``correlation`` the Gram matrix must be of vectors already centred across hidden
    dimensions.  Diagonals are exactly zero and the result exactly symmetric.
    """
    diag = np.diagonal(gram, axis1=-2, axis2=-1)
    if method in ("cosine", "correlation"):
        # a squared norm <= 0 (a noise-corrected Gram matrix of half the prompts, a prompt left out of a constant
        # vector) gives NaN cells, which the callers treat as undefined
        with np.errstate(invalid="ignore", divide="ignore"):
            inv = 1.0 / np.sqrt(diag)
            d = 1.0 - gram * inv[..., :, None] * inv[..., None, :]
    else:  # euclidean
        sq = diag[..., :, None] + diag[..., None, :] - 2.0 * gram
        d = np.sqrt(np.maximum(sq, 0.0))
    d = 0.5 * (d + np.swapaxes(d, -1, -2))
    n = d.shape[-1]
    d[..., np.arange(n), np.arange(n)] = 0.0
    return d


def _check_vector_norms(vectors: np.ndarray, method: str, labels: Sequence[str] | None, source: str | None) -> np.ndarray:
    if method == "correlation":
        vectors = vectors - vectors.mean(axis=1, keepdims=True)
        what = "is constant across hidden dimensions (correlation distance undefined)"
    else:
        what = "has (numerically) zero norm (cosine distance undefined)"
    if method in ("cosine", "correlation"):
        bad = near_zero_rows(vectors)
        if bad.any():
            names = [labels[i] if labels is not None else f"row {i}" for i in np.flatnonzero(bad)]
            raise ValidationError(f"emotion vector {', '.join(map(str, names))} {what}", path=source)
    return vectors


def rdm_matrix(vectors: Any, method: str = "cosine", *, labels: Sequence[str] | None = None, source: str | None = None) -> np.ndarray:
    """An ``n x n`` RDM from emotion vectors ``(n, hidden)``.

    Parameters
    ----------
    vectors : array (n_emotions, hidden)
    method : ``"cosine"`` (default), ``"correlation"`` or ``"euclidean"``.  The cross-validated
        distance needs prompts: see :func:`crossvalidated_rdm`.
    labels : emotion labels, used only to name a bad vector in error messages.

    Raises
    ------
    ValidationError
        NaN/Inf values, fewer than 2 vectors, or a zero-norm vector under cosine (a constant one
        under correlation).
    """
    method = rdm_method_name(method)
    if method == "crossval-euclidean":
        raise ValidationError("the cross-validated distance needs per-prompt activations: use crossvalidated_rdm()", path=source)
    v = check_finite_array("vectors", vectors, 2)
    if v.shape[0] < 2:
        raise ValidationError(f"need at least 2 emotion vectors; got {v.shape[0]}", path=source)
    v = _check_vector_norms(v, method, labels, source)
    return rdm_from_gram(v @ v.T, method)


def crossvalidated_rdm(rows: PromptRows, n_folds: int = 2, *, source: str | None = None) -> np.ndarray:
    """Cross-validated squared Euclidean RDM from prompt rows (see the module docstring).

    The valid prompts of each emotion are dealt into ``n_folds`` folds by position
    (prompt ``k`` of an emotion goes to fold ``k mod n_folds``), deterministically.
    """
    n_folds = check_count("n_folds", n_folds, 2)
    if rows.post not in ("none", "emotion-mean"):
        raise ValidationError(f"normalization {rows.normalization!r} is not linear in the prompts; the cross-validated "
                              "distance supports raw, emotion-mean, baseline-mean and neutral-pc", path=source)
    too_few = [e for e, n in zip(rows.emotions, rows.n_valid) if n < n_folds]
    if too_few:
        raise ValidationError(f"cross-validation over {n_folds} folds needs >= {n_folds} valid prompts per emotion; "
                              f"too few for: {', '.join(too_few)}", path=source)
    position = np.cumsum(rows.valid, axis=1) - 1
    fold_means = np.stack([
        mean_vectors(rows.values, (rows.valid & (position % n_folds == a)).astype(np.float64)) for a in range(n_folds)
    ])  # (F, E, H); emotion-mean centring cancels in differences, so it is not applied
    total = fold_means.sum(axis=0)
    g_total = total @ total.T
    g_each = np.einsum("aeh,afh->ef", fold_means, fold_means)

    def pair_sq(g: np.ndarray) -> np.ndarray:
        d = np.diag(g)
        return d[:, None] + d[None, :] - 2.0 * g

    d = (pair_sq(g_total) - pair_sq(g_each)) / (n_folds * (n_folds - 1))
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    return d


@dataclass(frozen=True)
class RDM:
    """A validated, labelled RDM: square, symmetric, zero diagonal, finite, unique labels.

    ``matrix`` is stored read-only (float64).  ``attrs`` carry provenance (model, layer
    selection, normalization) into the schema-v1 RDM file.
    """

    matrix: np.ndarray
    labels: tuple[str, ...]
    method: str = "cosine"
    source: str = ""
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        src = self.source or None
        m = check_finite_array("RDM", self.matrix, 2)
        if m.shape[0] != m.shape[1]:
            raise ValidationError(f"an RDM must be square; got shape {m.shape}", path=src)
        labels = tuple(str(x).strip() for x in self.labels)
        if len(labels) != m.shape[0]:
            raise LabelError(f"{len(labels)} labels for an RDM with {m.shape[0]} rows", path=src)
        if any(not x for x in labels):
            raise LabelError("empty emotion label", path=src)
        if len(set(labels)) != len(labels):
            dup = sorted({x for x in labels if labels.count(x) > 1})
            raise LabelError(f"duplicated emotion label(s): {', '.join(dup)}", path=src)
        scale = max(1.0, float(np.abs(m).max()) if m.size else 1.0)
        if not np.allclose(m, m.T, rtol=0, atol=1e-8 * scale):
            raise ValidationError("RDM is not symmetric", path=src)
        if m.size and np.abs(np.diag(m)).max() > 1e-8 * scale:
            raise ValidationError("RDM has a non-zero diagonal", path=src)
        m = 0.5 * (m + m.T)
        np.fill_diagonal(m, 0.0)
        m.setflags(write=False)
        object.__setattr__(self, "matrix", m)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "attrs", dict(self.attrs))

    @property
    def n_emotions(self) -> int:
        return len(self.labels)

    def upper(self) -> np.ndarray:
        """The strict upper triangle, row-major."""
        return upper(self.matrix)

    def reorder(self, labels: Sequence[str]) -> "RDM":
        """The same RDM with rows and columns in the order of ``labels`` (same set required)."""
        labels = tuple(str(x) for x in labels)
        if set(labels) != set(self.labels) or len(labels) != len(self.labels):
            raise LabelError(emotion_difference(self.labels, labels, "this RDM", "the requested order"), path=self.source or None)
        pos = {lab: i for i, lab in enumerate(self.labels)}
        idx = np.array([pos[x] for x in labels])
        return RDM(self.matrix[np.ix_(idx, idx)], labels, self.method, self.source, self.attrs)

    def to_dataset(self) -> xr.Dataset:
        """A schema-v1 RDM dataset (write it with :func:`rsastats.io.write_dataset`)."""
        attrs = {k: v for k, v in self.attrs.items() if k not in ("schema", "rdm_method", "source", "created", "software")}
        return make_rdm(self.matrix, list(self.labels), attrs={**attrs, "rdm_method": self.method, "source": self.source})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset, source: str | None = None) -> "RDM":
        """Read a schema-v1 RDM dataset (validated)."""
        ds = validate_rdm(ds, source)
        attrs = {k: v for k, v in ds.attrs.items() if k not in ("schema", "rdm_method", "source")}
        return cls(np.asarray(ds["rdm"].values, dtype=np.float64), tuple(str(e) for e in ds["emotion"].values),
                   str(ds.attrs.get("rdm_method", "")), str(ds.attrs.get("source", "") or source or ""), attrs)

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a labelled square DataFrame."""
        return pd.DataFrame(np.array(self.matrix), index=pd.Index(self.labels, name="emotion"),
                            columns=pd.Index(self.labels, name="emotion_"))

    def to_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "method": self.method, "source": self.source,
                "matrix": np.array(self.matrix).tolist()}

    def to_rsatoolbox(self):
        """This RDM as an ``rsatoolbox.rdm.RDMs`` object (needs rsatoolbox)."""
        return to_rsatoolbox(self)


def to_rsatoolbox(rdm: RDM):
    """Convert an :class:`RDM` to ``rsatoolbox.rdm.RDMs`` (one RDM, pattern descriptor ``emotion``)."""
    try:
        from rsatoolbox.rdm import RDMs
    except ImportError:  # pragma: no cover - depends on the environment
        raise DependencyError("rsatoolbox is not installed (pip install rsatoolbox)") from None
    return RDMs(rdm.upper()[None, :], dissimilarity_measure=rdm.method,
                rdm_descriptors={"name": [rdm.source]}, pattern_descriptors={"emotion": list(rdm.labels)})


def from_rsatoolbox(rdms: Any, index: int = 0, *, labels: Sequence[str] | None = None) -> RDM:
    """Convert RDM number ``index`` of an ``rsatoolbox.rdm.RDMs`` object to an :class:`RDM`.

    Labels come from ``labels``, else the pattern descriptor ``emotion``, ``conds`` or ``index``.
    """
    matrices = np.asarray(rdms.get_matrices(), dtype=np.float64)
    if not 0 <= index < matrices.shape[0]:
        raise ValidationError(f"rsatoolbox RDMs holds {matrices.shape[0]} RDM(s); no index {index}")
    if labels is None:
        desc = getattr(rdms, "pattern_descriptors", {}) or {}
        for key in ("emotion", "conds", "index"):
            if key in desc:
                labels = [str(x) for x in desc[key]]
                break
        else:
            labels = [str(i) for i in range(matrices.shape[1])]
    name = ""
    rdesc = getattr(rdms, "rdm_descriptors", {}) or {}
    if "name" in rdesc:
        name = str(list(rdesc["name"])[index])
    return RDM(matrices[index], tuple(labels), str(getattr(rdms, "dissimilarity_measure", "") or ""), name)


def rdm_from_rows(rows: PromptRows, method: str, *, n_folds: int = 2, source: str | None = None) -> np.ndarray:
    """The RDM matrix of prompt rows: the emotion means (with the normalization's mean-vector step)
    under ``method``, or the cross-validated distance over prompt folds."""
    if method == "crossval-euclidean":
        return crossvalidated_rdm(rows, n_folds, source=source)
    vectors = apply_post(mean_vectors(rows.values, rows.valid.astype(np.float64)), rows.post, source)
    return rdm_matrix(vectors, method, labels=rows.emotions, source=source)


def rdm_provenance(attrs: Mapping[str, Any], description: str, normalization: str) -> dict[str, Any]:
    """The attributes an RDM made from a file carries: where its vectors came from and how."""
    provenance = {k: attrs[k] for k in ("model", "family", "variant", "method", "precision", "experiment") if k in attrs}
    provenance = {("extraction_method" if k == "method" else k): v for k, v in provenance.items()}
    return {**provenance, "layer_selection": description, "normalization": str(normalization)}


def rdm_from_dataset(ds: xr.Dataset, *, method: str = "cosine", layer: int | None = None, last_k: int | None = None,
                     normalization: str = "raw", n_pcs: int = DEFAULT_N_PCS, n_folds: int = 2,
                     source: str | None = None) -> RDM:
    """The RDM of an activations, vectors or RDM dataset.

    An RDM dataset is returned as stored (``method`` and the vector options do not apply to it).
    """
    kind = file_kind(ds, source)
    if kind == "rdm":
        return RDM.from_dataset(ds, source)
    method = rdm_method_name(method)
    name = str(ds.attrs.get("model") or source or "")
    if kind == "activations":
        rows = prompt_rows(ds, layer=layer, last_k=last_k, normalization=normalization, n_pcs=n_pcs, source=source)
        _, description = select_layers(ds["layer"].values, layer, last_k, source)
        matrix = rdm_from_rows(rows, method, n_folds=n_folds, source=source)
        labels, norm = rows.emotions, rows.normalization
    else:
        if method == "crossval-euclidean":
            raise ValidationError("the cross-validated distance needs per-prompt activations; a vector file has none", path=source)
        labels, vectors, description = vector_array(ds, layer=layer, last_k=last_k, normalization=normalization, source=source)
        matrix = rdm_matrix(vectors, method, labels=labels, source=source)
        norm = normalization_name(normalization)
    return RDM(matrix, tuple(labels), method, name, rdm_provenance(ds.attrs, description, norm))
