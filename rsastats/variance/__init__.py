"""How much each layer of method choices moves the emotion geometry: a variance decomposition.

Given emotion-vector (or activation) files of the same models under varied conditions, every
file ``f`` gives an RDM (cosine by default) over the common emotions; its upper-triangle cells ``k`` are
rank-transformed within the file and standardised, ``y_{f,k}``.  A linear mixed model with
random cell-by-factor-level effects, independent across cells,

    y ~ 1 + (1|cell) + (1|cell:model) + (1|cell:method) + (1|cell:model:method)
          + (0 + generation|cell:temperature) + ... + (1|cell:precision) + (1|cell:model:precision)
          + (1|cell:experiment) + (1|cell:model:experiment)

splits the variance of the geometry into the study's four layers of method effects (coarse
method; generation sub-parameters; precision; cross-experiment bias, with its model-specific
part) next to the shared geometry, the model-specific geometry and file-level noise.  Because
the responses are standardised ranks, the model is a structured model of the matrix of Spearman
correlations between all files' RDMs: a component's share is the correlation two files lose by
differing in that factor.  See ``docs/decomposition.md`` for the model, its checks and limits.

Uncertainty comes from a bootstrap over emotions (resampled emotions rebuild the cells), because
RDM cells that share an emotion are not independent; likelihood-ratio tests are reported with the
chi-square mixture reference and with a design-effect (Rao-Scott) correction for that dependence.

Modules, one idea each: ``design`` (the factor table, components, file conditions, design
matrices, estimability), ``responses`` (ranked, standardised cells), ``fit`` (the exact REML and the
statsmodels engines), ``lrt`` (the fitted model and its likelihood-ratio tests), ``bootstrap``
(replicates over emotions, jackknife, intervals), ``tables`` (component and layer rows),
``contrasts`` (the simple view), ``results`` (the records), ``decomposition`` (the entry points ``decompose`` and ``decompose_rdms``).
"""

from ..intervals import CI_METHODS
from .decomposition import decompose, decompose_rdms
from .design import DEFAULT_COMPONENTS, FACTOR_TABLE, FACTORS, GENERATION_FACTORS, LAYERS, Factor, file_condition
from .results import (ConditionContrast, DecompositionDiagnostics, DecompositionResult, FileCondition, LayerShare,
                      PairContrast, VarianceComponent)

__all__ = [
    "FACTORS",
    "FACTOR_TABLE",
    "Factor",
    "GENERATION_FACTORS",
    "LAYERS",
    "DEFAULT_COMPONENTS",
    "CI_METHODS",
    "FileCondition",
    "VarianceComponent",
    "LayerShare",
    "ConditionContrast",
    "PairContrast",
    "DecompositionDiagnostics",
    "DecompositionResult",
    "file_condition",
    "decompose",
    "decompose_rdms",
]
