"""ecgcore.app.runs_view (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecgcore.app import runs_view
from ecgcore.runs import list_runs


@pytest.fixture
def trained_root(trained_runs) -> Path:
    return trained_runs["cnn1d"].parents[3]


def test_find_runs_sees_api_runs_without_status(trained_root, trained_runs):
    runs = list_runs(trained_root, "demo")
    assert {r.model for r in runs} == {"cnn1d", "cnn2d"}
    assert all(r.state == "done" and r.fold == 0 for r in runs)
    table = runs_view.runs_table(runs)
    assert list(table["state"]) == ["done", "done"] and table["results"].all()
    assert table["test macro PR-AUC"].notna().all()
    overview = runs_view.trained_overview(runs).set_index("model")
    assert overview.loc["cnn1d", "folds evaluated"] == [0]
    assert list_runs(trained_root, "other") == []
    assert len(runs_view.evaluated_runs("demo", trained_root)) == 2
    assert len(runs_view.checkpoint_runs("demo", "subclass", trained_root)) == 0


def test_other_dataset_note(demo_ds):
    assert runs_view.other_dataset_note({"name": "demo", "fingerprint": demo_ds.fingerprint}, demo_ds) is None
    assert runs_view.other_dataset_note(None, demo_ds) is None
    note = runs_view.other_dataset_note(
        {"name": "demo", "fingerprint": "x", "n_records": 1000, "root": "/c/demo"}, demo_ds
    )
    assert "another dataset named 'demo'" in note and "1000 records" in note
