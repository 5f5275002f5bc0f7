"""Reading a PTB-XL-layout folder (PhysioNet layout) into the dataset object.

A PTB-XL folder holds ``ptbxl_database.csv`` (one row per record), ``scp_statements.csv`` and the
WFDB records ``records100/…/NNNNN_lr`` (100 Hz) and ``records500/…/NNNNN_hr`` (500 Hz), 12 leads ×
10 s in mV. :func:`load_ptbxl` returns an :class:`ECGDataset`.

This module reads the folder it is given; it never decides which folder that is. "No folder given"
means the demo set only to :mod:`ecgcore.sources` (``ecgcore.load_ptbxl``), which generates it. One
record is read and checked by :mod:`ecgcore.records`; the signals are cached by
:mod:`ecgcore.signal_cache`. Every problem a user can cause raises :class:`DataError` naming the file
(and the rows) and what to do.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.errors import DataError, FoldError, LabelError
from ecgcore.folds import check_strat_folds, fold_note
from ecgcore.labels import check_label_set, derive_labels, parse_scp_codes
from ecgcore.records import (
    DEMO_MARKER,
    FILENAME_COLUMN,
    PTBXL_URL,
    check_sampling_rate,
)
from ecgcore.signal_cache import (
    Progress,
    load_signals,
)

INT64_MAX = np.iinfo(np.int64).max
REQUIRED_COLUMNS = ("ecg_id",)


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
        fold_note: empty, or why the folds are not PTB-XL's own strat folds (no ``strat_fold``
            column: patient-grouped pseudo folds); pages and the CLI show it beside fold numbers.
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
    fold_note: str = ""

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


# ----------------------------------------------------------------------------- tables


def _rows(table: pd.DataFrame, mask, n: int = 3) -> str:
    """'ecg_id 4, 7, 9 (and 12 more)' for the rows of ``mask``: how a message names rows."""
    ids = table.loc[np.asarray(mask, bool), "ecg_id"].astype(str).tolist()
    more = f" (and {len(ids) - n} more)" if len(ids) > n else ""
    return f"ecg_id {', '.join(ids[:n])}{more}"


def check_folder(root: Path, what: str = "dataset folder") -> Path:
    """``root`` if it is an existing folder; else a DataError saying 'does not exist' or 'not a folder'."""
    if root.is_dir():
        return root
    if root.exists():
        raise DataError(
            f"{what} {root} is not a folder (it is a file). Point --data_root (or ECGCORE_DATA_ROOT) at the "
            "PTB-XL folder that holds ptbxl_database.csv, not at a file in it."
        )
    raise DataError(
        f"{what} {root} does not exist. Point --data_root (or ECGCORE_DATA_ROOT) at a PTB-XL "
        f"folder holding ptbxl_database.csv (download: {PTBXL_URL}), or leave it unset to use the demo data."
    )


def _semicolons(path: Path) -> DataError | None:
    """The error for a csv whose header is separated by ';' (a spreadsheet's export), else None."""
    try:
        with open(path, "rb") as f:
            header = f.readline(65536)
    except OSError:
        return None
    if header.count(b";") <= header.count(b","):
        return None
    return DataError(
        f"{path} is separated by ';', not ','; PTB-XL's csv files are comma-separated — save it with "
        "commas (e.g. pandas to_csv, or 'CSV (comma delimited)') and load again."
    )


def _read_csv(path: Path, what: str, **kwargs) -> pd.DataFrame:
    """``pd.read_csv`` with every way a csv can be unreadable turned into a one-line DataError."""
    try:
        table = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty; re-download {what}.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        if (hint := _semicolons(path)) is not None:
            raise hint from None
        first = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise DataError(f"{path} cannot be read as CSV ({first}); re-download {what}.") from None
    except OSError as e:
        raise DataError(f"{path} cannot be read ({e.strerror or e}); check that it is a readable file.") from None
    if len(table) == 0:
        raise DataError(f"{path} has a header but no data rows; re-download {what}.")
    return table


def _check_columns(table: pd.DataFrame, csv: Path, needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in table.columns]
    if not missing:
        return
    if (hint := _semicolons(csv)) is not None:
        raise hint
    raise DataError(f"{csv} lacks the column(s) {', '.join(missing)}; it is not a PTB-XL database file.")


def _check_ecg_ids(table: pd.DataFrame, csv: Path) -> pd.Series:
    """ecg_id as int64: present, unique, whole numbers that fit in int64."""
    if table["ecg_id"].isna().any():
        raise DataError(f"{csv}: ecg_id has empty or repeated values; every record needs a unique ecg_id.")
    ids = pd.to_numeric(table["ecg_id"], errors="coerce").astype(float)
    bad = ids.isna() | (ids % 1 != 0)
    if bad.any():
        shown = table["ecg_id"][bad].astype(str).tolist()
        raise DataError(
            f"{csv}: ecg_id must be whole numbers, not {', '.join(map(repr, shown[:3]))}; fix or remove those rows."
        )
    big = ids.abs() >= 2.0**63
    if big.any():
        shown = table["ecg_id"][big].astype(str).tolist()
        raise DataError(
            f"{csv}: ecg_id {', '.join(shown[:3])} is too large (more than {INT64_MAX}); fix or remove those rows."
        )
    ints = pd.to_numeric(table["ecg_id"], errors="coerce")
    ints = ints.astype(np.int64) if ints.dtype.kind in "iu" else ids.astype(np.int64)
    if ints.duplicated().any():
        raise DataError(f"{csv}: ecg_id has empty or repeated values; every record needs a unique ecg_id.")
    return ints


def _unsafe_paths(names: pd.Series) -> pd.Series:
    """True for each record path that is absolute (``/x``, ``\\x``, ``C:x``) or climbs out of the dataset
    folder (a ``..`` part); vectorised, as it runs on every load."""
    absolute = names.str.match(r"^([/\\]|[A-Za-z]:)")
    climbs = names.str.contains(r"(?:^|[/\\])\.\.(?:[/\\]|$)")
    return absolute | climbs


def _check_filenames(table: pd.DataFrame, csv: Path, column: str) -> None:
    """Every record has a relative path inside the dataset folder in ``column``."""
    names = table[column].astype(str).str.strip()
    no_file = table[column].isna() | (names == "")
    if no_file.any():  # typically the last row of a csv cut short by an interrupted download
        raise DataError(
            f"{csv}: {int(no_file.sum())} row(s) have no {column} (e.g. {_rows(table, no_file, 1)}); "
            "the file may be cut short by an interrupted download — re-download it."
        )
    unsafe = _unsafe_paths(names)
    if unsafe.any():
        raise DataError(
            f"{csv}: {column} of {_rows(table, unsafe)} points outside the dataset folder "
            f"({names[unsafe].iloc[0]!r}); record paths must be relative, inside the folder "
            "(e.g. records100/00000/00001_lr). Fix those rows."
        )


def _parse_codes(table: pd.DataFrame, csv: Path) -> list[dict[str, float]]:
    """Each row's scp_codes as a dict (each distinct cell parsed once: PTB-XL's cells repeat a lot)."""
    codes, parsed = [], {}
    for ecg_id, text in zip(table["ecg_id"], table.get("scp_codes", [None] * len(table))):
        if text is None or (isinstance(text, float) and np.isnan(text)):
            codes.append({})
            continue
        if text not in parsed:
            try:
                parsed[text] = parse_scp_codes(text)
            except LabelError as e:
                raise DataError(f"{csv}, ecg_id {ecg_id}: {e}. Fix or remove that row.") from e
        codes.append(dict(parsed[text]))
    return codes


def _check_patients_and_folds(table: pd.DataFrame, csv: Path) -> None:
    """strat_fold: whole numbers 1–10 in every row, or no values at all (then patient-grouped folds need
    a patient_id in every row, or in none: each record its own patient)."""
    try:
        table["strat_fold"] = check_strat_folds(table["strat_fold"], table["ecg_id"])
    except FoldError as e:
        raise DataError(f"{csv}: {e}") from None
    if table["patient_id"].isna().all():  # user data without patients: each record its own patient
        table["patient_id"] = table["ecg_id"].astype(float)
    no_patient = table["patient_id"].isna()
    if no_patient.any() and table["strat_fold"].isna().all():
        raise DataError(
            f"{csv}: patient_id is empty in {_rows(table, no_patient)}, and there is no strat_fold column to "
            "build patient-disjoint folds without it; fill in those patient ids (or add strat_fold)."
        )


def read_database(root: str | os.PathLike, sampling_rate: int = 100) -> pd.DataFrame:
    """Read ``ptbxl_database.csv``: one row per record, checked for the columns the reader needs.

    Returns the table with ``scp_codes`` parsed into dicts (empty dict when the column is absent),
    ``ecg_id`` int64, ``strat_fold`` int64 (NaN everywhere when the csv has none) and ``filename``.
    """
    root = check_folder(Path(root))
    csv = root / "ptbxl_database.csv"
    if not csv.is_file():
        kind = "a folder" if csv.is_dir() else "missing"
        raise DataError(f"{csv} is {kind}: a PTB-XL folder must hold ptbxl_database.csv (download: {PTBXL_URL}).")
    table = _read_csv(csv, "ptbxl_database.csv")
    file_column = FILENAME_COLUMN[check_sampling_rate(sampling_rate)]
    _check_columns(table, csv, (*REQUIRED_COLUMNS, file_column))
    table["ecg_id"] = _check_ecg_ids(table, csv)
    _check_filenames(table, csv, file_column)
    table["scp_codes"] = _parse_codes(table, csv)
    for column in ("patient_id", "age", "sex", "strat_fold"):
        if column not in table.columns:
            table[column] = np.nan
    _check_patients_and_folds(table, csv)
    if "report" not in table.columns:
        table["report"] = ""
    table["report"] = table["report"].fillna("").astype(str)
    table["filename"] = table[file_column].astype(str).str.strip()
    return table.reset_index(drop=True)


def read_statements(root: str | os.PathLike) -> pd.DataFrame:
    """Read ``scp_statements.csv`` indexed by statement code."""
    path = Path(root) / "scp_statements.csv"
    if not path.is_file():
        raise DataError(f"{path} is missing: PTB-XL labels need scp_statements.csv (download: {PTBXL_URL}).")
    statements = _read_csv(path, "scp_statements.csv", index_col=0)
    missing = [c for c in ("diagnostic", "diagnostic_class", "diagnostic_subclass") if c not in statements.columns]
    if missing:
        raise DataError(f"{path} lacks the column(s) {', '.join(missing)}; re-download scp_statements.csv.")
    return statements


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


def _labels(
    root: Path, table: pd.DataFrame, label_set: str, min_likelihood: float | None, require_labels: bool
) -> tuple[np.ndarray, tuple[str, ...]]:
    """(N, C) uint8 multi-hot labels and their names; none (C = 0) for a folder without labels."""
    if require_labels or (root / "scp_statements.csv").is_file():
        statements = read_statements(root)
        labels, names = derive_labels(table["scp_codes"].tolist(), statements, label_set, min_likelihood)
    else:
        labels, names = np.zeros((len(table), 0), np.uint8), ()
    if require_labels and not table["scp_codes"].map(len).any():
        raise DataError(f"{root / 'ptbxl_database.csv'} has no scp_codes; training and evaluation need labels.")
    return labels, tuple(names)


def load_folder(
    root: str | os.PathLike,
    sampling_rate: int = 100,
    label_set: str = "superclass",
    min_likelihood: float | None = None,
    skip_bad: bool = False,
    progress: Progress | None = None,
    require_labels: bool = True,
) -> ECGDataset:
    """Load the PTB-XL-layout dataset in the folder ``root``.

    Args:
        root: dataset folder (ptbxl_database.csv, scp_statements.csv, records100/…). Where no folder is
            given, :func:`ecgcore.sources.load_ptbxl` decides (ECGCORE_DATA_ROOT, else the demo set).
        sampling_rate: 100 (T=1000) or 500 (T=5000).
        label_set: ``superclass`` | ``subclass`` | ``top<k>`` (see :mod:`ecgcore.labels`).
        min_likelihood: keep scp codes with likelihood >= this (None: all, as the benchmark).
        skip_bad: leave out unreadable/missing/flat records (listed in ``.skipped``) instead of raising.
        progress: called as progress(done, total) while the cache is built.
        require_labels: False for user folders without scp_codes/scp_statements (prediction only).

    Returns:
        ECGDataset with signals (N, 12, 10*sampling_rate) float32 in mV.
    """
    try:
        check_label_set(label_set)
    except LabelError as e:
        raise DataError(str(e)) from e
    root = Path(root).expanduser()
    table = read_database(root, sampling_rate)
    labels, names = _labels(root, table, label_set, min_likelihood, require_labels)
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
    columns = ["ecg_id", "patient_id", "age", "sex", "strat_fold", "report", "scp_codes", "filename", "has_label"]
    return ECGDataset(
        signals=signals,
        labels=labels,
        label_names=names,
        records=table[columns],
        sampling_rate=sampling_rate,
        label_set=label_set,
        name=dataset_name(root, fingerprint),
        root=root,
        is_demo=(root / DEMO_MARKER).exists(),
        fingerprint=fingerprint,
        skipped=skipped,
        fold_note=fold_note(table),
    )
