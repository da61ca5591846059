"""A bounded descriptor whose bootstrap replicate overshoots its bound by rounding (a PC1 share of
1 + 4e-16 from a baseline resample that drew one text several times) gets an interval, not an error."""

from __future__ import annotations

import numpy as np
import pytest

from rsastats import geometry as g


@pytest.mark.parametrize("ci_method", ["basic", "percentile"])
def test_rounding_overshoot_of_a_bounded_replicate_is_clipped(ci_method):
    settings = g._Settings(n_boot=5, confidence=0.9, ci_method=ci_method)
    reps = np.array([0.41, 0.47, 0.52, 0.58, 1.0 + 4e-16])
    low, high, used, note = g._interval("baseline_pc1_share", 0.5, reps, None, settings)
    assert used == 5 and 0.0 <= low <= high <= 1.0


def test_a_real_violation_is_still_an_error_for_the_core():
    from rsastats.exceptions import ValidationError
    from rsastats.inference.bootstrap import confidence_interval

    with pytest.raises(ValidationError):
        confidence_interval(0.5, np.array([0.4, 1.5]), method="basic", bounds=(0.0, 1.0))
