"""The ``rsastats`` command line (entry point ``rsastats.cli:main``).

``main.py`` wires the subcommands of ``commands/`` (one module each, imported only when used, so
that ``rsastats --help`` stays fast and never imports torch).  This package is the only part of
rsastats that imports ``extraction``.
"""

from .main import SUBCOMMANDS, cli, main

__all__ = ["cli", "main", "SUBCOMMANDS"]
