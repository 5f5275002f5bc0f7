"""ecgcore.jobs: background trainings as real processes on the demo data — submit and follow the
states, refuse duplicates, queue beyond ECGCORE_MAX_TRAININGS (the finishing process starts the
next), cancel (running and just-started), SIGKILL → interrupted → resume, delete. Every wait is
bounded and every process started is killed at the end."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from ecgcore import background, jobs
from ecgcore.background import FINAL
from ecgcore.checkpoints import read_checkpoint
from ecgcore.errors import RunError
from ecgcore.run_paths import RunPaths
from ecgcore.runs import is_locked, list_runs, read_events, read_status, run_state

pytestmark = pytest.mark.slow

TIMEOUT = 120  # seconds for any one wait (a cold start imports torch; the machine is shared)


@pytest.fixture
def runs(tmp_path, monkeypatch, demo_ds):
    """A fresh runs folder as ECGCORE_RUNS_DIR (demo_ds: the signal cache the children reuse is built)."""
    root = tmp_path / "runs"
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(root))
    monkeypatch.setenv("ECGCORE_MAX_TRAININGS", "1")
    yield root
    for run in list_runs(root):  # never leave a training behind
        pid = (read_status(run.path, live=False) or {}).get("pid")
        if background.pid_alive(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for pid, proc in list(background._children.items()):  # and the ones this process started
        if proc.poll() is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=30)
    background.reap()


def path_of(root: Path, model: str = "cnn1d", fold: int = 0) -> Path:
    return RunPaths.of("demo", "superclass", model, fold, root=root).folder


def argv_of(demo_root: Path, fold: int = 0, epochs: int = 1, model: str = "cnn1d") -> dict:
    """The background job of one fold: the request document the run service reads."""
    return jobs.train_job(str(demo_root), model, fold, given={"epochs": epochs, "batch_size": 32}, evaluate=False)


def log(path: Path) -> str:
    try:
        return (path / "train.log").read_text()[-3000:]
    except FileNotFoundError:
        return "(no train.log)"


def wait_for(path: Path, predicate, what: str, timeout: float = TIMEOUT, seen: list | None = None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        background.reap()
        state = run_state(path)
        if seen is not None and (not seen or seen[-1] != state):
            seen.append(state)
        if predicate(state):
            return state
        time.sleep(0.03)
    raise AssertionError(f"timed out waiting for {what} of {path} (state {run_state(path)}):\n{log(path)}")


def wait_dead(pid: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while background.pid_alive(pid) and time.time() < deadline:
        background.reap()
        time.sleep(0.05)
    assert not background.pid_alive(pid), f"process {pid} still alive"


def test_submit_follow_queue_and_refuse_duplicates(runs, demo_root):
    """submit → a background process trains: (queued/)starting → running → done; a duplicate is refused
    while starting or running; beyond ECGCORE_MAX_TRAININGS=1 a second run waits queued and is started
    by the finishing process; a queued run can be cancelled; a finished run can be deleted."""
    first, second, third = path_of(runs, fold=0), path_of(runs, fold=1), path_of(runs, fold=2)
    argv = argv_of(demo_root, 0, epochs=2)
    state = jobs.submit(first, argv)
    assert state in ("starting", "running")
    status = read_status(first)
    assert status["request"] == argv["request"] and status["queued"] <= status["launched"]
    with pytest.raises(RunError, match="already"):
        jobs.submit(first, argv)  # while starting
    assert jobs.submit(second, argv_of(demo_root, 1)) == "queued"
    assert jobs.submit(third, argv_of(demo_root, 2)) == "queued"
    with pytest.raises(RunError, match="queued"):
        jobs.submit(second, argv_of(demo_root, 1))
    assert jobs.cancel(third) == "cancelled"  # a queued run is cancelled at once
    seen = [state]
    wait_for(first, lambda s: s == "running", "running", seen=seen)
    with pytest.raises(RunError, match="already"):
        jobs.submit(first, argv)  # while running
    assert is_locked(first)
    assert (
        read_status(first)["request"] == argv["request"]
    )  # the trainer keeps what the launcher wrote (resume needs it)
    assert jobs.pump(runs) == []  # no free slot while the first trains
    assert run_state(second) == "queued"
    wait_for(first, lambda s: s in FINAL, "the end", seen=seen)
    assert seen[-1] == "done", log(first)
    order = ["queued", "starting", "running", "done"]  # forward only, no unknown state in between
    assert set(seen) <= set(order) and seen == sorted(seen, key=order.index), seen
    assert "running" in seen
    status = read_status(first)
    assert status["epoch"] == 1 and status["pid"]
    assert (first / "best.pt").exists() and (first / "last.pt").exists()
    kinds = [e["event"] for e in read_events(first)]
    assert kinds[0] == "start" and kinds[-1] == "done"
    wait_dead(status["pid"])  # "done" is written before the process exits (it still pumps the queue)
    # nobody in this process pumps: the finishing training started the next one
    wait_for(second, lambda s: s in FINAL, "second done")
    assert run_state(second) == "done", log(second)
    assert read_status(second)["started"] >= read_status(first)["finished"]
    assert run_state(third) == "cancelled" and not (third / "last.pt").exists()
    jobs.delete(first)
    assert not first.exists() and second.exists()


def test_cancel_running_run(runs, demo_root):
    path = path_of(runs)
    jobs.submit(path, argv_of(demo_root, epochs=30))
    wait_for(path, lambda s: s == "running", "running")
    deadline = time.time() + TIMEOUT
    while not any(e["event"] == "batch" for e in read_events(path)) and time.time() < deadline:
        time.sleep(0.05)
    with pytest.raises(RunError, match="training right now"):
        jobs.delete(path)
    pid = read_status(path)["pid"]
    t0 = time.time()
    state = jobs.cancel(path, grace_s=jobs.CANCEL_GRACE_S)
    took = time.time() - t0
    assert state == "cancelled", log(path)
    assert took < jobs.CANCEL_GRACE_S, f"cancel took {took:.1f}s: the flag was not honoured, SIGTERM was needed"
    wait_dead(pid)
    assert read_events(path)[-1]["event"] == "cancelled"
    assert not is_locked(path)
    jobs.delete(path)
    assert not path.exists()


def test_cancel_just_started_run(runs, demo_root):
    """Cancelled while the process is still starting (importing torch): it must not train on."""
    path = path_of(runs)
    assert jobs.submit(path, argv_of(demo_root, epochs=30)) == "starting"
    t0 = time.time()
    state = jobs.cancel(path, grace_s=jobs.CANCEL_GRACE_S)
    took = time.time() - t0
    if state not in FINAL:
        state = wait_for(path, lambda s: s in FINAL, "the end", timeout=30)
    assert state == "cancelled", log(path)
    assert took < jobs.CANCEL_GRACE_S, f"cancel took {took:.1f}s: the cancel flag was lost, SIGTERM was needed"
    status = read_status(path)
    wait_dead(status["pid"])
    assert not (path / "last.pt").exists()  # stopped before the first epoch ended


def test_sigkill_shows_interrupted_and_resume_continues(runs, demo_root):
    path = path_of(runs)
    jobs.submit(path, argv_of(demo_root, epochs=3))
    deadline = time.time() + TIMEOUT
    while (read_status(path, live=False) or {}).get("epoch") is None:  # the first epoch has ended
        assert time.time() < deadline, log(path)
        assert run_state(path) in ("starting", "running"), log(path)
        time.sleep(0.02)
    pid = read_status(path)["pid"]
    os.killpg(pid, signal.SIGKILL)
    wait_dead(pid)
    assert read_status(path, live=False)["state"] == "running"  # what the dead process left on disk
    deadline = time.time() + 10  # the kernel releases the lock when the last thread is gone
    while is_locked(path) and time.time() < deadline:
        time.sleep(0.02)
    assert read_status(path)["state"] == "interrupted"
    assert run_state(path) == "interrupted"
    assert not is_locked(path)
    completed = read_checkpoint(path / "last.pt")["meta"]["epoch"]
    if completed == 2:
        pytest.skip("the run finished its last epoch before the kill landed (a very slow poll)")
    state = jobs.resume(path)
    assert state in ("starting", "running")
    wait_for(path, lambda s: s in FINAL, "the resumed run's end")
    assert run_state(path) == "done", log(path)
    events = read_events(path)
    starts = [i for i, e in enumerate(events) if e["event"] == "start"]
    assert len(starts) == 2
    assert events[starts[1]]["resumed_from"] == completed + 1
    resumed_epochs = [e["epoch"] for e in events[starts[1] :] if e["event"] == "epoch_end"]
    assert resumed_epochs == list(range(completed + 1, 3))
    assert read_checkpoint(path / "last.pt")["meta"]["epoch"] == 2
    assert read_status(path)["request"]["resume"] is True


def test_resume_and_delete_refusals(runs, demo_root):
    path = path_of(runs)
    path.mkdir(parents=True)
    with pytest.raises(RunError, match="no completed epoch"):
        jobs.resume(path)
    jobs.delete(path)  # a run that is not training can be deleted
    assert not path.exists()


def test_train_job_is_one_json_document_the_service_reads():
    """The queued document builds the service's TrainRequest as it is, and its recipe is checked once."""
    import json

    from ecgcore.service import TrainRequest

    job = jobs.train_job("/data", "cnn2d", 3, label_set="top5", given={"epochs": 4, "lr": 0.01, "batch_size": None})
    job = json.loads(json.dumps(job))  # what status.json holds
    request = TrainRequest(**job["request"])
    assert job["source"] == {"data_root": "/data", "sampling_rate": 100, "label_set": "top5", "skip_bad": False}
    assert request.folds == [3] and request.given == {"epochs": 4, "lr": 0.01}
    config = request.config(3)
    assert config.model == "cnn2d" and config.epochs == 4 and config.lr == 0.01 and config.batch_size == 16


def test_named_run_job_and_resume_from_recipe(tmp_path, monkeypatch):
    """A named run's job carries its run name (the child never reads it from the environment), and a
    resume rebuilt from status.json's config finds the run name and plan in its folder."""
    from ecgcore.runs import write_status

    monkeypatch.setenv("ECGCORE_RUN_NAME", "from-env")
    assert jobs.train_job("/data", "cnn1d", 1, run_name="exp_2")["request"]["run_name"] == "exp_2"
    path = RunPaths.of("demo", "superclass", "cnn1d", 1, root=tmp_path, run_name="exp_2").folder
    write_status(path, state="interrupted", config={"fold": 1, "plan": "cv5"}, data_root="/data")
    rebuilt = jobs._job_from_recipe(path, read_status(path))
    assert rebuilt["request"]["run_name"] == "exp_2" and rebuilt["request"]["resume"] is True
    assert rebuilt["request"]["folds"] == [1] and rebuilt["source"]["data_root"] == "/data"


def test_pump_and_busy_count_ignore_damaged_runs(tmp_path, monkeypatch):
    """Damaged status files and a queued status without a command never break the queue."""
    from ecgcore.runs import write_status
    from tests.test_runs import DAMAGES, _damage

    monkeypatch.setenv("ECGCORE_MAX_TRAININGS", "1")
    for i, kind in enumerate(sorted(DAMAGES)):
        _damage(RunPaths.of("demo", "superclass", "cnn2d", i, root=tmp_path).folder, kind)
    queued = RunPaths.of("demo", "superclass", "cnn1d", 0, root=tmp_path).folder
    write_status(queued, state="queued", queued=1.0)  # no request
    assert jobs.busy_trainings(tmp_path) == 0
    assert jobs.pump(tmp_path) == []
    assert run_state(queued) == "failed" and "without a command" in read_status(queued)["error"]
