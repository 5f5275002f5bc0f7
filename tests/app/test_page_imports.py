"""What a page costs to import: the Home and Dataset pages (and the frame every page shares) never
import torch or scikit-learn's heavy parts through their imports. Each check runs the page's import
statements, and those of app_pages/common.py and streamlit_app.py, in a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def import_lines(path: Path) -> list[str]:
    """The module-level import statements of ``path``, as source lines."""
    tree = ast.parse(path.read_text())
    return [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]


def modules_after_importing(page: str) -> set[str]:
    lines = [*import_lines(PROJECT / "streamlit_app.py"), *import_lines(PROJECT / "app_pages" / f"{page}.py")]
    code = "\n".join([*lines, "import sys", "print('\\n'.join(sys.modules))"])
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.slow
@pytest.mark.parametrize("page", ["home", "dataset"])
def test_page_imports_no_torch(page):
    loaded = modules_after_importing(page)
    assert "torch" not in loaded, f"app_pages/{page}.py pulls in torch"
    assert "app_pages.common" in loaded and "ecgcore.app.settings" in loaded  # the check imports what it should


@pytest.mark.slow
def test_train_page_imports_no_torch():
    """The Train page lists models and checks requests through ecgcore.recipes; jobs and runs are torch-free."""
    loaded = modules_after_importing("train")
    assert "torch" not in loaded and "sklearn" not in loaded
    assert "ecgcore.recipes" in loaded and "ecgcore.jobs" in loaded


def test_no_pages_folder_next_to_the_entry_script():
    """A ``pages/`` folder beside streamlit_app.py puts a fresh server in Streamlit's legacy folder mode
    until a session runs st.navigation: deep links then show the wrong app (tests/e2e/test_e2e_deep_links.py)."""
    assert not (PROJECT / "pages").exists()
    assert (PROJECT / "app_pages" / "home.py").is_file()
