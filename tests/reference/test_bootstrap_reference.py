"""Bootstrap intervals against R boot::boot.ci (values committed by ``data/boot_ci.R``).

The replicates are recomputed here from the same resample index matrix; percentile, basic and
BCa bounds must agree to 1e-12.  R's ``empinf(type="jack")`` centres the influence values on the
full-sample estimate, rsastats on the mean of the leave-one-out estimates (Efron & Tibshirani,
eq. 14.15): the R script records both, and each is compared with its counterpart.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

from rsastats.inference.bootstrap import acceleration, confidence_interval

DATA = Path(__file__).parent / "data"
RESULTS = pd.read_csv(DATA / "boot_ci_results.csv")

STATISTICS = {
    "pearson": lambda d: st.pearsonr(d["x"], d["y"]).statistic,
    "spearman": lambda d: st.spearmanr(d["x"], d["y"]).statistic,
    "mean_skewed": lambda d: float(np.mean(d["skewed"])),
}


def _inputs(name):
    data = pd.read_csv(DATA / "boot_ci_data.csv").astype(float)
    idx = pd.read_csv(DATA / "boot_ci_indices.csv").to_numpy() - 1
    f = STATISTICS[name]
    t0 = f(data)
    t = np.array([f(data.iloc[i].reset_index(drop=True)) for i in idx])
    jack = np.array([f(data.drop(index=i).reset_index(drop=True)) for i in range(len(data))])
    return t0, t, jack


@pytest.fixture(scope="module")
def computed():
    return {name: _inputs(name) for name in STATISTICS}


def test_replicates_are_recomputed_identically(computed):
    reps = pd.read_csv(DATA / "boot_ci_replicates.csv")
    for name, (_, t, _) in computed.items():
        np.testing.assert_allclose(t, reps[name].to_numpy(dtype=float), rtol=0, atol=1e-13)


@pytest.mark.parametrize("row", RESULTS.to_dict(orient="records"), ids=lambda r: f"{r['statistic']}-{r['type']}-{r['conf']}")
def test_interval_equals_boot_ci(row, computed):
    t0, t, jack = computed[row["statistic"]]
    assert abs(t0 - row["estimate"]) < 1e-13
    method = {"percent": "percentile", "basic": "basic", "bca": "bca", "bca_efron": "bca"}[row["type"]]
    kwargs = {}
    if row["type"] == "bca":
        kwargs["acceleration_value"] = row["acceleration"]  # boot's own jackknife centring
    elif row["type"] == "bca_efron":
        kwargs["jackknife"] = jack
        assert abs(acceleration(jack) - row["acceleration"]) < 1e-13
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # extreme order statistics at 99%, as R warns too
        low, high = confidence_interval(t0, t, method=method, confidence=row["conf"], **kwargs)
    assert abs(low - row["low"]) < 1e-12
    assert abs(high - row["high"]) < 1e-12
