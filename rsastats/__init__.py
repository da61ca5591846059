"""rsastats: representational similarity statistics for emotion geometry in language models.

The core never imports torch; extraction lives in the separate ``extraction`` package.
"""

from ._version import __version__
from .io import (
    import_activations,
    import_rdm,
    import_vectors,
    make_activations,
    make_rdm,
    make_vectors,
    open_activations,
    open_dataset,
    open_rdm,
    open_vectors,
    write_dataset,
)
from .exceptions import InputError, RsaStatsError

__all__ = [
    "__version__",
    "RsaStatsError",
    "InputError",
    "make_activations",
    "make_vectors",
    "make_rdm",
    "open_activations",
    "open_vectors",
    "open_rdm",
    "open_dataset",
    "write_dataset",
    "import_vectors",
    "import_activations",
    "import_rdm",
]
