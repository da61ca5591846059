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
from typing import Any, Iterable

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
    "CONTRASTIVE_METHODS",
    "METHOD_ALIASES",
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
]

SCHEMA_ACTIVATIONS = "rsastats.activations/1"
SCHEMA_VECTORS = "rsastats.vectors/1"
SCHEMA_RDM = "rsastats.rdm/1"
KIND_OF_SCHEMA = {SCHEMA_ACTIVATIONS: "activations", SCHEMA_VECTORS: "vectors", SCHEMA_RDM: "rdm"}
SCHEMA_OF_KIND = {v: k for k, v in KIND_OF_SCHEMA.items()}

# "" means unknown / not applicable: NetCDF attributes hold no None.
# The recipes that make a vector from readings (docs/extraction.md, "Contrastive recipes"): mean and
# first principal component of paired differences, baseline-subtracted means, neutral-PC projection.
CONTRASTIVE_METHODS = ("mean-diff", "pca-diff", "baseline-diff", "neutral-pc")
METHODS = ("comprehension", "generation", *CONTRASTIVE_METHODS, "")
# Spellings of other tools (repeng's "pca_diff") accepted for the method attribute of a new file.
METHOD_ALIASES = {m.replace("-", "_"): m for m in CONTRASTIVE_METHODS}
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
    "chat_template": 0,
    "temperature": "",
    "top_p": "",
    "max_new_tokens": "",
    "seed": "",
    "created": "",
    "software": "",
}
RDM_REQUIRED_ATTRS = ("schema", "rdm_method", "source")
ALLOWED_VALUES = {"method": METHODS, "variant": VARIANTS, "precision": PRECISIONS, "last_layer_norm": LAST_LAYER_NORM}


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
    """Attributes for a new file of ``kind``: defaults for every required key, then ``attrs``.

    ``None`` becomes ``""`` and booleans become 0/1 (NetCDF stores neither).  ``created``
    and ``software`` are filled in when not given.
    """
    if kind not in SCHEMA_OF_KIND:
        raise ValidationError(f"unknown file kind {kind!r}; expected one of {sorted(SCHEMA_OF_KIND)}")
    base: dict[str, Any] = dict(REQUIRED_ATTRS) if kind != "rdm" else {"rdm_method": "", "source": ""}
    base.update({k: _netcdf_attr(k, v) for k, v in attrs.items()})
    if isinstance(base.get("method"), str):
        base["method"] = METHOD_ALIASES.get(base["method"].strip(), base["method"].strip())
    base["schema"] = SCHEMA_OF_KIND[kind]
    base.setdefault("created", "")
    base["created"] = base["created"] or utc_now()
    base["software"] = base.get("software") or software_versions()
    return base


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

