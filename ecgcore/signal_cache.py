"""The signal cache: every record of a dataset read once (all cores) into one memory-mapped ``.npy``.

The cache lives under ``$ECGCORE_CACHE_DIR/signals`` (default ``~/.cache/ecgcore``). Its key covers the
two csv files and the size, mtime and ctime of every record file named in the csv (one ``stat`` per
file, so nothing else in the folders — a dangling symlink, an editor's lock file — can hide a changed
record). A record file that is a symlink must resolve inside the dataset folder; a symlink loop or a
file where a folder should be is a :class:`DataError`.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.util
import multiprocessing
import os
import shutil
import stat
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ecgcore.errors import DataError, StorageError
from ecgcore.fileio import make_folder, read_json_file, remove_quietly, storage_errors, write_json
from ecgcore.records import DURATION_S, LEADS, SAMPLING_RATES, check_sampling_rate, read_record

Progress = Callable[[int, int], None]  # progress(done, total)
RECORD_EXTENSIONS = (".hea", ".dat")


def cache_root() -> Path:
    """``$ECGCORE_CACHE_DIR`` or ``~/.cache/ecgcore``."""
    return Path(os.environ.get("ECGCORE_CACHE_DIR") or Path.home() / ".cache" / "ecgcore")


# ----------------------------------------------------------------------------- reading


# Reading a record takes ~0.6 ms (wfdb, with ecgcore.wfdb_speed); starting spawned workers costs
# more than that saves on small sets (each imports numpy, pandas and wfdb). Measured on 2 cores
# (bench/read_records.py): 1,000 demo records in 0.6 s in this process, 0.9 s with 2 workers; a
# 500 Hz record takes ~1.1 ms, so at 500 Hz the limit is a fifth (scaled by the samples read).
SERIAL_BELOW = 2000


def _read_chunk(args: tuple[list[str], int]) -> list[np.ndarray | str]:
    """Worker: read a chunk of records; a failure becomes its message (kept for skip_bad)."""
    paths, sampling_rate = args
    out: list[np.ndarray | str] = []
    for p in paths:
        try:
            out.append(read_record(p, sampling_rate))
        except DataError as e:
            out.append(str(e))
    return out


def read_all_records(
    root: Path,
    filenames: list[str],
    rows: list[int],
    sampling_rate: int,
    out: np.ndarray,
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict[int, str]:
    """Read the records ``filenames[rows]`` into ``out[rows]`` ((N, 12, T) float32, mV); ``workers``
    processes (default: this process below :data:`SERIAL_BELOW` records at 100 Hz, a fifth of that at
    500 Hz; else one per core, at most 8).

    Returns {row: error message} for the records that could not be read.
    """
    if workers is None:  # SERIAL_BELOW records of 100 Hz: at 500 Hz a fifth of that
        workers = 1 if len(rows) * sampling_rate < SERIAL_BELOW * 100 else min(os.cpu_count() or 1, 8)
    chunk = 64
    starts = range(0, len(rows), chunk)
    jobs = [([str(root / filenames[i]) for i in rows[s : s + chunk]], sampling_rate) for s in starts]
    errors: dict[int, str] = {}
    if progress:
        progress(0, len(rows))

    def take(start: int, results: list) -> None:
        for j, r in enumerate(results):
            if isinstance(r, str):
                errors[rows[start + j]] = r
            else:
                out[rows[start + j]] = r
        if progress:
            progress(min(start + chunk, len(rows)), len(rows))

    if workers <= 1 or len(rows) <= chunk:
        for start, job in zip(starts, jobs):
            take(start, _read_chunk(job))
    else:
        # spawn, not fork: the app calls this from a threaded server, where fork can deadlock
        with (
            _workers_import_this_module(),
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool,
        ):
            for start, results in zip(starts, pool.map(_read_chunk, jobs)):
                take(start, results)
    return errors


@contextmanager
def _workers_import_this_module():
    """A spawned worker first re-imports the parent's ``__main__``: by module name when it has a
    spec (``python -m …``), else by running its file again. Under ``streamlit run`` (and AppTest)
    ``__main__`` is the app script, which would load the dataset again inside every worker and break
    the pool. While the pool starts, a spec-less ``__main__`` is given the spec of a tiny ecgcore
    module, so the workers import that (and then this module for the task) instead of the script."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    main.__spec__ = importlib.util.find_spec("ecgcore.errors")  # tiny, side-effect free
    try:
        yield
    finally:
        main.__spec__ = None


# ----------------------------------------------------------------------------- the key


def _file_state(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _record_file_states(root: Path, names: list[str]) -> list[tuple[int, int, int] | None]:
    """(size, mtime, ctime) of each ``root/name`` (one lstat each; string paths: this runs for every
    record file on every load); None where the file does not exist (a partial download).

    Raises DataError for a symlink loop, a file where a folder should be, a folder where a file should be,
    or a symlink leading outside the dataset folder."""
    base, real_root = str(root), os.path.realpath(root)
    states: list[tuple[int, int, int] | None] = []
    for name in names:
        path = f"{base}/{name}"
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            states.append(None)
            continue
        except OSError as e:
            raise _stat_error(path, e) from None
        if not stat.S_ISREG(st.st_mode):
            st = _follow(path, st, root, real_root)
        states.append(None if st is None else (st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return states


def _follow(path: str, st: os.stat_result, root: Path, real_root: str) -> os.stat_result | None:
    """The stat of a record file that is not a plain file: a symlink inside the dataset folder is
    followed; one leading outside, a loop or a folder is a DataError."""
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{path} is a folder where a record file should be; remove it and re-download that record.")
    if not stat.S_ISLNK(st.st_mode):
        return st
    target = os.path.realpath(path)
    if os.path.commonpath([real_root, target]) != real_root:
        raise DataError(
            f"{path} is a symlink to {target}, outside the dataset folder {root}; copy the file into the folder instead."
        )
    try:
        return _follow(path, os.stat(path), root, real_root) if os.path.isdir(path) else os.stat(path)
    except FileNotFoundError:  # a dangling symlink: the record is missing
        return None
    except OSError as e:
        raise _stat_error(path, e) from None


def _stat_error(path: str, e: OSError) -> DataError:
    if e.errno == errno.ELOOP:
        return DataError(f"{path} is a symlink loop; remove it and re-download that record.")
    if e.errno == errno.ENOTDIR:
        return DataError(
            f"{path}: a part of this path is a file where a folder should be; "
            "fix the folder layout (re-download the records)."
        )
    return DataError(f"{path} cannot be read ({e.strerror}); check its permissions.")


def check_record_folders(root: Path, filenames: list[str]) -> None:
    """Every folder that holds records must lie inside ``root`` once symlinks are resolved."""
    real_root = os.path.realpath(root)
    for folder in sorted({os.path.dirname(f) for f in filenames}):
        target = os.path.realpath(root / folder)
        if os.path.commonpath([real_root, target]) != real_root:
            raise DataError(
                f"{root / folder} leads to {target}, outside the dataset folder {root}; "
                "keep the records inside the folder (no symlinks out)."
            )


def cache_key(root: Path, filenames: list[str], sampling_rate: int) -> str:
    """Hash of the csv files and every record file's path, size, mtime and ctime (not contents). The ctime
    (set by the kernel on every write, never copied) catches a file rewritten with the same size whose
    mtime was restored (``cp -p``, ``rsync -t``, unpacking an archive). Each file named in the csv is
    stat'ed itself, so nothing else in its folder can cut the key short."""
    check_record_folders(root, filenames)
    h = hashlib.sha1()
    h.update(f"v2|{root.resolve()}|{sampling_rate}".encode())
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        h.update(f"{name}{_file_state(root / name)}".encode())
    names = [f + ext for f in filenames for ext in RECORD_EXTENSIONS]
    h.update(repr(list(zip(names, _record_file_states(root, names)))).encode())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------- the cache


def _cache_paths(root: Path, sampling_rate: int, key: str) -> tuple[Path, Path, str]:
    prefix = f"{root.name}-{hashlib.sha1(str(root.resolve()).encode()).hexdigest()[:8]}-{sampling_rate}hz"
    folder = cache_root() / "signals"
    return folder / f"{prefix}-{key}.npy", folder / f"{prefix}-{key}.json", prefix


def load_signals(
    root: Path, filenames: list[str], sampling_rate: int, skip_bad: bool = False, progress: Progress | None = None
) -> tuple[np.ndarray, dict[int, str]]:
    """Signals of ``filenames`` (N, 12, T) float32 mV, memory-mapped from the cache (built if needed).

    Returns the array (rows of skipped records are zero) and {row: reason} of unreadable records.
    Raises DataError listing the unreadable records unless ``skip_bad``.
    """
    check_sampling_rate(sampling_rate)
    key = cache_key(root, filenames, sampling_rate)
    npy, meta, prefix = _cache_paths(root, sampling_rate, key)
    cached = _read_cache(npy, meta, (len(filenames), len(LEADS), DURATION_S * sampling_rate))
    if cached is not None:
        signals, errors = cached
    else:
        signals, errors = _build_cache(root, filenames, sampling_rate, skip_bad, progress, npy, meta, prefix)
    if errors and not skip_bad:
        raise DataError(_bad_records_message(errors))
    return signals, errors


def _build_cache(
    root: Path,
    filenames: list[str],
    sampling_rate: int,
    skip_bad: bool,
    progress: Progress | None,
    npy: Path,
    meta: Path,
    prefix: str,
) -> tuple[np.ndarray, dict[int, str]]:
    """Read every record into a temp ``.npy`` beside ``npy``, then move it into place (readers never see
    a half-written cache), delete this folder's stale caches and write the sidecar ``meta``."""
    missing = [i for i, f in enumerate(filenames) if not all((root / f"{f}{e}").is_file() for e in RECORD_EXTENSIONS)]
    if missing and (not skip_bad or len(missing) == len(filenames)):  # none present: skip_bad leaves nothing
        raise _missing_error(root, filenames, missing, sampling_rate)
    make_folder(npy.parent)
    tmp = npy.with_suffix(f".tmp{uuid.uuid4().hex}.npy")  # unique across pods sharing a volume
    shape = (len(filenames), len(LEADS), DURATION_S * sampling_rate)
    skip = set(missing)
    todo = [i for i in range(len(filenames)) if i not in skip]
    errors = {i: f"{root / filenames[i]}.hea/.dat missing" for i in missing}
    try:
        out = _new_memmap(tmp, npy, shape)
        errors |= read_all_records(root, filenames, todo, sampling_rate, out, progress)
        out.flush()
        del out
        if errors and not skip_bad:
            raise DataError(_bad_records_message(errors))
        os.replace(tmp, npy)
    finally:
        remove_quietly(tmp)
    for old in npy.parent.glob(f"{prefix}-*"):  # stale caches of this folder
        if old.stem != npy.stem and ".tmp" not in old.name:
            old.unlink(missing_ok=True)
    write_json(meta, {"root": str(root.resolve()), "errors": errors})
    return np.load(npy, mmap_mode="r"), errors


def _new_memmap(tmp: Path, npy: Path, shape: tuple[int, ...]) -> np.memmap:
    """A float32 ``.npy`` memmap of ``shape`` at ``tmp``, its blocks allocated on disk first: writing
    into a sparse memmap on a full disk kills the process (SIGBUS), so the space is checked and taken
    before the first sample is written. Raises StorageError (cache path, bytes needed and free) when
    the folder cannot hold it; the caller removes ``tmp``."""
    needed = int(np.prod(shape)) * 4 + 4096  # the samples plus the .npy header (at most a page)
    with storage_errors(npy):
        free = shutil.disk_usage(npy.parent).free
    if free < needed:
        raise _no_room(npy, needed, free)
    with storage_errors(npy):
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=shape)
        size = tmp.stat().st_size
        fd = os.open(tmp, os.O_RDWR)
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # a file system without fallocate: no check
                raise _no_room(npy, size, shutil.disk_usage(npy.parent).free) from e
        finally:
            os.close(fd)
    return out


def _no_room(npy: Path, needed: int, free: int) -> StorageError:
    return StorageError(
        f"cannot write the signal cache {npy}: it needs {needed:,} bytes and {free:,} are free; "
        "set ECGCORE_CACHE_DIR to a folder with more space.",
        errno.ENOSPC,
        str(npy),
    )


def _read_cache(npy: Path, meta: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, dict[int, str]] | None:
    """The cached signals and errors, or None when absent or unusable (truncated, corrupt, other shape):
    then the cache is rebuilt — a damaged cache file is never used and never stops a load."""
    if not (npy.is_file() and meta.is_file()):
        return None
    try:
        errors = {int(k): str(v) for k, v in read_json_file(meta)["errors"].items()}
        signals = np.load(npy, mmap_mode="r")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError):  # json.JSONDecodeError is a ValueError
        return None
    if signals.shape != shape or signals.dtype != np.float32:
        return None
    return signals, errors


def _missing_error(root: Path, filenames: list[str], missing: list[int], sampling_rate: int) -> DataError:
    def absent(f: str) -> str:  # the file that is actually missing (.hea, else .dat)
        return f"{f}.hea" if not (root / f"{f}.hea").is_file() else f"{f}.dat"

    examples = ", ".join(absent(filenames[i]) for i in missing[:5])
    if len(missing) == len(filenames):
        folder = filenames[0].split("/")[0] if "/" in filenames[0] else f"records{sampling_rate}"
        other = next(r for r in SAMPLING_RATES if r != sampling_rate)
        return DataError(
            f"{root / folder} holds none of the {len(filenames)} records' {sampling_rate} Hz files "
            f"(e.g. {examples}): download them with --sampling_rate {sampling_rate}, or use --sampling_rate {other}."
        )
    return DataError(
        f"{len(missing)} of {len(filenames)} records listed in {root / 'ptbxl_database.csv'} have no "
        f"{sampling_rate} Hz files (e.g. {examples}) — a partial download. Download the missing files, "
        f"use the other sampling rate, or load with skip_bad=True (CLI: --skip_bad) to use the "
        f"{len(filenames) - len(missing)} records present."
    )


def _bad_records_message(errors: dict[int, str]) -> str:
    shown = "\n  ".join(list(errors.values())[:5])
    more = f"\n  … and {len(errors) - 5} more" if len(errors) > 5 else ""
    return (
        f"{len(errors)} record(s) cannot be used:\n  {shown}{more}\n"
        "Re-download them, or load with skip_bad=True (CLI: --skip_bad) to leave them out."
    )
