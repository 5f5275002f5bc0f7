"""The one reader of a single uploaded record (layer 3): a WFDB pair (.hea + .dat) or a CSV of 12 leads.

Used by the Predict page (bytes from the browser) and by ``python -m ecgcore predict --input FILE``
(:func:`read_record_file`), so both apply exactly the same checks and conversions. Uploads are untrusted:
WFDB files are written under their checked names in a fresh temporary folder, a header may only name its
own uploaded .dat, sizes are checked before anything is allocated, and every refusal raises
:class:`UploadError` with what to fix (never a suggestion to use ``--skip_bad``: that is for folders).

What the reader assumed or converted is returned as plain-English ``notes`` that the page and the CLI
print: the unit (from the WFDB header, else from the amplitude), a lead reordering, a missing CSV
header, a dropped time column, a semicolon separator, the sampling rate a CSV's row count implies.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb
from scipy.signal import resample_poly

from ecgcore.errors import DataError, UploadError
from ecgcore.records import DURATION_S, LEADS, SAMPLING_RATES, check_header_shape, check_not_flat, check_signal

MAX_UPLOAD_BYTES = 2 * 1024 * 1024  # a 12-lead 10 s record at 500 Hz in format 16 is 120 kB
MAX_CSV_BYTES = 8 * MAX_UPLOAD_BYTES
UPLOAD_TYPES = ("hea", "dat", "csv")

# Units from the amplitude. Statistic: the 99th percentile of |x| over all leads and samples (robust to
# a few spikes). Measured on the 1,803 real PTB-XL records at ../shared/ptbxl (100 Hz, all in mV): min
# 0.346, 0.1st percentile 0.395, median 0.879, 99.9th percentile 4.15, max 4.22 mV (max |x| ≤ 11.1 mV).
# So mV is accepted from 0.05 to 25 (7× below the smallest, 6× above the largest record seen); the same
# band ×1000 is µV and ÷1000 is V, both converted with a note. The gaps between the bands (25–50 and
# 0.025–0.05) and anything outside them are ambiguous or not an ECG and are refused, naming the value.
MV_BAND = (0.05, 25.0)
UNIT_SCALE = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}  # factor to mV


@dataclass
class UploadedRecord:
    """One uploaded record.

    signal: (12, T) float32, mV, leads in :data:`ecgcore.data.LEADS` order; fs: Hz; name: the record's
    name (file stem); notes: what was assumed or converted, one sentence each."""

    signal: np.ndarray
    fs: int
    name: str
    notes: list[str] = field(default_factory=list)


def read_record_upload(files: Sequence[tuple[str, bytes]]) -> UploadedRecord:
    """Read what a user uploaded: one CSV of 12 leads, or a WFDB record (its .hea and .dat together).

    Args:
        files: (file name, content) pairs as uploaded.
    Returns:
        the record in mV at its own sampling rate, with notes. Raises UploadError with what to fix.
    """
    if not files:
        raise UploadError("upload a WFDB record (its .hea and .dat together) or a CSV of 12 leads.")
    names = [Path(n).name for n, _ in files]
    exts = [n.rsplit(".", 1)[-1].lower() if "." in n else "" for n in names]
    bad = [n for n, e in zip(names, exts) if e not in UPLOAD_TYPES]
    if bad:
        raise UploadError(f"{', '.join(bad)}: only .hea + .dat (WFDB) or .csv files can be read.")
    if "csv" in exts:
        if len(files) != 1:
            raise UploadError("upload one CSV file alone (12 columns, one per lead), or a .hea + .dat pair.")
        signal, fs, notes = _read_csv(files[0][1])
        name = Path(names[0]).stem
    else:
        signal, fs, notes = _read_wfdb({n: b for n, (_, b) in zip(names, files)})
        name = next(n for n in names if n.lower().endswith(".hea"))[:-4]
    check_not_flat(signal, name, UploadError)
    signal, unit_note = _to_millivolts(signal)
    return UploadedRecord(signal, fs, name, notes + ([unit_note] if unit_note else []))


def read_record_file(path: str | os.PathLike) -> UploadedRecord:
    """:func:`read_record_upload` for a file on disk: a ``.csv``, or a ``.hea`` (or ``.dat``) with the
    other file of the pair beside it under the same name."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".hea", ".dat"):
        raise UploadError(f"{path}: give a .csv of 12 leads, or a WFDB .hea with its .dat beside it.")
    paths = [path] if suffix == ".csv" else [path.with_suffix(".hea"), path.with_suffix(".dat")]
    files = []
    for p in paths:
        if not p.exists():
            raise UploadError(f"{p} does not exist" + ("." if p == path else f"; it must lie beside {path.name}."))
        if not p.is_file():
            raise UploadError(f"{p} is not a file.")
        limit = MAX_CSV_BYTES if suffix == ".csv" else MAX_UPLOAD_BYTES
        if p.stat().st_size > limit:
            raise UploadError(f"{p} is larger than {limit // 1024} kB; a 12-lead 10 s record is far smaller.")
        try:
            files.append((p.name, p.read_bytes()))
        except OSError as e:
            raise UploadError(f"{p} cannot be read ({e.strerror or e}).") from None
    return read_record_upload(files)


def resample_to(signal: np.ndarray, fs: int, target_fs: int) -> np.ndarray:
    """(12, T) at fs → (12, T * target_fs / fs) at target_fs (polyphase resampling); float32."""
    if fs == target_fs:
        return signal
    return resample_poly(signal, target_fs, fs, axis=1).astype(np.float32)


def at_rate(record: UploadedRecord, target_fs: int) -> UploadedRecord:
    """The record at the checkpoint's sampling rate ``target_fs`` (Hz), with a note when resampled."""
    if record.fs == target_fs:
        return record
    signal = resample_to(np.asarray(record.signal, dtype=np.float32), int(record.fs), int(target_fs))
    note = f"resampled from {record.fs} Hz to {target_fs} Hz, the checkpoint's sampling rate."
    return replace(record, signal=signal, fs=int(target_fs), notes=[*record.notes, note])


def signal_csv(signal: np.ndarray) -> bytes:
    """A (12, T) mV signal as the CSV this reader reads: a header of lead names, one row per sample."""
    table = pd.DataFrame(np.asarray(signal, dtype=np.float32).T, columns=list(LEADS))
    return table.to_csv(index=False, float_format="%.4f").encode()


# ----------------------------------------------------------------------------- units and flat records


def _to_millivolts(signal: np.ndarray) -> tuple[np.ndarray, str | None]:
    """The signal in mV, judged from its amplitude (see :data:`MV_BAND`), and a note when converted."""
    p99 = float(np.percentile(np.abs(signal), 99))
    lo, hi = MV_BAND
    if lo <= p99 <= hi:
        return signal, None
    for unit, factor in (("µV", 1e-3), ("V", 1e3)):
        if lo / factor <= p99 <= hi / factor:
            how = "divided by 1000" if factor < 1 else "multiplied by 1000"
            note = f"values looked like {unit} (99th percentile of |x| = {p99:,.4g}); {how} to get mV."
            return (signal * np.float32(factor)).astype(np.float32), note
    raise UploadError(
        f"the amplitude does not look like an ECG in mV, µV or V (99th percentile of |x| = {p99:.4g}; "
        f"in mV a 12-lead ECG is about {lo}–{hi:g}). Save the record in mV and upload it again."
    )


# ----------------------------------------------------------------------------- lead names


def _lead_key(name: str) -> str:
    """'Lead aVR', 'AVR', 'avr', ' v1 ' → 'avr', 'v1' (case, spaces, punctuation and 'lead' ignored)."""
    key = re.sub(r"[^a-z0-9]", "", str(name).lower())
    return key[4:] if key.startswith("lead") and len(key) > 4 else key


_LEAD_INDEX = {lead.lower(): i for i, lead in enumerate(LEADS)}
_TIME_KEYS = {"time", "times", "t", "timems", "ms", "sec", "seconds", "sample", "samples", "index", "idx", "unnamed0"}


def _lead_order(names: Sequence[str], what: str) -> tuple[list[int], list[int]]:
    """For column names, (the column of each standard lead in LEADS order, the time columns to drop).

    Raises UploadError naming missing, repeated and (the first few) unknown leads."""
    keys = [_lead_key(n) for n in names]
    time_cols = [i for i, k in enumerate(keys) if k in _TIME_KEYS]
    unknown = [str(names[i]) for i, k in enumerate(keys) if k not in _LEAD_INDEX and i not in time_cols]
    seen = [k for k in keys if k in _LEAD_INDEX]
    repeated = {LEADS[_LEAD_INDEX[k]]: seen.count(k) for k in seen if seen.count(k) > 1}
    missing = [lead for lead in LEADS if lead.lower() not in seen]
    times = {2: "twice", 3: "three times"}
    problems = (
        [f"lead {lead} appears {times.get(n, f'{n} times')}" for lead, n in sorted(repeated.items())]
        + ([f"missing {', '.join(missing)}"] if missing else [])
        + ([f"unknown {_some(unknown)}"] if unknown else [])
    )
    if problems:
        raise UploadError(f"{what} must name each of the 12 leads once ({', '.join(LEADS)}): {'; '.join(problems)}.")
    return [keys.index(lead.lower()) for lead in LEADS], time_cols


def _some(names: Sequence[str], shown: int = 4) -> str:
    """The first ``shown`` names quoted, and how many more: a file with 5,000 columns gives one line."""
    listed = ", ".join(repr(n[:20]) for n in names[:shown])
    return listed + (f" and {len(names) - shown:,} more" if len(names) > shown else "")


def _order_note(order: list[int], names: Sequence[str]) -> str | None:
    """The note for a file whose leads are not in the standard order, naming the file's own order."""
    if order == sorted(order):
        return None
    in_file = [str(names[i]).strip() for i in sorted(order)]
    return (
        f"the file has the leads in the order {', '.join(in_file)}; reordered to the standard order {', '.join(LEADS)}."
    )


# ----------------------------------------------------------------------------- CSV


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# what a binary file renamed .csv starts with, what it is, and what to do
_MAGIC = (
    (b"\x1f\x8b", "a gzip file", "unpack it and upload the CSV inside"),
    (b"PK\x03\x04", "a zip file (an Excel .xlsx is one)", "unpack it, or save the sheet as CSV"),
    (b"\xd0\xcf\x11\xe0", "an Office file (an Excel .xls)", "save the sheet as CSV"),
    (b"0       ", "an EDF recording", "export it as a CSV of 12 leads, or as a WFDB .hea + .dat pair"),
    (b"\xffBIOSEMI", "a BDF recording", "export it as a CSV of 12 leads, or as a WFDB .hea + .dat pair"),
    (b"%PDF", "a PDF", "export the signal itself as a CSV of 12 leads"),
    (b"\x89PNG", "a PNG image", "a picture of an ECG cannot be read; export the signal as a CSV"),
)


def _decode(content: bytes) -> tuple[str, list[str]]:
    """The text of CSV bytes (UTF-8, or UTF-16 with or without its byte-order mark) and notes; a binary
    file (gzip, zip/xlsx, EDF, …) is refused saying what it is."""
    for magic, kind, todo in _MAGIC:
        if content.startswith(magic):
            raise UploadError(f"this is {kind}, not a CSV; {todo}.")
    head = content[:4096]
    encoding = None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(head) >= 8 and head[1::2].count(0) > 0.9 * len(head[1::2]) and 0 not in head[0::2]:
        encoding = "utf-16-le"
    elif len(head) >= 8 and head[0::2].count(0) > 0.9 * len(head[0::2]) and 0 not in head[1::2]:
        encoding = "utf-16-be"
    if encoding:
        try:
            return content.decode(encoding), ["the file is UTF-16 text; read as such."]
        except UnicodeDecodeError:
            raise UploadError("this looks like UTF-16 text but cannot be decoded; save it as UTF-8 CSV.") from None
    if 0 in head:
        raise UploadError("this is a binary file, not a CSV text file; upload a CSV of 12 leads (one column per lead).")
    return content.decode("utf-8-sig", errors="replace"), []


def _csv_table(content: bytes) -> tuple[pd.DataFrame, bool, list[str]]:
    """Parse CSV bytes: (table, has header, notes). Comma, semicolon or tab separated; the header's own
    names are kept (a repeated lead stays visible as such); a transposed file (12 rows of leads) is
    turned around with a note."""
    text, notes = _decode(content)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = lines[0]
    sep, decimal = ",", "."
    if ";" in first:  # a comma-separated file has no semicolons; a semicolon one may have decimal commas
        sep = ";"
        decimal = "," if any("," in ln for ln in lines[:50]) else "."
        notes.append(
            "the CSV is semicolon-separated; read with ';' between columns"
            + (" and ',' as the decimal mark." if decimal == "," else ".")
        )
    elif "\t" in first and "," not in first:
        sep = "\t"
        notes.append("the CSV is tab-separated; read with tabs between columns.")
    if len(lines) in (len(LEADS), len(LEADS) + 1) and first.count(sep) >= 99:
        return _transposed(text, sep, decimal, notes)
    has_header = not all(_is_number(c.strip().strip('"').replace(decimal, ".")) for c in first.split(sep))
    try:
        table = pd.read_csv(io.StringIO(text), header=0 if has_header else None, sep=sep, decimal=decimal)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        hint = "" if sep != "," or ";" not in text else " The file has semicolons: is it semicolon-separated?"
        raise UploadError(f"the CSV cannot be parsed ({str(e).strip()}).{hint}") from None
    if has_header:
        names = [n.strip() for n in next(csv.reader([first], delimiter=sep))]
        if len(names) == table.shape[1]:  # pandas renames a repeated "V1" to "V1.1"; the file's names count
            table.columns = [n or f"Unnamed: {i}" for i, n in enumerate(names)]
    return table, has_header, notes


def _transposed(text: str, sep: str, decimal: str, notes: list[str]) -> tuple[pd.DataFrame, bool, list[str]]:
    """A CSV with one row per lead (12 rows, optionally a first row over the samples, optionally a first
    column of lead names), turned into one column per lead."""
    raw = pd.read_csv(io.StringIO(text), header=None, sep=sep, dtype=str, keep_default_na=False)
    raw = raw.apply(lambda c: c.str.strip())
    if len(raw) == len(LEADS) + 1:  # a header row over the samples (sample numbers or times)
        raw = raw.iloc[1:]
    has_header = not all(_is_number(str(v).replace(decimal, ".")) for v in raw.iloc[:, 0])
    names = list(raw.iloc[:, 0]) if has_header else list(range(len(LEADS)))
    table = (raw.iloc[:, 1:] if has_header else raw).T.reset_index(drop=True)
    if decimal == ",":
        table = table.apply(lambda c: c.str.replace(",", ".", regex=False))
    table.columns = names
    notes.append(
        f"the CSV looks transposed ({len(LEADS)} rows of leads, {len(table):,} samples each); "
        "read one row per lead (one column per lead is expected)."
    )
    return table, has_header, notes


def _unnamed_columns(table: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Leave out columns without a name in the header (a spreadsheet's empty or index columns), with a note."""
    unnamed = [i for i, c in enumerate(table.columns) if str(c).startswith("Unnamed:")]
    if not unnamed:
        return table
    where = ", ".join(str(i + 1) for i in unnamed[:4]) + (f" and {len(unnamed) - 4} more" if len(unnamed) > 4 else "")
    notes.append(f"column {where} has no name in the header (a spreadsheet's extra column); left out.")
    return table.drop(columns=table.columns[unnamed])


def _read_csv(content: bytes) -> tuple[np.ndarray, int, list[str]]:
    """A CSV of 12 leads: one column per lead (a header row naming them, in any order, or no header for
    the standard order; a time column is dropped), one row per sample; 1,000 rows (100 Hz) or 5,000
    rows (500 Hz) for 10 s. Returns ((12, T) float32 as written, fs in Hz, notes)."""
    if not content.strip():
        raise UploadError("the CSV file is empty.")
    if len(content) > MAX_CSV_BYTES:
        raise UploadError("the CSV file is too large for one 10 s record.")
    table, has_header, notes = _csv_table(content)
    columns = list(range(len(LEADS)))  # the file's column of each lead
    if has_header:
        table = _unnamed_columns(table, notes)
        order, time_cols = _lead_order(
            list(table.columns),
            f"the CSV header ({table.shape[1]} columns, one per lead expected)",
        )
        if time_cols:
            notes.append(
                f"column {', '.join(repr(str(table.columns[i])) for i in time_cols)} read as time and left out."
            )
        reorder_note = _order_note(order, list(table.columns))
        notes += [reorder_note] if reorder_note else []
        table, columns = table.iloc[:, order], order
    elif table.shape[1] != len(LEADS):
        raise UploadError(
            f"the CSV has {table.shape[1]} columns and no header; it needs 12, one per lead — or a header row "
            f"naming the leads ({', '.join(LEADS)})."
        )
    else:
        notes.append(f"no header: columns read as {', '.join(LEADS)}.")
    if len(table) == 0:
        raise UploadError("the CSV has no data rows; it needs one row per sample (1000 rows for 10 s at 100 Hz).")
    values = table.apply(pd.to_numeric, errors="coerce")
    if values.isna().to_numpy().any():
        row, col = np.argwhere(values.isna().to_numpy())[0]
        raise UploadError(
            f"the CSV has a non-numeric or empty cell (row {row + 1}, column {columns[col] + 1}) in lead {LEADS[col]}; "
            "only numbers are allowed."
        )
    fs = {DURATION_S * r: r for r in SAMPLING_RATES}.get(len(values))
    if fs is None:
        raise UploadError(f"the CSV has {len(values)} rows; 10 s need 1000 (100 Hz) or 5000 (500 Hz).")
    notes.append(f"a CSV has no sampling rate: its {len(values)} rows were read as 10 s at {fs} Hz.")
    signal = values.to_numpy(dtype=np.float32).T
    if not np.isfinite(signal).all():
        raise UploadError("the CSV has infinite values (or values too large for float32).")
    _refuse_counts(signal)
    return np.ascontiguousarray(signal), fs, notes


COUNTS_RANGE = 50  # whole-number samples spanning this much are counts: an ECG in mV spans ~1–10


def _refuse_counts(signal: np.ndarray) -> None:
    """Refuse whole-number samples with a large range: raw ADC counts (or rounded µV), whose scale a CSV
    does not say — read as µV they would be off by the unknown ADC gain (200 adu/mV → 5×)."""
    lo, hi = float(signal.min()), float(signal.max())
    if hi - lo >= COUNTS_RANGE and np.array_equal(signal, np.round(signal)):
        raise UploadError(
            f"the CSV holds whole numbers from {lo:,.0f} to {hi:,.0f}: raw ADC counts, whose scale a CSV does not "
            "give. Save the record in mV (counts ÷ the ADC gain, µV ÷ 1000) or as WFDB (.hea gives the gain)."
        )


# ----------------------------------------------------------------------------- WFDB

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _check_pair(files: dict[str, bytes]) -> tuple[str, str]:
    """Exactly one .hea and one .dat, with safe names and sizes; returns their names."""
    heas = [n for n in files if n.lower().endswith(".hea")]
    dats = [n for n in files if n.lower().endswith(".dat")]
    if len(heas) != 1 or len(dats) != 1:
        raise UploadError(f"upload one .hea and its .dat together (got {len(heas)} .hea and {len(dats)} .dat files).")
    for name in (heas[0], dats[0]):
        if not _SAFE_NAME.match(name):
            raise UploadError(f"file name {name!r} has characters other than letters, digits, '.', '_' and '-'.")
        if not files[name]:
            raise UploadError(f"{name} is empty.")
        if len(files[name]) > MAX_UPLOAD_BYTES:
            raise UploadError(f"{name} is larger than {MAX_UPLOAD_BYTES // 1024} kB; a 12-lead 10 s record is ≤120 kB.")
    return heas[0], dats[0]


def _read_header(folder: Path, hea_name: str, dat_name: str, content: bytes, dat_size: int) -> wfdb.Record:
    """Write and parse the header in ``folder``; it must describe 12 leads × 10 s in exactly ``dat_name``."""
    try:
        header_text = content.decode("ascii")
    except UnicodeDecodeError:
        raise UploadError(f"{hea_name} is not a text WFDB header.") from None
    (folder / hea_name).write_text(header_text)
    try:
        header = wfdb.rdheader(str(folder / hea_name[:-4]))
    except Exception as e:
        raise UploadError(f"{hea_name} is not a valid WFDB header ({e.__class__.__name__}: {e}).") from None
    if not isinstance(header, wfdb.Record):  # a multi-segment header names other records, not signal files
        raise UploadError(f"{hea_name} is a multi-segment WFDB header; upload a single 10 s record (.hea + .dat).")
    named = set(header.file_name or [])
    if any(Path(n).name != n or n.startswith(".") for n in named):
        raise UploadError(f"{hea_name} points at files outside the upload ({', '.join(sorted(named))}); refused.")
    if named != {dat_name}:
        raise UploadError(
            f"{hea_name} describes {', '.join(sorted(named)) or 'no signal file'}, but {dat_name} was uploaded; "
            "upload the matching pair."
        )
    if header.fs not in SAMPLING_RATES:
        raise UploadError(f"{hea_name}: sampling rate {header.fs} Hz; PTB-XL records are 100 or 500 Hz.")
    check_header_shape(header, hea_name, dat_name, dat_size, UploadError)  # before reading: no huge allocations
    return header


def _read_wfdb(files: dict[str, bytes]) -> tuple[np.ndarray, int, list[str]]:
    """A WFDB pair → ((12, T) float32 in mV by the header's units, fs in Hz, notes); leads reordered by name."""
    hea_name, dat_name = _check_pair(files)
    with tempfile.TemporaryDirectory(prefix="ecgcore-upload-") as tmp:
        _read_header(Path(tmp), hea_name, dat_name, files[hea_name], len(files[dat_name]))
        (Path(tmp) / dat_name).write_bytes(files[dat_name])
        try:
            signal, fields = wfdb.rdsamp(str(Path(tmp) / hea_name[:-4]))
        except Exception as e:
            raise UploadError(f"{dat_name} does not match {hea_name} ({e.__class__.__name__}: {e}).") from None
    fs = int(fields["fs"])
    signal = signal.T
    if not np.isfinite(signal).all():
        raise UploadError(f"{dat_name}: NaN or infinite samples; upload a complete record.")
    order, _ = _lead_order(list(fields.get("sig_name") or ()), f"{hea_name} must name each of the 12 leads once")
    notes = [n for n in [_order_note(order, fields["sig_name"])] if n]
    signal, unit_note = _header_units(signal[order], [fields["units"][i] for i in order], hea_name)
    notes += [unit_note] if unit_note else []
    try:
        checked = check_signal(signal, fields | {"sig_name": list(LEADS)}, fs, dat_name)
    except DataError as e:
        raise UploadError(str(e)) from None
    return checked, fs, notes


def _header_units(signal: np.ndarray, units: Sequence[str | None], hea_name: str) -> tuple[np.ndarray, str | None]:
    """Convert each lead to mV by the header's unit (mV, uV/µV, V); unknown or missing units are left to
    the amplitude check."""
    keys = [str(u or "").strip().lower() for u in units]
    factors = np.array([UNIT_SCALE.get(k, 1.0) for k in keys], dtype=np.float64)
    if (factors == 1.0).all():
        return signal, None
    named = sorted({str(u) for u, k in zip(units, keys) if UNIT_SCALE.get(k, 1.0) != 1.0})
    note = f"{hea_name} gives the units as {', '.join(named)}; converted to mV."
    return (signal * factors[:, None]).astype(np.float32), note
