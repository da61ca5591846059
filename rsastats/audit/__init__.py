"""Audit two emotion-vector sets: which method layers separate them, and is their rho lower than
method effects alone would make it?

Given two files A and B (from rsastats' extraction, or imported from a prior study with the
metadata of how they were made), :func:`audit`

1. compares their attributes layer by layer (:func:`compare_layers`, ``attributes.py``): (1) coarse
   method (comprehension vs generation, pooling), (2) generation sub-parameters and templates,
   (3) precision including the INT8 scheme, (4) experiment (stimulus set, experiment label). Each
   attribute and layer is ``same``, ``differs``, ``unknown`` (not recorded on one side: unknown is
   not same) or ``n/a``;
2. takes reference extractions of A's recipe and B's recipe on one *reference model*: two given
   files, or a callable that makes them (``references.py``; the extraction side provides one, and
   this package never imports it).  Both come from the same weights, so whatever separates their
   geometries is method, not geometry: the bootstrap interval of rho(reference A, reference B) is
   the **reference range**, the rho expected if A's and B's underlying geometry were identical;
3. computes the observed rho(A, B) with its bootstrap CI and Mantel p through the inference core
   (:func:`rsastats.inference.compare_models`), and the reference range with
   :func:`rsastats.inference.bootstrap_rho` under the same bootstrap scheme and interval method
   (``run.py``);
4. applies the verdict rule :func:`audit_verdict` (``verdict.py``), fixed before any real outcome
   was looked at.

The main caveat is stated in every result: a reference model's sensitivity to method choices
transfers to the audited models only as an assumption.  See ``docs/audit.md``.
"""

from .attributes import (GENERATION_ONLY, LAYER_ATTRIBUTES, LAYERS, STATUSES, AttributeComparison, LayerComparison,
                         compare_layers)
from .references import MadeReferences, ReferenceAssumption, ReferenceMaker, ReferenceRequest
from .results import AuditResult, ReferenceRange
from .run import TRANSFER_CAVEAT, audit
from .verdict import (COMPATIBLE, DIFFERENT, INCONCLUSIVE, MAX_INTERVAL_WIDTH, MIN_AUDIT_EMOTIONS, VERDICTS, AuditVerdict,
                      audit_verdict, reference_range)

__all__ = [
    "LAYERS",
    "LAYER_ATTRIBUTES",
    "GENERATION_ONLY",
    "STATUSES",
    "COMPATIBLE",
    "DIFFERENT",
    "INCONCLUSIVE",
    "VERDICTS",
    "MAX_INTERVAL_WIDTH",
    "MIN_AUDIT_EMOTIONS",
    "TRANSFER_CAVEAT",
    "AttributeComparison",
    "LayerComparison",
    "AuditVerdict",
    "ReferenceRange",
    "AuditResult",
    "ReferenceRequest",
    "ReferenceAssumption",
    "MadeReferences",
    "ReferenceMaker",
    "compare_layers",
    "audit_verdict",
    "reference_range",
    "audit",
]
