"""The package's shape, as a reader meets it: imports that only point down (no cycles, function-
level imports included), and each notebook's names defined in at most 5 package modules.

Why a test: both were measured once by hand and drifted back. A name is counted where it is
defined, not where it is imported from: a module that re-exports another's name is no home.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "dialogsum_peft"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
MAX_HOMES = 5
# Sections after the lesson that each bring their own one module and are read on their own: the
# Try-it page and what fine-tuning made the model forget. Counted beside the lesson's five.
AFTER_TRAINING = {"try_it", "forgetting"}


def _trees() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(encoding="utf-8")) for p in PACKAGE.glob("*.py")}


def _package_imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, names) of every ``from .x import`` / ``from dialogsum_peft.x import`` in the tree."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if node.level == 1 or module.startswith("dialogsum_peft."):
                found.append((module.split(".")[-1], [a.name for a in node.names]))
    return found


def _home(trees: dict[str, ast.Module], module: str, name: str) -> str:
    """The module that defines ``name``, following ``from .x import name`` re-exports."""
    for node in trees[module].body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return module
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return module
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            if any((a.asname or a.name) == name for a in node.names):
                return _home(trees, node.module, name)
    raise AssertionError(f"{name} is not defined in dialogsum_peft.{module}")


def test_no_import_cycles():
    trees = _trees()
    edges = {m: {target for target, _ in _package_imports(t) if target in trees and target != m}
             for m, t in trees.items()}

    def reaches(start, goal, seen=()):
        return any(n == goal or (n not in seen and reaches(n, goal, (*seen, n)))
                   for n in edges[start])

    cycles = sorted(m for m in edges if reaches(m, m))
    assert not cycles, f"modules on an import cycle: {cycles}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_names_are_defined_in_at_most_five_modules(notebook):
    trees = _trees()
    imports = _package_imports(ast.parse(notebook.read_text(encoding="utf-8")))
    assert imports, "the notebook imports nothing from the package?"
    homes = {name: _home(trees, module, name) for module, names in imports for name in names}
    modules = sorted(set(homes.values()))
    lesson = [m for m in modules if m not in AFTER_TRAINING]
    assert len(lesson) <= MAX_HOMES, f"{notebook.name} reads names defined in {modules}: {homes}"


def test_processes_the_tests_start_import_this_checkout(tmp_path):
    """conftest puts this checkout's ``src`` first on PYTHONPATH: a CLI process, torchrun worker or
    notebook kernel tests the code beside the tests, not an installed copy of another clone."""
    code = "import dialogsum_peft; print(dialogsum_peft.__file__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=tmp_path)  # inherits os.environ, as every test's processes do
    assert Path(proc.stdout.strip()).resolve() == PACKAGE / "__init__.py"
