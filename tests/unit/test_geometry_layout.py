"""The layout of the geometry subpackage and its two commands (issue 13), read from the source with
``ast``: small modules and functions, no private name across modules, no import cycle, and the
geometry and maturity commands share what they share through a third module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GEOMETRY = sorted((ROOT / "rsastats" / "geometry").glob("*.py"))
COMMANDS = sorted(p for name in ("geometry", "maturity", "geometry_tables", "layer_option")
                  for p in (ROOT / "rsastats").rglob(f"commands/{name}.py"))
MODULES = GEOMETRY + COMMANDS + [ROOT / "rsastats" / "maturity.py"]


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """``(module as written, imported names, relative level)`` of every ``from`` import, inside functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.module or "", [a.name for a in node.names], node.level) for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)]


def test_the_files_are_where_the_layout_says():
    names = {p.stem for p in GEOMETRY}
    assert {"descriptors", "kernels", "layers", "paired", "maturity", "results", "intervals", "resampling",
            "reliability"} <= names
    assert len(COMMANDS) == 4
    assert not (ROOT / "rsastats" / "_descriptors.py").exists() and not (ROOT / "rsastats" / "geometry.py").exists()


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_small_modules_and_functions_and_no_private_imports(path):
    text = path.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 400
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno - node.lineno + 1 <= 80, f"{node.name} is over 80 lines"
    for module, names, _level in _imports(path):
        assert not [n for n in names if n.startswith("_")], (module, names)


def test_no_import_cycle_inside_the_subpackage():
    graph = {p.stem: {n for module, names, level in _imports(p) if level == 1
                      for n in ([module] if module else names) if n in {q.stem for q in GEOMETRY}}
             for p in GEOMETRY if p.stem != "__init__"}
    done: set[str] = set()

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"import cycle: {' -> '.join(path + (node,))}"
        if node not in done:
            for nxt in graph.get(node, ()):
                visit(nxt, path + (node,))
            done.add(node)

    for node in graph:
        visit(node, ())


def test_the_geometry_and_maturity_commands_do_not_import_each_other():
    by_name = {p.stem: p for p in COMMANDS}
    for name, other in (("geometry", "maturity"), ("maturity", "geometry")):
        modules = {module for module, _names, level in _imports(by_name[name]) if level == 1}
        assert other not in modules, f"commands/{name}.py imports commands/{other}.py"
