"""Background processes (layer 1): the one way the library starts a detached ``python -m …`` — a
training run (:mod:`ecgcore.jobs`), a PTB-XL download (:mod:`ecgcore.download_jobs`), a class summary
(:mod:`ecgcore.class_summary`) — and tells whether a process is still alive.

A detached process has its own session (``start_new_session=True``): it survives app reruns, page
switches and the app's own restart, and a SIGTERM to its process group ends it and its workers. Its
output goes to a log file. Its state lives on disk, written by the process itself, so any process (the
app, the CLI, a pod) can follow it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
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
