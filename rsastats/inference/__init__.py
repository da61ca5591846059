"""Inference for RDM comparisons: rho as measured with its interval, the noise-free rho, Mantel
permutation tests, noise ceilings, paired differences and multiple-testing adjustment.

See ``docs/statistics.md`` for what each procedure does and why.
"""

from .bootstrap import CI_METHODS, DEFAULT_CI, BootstrapResult, bootstrap_rho, confidence_interval
from .ceiling import NoiseCeilingResult, noise_ceiling
from .corrected import CorrectedRho
from .difference import DIFFERENCE_CI
from .multiple import adjust_pvalues
from .pairs import CompareAllResult, ComparisonResult, DifferenceResult, compare_all, compare_difference, compare_models
from .permutation import MantelResult, mantel

__all__ = [
    "CI_METHODS",
    "DEFAULT_CI",
    "DIFFERENCE_CI",
    "BootstrapResult",
    "bootstrap_rho",
    "confidence_interval",
    "NoiseCeilingResult",
    "noise_ceiling",
    "CorrectedRho",
    "adjust_pvalues",
    "ComparisonResult",
    "DifferenceResult",
    "CompareAllResult",
    "compare_models",
    "compare_difference",
    "compare_all",
    "MantelResult",
    "mantel",
]
