"""The Predict page's uploads, as the page and older callers use them; every piece is the library's
(one reader, one table): :func:`ecgcore.uploads.read_record_upload` reads, :mod:`ecgcore.predict`
builds the probability table and its CSV. Which of several uploaded files to read, and the leakage
check, live in :mod:`ecgcore.app.explain`. No Streamlit import. Signals are (12, T) float32 in mV."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecgcore.uploads import UPLOAD_TYPES, read_record_upload, resample_to, signal_csv

__all__ = ["UPLOAD_TYPES", "predictions_csv", "prepare_signal", "probability_table", "read_upload", "signal_csv"]


def read_upload(files: Sequence[tuple[str, bytes]]) -> tuple[np.ndarray, int, str]:
    """:func:`ecgcore.uploads.read_record_upload` as ((12, T) float32 mV, sampling rate, record name);
    UploadError with what to fix. (Its notes — units, lead order, assumptions — are on the record it returns.)"""
    record = read_record_upload(files)
    return record.signal, record.fs, record.name


def prepare_signal(signal: np.ndarray, fs: int, target_fs: int) -> np.ndarray:
    """An uploaded (12, T) signal at the checkpoint's sampling rate (resampled when needed)."""
    return resample_to(np.asarray(signal, dtype=np.float32), int(fs), int(target_fs))


def probability_table(probs, label_names, thresholds, true_labels=()):
    """:func:`ecgcore.predict.probability_table` (imported on use: it loads torch)."""
    from ecgcore.predict import probability_table as table

    return table(probs, label_names, thresholds, true_labels)


def predictions_csv(table, source: str, checkpoint: str, notes: Sequence[str] = ()) -> bytes:
    """:func:`ecgcore.predict.predictions_csv` (imported on use: it loads torch)."""
    from ecgcore.predict import predictions_csv as to_csv

    return to_csv(table, source, checkpoint, notes)
