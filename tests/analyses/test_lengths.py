"""analyses.calibration.lengths: the SD of the log length of emotions' own parts, from prompts and from files."""

import numpy as np
import pytest

from analyses.calibration.lengths import design_rows, file_rows, log_length_sd
from rsastats.io import make_activations, write_dataset


def _own_parts(rng, n=12, hidden=30, sd=0.6):
    """Emotion vectors with known log lengths of their own parts (centred over emotions)."""
    own = rng.standard_normal((n, hidden))
    own *= (np.exp(sd * rng.standard_normal(n)) / np.linalg.norm(own, axis=1))[:, None]
    own -= own.mean(axis=0)
    return own, np.std(np.log(np.linalg.norm(own, axis=1)))


def test_without_noise_both_estimates_are_the_sd_of_the_log_lengths():
    rng = np.random.default_rng(0)
    own, truth = _own_parts(rng)
    common = 5.0 * rng.standard_normal(own.shape[1])
    templates = rng.standard_normal((6, own.shape[1]))  # prompt p of every emotion: the same template
    prompts = own[:, None, :] + common + templates[None]
    got = log_length_sd(prompts)
    assert got["raw"] == pytest.approx(truth, abs=1e-12)
    assert got["split"] == pytest.approx(truth, abs=1e-12)
    assert got["positive"] == 1.0


def test_noise_shrinks_raw_and_the_split_estimate_stays_near_the_truth():
    rng = np.random.default_rng(1)
    own, truth = _own_parts(rng, n=40, hidden=200, sd=0.5)
    raw, split = [], []
    for _ in range(30):
        prompts = own[:, None, :] + 0.25 * rng.standard_normal((40, 40, 200))  # noise in a mean: |0.25| per dim / 40
        got = log_length_sd(prompts)
        raw.append(got["raw"])
        split.append(got["split"])
    assert np.mean(raw) < truth - 0.05
    assert np.mean(split) == pytest.approx(truth, abs=0.04)


def test_file_rows_skip_a_layer_without_own_parts(tmp_path):
    rng = np.random.default_rng(2)
    own, truth = _own_parts(rng, n=5, hidden=8)
    x = np.zeros((5, 4, 2, 8))
    x[:, :, 0] = 3.0  # every emotion the same vector: no own part (an embedding output under last-token pooling)
    x[:, :, 1] = own[:, None, :] + rng.standard_normal((4, 8))[None]
    path = write_dataset(make_activations(x.astype(np.float32), list("abcde"), layers=[0, 7],
                                          attrs={"model": "m", "precision": "fp32"}), tmp_path / "a.nc")
    rows = file_rows(path)
    assert [r["layer"] for r in rows] == [7]
    assert rows[0]["raw"] == pytest.approx(truth, abs=1e-5)
    assert rows[0]["n_emotions"] == 5 and rows[0]["n_prompts"] == 4


def test_design_rows_show_the_sizes_designs_spread():
    rows = {r["source"]: r for r in design_rows(n_sets=2)}
    equal, sizes = rows["second model: n21-P8-equal"], rows["second model: n21-P8-sizes"]
    assert sizes["noise_free"] > equal["noise_free"] + 0.2
