"""The code's shape (issue "one fact, one home"): each fact written in one or two files, no module
``__getattr__`` shim outside the package's lazy API, no import cycle (lazy imports inside functions count too), modules
of at most ~600 lines and functions of at most 80."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(PROJECT / "ecgcore").rglob("*.py"), *(PROJECT / "app_pages").glob("*.py")])
MAX_MODULE_LINES = 620
MAX_FUNCTION_LINES = 80


def _files_with(text: str) -> list[str]:
    return [str(p.relative_to(PROJECT)) for p in SOURCES if text in p.read_text()]


@pytest.mark.parametrize(("text", "most"), [('"best.pt"', 2), ('"cv5"', 2), ("ema_decay", 4), ("crop_s", 4)])
def test_a_fact_is_written_in_few_files(text, most):
    assert len(_files_with(text)) <= most, _files_with(text)


def test_no_module_getattr_outside_the_package_api():
    assert _files_with("def __getattr__(") == ["ecgcore/__init__.py"]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of this project imported anywhere in ``path`` (at module level or inside functions), except
    under ``if TYPE_CHECKING:`` (annotations only: no import at run time)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n in known}
    return found


def test_no_import_cycle():
    modules = {_module_name(p): p for p in SOURCES}
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    # a package's __init__ importing its own submodules (the model registry registers its models) is no cycle
    graph = {
        m: {d for d in deps if not (d.startswith(m + ".") and modules[m].name == "__init__.py")}
        for m, deps in graph.items()
    }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " → ".join([*trail[trail.index(dep) :], dep]))
            if dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_modules_and_functions_are_short():
    long_modules = {
        str(p.relative_to(PROJECT)): n for p in SOURCES if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    long_functions = [
        f"{p.relative_to(PROJECT)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for p in SOURCES
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long_modules and not long_functions, (long_modules, long_functions)
