"""The a-priori maturity rule: its inputs come from one base model only, and its decisions."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

import numpy as np
import pytest

import rsastats.geometry
from rsastats.data import write_dataset
from rsastats.exceptions import ValidationError
from rsastats.inference.ceiling import spearman_brown
from rsastats.maturity import (MATURITY_RULE, SENSITIVITY_THRESHOLDS, BaseModel, MaturityRule, classify,
                               classify_maturity)
from rsastats.simulate import simulate_activations

DOCS = Path(__file__).resolve().parents[2] / "docs" / "maturity.md"


def _model(variant="base", noise=1.0, seed=0, n_baseline=40, **kw):
    return simulate_activations(n_emotions=10, n_prompts=12, n_layers=2, hidden=24, noise=noise,
                                n_baseline=n_baseline, seed=seed,
                                attrs={"variant": variant, "model": f"{variant}-{seed}", "family": "sim"}, **kw)


def test_the_only_data_argument_is_one_base_model():
    params = inspect.signature(classify_maturity).parameters
    data_params = [name for name, p in params.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    assert data_params == ["base"]
    assert all(p.kind is p.KEYWORD_ONLY for name, p in params.items() if name != "base")
    # nothing else that could carry a second model's data
    assert set(params) == {"base", "rule", "layer", "n_boot", "seed", "assume_base"}


def test_an_instruct_model_is_refused_with_a_clear_error(tmp_path):
    path = write_dataset(_model("instruct"), tmp_path / "instruct.nc")
    for given in (path, str(path), _model("instruct")):
        with pytest.raises(ValidationError, match="is an instruct model .* base models only"):
            classify_maturity(given)
    with pytest.raises(ValidationError, match="is an instruct model"):
        classify_maturity(_model("instruct"), assume_base=True)  # cannot be overridden
    with pytest.raises(ValidationError, match="is an instruct model"):
        BaseModel.from_file(path)


def test_unknown_variant_needs_explicit_assumption():
    ds = _model("")
    with pytest.raises(ValidationError, match="variant is 'unknown'"):
        classify_maturity(ds)
    result = classify_maturity(ds, assume_base=True, n_boot=50)
    assert result.assumed_base and result.to_dict()["assumed_base"] is True


def test_classification_is_invariant_to_the_instruct_model(monkeypatch):
    """Whatever instruct model exists (identical, or fully restructured), the base's class and
    inputs are the same; and the rule still runs when the comparison code is unavailable."""
    base = _model("base", seed=0)
    reference = classify_maturity(base, n_boot=100, seed=3).to_dict()
    for instruct in (base.assign_attrs(variant="instruct"), _model("instruct", seed=99, noise=5.0)):
        rsastats.geometry.compare_geometry(base, instruct, n_boot=20)  # an outcome exists ...
        assert classify_maturity(base, n_boot=100, seed=3).to_dict() == reference  # ... and is not used

    def forbidden(*args, **kwargs):
        raise AssertionError("the maturity rule must not look at a base x instruct comparison")

    monkeypatch.setattr(rsastats.geometry, "compare_geometry", forbidden)
    assert classify_maturity(base, n_boot=100, seed=3).to_dict() == reference


def test_classify_decision_table():
    assert classify({"a": "mature", "r": "mature"}) == "mature"
    assert classify({"a": "immature", "r": "mature"}) == "immature"
    assert classify({"a": "mature", "r": "immature"}) == "immature"
    assert classify({"a": "straddles", "r": "mature"}) == "indeterminate"
    assert classify({"a": "missing", "r": "mature"}) == "indeterminate"
    assert classify({"a": "missing", "r": "immature"}) == "immature"
    assert classify({"a": "straddles", "r": "straddles"}) == "indeterminate"


def test_planted_models_get_the_expected_classes():
    organised = classify_maturity(_model(noise=0.5), n_boot=200)
    assert organised.maturity == "mature", organised.reason
    noisy = classify_maturity(_model(noise=30.0), n_boot=200)  # no measurable emotion geometry
    assert noisy.maturity == "immature", noisy.reason
    assert noisy["rdm_reliability"].side == "immature"
    # a collapsed baseline: every text points the same way
    collapsed = _model(noise=0.5)
    rng = np.random.default_rng(0)
    offset = np.zeros(24, dtype=np.float32)
    offset[0] = 50.0
    collapsed["baseline"] = collapsed["baseline"] + offset + 0 * rng.standard_normal(1)
    result = classify_maturity(collapsed, n_boot=200)
    assert result["baseline_anisotropy"].estimate > 0.99 and result["baseline_anisotropy"].side == "immature"
    assert result.maturity == "immature"


def test_missing_baseline_gives_indeterminate_with_reason():
    result = classify_maturity(_model(n_baseline=0, noise=0.5), n_boot=50)
    assert result.maturity == "indeterminate"
    assert result["baseline_anisotropy"].side == "missing" and "no baseline" in result.reason


def test_too_few_prompts_for_a_split_half():
    ds = _model(noise=0.5).isel(prompt=[0, 1, 2])
    result = classify_maturity(ds, n_boot=50)
    assert result["rdm_reliability"].side == "missing" and "at least 4 valid prompts" in result.reason


def test_reliability_is_the_core_split_half_estimate():
    from rsastats._rng import spawn_sequences
    from rsastats.geometry.resampling import resampling_streams
    from rsastats.inference import noise_ceiling

    ds = _model(noise=2.0)
    result = classify_maturity(ds, n_boot=20, seed=5)
    point_stream, _ = spawn_sequences(resampling_streams(5)["reliability"], 2)
    ceiling = noise_ceiling(ds.sel(layer=[1]), n_splits=MATURITY_RULE.n_splits, seed=point_stream)
    assert result["rdm_reliability"].estimate == pytest.approx(ceiling.reliability[0], abs=1e-12)
    assert spearman_brown(0.5) == pytest.approx(2 / 3)


def test_jackknife_split_half_kernel_matches_a_direct_computation():
    """The split-half correlation the jackknife recomputes, against materialised halves and scipy."""
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    from rsastats.geometry.layers import layer_data
    from rsastats.geometry.reliability import half_masks, split_half_rho

    ds = _model(noise=2.0)
    data = layer_data(ds, "activations", 1, None)
    masks = half_masks(np.random.default_rng(0), data.prompts.group_sizes, 7)
    acts = ds["activations"].sel(layer=1).values.astype(np.float64)
    left_out = np.ones(120)
    left_out[np.arange(10) * 12 + 3] = 0.0  # prompt 3 of every emotion
    got = split_half_rho(data.prompts, np.stack([np.ones(120), left_out]), masks)
    for row, keep in enumerate((np.ones((10, 12), bool), left_out.reshape(10, 12).astype(bool))):
        rhos = []
        for mask in masks:
            half = mask.reshape(10, 12).astype(bool)
            va = np.stack([acts[e][half[e] & keep[e]].mean(axis=0) for e in range(10)])
            vb = np.stack([acts[e][~half[e] & keep[e]].mean(axis=0) for e in range(10)])
            rhos.append(spearmanr(pdist(va, "cosine"), pdist(vb, "cosine")).statistic)
        assert got[row] == pytest.approx(np.mean(rhos), abs=1e-12)


def test_same_seed_same_classification_and_anisotropy_interval_matches_geometry():
    ds = _model()
    a = classify_maturity(ds, n_boot=100, seed=11)
    assert a.to_dict() == classify_maturity(ds, n_boot=100, seed=11).to_dict()
    g = rsastats.geometry.geometry(ds, layers="last", n_boot=100, seed=11, ci_method=MATURITY_RULE.ci_method)
    est = g.layers[0]["baseline_anisotropy"]
    assert (a["baseline_anisotropy"].ci_low, a["baseline_anisotropy"].ci_high) == (est.ci_low, est.ci_high)


def test_rule_is_frozen_documented_and_fingerprinted():
    with pytest.raises(Exception):
        MATURITY_RULE.max_baseline_anisotropy = 0.5  # frozen dataclass
    assert MATURITY_RULE == MaturityRule()
    text = DOCS.read_text()
    # the documented thresholds and fingerprint are the coded ones
    assert f"max_baseline_anisotropy = {MATURITY_RULE.max_baseline_anisotropy}" in text
    assert f"min_rdm_reliability = {MATURITY_RULE.min_rdm_reliability}" in text
    assert MATURITY_RULE.fingerprint() in text
    other = MaturityRule(max_baseline_anisotropy=0.8)
    assert other.fingerprint() != MATURITY_RULE.fingerprint()
    assert len(SENSITIVITY_THRESHOLDS) == len(set(SENSITIVITY_THRESHOLDS))


def test_report_states_rule_inputs_and_class():
    result = classify_maturity(_model(noise=0.5), n_boot=50)
    d = json.loads(json.dumps(result.to_dict(), default=float))
    assert d["maturity"] in ("mature", "immature", "indeterminate")
    assert set(d["inputs"]) == {"baseline_anisotropy", "rdm_reliability"}
    for item in d["inputs"].values():
        assert {"estimate", "ci_low", "ci_high", "threshold", "side"} <= set(item)
    assert d["rule_fingerprint"] == MATURITY_RULE.fingerprint()
    assert re.search(r"below 0\.9 AND .* above 0\.7", d["rule_statement"])
    assert len(d["sensitivity"]) == len(SENSITIVITY_THRESHOLDS)
    assert list(result.to_frame()["name"]) == ["baseline_anisotropy", "rdm_reliability"]
