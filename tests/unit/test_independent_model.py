"""The second generative model of the calibration study (analyses/calibration/independent.py): what each
design switch does to the data sets, and that a run's rows are the shipped outputs in data-set order."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analyses.calibration.independent import DESIGNS, Design, Model, _inputs, cosine_rho, independent_table, run_design
from rsastats.inference import compare_models

BASE = Design("test", 12, 40, 4.0, hidden=48)


def _residual_sd(prompts: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per model and emotion, the SD of the prompts about their mean (valid prompts only): (2, n)."""
    mean = (prompts * valid[..., None]).sum(-2, keepdims=True) / valid.sum(-1)[..., None, None]
    sq = (((prompts - mean) ** 2).sum(-1) * valid).sum(-1) / (valid.sum(-1) - 1)
    return np.sqrt(sq)


def test_a_data_set_is_reproducible_from_its_seed_and_has_the_design_shape():
    model = Model(BASE)
    a = model.draw(np.random.default_rng(3))
    b = model.draw(np.random.default_rng(3))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    mu, prompts, valid = a
    assert mu.shape == (2, 12, 48) and prompts.shape == (2, 12, 40, 48) and valid.all()


def test_emotion_noise_levels_are_shared_by_the_two_models_only_with_hetero():
    sd_equal = _residual_sd(*Model(BASE).draw(np.random.default_rng(1))[1:])
    sd_hetero = _residual_sd(*Model(replace(BASE, hetero=0.8)).draw(np.random.default_rng(1))[1:])
    # equal levels: the SDs differ across emotions by sampling error only (40 prompts x 48 coordinates)
    assert np.std(np.log(sd_equal)) < 0.05
    # shared levels: they vary several-fold across emotions, the same way in both models
    assert np.std(np.log(sd_hetero[0])) > 0.4
    np.testing.assert_allclose(sd_hetero[0], sd_hetero[1], rtol=0.1)


def test_missing_prompts_keep_each_emotions_first_three():
    _, _, valid = Model(replace(BASE, missing=0.5)).draw(np.random.default_rng(2))
    assert valid[:, :3].all()
    assert 0.35 < 1 - valid[:, 3:].mean() < 0.65


def test_heavy_tails_and_anisotropic_noise():
    mu, prompts, _ = Model(replace(BASE, tails=True, n_prompts=400)).draw(np.random.default_rng(4))
    eps = (prompts[0] - mu[0][:, None, :]).ravel()
    kurtosis = np.mean(eps ** 4) / np.mean(eps ** 2) ** 2
    assert kurtosis > 4.5  # Student-t with 3 df; a normal gives 3
    mu, prompts, _ = Model(replace(BASE, aniso_noise=True)).draw(np.random.default_rng(4))
    per_coordinate = (prompts[0] - mu[0][:, None, :]).var(axis=(0, 1))
    assert per_coordinate[:4].mean() > 20 * per_coordinate[-8:].mean()


def test_the_shared_share_sets_how_alike_the_noise_free_geometries_are():
    def mean_rho(shared):
        model = Model(replace(BASE, shared=shared))
        rng = np.random.default_rng(5)
        return np.mean([cosine_rho(*model.vectors(rng)) for _ in range(30)])

    assert mean_rho(0.95) > mean_rho(0.7) > mean_rho(0.0) + 0.1


def test_a_run_gives_the_shipped_outputs_in_data_set_order():
    design = replace(BASE, n_prompts=6, name="tiny")
    frame, meta = run_design(design, 3, n_boot=60, n_mc=20, seed=11, jobs=1)
    assert len(frame) == 3 and meta["n_sets"] == 3 and set(meta["truth"]) >= {"measured", "free"}
    # the second data set, rebuilt by hand from its seed, through compare_models as a user would
    from rsastats.rng import spawn_sequences

    seq = spawn_sequences(np.random.SeedSequence([11, design.seed, design.n_emotions, design.n_prompts]), 3)[1]
    mu, prompts, valid = Model(design).draw(np.random.default_rng(seq))
    res = compare_models(*_inputs(prompts, valid), n_boot=60, permutations=19, seed=seq)
    assert frame.loc[1, "rho"] == pytest.approx(res.rho, abs=1e-12)
    assert frame.loc[1, "ci_low"] == pytest.approx(res.ci_low, abs=1e-12)
    assert frame.loc[1, "rho_free"] == pytest.approx(cosine_rho(mu[0], mu[1]), abs=1e-12)


def test_the_table_counts_coverage_against_each_truth():
    meta = {"design": {"name": "x"}, "truth": {"measured": 0.5, "free": 0.6}}
    frame = pd.DataFrame({"rho": [0.5, 0.45, 0.7, 0.5], "ci_low": [0.4, 0.3, 0.55, 0.45], "ci_high": [0.6, 0.55, 0.8, 0.55],
                          "rho_corrected": [0.6, np.nan, 0.8, 0.62], "corrected_ci_low": [0.5, np.nan, 0.7, 0.55],
                          "corrected_ci_high": [0.7, np.nan, 0.9, 0.65], "rho_free": [0.58, 0.6, 0.62, 0.61]})
    row = independent_table([(meta, frame)]).iloc[0]
    assert row["rho"] == 0.75 and row["given"] == 0.75
    assert row["corrected"] == pytest.approx(2 / 3) and row["miss_high"] == pytest.approx(1 / 3)
    assert row["bias"] == pytest.approx(np.mean([0.6 - 0.58, 0.8 - 0.62, 0.62 - 0.61]))
    assert row["inside"]


def test_design_names_are_unique():
    assert len({d.name for d in DESIGNS}) == len(DESIGNS) >= 10
