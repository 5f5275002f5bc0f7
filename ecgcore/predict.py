"""Predictions from a checkpoint: for a whole folder of records (``python -m ecgcore predict --data_root``)
and for one uploaded-style record (``predict --input FILE`` and the Predict page).

The checkpoint carries everything needed (normalisation, label names, sampling rate, image transform,
the thresholds chosen on validation), so a user folder needs only ``ptbxl_database.csv`` with ``ecg_id``
and ``filename_lr``/``filename_hr`` plus the records; labels are optional. One record is read by
:func:`ecgcore.uploads.read_record_upload` (the one reader of uploads, with its checks and notes).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ecgcore.checkpoints import load_checkpoint
from ecgcore.data import ECGDataset, load_ptbxl
from ecgcore.ensemble import ensemble_proba, load_fold_models, member_thresholds, seen_in_training
from ecgcore.errors import RunError
from ecgcore.fileio import write_bytes_atomic
from ecgcore.inference import predict_proba
from ecgcore.uploads import MAX_UPLOAD_BYTES, UploadedRecord, at_rate, read_record_file
from ecgcore.uploads import resample_to as resample_to

__all__ = ["MAX_UPLOAD_BYTES", "check_output_file", "predict_folder", "predict_record", "resample_to"]


# ----------------------------------------------------------------------------- predictions


PREDICTION_HEADS = (b"# ECG explorer prediction", b"ecg_id,")  # how a predictions CSV of ours starts


def check_output_file(path: str | os.PathLike, keep: Sequence[str | os.PathLike] = ()) -> Path:
    """Check, before any work, that a predictions CSV can be written at ``path``: its folder exists
    and is writable, ``path`` is not a folder, not inside one of the ``keep`` folders or one of the
    ``keep`` files (the input record, the dataset, the checkpoints), and an existing file there is a
    predictions CSV written earlier (anything else would be lost). Raises RunError with what to do."""
    path = Path(path)
    _check_not_overwriting(path, keep)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise RunError(f"--out {path} is a folder; give a file name, e.g. {path / 'predictions.csv'}.")
    if not parent.exists():
        raise RunError(f"--out {path}: folder {parent} does not exist; create it first or choose another place.")
    if not parent.is_dir():
        raise RunError(f"--out {path}: {parent} is not a folder.")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".ecgcore-write-test-"):
            pass
    except OSError as e:
        raise RunError(f"--out {path}: cannot write in {parent} ({e.strerror or e}); choose another place.") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise RunError(f"--out {path} exists and is not writable; choose another file.")
    return path


Checkpoints = str | os.PathLike | Sequence[str | os.PathLike]


def _members(checkpoints: Checkpoints) -> tuple[list[torch.nn.Module], list[dict]]:
    """The model(s) to predict with: one checkpoint, or several (a fold ensemble, checked to share
    labels and sampling rate by :func:`ecgcore.ensemble.load_fold_models`)."""
    if isinstance(checkpoints, str | os.PathLike):
        model, meta = load_checkpoint(checkpoints)
        return [model], [meta]
    members = load_fold_models(list(checkpoints))
    return [m for m, _ in members], [meta for _, meta in members]


def _proba(models: Sequence[torch.nn.Module], signals: np.ndarray, device: str) -> np.ndarray:
    """(N, C) probabilities of one model, or the mean over a fold ensemble's members."""
    return predict_proba(models[0], signals, device) if len(models) == 1 else ensemble_proba(models, signals, device)[0]


def _check_not_overwriting(path: Path, keep: Sequence[str | os.PathLike]) -> None:
    """RunError when writing ``path`` would replace an input, a checkpoint, a dataset file or any
    file that is not an earlier predictions CSV."""
    target = path.resolve()
    for item in keep:
        item = Path(item).resolve()
        if target == item or (item.is_dir() and item in target.parents):
            raise RunError(f"--out {path} would overwrite {item} (an input of this prediction); choose another file.")
    if target.suffix == ".pt":
        raise RunError(f"--out {path} names a checkpoint file; choose a .csv file.")
    if target.is_file():
        with open(target, "rb") as f:
            head = f.read(64)
        if head and not head.startswith(PREDICTION_HEADS):
            raise RunError(
                f"--out {path} exists and is not a predictions CSV of ecgcore; choose another file (nothing was written)."
            )


def predict_folder(
    checkpoint: Checkpoints, root: str | os.PathLike, skip_bad: bool = False, device: str = "auto"
) -> tuple[pd.DataFrame, ECGDataset, list[str]]:
    """Probabilities for every record of a dataset folder, from one checkpoint or the mean of several
    (a fold ensemble: ``checkpoint`` a list of best.pt paths or run folders).

    Returns:
        table with columns ecg_id, <label 1>, …, <label C> (probabilities); the dataset read; notes for
        the user (records the models saw in training: their probabilities are not estimates on unseen data).
    """
    models, metas = _members(checkpoint)
    meta = metas[0]
    ds = load_ptbxl(root, meta["sampling_rate"], meta["label_set"], skip_bad=skip_bad, require_labels=False)
    probs = _proba(models, ds.signals, device)
    table = pd.DataFrame(probs, columns=meta["label_names"])
    table.insert(0, "ecg_id", ds.records["ecg_id"].to_numpy())
    return table, ds, _seen_notes(seen_in_training(metas, ds), len(table))


def _seen_notes(seen: dict[int, list[int]], n_records: int) -> list[str]:
    if not seen:
        return []
    ids = sorted(seen)
    shown = ", ".join(map(str, ids[:10])) + (f" … ({len(ids) - 10:,} more)" if len(ids) > 10 else "")
    folds = sorted({f for fs in seen.values() for f in fs})
    return [
        f"{len(ids):,} of {n_records:,} records were in the training or validation part of these models "
        f"(fold(s) {', '.join(map(str, folds))}): their probabilities are not estimates on unseen data "
        f"(ecg_id {shown}). Score a model on its own test part with `python -m ecgcore eval`."
    ]


def probability_table(
    probs: np.ndarray, label_names: Sequence[str], thresholds: Sequence[float] | None, true_labels: Sequence[str] = ()
) -> pd.DataFrame:
    """Per class: probability, threshold (chosen on validation), predicted (p ≥ threshold), true.

    Args:
        probs: (C,) probabilities in [0, 1]; thresholds: (C,) or None (0.5 for all).
    """
    thr = list(thresholds) if thresholds is not None else [0.5] * len(label_names)
    table = pd.DataFrame(
        {
            "class": list(label_names),
            "probability": np.asarray(probs, dtype=float).round(4),
            "threshold": np.asarray(thr, dtype=float).round(4),
        }
    )
    table["predicted"] = np.asarray(probs, dtype=float) >= np.asarray(thr, dtype=float)
    if true_labels:
        table["true label"] = table["class"].isin(list(true_labels))
    return table


def predictions_csv(table: pd.DataFrame, source: str, checkpoint: str, notes: Sequence[str] = ()) -> bytes:
    """The prediction table as CSV, with ``#`` comment lines saying what it is and what was assumed."""
    head = (
        f"# ECG explorer prediction — research and education only, not for diagnosis\n"
        f"# record: {source}\n# checkpoint: {checkpoint}\n" + "".join(f"# note: {n}\n" for n in notes)
    )
    return (head + table.to_csv(index=False)).encode()


def predict_record(
    checkpoint: Checkpoints, record: UploadedRecord | str | os.PathLike, device: str = "auto"
) -> tuple[pd.DataFrame, UploadedRecord]:
    """Classify one record (an UploadedRecord, or a .csv / .hea path read by the upload reader) with
    one checkpoint, or with a fold ensemble (a list of checkpoints: mean probability, mean of the
    members' validation thresholds — a heuristic, see :func:`ecgcore.ensemble.ensemble_thresholds`).

    Returns:
        the :func:`probability_table` at the validation thresholds, and the record as classified:
        (12, T) mV at the checkpoint's rate, its notes including any resampling and how many models voted.
    """
    models, metas = _members(checkpoint)
    meta = metas[0]
    if not isinstance(record, UploadedRecord):
        record = read_record_file(record)
    record = at_rate(record, int(meta["sampling_rate"]))
    thresholds, source = member_thresholds(metas)
    if any((m.get("dataset") or {}).get("is_demo") for m in metas):
        demo_note = "the model was trained on SYNTHETIC demo data: its probabilities say nothing about a real ECG"
        record = replace(record, notes=[*record.notes, demo_note])
    if len(models) > 1:
        record = replace(
            record, notes=[*record.notes, f"fold ensemble: the mean of {len(models)} models' probabilities"]
        )
    if source != "checkpoint":
        note = f"{checkpoint} stores no validation thresholds; {source} used for 'predicted'."
        record = replace(record, notes=[*record.notes, note])
    probs = _proba(models, record.signal[None], device)[0]
    return probability_table(probs, meta["label_names"], thresholds), record


def write_predictions(path: str | os.PathLike, data: bytes) -> None:
    """Write a predictions CSV atomically (the old file stays intact on any error)."""
    try:
        write_bytes_atomic(path, data)
    except OSError as e:
        raise RunError(f"cannot write {path} ({e.strerror or e}); choose another place.") from None
