"""Detached work (layer 1): the one mechanism behind trainings (:mod:`ecgcore.jobs`), PTB-XL downloads
(:mod:`ecgcore.download_jobs`) and class summaries (:mod:`ecgcore.class_summary`):

* :class:`TaskState`, the one state enum, stored as its string value in each task's status file;
* :func:`spawn_detached`, the one way to start ``python -m …`` in its own session;
* :class:`FileLock` / :func:`is_locked`, the one file lock (an ``flock`` the kernel releases when the
  holder dies) that a working process holds, so a dead process is seen as such;
* :func:`live_state`, liveness: a status that says a process works, read against the lock and the pid;
* :func:`stop_process`, cancel: SIGTERM to the task's process group, then wait.

A detached process has its own session (``start_new_session=True``): it survives app reruns, page
switches and the app's own restart, and a SIGTERM to its process group ends it and its workers. Its
output goes to a log file. Its state lives on disk, written by the process itself, so any process (the
app, the CLI, a pod) can follow it.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from enum import StrEnum
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class TaskState(StrEnum):
    """The state of detached work; the values are the strings stored in status files (``state == "done"``
    works). A training uses all of them; a download or a class summary never queues, evaluates or is damaged."""

    QUEUED = "queued"
    STARTING = "starting"
    RUNNING = "running"
    EVALUATING = "evaluating"  # a training scores its test part
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # it said running, and its process is gone
    DAMAGED = "damaged"  # its status file cannot be read as a status
    UNKNOWN = "unknown"  # no status file (a run trained through the Python API)


ACTIVE = frozenset({TaskState.QUEUED, TaskState.STARTING, TaskState.RUNNING, TaskState.EVALUATING})
"""States worth polling: a process works on the task (or will)."""
FINAL = frozenset({TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED, TaskState.INTERRUPTED})
"""States a task ends in."""
STARTING_GRACE_S = 60.0  # a task "starting" for longer with no live process has failed to start


class BusyError(Exception):
    """Raised by :meth:`FileLock.acquire` when another process holds the lock."""


class FileLock:
    """An exclusive, non-blocking ``flock`` on ``path`` (created if missing), held by the process that
    works on a task; the kernel releases it when that process dies."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self) -> FileLock:
        """Take the lock, or raise :class:`BusyError`; writes the holder's pid into the file."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BusyError(str(self.path)) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(path: str | os.PathLike) -> bool:
    """True while some live process holds the lock file ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def live_state(state: str | None, pid: int | None, locked: bool, since: float | None = None) -> TaskState:
    """A task's state read against its process: "running" with no live process and no lock held is
    :attr:`TaskState.INTERRUPTED`; "starting" whose process is gone (or never came within
    :data:`STARTING_GRACE_S` of ``since``) is :attr:`TaskState.FAILED`; anything else is as stored."""
    state = TaskState(state or TaskState.UNKNOWN)
    alive = locked or pid_alive(pid)
    if state == TaskState.RUNNING and not alive:
        return TaskState.INTERRUPTED
    if state == TaskState.STARTING and not alive:
        waiting = pid is None and since is not None and time.time() - since < STARTING_GRACE_S
        return TaskState.STARTING if waiting else TaskState.FAILED
    return state


def stop_process(pid: int | None, grace_s: float = 10.0) -> bool:
    """Cancel detached work: SIGTERM to the process group of ``pid`` (only to ``pid`` itself when it
    shares this process's group), then wait up to ``grace_s`` for it to end. True when it has ended."""
    if not pid or pid == os.getpid() or not pid_alive(pid):
        return True
    try:
        group = os.getpgid(pid)
        if group == os.getpgrp():
            os.kill(pid, signal.SIGTERM)
        else:
            os.killpg(group, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.time() + grace_s
    while pid_alive(pid) and time.time() < deadline:
        reap()
        time.sleep(0.05)
    return not pid_alive(pid)


_children: dict[int, subprocess.Popen] = {}  # processes started here, reaped by reap()/pid_alive()


def spawn_detached(
    module_argv: list[str], log_path: str | os.PathLike, env: dict[str, str] | None = None, append: bool = False
) -> int:
    """Start ``python -m <module_argv…>`` in its own session, stdout and stderr to ``log_path``, with
    this process's environment updated by ``env`` (a None value removes a variable), the project on
    PYTHONPATH and unbuffered output. Returns the pid."""
    full_env = os.environ | {"PYTHONUNBUFFERED": "1"}
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), full_env.get("PYTHONPATH")]))
    with open(log_path, "ab" if append else "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", *module_argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=full_env,
            cwd=PROJECT_ROOT,
        )
    _children[proc.pid] = proc
    return proc.pid


def reap() -> None:
    """Collect finished child processes started here (so none lingers as a zombie)."""
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def pid_alive(pid: int | None) -> bool:
    """True while process ``pid`` runs (a zombie — finished, not yet reaped — is not alive)."""
    if not pid:
        return False
    if pid in _children:  # our own child: poll() also reaps it
        return _children[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except OSError:
        return True
