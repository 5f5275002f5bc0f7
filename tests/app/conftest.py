"""Fixtures of the app tests (streamlit.testing.v1.AppTest): the app pointed at the session's small
demo dataset (ECGCORE_DATA_ROOT) and at the 1-epoch cnn1d/cnn2d runs (ECGCORE_RUNS_DIR), with no
saved app settings; a fresh runs folder for the training test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "streamlit_app.py"
RUN_TIMEOUT_S = 60  # the first run of a session loads torch and the dataset


@pytest.fixture
def no_settings():
    """No saved app settings before or after the test (they live in the session's cache folder)."""
    from ecgcore.app.settings import settings_path

    settings_path().unlink(missing_ok=True)
    yield settings_path()
    settings_path().unlink(missing_ok=True)


@pytest.fixture
def trained_root(trained_runs) -> Path:
    """The runs root holding trained_runs (<root>/<dataset>/<label_set>/<model>/fold0)."""
    return trained_runs["cnn1d"].parents[3]


@pytest.fixture
def app_env(monkeypatch, demo_root, trained_root, no_settings):
    """Environment of an app on the demo dataset with the trained runs."""
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(trained_root))
    return {"data_root": demo_root, "runs_root": trained_root}


@pytest.fixture
def app(app_env) -> AppTest:
    """The app after its first run (on Home)."""
    at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_S)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def two_fold_root(trained_root, tmp_path, monkeypatch):
    """The trained runs with cnn1d fold 0 copied as fold 1: a two-member fold ensemble."""
    root = tmp_path / "runs"
    shutil.copytree(trained_root, root)
    fold0 = next(root.glob("*/*/cnn1d/fold0"))
    shutil.copytree(fold0, fold0.parent / "fold1")
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(root))
    return root
