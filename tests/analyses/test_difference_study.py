"""The study of the difference of two correlations (analyses/calibration/difference.py): its stored results are the
shipped code's, its third model is what it says, and its section is built from them."""

import json

import numpy as np
import pandas as pd
import pytest

from analyses.atlas.designs import WEAK
from analyses.atlas.model import Population
from analyses.calibration.difference import DESIGNS, METHODS, OUT, _name, _population, difference_rows, section


def test_a_stored_data_set_is_what_the_shipped_code_gives():
    settings = json.loads((OUT / "settings.json").read_text())
    for k in (0, len(DESIGNS) - 1):  # a model design and a hypothesis design
        base, tau, *kind = DESIGNS[k]
        stored = pd.read_csv(OUT / f"{_name(base, tau, *kind)}.csv")
        assert len(stored) == settings["sets"] >= 400
        row = difference_rows(base, tau, 1, *kind, n_boot=settings["n_boot"], seed=settings["seed"], jobs=1).iloc[0]
        for column in stored.columns:
            assert row[column] == pytest.approx(stored.loc[0, column], abs=1e-12, nan_ok=True), column


def test_a_null_design_reads_b_twice_and_the_others_a_read_out_of_their_own():
    _, null = _population("n21-P8-r0.8-high-clustered-aniso", None)
    assert np.array_equal(null.w[2], null.w[1]) and np.array_equal(null.common[2], null.common[1])
    _, own = _population("n21-P8-r0.8-high-clustered-aniso", 0.5)
    assert not np.array_equal(own.w[2], own.w[1]) and np.array_equal(own.w[:2], null.w[:2])
    unrelated = next(d for d in WEAK if d.unrelated)
    with pytest.raises(ValueError, match="two models"):
        Population.of(unrelated).with_third(None, 1)


def test_the_section_has_every_design_and_method_and_the_default_first():
    table = pd.read_csv(OUT / "coverage.csv")
    assert set(table["design"]) == {_name(*d) for d in DESIGNS}
    assert list(table["method"].unique()) == list(METHODS)
    text = "\n".join(section())
    assert text.count("\n| n") == len(DESIGNS) and "jackknife-t (default)" in text
    default = table[table["method"] == METHODS[0]]
    assert (default["shown"] == 1.0).all()
    assert np.allclose(default.loc[default["null"], "truth"], 0.0)
