"""One WFDB record: PTB-XL's format constants, reading a record, and the checks every signal passes.

The checks are the one implementation for both the dataset folder reader and the Predict page's
upload reader: :func:`check_header_shape` (the ``.dat`` must have the size its header implies, checked
before reading) and :func:`check_signal` (sampling rate, the 12 leads in order, 10 s, finite values,
not flat).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import wfdb

from ecgcore import wfdb_speed
from ecgcore.errors import DataError

wfdb_speed.install()  # wfdb's header parser without its pandas lookups: ~9x faster record reads (see wfdb_speed)

LEADS: tuple[str, ...] = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")
SAMPLING_RATES: tuple[int, ...] = (100, 500)
DURATION_S = 10
FILENAME_COLUMN = {100: "filename_lr", 500: "filename_hr"}
DEMO_MARKER = "ECGCORE_DEMO.txt"  # written by ecgcore.demo into every complete demo dataset
PTBXL_URL = "https://physionet.org/content/ptb-xl/1.0.3/"

# bytes per sample of the uncompressed WFDB signal formats (the FLAC formats 508/516/524 are not checked)
_BYTES_PER_SAMPLE = {
    "8": 1,
    "16": 2,
    "24": 3,
    "32": 4,
    "61": 2,
    "80": 1,
    "160": 2,
    "212": 1.5,
    "310": 4 / 3,
    "311": 4 / 3,
}
UPLOAD_ADVICE = "upload the matching .hea and .dat pair."
FOLDER_ADVICE = "re-download that record, or load with skip_bad."


def check_sampling_rate(sampling_rate: int) -> int:
    """``sampling_rate`` (Hz) if PTB-XL offers it, else :class:`DataError`."""
    if sampling_rate not in SAMPLING_RATES:
        raise DataError(f"sampling rate {sampling_rate} Hz is not offered by PTB-XL; use one of {SAMPLING_RATES}.")
    return sampling_rate


def check_header_shape(
    header: wfdb.Record,
    hea_name: str,
    dat_name: str,
    dat_size: int,
    error: type[Exception] = DataError,
    advice: str = UPLOAD_ADVICE,
) -> None:
    """The header must describe 12 signals of 10 s, and the .dat (``dat_size`` bytes) must have the size
    it implies — a header declaring millions of samples would make wfdb allocate them, and a .dat of
    another record (a 500 Hz file under the 100 Hz name, a text file renamed .dat) would otherwise be
    read silently as far as it goes. Raises ``error`` naming the files; ``advice`` says what to do."""
    n_sig = int(header.n_sig or 0)
    if n_sig != len(LEADS):
        raise error(f"{hea_name}: {n_sig} signals, expected the 12 standard leads ({', '.join(LEADS)}).")
    expected = DURATION_S * int(header.fs)
    if header.sig_len is not None and int(header.sig_len) != expected:
        raise error(f"{hea_name}: {header.sig_len} samples per lead, expected {expected} (10 s at {header.fs:g} Hz).")
    check_dat_size(header, hea_name, dat_name, dat_size, error, advice)


def check_dat_size(
    header: wfdb.Record,
    hea_name: str,
    dat_name: str,
    dat_size: int,
    error: type[Exception] = DataError,
    advice: str = UPLOAD_ADVICE,
) -> None:
    """The .dat's size (bytes) must be the one the header's signals, length and format imply."""
    fmts = set(header.fmt or [])
    offsets = set(header.byte_offset or [None])
    bytes_per_sample = _BYTES_PER_SAMPLE.get(next(iter(fmts))) if len(fmts) == 1 else None
    if not (bytes_per_sample and offsets <= {None, 0} and header.sig_len is not None):
        return
    n_sig, length = int(header.n_sig or 0), int(header.sig_len)
    size = math.ceil(n_sig * length * bytes_per_sample)
    if not size <= dat_size <= size + 3:  # formats 212/310/311 may pad the last bytes
        raise error(
            f"{dat_name} has {dat_size:,} bytes, but {hea_name} describes {size:,} ({n_sig} leads × {length} samples, "
            f"format {next(iter(fmts))}); it is not that header's signal file — {advice}"
        )


def check_fields(fields: dict, sampling_rate: int, where: str) -> None:
    """Check a record's header fields (``fs``, ``sig_name``, ``sig_len``) against PTB-XL's format."""
    expected = DURATION_S * sampling_rate
    if fields.get("fs") != sampling_rate:
        raise DataError(f"{where}: sampling rate {fields.get('fs')} Hz, expected {sampling_rate} Hz.")
    names = tuple(str(n).upper() for n in fields.get("sig_name") or ())
    if len(names) != len(LEADS):
        raise DataError(f"{where}: {len(names)} leads, expected the 12 standard leads.")
    if names != LEADS:
        raise DataError(f"{where}: leads {', '.join(names)}, expected {', '.join(LEADS)}.")
    if fields.get("sig_len", expected) != expected:
        raise DataError(f"{where}: {fields.get('sig_len')} samples, expected {expected} (truncated or wrong length).")


def check_signal(signal: np.ndarray, fields: dict, sampling_rate: int, where: str) -> np.ndarray:
    """Check a signal read from ``where`` and return it as float32.

    Args:
        signal: (12, T) samples, mV, leads in :data:`LEADS` order, T = 10 * sampling_rate.
        fields: the header fields (``fs``, ``sig_name``, ``sig_len``) as wfdb returns them.

    Raises DataError for a wrong rate, lead set or length, NaN/infinite samples, or no signal (every
    lead constant, e.g. all zero)."""
    check_fields(fields, sampling_rate, where)
    expected = DURATION_S * sampling_rate
    if signal.ndim != 2 or signal.shape[1] != expected:
        raise DataError(f"{where}: {signal.shape[-1]} samples, expected {expected} (truncated or wrong length).")
    if not np.isfinite(signal).all():
        raise DataError(f"{where}: NaN or infinite samples (missing or corrupt values); it is not a usable recording.")
    check_not_flat(signal, where)
    return signal.astype(np.float32)


def check_not_flat(signal: np.ndarray, where: str, error: type[Exception] = DataError) -> None:
    """``error`` when every lead of ``signal: (12, T)`` is constant (all zero, say): no recorded ECG."""
    if signal.size and (signal.max(axis=1) == signal.min(axis=1)).all():
        raise error(f"{where}: no signal (every lead is flat, e.g. all zero); it is not a recorded ECG.")


def check_own_files(header: wfdb.Record, path: Path) -> None:
    """The header ``path``.hea must name its own record and signal file (``<name>`` and ``<name>.dat``):
    one naming another record's .dat would make wfdb read that record's samples under this record's
    row. Raises DataError naming the record and the file."""
    name = path.name
    if header.record_name is not None and str(header.record_name) != name:
        raise DataError(f"{path}.hea describes record {header.record_name!r}, not {name!r}; {FOLDER_ADVICE}")
    others = sorted({str(f) for f in header.file_name or []} - {f"{name}.dat"})
    if others:
        raise DataError(
            f"{path}.hea reads its samples from {', '.join(others)}, not {name}.dat (another record's file); "
            f"{FOLDER_ADVICE}"
        )


def read_record(path: str | os.PathLike, sampling_rate: int = 100) -> np.ndarray:
    """Read one WFDB record (path without extension) and check it; the .dat's size is checked against
    its header before the samples are read.

    Returns:
        (12, 10 * sampling_rate) float32, mV, leads in :data:`LEADS` order.
    """
    path = Path(path)
    hea, dat = path.with_suffix(".hea"), path.with_suffix(".dat")
    for file in (hea, dat):
        if not file.is_file():
            raise DataError(f"{file} is missing; re-download that record or load with skip_bad.")
    try:
        header = wfdb.rdheader(str(path))
        if isinstance(header, wfdb.Record):
            check_fields(header.__dict__, sampling_rate, str(path))
            check_own_files(header, path)
            check_dat_size(header, str(hea), str(dat), dat.stat().st_size, DataError, FOLDER_ADVICE)
        signal, fields = wfdb.rdsamp(str(path))
    except DataError:
        raise
    except Exception as e:  # wfdb raises many types for corrupt files
        raise DataError(
            f"{path}.hea/.dat cannot be read ({e.__class__.__name__}: {e}); re-download that record."
        ) from e
    return check_signal(signal.T, fields, sampling_rate, str(path))
