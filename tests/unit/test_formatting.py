"""rsastats.formatting: the one set of number formats of tables (CLI, reports, analyses)."""

from __future__ import annotations

import numpy as np
import pytest

from rsastats.formatting import (MISSING, ci_digits, fmt_ci, fmt_estimate, fmt_number, fmt_p, fmt_significant, fmt_with_ci,
                                 is_missing)

VALUES = [0.0, 1.0, -1.0, 0.8123456, -0.0005, 0.99999, 12.5, 123456.789, 1e-7, 3.0e-5, 0.5, 7e4]


@pytest.mark.parametrize("x", [None, float("nan"), float("inf"), -np.inf, np.float32("nan")])
def test_missing_values_print_as_the_missing_mark(x):
    assert is_missing(x)
    assert fmt_number(x) == fmt_p(x) == fmt_ci(x, 0.5) == fmt_ci(0.5, x) == MISSING == "n/a"
    assert fmt_significant(x) == "-"
    assert fmt_number(x, missing="—") == "—"


@pytest.mark.parametrize("x", VALUES)
def test_fixed_decimals_and_p_values(x):
    assert fmt_number(x) == f"{x:.3f}" and fmt_number(np.float64(x), 2) == f"{x:.2f}"
    assert fmt_p(abs(x)) == (f"{abs(x):.4f}" if abs(x) >= 1e-4 else f"{abs(x):.1e}")
    assert fmt_ci(x, x + 1) == f"[{x:.3f}, {x + 1:.3f}]"
    assert fmt_ci(x, x + 1, 2, form="{low}–{high}") == f"{x:.2f}–{x + 1:.2f}"


def test_an_interval_whose_ends_differ_never_prints_as_width_zero():
    """[0.99965, 1.0] at 3 decimals would read [1.000, 1.000]: decimals are added until the ends differ (at most 7)."""
    assert fmt_ci(0.99965, 1.0) == "[0.9997, 1.0000]"
    assert fmt_ci(0.9999996, 1.0, 2) == "[0.9999996, 1.0000000]"
    assert fmt_ci(0.99999999, 1.0) == "[1.0000000, 1.0000000]"  # stops at 7 decimals
    assert fmt_ci(1.0, 1.0) == "[1.000, 1.000]" and fmt_ci(0.5, 0.5004) == "[0.5000, 0.5004]"
    assert fmt_ci(0.99965, 1.0, number=lambda x: f"{x:.1f}") == "[1.0, 1.0]"  # a caller's own format is kept


@pytest.mark.parametrize("seed", range(5))
def test_an_estimate_inside_its_interval_prints_inside_it(seed):
    """The estimate takes its interval's decimals: 0.99995 beside [0.9996, 0.99999] is not 1.000 beside 0.99999."""
    rng = np.random.default_rng(seed)
    for _ in range(2000):
        low = 1.0 - 10.0 ** rng.uniform(-7, 0)
        high = min(1.0, low + 10.0 ** rng.uniform(-8, -1))
        x = rng.uniform(low, high)
        shown = float(fmt_estimate(x, low, high)), *map(float, fmt_ci(low, high)[1:-1].split(", "))
        assert shown[1] <= shown[0] <= shown[2]
        assert fmt_with_ci(x, low, high) == f"{fmt_estimate(x, low, high)} {fmt_ci(low, high)}"
    assert fmt_with_ci(0.99982, 0.9996, 0.9999) == "0.9998 [0.9996, 0.9999]" and ci_digits(0.9996, 0.9999) == 4
    assert fmt_estimate(0.5, float("nan"), 0.6) == "0.500" and fmt_with_ci(0.5, None, None, missing="-") == "0.500 -"


def test_integers_print_whole_and_booleans_as_numbers():
    assert fmt_number(21) == fmt_number(np.int64(21)) == "21"
    assert fmt_number(True) == "1.000"


def test_p_value_boundaries_and_floor():
    assert fmt_p(1e-4) == "0.0001" and fmt_p(9.9e-5) == "9.9e-05" and fmt_p(1.0) == "1.0000"
    assert fmt_p(0.0004, floor=0.001, digits=3) == "<0.001" and fmt_p(0.0123, floor=0.001, digits=3) == "0.012"


@pytest.mark.parametrize("x", VALUES)
def test_significant_digits_switch_to_scientific_notation_for_large_and_tiny_values(x):
    expected = f"{x:.3e}" if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3) else f"{x:.4g}"
    assert fmt_significant(x) == expected
    assert fmt_ci(x, x, number=fmt_significant, missing="-") == f"[{expected}, {expected}]"
