"""Small file helpers (layer 1): the one atomic write of the project, and JSON read/write on top of it.

Every file that another process may read while it is being replaced (status.json, results.json,
checkpoints, PNGs, caches, settings) is written through :func:`atomic_write`: a temp file in the same
folder, fsync, then :func:`os.replace`. A crash or an error during the write leaves the previous file
intact and no temp file behind.

A write the machine refuses (no space left, a read-only or forbidden folder, a file where a folder
should be) becomes one :class:`~ecgcore.errors.StorageError` through :func:`storage_errors`: one line
naming the path and what to do. Every writer here and :func:`make_folder` go through it.
"""

from __future__ import annotations

import errno
import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ecgcore.errors import StorageError

# the folders a user points elsewhere by a setting: (environment variable, default folder)
FOLDER_SETTINGS = (("ECGCORE_RUNS_DIR", "checkpoints"), ("ECGCORE_CACHE_DIR", "~/.cache/ecgcore"))
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_FORBIDDEN = {errno.EACCES, errno.EPERM}
_NOT_A_FOLDER = {errno.ENOTDIR, errno.EEXIST}


def _elsewhere(path: Path) -> str:
    """What to point elsewhere for ``path``: the setting whose folder holds it, else "another folder"."""
    here = os.path.abspath(path)
    for env, default in FOLDER_SETTINGS:
        folder = os.path.abspath(os.path.expanduser(os.environ.get(env) or default))
        if here == folder or here.startswith(folder + os.sep):
            return f"set {env} to a folder with more space" if env == "ECGCORE_CACHE_DIR" else f"point {env} elsewhere"
    return "write to another folder"


def storage_error(path: str | os.PathLike, e: OSError, what: str = "", note: str = "") -> StorageError | None:
    """The one-line :class:`StorageError` for a write to ``path`` that failed with ``e``, or None when
    ``e`` is not a machine fault (no space, read-only, forbidden, a file where a folder should be).

    ``what`` names the file's kind before its path ("checkpoint "); ``note`` ends the line
    ("; the previous best.pt is kept")."""
    path = Path(path)
    where = _elsewhere(path)
    if e.errno in _FULL:
        why, todo = os.strerror(errno.ENOSPC), f"free space or {where}"
    elif e.errno == errno.EROFS:
        why, todo = os.strerror(errno.EROFS), where
    elif e.errno in _FORBIDDEN:
        why, todo = os.strerror(errno.EACCES), f"fix the folder's permissions or {where}"
    elif e.errno in _NOT_A_FOLDER:
        blocker = _file_in_the_way(path)
        why = f"{blocker} is a file where a folder should be" if blocker else "a file stands where a folder should be"
        todo = f"remove or rename that file, or {where}"
    elif e.errno == errno.EISDIR:
        why, todo = "it is a folder", f"remove or rename that folder, or {where}"
    else:
        return None
    return StorageError(f"cannot write {what}{path}: {why}; {todo}{note}.", e.errno, str(path))


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing one of ``path`` and its parents when it is not a folder, else None."""
    for parent in (path, *path.parents):
        if parent.exists() or parent.is_symlink():
            return None if parent.is_dir() else parent
    return None


@contextmanager
def storage_errors(path: str | os.PathLike) -> Iterator[None]:
    """Turn a machine fault (ENOSPC, EROFS, EACCES, ENOTDIR, …) raised inside into a
    :class:`StorageError` for ``path`` (see :func:`storage_error`); other errors pass unchanged."""
    try:
        yield
    except StorageError:
        raise
    except OSError as e:
        translated = storage_error(path, e)
        if translated is None:
            raise
        raise translated from e


def remove_quietly(path: str | os.PathLike) -> None:
    """Remove a temp file if it is there; a refusal (a read-only folder where it was never created) is
    ignored, so the error that led here is the one reported."""
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        pass


def make_folder(path: str | os.PathLike) -> Path:
    """Create the folder ``path`` (and its parents) if missing; a refusal is a :class:`StorageError`."""
    path = Path(path)
    with storage_errors(path):
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(path))
        path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path`` for writing; on a clean exit it replaces ``path`` atomically.

    ``mode`` is "wb" or "w". The folder is created if missing. On any error the temp file is removed
    and ``path`` is left as it was; a machine fault is a :class:`StorageError` naming ``path``."""
    path = Path(path)
    make_folder(path.parent)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with storage_errors(path):
            with open(tmp, mode) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "wb") as f:
        f.write(data)


def write_with(path: str | os.PathLike, writer: Callable[[IO[bytes]], None]) -> None:
    """Atomically write ``path`` with ``writer(binary_file)`` (e.g. ``torch.save``, ``fig.savefig``)."""
    with atomic_write(path, "wb") as f:
        writer(f)


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON atomically. A value that is not JSON-able raises and keeps the old file."""
    text = json.dumps(data, indent=1)  # serialise first: a TypeError leaves no temp file at all
    with atomic_write(path, "w") as f:
        f.write(text)


def read_json_file(path: str | os.PathLike) -> Any:
    """Parse a JSON file. Raises FileNotFoundError, IsADirectoryError/PermissionError (OSError) or
    ValueError (not JSON, not UTF-8); callers turn these into their own one-line errors."""
    return json.loads(Path(path).read_text())
