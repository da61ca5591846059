"""The layout rules of docs/architecture.md, read from the code itself: no import cycle between
modules, the core never imports ``extraction`` (nor the CLI), no private name imported across
packages, no module over 400 lines, no function over 80 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("rsastats", "extraction")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int, bool]]:
    """(imported module, imported names, line, at module level) for every import, in functions too."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    top_level = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, [a.name for a in node.names], node.lineno, id(node) in top_level))
        elif isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno, id(node) in top_level) for a in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                out.append((node.args[0].value, [], node.lineno, False))
    return out


def test_the_import_reader_sees_every_form_of_import(tmp_path):
    """The checks below are only as good as this reading of the source."""
    source = tmp_path / "mod.py"
    source.write_text("import os\nimport extraction.run as r\nfrom ..io import atomic_path\n"
                      "def f():\n    from . import demo\n    from extraction.config import make_config\n"
                      "    class C:\n        def g(self):\n            import importlib\n"
                      "            importlib.import_module('extraction.models')\n"
                      "    return __import__('extraction')\n", encoding="utf-8")
    found = {target for target, _, _, _ in _imports("rsastats.cli.commands.mod", source)}
    assert {"os", "extraction.run", "rsastats.cli.io", "rsastats.cli.commands", "extraction.config",
            "extraction.models", "extraction"} <= found


def _resolve(target: str, names: list[str]) -> list[str]:
    """The project modules an import statement reaches (a package's submodule imported by name too)."""
    hits = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
    if target in MODULES:
        hits.append(target)
    return hits


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, names, _, _ in _imports(name, path):
            graph[name].update(t for t in _resolve(target, names) if t != name)
    return graph


def _is_core(name: str) -> bool:
    """Every module of rsastats but the command line (``rsastats.cli``, and ``python -m rsastats``)."""
    return (name == "rsastats" or name.startswith("rsastats.")) and not (name.startswith("rsastats.cli")
                                                                       or name == "rsastats.__main__")


def test_no_import_cycles():
    graph = _graph()
    # A package's __init__ re-exporting its own modules is not a cycle of ideas: leave those edges out.
    for name in graph:
        graph[name] = {t for t in graph[name] if not (name.startswith(t + ".") and MODULES[t].name == "__init__.py")}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


def test_core_never_imports_extraction_or_the_cli():
    bad = []
    for name, path in MODULES.items():
        if not _is_core(name):
            continue
        for target, names, line, _ in _imports(name, path):
            if target.split(".")[0] == "extraction" or target.startswith("rsastats.cli"):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, bad


def test_extraction_imports_only_the_file_layer_errors_and_runners():
    allowed = ("rsastats.io", "rsastats.data", "rsastats.exceptions", "rsastats.parallel", "rsastats._version")
    bad = []
    for name, path in MODULES.items():
        if not name.startswith("extraction"):
            continue
        for target, names, line, _ in _imports(name, path):
            if target.startswith("rsastats") and not any(target == a or target.startswith(a + ".") for a in allowed):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not bad, bad


def test_no_private_name_imported_across_packages():
    bad = []
    for name, path in MODULES.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for target, names, line, _ in _imports(name, path):
            if not target.startswith(PACKAGES):
                continue
            target_package = target if target in MODULES and MODULES[target].name == "__init__.py" else target.rsplit(".", 1)[0]
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target_package != package:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {', '.join(private)} from {target}")
    assert not bad, bad


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_and_function_sizes(name):
    path = MODULES[name]
    text = path.read_text()
    n_lines = len(text.splitlines())
    assert n_lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)}: {n_lines} lines"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)" for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.relative_to(ROOT)}: {', '.join(long)}"


SCRIPTS = sorted(p for folder in ("analyses", "benchmarks") for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_analysis_and_benchmark_module_sizes(path):
    """The studies and benchmarks keep the module limit too (their functions may be longer: a study's report)."""
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)}: {n_lines} lines"
