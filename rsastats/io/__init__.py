"""The files layer: the labelled file formats of rsastats (schema v1), their validated readers and
atomic writers, importers of published vector sets, and file descriptions.

Three kinds of file, all NetCDF4 written through xarray (see ``docs/file-format.md``):
activations ``(emotion, prompt, layer, hidden)``, vector sets ``(emotion[, layer], hidden)`` and
RDMs ``(emotion, emotion_)``.  Every reader validates the whole file and raises one subclass of
:class:`~rsastats.exceptions.InputError` whose one-line message starts with the file's path;
every writer validates first and then writes atomically.

Modules: ``schema`` (names, allowed values, attributes), ``validate``, ``construct``
(``make_*``), ``files`` (open, write, ``file_sha256``), ``outputs`` (the output lock,
``atomic_path``, ``atomic_folder``, stale temporaries), ``importers``
(``.npy .npz .pt .safetensors .csv .gguf``, folders of per-emotion files; RDMs from CSV and
rsatoolbox) and ``describe``.  This package is the only part of the core that ``extraction`` uses.
"""

from .construct import make_activations, make_rdm, make_vectors
from .describe import FileDescription, describe_file
from .files import (
    file_sha256,
    netcdf_encoding,
    open_activations,
    open_dataset,
    open_rdm,
    open_vectors,
    write_dataset,
)
from .outputs import atomic_folder, atomic_path, lock_file_for, output_lock, remove_stale_temporaries
from .importers import IMPORT_FORMATS, RDM_FORMATS, import_rdm, import_vectors, read_labels
from .schema import (
    LAST_LAYER_NORM,
    LAYER_CONVENTIONS,
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
from .validate import file_kind, validate_activations, validate_dataset, validate_rdm, validate_vectors

__all__ = [
    "SCHEMA_ACTIVATIONS",
    "SCHEMA_VECTORS",
    "SCHEMA_RDM",
    "METHODS",
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
    "write_dataset",
    "atomic_path",
    "atomic_folder",
    "output_lock",
    "lock_file_for",
    "remove_stale_temporaries",
    "netcdf_encoding",
    "file_sha256",
    "software_versions",
    "attribute_text",
    "IMPORT_FORMATS",
    "RDM_FORMATS",
    "import_vectors",
    "import_rdm",
    "LAYER_CONVENTIONS",
    "unknown_attributes",
    "known_attribute",
    "layer_offset",
    "read_labels",
    "FileDescription",
    "describe_file",
]
