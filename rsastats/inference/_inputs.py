"""Moved to :mod:`rsastats.inputs` (the one loader); kept while imports move."""

from ..inputs import ModelInput, RDMOptions, load_model, load_models  # noqa: F401
