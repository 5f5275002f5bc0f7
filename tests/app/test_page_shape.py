"""Pages are functions (issue "one fact, one home"): each page file in app_pages/ keeps at most
:data:`MAX_TOP_LEVEL_LINES` lines of top-level statements — module body nodes that are not imports,
function or class definitions, or the docstring — and draws itself by calling its functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PAGES = sorted((PROJECT / "app_pages").glob("*.py"))
MAX_TOP_LEVEL_LINES = 40
DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def top_level_lines(path: Path) -> int:
    """Lines of the module body's statements other than imports, defs, classes and the docstring."""
    body = ast.parse(path.read_text()).body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    return sum(node.end_lineno - node.lineno + 1 for node in body if not isinstance(node, DEFINITIONS))


def test_the_measure_counts_statements_not_definitions(tmp_path):
    page = tmp_path / "page.py"
    page.write_text('"""Doc."""\n\nimport os\n\nX = 1\n\n\ndef page():\n    pass\n\n\nif X:\n    page()\n')
    assert top_level_lines(page) == 3  # X = 1, and the two lines of the if


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_a_page_is_functions(path):
    assert top_level_lines(path) <= MAX_TOP_LEVEL_LINES, f"{path.name}: {top_level_lines(path)} top-level lines"
