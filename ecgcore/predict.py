"""Predictions from a checkpoint: for a whole folder of records (``python -m ecgcore predict``) and
for one uploaded record (WFDB .hea + .dat, or a CSV of 12 leads) in the app.

The checkpoint carries everything needed (normalisation, label names, sampling rate, image transform),
so a user folder needs only ``ptbxl_database.csv`` with ``ecg_id`` and ``filename_lr``/``filename_hr``
plus the records; labels are optional. Uploads are untrusted: they are written under fresh names in a
temporary folder, a header may only name its own uploaded .dat, and every check raises
:class:`UploadError` with what to fix.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from scipy.signal import resample_poly

from ecgcore.checkpoints import load_checkpoint
from ecgcore.data import DURATION_S, LEADS, SAMPLING_RATES, ECGDataset, check_signal, load_ptbxl
from ecgcore.errors import DataError, UploadError
from ecgcore.inference import predict_proba
from ecgcore.records import UPLOAD_ADVICE, check_header_shape

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # a 12-lead 10 s record at 500 Hz in format 16 is 120 kB


def predict_folder(
    checkpoint: str | os.PathLike, root: str | os.PathLike, skip_bad: bool = False, device: str = "auto"
) -> tuple[pd.DataFrame, ECGDataset]:
    """Probabilities for every record of a dataset folder.

    Returns:
        table with columns ecg_id, <label 1>, …, <label C> (probabilities), and the dataset read.
    """
    model, meta = load_checkpoint(checkpoint)
    ds = load_ptbxl(root, meta["sampling_rate"], meta["label_set"], skip_bad=skip_bad, require_labels=False)
    probs = predict_proba(model, ds.signals, device)
    table = pd.DataFrame(probs, columns=meta["label_names"])
    table.insert(0, "ecg_id", ds.records["ecg_id"].to_numpy())
    return table, ds


def resample_to(signal: np.ndarray, fs: int, target_fs: int) -> np.ndarray:
    """(12, T) at fs → (12, 10 * target_fs) at target_fs (polyphase resampling)."""
    if fs == target_fs:
        return signal
    return resample_poly(signal, target_fs, fs, axis=1).astype(np.float32)


_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def read_uploaded_wfdb(files: dict[str, bytes]) -> tuple[np.ndarray, int]:
    """Read an uploaded WFDB record from {file name: content} (exactly one .hea and one .dat).

    Returns:
        (12, T) float32 in mV and the sampling rate in Hz.
    """
    heas = [n for n in files if n.lower().endswith(".hea")]
    dats = [n for n in files if n.lower().endswith(".dat")]
    if len(heas) != 1 or len(dats) != 1:
        raise UploadError(f"upload one .hea and its .dat together (got {len(heas)} .hea and {len(dats)} .dat files).")
    hea_name, dat_name = Path(heas[0]).name, Path(dats[0]).name
    for name in (hea_name, dat_name):
        if not _SAFE_NAME.match(name):
            raise UploadError(f"file name {name!r} has characters other than letters, digits, '.', '_' and '-'.")
        if not files[heas[0] if name == hea_name else dats[0]]:
            raise UploadError(f"{name} is empty.")
        if len(files[heas[0] if name == hea_name else dats[0]]) > MAX_UPLOAD_BYTES:
            raise UploadError(f"{name} is larger than {MAX_UPLOAD_BYTES // 1024} kB; a 12-lead 10 s record is ≤120 kB.")
    record = hea_name[:-4]
    try:
        header_text = files[heas[0]].decode("ascii")
    except UnicodeDecodeError:
        raise UploadError(f"{hea_name} is not a text WFDB header.") from None
    with tempfile.TemporaryDirectory(prefix="ecgcore-upload-") as tmp:
        (Path(tmp) / f"{record}.hea").write_text(header_text)
        try:
            header = wfdb.rdheader(str(Path(tmp) / record))
        except Exception as e:
            raise UploadError(f"{hea_name} is not a valid WFDB header ({e.__class__.__name__}: {e}).") from None
        if not isinstance(header, wfdb.Record):  # a multi-segment header names other records, not signal files
            raise UploadError(f"{hea_name} is a multi-segment WFDB header; upload a single 10 s record (.hea + .dat).")
        named = set(header.file_name or [])
        if any(Path(n).name != n or n.startswith(".") for n in named):
            raise UploadError(f"{hea_name} points at files outside the upload ({', '.join(sorted(named))}); refused.")
        if named != {dat_name}:
            raise UploadError(
                f"{hea_name} describes {', '.join(sorted(named)) or 'no signal file'}, but {dat_name} was uploaded; upload the matching pair."
            )
        if header.fs not in SAMPLING_RATES:
            raise UploadError(f"{hea_name}: sampling rate {header.fs} Hz; PTB-XL records are 100 or 500 Hz.")
        _check_header_shape(header, hea_name, dat_name, len(files[dats[0]]))  # before reading: no huge allocations
        (Path(tmp) / dat_name).write_bytes(files[dats[0]])
        try:
            signal, fields = wfdb.rdsamp(str(Path(tmp) / record))
        except Exception as e:
            raise UploadError(f"{dat_name} does not match {hea_name} ({e.__class__.__name__}: {e}).") from None
    fs = int(fields["fs"])
    try:
        return check_signal(signal.T, fields, fs, dat_name), fs
    except DataError as e:
        raise UploadError(str(e)) from None


def _check_header_shape(header: wfdb.Record, hea_name: str, dat_name: str, dat_size: int) -> None:
    """The upload's header must describe 12 leads × 10 s and its .dat have the size that implies (the one
    implementation: :func:`ecgcore.records.check_header_shape`)."""
    check_header_shape(header, hea_name, dat_name, dat_size, UploadError, UPLOAD_ADVICE)


def read_uploaded_csv(content: bytes) -> tuple[np.ndarray, int]:
    """Read a CSV of 12 leads: one column per lead (optionally a header row with the lead names),
    one row per sample, in mV; 1,000 rows (100 Hz) or 5,000 rows (500 Hz) for 10 s.

    Returns:
        (12, T) float32 in mV and the sampling rate in Hz.
    """
    if not content.strip():
        raise UploadError("the CSV file is empty.")
    if len(content) > 8 * MAX_UPLOAD_BYTES:
        raise UploadError("the CSV file is too large for one 10 s record.")
    text = content.decode("utf-8", errors="replace")
    first = text.lstrip().splitlines()[0]
    has_header = any(c.isalpha() for c in first.replace("e-", "").replace("E-", "").replace("e+", ""))
    try:
        table = pd.read_csv(io.StringIO(text), header=0 if has_header else None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise UploadError(f"the CSV cannot be parsed ({e}).") from None
    if table.shape[1] != len(LEADS):
        raise UploadError(f"the CSV has {table.shape[1]} columns; it needs 12, one per lead ({', '.join(LEADS)}).")
    values = table.apply(pd.to_numeric, errors="coerce")
    if values.isna().to_numpy().any():
        row, col = np.argwhere(values.isna().to_numpy())[0]
        raise UploadError(
            f"the CSV has a non-numeric or empty cell (row {row + 1}, column {col + 1}); only numbers in mV are allowed."
        )
    fs = {DURATION_S * r: r for r in SAMPLING_RATES}.get(len(values))
    if fs is None:
        raise UploadError(f"the CSV has {len(values)} rows; 10 s need 1000 (100 Hz) or 5000 (500 Hz).")
    signal = values.to_numpy(dtype=np.float32).T
    if not np.isfinite(signal).all():
        raise UploadError("the CSV has infinite values.")
    return signal, fs
