"""The app's cached loaders (not a page): everything the pages read through ``st.cache_data`` or
``st.cache_resource``.

* The dataset object and loaded models with ``st.cache_resource`` (the signals are a memory map and
  never go through ``st.cache_data``).
* Tables, results, probabilities and saliency maps with ``st.cache_data``, keyed by the dataset's
  identity (:func:`ds_key`) or a file's path and mtime.

Computations live in :mod:`ecgcore.app` (one module per concern); this module only caches them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from ecgcore.app import records as app_records
from ecgcore.app import settings as app_settings
from ecgcore.app import summary as app_summary
from ecgcore.data import ECGDataset, read_statements
from ecgcore.errors import ECGCoreError
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.sources import default_demo_root, ensure_demo_dataset, load_ptbxl

if TYPE_CHECKING:
    from app_pages.common import Frame

# ----------------------------------------------------------------------------- the dataset


@st.cache_resource(show_spinner=False, max_entries=4)
def _dataset_slot(root: str, sampling_rate: int, label_set: str, skip_bad: bool, stamp: int | None) -> dict:
    """A holder for one loaded dataset (filled by :func:`load_dataset`, outside this cached function,
    so the first load can draw its progress bar)."""
    return {"lock": threading.Lock(), "ds": None}


def load_dataset(frame: Frame) -> ECGDataset:
    """The dataset of the frame's choice; the first load draws a progress bar while the demo dataset
    is generated or the signal cache is built."""
    bar = st.empty()

    def progress(what: str):
        def update(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"{what} — {done:,} of {total:,} records (first load only)")

        return update

    try:
        if frame.source == "demo":
            root = ensure_demo_dataset(default_demo_root(), progress=progress("Generating the demo dataset"))
        else:
            root = Path(frame.root or "").expanduser()
        slot = _dataset_slot(
            str(root), frame.sampling_rate, frame.label_set, frame.skip_bad, app_settings.dataset_stamp(root)
        )
        if slot["ds"] is None:
            with slot["lock"]:
                if slot["ds"] is None:
                    slot["ds"] = load_ptbxl(
                        root,
                        frame.sampling_rate,
                        frame.label_set,
                        skip_bad=frame.skip_bad,
                        progress=progress("Reading the records into the signal cache"),
                    )
        return slot["ds"]
    finally:
        bar.empty()


def ds_key(ds: ECGDataset) -> tuple:
    """What identifies a loaded dataset in the st.cache_data keys (never the signals themselves)."""
    return (ds.name, ds.fingerprint, str(ds.root), ds.sampling_rate, ds.label_set, len(ds.records))


@st.cache_data(show_spinner=False, max_entries=4)
def record_table(_ds: ECGDataset, key: tuple) -> pd.DataFrame:
    return app_records.record_table(_ds)


@st.cache_data(show_spinner=False, max_entries=8)
def fold_summary(_ds: ECGDataset, key: tuple, plan: str = DEFAULT_PLAN) -> pd.DataFrame:
    from ecgcore.folds import fold_summary as summary

    return summary(_ds.records, _ds.labels, _ds.label_names, plan)


@st.cache_data(show_spinner=False, max_entries=8)
def patient_overlap(_ds: ECGDataset, key: tuple, plan: str = DEFAULT_PLAN) -> pd.DataFrame:
    return app_summary.patient_overlap(_ds, plan)


@st.cache_data(show_spinner=False, max_entries=4)
def dataset_facts(_ds: ECGDataset, key: tuple) -> dict:
    """Summary, label counts, per-strat-fold counts and the strat-fold patient check, in one go."""
    return {
        "summary": app_summary.dataset_summary(_ds),
        "labels": app_summary.label_counts(_ds),
        "strat": app_summary.strat_fold_counts(_ds),
        "patients_in_several_strat_folds": app_summary.patients_in_several_strat_folds(_ds),
    }


@st.cache_data(show_spinner=False, max_entries=8)
def record_parts(_ds: ECGDataset, key: tuple, plan: str, fold: int) -> np.ndarray:
    return app_records.record_parts(_ds, plan, fold)


# ----------------------------------------------------------------------------- runs, results, models


def mtime(path: Path) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_data(show_spinner=False, max_entries=32)
def _results(path: str, stamp: int) -> dict:
    from ecgcore.app.results import read_run_results

    return read_run_results(Path(path))


def results(run_path: Path) -> dict:
    """results.json of a run (ResultsError if missing or corrupt), cached by path and mtime."""
    return _results(str(run_path), mtime(Path(run_path) / "results.json"))


@st.cache_resource(show_spinner=False, max_entries=8)
def _model(path: str, stamp: int):
    from ecgcore.checkpoints import load_checkpoint

    return load_checkpoint(path)


def model(checkpoint: Path):
    """(model, meta) of a checkpoint, cached by path and mtime (CheckpointError if unusable)."""
    return _model(str(checkpoint), mtime(checkpoint))


@st.cache_resource(show_spinner=False)
def _model_lock(path: str) -> threading.Lock:
    """One lock per cached model: sessions share the model object, and captum attaches hooks to it
    (Grad-CAM) while computing, so two sessions must not run it at once."""
    return threading.Lock()


@st.cache_data(show_spinner=False, max_entries=256)
def _probabilities(checkpoint: str, stamp: int, signal_key: str, _signal: np.ndarray) -> np.ndarray:
    from ecgcore.inference import predict_proba

    net, _ = _model(checkpoint, stamp)
    with _model_lock(checkpoint):
        return predict_proba(net, np.array(_signal, dtype=np.float32)[None], device="cpu")[0]


def probabilities(checkpoint: Path, signal: np.ndarray, signal_key: str) -> np.ndarray:
    """Predicted probabilities (C,) of one (12, T) signal; ``signal_key`` names the signal in the cache."""
    return _probabilities(str(checkpoint), mtime(checkpoint), signal_key, signal)


@st.cache_data(show_spinner=False, max_entries=256)
def _saliency(checkpoint: str, stamp: int, signal_key: str, _signal: np.ndarray, method: str, target: int) -> dict:
    from ecgcore.saliency import saliency_map

    net, _ = _model(checkpoint, stamp)
    with _model_lock(checkpoint):
        result = saliency_map(net, np.array(_signal, dtype=np.float32), target, method)
    return {"map": result.map, "time_only": result.time_only, "logit": result.logit}


def saliency(checkpoint: Path, signal: np.ndarray, signal_key: str, method: str, target: int) -> dict:
    """Raw saliency map {map (12, T), time_only, logit} of one signal for class ``target``."""
    return _saliency(str(checkpoint), mtime(checkpoint), signal_key, signal, method, int(target))


def record_key(ds: ECGDataset, ecg_id: int) -> str:
    return f"{ds.fingerprint}:{ds.sampling_rate}:{ecg_id}"


def signal_key(signal: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(signal, dtype=np.float32).tobytes()).hexdigest()


# ----------------------------------------------------------------------------- fold ensembles and uploads
# (the Saliency and Predict pages: a fold ensemble is the mean over its members, each cached as above)


def ensemble_probabilities(checkpoints: Sequence[Path], signal: np.ndarray, signal_key: str) -> np.ndarray:
    """Mean predicted probabilities (C,) of the members (one checkpoint: its own)."""
    return np.mean([probabilities(c, signal, signal_key) for c in checkpoints], axis=0)


def ensemble_saliency(
    checkpoints: Sequence[Path], signal: np.ndarray, signal_key: str, method: str, target: int
) -> dict:
    """{map: the mean of the members' raw (12, T) maps (``ecgcore.ensemble.ensemble_saliency``), time_only}."""
    maps = [saliency(c, signal, signal_key, method, target) for c in checkpoints]
    return {
        "map": np.mean([m["map"] for m in maps], axis=0).astype(np.float32),
        "time_only": any(m["time_only"] for m in maps),
    }


@st.cache_data(show_spinner=False, max_entries=64)
def _find_record(_ds: ECGDataset, key: tuple, signal_key: str, _signal: np.ndarray) -> int | None:
    from ecgcore.ensemble import find_record

    return find_record(_ds, _signal)


def upload_leakage(metas: Sequence[dict], ds: ECGDataset, name: str, signal: np.ndarray, signal_key: str) -> str | None:
    """``ecgcore.ensemble.leakage`` of an uploaded record: named by the ecg_id in its name when that
    record is in ``ds`` (and, at the same rate, its signal fits), else found by its signal (cached)."""
    from ecgcore.app.explain import ecg_id_in_name
    from ecgcore.ensemble import leakage

    ecg_id, i = ecg_id_in_name(name), None
    if ecg_id is not None:
        i = app_records.record_index(ds, ecg_id)
        if i is not None and ds.signals.shape[1:] == signal.shape:  # same rate: the name must fit the signal
            i = i if np.abs(np.asarray(ds.signals[i]) - signal).max() <= 1e-2 else None
    if i is None:
        ecg_id = _find_record(ds, ds_key(ds), signal_key, signal)
    return leakage(metas, ds, ecg_id=ecg_id) if ecg_id is not None else None


@st.cache_data(show_spinner=False, max_entries=16)
def _records_csv(path: str, stamp: int, results_stamp: int) -> pd.DataFrame:
    from ecgcore.metrics import read_json
    from ecgcore.outcomes import read_records_csv
    from ecgcore.run_paths import RunPaths

    return read_records_csv(Path(path), read_json(RunPaths(path).results))


def run_records_csv(run_path: Path) -> pd.DataFrame:
    """records.csv of a run, checked against its results.json (``ecgcore.outcomes``; ResultsError if absent,
    corrupt or another run's), cached by both files' mtimes."""
    return _records_csv(str(run_path), mtime(Path(run_path) / "records.csv"), mtime(Path(run_path) / "results.json"))


# ----------------------------------------------------------------------------- Evaluate: cached views


@st.cache_data(show_spinner=False, max_entries=32)
def _class_ci(path: str, stamp: int) -> dict:
    from ecgcore.app.results import per_class_ci, test_arrays

    y_true, y_prob, names = test_arrays(_results(path, stamp))
    return per_class_ci(y_true, y_prob, names)


def class_ci(run_path: Path) -> dict:
    """Per-class bootstrap 95 % intervals of AP and ROC-AUC of a run's test part, cached by path and mtime."""
    return _class_ci(str(run_path), mtime(Path(run_path) / "results.json"))


@st.cache_data(show_spinner=False, max_entries=32)
def _records(path: str, stamp: int, records_stamp: int, thresholds: tuple, _ds_records: pd.DataFrame) -> pd.DataFrame:
    from ecgcore.app.errors import records_table

    return records_table(Path(path), _results(path, stamp), _ds_records, dict(thresholds) if thresholds else None)


def run_records(run_path: Path, ds: ECGDataset, thresholds: dict | None = None) -> pd.DataFrame:
    """Per test record outcomes of a run at ``thresholds`` (None: the chosen ones; records.csv), cached."""
    p = Path(run_path)
    thr = tuple(sorted((k, round(float(v), 6)) for k, v in thresholds.items())) if thresholds else ()
    return _records(str(p), mtime(p / "results.json"), mtime(p / "records.csv"), thr, ds.records)


@st.cache_data(show_spinner=False, max_entries=32)
def _subgroups(path: str, stamp: int, by: str, data_root: str | None) -> pd.DataFrame:
    from ecgcore.subgroups import run_subgroups

    return run_subgroups(Path(path), by, Path(data_root) if data_root else None)


def subgroups(run_path: Path, by: str, data_root: str | None = None) -> pd.DataFrame:
    """``ecgcore.subgroups.run_subgroups`` of a run and column (DataError for a column the data lacks),
    cached by path, mtime of results.json and the dataset folder."""
    return _subgroups(str(run_path), mtime(Path(run_path) / "results.json"), by, data_root)


@st.cache_data(show_spinner=False, max_entries=32)
def _calibration(path: str, stamp: int) -> dict:
    from ecgcore.calibration import run_calibration

    return run_calibration(Path(path))


def calibration(run_path: Path) -> dict:
    """``ecgcore.calibration.run_calibration`` of a run's test part, cached by path and mtime."""
    return _calibration(str(run_path), mtime(Path(run_path) / "results.json"))


@st.cache_data(show_spinner=False, max_entries=16)
def confusion_png(matrices: dict, thresholds: dict) -> bytes:
    """The confusion PNG of exactly the matrices shown (``figures.confusion_png_bytes``), cached."""
    from ecgcore.figures.metrics import confusion_png_bytes

    return confusion_png_bytes(matrices, thresholds)


@st.cache_data(show_spinner=False, max_entries=8)
def confusion_template(names: tuple[str, ...]) -> dict:
    """``figures.confusion_figure`` of these classes as a dict, to restyle (``results.confusion_view``)."""
    from ecgcore.figures.metrics import confusion_figure

    zero = [[0, 0], [0, 0]]
    return confusion_figure(dict.fromkeys(names, zero), dict.fromkeys(names, 0.5)).to_dict()


@st.cache_data(show_spinner=False, max_entries=4)
def statements(root: str, _key: tuple) -> pd.DataFrame | None:
    """scp_statements.csv of a dataset folder (None when it cannot be read: the codes are then shown
    without their meanings)."""
    try:
        return read_statements(root)
    except ECGCoreError:
        return None


WARM_TABLES = (  # the cached tables of Home and Dataset, computed ahead by app_pages.warm_up
    lambda d, k: record_table(d, k),
    lambda d, k: dataset_facts(d, k),
    lambda d, k: fold_summary(d, k, DEFAULT_PLAN),
    lambda d, k: patient_overlap(d, k, DEFAULT_PLAN),
)


# ----------------------------------------------------------------------------- Saliency and Predict: trust
# (how good the run is, the members' spread, similar cases; ecgcore.app.trust)


@st.cache_data(show_spinner=False, max_entries=32)
def _group_quality(key: tuple, _members: tuple, dataset_name: str):
    from ecgcore.app.trust import group_quality

    return group_quality(list(_members), dataset_name, results)


def group_quality(members: Sequence, dataset_name: str):
    """``ecgcore.app.trust.group_quality`` of a run group's folds, cached by their results' and status' mtimes."""
    key = tuple(
        (str(m.path), mtime(Path(m.path) / "results.json"), mtime(Path(m.path) / "status.json")) for m in members
    )
    return _group_quality(key, tuple(members), dataset_name)


def member_probabilities(checkpoints: Sequence[Path], signal: np.ndarray, signal_key: str) -> np.ndarray:
    """(M, C) each member's probabilities of one signal (each cached as :func:`probabilities`)."""
    return np.stack([probabilities(c, signal, signal_key) for c in checkpoints])


@st.cache_data(show_spinner=False, max_entries=64)
def _similar(
    _ds: ECGDataset, key: tuple, run_path: str, stamp: int, ecg_id: int | None, signal_key: str, _signal, k: int
):
    from ecgcore.similar import similar_cases

    signal = None if ecg_id is not None else np.asarray(_signal, dtype=np.float32)
    return similar_cases(_ds, Path(run_path), ecg_id=ecg_id, signal=signal, k=k, device="cpu")


def similar(ds: ECGDataset, run_path: Path, ecg_id: int | None, signal: np.ndarray, signal_key: str, k: int = 5):
    """``ecgcore.similar.similar_cases`` of a dataset record (``ecg_id``) or an upload (``signal``), cached
    per run fold (by its checkpoint's mtime), record and k."""
    from ecgcore.run_paths import RunPaths

    stamp = mtime(RunPaths(run_path).best)
    return _similar(ds, ds_key(ds), str(run_path), stamp, ecg_id, signal_key, signal, int(k))


def upload_ecg_id(ds: ECGDataset, name: str, signal: np.ndarray, signal_key: str) -> int | None:
    """The ecg_id of ``ds`` an upload is (as :func:`upload_leakage` finds it: by the id in its name when
    the signal fits, else by its signal), or None."""
    from ecgcore.app.explain import ecg_id_in_name

    ecg_id = ecg_id_in_name(name)
    i = app_records.record_index(ds, ecg_id) if ecg_id is not None else None
    if (
        i is not None
        and ds.signals.shape[1:] == signal.shape
        and np.abs(np.asarray(ds.signals[i]) - signal).max() <= 1e-2
    ):
        return ecg_id
    return _find_record(ds, ds_key(ds), signal_key, signal)
