"""Stimulus confound RDMs: geometries that the texts alone make, whatever model reads them.

``reports/cross_experiment`` found random-weight models agreeing through exactly these: emotions whose
texts are about as long (in a model's own tokens), or share words, end up close.  Both RDMs are made
from an activations dataset (its ``text`` and pooled token span), so they follow the emotions and
prompts that dataset holds.
"""

from __future__ import annotations

import re

import numpy as np
import xarray as xr

from rsastats.io import make_rdm
from rsastats.rdm import rdm_matrix

__all__ = ["mean_token_counts", "length_rdm", "word_rdm", "MIN_DISTINCT_LENGTHS"]

# A length RDM orders the emotions only when their mean token counts take at least this many values.
MIN_DISTINCT_LENGTHS = 3


def mean_token_counts(ds: xr.Dataset) -> np.ndarray:
    """Each emotion's mean number of pooled tokens over its valid prompts (in the order of ``ds.emotion``)."""
    counts = (ds["pool_stop"] - ds["pool_start"]).astype(float)
    if "valid" in ds:
        counts = counts.where(ds["valid"] > 0)
    return counts.mean("prompt").values


def length_rdm(ds: xr.Dataset, source: str) -> xr.Dataset:
    """``|mean tokens_i - mean tokens_j|`` (Euclidean in one dimension) as an RDM dataset."""
    tokens = mean_token_counts(ds)
    emotions = [str(e) for e in ds["emotion"].values]
    return make_rdm(np.abs(tokens[:, None] - tokens[None, :]), emotions,
                    attrs={"rdm_method": "euclidean", "source": f"pooled token counts of {source}"})


def word_rdm(ds: xr.Dataset, source: str) -> xr.Dataset:
    """Cosine RDM of the emotions' bag-of-words vectors (lower-case word counts over the texts read):
    a geometry that only the stimulus wording makes."""
    emotions = [str(e) for e in ds["emotion"].values]
    texts = ds["text"].values
    valid = ds["valid"].values.astype(bool) if "valid" in ds else np.ones(texts.shape, dtype=bool)
    per_emotion = [" ".join(str(t) for t, ok in zip(row, keep) if ok).lower() for row, keep in zip(texts, valid)]
    tokens = [re.findall(r"[a-z']+", text) for text in per_emotion]
    vocab = {w: i for i, w in enumerate(sorted({w for ts in tokens for w in ts}))}
    counts = np.zeros((len(emotions), len(vocab)))
    for i, ts in enumerate(tokens):
        for w in ts:
            counts[i, vocab[w]] += 1
    return make_rdm(rdm_matrix(counts, "cosine"), emotions,
                    attrs={"rdm_method": "cosine", "source": f"bag of words of {source}"})
