"""Shared fixtures: small valid files of each kind, built from the public constructors."""

from __future__ import annotations

import numpy as np
import pytest

from rsastats.io import make_rdm, make_vectors, write_dataset
from rsastats.simulate import simulate_activations


@pytest.fixture
def activations_ds():
    return simulate_activations(n_emotions=6, n_prompts=5, n_layers=2, hidden=8, n_baseline=4, seed=1)


@pytest.fixture
def activations_file(tmp_path, activations_ds):
    return write_dataset(activations_ds, tmp_path / "acts.nc")


@pytest.fixture
def vectors_ds():
    rng = np.random.default_rng(2)
    return make_vectors(rng.standard_normal((6, 8)), ["a", "b", "c", "d", "e", "f"], attrs={"model": "m"})


@pytest.fixture
def rdm_ds():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 4))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    return make_rdm(d, list("vwxyz"), attrs={"rdm_method": "euclidean", "source": "test"})
