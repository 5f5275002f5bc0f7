"""Background training runs on disk: submit (queue), start in turn, cancel, resume, delete.

A run is started as its own process, ``python -m ecgcore.service <run folder>`` (the run service, which
reads the request queued in status.json: :func:`train_job`), in a new process session
(``start_new_session=True``), writing to its run directory; the files there are the truth, so runs
survive app reruns, page switches, reloads and app restarts, and runs started from the CLI or a
cluster pod show up alike. At most ``ECGCORE_MAX_TRAININGS`` (default 1 — this is a 2-core machine)
train at once; further requests wait on disk as ``queued`` and are started in turn by :func:`pump`,
which the app calls as it polls and every finishing ``train`` process calls on its way out.
Submissions and the queue are serialised by an ``flock`` on ``<runs_root>/.queue.lock``; the run's own
lock (see :mod:`ecgcore.runs`) refuses a duplicate whatever started it.
"""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from ecgcore.background import ACTIVE, TaskState, pid_alive, spawn_detached, stop_process
from ecgcore.errors import RunError
from ecgcore.fileio import make_folder
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.run_paths import DEFAULT_RUN, RunPaths, runs_root
from ecgcore.runs import can_cancel, can_resume, clear_run, is_locked, list_runs, read_status, run_state, write_status

CANCEL_GRACE_S = 10.0


def max_trainings() -> int:
    return max(1, int(os.environ.get("ECGCORE_MAX_TRAININGS", "1")))


def training_threads() -> int:
    """CPU threads for one background training: the cores shared by the runs allowed at once and the
    app itself (1 on a 2-core machine)."""
    return max(1, (os.cpu_count() or 1) // (max_trainings() + 1))


@contextmanager
def _queue_lock(root: Path):
    make_folder(root)
    with open(root / ".queue.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def train_job(
    data_root: str | None,
    model: str,
    fold: int,
    *,
    label_set: str = "superclass",
    plan: str = DEFAULT_PLAN,
    sampling_rate: int = 100,
    skip_bad: bool = False,
    run_name: str = DEFAULT_RUN,
    given: dict | None = None,
    overwrite: bool = False,
    evaluate: bool = True,
    seeds: int = 1,
) -> dict:
    """The JSON document of one fold's background training: ``request`` (the fields of
    :class:`ecgcore.service.TrainRequest`; ``given``: the recipe fields set, None for the model's
    default; ``seeds``: seeds 0 … seeds − 1 of the fold, one run name each) and ``source`` (where the data
    is). The process reads it from status.json, once."""
    request = {
        "model": model,
        "folds": [fold],
        "given": {k: v for k, v in (given or {}).items() if v is not None},
        "plan": plan,
        "run_name": run_name,
        "overwrite": overwrite,
        "evaluate": evaluate,
        "seeds": seeds,
    }
    source = {"data_root": data_root, "sampling_rate": sampling_rate, "label_set": label_set, "skip_bad": skip_bad}
    return {"request": request, "source": source}


def submit(path: Path, job: dict, root: Path | None = None) -> str:
    """Queue a training of the run directory ``path`` (``job``: :func:`train_job`'s document), then
    start queued runs if a slot is free. Returns the run's state afterwards.

    Raises RunError if that run is already queued or training.
    """
    root = root or runs_root()
    with _queue_lock(root):
        state = run_state(path)
        if is_locked(path) or state in ACTIVE:
            raise RunError(f"{path} is already {state}; wait for it or cancel it.")
        make_folder(path)
        RunPaths(path).cancel_flag.unlink(missing_ok=True)
        write_status(path, state="queued", queued=time.time(), **job, argv=None, pid=None, error=None)
    pump(root)
    return run_state(path)


def busy_trainings(root: Path | None = None) -> int:
    """Run folders under ``root`` that are training (lock held, found by the lock files whatever
    status.json says) or being started."""
    root = root or runs_root()
    locked = {p.parent for p in root.glob("*/*/*/*/lock") if is_locked(p.parent)}
    return len(locked | {r.path for r in list_runs(root) if run_state(r.path) == "starting"})


def pump(root: Path | None = None) -> list[Path]:
    """Start queued runs (oldest first) while fewer than ``max_trainings()`` are training."""
    root = root or runs_root()
    started = []
    with _queue_lock(root):
        runs = list_runs(root)
        busy = busy_trainings(root)
        queued = sorted((r for r in runs if r.state == TaskState.QUEUED), key=lambda r: r.status.get("queued") or 0)
        for run in queued[: max(0, max_trainings() - busy)]:
            if not run.status.get("request") and not run.status.get("argv"):  # it does not say what to run
                write_status(
                    run.path, state="failed", error=f"{run.path} was queued without a command; submit it again."
                )
                continue
            launch(run.path, run.status, root)
            started.append(run.path)
    return started


def launch(path: Path, status: dict, root: Path) -> int:
    """Start the queued training of ``path`` in its own process session: ``python -m ecgcore.service
    <path>``, which reads its request from status.json (a queue entry written by an older version holds
    the CLI's ``argv`` instead, run as ``python -m ecgcore <argv>``). Output goes to train.log. Returns the pid."""
    env = {
        "ECGCORE_RUNS_DIR": str(root.resolve()),
        "ECGCORE_RUN_NAME": None,  # the run name is in the request, not taken from this process
        # Leave a core to the app and the other runs: oversubscribed OpenMP threads slow torch down many-fold.
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS") or str(training_threads()),
    }
    module_argv = ["ecgcore.service", str(path)] if status.get("request") else ["ecgcore", *status["argv"]]
    write_status(path, state="starting", pid=None, launched=time.time())
    pid = spawn_detached(module_argv, RunPaths(path).log, env)
    if (read_status(path, live=False) or {}).get("state") == "starting":  # the child may be faster
        write_status(path, pid=pid)
    return pid


def cancel(path: Path, grace_s: float = CANCEL_GRACE_S) -> str:
    """Cancel a run: a queued one at once; a training one through the flag file it checks between
    batches, then SIGTERM to its process group if it is still going after ``grace_s``."""
    state = run_state(path)
    if can_cancel(path) is not None:
        return state
    if state == TaskState.QUEUED:
        write_status(path, state="cancelled", finished=time.time())
        return TaskState.CANCELLED
    if state == TaskState.STARTING:
        return _cancel_starting(path, grace_s)
    RunPaths(path).cancel_flag.touch()
    deadline = time.time() + grace_s
    while time.time() < deadline:
        if not is_locked(path) and run_state(path) != "starting":
            return run_state(path)
        time.sleep(0.2)
    stop_process((read_status(path, live=False) or {}).get("pid"), grace_s=0)  # its pid as it is now
    return run_state(path)


def _cancel_starting(path: Path, grace_s: float) -> str:
    """Cancel a run whose process is still starting: it does not watch its cancel flag yet (and clears
    stale flags as it starts), so it gets SIGTERM now — once the trainer's handler is in place that ends
    in a clean 'cancelled'; a process that ends before then is recorded as cancelled here."""
    deadline = time.time() + grace_s
    pid = None
    while pid is None and time.time() < deadline:  # the launcher writes the pid right after the start
        pid = (read_status(path, live=False) or {}).get("pid")
        if pid is None:
            time.sleep(0.05)
    stop_process(pid, max(0.0, deadline - time.time()))
    if not pid_alive(pid) and (read_status(path, live=False) or {}).get("state") == "starting":
        write_status(path, state="cancelled", finished=time.time())
    return run_state(path)


def resume(path: Path, root: Path | None = None) -> str:
    """Queue the continuation of an interrupted, cancelled or failed run from its last.pt."""
    status = read_status(path) or {}
    problem = can_resume(path)
    if problem:
        raise RunError(problem)
    if status.get("request"):
        job = {"request": status["request"] | {"resume": True, "overwrite": False}, "source": status["source"]}
    elif status.get("argv"):  # queued by an older version: its CLI arguments
        argv = [a for a in status["argv"] if a not in ("--overwrite", "--resume")]
        return _submit_argv(path, argv + ["--resume"], root or runs_root())
    else:
        job = _job_from_recipe(path, status)
    return submit(path, job, root)


def _submit_argv(path: Path, argv: list[str], root: Path) -> str:
    with _queue_lock(root):
        write_status(path, state="queued", queued=time.time(), argv=argv, request=None, pid=None, error=None)
    pump(root)
    return run_state(path)


def _job_from_recipe(path: Path, status: dict) -> dict:
    """The resume job of a run started outside the queue (the CLI, a pod): from its recorded recipe."""
    config = status.get("config") or {}
    address = RunPaths(path).address()
    if not config or "fold" not in config or address is None:
        raise RunError(f"{path} does not say how it was started; start it again instead.")
    source = status.get("source") or {"data_root": status.get("data_root"), "sampling_rate": 100}
    job = train_job(
        source["data_root"], address.model, config["fold"], label_set=address.label_set, plan=address.plan,
        sampling_rate=source["sampling_rate"], skip_bad=source.get("skip_bad", False), run_name=address.run_name,
    )  # fmt: skip
    job["request"]["resume"] = True
    return job


def delete(path: Path) -> None:
    """Delete a run that is not training (its checkpoints, events and results); RunError if it is."""
    clear_run(path)
