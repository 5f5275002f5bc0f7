"""Run state (layer 2): the states of training runs and the rules on them — shared by the CLI, the app,
the run service and cluster jobs. Imports neither torch nor scikit-learn. Where a run's files are is
:mod:`ecgcore.run_paths`.

The files are the truth: a run's
state (:class:`TaskState`) is ``status.json`` plus whether its lock is held (an ``flock`` released by the
kernel when the process dies, so a killed run is seen as interrupted, never as running forever). A
status.json that cannot be read as a status makes the run **damaged** — never an exception.

The rules — may a run start, resume, be cancelled or deleted — are
each one function here (:func:`can_start`, :func:`can_resume`, :func:`can_cancel`, :func:`can_delete`,
); they return None (yes) or the reason as a one-line message. Whether a checkpoint fits a dataset
is :mod:`ecgcore.checkpoint_fit`.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from ecgcore.background import ACTIVE, BusyError, FileLock, TaskState, live_state, pid_alive
from ecgcore.background import is_locked as lock_held
from ecgcore.errors import RunError
from ecgcore.fileio import make_folder, read_json_file, storage_errors, write_json
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.run_paths import DEFAULT_RUN, RunPaths, group_label, runs_root

REPAIR_HINT = "run `python -m ecgcore runs --repair` to rebuild it from the run's files"
LAUNCH_FIELDS = (
    "state",
    "request",
    "source",
    "argv",
    "queued",
    "launched",
    "pid",
)  # status.json fields written by ecgcore.jobs
_TIME_FIELDS = ("updated", "queued", "launched", "started", "finished")
_NUMBER_FIELDS = _TIME_FIELDS + ("val_macro_pr_auc", "test_macro_pr_auc", "test_macro_roc_auc")
_INT_FIELDS = ("pid", "epoch", "epochs")
_TYPED_FIELDS = {"argv": list, "config": dict, "error": str, "run_name": str, "request": dict, "source": dict}


# ----------------------------------------------------------------------------- layout


def trained_folds(
    model: str,
    run_name: str = DEFAULT_RUN,
    plan: str = DEFAULT_PLAN,
    root: Path | None = None,
    dataset: str | None = None,
    label_set: str | None = None,
) -> list[Path]:
    """The fold folders of one run group that hold a best.pt, sorted by fold: the members of a fold
    ensemble. Raises RunError when none is found, or when the group exists for several datasets or
    label sets and ``dataset``/``label_set`` don't say which."""
    found = [
        r
        for r in list_runs(root, dataset, run_name)
        if r.model == model
        and r.plan == plan
        and (label_set is None or r.label_set == label_set)
        and RunPaths(r.path).best.is_file()
    ]
    where = sorted({(r.dataset, r.label_set) for r in found})
    if not found:
        raise RunError(
            f"no trained fold of {group_label(model, run_name, plan)} under {root or runs_root()}; "
            "train it first (python -m ecgcore train) or check --runs_dir."
        )
    if len(where) > 1:
        listed = ", ".join(f"{d}/{ls}" for d, ls in where)
        raise RunError(
            f"{group_label(model, run_name, plan)} was trained on several datasets ({listed}); name one with --dataset."
        )
    return [r.path for r in sorted(found, key=lambda r: r.fold)]


# ----------------------------------------------------------------------------- lock


class RunLock:
    """Exclusive lock on a run folder (:class:`ecgcore.background.FileLock` on ``<run>/lock``), held
    by whatever writes the run's files — a training, an evaluation, saliency PNGs, a repair — so that
    one process at a time does, from the CLI, the app or a cluster pod."""

    def __init__(self, directory: Path):
        self.path = RunPaths(directory).lock
        self._lock = FileLock(self.path)

    def acquire(self) -> RunLock:
        make_folder(self.path.parent)
        try:
            with storage_errors(self.path):
                self._lock.acquire()
        except BusyError:
            raise RunError(
                f"{self.path.parent} is already being trained or evaluated by another process; "
                "wait for it or cancel it."
            ) from None
        return self

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(directory: Path) -> bool:
    """True while some live process holds the run's lock."""
    return lock_held(RunPaths(directory).lock)


# ----------------------------------------------------------------------------- status


def _status_problem(status: object) -> str | None:
    """What makes a parsed status.json unusable (None: it is fine)."""
    if not isinstance(status, dict):
        return f"it holds {type(status).__name__} {json.dumps(status)[:40]}, not a status object"
    state = status.get("state")
    if state is not None and state not in {s.value for s in TaskState} - {"damaged"}:
        return f"its state {state!r} is not a run state"
    for key in _NUMBER_FIELDS:
        value = status.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"its field {key!r} is {value!r}, not a number"
    for key in _INT_FIELDS:
        value = status.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            return f"its field {key!r} is {value!r}, not a whole number"
    for key, kind in _TYPED_FIELDS.items():
        if status.get(key) is not None and not isinstance(status[key], kind):
            return f"its field {key!r} is not a {kind.__name__}"
    return None


def _damaged(path: Path, what: str) -> dict:
    message = f"{path} is damaged ({what}); {REPAIR_HINT}, or delete that file."
    return {"state": TaskState.DAMAGED.value, "damage": message, "error": message}


def read_status(directory: Path, live: bool = True) -> dict | None:
    """status.json of a run (None if absent); never raises. With ``live``, a 'running' run whose lock is
    no longer held — its process died — is reported as 'interrupted'. A file that is not a status
    (not UTF-8, not JSON, not an object, a folder, wrong-typed fields) gives ``{"state": "damaged",
    "damage": <message naming the file and what to do>, "error": <the same>}``."""
    path = RunPaths(directory).status
    if path.exists() and not path.is_file() and not path.is_dir():  # a FIFO or device would block the read
        return _damaged(path, "it is not a regular file")
    try:
        status = read_json_file(path)
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        return _damaged(path, "it is not UTF-8 text: corrupt")
    except ValueError as e:
        return _damaged(path, f"corrupt, not JSON: {e}")
    except OSError as e:
        return _damaged(path, f"cannot be read: {e.strerror or e}")
    problem = _status_problem(status)
    if problem:
        return _damaged(path, problem)
    if live and status.get("state") == "running" and not is_locked(directory):
        status["state"] = TaskState.INTERRUPTED.value
    return status


def write_status(directory: Path, **fields) -> dict:
    """Merge ``fields`` into status.json (atomically) and return the new status (a damaged one is
    replaced: its damage fields are dropped)."""
    status = read_status(directory, live=False) or {}
    if status.get("state") == TaskState.DAMAGED:
        status = {}
    status |= fields | {"updated": time.time()}
    write_json(RunPaths(directory).status, status)
    return status


def read_events(directory: Path, start: int = 0) -> list[dict]:
    """Events of progress.jsonl from byte offset ``start``; a partial or bad line is skipped."""
    path = RunPaths(directory).progress
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
    except OSError:
        return []
    events = []
    for line in data.split(b"\n")[:-1]:  # the text after the last newline may be half written
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def _status_from_results(path: Path) -> dict:
    """A status made up for a run without status.json (trained through the Python API)."""
    status: dict = {"state": "unknown", "source": "no status.json (trained through the Python API?)"}
    try:
        results = read_json_file(RunPaths(path).results)
    except (OSError, ValueError):
        return status
    if not isinstance(results, dict):
        return status
    return status | {
        "state": "done",
        "test_macro_pr_auc": results.get("macro_pr_auc"),
        "test_macro_roc_auc": results.get("macro_roc_auc"),
        "updated": results.get("evaluated"),
    }


def status_of(path: Path) -> dict:
    """The run's status (read_status), or one made up from results.json when there is no status.json."""
    return read_status(path) or _status_from_results(Path(path))


def run_state(path: Path) -> TaskState:
    """The live state of a run, from its files, its lock and its process id."""
    status = status_of(path)
    state = live_state(status.get("state"), status.get("pid"), is_locked(path), status.get("launched") or 0)
    if state == TaskState.EVALUATING and not is_locked(path) and not pid_alive(status.get("pid")):
        return TaskState.DONE  # trained; its process ended before scoring the test part (`ecgcore eval` does it)
    return state


def recipe_of(path: Path) -> dict | None:
    """The full training recipe (TrainConfig as a dict) of a run: status.json's, else the start event's."""
    config = status_of(path).get("config")
    if isinstance(config, dict):
        return config
    starts = [e for e in read_events(path) if e.get("event") == "start" and isinstance(e.get("config"), dict)]
    return starts[-1]["config"] if starts else None


# ----------------------------------------------------------------------------- listing


@dataclass
class RunInfo:
    path: Path
    dataset: str
    label_set: str
    model: str
    plan: str
    fold: int
    status: dict
    run_name: str = DEFAULT_RUN

    @property
    def state(self) -> str:
        return self.status.get("state", "unknown")

    @property
    def damage(self) -> str | None:
        """What is wrong with the run's files and what to do (None unless damaged)."""
        return self.status.get("damage")


def list_runs(root: Path | None = None, dataset: str | None = None, run_name: str | None = None) -> list[RunInfo]:
    """Every run directory under ``root`` (optionally of one dataset and run name), sorted by path.
    Never raises for one bad folder: a damaged status.json is listed as state 'damaged'.

    Runs trained through the Python API (``train_fold`` alone writes no status.json) are found by
    their best.pt/results.json; their status is made up from results.json: state 'done' with the
    test metrics, or 'unknown' without results."""
    root = Path(root or runs_root())
    files = (RunPaths.BEST, "status.json", "results.json")  # a run trained through the Python API has no status
    found = {f.parent for name in files for f in root.glob(f"*/*/*/*/{name}")}
    runs = []
    for path in sorted(found):
        at = RunPaths(path).address()
        if at is None or (dataset and at.dataset != dataset) or (run_name and at.run_name != run_name):
            continue
        runs.append(RunInfo(path, at.dataset, at.label_set, at.model, at.plan, at.fold, status_of(path), at.run_name))
    return runs


# ----------------------------------------------------------------------------- rules


def can_start(path: Path, overwrite: bool = False, *, holding_lock: bool = False) -> str | None:
    """None if a training may start in ``path`` now, else why not (a one-line message).

    ``holding_lock``: asked by the trainer that holds the run's lock (a 'running' status is then one
    left by a dead process). Without ``overwrite``, a run with a completed epoch or a final result
    is kept; a damaged status is kept too."""
    path = Path(path)
    if not holding_lock and is_locked(path):
        return f"{path} is already being trained or evaluated by another process; wait for it or cancel it."
    if overwrite:
        return None
    status = read_status(path, live=False) or {}
    state = status.get("state")
    if state == TaskState.DAMAGED:
        return f"{status['damage']} Or start the run again with --overwrite."
    if state in (TaskState.RUNNING, TaskState.INTERRUPTED) and RunPaths(path).last.exists():
        epoch = status.get("epoch")
        saved = f" (epoch {epoch + 1} saved)" if isinstance(epoch, int) else ""
        return f"{path} holds an interrupted run{saved}; use --resume to continue it or --overwrite to start again."
    if state in (TaskState.DONE, TaskState.EVALUATING) or RunPaths(path).last.exists():
        what = "done" if state == TaskState.EVALUATING else state or "previous"
        return f"{path} already holds a {what} run; use --overwrite to replace it or --resume to continue it."
    return None


def can_resume(path: Path) -> str | None:
    """None if the run may continue from its last.pt now, else why not."""
    path = Path(path)
    if is_locked(path):
        return f"{path} is already being trained or evaluated by another process; wait for it or cancel it."
    if not RunPaths(path).last.exists():
        return f"{path} has no completed epoch to resume from; start it again instead."
    return None


def can_cancel(path: Path) -> str | None:
    """None if the run can be cancelled (queued, starting or training), else why not."""
    state = run_state(path)
    if state in (TaskState.QUEUED, TaskState.STARTING, TaskState.RUNNING):
        return None
    return f"{path} is {state}; only a queued or training run can be cancelled."


def can_delete(path: Path) -> str | None:
    """None if the run's folder may be deleted (no process holds it, none is queued or starting for
    it), else why not."""
    if is_locked(path):
        return f"{path} is training right now; cancel it first."
    state = run_state(path)
    if state in ACTIVE:
        return f"{path} is {state.value}; cancel it first."
    return None


# ----------------------------------------------------------------------------- run files


def clear_for_restart(path: Path) -> None:
    """Remove a previous run's files before a fresh start (call it holding the run's lock). A run
    launched by :mod:`ecgcore.jobs` keeps what the launcher wrote (argv for resume, queue times, pid)."""
    path = Path(path)
    status = read_status(path, live=False) or {}
    launch = {k: status[k] for k in LAUNCH_FIELDS if k in status} if status.get("state") == "starting" else {}
    for name in RunPaths.FILES + ("cancel",):
        if not (launch and name == "status.json"):
            target = path / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target, ignore_errors=True)
            else:
                target.unlink(missing_ok=True)
    if launch:  # replaced atomically: a reader never sees the run without a status
        write_json(RunPaths(path).status, launch | {"updated": time.time()})


def clear_run(path: Path) -> None:
    """Delete a run directory (RunError while a process holds it)."""
    problem = can_delete(path)
    if problem:
        raise RunError(problem)
    shutil.rmtree(path, ignore_errors=True)


def repair_status(path: Path) -> TaskState:
    """Rebuild a damaged status.json from the run's other files (RunError while the run is locked):
    results.json → done with its test metrics; else a last.pt → interrupted (resumable); else the
    status is removed. The checkpoints and results are never touched. Returns the new state."""
    path = Path(path)
    if is_locked(path):
        raise RunError(f"{path} is in use by another process; repair it once that has ended.")
    with RunLock(path):  # no training, evaluation or other repair starts on it meanwhile
        _rebuild_status(path)
    return run_state(path)


def _rebuild_status(path: Path) -> None:
    target = RunPaths(path).status
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    made_up = _status_from_results(path)
    if made_up["state"] == TaskState.DONE:
        write_status(path, **{k: v for k, v in made_up.items() if k != "source"}, repaired=time.time())
    elif RunPaths(path).last.exists():
        write_status(path, state=TaskState.INTERRUPTED.value, repaired=time.time())
