"""Schema v1 of rsastats files: the names, the allowed attribute values, and the attributes of a
new file (see ``docs/file-format.md``).

``activations``  ``activations(emotion, prompt, layer, hidden)`` float32, one model x one
                 extraction condition, optional ``valid(emotion, prompt)`` int8 mask,
                 optional ``baseline(sample, layer, hidden)`` for emotion-free texts, and the
                 ``text(emotion, prompt)`` the model read or generated.
``vectors``      ``vectors(emotion, hidden)`` or ``vectors(emotion, layer, hidden)`` float32: one
                 vector per emotion, e.g. imported from a published study.
``rdm``          ``rdm(emotion, emotion_)`` float64: a representational dissimilarity matrix.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import math
import platform
from typing import Any, Iterable, Mapping

import numpy as np

from .._version import __version__
from ..exceptions import LabelError, ValidationError

__all__ = [
    "SCHEMA_ACTIVATIONS",
    "SCHEMA_VECTORS",
    "SCHEMA_RDM",
    "KIND_OF_SCHEMA",
    "SCHEMA_OF_KIND",
    "METHODS",
    "PRECISIONS",
    "VARIANTS",
    "LAST_LAYER_NORM",
    "REQUIRED_ATTRS",
    "RDM_REQUIRED_ATTRS",
    "ALLOWED_VALUES",
    "software_versions",
    "attribute_text",
    "utc_now",
    "make_attrs",
    "check_labels",
    "UNKNOWN_ATTRIBUTES",
    "LAYER_CONVENTIONS",
    "LAYER_CONVENTION_NAMES",
    "unknown_attributes",
    "known_attribute",
    "layer_convention_name",
    "layer_offset",
]

SCHEMA_ACTIVATIONS = "rsastats.activations/1"
SCHEMA_VECTORS = "rsastats.vectors/1"
SCHEMA_RDM = "rsastats.rdm/1"
KIND_OF_SCHEMA = {SCHEMA_ACTIVATIONS: "activations", SCHEMA_VECTORS: "vectors", SCHEMA_RDM: "rdm"}
SCHEMA_OF_KIND = {v: k for k, v in KIND_OF_SCHEMA.items()}

# "" means unknown / not applicable: NetCDF attributes hold no None.
METHODS = ("comprehension", "generation", "")
VARIANTS = ("base", "instruct", "")
# INT8 is not one scheme; see docs/file-format.md.  "int8" alone is accepted for imported
# vector sets whose paper does not say which scheme was used.
PRECISIONS = ("fp32", "fp16", "bf16", "int8-dynamic", "int8-token", "int8-weight", "int8", "")
# What the last entry of the layer axis is, for models with a final normalisation.
LAST_LAYER_NORM = ("post-final-norm", "pre-final-norm", "no-final-norm", "")

# Attributes every activations or vectors file carries, with the value used when unknown.
REQUIRED_ATTRS: dict[str, Any] = {
    "schema": "",
    "model": "",
    "model_revision": "",
    "family": "",
    "variant": "",
    "method": "",
    "pooling": "",
    "precision": "",
    "experiment": "",
    "stimulus_set": "",
    "template": "",
    "chat_template": "",
    "temperature": "",
    "top_p": "",
    "max_new_tokens": "",
    "seed": "",
    "created": "",
    "software": "",
}
RDM_REQUIRED_ATTRS = ("schema", "rdm_method", "source")
# How the indices of a file's ``layer`` axis map onto rsastats layers (layer k = Hugging Face
# ``hidden_states[k]``, 0 = the embeddings): rsastats layer = stored index + offset.  "block" is the
# 0-based index of a decoder block whose output is meant (repeng's ``direction.i``, steering-vectors'
# layer i): block i's output is ``hidden_states[i + 1]``.  A file without ``layer_convention`` was
# made by rsastats and uses "hidden-states".
LAYER_CONVENTIONS = {"hidden-states": 0, "block": 1}
# Names a user may give for a convention (``--layer-convention``): the conventions and the producers.
LAYER_CONVENTION_NAMES = {"hidden-states": "hidden-states", "hf": "hidden-states", "rsastats": "hidden-states",
                          "block": "block", "repeng": "block", "steering-vectors": "block"}
ALLOWED_VALUES = {"method": METHODS, "variant": VARIANTS, "precision": PRECISIONS, "last_layer_norm": LAST_LAYER_NORM,
                  "layer_convention": (*LAYER_CONVENTIONS, "")}
# The attribute listing the attributes whose value was not given (stored as ""): never defaults.
UNKNOWN_ATTRIBUTES = "unknown_attributes"
# Filled in by make_attrs when absent: this program made the file, now.
_ORIGIN_ATTRS = ("created", "software")


# --------------------------------------------------------------------------- attributes
def software_versions() -> str:
    """A one-line record of the software that made a file (no torch import here)."""
    import importlib.metadata as md

    parts = [f"rsastats {__version__}", f"python {platform.python_version()}"]
    for name in ("numpy", "xarray", "netCDF4", "torch", "transformers"):
        with contextlib.suppress(md.PackageNotFoundError):
            parts.append(f"{name} {md.version(name)}")
    return "; ".join(parts)


def attribute_text(value: Any) -> str:
    """An attribute value as text, numbers in one spelling (``0.7 == "0.70"``, ``100 == "100.0"``);
    ``""`` for a missing value (None).  Lists and arrays become comma-separated text."""
    if value is None:
        return ""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return ", ".join(attribute_text(v) for v in value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return format(number, "g") if math.isfinite(number) else text


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def _netcdf_attr(name: str, value: Any) -> Any:
    """Coerce one attribute value to something NetCDF stores, or raise."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (list, tuple, np.ndarray)):
        arr = np.asarray(value)
        if arr.dtype.kind in "iuf" and arr.ndim == 1:
            return arr
        if all(isinstance(v, str) for v in np.ravel(arr)):
            return ", ".join(map(str, np.ravel(arr)))
    raise ValidationError(f"attribute {name!r} has a value NetCDF cannot store: {value!r}")


def make_attrs(kind: str = "activations", /, **attrs: Any) -> dict[str, Any]:
    """Attributes for a new file of ``kind``: every required key, then ``attrs``.

    A required attribute that is absent, or given as ``None``, is stored as ``""`` and named in
    ``unknown_attributes`` (comma-separated; written even when empty), never given a default value.
    ``created`` and ``software`` are filled in (this program, now) when absent; given as ``None``
    they are unknown (an imported file whose producer is not known).  Booleans become 0/1.
    """
    if kind not in SCHEMA_OF_KIND:
        raise ValidationError(f"unknown file kind {kind!r}; expected one of {sorted(SCHEMA_OF_KIND)}")
    required = tuple(REQUIRED_ATTRS) if kind != "rdm" else RDM_REQUIRED_ATTRS
    unknown = {k for k in required if k != "schema" and k not in _ORIGIN_ATTRS and attrs.get(k) is None}
    unknown |= {k for k, v in attrs.items() if v is None and k != UNKNOWN_ATTRIBUTES}
    unknown |= {k for k in _ORIGIN_ATTRS if k in attrs and attrs[k] is None}
    # A list carried over from another file: a value given now, or created/software filled now, is known.
    unknown |= {k for k in _split_names(attrs.get(UNKNOWN_ATTRIBUTES))
                if _blank(attrs.get(k)) and (k not in _ORIGIN_ATTRS or k in attrs)}
    base: dict[str, Any] = {k: REQUIRED_ATTRS.get(k, "") for k in required}
    base.update({k: _netcdf_attr(k, v) for k, v in attrs.items() if k != UNKNOWN_ATTRIBUTES})
    base["schema"] = SCHEMA_OF_KIND[kind]
    if "created" not in attrs:
        base["created"] = utc_now()
    if "software" not in attrs:
        base["software"] = software_versions()
    for name in unknown:
        base[name] = ""
    base[UNKNOWN_ATTRIBUTES] = ", ".join(sorted(unknown))  # written even when empty: marks a file that lists them
    return base


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _split_names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def unknown_attributes(attrs: Mapping[str, Any]) -> frozenset[str]:
    """The attributes a file does not know: those named in ``unknown_attributes`` and, for a vector
    set imported before that list existed, ``chat_template`` (then written as the default 0)."""
    names = set(_split_names(attrs.get(UNKNOWN_ATTRIBUTES)))
    if UNKNOWN_ATTRIBUTES not in attrs and "source_format" in attrs:
        names.add("chat_template")
    return frozenset(names)


def known_attribute(attrs: Mapping[str, Any], name: str) -> str:
    """The value of attribute ``name`` as text (:func:`attribute_text`), ``""`` when unknown."""
    if name in unknown_attributes(attrs):
        return ""
    return attribute_text(attrs.get(name, ""))


def layer_convention_name(name: str) -> str:
    """The convention a user's name stands for (``repeng`` -> ``block``); an unknown name is an error."""
    key = str(name).strip().lower().replace("_", "-")
    if key not in LAYER_CONVENTION_NAMES:
        raise ValidationError(f"unknown layer convention {name!r}; expected one of {', '.join(LAYER_CONVENTION_NAMES)}")
    return LAYER_CONVENTION_NAMES[key]


def layer_offset(attrs: Mapping[str, Any]) -> int | None:
    """What to add to a stored layer index to get the rsastats layer (``hidden_states`` index):
    0 for rsastats' own files, 1 for block indices, None when the convention is unknown."""
    if "layer_convention" not in attrs:
        return 0
    name = known_attribute(attrs, "layer_convention")
    return LAYER_CONVENTIONS.get(name) if name else None


# --------------------------------------------------------------------------- constructors
def check_labels(values: Iterable[Any], what: str, source: str | None = None) -> np.ndarray:
    labels = [str(v) for v in values]
    if not labels:
        raise LabelError(f"no {what} labels", path=source)
    stripped = [lab.strip() for lab in labels]
    if any(not lab for lab in stripped):
        raise LabelError(f"empty {what} label at position {stripped.index('')}", path=source)
    seen: dict[str, int] = {}
    for i, lab in enumerate(stripped):
        if lab in seen:
            raise LabelError(f"duplicated {what} label {lab!r} (positions {seen[lab]} and {i})", path=source)
        seen[lab] = i
    return np.array(stripped, dtype=object)

