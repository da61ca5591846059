"""The many-emotions study (analyses/calibration/many_emotions.py): its stored results are the shipped code's, and the
invariants hold in every data set."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyses.atlas.model import Design
from analyses.atlas.shipped import shipped_rows
from analyses.calibration.many_emotions import DESIGNS, FOLDER, table
from analyses.calibration.mean_scale import as_shipped
from analyses.calibration.uneven import _source
from rsastats.inference.degeneracy import low_rank_weight, pair_rank_share
from rsastats.inference.corrected_ci import MAX_LEAVE_TWO_OUT


def test_the_designs_reach_beyond_the_second_order_correction():
    sizes = {d.n_emotions for d in DESIGNS}
    assert max(sizes) * (max(sizes) - 1) // 2 > MAX_LEAVE_TWO_OUT  # the plain jackknife variance
    assert any(n * (n - 1) // 2 <= MAX_LEAVE_TWO_OUT for n in sizes if n > 40)  # the corrected one, beyond the atlas
    assert len({d.name for d in DESIGNS}) == len(DESIGNS)


def test_every_design_is_stored_and_every_estimate_lies_inside_its_interval():
    got = table()
    assert list(got["design"]) == [d.name for d in DESIGNS]
    assert got["inside"].all() and got["bounded"].all()
    assert (got["n_sets"] >= 200).all()


def test_a_stored_data_set_is_what_the_shipped_code_gives():
    """rho_corrected's columns were rerun with each half's own noise estimate (2026-12-07; rho's columns are the first
    run's): the shipped code gives the stored values."""
    name = min(DESIGNS, key=lambda d: d.n_emotions).name  # the quickest to rerun
    meta = json.loads(Path(FOLDER, f"{name}.json").read_text())
    stored = pd.read_csv(Path(FOLDER, f"{name}.csv")).iloc[0]
    design = Design(**{**meta["design"], "sigma": meta["truth"]["sigma"]})
    row = shipped_rows(design, 1, n_boot=meta["n_boot"], seed=meta["seed"], jobs=1).iloc[0]
    # rho's interval was stored before its Fisher-z ends were mapped to the mean on the correlation scale
    # (analyses/calibration/mean_scale.py) and before the low-rank weight (docs/statistics.md, 'Low-rank emotion
    # spaces'): the shipped code gives the stored interval mapped where the pair's kernel is not of low rank, and an
    # interval that holds it where it is (the weight removes less of the excess)
    ends = as_shipped(stored["rho"], stored["ci_low"], stored["ci_high"], design.n_emotions)
    draw, _, _, seqs = _source(meta, "atlas")
    inputs = draw(seqs[0])
    weight = low_rank_weight(pair_rank_share(inputs[0].rdm.upper()[None], inputs[1].rdm.upper()[None],
                                             np.array([row["rho"]]), "spearman"))[0]
    if weight == 1.0:
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(ends, abs=1e-9)
    else:
        assert row["ci_low"] < ends[0] - 1e-9 and row["ci_high"] > ends[1] + 1e-9
    for column in ("rho", "rho_corrected", "corrected_ci_low", "corrected_ci_high"):
        if pd.isna(stored[column]):
            assert row[column] is None or np.isnan(row[column]), column
        else:
            assert row[column] == pytest.approx(stored[column], abs=1e-12), column
