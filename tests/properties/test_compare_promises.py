"""What ``compare`` promises on any input it accepts, checked on odd but legal activations (hypothesis).

The calibration studies check coverage on designed data; this checks the promises that must hold on every data set,
however odd: ties (vectors of 1 or 2 dimensions, values rounded to a few levels), duplicated emotions, models that
are copies or negations of each other, unrelated or noise-only models, no prompt noise at all, extreme scales,
a strong common offset, masked prompts, 1 to 8 prompts per emotion, a vector-set file on one side, and every RDM,
rank measure and normalization.  Either the comparison is refused with the package's own error, or: every
correlation-like value lies in [-1, 1], every estimate inside its own interval, an interval has both ends or
neither, every value or interval left out has a note saying why (checked on the record `compare --json` prints,
where a number that cannot be estimated is null), and no numpy warning escapes.
"""

import math

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st_h

from rsastats.exceptions import RsaStatsError
from rsastats.inference import compare_all, compare_models
from rsastats.io.construct import make_activations, make_vectors
from rsastats.results import to_jsonable

from .odd_inputs import mask_prompts, promises

RELATIONS = ("noisy copy", "shared prompts", "copy", "negated", "unrelated", "dims reversed")
CORRELATIONS = ("rho", "ci_low", "ci_high", "rho_corrected", "corrected_ci_low", "corrected_ci_high",
                "noise_ceiling", "split_half_a", "split_half_b")
ESTIMATES = (("rho", "ci_low", "ci_high", "ci_note"),
             ("rho_corrected", "corrected_ci_low", "corrected_ci_high", "corrected_note"))

designs = st_h.fixed_dictionaries({
    "seed": st_h.integers(min_value=0, max_value=2**31 - 1),
    "n": st_h.integers(min_value=4, max_value=14),
    "prompts": st_h.integers(min_value=1, max_value=8),
    "hidden": st_h.sampled_from((1, 2, 3, 8, 24)),
    "noise": st_h.sampled_from((0.0, 0.05, 0.5, 2.0, 20.0)),
    "relation": st_h.sampled_from(RELATIONS),
    "scale": st_h.sampled_from((1e-15, 1.0, 1e15)),
    "offset": st_h.sampled_from((0.0, 10.0)),
    "decimals": st_h.sampled_from((None, 0, 1)),
    "duplicate": st_h.booleans(),
    "masked": st_h.booleans(),
    "b_vectors": st_h.booleans(),
})
options = st_h.fixed_dictionaries({
    "rdm": st_h.sampled_from(("cosine", "correlation", "euclidean", "crossval-euclidean")),
    "rank": st_h.sampled_from(("spearman", "pearson", "kendall-b", "rho-a", "cosine")),
    "normalization": st_h.sampled_from(("raw", "emotion-mean", "unit", "zscore")),
})
DEFAULTS = {"rdm": "cosine", "rank": "spearman", "normalization": "raw"}
# found by these tests (2026-12-07): a half RDM whose noise-equalized squared norms are not positive gave a NaN
# split-half correlation that passed the split-half rule with no note; leaving out one prompt made rho undefined
# where no emotion moved it, which stopped `compare` with an error about the prompts' jackknife values; numpy
# warnings from RDMs of halves, resamples or prompts left out whose vectors have a squared norm of 0
FOUND_SPLIT_HALF = ({"seed": 0, "n": 7, "prompts": 3, "hidden": 1, "noise": 0.0, "relation": "shared prompts",
                     "scale": 1.0, "offset": 0.0, "decimals": None, "duplicate": False, "masked": False,
                     "b_vectors": False}, {"rdm": "cosine", "rank": "pearson", "normalization": "emotion-mean"})
FOUND_PROMPT_OUT = ({"seed": 2, "n": 9, "prompts": 2, "hidden": 2, "noise": 0.5, "relation": "shared prompts",
                     "scale": 1e-15, "offset": 0.0, "decimals": 0, "duplicate": False, "masked": False,
                     "b_vectors": False}, {"rdm": "correlation", "rank": "pearson", "normalization": "zscore"})
FOUND_ZERO_NORM = ({"seed": 0, "n": 4, "prompts": 2, "hidden": 3, "noise": 0.05, "relation": "copy", "scale": 1e-15,
                    "offset": 0.0, "decimals": 0, "duplicate": False, "masked": False, "b_vectors": False}, DEFAULTS)


def _activations(d):
    rng = np.random.default_rng(d["seed"])
    n, p, h = d["n"], d["prompts"], d["hidden"]
    mu = rng.standard_normal((n, 1, 1, h)) + d["offset"]
    a = mu + d["noise"] * rng.standard_normal((n, p, 1, h))
    relation = d["relation"]
    if relation == "noisy copy":
        b = mu @ rng.standard_normal((h, h)) + d["noise"] * rng.standard_normal((n, p, 1, h))
    elif relation == "shared prompts":
        b = a + 0.3 * rng.standard_normal((n, p, 1, h))
    elif relation == "copy":
        b = a.copy()
    elif relation == "negated":
        b = -a
    elif relation == "unrelated":
        b = rng.standard_normal((n, 1, 1, h)) + d["noise"] * rng.standard_normal((n, p, 1, h))
    else:
        b = a[..., ::-1] + 0.1 * rng.standard_normal((n, p, 1, h))
    if d["decimals"] is not None:
        a, b = np.round(a, d["decimals"]), np.round(b, d["decimals"])
    if d["duplicate"]:
        b[1] = b[0]
    valid = None
    if d["masked"] and p > 1:
        a, valid = mask_prompts(rng, a)
    labels = [f"e{i}" for i in range(n)]
    a = make_activations(a, labels, valid=valid, attrs={"model": "a"})
    if d["b_vectors"]:  # a vector-set file: the prompt means only, so no noise-free rho
        return a, make_vectors(b.mean(axis=1) * d["scale"], labels, attrs={"model": "b"})
    return a, make_activations(b * d["scale"], labels, attrs={"model": "b"})


def _inside(value, low, high):
    return low - 1e-12 <= value <= high + 1e-12


def _check_record(out, *, noise_free_possible=True):
    """The promises of one comparison's record (``compare --json``, or one pair of ``matrix --json``)."""
    for key in CORRELATIONS:
        value = out.get(key)
        assert value is None or (math.isfinite(value) and -1 - 1e-12 <= value <= 1 + 1e-12), (key, value)
    for estimate, low, high, note in ESTIMATES:
        e, lo, hi = out[estimate], out[low], out[high]
        assert (lo is None) == (hi is None), (estimate, lo, hi)
        if e is None:
            assert lo is None and out[note], (estimate, out[note])
        elif lo is None:
            assert out[note], (estimate, "interval left out without a note")
        else:
            assert lo <= hi and _inside(e, lo, hi), (estimate, e, lo, hi)
    assert out["rho"] is not None
    if out.get("noise_ceiling", None) is None and "ceiling_note" in out:
        assert out["ceiling_note"]
    assert 0 < out["p_value"] <= 1
    if not noise_free_possible:
        assert out["rho_corrected"] is None


@promises(max_examples=150)
@given(designs, options)
@example(*FOUND_SPLIT_HALF)
@example(*FOUND_PROMPT_OUT)
@example(*FOUND_ZERO_NORM)  # a prompt left out of a vector that rounds to 0: numpy's divide warning
def test_compare_keeps_its_promises_on_odd_inputs(d, o):
    try:
        a, b = _activations(d)
        result = compare_models(a, b, n_boot=200, permutations=99, n_splits=2, seed=d["seed"], **o)
    except RsaStatsError as exc:  # refused with the package's own error, which says why
        assert str(exc).strip() and "leave-one-prompt-out" not in str(exc)
        return
    _check_record(to_jsonable(result.to_dict()), noise_free_possible=not d["b_vectors"])  # as `--json` prints it


@promises(max_examples=40)
@given(designs)
@example({"seed": 4, "n": 4, "prompts": 4, "hidden": 1, "noise": 0.0, "relation": "unrelated", "scale": 1e15,
          "offset": 0.0, "decimals": None, "duplicate": False, "masked": False,
          "b_vectors": False})  # matrix gave p = 0 (2026-12-07)
def test_matrix_keeps_its_promises_on_odd_inputs(d):
    """Three models (the pair above and a noisy copy of the first): every pair's record as `matrix --json` gives it;
    `matrix` refuses only what `compare` refuses for one of its pairs, and its first pair has `compare`'s rho and
    Mantel p (the same permutations)."""
    try:
        a, b = _activations(d)
    except RsaStatsError:
        return
    noise = 0.5 * np.random.default_rng(1).standard_normal(a.activations.shape)
    models = [a, b, a.assign(activations=a.activations + noise)]
    try:
        result = compare_all(models, n_boot=200, permutations=99, n_splits=2, seed=d["seed"])
    except RsaStatsError as exc:
        assert str(exc).strip()
        for i, j in ((0, 1), (0, 2), (1, 2)):
            try:
                compare_models(models[i], models[j], n_boot=50, permutations=19, n_splits=2)
            except RsaStatsError:
                return
        raise AssertionError(f"matrix refused what compare accepts for every pair: {exc}")
    records = to_jsonable(result.pairs.to_dict("records"))
    assert len(records) == 3
    for record in records:
        _check_record(record, noise_free_possible=not (d["b_vectors"] and "b" in (record["a"], record["b"])))
        assert record["p_value"] <= record["p_adjusted"] <= 1
    single = compare_models(models[0], models[1], n_boot=200, permutations=99, n_splits=2, seed=d["seed"])
    assert records[0]["p_value"] == single.p_value and records[0]["rho"] == single.rho  # the same test either way
