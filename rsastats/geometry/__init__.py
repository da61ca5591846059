"""Geometry of a model's representation space, per layer, with bootstrap CIs; base x instruct
changes; and the a-priori maturity rule computed from a base model alone.

Modules (one idea each):

``descriptors``  the one table of descriptors (:data:`DESCRIPTORS`): name, group, range, meaning,
                 whether a CI exists, and the row kernel that computes it
``kernels``      the maths: each descriptor as a function of resampling weights (many resamples at once)
``resampling``   settings, seed streams, blocks of resamples, replicates of a group of rows
``intervals``    the interval of a descriptor and its notes (maths in :mod:`rsastats.intervals`)
``layers``       the rows of one layer, layer choice, and :func:`geometry` (one file, per layer)
``paired``       :func:`compare_geometry` (base x instruct, paired over shared texts)
``reliability``  split-half reliability of the emotion RDM with a jackknife CI
``maturity``     the a-priori maturity rule (:func:`classify_maturity`)
``results``      the result records

See ``docs/geometry.md`` and ``docs/maturity.md``.
"""

from ..intervals import CI_METHODS
from .descriptors import DESCRIPTORS, Descriptor, descriptor
from .intervals import DEFAULT_CI_METHOD
from .layers import geometry, resolve_layers
from .maturity import (
    MATURITY_RULE,
    SENSITIVITY_THRESHOLDS,
    BaseModel,
    MaturityClassification,
    MaturityInput,
    MaturityRule,
    classify,
    classify_maturity,
)
from .paired import compare_geometry
from .results import DescriptorChange, DescriptorEstimate, GeometryComparison, GeometryResult, LayerGeometry

__all__ = [
    "Descriptor",
    "DESCRIPTORS",
    "descriptor",
    "CI_METHODS",
    "DEFAULT_CI_METHOD",
    "DescriptorEstimate",
    "LayerGeometry",
    "GeometryResult",
    "DescriptorChange",
    "GeometryComparison",
    "geometry",
    "compare_geometry",
    "resolve_layers",
    "MaturityRule",
    "MATURITY_RULE",
    "SENSITIVITY_THRESHOLDS",
    "BaseModel",
    "MaturityInput",
    "MaturityClassification",
    "classify_maturity",
    "classify",
]
