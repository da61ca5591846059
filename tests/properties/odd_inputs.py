"""Shared by the property tests of what each command promises on odd but legal inputs (test_*_promises.py)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, settings


def promises(max_examples: int):
    """Hypothesis settings for such a test, with numpy's warnings turned into errors (they must not reach the user)
    and the package's own warnings ignored.  Put it above ``@given``.  Derandomized, so that every run (CI's too) tries
    the same examples: a new search for odd inputs is a script that runs the test's ``hypothesis.inner_test`` with
    random settings and many more examples (CHANGELOG, 'odd but legal inputs')."""
    def wrap(test):
        test = settings(max_examples=max_examples, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                        derandomize=True, database=None)(test)
        test = pytest.mark.filterwarnings("ignore")(test)
        return pytest.mark.filterwarnings("error::RuntimeWarning")(test)  # applied last: takes precedence
    return wrap


def mask_prompts(rng: np.random.Generator, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``values`` (emotion, prompt, layer, hidden) with about 30% of the prompts marked invalid (NaN), each emotion
    keeping at least one; and the valid mask (emotion, prompt)."""
    n, p = values.shape[:2]
    valid = (rng.random((n, p)) < 0.7).astype(np.int8)
    valid[np.arange(n), rng.integers(0, p, n)] = 1
    return np.where(valid[:, :, None, None] == 1, values, np.nan), valid
