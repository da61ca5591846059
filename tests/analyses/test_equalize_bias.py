"""analyses/calibration/equalize_bias.py: its ``noise-free`` variant moves the ratio by what the shipped check of
uneven shrinkage (:func:`rsastats.inference.corrected.norm_shift`) measures on the same data sets and splits, and
the `sizes` designs show the equalized ratio's downward bias that the check exists for."""

from __future__ import annotations

import numpy as np

from analyses.calibration import equalize_bias
from rsastats.inference.corrected import CrossHalf, norm_shift

PAIR = np.array([[0, 1]])


def test_noise_free_variant_moves_by_the_shipped_check():
    name, n_sets, seed = "n21-P8-sizes", 6, 5
    rows = {r["variant"]: r for r in equalize_bias.design_rows(name, n_sets, seed)}
    assert set(rows) == {"plain", "equalized", "noise-free"} and rows["equalized"]["given"] == rows["noise-free"]["given"] == 1
    shifts = []
    for k, (inputs, _) in enumerate(equalize_bias._data_sets(name, n_sets, seed)):
        halves = CrossHalf(inputs, "spearman", "cosine", equalize_bias.N_SPLITS, np.random.SeedSequence([seed, k]))
        point, _ = halves.corrected(None, PAIR)
        shift, _ = norm_shift(halves, PAIR, point[0], halves.leave_one_out(PAIR))
        shifts.append(shift[0])
    np.testing.assert_allclose(rows["noise-free"]["bias"] - rows["equalized"]["bias"], np.mean(shifts), rtol=0, atol=1e-12)
    # the equalized ratio is biased downward here and the move goes against its error
    assert rows["equalized"]["bias"] < -0.03 and np.mean(shifts) > 0.03
    assert rows["noise-free"]["move_error_corr"] < 0
