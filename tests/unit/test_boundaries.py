"""The import boundaries of the layout (docs/architecture.md), read from the source with ``ast`` so
that an import inside a function counts as much as one at the top of a module: the command line is
imported by nothing else, and extraction uses only the files layer, the errors and the runners of the
core.  (That the core never imports extraction is tests/unit/test_core_imports.py.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What extraction may use of the core: the files layer, the errors, and the runners.
EXTRACTION_MAY_IMPORT = ("rsastats.io", "rsastats.exceptions", "rsastats.parallel")


def _package(path: Path) -> str:
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return package if path.name == "__init__.py" else package.rsplit(".", 1)[0]


def _imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative imports resolved."""
    package = package or _package(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # ``from . import x`` and ``from rsastats import x`` name modules in the alias list
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_only_the_command_line_imports_the_command_line():
    """Reports and statistics never import rsastats.cli (tests/unit/test_core_imports.py: nor extraction)."""
    wiring = ROOT / "rsastats" / "cli"
    bad = [f"{p.relative_to(ROOT)}:{line} imports {name}" for p in _modules("rsastats")
           if wiring not in p.parents and p.name != "__main__.py"  # python -m rsastats runs the command line
           for line, name in _imports(p) if _within(name, "rsastats.cli")]
    assert not bad, bad


def test_extraction_uses_only_the_files_layer_errors_and_runners_of_the_core():
    bad = [f"{p.relative_to(ROOT)}:{line} imports {name}" for p in _modules("extraction")
           for line, name in _imports(p)
           if _within(name, "rsastats") and name != "rsastats"
           and not any(_within(name, allowed) for allowed in EXTRACTION_MAY_IMPORT)]
    assert not bad, bad


def test_the_import_reader_resolves_relative_imports_inside_functions(tmp_path):
    """The checks above are only as good as this reading of the source."""
    source = tmp_path / "mod.py"
    source.write_text("import os\nfrom ..io import atomic_path\n\ndef f():\n    from . import demo\n"
                      "    from extraction.run import extract\n", encoding="utf-8")
    names = {name for _, name in _imports(source, "rsastats.cli.commands")}
    assert {"os", "rsastats.cli.io", "rsastats.cli.commands.demo", "extraction.run"} <= names
