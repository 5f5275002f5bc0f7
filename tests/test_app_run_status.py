"""ecgcore.app.run_status (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ecgcore import jobs
from ecgcore.app import run_status, runs_view
from ecgcore.errors import CheckpointError
from ecgcore.fileio import write_json
from ecgcore.run_paths import RunPaths
from ecgcore.runs import list_runs


def test_runs_table_uses_the_live_state(tmp_path):
    path = RunPaths.of("demo", "superclass", "cnn1d", 2, root=tmp_path).folder
    write_json(
        path / "status.json", {"state": "running", "pid": 999999, "epochs": 4, "epoch": 1, "updated": time.time()}
    )
    runs = list_runs(tmp_path)
    assert runs_view.runs_table(runs)["state"].tolist() == ["interrupted"]  # no process holds its lock
    assert runs_view.runs_table(runs)["epoch"].tolist() == ["2/4"]
    assert not run_status.is_active(runs[0])
    assert jobs.busy_trainings(tmp_path) == 0


def test_resumable():
    assert not run_status.resumable(Path("/nowhere"), "interrupted")


def test_a_damaged_run_is_damaged_not_an_exception(tmp_path):
    path = RunPaths.of("demo", "superclass", "cnn1d", 0, root=tmp_path).folder
    path.mkdir(parents=True)
    (path / "status.json").write_text('{"state": "runn')
    (runs,) = list_runs(tmp_path)
    assert run_status.live_state(runs) == "damaged"
    table = runs_view.runs_table([runs])
    assert table["state"].tolist() == ["damaged"] and "corrupt" in table["problem"][0]
    assert not run_status.is_active(runs) and not run_status.resumable(path)


def test_running_epoch_is_the_one_being_trained(tmp_path):
    path = RunPaths.of("demo", "superclass", "cnn1d", 0, root=tmp_path).folder
    assert runs_view.epoch_text({"epochs": 2}, "running") == "1/2"  # no epoch completed yet
    assert runs_view.epoch_text({"epochs": 2, "epoch": 0}, "running") == "2/2"
    assert runs_view.epoch_text({"epochs": 2, "epoch": 1}, "done") == "2/2"
    assert runs_view.epoch_text({"epoch": None, "epochs": None}, "running") == ""
    assert path.name == "fold0"


def test_check_checkpoint_fits():
    meta = {"label_names": ["NORM", "MI"], "sampling_rate": 100}
    run_status.check_checkpoint_fits(meta, ("NORM", "MI"), 100)
    with pytest.raises(CheckpointError, match="label set"):
        run_status.check_checkpoint_fits(meta, ("NORM",), 100)
    with pytest.raises(CheckpointError, match="sampling rate"):
        run_status.check_checkpoint_fits(meta, ("NORM", "MI"), 500)
