"""ecgcore.runs: states, damaged status files, the rules, named-run layout (no torch needed)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from ecgcore import runs
from ecgcore.background import ACTIVE, FINAL, TaskState
from ecgcore.checkpoint_fit import fit_problem
from ecgcore.errors import RunError
from ecgcore.run_paths import RunPaths, check_run_name
from ecgcore.runs import (
    RunLock,
    can_cancel,
    can_delete,
    can_resume,
    can_start,
    list_runs,
    read_status,
    recipe_of,
    repair_status,
    run_state,
    write_status,
)

DAMAGES = {
    "empty_list": b"[]",
    "null": b"null",
    "number": b"3",
    "bad_utf8": b'{"state": "done", "error": "\xff\xfe"}',
    "not_json": b'{"state": "runn',
    "text_time": json.dumps({"state": "running", "updated": "yesterday"}).encode(),
    "unknown_state": json.dumps({"state": "exploded"}).encode(),
    "text_pid": json.dumps({"state": "running", "pid": "12"}).encode(),
    "folder": None,
}


def _damage(path: Path, kind: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if DAMAGES[kind] is None:
        (path / "status.json").mkdir()
    else:
        (path / "status.json").write_bytes(DAMAGES[kind])


def _good(root: Path, model: str, fold: int, state: str, **extra) -> Path:
    path = RunPaths.of("demo", "superclass", model, fold, root=root).folder
    write_status(path, state=state, **extra)
    return path


def test_states_are_the_status_strings():
    assert TaskState.DONE == "done" and f"{TaskState.INTERRUPTED}" == "interrupted"
    assert json.dumps({"s": TaskState.QUEUED}) == '{"s": "queued"}'
    assert "done" in FINAL and "running" in ACTIVE and not ACTIVE & FINAL
    assert TaskState.DAMAGED not in ACTIVE | FINAL


@pytest.mark.parametrize("kind", sorted(DAMAGES))
def test_damaged_status_beside_good_runs(tmp_path, kind):
    done = _good(tmp_path, "cnn1d", 0, "done", test_macro_pr_auc=0.7)
    failed = _good(tmp_path, "cnn1d", 1, "failed", error="boom")
    bad = RunPaths.of("demo", "superclass", "cnn2d", 0, root=tmp_path).folder
    _damage(bad, kind)
    status = read_status(bad)
    assert status["state"] == "damaged"
    assert str(bad / "status.json") in status["damage"] and "--repair" in status["damage"]
    listed = {r.path: r for r in list_runs(tmp_path)}
    assert set(listed) == {done, failed, bad}
    assert listed[done].state == "done" and listed[failed].state == "failed"
    assert listed[bad].state == TaskState.DAMAGED and listed[bad].damage == status["damage"]
    assert run_state(bad) == TaskState.DAMAGED and run_state(done) == TaskState.DONE
    assert "--overwrite" in can_start(bad) and can_start(bad, overwrite=True) is None
    assert can_delete(bad) is None


def test_repair_rebuilds_from_the_run_files(tmp_path):
    path = RunPaths.of("demo", "superclass", "cnn1d", 0, root=tmp_path).folder
    _damage(path, "folder")
    assert repair_status(path) == TaskState.UNKNOWN and not (path / "status.json").exists()
    _damage(path, "null")
    (path / "last.pt").write_bytes(b"x")
    assert repair_status(path) == TaskState.INTERRUPTED
    _damage(path, "number")
    (path / "results.json").write_text(json.dumps({"macro_pr_auc": 0.5, "macro_roc_auc": 0.8, "evaluated": 1.0}))
    assert repair_status(path) == TaskState.DONE and read_status(path)["test_macro_pr_auc"] == 0.5
    assert (path / "last.pt").read_bytes() == b"x"  # the files are kept


def test_write_status_replaces_a_damaged_one(tmp_path):
    path = tmp_path / "run"
    _damage(path, "empty_list")
    write_status(path, state="queued")
    assert read_status(path)["state"] == "queued" and "damage" not in read_status(path)


def test_live_state_from_lock_and_pid(tmp_path):
    path = _good(tmp_path, "cnn1d", 0, "running", pid=os.getpid(), epoch=1)
    assert run_state(path) == TaskState.INTERRUPTED  # nobody holds the lock
    with RunLock(path):
        assert run_state(path) == TaskState.RUNNING
        assert "already being trained or evaluated" in can_start(path, overwrite=True)
        assert "cancel it first" in can_delete(path)
        assert can_resume(path) is not None
    write_status(path, state="evaluating", pid=None)
    assert run_state(path) == TaskState.DONE  # trained; the process ended before scoring
    write_status(path, state="starting", pid=None, launched=time.time())
    assert run_state(path) == TaskState.STARTING
    write_status(path, launched=time.time() - 60)
    assert run_state(path) == TaskState.FAILED


def test_rules_per_state(tmp_path):
    path = _good(tmp_path, "cnn1d", 0, "running", epoch=2)
    (path / "last.pt").write_bytes(b"x")
    message = can_start(path)
    assert "interrupted" in message and "--resume" in message and "already holds a running" not in message
    assert "epoch 3 saved" in message
    assert can_resume(path) is None and can_start(path, overwrite=True) is None
    write_status(path, state="done")
    assert "already holds a done run" in can_start(path)
    assert "only a queued or training run" in can_cancel(path)
    write_status(path, state="queued")
    assert can_cancel(path) is None
    fresh = tmp_path / "fresh"
    assert can_start(fresh) is None and "no completed epoch" in can_resume(fresh)
    assert can_delete(fresh) is None


def test_named_run_layout_and_names(tmp_path):
    default = RunPaths.of("demo", "superclass", "cnn1d", 0, root=tmp_path).folder
    named = RunPaths.of("demo", "superclass", "cnn1d", 2, "benchmark", tmp_path, run_name="lr3e-3_aug").folder
    assert default == tmp_path / "demo/superclass/cnn1d/fold0"
    assert named == tmp_path / "demo/superclass/cnn1d@lr3e-3_aug/benchmark-fold2"
    write_status(default, state="done", config={"model": "cnn1d", "epochs": 3})
    write_status(named, state="done")
    listed = {r.path: r for r in list_runs(tmp_path)}
    assert listed[default].run_name == "default" and listed[default].model == "cnn1d"
    assert listed[named].run_name == "lr3e-3_aug" and listed[named].model == "cnn1d"
    assert listed[named].plan == "benchmark" and listed[named].fold == 2
    assert [r.path for r in list_runs(tmp_path, run_name="lr3e-3_aug")] == [named]
    assert recipe_of(default) == {"model": "cnn1d", "epochs": 3} and recipe_of(named) is None
    for bad in ("", "a b", "x" * 41, "../up", "a@b", "ü"):
        with pytest.raises(RunError, match="letters, digits"):
            check_run_name(bad)
        with pytest.raises(RunError):
            RunPaths.of("demo", "superclass", "cnn1d", 0, root=tmp_path, run_name=bad)
    assert check_run_name("x" * 40) == "x" * 40


def test_recipe_from_the_start_event(tmp_path):
    path = tmp_path / "run"
    path.mkdir()
    (path / "progress.jsonl").write_text(json.dumps({"event": "start", "config": {"lr": 0.1}}) + "\n[]\n")
    assert recipe_of(path) == {"lr": 0.1}


def test_fit_problem():
    meta = {
        "model": "cnn1d",
        "label_names": ["NORM", "MI"],
        "label_set": "superclass",
        "sampling_rate": 100,
        "dataset": {"name": "demo", "fingerprint": "abc"},
    }
    assert fit_problem(meta, ("NORM", "MI"), "superclass", 100, model="cnn1d", fingerprint="abc") is None
    assert "labels" in fit_problem(meta, ["MI", "NORM"], "superclass", 100)
    assert "label set" in fit_problem(meta, None, "subclass", None)
    assert "sampling rate" in fit_problem(meta, None, None, 500)
    assert "model 'cnn1d', not 'cnn2d'" in fit_problem(meta, None, None, None, model="cnn2d")
    assert "dataset 'demo', not 'ptbxl'" in fit_problem(meta, None, None, None, fingerprint="zzz", dataset_name="ptbxl")
    assert fit_problem({"model": "cnn1d"}, ["A"], "x", 500) is None  # keys it lacks are not checked


def test_runs_module_has_no_heavy_imports():
    source = Path(runs.__file__).read_text()
    assert "import torch" not in source and "sklearn" not in source and "ecgcore.metrics" not in source


def test_a_queued_run_cannot_be_deleted(tmp_path):
    """A queued (or starting) run holds no lock yet, but the queue will launch into its folder."""
    from ecgcore.fileio import write_json
    from ecgcore.runs import can_delete, clear_run

    path = tmp_path / "demo" / "superclass" / "cnn1d" / "fold0"
    write_json(path / "status.json", {"state": "queued", "queued": 1.0, "argv": ["train"]})
    assert "queued" in can_delete(path)
    with pytest.raises(RunError, match="cancel it first"):
        clear_run(path)
    assert path.is_dir()
    write_json(path / "status.json", {"state": "cancelled"})
    assert can_delete(path) is None
    clear_run(path)
    assert not path.exists()
