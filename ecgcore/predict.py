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
from ecgcore.data import ECGDataset
from ecgcore.ensemble import ensemble_proba, load_fold_models, member_thresholds, seen_in_training
from ecgcore.errors import CheckpointError, RunError, StorageError
from ecgcore.fileio import write_bytes_atomic, write_json
from ecgcore.inference import predict_proba
from ecgcore.records import LEADS
from ecgcore.sources import load_ptbxl
from ecgcore.thresholds import with_default
from ecgcore.uploads import UploadedRecord, at_rate, read_record_file

# ----------------------------------------------------------------------------- predictions


PREDICTION_HEADS = (b"# ECG explorer prediction", b"ecg_id,")  # how a predictions CSV of ours starts
SIDECAR_HEADS = (b'{\n "format": "ecgcore-predictions',)  # and its sidecar (write_json's layout)


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
        model, meta = load_checkpoint(checkpoint_file(checkpoints))
        return [model], [meta]
    members = load_fold_models(list(checkpoints))
    return [m for m, _ in members], [meta for _, meta in members]


def checkpoint_file(path: str | os.PathLike) -> Path:
    """``path``, or the ``best.pt`` inside it when ``path`` is a run folder; a folder without one is a
    CheckpointError saying to give its best.pt."""
    path = Path(path)
    if not path.is_dir():
        return path
    if (path / "best.pt").is_file():
        return path / "best.pt"
    raise CheckpointError(f"--checkpoint {path} is a folder with no best.pt in it; give a checkpoint file (best.pt).")


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
    for file, heads, what in ((target, PREDICTION_HEADS, "CSV"), (sidecar_path(target), SIDECAR_HEADS, "sidecar")):
        if file.is_file():
            with open(file, "rb") as f:
                head = f.read(64)
            if head and not head.startswith(heads):
                raise RunError(
                    f"--out {path}: {file} exists and is not a predictions {what} of ecgcore; "
                    "choose another file (nothing was written)."
                )


def predict_folder(
    checkpoint: Checkpoints, root: str | os.PathLike, skip_bad: bool = False, device: str = "auto"
) -> tuple[pd.DataFrame, ECGDataset, dict]:
    """Predictions for every record of a dataset folder, from one checkpoint or the mean of several
    (a fold ensemble: ``checkpoint`` a list of best.pt paths or run folders).

    Returns:
        the :func:`predictions_table` (one row per record, at the validation thresholds); the dataset
        read; the :func:`predictions_info`, whose notes name records the models saw in training (their
        probabilities are not estimates on unseen data) and records left out by ``skip_bad``.
    """
    models, metas = _members(checkpoint)
    meta = metas[0]
    ds = load_ptbxl(root, meta["sampling_rate"], meta["label_set"], skip_bad=skip_bad, require_labels=False)
    probs = _proba(models, ds.signals, device)
    thresholds, _ = member_thresholds(metas)
    table = predictions_table(ds.records["ecg_id"].to_numpy(), probs, meta["label_names"], thresholds)
    notes = _seen_notes(seen_in_training(metas, ds), len(table))
    notes += [f"skipped ecg_id {s.ecg_id}: {s.reason}" for s in ds.skipped]
    info = predictions_info(str(root), checkpoint, metas, notes) | {"dataset": ds.description}
    return table, ds, info


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
    thr = with_default(thresholds, len(label_names))
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


PREDICTIONS_FORMAT = "ecgcore-predictions/1"


def predictions_table(
    ecg_ids: Sequence, probs: np.ndarray, label_names: Sequence[str], thresholds: Sequence[float] | None
) -> pd.DataFrame:
    """The one predictions layout, for one record or many: one row per record, ``ecg_id`` (for an
    uploaded file its name), then per class ``<class>_probability`` (0–1), ``<class>_predicted`` (1 when
    the probability is at or above the threshold, else 0) and ``<class>_threshold``.

    Args:
        probs: (N, C) probabilities; thresholds: (C,) or None (0.5 for all)."""
    probs = np.asarray(probs, dtype=float).reshape(len(ecg_ids), len(label_names))
    thr = with_default(thresholds, len(label_names))
    columns: dict[str, object] = {"ecg_id": list(ecg_ids)}
    for j, name in enumerate(label_names):
        columns[f"{name}_probability"] = probs[:, j].round(5)
        columns[f"{name}_predicted"] = (probs[:, j] >= thr[j]).astype(int)
        columns[f"{name}_threshold"] = np.full(len(probs), round(float(thr[j]), 5))
    return pd.DataFrame(columns)


def record_predictions(table: pd.DataFrame, ecg_id: str) -> pd.DataFrame:
    """A :func:`probability_table` of one record as the one-row :func:`predictions_table`."""
    return predictions_table([ecg_id], table["probability"].to_numpy()[None], list(table["class"]), table["threshold"])


def predictions_csv(table: pd.DataFrame) -> bytes:
    """A :func:`predictions_table` as CSV bytes: a plain table (no comment lines) that
    ``pandas.read_csv`` opens as it is; what was assumed goes to the sidecar (:func:`predictions_info`)."""
    return table.to_csv(index=False).encode()


def predictions_info(source: str, checkpoints: Checkpoints, metas: Sequence[dict], notes: Sequence[str] = ()) -> dict:
    """What a predictions CSV rests on, for its sidecar ``<out>.json`` and the terminal: the source, the
    checkpoint(s) and model(s), the data the models were trained on, units, lead order, sampling rate,
    thresholds and every note."""
    paths = [str(checkpoints)] if isinstance(checkpoints, str | os.PathLike) else [str(c) for c in checkpoints]
    meta = metas[0]
    return {
        "format": PREDICTIONS_FORMAT,
        "source": source,
        "checkpoints": paths,
        "models": sorted({str(m.get("model")) for m in metas}),
        "trained_on": meta.get("dataset") or {},
        "label_set": meta.get("label_set"),
        "classes": list(meta.get("label_names") or []),
        "sampling_rate_hz": meta.get("sampling_rate"),
        "units": "mV",
        "lead_order": list(LEADS),
        "thresholds": member_thresholds(metas)[1],
        "columns": "ecg_id, then per class <class>_probability, <class>_predicted (0/1), <class>_threshold",
        "notes": list(notes),
        "research_only": "research and education only, not for diagnosis",
    }


def sidecar_path(path: str | os.PathLike) -> Path:
    """The sidecar of a predictions CSV: ``<out>.json`` (``pred.csv`` → ``pred.csv.json``)."""
    return Path(f"{path}.json")


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
    return _predict_one(models, metas, checkpoint, record, device)


def predict_input(
    checkpoint: Checkpoints, path: str | os.PathLike, device: str = "auto"
) -> tuple[pd.DataFrame, dict, UploadedRecord]:
    """``predict --input``: the one-row :func:`predictions_table` of the file at ``path`` (``ecg_id``
    is the file's name), its :func:`predictions_info` and the record as classified."""
    models, metas = _members(checkpoint)
    table, record = _predict_one(models, metas, checkpoint, path, device)
    info = predictions_info(str(path), checkpoint, metas, record.notes)
    return record_predictions(table, record.name), info, record


def _predict_one(
    models: list[torch.nn.Module],
    metas: list[dict],
    checkpoint: Checkpoints,
    record: UploadedRecord | str | os.PathLike,
    device: str,
) -> tuple[pd.DataFrame, UploadedRecord]:
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


def write_predictions(path: str | os.PathLike, table: pd.DataFrame, info: dict) -> Path:
    """Write the predictions CSV and its sidecar ``<out>.json`` atomically (old files stay intact on any
    error); returns the sidecar's path."""
    sidecar = sidecar_path(path)
    try:
        write_bytes_atomic(path, predictions_csv(table))
        write_json(sidecar, info)
    except StorageError:
        raise
    except OSError as e:
        raise RunError(f"cannot write {path} ({e.strerror or e}); choose another place.") from None
    return sidecar
