"""PTB-XL downloads in the background, for the app: :func:`start_download` starts
``python -m ecgcore download …`` as a detached process (its own session, like training runs), which
survives app reruns, page switches and app restarts; :func:`download_status` reads its progress.json
(``$ECGCORE_CACHE_DIR/downloads/<folder>-<hash>/``) for a page to poll; :func:`cancel_download` stops it.
A download started from the CLI shows here alike, since every download writes the same file."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path

from ecgcore.background import is_locked, pid_alive, spawn_detached, stop_process
from ecgcore.download import (
    DEFAULT_VERSION,
    DownloadStatus,
    _read_json,
    default_out,
    lock_path,
    status_dir,
)
from ecgcore.errors import DownloadError
from ecgcore.fileio import write_json


def download_argv(
    out: str | os.PathLike,
    version: str = DEFAULT_VERSION,
    sampling_rate: str = "100",
    base_url: str | None = None,
    verify: bool = True,
    from_zip: str | os.PathLike | None = None,
) -> list[str]:
    """The ``python -m ecgcore download …`` arguments (after ``ecgcore``) of these choices."""
    argv = ["download", "--out", str(out), "--version", version, "--sampling_rate", str(sampling_rate)]
    argv += ["--base_url", base_url] if base_url else []
    argv += [] if verify else ["--no_verify"]
    return argv + (["--from_zip", str(from_zip)] if from_zip else [])


def start_download(
    out: str | os.PathLike | None = None,
    version: str = DEFAULT_VERSION,
    sampling_rate: str = "100",
    base_url: str | None = None,
    verify: bool = True,
    from_zip: str | os.PathLike | None = None,
) -> DownloadStatus:
    """Start ``python -m ecgcore download …`` as a detached process (its own session, so it outlives
    app reruns and the app itself); its output goes to ``download.log`` beside progress.json.
    Raises DownloadError if a download into ``out`` is already queued or running."""
    out = (Path(out).expanduser() if out else default_out(version)).resolve()
    now = download_status(out)
    if now and now.state in ("queued", "running"):
        raise DownloadError(f"a download into {out} is already {now.state}; wait for it or cancel it.")
    sdir = status_dir(out)
    sdir.mkdir(parents=True, exist_ok=True)
    (sdir / "pid").unlink(missing_ok=True)
    t = time.time()
    write_json(sdir / "progress.json", asdict(DownloadStatus(state="queued", out=str(out), started=t, updated=t)))
    argv = ["ecgcore", *download_argv(out, version, sampling_rate, base_url, verify, from_zip)]
    pid = spawn_detached(argv, sdir / "download.log")
    (sdir / "pid").write_text(str(pid))
    return download_status(out) or DownloadStatus(state="queued", out=str(out), pid=pid)


def download_status(out: str | os.PathLike | None = None, version: str = DEFAULT_VERSION) -> DownloadStatus | None:
    """The state of the download into ``out`` (None if none was ever started there): from
    progress.json, corrected by whether its process still holds the lock."""
    out = Path(out).expanduser() if out else default_out(version)
    sdir = status_dir(out)
    data = _read_json(sdir / "progress.json")
    if not data:
        return None
    known = DownloadStatus.__dataclass_fields__
    status = DownloadStatus(**{k: v for k, v in data.items() if k in known})
    if status.state not in ("queued", "running") or is_locked(lock_path(out)):
        return status
    pid_file = sdir / "pid"
    pid = int(pid_file.read_text() or 0) if pid_file.is_file() else status.pid
    if status.state == "queued" and pid_alive(pid):
        return status  # started, not yet running
    if status.state == "running" and pid_alive(status.pid):
        return status  # between the lock's release and the final write
    status.state = "failed"
    status.message = (
        f"the download process stopped before it finished ({_last_line(sdir / 'download.log')}); start it "
        "again to continue — verified files are kept."
    )
    return status


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "killed?"
    return lines[-1][-200:] if lines else "killed?"


def cancel_download(out: str | os.PathLike | None = None, version: str = DEFAULT_VERSION, grace_s: float = 10.0) -> str:
    """Stop the download into ``out`` (SIGTERM to its process group; it stops after the chunks in
    flight and keeps what is verified, partial files resume next time). Returns the state after."""
    out = Path(out).expanduser() if out else default_out(version)
    status = download_status(out)
    if status is None or status.state not in ("queued", "running"):
        return status.state if status else "none"
    pid_file = status_dir(out) / "pid"
    pid = status.pid if status.state == "running" else (int(pid_file.read_text() or 0) if pid_file.is_file() else None)
    stop_process(pid, grace_s)  # it stops after the chunks in flight and keeps what is verified
    now = download_status(out)
    if now is None or now.state == "failed":  # killed before it could write its own final state
        now = now or DownloadStatus(out=str(out))
        now.state, now.message = "cancelled", "cancelled; run it again to continue"
        write_json(status_dir(out) / "progress.json", asdict(now))
    return now.state
