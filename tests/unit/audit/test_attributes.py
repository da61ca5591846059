"""rsastats.audit.attributes: which of the four method layers separate two files, from their
attributes (unknown is never equal), and the refusal of a file that records no recipe."""

from __future__ import annotations

import pytest

from rsastats.audit import LAYER_ATTRIBUTES, compare_layers
from rsastats.audit.attributes import NOT_NEEDED, check_recipe_recorded, layer_of
from rsastats.exceptions import ValidationError
from rsastats.simulate import AUDIT_RECIPE_A, AUDIT_RECIPE_B


# --------------------------------------------------------------------------- layers from attributes
def _layer(layers, name):
    return next(x for x in layers if x.layer.endswith(name))


def test_layers_that_differ_are_named_with_their_values():
    attributes, layers = compare_layers(AUDIT_RECIPE_A, AUDIT_RECIPE_B)
    assert [x.status for x in layers] == ["differs", "differs", "differs", "differs"]
    method = _layer(layers, "method")
    assert method.differing == ("method", "pooling") and "comprehension vs generation" in method.description
    # A comprehension file has no sampling settings: n/a, not unknown, and not counted as a difference.
    rows = {x.attribute: x for x in attributes}
    assert rows["temperature"].status == "differs" and rows["temperature"].a == "n/a" and rows["temperature"].b == "0.7"
    assert _layer(layers, "sub-parameters").differing == ("temperature", "top_p", "top_k", "max_new_tokens", "template", "seed")
    assert all(x.complete for x in layers)


@pytest.mark.parametrize("method", ["pca-diff", "mean-diff", "baseline-diff", "neutral-pc"])
def test_a_contrastive_method_has_no_sampling_settings(method):
    """The contrastive methods read the stimuli: their sampling settings are n/a, as for comprehension
    (found on a real run, where a pca-diff file made layer 2 'unknown' against a comprehension file)."""
    contrastive = {k: v for k, v in AUDIT_RECIPE_A.items() if k not in ("temperature", "top_p", "top_k",
                                                                        "max_new_tokens", "seed")}
    attributes, layers = compare_layers(AUDIT_RECIPE_A, {**contrastive, "method": method})
    assert _layer(layers, "sub-parameters").status == "same" and all(x.complete for x in layers)
    assert _layer(layers, "method").differing == ("method",)
    assert {x.a for x in attributes if x.attribute == "top_p"} == {"n/a"}


def test_unknown_is_reported_as_unknown_never_as_same():
    known = dict(AUDIT_RECIPE_A)
    missing = {k: v for k, v in AUDIT_RECIPE_A.items() if k != "precision"}
    _, layers = compare_layers(known, missing)
    precision = _layer(layers, "precision")
    assert precision.status == "unknown" and precision.unknown == ("precision",) and not precision.complete
    assert "(unknown)" in precision.description
    # Both sides empty is still unknown (nothing says they agree).
    _, layers = compare_layers({}, {})
    assert {x.status for x in layers} == {"unknown"} and not any(x.complete for x in layers)


def test_same_values_in_other_spellings_are_same():
    a = {**AUDIT_RECIPE_B, "temperature": 0.7, "max_new_tokens": 100}
    b = {**AUDIT_RECIPE_B, "temperature": "0.70", "max_new_tokens": "100"}
    _, layers = compare_layers(a, b)
    assert [x.status for x in layers] == ["same"] * 4


def test_bare_int8_differs_from_floats_but_is_unknown_against_an_int8_scheme():
    _, layers = compare_layers({**AUDIT_RECIPE_A, "precision": "int8"}, {**AUDIT_RECIPE_A, "precision": "fp16"})
    precision = _layer(layers, "precision")
    assert precision.status == "differs" and not precision.complete  # the scheme decides how far it moves rho
    _, layers = compare_layers({**AUDIT_RECIPE_A, "precision": "int8"}, {**AUDIT_RECIPE_A, "precision": "int8-token"})
    assert _layer(layers, "precision").status == "unknown"


def test_an_unrecorded_seed_or_experiment_label_does_not_block_the_reference():
    a = {k: v for k, v in AUDIT_RECIPE_B.items() if k not in ("seed", "experiment")}
    _, layers = compare_layers(a, AUDIT_RECIPE_B)
    assert _layer(layers, "sub-parameters").status == "unknown" and _layer(layers, "sub-parameters").complete
    assert _layer(layers, "experiment").status == "unknown" and _layer(layers, "experiment").complete


def test_to_dict_shows_unrecorded_values_and_joins_attribute_names():
    missing = {k: v for k, v in AUDIT_RECIPE_A.items() if k != "precision"}
    attributes, layers = compare_layers(AUDIT_RECIPE_A, missing)
    row = next(x for x in attributes if x.attribute == "precision").to_dict()
    assert row == {"layer": "3 precision", "attribute": "precision", "a": AUDIT_RECIPE_A["precision"], "b": "(unknown)",
                   "status": "unknown", "known_a": True, "known_b": False, "needed": True}
    method = _layer(layers, "method").to_dict()
    assert list(method) == ["layer", "status", "differing", "unknown", "complete", "description"]
    assert method["differing"] == "" and method["unknown"] == "" and method["status"] == "same"
    _, layers = compare_layers(AUDIT_RECIPE_A, AUDIT_RECIPE_B)
    assert _layer(layers, "method").to_dict()["differing"] == "method, pooling"


def test_every_layer_attribute_has_a_layer():
    for layer, names in LAYER_ATTRIBUTES.items():
        assert all(layer_of(name) == layer for name in names)
    assert layer_of("stimulus_source") == "4 experiment" and set(NOT_NEEDED) <= {n for v in LAYER_ATTRIBUTES.values() for n in v}


def test_a_recipe_must_be_recorded():
    check_recipe_recorded("a.nc", {"precision": "fp16"})
    with pytest.raises(ValidationError, match="records none of the attributes"):
        check_recipe_recorded("a.nc", {"model": "paper", "chat_template": 0})
