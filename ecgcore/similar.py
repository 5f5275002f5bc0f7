"""Which known cases an ECG resembles: the nearest training-part records in the model's own representation.

A record's representation is the input of the model's classifier head (the globally pooled convolution
features, :func:`ecgcore.inference.predict_features`: 128 numbers for cnn1d, 32 for cnn2d). Features are
L2-normalised and searched with scikit-learn's ``NearestNeighbors`` (brute force, **euclidean distance
on the unit vectors**, which orders neighbours exactly as cosine similarity); the distance reported is
the **cosine distance** 1 − cos = d² / 2, from 0 (same direction) to 2.

The index holds the fold's **training part** (the records the model learnt from). It is built once per
checkpoint and cached beside the run, ``<run>/similar/index.npz``, under a key of the checkpoint's
weights, the dataset's fingerprint and sampling rate, the fold plan and fold: retraining (a new
best.pt) or another dataset rebuilds it; re-saving the same weights (``calibrate``) does not.

A query never returns itself nor any other record of the same patient.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.neighbors import NearestNeighbors

from ecgcore.errors import DataError, RunError

NEIGHBOUR_COLUMNS = ("rank", "ecg_id", "patient_id", "distance", "labels", "statements", "strat_fold")
METRIC_NOTE = "cosine distance (1 − cos) between the model's head-input features; 0 = same direction"


def check_k(k: int) -> int:
    """``k`` if it is a usable number of neighbours (≥ 1), else RunError."""
    if not isinstance(k, int | np.integer) or k < 1:
        raise RunError(f"--k {k}: ask for at least 1 similar record (e.g. --k 5).")
    return int(k)


def normalise(features: np.ndarray) -> np.ndarray:
    """Rows of ``features: (N, D)`` scaled to unit length (a zero row stays zero); float32."""
    f = np.asarray(features, np.float32)
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    return np.divide(f, norms, out=np.zeros_like(f), where=norms > 0)


@dataclass
class SimilarIndex:
    """The training part's unit feature vectors and who they are.

    features: (N, D) float32, unit rows; ecg_ids: (N,) int64; patient_ids: (N,) float64 (NaN: unknown);
    key: what they were computed from (see :func:`index_key`)."""

    features: np.ndarray
    ecg_ids: np.ndarray
    patient_ids: np.ndarray
    key: str

    def __post_init__(self) -> None:
        self._nn = NearestNeighbors(metric="euclidean", algorithm="brute").fit(self.features)

    def query(
        self, features: np.ndarray, k: int, exclude_ids: Sequence[int] = (), exclude_patients: Sequence[float] = ()
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each query row of ``features: (Q, D)`` (raw, normalised here), the k nearest index rows
        that are neither one of ``exclude_ids`` nor of ``exclude_patients`` (per query, a sequence of
        the same length Q; NaN: no patient to exclude).

        Returns per query (row indices (≤ k,), cosine distances (≤ k,)) nearest first."""
        q = normalise(features)
        ids = list(exclude_ids) or [None] * len(q)
        patients = list(exclude_patients) or [np.nan] * len(q)
        banned = [self._banned(i, p) for i, p in zip(ids, patients)]
        wanted = min(len(self.ecg_ids), check_k(k) + max((len(b) for b in banned), default=0))
        dist, rows = self._nn.kneighbors(q, n_neighbors=wanted) if wanted else (np.zeros((len(q), 0)),) * 2
        out = []
        for d, r, b in zip(dist, rows.astype(np.int64), banned):
            keep = ~np.isin(r, b)
            out.append((r[keep][:k], (d[keep][:k] ** 2 / 2).astype(np.float64)))
        return out

    def _banned(self, ecg_id: int | None, patient: float) -> np.ndarray:
        """Index rows a query may not return: its own record and its patient's other records."""
        mask = self.ecg_ids == ecg_id if ecg_id is not None else np.zeros(len(self.ecg_ids), bool)
        if patient is not None and not pd.isna(patient):
            mask |= self.patient_ids == float(patient)
        return np.flatnonzero(mask)


def weights_digest(model: torch.nn.Module) -> str:
    """Short SHA-1 of a model's weights and buffers (names and bytes, in state_dict order)."""
    h = hashlib.sha1()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def index_key(model: torch.nn.Module, meta: dict, ds) -> str:
    """What an index was computed from: weights, dataset fingerprint and rate, plan and fold."""
    return f"{weights_digest(model)}-{ds.fingerprint}-{ds.sampling_rate}Hz-{meta.get('plan')}-fold{meta.get('fold')}"


def index_path(run_folder: Path) -> Path:
    """Where a run's similar-case index is cached."""
    from ecgcore.run_paths import RunPaths

    return RunPaths(run_folder).folder / "similar" / "index.npz"


def _read_index(path: Path, key: str) -> SimilarIndex | None:
    """The cached index at ``path`` when it exists, reads and has ``key``; else None (rebuilt)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            return SimilarIndex(z["features"], z["ecg_ids"], z["patient_ids"], key)
    except (OSError, KeyError, ValueError):
        return None


def build_index(model: torch.nn.Module, meta: dict, ds, device: str = "auto") -> SimilarIndex:
    """The index of the training part of the checkpoint's fold on ``ds`` (no cache)."""
    from ecgcore.folds import get_fold
    from ecgcore.inference import predict_features

    fold = get_fold(ds.records, ds.labels.any(axis=1), meta["plan"], meta["fold"])
    features = normalise(predict_features(model, ds.signals[fold.train], device))
    rows = ds.records.iloc[fold.train]
    patients = pd.to_numeric(rows["patient_id"], errors="coerce").to_numpy(np.float64)
    return SimilarIndex(features, rows["ecg_id"].to_numpy(np.int64), patients, index_key(model, meta, ds))


def load_index(run_folder: Path, model: torch.nn.Module, meta: dict, ds, device: str = "auto") -> SimilarIndex:
    """The run's cached index, rebuilt and re-cached when missing, unreadable or computed from other
    weights or data (see the module docstring)."""
    from ecgcore.fileio import write_with

    path = index_path(run_folder)
    key = index_key(model, meta, ds)
    cached = _read_index(path, key)
    if cached is not None:
        return cached
    index = build_index(model, meta, ds, device)
    fields = {"features": index.features, "ecg_ids": index.ecg_ids, "patient_ids": index.patient_ids}
    write_with(path, lambda f: np.savez(f, key=np.array(key), **fields))
    return index


def _load_run(ds, run_folder: Path):
    """(model, meta) of the run's best checkpoint, checked against ``ds``."""
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.evaluate import checkpoint_expectations
    from ecgcore.run_paths import RunPaths

    return load_checkpoint(
        RunPaths(run_folder).best, expect=checkpoint_expectations(ds) | {"fingerprint": ds.fingerprint}
    )


def record_row(ds, ecg_id: int) -> int:
    """The dataset row of ``ecg_id``; DataError when the dataset has no such record."""
    rows = np.flatnonzero(ds.records["ecg_id"].to_numpy() == int(ecg_id))
    if not len(rows):
        raise DataError(f"ecg_id {ecg_id} is not in {ds.description}; give an ecg_id of that dataset.")
    return int(rows[0])


def describe(ds, ecg_ids: Sequence[int]) -> pd.DataFrame:
    """ecg_id, patient_id, labels (``NORM;MI``), statements (``NORM 100, SR 0``: scp code and
    likelihood %) and strat_fold of records of ``ds``, in the given order."""
    position = pd.Series(np.arange(len(ds.records)), index=ds.records["ecg_id"].to_numpy())
    rows = position.loc[list(ecg_ids)].to_numpy()
    records = ds.records.iloc[rows]
    names = np.asarray(ds.label_names, dtype=object)
    return pd.DataFrame(
        {
            "ecg_id": records["ecg_id"].to_numpy(np.int64),
            "patient_id": pd.to_numeric(records["patient_id"], errors="coerce").round().astype("Int64").to_numpy(),
            "labels": [";".join(names[ds.labels[r].astype(bool)]) for r in rows],
            "statements": [", ".join(f"{c} {v:g}" for c, v in codes.items()) for codes in records["scp_codes"]],
            "strat_fold": pd.to_numeric(records["strat_fold"], errors="coerce").round().astype("Int64").to_numpy(),
        }
    )


def similar_cases(
    ds, run_folder: Path, ecg_id: int | None = None, signal: np.ndarray | None = None, k: int = 5, device: str = "auto"
) -> pd.DataFrame:
    """The k training-part records nearest to one record in the run's representation (what a page shows).

    Args:
        ds: the dataset the run was trained on; run_folder: one fold of a run (its best checkpoint).
        ecg_id: a record of ``ds`` (its own record and its patient's are never returned), or
        signal: (12, T) float32 mV at ``ds.sampling_rate`` (an upload; nothing excluded).
        k: ≥ 1 neighbours.
    Returns:
        a frame with :data:`NEIGHBOUR_COLUMNS`, nearest first (``distance``: :data:`METRIC_NOTE`); fewer
        than k rows only when the training part is smaller. Raises DataError (unknown ecg_id),
        RunError (k < 1, neither or both of ecg_id and signal), CheckpointError (no run, no features).
    """
    from ecgcore.inference import predict_features

    check_k(k)
    if (ecg_id is None) == (signal is None):
        raise RunError("give one record to compare: an ecg_id of the dataset or an uploaded signal, not both.")
    model, meta = _load_run(ds, run_folder)
    if ecg_id is not None:
        row = record_row(ds, ecg_id)
        signal = ds.signals[row]
        patient = pd.to_numeric(ds.records["patient_id"].iloc[row], errors="coerce")
        exclude_ids, exclude_patients = [int(ecg_id)], [patient]
    else:
        exclude_ids, exclude_patients = [], []
    index = load_index(run_folder, model, meta, ds, device)
    query = predict_features(model, np.asarray(signal, np.float32)[None], device)
    ((rows, dist),) = index.query(query, k, exclude_ids, exclude_patients)
    table = describe(ds, index.ecg_ids[rows])
    table.insert(0, "rank", np.arange(1, len(rows) + 1))
    table.insert(3, "distance", dist)
    return table[list(NEIGHBOUR_COLUMNS)]


def label_agreement(ds, run_folder: Path, device: str = "auto") -> dict:
    """A sanity check (not a claim): for each test-part record of the run's fold, does its nearest
    training-part record carry the same label set (exact) or share at least one label?

    Returns {"n": test records, "exact": fraction, "shared": fraction, "chance_exact": the exact-match
    fraction expected of a random training record (from the training part's label-set frequencies)}."""
    from ecgcore.folds import get_fold
    from ecgcore.inference import predict_features

    model, meta = _load_run(ds, run_folder)
    index = load_index(run_folder, model, meta, ds, device)
    fold = get_fold(ds.records, ds.labels.any(axis=1), meta["plan"], meta["fold"])
    test_ids = ds.records["ecg_id"].iloc[fold.test].to_numpy(np.int64)
    patients = pd.to_numeric(ds.records["patient_id"].iloc[fold.test], errors="coerce").to_numpy()
    found = index.query(predict_features(model, ds.signals[fold.test], device), 1, list(test_ids), list(patients))
    row_of = pd.Series(np.arange(len(ds.records)), index=ds.records["ecg_id"].to_numpy())
    nearest = ds.labels[row_of.loc[index.ecg_ids[[r[0] for r, _ in found]]].to_numpy()].astype(bool)
    truth = ds.labels[fold.test].astype(bool)
    train_sets = pd.Series([tuple(r) for r in ds.labels[fold.train]]).value_counts(normalize=True)
    chance = float(np.mean([train_sets.get(tuple(r), 0.0) for r in ds.labels[fold.test]]))
    return {
        "n": len(test_ids),
        "exact": float((nearest == truth).all(axis=1).mean()),
        "shared": float((nearest & truth).any(axis=1).mean()),
        "chance_exact": chance,
    }
