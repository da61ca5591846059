"""What ``decompose`` promises on any set of RDMs it accepts (hypothesis): 2 or 3 models read by one or two
methods at one or two precisions, over 4 to 12 emotions, from vectors of 1 to 24 dimensions (ties), rounded or not,
with method effects from none (identical files) to large, each bootstrap interval method and both responses.  Either
the package refuses with its own error (e.g. two files with the same RDM), or every share and its interval lie in
[0, 1] with the share inside its interval (or a note where there is none), every variance is >= 0, every p in
[0, 1], every pair's rho a correlation inside its interval, and no numpy warning escapes."""

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st_h

from rsastats.exceptions import RsaStatsError
from rsastats.rdm import rdm_matrix
from rsastats.results import to_jsonable

from .odd_inputs import promises
from rsastats.variance.decomposition import decompose_rdms

studies = st_h.fixed_dictionaries({
    "seed": st_h.integers(min_value=0, max_value=2**31 - 1),
    "n": st_h.integers(min_value=4, max_value=12),
    "models": st_h.integers(min_value=2, max_value=3),
    "precisions": st_h.sampled_from((("fp32",), ("fp32", "bf16"))),
    "methods": st_h.sampled_from((("comprehension",), ("comprehension", "generation"))),
    "hidden": st_h.sampled_from((1, 2, 8, 24)),
    "effect": st_h.sampled_from((0.0, 0.01, 0.3, 3.0)),
    "decimals": st_h.sampled_from((None, 0, 1)),
    "ci": st_h.sampled_from(("bca", "percentile", "basic")),
    "response": st_h.sampled_from(("rank", "zscore")),
})


def _within(value, low, high):
    return value is None or low - 1e-12 <= value <= high + 1e-12


@promises(max_examples=40)
@given(studies)
def test_decompose_keeps_its_promises_on_odd_studies(d):
    rng = np.random.default_rng(d["seed"])
    shared = rng.standard_normal((d["n"], d["hidden"]))
    rdms, conditions = [], []
    try:
        for m in range(d["models"]):
            model = shared + rng.standard_normal(shared.shape)
            for method, precision in itertools.product(d["methods"], d["precisions"]):
                vectors = model + d["effect"] * rng.standard_normal(shared.shape)
                rdms.append(rdm_matrix(vectors if d["decimals"] is None else np.round(vectors, d["decimals"]),
                                       "cosine"))
                conditions.append({"model": f"m{m}", "method": method, "precision": precision, "experiment": "x"})
        result = decompose_rdms(np.stack(rdms), [f"e{i}" for i in range(d["n"])], conditions, n_boot=50,
                                ci_method=d["ci"], response=d["response"], seed=d["seed"])
    except RsaStatsError as exc:  # refused with the package's own error, which says why
        assert str(exc).strip()
        return
    out = to_jsonable(result.to_dict())  # what `decompose --json` prints
    for row in out["components"] + out["layers"]:
        share, low, high = row["share"], row["share_ci_low"], row["share_ci_high"]
        assert all(_within(v, 0.0, 1.0) for v in (share, low, high)), row
        assert (low is None) == (high is None), row
        if share is not None:
            assert _within(share, low, high) if low is not None else row["note"], row
    for row in out["components"]:
        assert row["variance"] is None or row["variance"] >= 0, row
        assert _within(row["lrt_p"], 0.0, 1.0) and _within(row["lrt_p_adjusted"], 0.0, 1.0), row
    for pair in out["pairs"]:
        assert all(_within(pair[k], -1.0, 1.0) for k in ("rho", "ci_low", "ci_high", "implied_rho")), pair
        if pair["rho"] is not None and pair["ci_low"] is not None:
            assert _within(pair["rho"], pair["ci_low"], pair["ci_high"]), pair
