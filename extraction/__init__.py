"""Extraction: run language models over stimulus sets and write labelled activations files.

This package is the only part of the project that imports torch and transformers, and only its
``models``, ``capture``, ``inputs``, ``precision``, ``generate`` and ``run`` modules do;
``stimuli``, ``config``, ``registry``, ``reference_plan`` and ``reference`` (until it extracts) are
torch-free, so the command line can validate options and print help without importing torch.  See ``docs/extraction.md``.

Modules
-------
stimuli    built-in and user stimulus sets, validation, content hash.
registry   the study's twelve models and the two offline ones.
config     :class:`ExtractionConfig`, recipes, layer specs.
models     offline loading (registry name, folder, .gguf, cached hub id).
inputs     templates, chat templates, which tokens are the stimulus.
capture    residual-stream hooks, layer definitions, pooling.
precision  fp32/fp16/bf16 and the three INT8 schemes.
generate   per-prompt seeded sampling.
run        :func:`extract`: streaming, resumable writing of the activations file.
reference_plan  which extraction re-creates an audited file's recipe (torch-free).
reference  :class:`ReferenceExtractor`, the reference maker of ``rsastats audit --reference-model``.
"""

__all__: list[str] = []
