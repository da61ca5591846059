"""Which of the study's four method layers separate two files, from the attributes each records.

Each attribute is ``same``, ``differs``, ``unknown`` (not recorded on one side: unknown is never
equal) or ``n/a`` (a sampling setting of a comprehension file); a layer ``differs`` if any of its
attributes does, else is ``unknown`` if one is, else ``same``.  To add an attribute to a layer,
add its name to :data:`LAYER_ATTRIBUTES` (and to :data:`GENERATION_ONLY` / :data:`NOT_NEEDED` when
it applies to generated text only / is not needed to reproduce the layer); see ``docs/audit.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..io import known_attribute
from ..io.schema import UNKNOWN_ATTRIBUTES
from ..exceptions import ValidationError
from ..results import Record

__all__ = [
    "LAYER_ATTRIBUTES",
    "LAYERS",
    "GENERATION_ONLY",
    "NOT_NEEDED",
    "STATUSES",
    "UNRECORDED",
    "AttributeComparison",
    "LayerComparison",
    "compare_layers",
    "layer_of",
    "check_recipe_recorded",
]

# The study's four layers of method effects and the attributes that record each.
LAYER_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "1 method": ("method", "pooling"),
    "2 sub-parameters": ("temperature", "top_p", "top_k", "max_new_tokens", "template", "chat_template", "seed"),
    "3 precision": ("precision",),
    "4 experiment": ("stimulus_set", "experiment"),
}
LAYERS = tuple(LAYER_ATTRIBUTES)
# Sampling settings exist only for generated text.
GENERATION_ONLY = ("temperature", "top_p", "top_k", "max_new_tokens", "seed")
# Attributes a reference extraction does not need in order to reproduce a layer: a seed is an
# exchangeable draw, and an experiment label names the stimuli the stimulus_set hash identifies.
NOT_NEEDED = ("seed", "experiment")
STATUSES = ("same", "differs", "unknown", "n/a")
# How an attribute one side does not record is shown.
UNRECORDED = "(unknown)"
_NA = "n/a"


@dataclass(frozen=True)
class AttributeComparison(Record):
    """One attribute of the two files: values, status, and whether each side records it usably.

    ``a``/``b`` are ``""`` where not recorded (``"(unknown)"`` in ``to_dict``).  ``known_a``/
    ``known_b`` are False for an empty attribute and for a precision of bare ``int8`` (the scheme
    decides the effect).  ``needed`` says whether a reference extraction needs it to reproduce the
    layer (not for ``seed`` and ``experiment``).
    """

    layer: str
    attribute: str
    a: str
    b: str
    status: str
    known_a: bool
    known_b: bool
    needed: bool

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"a": self.a or UNRECORDED, "b": self.b or UNRECORDED}


@dataclass(frozen=True)
class LayerComparison(Record):
    """One of the four layers: ``differs`` if any of its attributes differs, else ``unknown`` if one
    is not recorded, else ``same`` (``n/a`` if none applies).  ``complete`` is True when every
    attribute a reference needs is recorded on both sides.  In ``to_dict`` the attribute names
    are comma-separated text."""

    layer: str
    status: str
    differing: tuple[str, ...]
    unknown: tuple[str, ...]
    complete: bool
    description: str

    def to_dict(self) -> dict[str, Any]:
        return super().to_dict() | {"differing": ", ".join(self.differing), "unknown": ", ".join(self.unknown)}


def _attribute_value(attrs: Mapping[str, Any], name: str) -> str:
    if name in GENERATION_ONLY and known_attribute(attrs, "method") == "comprehension":
        return _NA
    return known_attribute(attrs, name)


def _attribute_status(name: str, a: str, b: str) -> tuple[str, bool, bool]:
    known_a = bool(a) and not (name == "precision" and a == "int8")
    known_b = bool(b) and not (name == "precision" and b == "int8")
    if a == b == _NA:
        return "n/a", True, True
    if not a or not b:
        return "unknown", known_a, known_b
    if name == "precision" and "int8" in (a, b):
        # Bare "int8" (scheme not recorded) differs from a float precision but may equal any int8 scheme.
        return ("unknown" if a.startswith("int8") and b.startswith("int8") else "differs"), known_a, known_b
    return ("same" if a == b else "differs"), known_a, known_b


def _layer_comparison(layer: str, rows: list[AttributeComparison]) -> LayerComparison:
    differing = tuple(r.attribute for r in rows if r.status == "differs")
    unknown = tuple(r.attribute for r in rows if r.status == "unknown")
    if differing:
        status = "differs"
    elif unknown:
        status = "unknown"
    elif all(r.status == "n/a" for r in rows):
        status = "n/a"
    else:
        status = "same"
    complete = all(r.known_a and r.known_b for r in rows if r.needed)
    shown = [r for r in rows if r.status in ("differs", "unknown")]
    description = "; ".join(f"{r.attribute}: {r.a or UNRECORDED} vs {r.b or UNRECORDED}" for r in shown)
    return LayerComparison(layer, status, differing, unknown, complete, description)


def compare_layers(attrs_a: Mapping[str, Any], attrs_b: Mapping[str, Any]) -> tuple[tuple[AttributeComparison, ...],
                                                                                       tuple[LayerComparison, ...]]:
    """Which of the four method layers separate two files, from their attributes.

    Values are compared as text, numbers in one spelling (``0.7 == "0.70"``).  Generation
    sub-parameters of a comprehension file are ``n/a``.  An empty attribute is ``unknown``, never
    ``same``.

    Returns
    -------
    (attributes, layers) : one :class:`AttributeComparison` per attribute of
        :data:`LAYER_ATTRIBUTES`, and one :class:`LayerComparison` per layer.
    """
    attributes: list[AttributeComparison] = []
    layers: list[LayerComparison] = []
    for layer, names in LAYER_ATTRIBUTES.items():
        rows = []
        for name in names:
            a, b = _attribute_value(attrs_a, name), _attribute_value(attrs_b, name)
            status, known_a, known_b = _attribute_status(name, a, b)
            rows.append(AttributeComparison(layer, name, a, b, status, known_a, known_b, name not in NOT_NEEDED))
        attributes.extend(rows)
        layers.append(_layer_comparison(layer, rows))
    return tuple(attributes), tuple(layers)


def layer_of(attribute: str) -> str:
    """The layer an attribute belongs to (a stimulus attribute to ``4 experiment``; any other
    attribute outside :data:`LAYER_ATTRIBUTES` is its own name)."""
    for layer, names in LAYER_ATTRIBUTES.items():
        if attribute in names:
            return layer
    return "4 experiment" if attribute.startswith("stimul") else attribute


def check_recipe_recorded(name: str, attrs: Mapping[str, Any]) -> None:
    """Refuse a file that records none of the four layers' settings: every layer would be unknown
    and a reference would re-extract rsastats' defaults, not the file's recipe."""
    # In a file older than the unknown_attributes list, chat_template 0 may be the old default.
    recorded = [n for names in LAYER_ATTRIBUTES.values() for n in names if known_attribute(attrs, n)
                and (n != "chat_template" or UNKNOWN_ATTRIBUTES in attrs)]
    if not recorded:
        raise ValidationError("records none of the attributes that say how its vectors were made "
                              f"({', '.join(n for names in LAYER_ATTRIBUTES.values() for n in names)}); add what is "
                              "known with `rsastats import ... --meta FILE.json`", path=name)
