"""The package's shape, as a reader meets it: imports that only point down (no cycles, function-
level imports included); the command line in a subpackage of its own that nothing else imports
and no notebook reaches; each notebook's names defined in a few lesson modules.

Why a test: each was measured once by hand and drifted back. A name is counted where it is
defined, not where it is imported from: a module that re-exports another's name is no home.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "dialogsum_peft"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))
CLI = "dialogsum_peft.command_line"
ENTRY = "dialogsum_peft.__main__"  # `python -m dialogsum_peft`: the command line's own door
# One home per step a notebook takes: the set-up (notebook_setup), the data, looking at dialogues
# (and the Try-it page), the trainer, the run's folder (resume), evaluation, reporting, what
# fine-tuning made the model forget (forgetting), and the adapter's checks (adapters) and its
# card and push (sharing) in the tutorial or the method comparison in the methods notebook.
# Each at most 330 lines.
MAX_HOMES = 10
MAX_LINES = 330  # per module, formatted


def _name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(path: Path, name: str) -> list[tuple[str, list[str]]]:
    """(module, names) of every package import in ``path`` (function-level ones too), relative
    imports resolved against ``name``; ``import dialogsum_peft.x`` gives no names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(max(node.level - 1, 0)):
                base = base.rpartition(".")[0]
            module = (
                (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            )
            if module and module.split(".")[0] == "dialogsum_peft":
                found.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.split(".")[0] == "dialogsum_peft"]
    return found


def _targets(path: Path, name: str, modules) -> set[str]:
    """The package modules an import in ``path`` runs: each one named and its parent packages,
    and ``from package import module``."""
    out = set()
    for module, names in _imports(path, name):
        parts = module.split(".")
        out |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(modules)
        out |= {f"{module}.{n}" for n in names} & set(modules)
    return out - {name}


def _home(modules, module: str, name: str) -> str:
    """The module that defines ``name``, following ``from .x import name`` re-exports."""
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return module
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return module
    for source, names in _imports(modules[module], module):
        if name in names:
            return _home(modules, source, name)
    raise AssertionError(f"{name} is not defined in {module}")


def _closure(path: Path, modules) -> set[str]:
    """Every package module that running ``path`` imports, through function-level imports too."""
    seen, todo = set(), list(_targets(path, "__notebook__", modules))
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo += _targets(modules[module], module, modules) - seen
    return seen


def test_no_import_cycles():
    modules = _modules()
    edges = {m: _targets(p, m, modules) for m, p in modules.items()}

    def reaches(start, goal, seen=()):
        return any(
            n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in edges[start]
        )

    cycles = sorted(m for m in edges if reaches(m, m))
    assert not cycles, f"modules on an import cycle: {cycles}"


def test_nothing_outside_the_command_line_imports_it():
    """The lesson's helpers, the benchmarks and the notebooks never import the command line's
    subpackage (only ``python -m dialogsum_peft`` starts it)."""
    modules = _modules()
    outside = {m: p for m, p in modules.items() if not m.startswith(CLI) and m != ENTRY}
    outside |= {f"{p.parent.name}/{p.name}": p for p in (*NOTEBOOKS, *BENCHMARKS)}
    offenders = {
        m: sorted(t for t, _ in _imports(p, m) if t.startswith(CLI)) for m, p in outside.items()
    }
    assert {m: t for m, t in offenders.items() if t} == {}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_reach_none_of_the_command_line(notebook):
    reached = _closure(notebook, _modules())
    assert reached, "the notebook imports nothing from the package?"
    assert sorted(m for m in reached if m.startswith(CLI)) == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_names_are_defined_in_a_few_lesson_modules(notebook):
    modules = _modules()
    imports = _imports(notebook, "__notebook__")
    assert imports, "the notebook imports nothing from the package?"
    homes = {name: _home(modules, module, name) for module, names in imports for name in names}
    found = sorted(set(homes.values()))
    assert len(found) <= MAX_HOMES, f"{notebook.name} reads names defined in {found}: {homes}"


def test_the_layout_checks_see_what_they_check():
    """The helpers above resolve relative imports from the subpackage and find a reach through a
    function-level import: the checks above can fail."""
    modules = _modules()
    cli = _targets(modules[f"{CLI}.cli"], f"{CLI}.cli", modules)
    assert {"dialogsum_peft.errors", f"{CLI}.commands"} <= cli  # `..errors`, and a lazy `.commands`
    assert _targets(modules[ENTRY], ENTRY, modules) >= {CLI, f"{CLI}.cli"}


def test_processes_the_tests_start_import_this_checkout(tmp_path):
    """conftest puts this checkout's ``src`` first on PYTHONPATH: a CLI process, torchrun worker or
    notebook kernel tests the code beside the tests, not an installed copy of another clone."""
    code = "import dialogsum_peft; print(dialogsum_peft.__file__)"
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )  # inherits os.environ, as every test's processes do
    assert Path(proc.stdout.strip()).resolve() == PACKAGE / "__init__.py"


def test_every_module_is_short_enough_to_read_in_one_sitting():
    """Issue 33: no module over 330 lines (formatted by ruff). It drifted back once (reporting.py
    grew to 342 lines with the chart fixes) while only a note in this file said so."""
    lines = {
        name: len(p.read_text(encoding="utf-8").splitlines()) for name, p in _modules().items()
    }
    assert {name: n for name, n in lines.items() if n > MAX_LINES} == {}
