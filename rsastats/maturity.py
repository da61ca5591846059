"""The a-priori maturity rule; it lives in :mod:`rsastats.geometry.maturity` (this path is kept for
``from rsastats.maturity import classify_maturity, MATURITY_RULE``)."""

from .geometry.maturity import (
    MATURITY_RULE,
    SENSITIVITY_THRESHOLDS,
    BaseModel,
    MaturityClassification,
    MaturityInput,
    MaturityRule,
    classify,
    classify_maturity,
)

__all__ = [
    "MaturityRule",
    "MATURITY_RULE",
    "SENSITIVITY_THRESHOLDS",
    "BaseModel",
    "MaturityInput",
    "MaturityClassification",
    "classify_maturity",
    "classify",
]
