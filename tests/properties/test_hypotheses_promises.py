"""What ``hypotheses`` promises on any input it accepts (hypothesis): the odd activations of
test_compare_promises.py against feature tables that are random, tied, binary or hold a constant feature, with and
without a confound.  Either the package refuses with its own error, or every fit's rho is a correlation inside its
own interval (or has a note saying why there is none), and so does each partial rho given the confound, every
ceiling is in [0, 1] or has a note, every difference of two fits lies inside its own interval, and no numpy warning
escapes."""

import numpy as np
import pandas as pd
from hypothesis import example, given
from hypothesis import strategies as st_h

from rsastats.exceptions import RsaStatsError
from rsastats.inference.hypotheses import compare_hypotheses
from rsastats.results import to_jsonable

from .odd_inputs import promises
from .test_compare_promises import _activations, designs

tables = st_h.fixed_dictionaries({
    "k": st_h.integers(min_value=1, max_value=3),
    "kind": st_h.sampled_from(("random", "ties", "binary", "one constant")),
    "confound": st_h.booleans(),
})
_ODD = {"prompts": 3, "hidden": 1, "scale": 1.0, "offset": 10.0, "decimals": None, "duplicate": False,
        "masked": False, "b_vectors": False}
# found by this test (2026-12-07): vectors of one dimension, all positive, have an RDM of rounding noise; leaving out
# an emotion makes it constant, and the difference of two fits stopped with an error about its jackknife values
FOUND_DIFFERENCE = ({"seed": 1, "n": 7, "noise": 0.0, "relation": "noisy copy", **_ODD, "prompts": 1},
                    {"k": 1, "kind": "random", "confound": False})
# ... and a model whose every split-half correlation is undefined raised numpy's "mean of empty slice" warning
FOUND_SPLIT_HALF = ({"seed": 0, "n": 4, "noise": 0.05, "relation": "noisy copy", **_ODD},
                    {"k": 1, "kind": "random", "confound": False})
# ... and a partial rho without an interval (4 emotions) had no note saying why
FOUND_PARTIAL_NOTE = ({"seed": 0, "n": 4, "noise": 0.0, "relation": "noisy copy", **_ODD, "scale": 1e-15,
                       "offset": 0.0, "prompts": 1}, {"k": 1, "kind": "random", "confound": True})


def _inside(value, low, high):
    return low - 1e-12 <= value <= high + 1e-12


@promises(max_examples=40)
@given(designs, tables)
@example(*FOUND_DIFFERENCE)
@example(*FOUND_SPLIT_HALF)
@example(*FOUND_PARTIAL_NOTE)
def test_hypotheses_keep_their_promises_on_odd_inputs(d, t):
    rng = np.random.default_rng(d["seed"] + 1)
    labels = [f"e{i}" for i in range(d["n"])]
    values = rng.standard_normal((d["n"], t["k"]))
    if t["kind"] == "ties":
        values = np.round(values)
    elif t["kind"] == "binary":
        values = (values > 0).astype(float)
    elif t["kind"] == "one constant":
        values[:, 0] = 1.0
    features = pd.DataFrame(values, columns=[f"f{i}" for i in range(t["k"])]).assign(emotion=labels)
    other = pd.DataFrame({"emotion": labels, "g": rng.standard_normal(d["n"])})
    confound = pd.DataFrame({"emotion": labels, "c": rng.standard_normal(d["n"])})
    try:
        a, b = _activations(d)
        result = compare_hypotheses([a, b], [features, other], confounds=[confound] if t["confound"] else (),
                                    n_boot=100, permutations=99, seed=d["seed"])
    except RsaStatsError as exc:  # refused with the package's own error, which says why (about the input)
        assert str(exc).strip() and "leave-one-out" not in str(exc)
        return
    out = to_jsonable(result.to_dict())  # what `hypotheses --json` prints
    for fit in out["fits"]:
        assert fit["rho"] is not None and -1 - 1e-12 <= fit["rho"] <= 1 + 1e-12, fit
        assert (fit["ci_low"] is None) == (fit["ci_high"] is None), fit
        assert _inside(fit["rho"], fit["ci_low"], fit["ci_high"]) if fit["ci_low"] is not None else fit["ci_note"], fit
        ceiling = fit["noise_ceiling"]
        assert (0 <= ceiling <= 1 + 1e-12) if ceiling is not None else fit["ceiling_note"], fit
        assert 0 < fit["p_value"] <= fit["p_adjusted"] <= 1, fit
        if t["confound"]:  # the partial Mantel test: the same promises, its note in `partial_ci_note`
            partial, low, high = fit["partial_rho"], fit["partial_ci_low"], fit["partial_ci_high"]
            assert partial is not None and -1 - 1e-12 <= partial <= 1 + 1e-12, fit
            assert (low is None) == (high is None) and (_inside(partial, low, high) if low is not None
                                                        else fit["partial_ci_note"]), fit
            assert 0 < fit["partial_p_value"] <= 1, fit
    for diff in out["differences"]:
        assert -2 - 1e-12 <= diff["difference"] <= 2 + 1e-12, diff
        if diff["ci_low"] is None:
            assert diff["ci_high"] is None and diff["ci_note"], diff
        else:
            assert _inside(diff["difference"], diff["ci_low"], diff["ci_high"]), diff
