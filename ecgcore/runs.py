"""The on-disk layout of training runs — shared by the CLI, the app and cluster jobs.

    <runs_root>/<dataset>/<label_set>/<model>/fold<k>/      (plan cv5; other plans: <plan>-fold<k>)
        best.pt  last.pt  progress.jsonl  status.json  train.log  results.json  confusion.png  lock

``runs_root`` is ``$ECGCORE_RUNS_DIR`` (default ``./checkpoints``). The files are the truth: a run's
state is ``status.json`` plus whether its lock is held (an ``flock`` released by the kernel when the
process dies, so a killed run is seen as interrupted, never as running forever).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ecgcore.errors import ResultsError, RunError
from ecgcore.fileio import write_json

STATES = ("queued", "starting", "running", "evaluating", "done", "failed", "cancelled", "interrupted")
FINAL_STATES = ("done", "failed", "cancelled", "interrupted")


def runs_root() -> Path:
    return Path(os.environ.get("ECGCORE_RUNS_DIR") or "checkpoints")


def fold_dirname(plan: str, fold: int) -> str:
    return f"fold{fold}" if plan == "cv5" else f"{plan}-fold{fold}"


def run_dir(dataset: str, label_set: str, model: str, fold: int, plan: str = "cv5", root: Path | None = None) -> Path:
    return (root or runs_root()) / dataset / label_set / model / fold_dirname(plan, fold)


def model_dir(dataset: str, label_set: str, model: str, root: Path | None = None) -> Path:
    return (root or runs_root()) / dataset / label_set / model


class RunLock:
    """Exclusive lock on a run directory (``flock`` on ``<run>/lock``), so that one run at a time
    trains a given (dataset, label set, model, fold) — from the CLI, the app or a cluster pod."""

    def __init__(self, directory: Path):
        self.path = Path(directory) / "lock"
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunError(
                f"{self.path.parent} is already being trained by another process; wait or cancel it."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(directory: Path) -> bool:
    """True while some live process holds the run's lock."""
    path = Path(directory) / "lock"
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def write_status(directory: Path, **fields) -> dict:
    """Merge ``fields`` into status.json (atomically) and return the new status."""
    status = read_status(directory, live=False) or {}
    status |= fields | {"updated": time.time()}
    write_json(Path(directory) / "status.json", status)
    return status


def read_status(directory: Path, live: bool = True) -> dict | None:
    """status.json of a run (None if absent). With ``live``, a 'running' run whose lock is no
    longer held — its process died — is reported as 'interrupted'."""
    path = Path(directory) / "status.json"
    try:
        status = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {"state": "failed", "error": f"{path} is corrupt"}
    if live and status.get("state") == "running" and not is_locked(directory):
        status["state"] = "interrupted"
    return status


def read_events(directory: Path, start: int = 0) -> list[dict]:
    """Events of progress.jsonl from byte offset ``start``; a partial last line is skipped."""
    path = Path(directory) / "progress.jsonl"
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
    except FileNotFoundError:
        return []
    events = []
    for line in data.split(b"\n")[:-1]:  # the text after the last newline may be half written
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


@dataclass
class RunInfo:
    path: Path
    dataset: str
    label_set: str
    model: str
    plan: str
    fold: int
    status: dict

    @property
    def state(self) -> str:
        return self.status.get("state", "unknown")


def list_runs(root: Path | None = None, dataset: str | None = None) -> list[RunInfo]:
    """Every run directory under ``root`` (optionally of one dataset), sorted by path.

    Runs trained through the Python API (``train_fold`` alone writes no status.json) are found by
    their best.pt/results.json; their status is made up from results.json: state 'done' with the
    test metrics, or 'unknown' without results."""
    root = root or runs_root()
    patterns = ("status.json", "best.pt", "results.json")
    found = {f.parent for pattern in patterns for f in root.glob(f"*/*/*/*/{pattern}")}
    runs = []
    for path in sorted(found):
        ds, label_set, model = path.parts[-4:-1]
        plan, _, fold = path.name.rpartition("fold")
        if (dataset and ds != dataset) or not fold.isdigit():
            continue
        status = read_status(path) if (path / "status.json").exists() else _status_from_results(path)
        runs.append(RunInfo(path, ds, label_set, model, plan.rstrip("-") or "cv5", int(fold), status or {}))
    return runs


def _status_from_results(path: Path) -> dict:
    from ecgcore.metrics import read_json  # here, not at the top: metrics imports scikit-learn (seconds)

    status: dict = {"state": "unknown", "source": "no status.json (trained through the Python API?)"}
    try:
        results = read_json(path / "results.json")
    except ResultsError:
        return status
    return status | {
        "state": "done",
        "test_macro_pr_auc": results.get("macro_pr_auc"),
        "test_macro_roc_auc": results.get("macro_roc_auc"),
        "updated": results.get("evaluated"),
    }
