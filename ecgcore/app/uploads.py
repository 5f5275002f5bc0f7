"""The Predict page's uploads: reading one uploaded record, the example CSV, resampling to the
checkpoint's rate, the probability table and its CSV, and the class explained by default.
No Streamlit import. Signals are (12, T) float32 in mV."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.errors import UploadError


def probability_table(
    probs: np.ndarray, label_names: Sequence[str], thresholds: Sequence[float] | None, true_labels: Sequence[str] = ()
) -> pd.DataFrame:
    """Per class: probability, threshold (chosen on validation), predicted (p ≥ threshold), true."""
    thr = list(thresholds) if thresholds is not None else [0.5] * len(label_names)
    table = pd.DataFrame(
        {
            "class": list(label_names),
            "probability": np.asarray(probs, dtype=float).round(4),
            "threshold": np.asarray(thr, dtype=float).round(4),
        }
    )
    table["predicted"] = table["probability"] >= table["threshold"]
    if true_labels:
        table["true label"] = table["class"].isin(list(true_labels))
    return table


def predictions_csv(table: pd.DataFrame, source: str, checkpoint: str) -> bytes:
    """The prediction table as CSV, with comment lines saying what it is."""
    head = (
        f"# ECG explorer prediction — research and education only, not for diagnosis\n"
        f"# record: {source}\n# checkpoint: {checkpoint}\n"
    )
    return (head + table.to_csv(index=False)).encode()


UPLOAD_TYPES = ("hea", "dat", "csv")


def read_upload(files: Sequence[tuple[str, bytes]]) -> tuple[np.ndarray, int, str]:
    """Read what a user uploaded: one CSV of 12 leads, or a WFDB record (.hea + .dat).

    Returns:
        ((12, T) float32 mV, sampling rate, a name for the record). Raises UploadError with what to fix.
    """
    from ecgcore.predict import read_uploaded_csv, read_uploaded_wfdb

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
        signal, fs = read_uploaded_csv(files[0][1])
        return signal, fs, Path(names[0]).stem
    signal, fs = read_uploaded_wfdb({n: b for n, (_, b) in zip(names, files)})
    return signal, fs, next(n for n in names if n.lower().endswith(".hea"))[:-4]


def signal_csv(signal: np.ndarray) -> bytes:
    """A (12, T) signal as the CSV the Predict page reads: a header of lead names, one row per sample (mV)."""
    from ecgcore.data import LEADS

    table = pd.DataFrame(np.asarray(signal, dtype=np.float32).T, columns=list(LEADS))
    return table.to_csv(index=False, float_format="%.4f").encode()


def prepare_signal(signal: np.ndarray, fs: int, target_fs: int) -> np.ndarray:
    """An uploaded (12, T) signal at the checkpoint's sampling rate (resampled when needed)."""
    from ecgcore.predict import resample_to

    return resample_to(np.asarray(signal, dtype=np.float32), int(fs), int(target_fs))


def saliency_target(probs: np.ndarray, label_names: Sequence[str], true_labels: Sequence[str] = ()) -> int:
    """The class to explain by default: the most probable true label, else the most probable class."""
    probs = np.asarray(probs, dtype=float)
    true_idx = [i for i, n in enumerate(label_names) if n in set(true_labels)]
    if true_idx:
        return max(true_idx, key=lambda i: probs[i])
    return int(np.argmax(probs)) if len(probs) else 0
