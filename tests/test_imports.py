"""The data, label, fold, run and job layers load without torch and scikit-learn (so the app's Home,
Dataset and Train pages never pay for importing them): each is imported in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import PROJECT

LIGHT = ("ecgcore.data", "ecgcore.labels", "ecgcore.runs", "ecgcore.jobs", "ecgcore.errors", "ecgcore.fileio")


def heavy_modules_after_import(module: str) -> list[str]:
    code = (
        f"import json, sys; import {module}; "
        "print(json.dumps(sorted(m for m in ('torch', 'sklearn') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", LIGHT)
def test_layer_imports_neither_torch_nor_sklearn(module):
    assert heavy_modules_after_import(module) == []


def test_fold_layer_imports_neither_torch_nor_sklearn():
    assert heavy_modules_after_import("ecgcore.folds") == []


def test_the_check_can_fail():
    assert heavy_modules_after_import("ecgcore.inference") == ["torch"]


def test_recipes_load_without_torch_and_cover_the_registry():
    """The Train page lists models and checks requests through ecgcore.recipes, without torch; every
    registered model has a default recipe there (one table: the names come from it)."""
    code = "import sys, ecgcore.recipes; print('torch' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT)
    assert out.stdout.split() == ["False", "False"]
    from ecgcore.model_specs import SPECS
    from ecgcore.models import list_models

    assert set(SPECS) == set(list_models())
