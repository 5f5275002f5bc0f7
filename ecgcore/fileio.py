"""Small file helpers (layer 1): the one atomic write of the project, and JSON read/write on top of it.

Every file that another process may read while it is being replaced (status.json, results.json,
checkpoints, PNGs, caches, settings) is written through :func:`atomic_write`: a temp file in the same
folder, fsync, then :func:`os.replace`. A crash or an error during the write leaves the previous file
intact and no temp file behind.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temp file beside ``path`` for writing; on a clean exit it replaces ``path`` atomically.

    ``mode`` is "wb" or "w". The folder is created if missing. On any error the temp file is removed
    and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
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
