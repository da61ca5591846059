"""The files layer: the labelled file formats of rsastats (schema v1), their validated readers and
atomic writers, importers of published vector sets, and file descriptions.

Three kinds of file, all NetCDF4 written through xarray (see ``docs/file-format.md``):
activations ``(emotion, prompt, layer, hidden)``, vector sets ``(emotion[, layer], hidden)`` and
RDMs ``(emotion, emotion_)``.  Every reader validates the file (the values of the layers it loads) and raises one subclass of
:class:`~rsastats.exceptions.InputError` whose one-line message starts with the file's path;
every writer validates first and then writes atomically.

Modules: ``schema`` (names, allowed values, attributes), ``validate``, ``construct``
(``make_*``), ``files`` (open, write, ``file_sha256``), ``content`` (``content_sha256``: the hash of what
a file holds, not of its bytes), ``outputs`` (the output lock,
``atomic_path``, ``atomic_folder``, stale temporaries), ``importers``
(``.npy .npz .pt .safetensors .csv .gguf``, folders of per-emotion files; RDMs from CSV and
rsatoolbox), ``describe`` and ``text`` (hand-written UTF-8 and YAML files, with a bound on YAML
aliases).  This package is the only part of the core that ``extraction`` uses.
"""

from .construct import make_activations, make_rdm, make_vectors
from .content import PROVENANCE_ATTRS, content_sha256
from .describe import FileDescription, describe_file
from .files import (
    NETCDF_LOCK,
    file_sha256,
    netcdf_encoding,
    open_activations,
    open_dataset,
    open_netcdf,
    open_rdm,
    open_vectors,
    write_dataset,
)
from .outputs import atomic_folder, atomic_path, lock_file_for, output_lock, remove_stale_temporaries
from .importers import IMPORT_FORMATS, RDM_FORMATS, import_activations, import_rdm, import_vectors, read_labels
from .schema import (
    CONTRASTIVE_METHODS,
    LAST_LAYER_NORM,
    LAYER_CONVENTIONS,
    METHOD_ALIASES,
    METHODS,
    PRECISIONS,
    REQUIRED_ATTRS,
    SCHEMA_ACTIVATIONS,
    SCHEMA_RDM,
    SCHEMA_VECTORS,
    VARIANTS,
    attribute_text,
    known_attribute,
    layer_offset,
    make_attrs,
    software_versions,
    unknown_attributes,
)
from .text import load_mapping_text, load_yaml, read_text_file
from .validate import file_kind, validate_activations, validate_dataset, validate_rdm, validate_vectors

__all__ = [
    "NETCDF_LOCK",
    "SCHEMA_ACTIVATIONS",
    "SCHEMA_VECTORS",
    "SCHEMA_RDM",
    "METHODS",
    "CONTRASTIVE_METHODS",
    "METHOD_ALIASES",
    "PRECISIONS",
    "VARIANTS",
    "LAST_LAYER_NORM",
    "REQUIRED_ATTRS",
    "make_attrs",
    "make_activations",
    "make_vectors",
    "make_rdm",
    "validate_activations",
    "validate_vectors",
    "validate_rdm",
    "validate_dataset",
    "file_kind",
    "open_activations",
    "open_vectors",
    "open_rdm",
    "open_dataset",
    "open_netcdf",
    "write_dataset",
    "atomic_path",
    "atomic_folder",
    "output_lock",
    "lock_file_for",
    "remove_stale_temporaries",
    "netcdf_encoding",
    "file_sha256",
    "content_sha256",
    "PROVENANCE_ATTRS",
    "software_versions",
    "attribute_text",
    "IMPORT_FORMATS",
    "RDM_FORMATS",
    "import_vectors",
    "import_activations",
    "import_rdm",
    "LAYER_CONVENTIONS",
    "unknown_attributes",
    "known_attribute",
    "layer_offset",
    "read_labels",
    "FileDescription",
    "describe_file",
    "read_text_file",
    "load_yaml",
    "load_mapping_text",
]
