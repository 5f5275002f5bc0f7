"""Reading PTB-XL (PhysioNet layout) with wfdb, the signal cache, and the dataset object.

A PTB-XL folder holds ``ptbxl_database.csv`` (one row per record), ``scp_statements.csv`` and the
WFDB records ``records100/…/NNNNN_lr`` (100 Hz) and ``records500/…/NNNNN_hr`` (500 Hz), 12 leads ×
10 s in mV. :func:`load_ptbxl` returns an :class:`ECGDataset`.

The first load reads every record once (both cores) and stores the signals as one ``.npy`` file under
``$ECGCORE_CACHE_DIR`` (default ``~/.cache/ecgcore``); later loads memory-map it. The cache key covers
the csv files and every record file's path, size and mtime, so a changed dataset is detected and the
cache rebuilt. Every problem a user can cause raises :class:`DataError` naming the file and what to do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import multiprocessing
import os
import re
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

from ecgcore.errors import DataError
from ecgcore.labels import LabelError, check_label_set, derive_labels, parse_scp_codes

LEADS: tuple[str, ...] = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")
SAMPLING_RATES: tuple[int, ...] = (100, 500)
DURATION_S = 10
FILENAME_COLUMN = {100: "filename_lr", 500: "filename_hr"}
DEMO_MARKER = "ECGCORE_DEMO.txt"  # written by ecgcore.demo into every demo dataset
PTBXL_URL = "https://physionet.org/content/ptb-xl/1.0.3/"

Progress = Callable[[int, int], None]  # progress(done, total)


@dataclass
class SkippedRecord:
    ecg_id: int
    path: str
    reason: str


@dataclass
class ECGDataset:
    """A loaded dataset.

    Attributes:
        signals: (N, 12, T) float32, mV, leads in :data:`LEADS` order; memory-mapped from the cache.
        labels: (N, C) uint8 multi-hot in ``label_names`` order (all zero: no label in the set).
        label_names: the C label names.
        records: N rows in signal order: ecg_id, patient_id, age, sex, strat_fold, report,
            scp_codes (dict), filename, has_label.
        sampling_rate: Hz (100 or 500); T = 10 * sampling_rate.
        label_set: the label set name.
        name: ``demo`` or ``<folder>-<fingerprint>``; used for run directories.
        root: the dataset folder.
        is_demo: True for a synthetic demo dataset.
        fingerprint: short hash of ptbxl_database.csv.
        skipped: records left out by ``skip_bad=True``.
    """

    signals: np.ndarray
    labels: np.ndarray
    label_names: tuple[str, ...]
    records: pd.DataFrame
    sampling_rate: int
    label_set: str
    name: str
    root: Path
    is_demo: bool
    fingerprint: str
    skipped: list[SkippedRecord] = field(default_factory=list)

    @property
    def labelled(self) -> np.ndarray:
        """Indices of records with at least one label (the ones used for training/evaluation)."""
        return np.flatnonzero(self.labels.any(axis=1))

    @property
    def description(self) -> str:
        """One line saying which dataset this is, for every number shown to a user."""
        kind = "synthetic DEMO data" if self.is_demo else "PTB-XL"
        return (
            f"{kind} '{self.name}' ({len(self.records):,} records, "
            f"{self.records['patient_id'].nunique():,} patients, {self.sampling_rate} Hz) at {self.root}"
        )


# ----------------------------------------------------------------------------- locations


def cache_root() -> Path:
    """``$ECGCORE_CACHE_DIR`` or ``~/.cache/ecgcore``."""
    return Path(os.environ.get("ECGCORE_CACHE_DIR") or Path.home() / ".cache" / "ecgcore")


def default_demo_root() -> Path:
    return cache_root() / "demo"


def resolve_data_root(root: str | os.PathLike | None = None, progress: Progress | None = None) -> Path:
    """The dataset folder to use: ``root``, else ``$ECGCORE_DATA_ROOT``, else the default demo
    dataset (generated on first use under ``$ECGCORE_CACHE_DIR/demo``)."""
    chosen = root or os.environ.get("ECGCORE_DATA_ROOT")
    if chosen:
        return Path(chosen).expanduser()
    return ensure_demo_dataset(default_demo_root(), progress=progress)


def ensure_demo_dataset(root: Path, n_records: int = 1000, seed: int = 0, progress: Progress | None = None) -> Path:
    """Create the demo dataset at ``root`` unless it is already complete."""
    if not (root / DEMO_MARKER).exists():
        from ecgcore.demo import make_demo_dataset

        make_demo_dataset(root, n_records=n_records, seed=seed, progress=progress)
    return root


# ----------------------------------------------------------------------------- tables


REQUIRED_COLUMNS = ("ecg_id",)


def read_database(root: str | os.PathLike, sampling_rate: int = 100) -> pd.DataFrame:
    """Read ``ptbxl_database.csv``: one row per record, checked for the columns the reader needs.

    Returns the table with ``scp_codes`` parsed into dicts (empty dict when the column is absent).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"dataset folder {root} does not exist. Point --data_root (or ECGCORE_DATA_ROOT) at a PTB-XL "
            f"folder holding ptbxl_database.csv (download: {PTBXL_URL}), or leave it unset to use the demo data."
        )
    csv = root / "ptbxl_database.csv"
    if not csv.is_file():
        raise DataError(f"{csv} is missing: a PTB-XL folder must hold ptbxl_database.csv (download: {PTBXL_URL}).")
    try:
        table = pd.read_csv(csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(f"{csv} cannot be read as CSV ({e}); re-download it.") from e
    needed = (*REQUIRED_COLUMNS, FILENAME_COLUMN[check_sampling_rate(sampling_rate)])
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DataError(f"{csv} lacks the column(s) {', '.join(missing)}; it is not a PTB-XL database file.")
    if table["ecg_id"].isna().any() or table["ecg_id"].duplicated().any():
        raise DataError(f"{csv}: ecg_id has empty or repeated values; every record needs a unique ecg_id.")
    ids = pd.to_numeric(table["ecg_id"], errors="coerce")
    if ids.isna().any() or (ids % 1 != 0).any():
        bad = table["ecg_id"][ids.isna() | (ids % 1 != 0)].astype(str).tolist()
        raise DataError(
            f"{csv}: ecg_id must be whole numbers, not {', '.join(map(repr, bad[:3]))}; fix or remove those rows."
        )
    file_column = FILENAME_COLUMN[sampling_rate]
    no_file = table[file_column].isna() | (table[file_column].astype(str).str.strip() == "")
    if no_file.any():  # typically the last row of a csv cut short by an interrupted download
        raise DataError(
            f"{csv}: {int(no_file.sum())} row(s) have no {file_column} (e.g. ecg_id {ids[no_file].iloc[0]:g}); "
            "the file may be cut short by an interrupted download — re-download it."
        )

    codes = []
    for ecg_id, text in zip(table["ecg_id"], table.get("scp_codes", [None] * len(table))):
        if text is None or (isinstance(text, float) and np.isnan(text)):
            codes.append({})
            continue
        try:
            codes.append(parse_scp_codes(text))
        except LabelError as e:
            raise DataError(f"{csv}, ecg_id {ecg_id}: {e}. Fix or remove that row.") from e
    table["scp_codes"] = codes
    table["ecg_id"] = ids.astype(int)
    for column in ("patient_id", "age", "sex", "strat_fold"):
        if column not in table.columns:
            table[column] = np.nan
    if table["patient_id"].isna().all():  # user data without patients: each record its own patient
        table["patient_id"] = table["ecg_id"].astype(float)
    if "report" not in table.columns:
        table["report"] = ""
    table["report"] = table["report"].fillna("").astype(str)
    table["filename"] = table[FILENAME_COLUMN[sampling_rate]].astype(str)
    return table.reset_index(drop=True)


def read_statements(root: str | os.PathLike) -> pd.DataFrame:
    """Read ``scp_statements.csv`` indexed by statement code."""
    path = Path(root) / "scp_statements.csv"
    if not path.is_file():
        raise DataError(f"{path} is missing: PTB-XL labels need scp_statements.csv (download: {PTBXL_URL}).")
    statements = pd.read_csv(path, index_col=0)
    missing = [c for c in ("diagnostic", "diagnostic_class", "diagnostic_subclass") if c not in statements.columns]
    if missing:
        raise DataError(f"{path} lacks the column(s) {', '.join(missing)}; re-download scp_statements.csv.")
    return statements


def check_sampling_rate(sampling_rate: int) -> int:
    if sampling_rate not in SAMPLING_RATES:
        raise DataError(f"sampling rate {sampling_rate} Hz is not offered by PTB-XL; use one of {SAMPLING_RATES}.")
    return sampling_rate


# ----------------------------------------------------------------------------- records


def read_record(path: str | os.PathLike, sampling_rate: int = 100) -> np.ndarray:
    """Read one WFDB record (path without extension) and check it.

    Returns:
        (12, 10 * sampling_rate) float32, mV, leads in :data:`LEADS` order.
    """
    path = Path(path)
    for ext in (".hea", ".dat"):
        if not path.with_suffix(ext).is_file():
            raise DataError(f"{path.with_suffix(ext)} is missing; re-download that record or load with skip_bad.")
    try:
        signal, fields = wfdb.rdsamp(str(path))
    except Exception as e:  # wfdb raises many types for corrupt files
        raise DataError(
            f"{path}.hea/.dat cannot be read ({e.__class__.__name__}: {e}); re-download that record."
        ) from e
    return check_signal(signal.T, fields, sampling_rate, str(path))


def check_signal(signal: np.ndarray, fields: dict, sampling_rate: int, where: str) -> np.ndarray:
    """Check a (12, T) signal read from ``where`` against PTB-XL's format; returns float32."""
    expected = DURATION_S * sampling_rate
    if fields.get("fs") != sampling_rate:
        raise DataError(f"{where}: sampling rate {fields.get('fs')} Hz, expected {sampling_rate} Hz.")
    names = tuple(str(n).upper() for n in fields.get("sig_name", ()))
    if len(names) != len(LEADS):
        raise DataError(f"{where}: {len(names)} leads, expected the 12 standard leads.")
    if names != LEADS:
        raise DataError(f"{where}: leads {', '.join(names)}, expected {', '.join(LEADS)}.")
    if signal.shape[1] != expected or fields.get("sig_len", expected) != expected:
        raise DataError(f"{where}: {signal.shape[1]} samples, expected {expected} (truncated or wrong length).")
    if not np.isfinite(signal).all():
        raise DataError(f"{where}: NaN or infinite samples; re-download that record or load with skip_bad.")
    return signal.astype(np.float32)


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
    """Read the records ``filenames[rows]`` into ``out[rows]`` ((N, 12, T)) using all cores.

    Returns {row: error message} for the records that could not be read.
    """
    workers = workers or min(os.cpu_count() or 1, 8)
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
    module, so the workers import that (and then ecgcore.data for the task) instead of the script."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield
        return
    main.__spec__ = importlib.util.find_spec("ecgcore.errors")  # tiny, side-effect free
    try:
        yield
    finally:
        main.__spec__ = None


# ----------------------------------------------------------------------------- cache


def _file_state(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _dir_listing(root: Path, filenames: list[str]) -> dict[str, tuple[int, int, int]]:
    """Sizes, mtimes and ctimes of every file in the folders the records live in (one scandir per folder)."""
    folders = sorted({os.path.dirname(f) for f in filenames})
    states: dict[str, tuple[int, int, int]] = {}
    for folder in folders:
        try:
            with os.scandir(root / folder) as it:
                for entry in it:
                    st = entry.stat()
                    states[f"{folder}/{entry.name}"] = (st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        except FileNotFoundError:
            pass
    return states


def cache_key(root: Path, filenames: list[str], sampling_rate: int) -> str:
    """Hash of the csv files and every record file's path, size, mtime and ctime (not contents). The ctime
    (set by the kernel on every write, never copied) catches a file rewritten with the same size whose
    mtime was restored (``cp -p``, ``rsync -t``, unpacking an archive)."""
    h = hashlib.sha1()
    h.update(f"v1|{root.resolve()}|{sampling_rate}".encode())
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        h.update(f"{name}{_file_state(root / name)}".encode())
    listing = _dir_listing(root, filenames)
    for f in filenames:
        for ext in (".hea", ".dat"):
            h.update(f"{f}{ext}{listing.get(f + ext)}".encode())
    return h.hexdigest()[:16]


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
    errors: dict[int, str]
    cached = _read_cache(npy, meta, (len(filenames), len(LEADS), DURATION_S * sampling_rate))
    if cached is not None:
        signals, errors = cached
    else:
        missing = [
            i for i, f in enumerate(filenames) if not (root / f"{f}.hea").is_file() or not (root / f"{f}.dat").is_file()
        ]
        if missing and not skip_bad:
            raise _missing_error(root, filenames, missing, sampling_rate)
        npy.parent.mkdir(parents=True, exist_ok=True)
        tmp = npy.with_suffix(f".tmp{uuid.uuid4().hex}.npy")  # unique across pods sharing a volume
        T = DURATION_S * sampling_rate
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(len(filenames), len(LEADS), T))
        skip = set(missing)
        todo = [i for i in range(len(filenames)) if i not in skip]
        errors = {i: f"{root / filenames[i]}.hea/.dat missing" for i in missing}
        errors |= read_all_records(root, filenames, todo, sampling_rate, out, progress)
        out.flush()
        del out
        if errors and not skip_bad:
            tmp.unlink(missing_ok=True)
            raise DataError(_bad_records_message(errors))
        os.replace(tmp, npy)
        for old in npy.parent.glob(f"{prefix}-*"):  # stale caches of this folder
            if old.stem != npy.stem and ".tmp" not in old.name:
                old.unlink(missing_ok=True)
        tmp_meta = meta.with_suffix(f".tmp{uuid.uuid4().hex}")
        tmp_meta.write_text(json.dumps({"root": str(root.resolve()), "errors": errors}))
        os.replace(tmp_meta, meta)
        signals = np.load(npy, mmap_mode="r")
    if errors and not skip_bad:
        raise DataError(_bad_records_message(errors))
    return signals, errors


def _read_cache(npy: Path, meta: Path, shape: tuple[int, ...]) -> tuple[np.ndarray, dict[int, str]] | None:
    """The cached signals and errors, or None when absent or unusable (truncated, corrupt, other shape):
    then the cache is rebuilt — a damaged cache file is never used and never stops a load."""
    if not (npy.is_file() and meta.is_file()):
        return None
    try:
        errors = {int(k): str(v) for k, v in json.loads(meta.read_text())["errors"].items()}
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


# ----------------------------------------------------------------------------- the one call


def database_fingerprint(root: Path) -> str:
    """Short hash of ptbxl_database.csv: names a dataset independently of where it is mounted."""
    return hashlib.sha1((root / "ptbxl_database.csv").read_bytes()).hexdigest()[:8]


def dataset_name(root: Path, fingerprint: str) -> str:
    """``demo`` for a demo dataset, else ``<folder>-<fingerprint>``."""
    if (root / DEMO_MARKER).exists():
        return "demo"
    folder = re.sub(r"[^A-Za-z0-9_.-]", "_", root.resolve().name) or "data"
    return f"{folder}-{fingerprint}"


def load_ptbxl(
    root: str | os.PathLike | None = None,
    sampling_rate: int = 100,
    label_set: str = "superclass",
    min_likelihood: float | None = None,
    skip_bad: bool = False,
    progress: Progress | None = None,
    require_labels: bool = True,
) -> ECGDataset:
    """Load a PTB-XL-layout dataset (the demo dataset when ``root`` and ECGCORE_DATA_ROOT are unset).

    Args:
        root: dataset folder (ptbxl_database.csv, scp_statements.csv, records100/…).
        sampling_rate: 100 (T=1000) or 500 (T=5000).
        label_set: ``superclass`` | ``subclass`` | ``top<k>`` (see :mod:`ecgcore.labels`).
        min_likelihood: keep scp codes with likelihood >= this (None: all, as the benchmark).
        skip_bad: leave out unreadable/missing records (listed in ``.skipped``) instead of raising.
        progress: called as progress(done, total) while the cache is built.
        require_labels: False for user folders without scp_codes/scp_statements (prediction only).

    Returns:
        ECGDataset with signals (N, 12, 10*sampling_rate) float32 in mV.
    """
    try:
        check_label_set(label_set)
    except LabelError as e:
        raise DataError(str(e)) from e
    root = resolve_data_root(root, progress)
    table = read_database(root, sampling_rate)
    has_codes = bool(table["scp_codes"].map(len).any())
    if require_labels or (root / "scp_statements.csv").is_file():
        statements = read_statements(root)
        labels, names = derive_labels(table["scp_codes"].tolist(), statements, label_set, min_likelihood)
    else:
        labels, names = np.zeros((len(table), 0), np.uint8), ()
    if require_labels and not has_codes:
        raise DataError(f"{root / 'ptbxl_database.csv'} has no scp_codes; training and evaluation need labels.")

    filenames = table["filename"].tolist()
    signals, errors = load_signals(root, filenames, sampling_rate, skip_bad, progress)
    keep = np.array([i for i in range(len(table)) if i not in errors], dtype=np.int64)
    skipped = [SkippedRecord(int(table.at[i, "ecg_id"]), filenames[i], errors[i]) for i in sorted(errors)]
    if len(keep) < len(table):
        signals = signals[keep]  # a copy of the good rows (rare: only with skip_bad)
        table = table.iloc[keep].reset_index(drop=True)
        labels = labels[keep]
    table["has_label"] = labels.any(axis=1) if labels.shape[1] else False
    fingerprint = database_fingerprint(root)
    return ECGDataset(
        signals=signals,
        labels=labels,
        label_names=tuple(names),
        records=table[
            ["ecg_id", "patient_id", "age", "sex", "strat_fold", "report", "scp_codes", "filename", "has_label"]
        ],
        sampling_rate=sampling_rate,
        label_set=label_set,
        name=dataset_name(root, fingerprint),
        root=root,
        is_demo=(root / DEMO_MARKER).exists(),
        fingerprint=fingerprint,
        skipped=skipped,
    )
