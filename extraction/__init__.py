"""Extraction: run language models over stimulus sets and write labelled activations files.

This package is the only part of the project that imports torch and transformers, and only its
``models``, ``capture``, ``inputs``, ``precision``, ``generate``, ``run`` and ``recipe_run`` modules do;
``stimuli``, ``stimulus_set``, ``config``, ``registry``, ``parts``, ``vector_stages``, ``reference_plan`` and
``reference`` (until it
extracts) are torch-free, so the command line can validate options and print help without importing
torch.  Of the statistics core it uses only the files layer (``rsastats.io``), the errors
(``rsastats.exceptions``) and the runners (``rsastats.parallel``).  See ``docs/extraction.md``.

Modules
-------
stimuli    built-in and user stimulus sets (``named``, ``implicit``, the ``contrast`` pairs), validation.
stimulus_set  :class:`StimulusSet`: texts, baseline (or paired contrast texts), content hash.
registry   the study's twelve models and the two offline ones.
config     :class:`ExtractionConfig`, recipes, layer specs.
models     offline loading (registry name, folder, .gguf, cached hub id).
inputs     templates, chat templates, which tokens are the stimulus.
capture    residual-stream hooks, layer definitions, pooling.
precision  fp32/fp16/bf16 and the three INT8 schemes.
generate   per-prompt seeded sampling.
run        :func:`extract`: streaming, resumable writing of the activations file.
recipe_run :func:`run_extraction`: any method, the contrastive ones as a reading plus a vector stage.
vector_stages  the stages' maths (mean-diff, pca-diff with repeng's sign rule, baseline-diff, neutral-pc).
parts      the work folder of a resumable run: finished parts, their manifest, the assembly.
reference_plan  which extraction re-creates an audited file's recipe (torch-free).
reference  :class:`ReferenceExtractor`, the reference maker of ``rsastats audit --reference-model``.
"""

__all__: list[str] = []
