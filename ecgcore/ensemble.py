"""Fold ensembles: every trained fold of a run voting together (mean probability).

* :func:`load_fold_models` loads the fold checkpoints and checks they answer the same question
  (label set and names, sampling rate);
* :func:`ensemble_proba` is the mean of the members' probabilities;
* :func:`ensemble_thresholds` is the mean of the members' validation-chosen thresholds — a heuristic:
  the members were validated on different parts, and no part is unseen by all members;
* :func:`ensemble_saliency` is the mean of the members' (12, T) maps;
* :func:`leakage` says whether a record was in some member's training or validation part.

**No cross-validated figure exists for a fold ensemble on this data**: in 5-fold CV every record sits
in the training part of some fold's model, so any score of the ensemble on the dataset's own records
is optimistic. Score an ensemble only on records outside the dataset.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ecgcore.checkpoint_fit import same_dataset
from ecgcore.checkpoints import load_checkpoint
from ecgcore.data import ECGDataset
from ecgcore.errors import CheckpointError
from ecgcore.folds import get_fold
from ecgcore.inference import predict_proba
from ecgcore.run_paths import RunPaths

_SAME = ("label_set", "label_names", "sampling_rate")
NO_CV_NOTE = (
    "A fold ensemble has no cross-validated score on this dataset: every record is in the training part "
    "of some member, so it can only be scored on records from elsewhere."
)


def _checkpoint_of(path: str | os.PathLike) -> Path:
    path = Path(path)
    return RunPaths(path).best if path.is_dir() else path


def load_fold_models(
    run_paths: Sequence[str | os.PathLike], device: str | torch.device = "cpu"
) -> list[tuple[torch.nn.Module, dict]]:
    """Load each fold's best checkpoint (a run folder, or a .pt path) as (model in eval mode, meta).

    Raises CheckpointError when none is given or the members differ in label set, label names or
    sampling rate (they would not answer the same question)."""
    if not run_paths:
        raise CheckpointError("no trained fold to build an ensemble from; train at least one fold of the run.")
    members = [load_checkpoint(_checkpoint_of(p), device) for p in run_paths]
    first = members[0][1]
    for path, (_, meta) in zip(run_paths[1:], members[1:]):
        for key in _SAME:
            if list(np.atleast_1d(meta.get(key))) != list(np.atleast_1d(first.get(key))):
                raise CheckpointError(
                    f"{path} has {key}={meta.get(key)!r}, unlike {run_paths[0]} ({first.get(key)!r}); "
                    "an ensemble needs folds trained on the same labels and sampling rate."
                )
    return members


def ensemble_proba(
    models: Sequence[torch.nn.Module], signals: np.ndarray, device: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Mean probabilities of the members.

    Args:
        models: M models (e.g. ``[m for m, _ in load_fold_models(...)]``).
        signals: (N, 12, T) float32, mV.

    Returns:
        (mean (N, C), per-model (M, N, C)) probabilities in [0, 1].
    """
    each = np.stack([predict_proba(m, signals, device) for m in models])
    return each.mean(axis=0), each


def ensemble_thresholds(metas: Sequence[dict]) -> np.ndarray:
    """(C,) mean of the members' validation-chosen thresholds (checkpoint meta["thresholds"]).

    A heuristic, not a tuned value: each member chose its thresholds on its own validation part."""
    from ecgcore.thresholds import decision_thresholds

    return np.mean([decision_thresholds(m)[0] for m in metas], axis=0)


def member_thresholds(metas: Sequence[dict]) -> tuple[np.ndarray, str]:
    """The decision thresholds (C,) of one model or of a fold ensemble, and where they come from: one
    model's :func:`ecgcore.thresholds.decision_thresholds`; for several, :func:`ensemble_thresholds` with
    source "checkpoint" only when every member stored its validation thresholds (else the weakest
    member's source, e.g. "default 0.5", so a fallback is never hidden in the mean)."""
    from ecgcore.thresholds import decision_thresholds

    if len(metas) == 1:
        return decision_thresholds(metas[0])
    sources = [decision_thresholds(m)[1] for m in metas]
    source = next((s for s in sources if s != "checkpoint"), "checkpoint")
    return ensemble_thresholds(metas), source


def ensemble_saliency(
    models: Sequence[torch.nn.Module],
    signal: np.ndarray,
    target: int,
    method: str = "integrated_gradients",
) -> np.ndarray:
    """(12, T) mean of the members' raw attribution maps of class ``target`` for ``signal`` (12, T) mV
    (:func:`ecgcore.saliency.saliency_map`, imported here: captum loads only when saliency is asked for)."""
    from ecgcore.saliency import saliency_map

    return np.mean([saliency_map(m, signal, target, method).map for m in models], axis=0).astype(np.float32)


def training_parts_of(meta: dict, ds: ECGDataset) -> dict[str, set[int]]:
    """{train, val, test: ecg_ids} of the member described by ``meta`` on ``ds`` (its own dataset).

    The parts hold the records labelled in the member's label set. When ``ds`` is loaded with another
    label set, which records that were is not known here, so every record of the part's strat folds
    counts: a leakage warning may then be too cautious, never silently missing."""
    labelled = ds.labels.any(axis=1) if meta.get("label_set") in (None, ds.label_set) else None
    fold = get_fold(ds.records, labelled, meta["plan"], meta["fold"])
    ids = ds.records["ecg_id"].to_numpy()
    return {part: set(ids[getattr(fold, part)].tolist()) for part in ("train", "val", "test")}


def seen_in_training(metas: Sequence[dict], ds: ECGDataset) -> dict[int, list[int]]:
    """{ecg_id: folds} of the records of ``ds`` that were in the training or validation part of some
    member (``metas``) trained on ``ds`` itself (:func:`ecgcore.checkpoint_fit.same_dataset`):
    their predictions are not estimates on unseen data."""
    seen: dict[int, list[int]] = {}
    for meta in metas:
        if not same_dataset(meta, ds.fingerprint, ds.name):
            continue
        parts = training_parts_of(meta, ds)
        for ecg_id in parts["train"] | parts["val"]:
            seen.setdefault(ecg_id, []).append(meta["fold"])
    return seen


def find_record(ds: ECGDataset, signal: np.ndarray, atol: float = 1e-3, chunk: int = 2048) -> int | None:
    """ecg_id of the dataset record whose signal equals ``signal`` (12, T) mV within ``atol``, else None."""
    signal = np.asarray(signal, dtype=np.float32)
    if signal.shape != ds.signals.shape[1:]:
        return None
    head = signal[:, :100]
    for i in range(0, len(ds.signals), chunk):
        block = np.asarray(ds.signals[i : i + chunk, :, :100])
        for j in np.flatnonzero(np.abs(block - head).max(axis=(1, 2)) <= atol):
            if np.abs(np.asarray(ds.signals[i + j]) - signal).max() <= atol:
                return int(ds.records["ecg_id"].iloc[i + j])
    return None


def leakage(
    metas: Sequence[dict], ds: ECGDataset, ecg_id: int | None = None, signal: np.ndarray | None = None
) -> str | None:
    """A warning when the record was in some member's training or validation part, else None.

    The record is named by ``ecg_id`` or, without one, found by ``signal`` (12, T) mV equality against
    ``ds``'s signals. Members trained on another dataset (``checkpoint_fit.same_dataset``) are not checked."""
    if ecg_id is None and signal is not None:
        ecg_id = find_record(ds, signal)
    if ecg_id is None:
        return None
    seen = {"train": [], "val": []}
    for meta in metas:
        if not same_dataset(meta, ds.fingerprint, ds.name):
            continue
        parts = training_parts_of(meta, ds)
        for part in seen:
            if ecg_id in parts[part]:
                seen[part].append(meta["fold"])
    if not any(seen.values()):
        return None
    where = "; ".join(f"{part} part of fold(s) {', '.join(map(str, f))}" for part, f in seen.items() if f)
    return (
        f"record ecg_id {ecg_id} of {ds.name} was in the {where} of these models: their prediction for it "
        "is not an estimate on unseen data."
    )
