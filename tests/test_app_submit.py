"""ecgcore.app.submit (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

import json
import shutil

from ecgcore.app import submit
from ecgcore.fileio import write_json
from ecgcore.run_paths import RunPaths


def test_submit_training_refuses_a_finished_run_without_replace(demo_ds, tmp_path, trained_runs):
    root = tmp_path / "runs"
    shutil.copytree(trained_runs["cnn1d"], RunPaths.of(demo_ds.name, "superclass", "cnn1d", 0, root=root).folder)
    write_json(RunPaths.of(demo_ds.name, "superclass", "cnn1d", 0, root=root).folder / "status.json", {"state": "done"})
    recipe = submit.Recipe("cnn1d", epochs=1, batch_size=16, lr=1e-3)
    out = submit.submit_training(demo_ds, recipe, [0], label_set="superclass", root=root)
    assert out[0].state is None and "already holds a done run" in out[0].message
    assert json.loads((out[0].path / "status.json").read_text())["state"] == "done"  # left alone


def _capture(monkeypatch):
    from ecgcore import jobs

    queued = []
    monkeypatch.setattr(jobs, "submit", lambda path, job, root=None: queued.append((path, job)) or "queued")
    return queued


def test_a_named_run_on_the_benchmark_plan_queues_its_request(demo_ds, tmp_path, monkeypatch):
    queued = _capture(monkeypatch)
    recipe = submit.Recipe(
        "cnn1d", 2, 32, 1e-3, plan="benchmark", run_name="crop", advanced={"crop_s": 2.5, "window_agg": "mean"}
    )
    out = submit.submit_training(demo_ds, recipe, [0], label_set="superclass", root=tmp_path)
    assert out[0].state == "queued"
    path, job = queued[0]
    assert path == RunPaths.of(demo_ds.name, "superclass", "cnn1d", 0, "benchmark", tmp_path, "crop").folder
    assert path.parent.name == "cnn1d@crop" and path.name == "benchmark-fold0"
    request = job["request"]
    assert request["plan"] == "benchmark" and request["run_name"] == "crop" and request["given"]["epochs"] == 2
    assert request["given"]["crop_s"] == 2.5 and request["given"]["window_agg"] == "mean"


def test_a_bad_recipe_is_refused_before_any_run_folder(demo_ds, tmp_path, monkeypatch):
    queued = _capture(monkeypatch)
    for recipe, words in (
        (submit.Recipe("cnn1d", 1, 16, 1e-3, run_name="bad name!"), "run name"),
        (submit.Recipe("cnn1d", 1, 16, 1e-3, advanced={"ema_decay": 1.5}), "--ema_decay"),
        (submit.Recipe("cnn1d", 1, 16, 1e-3, advanced={"stride_s": 1.0}), "--stride_s"),
    ):
        out = submit.submit_training(demo_ds, recipe, [0, 1], label_set="superclass", root=tmp_path)
        assert len(out) == 1 and out[0].state is None and words in out[0].message
    assert queued == [] and not any(tmp_path.iterdir())


def test_measured_speed_from_progress_events():
    events = [
        {"event": "start", "time": 100.0, "n_train": 1000, "config": {"model": "cnn1d"}},
        {"event": "epoch_end", "epoch": 0, "time": 102.0},
        {"event": "epoch_end", "epoch": 1, "time": 104.0},
    ]
    assert submit.measured_speed("cnn1d", [events]) == 500.0
    assert submit.measured_speed("cnn2d", [events]) is None
    assert submit.measured_speed("cnn1d", [events[:1]]) is None


def test_estimate_cost_uses_the_defaults_without_runs_and_asks_above_three_minutes(demo_ds, tmp_path):
    short = submit.estimate_cost(demo_ds, submit.Recipe("cnn2d", 1, 16, 1e-3), [0], root=tmp_path)
    n = submit.training_size(demo_ds, "cv5", 0)
    assert short.speed == 290.0 and "RESULTS.md" in short.source and short.n_train == n
    assert abs(short.seconds - n / 290.0) < 1e-6 and not short.needs_confirmation
    long = submit.estimate_cost(demo_ds, submit.Recipe("cnn2d", 200, 16, 1e-3), list(range(5)), root=tmp_path)
    assert abs(long.seconds - 200 * n * 5 / 290.0) < 1e-6 and long.needs_confirmation


def test_estimate_cost_measures_earlier_runs(demo_ds, tmp_path):
    path = RunPaths.of(demo_ds.name, "superclass", "cnn1d", 0, root=tmp_path).folder
    path.mkdir(parents=True)
    write_json(path / "status.json", {"state": "done"})
    lines = [
        {"event": "start", "time": 0.0, "n_train": 100, "config": {"model": "cnn1d"}},
        {"event": "epoch_end", "epoch": 0, "time": 1.0},
    ]
    (path / "progress.jsonl").write_text("".join(json.dumps(e) + "\n" for e in lines))
    cost = submit.estimate_cost(demo_ds, submit.Recipe("cnn1d", 3, 16, 1e-3), [0, 1], root=tmp_path)
    assert cost.speed == 100.0 and "measured" in cost.source and cost.folds == 2


def test_a_run_cancelled_before_its_first_epoch_may_start_again(demo_ds, tmp_path, monkeypatch):
    """The page asks ecgcore.runs.can_start: a cancelled run with no last.pt holds nothing to keep or
    resume, so it is queued again (no 'resume it below' for a run that cannot resume)."""
    queued = _capture(monkeypatch)
    path = RunPaths.of(demo_ds.name, "superclass", "cnn1d", 0, root=tmp_path).folder
    write_json(path / "status.json", {"state": "cancelled"})
    out = submit.submit_training(
        demo_ds, submit.Recipe("cnn1d", 1, 16, 1e-3), [0], label_set="superclass", root=tmp_path
    )
    assert out[0].state == "queued" and "--overwrite" not in queued[0][1]
    (path / "last.pt").write_bytes(b"x")  # a completed epoch: kept unless replaced, and resumable
    write_json(path / "status.json", {"state": "interrupted"})
    out = submit.submit_training(
        demo_ds, submit.Recipe("cnn1d", 1, 16, 1e-3), [0], label_set="superclass", root=tmp_path
    )
    assert out[0].state is None and "resume it below" in out[0].message
