"""Shared Streamlit glue of the ECG explorer (not a page: st.navigation in streamlit_app.py lists the
pages, so this file is never shown as one; the folder is ``app_pages/``, not ``pages/``, because
Streamlit auto-discovers a ``pages/`` folder until a session has called st.navigation — see
streamlit_app.py).

* :func:`app_frame` — what every page shows around its content: the shared sidebar (dataset,
  sampling rate, label set), the dataset line with a DEMO badge, and the research-only notice; it
  loads the dataset, drawing a progress bar while a signal cache is built. ``streamlit_app.py`` draws
  it before running the page; a page picks it up with :func:`page_frame` (which draws it itself if a
  page file is ever run alone).
* :func:`pick_run` — the run picker (label set, model, fold) of the Evaluate and Saliency pages.
* Cached loaders: the dataset object and loaded models with ``st.cache_resource`` (the signals are a
  memory map and never go through ``st.cache_data``); tables, results, probabilities and saliency maps
  with ``st.cache_data``, keyed by the dataset's identity or the file's path and mtime.

Computations live in :mod:`ecgcore.app` (one module per concern); this module only lays things out and caches.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from app_pages import warm_up
from ecgcore.app import records as app_records
from ecgcore.app import settings as app_settings
from ecgcore.app import summary as app_summary
from ecgcore.data import ECGDataset
from ecgcore.errors import ECGCoreError
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.run_paths import DEFAULT_RUN
from ecgcore.runs import RunInfo
from ecgcore.sources import default_demo_root, ensure_demo_dataset, load_ptbxl

NOTICE = "Research and education only — not for diagnosis or any clinical decision."
LABEL_SETS = ("superclass", "subclass")
SAMPLING_RATES = (100, 500)
HOME = "app_pages/home.py"
SALIENCY = "app_pages/saliency.py"
TRAIN = "app_pages/train.py"
EVALUATE = "app_pages/evaluate.py"


@dataclass
class Frame:
    """The shared choices and the dataset they give (``ds`` None and ``error`` set when it failed)."""

    source: str
    root: str | None
    sampling_rate: int
    label_set: str
    skip_bad: bool
    ds: ECGDataset | None = None
    error: str | None = None
    settings_warning: str | None = None  # the saved settings file was (partly) ignored


# ----------------------------------------------------------------------------- the frame

_handoff = threading.local()


def app_frame() -> Frame:
    """Draw the shared sidebar, dataset line and notice (streamlit_app.py, before the page runs)."""
    frame = _draw_frame()
    _handoff.frame = frame
    return frame


def page_frame() -> Frame:
    """The frame of this run: the one streamlit_app.py drew, or drawn now if the page runs alone."""
    frame = getattr(_handoff, "frame", None)
    _handoff.frame = None
    return frame if frame is not None else _draw_frame()


def require_dataset(frame: Frame) -> ECGDataset:
    """The frame's dataset; otherwise the error and a way back to Home, and the page stops."""
    if frame.ds is None:
        st.error(frame.error or "No dataset is loaded.")
        st.page_link(HOME, label="Choose the dataset on Home", icon=":material/home:")
        st.stop()
    return frame.ds


def _sources(settings: dict) -> dict[str, str]:
    """Dataset choices: key → label."""
    out = {"demo": "Demo data (synthetic)"}
    if os.environ.get("ECGCORE_DATA_ROOT"):
        out["env"] = "PTB-XL (environment)"
    if settings.get("data_root"):
        out["saved"] = "PTB-XL (set on Home)"
    return out


def set_choice(name: str, value) -> None:
    """Set a sidebar choice (``sb_source``, ``sb_fs``, ``sb_label_set``, ``sb_skip_bad``) from a
    callback, e.g. Home's "Use this folder"."""
    st.session_state.setdefault("_sb_shadow", {})[name] = value
    st.session_state[name] = value


def _changed(name: str) -> None:
    """A sidebar widget changed: keep its value in the shadow (and remember the dataset source)."""
    st.session_state.setdefault("_sb_shadow", {})[name] = st.session_state[name]
    if name == "sb_source":
        app_settings.save_settings(source=st.session_state[name])


def _restore_sidebar(sources: dict, settings: dict) -> None:
    """Give the sidebar widgets their values before they are drawn.

    The values are kept in a shadow dict as well as under the widget keys, so that a choice survives
    anything that makes Streamlit forget a widget's state (a widget not drawn in one run, a change of
    the page-script hash) instead of falling back to the defaults.
    """
    shadow = st.session_state.setdefault("_sb_shadow", {})
    if shadow.get("sb_source") not in sources:
        preferred = settings.get("source")
        shadow["sb_source"] = (
            preferred
            if preferred in sources
            else "env"
            if "env" in sources
            else "saved"
            if "saved" in sources
            else "demo"
        )
    for name, value in shadow.items():
        st.session_state[name] = value


def _draw_frame() -> Frame:
    settings, warning = app_settings.read_settings()
    sources = _sources(settings)
    _restore_sidebar(sources, settings)
    with st.sidebar:
        st.subheader("Data choice")
        source = st.selectbox(
            "Dataset",
            list(sources),
            format_func=sources.get,
            key="sb_source",
            on_change=_changed,
            args=("sb_source",),
            help="Set a PTB-XL folder on the Home page.",
        )
        folder = {"env": os.environ.get("ECGCORE_DATA_ROOT"), "saved": settings.get("data_root")}.get(source)
        st.caption(
            f"{app_settings.source_words(source)}" + (f": `{folder}`" if folder else ""),
            help="Where the data of every page comes from.",
        )
        sampling_rate = st.selectbox(
            "Sampling rate (Hz)",
            SAMPLING_RATES,
            key="sb_fs",
            on_change=_changed,
            args=("sb_fs",),
            help="500 Hz needs the records500/ files.",
        )
        label_set = st.selectbox(
            "Label set",
            LABEL_SETS,
            key="sb_label_set",
            on_change=_changed,
            args=("sb_label_set",),
            help="superclass: NORM, MI, STTC, CD, HYP; subclass: PTB-XL's diagnostic subclasses.",
        )
        skip_bad = st.checkbox(
            "Leave out unreadable or missing records",
            key="sb_skip_bad",
            on_change=_changed,
            args=("sb_skip_bad",),
            help="For partial downloads: the records that cannot be read are listed on Home.",
        )
        st.caption(NOTICE)
    st.session_state["_sb_shadow"].update(
        sb_source=source, sb_fs=sampling_rate, sb_label_set=label_set, sb_skip_bad=skip_bad
    )

    root: str | None = None
    if source == "env":
        root = os.environ["ECGCORE_DATA_ROOT"]
    elif source == "saved":
        root = settings["data_root"]
    frame = Frame(source, root, int(sampling_rate), label_set, bool(skip_bad), settings_warning=warning)
    try:
        frame.ds = load_dataset(frame)
        frame.root = str(frame.ds.root)
    except ECGCoreError as e:
        frame.error = str(e)
    else:
        warm_up.dataset_tables(ds_key(frame.ds), frame.ds, _WARM_TABLES)
    _banner(frame)
    return frame


_WARM_TABLES = (  # the cached tables of Home and Dataset, computed ahead by app_pages.warm_up
    lambda d, k: record_table(d, k),
    lambda d, k: dataset_facts(d, k),
    lambda d, k: fold_summary(d, k, DEFAULT_PLAN),
    lambda d, k: patient_overlap(d, k, DEFAULT_PLAN),
)


def _banner(frame: Frame) -> None:
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        if frame.ds is not None:
            if frame.ds.is_demo:
                st.badge(
                    "DEMO DATA",
                    icon=":material/science:",
                    color="orange",
                    help="Synthetic records in PTB-XL format: numbers say nothing about real ECGs.",
                )
            else:
                st.badge("PTB-XL", icon=":material/database:", color="blue")
            st.caption(f"Dataset: {frame.ds.description} · label set {frame.ds.label_set}")
        else:
            st.badge("NO DATASET", icon=":material/error:", color="red")
            st.caption("The chosen dataset could not be loaded (see below).")
    st.caption(f":material/info: {NOTICE}")
    if frame.settings_warning:
        st.warning(frame.settings_warning, icon=":material/settings_alert:")


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


# ----------------------------------------------------------------------------- the run picker


def fold_label(plan_fold: tuple[str, int]) -> str:
    """'fold 2', or 'fold 0 (benchmark)' for a run of another plan than cv5."""
    plan, fold = plan_fold
    return f"fold {fold}" + ("" if plan == DEFAULT_PLAN else f" ({plan})")


def run_choice(run: RunInfo) -> str:
    """How the run picker names a run group: ``cnn1d`` for the default run, ``cnn1d:<run_name>`` otherwise."""
    return run.model if run.run_name == DEFAULT_RUN else f"{run.model}:{run.run_name}"


def pick_run(runs: Sequence[RunInfo], prefix: str, columns: Sequence, label_set: str | None = None) -> RunInfo:
    """The run picker: select boxes for label set (only when ``label_set`` is given: it is preselected),
    model (named runs as ``model:run_name``, :func:`run_choice`) and fold, one per column of ``columns``,
    keyed ``<prefix>_label_set``, ``<prefix>_model`` and ``<prefix>_fold``. ``runs`` must not be empty;
    returns the chosen run."""
    cols = iter(columns)
    if label_set is not None:
        label_sets = sorted({r.label_set for r in runs})
        chosen = next(cols).selectbox(
            "Label set",
            label_sets,
            key=f"{prefix}_label_set",
            index=label_sets.index(label_set) if label_set in label_sets else 0,
        )
        runs = [r for r in runs if r.label_set == chosen]
    choices = sorted({run_choice(r) for r in runs}, key=lambda c: (c.split(":")[0], ":" in c, c))
    model = next(cols).selectbox("Model", choices, key=f"{prefix}_model")
    folds = {(r.plan, r.fold): r for r in runs if run_choice(r) == model}
    plan_fold = next(cols).selectbox("Fold", sorted(folds), key=f"{prefix}_fold", format_func=fold_label)
    return folds[plan_fold]


# ----------------------------------------------------------------------------- small layout helpers


def show_error(e: Exception) -> None:
    """A user-caused error as a message (never a traceback)."""
    st.error(str(e), icon=":material/error:")


def label_badges(labels: list[str], empty: str = "no label in this label set") -> str:
    """Markdown badges for label names."""
    if not labels:
        return f":gray-badge[{empty}]"
    return " ".join(f":red-badge[{name}]" for name in labels)


def percent(v: float | None) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.3f}"


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
def _records_csv(path: str, stamp: int) -> pd.DataFrame:
    from ecgcore.outcomes import read_records_csv

    return read_records_csv(Path(path))


def run_records_csv(run_path: Path) -> pd.DataFrame:
    """records.csv of a run (``ecgcore.outcomes``; ResultsError if absent or corrupt), cached by mtime."""
    return _records_csv(str(run_path), mtime(Path(run_path) / "records.csv"))


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


@st.cache_data(show_spinner=False, max_entries=16)
def confusion_png(matrices: dict, thresholds: dict) -> bytes:
    """The confusion PNG of exactly the matrices shown (``figures.confusion_png_bytes``), cached."""
    from ecgcore.figures import confusion_png_bytes

    return confusion_png_bytes(matrices, thresholds)


@st.cache_data(show_spinner=False, max_entries=8)
def confusion_template(names: tuple[str, ...]) -> dict:
    """``figures.confusion_figure`` of these classes as a dict, to restyle (``results.confusion_view``)."""
    from ecgcore.figures import confusion_figure

    zero = [[0, 0], [0, 0]]
    return confusion_figure(dict.fromkeys(names, zero), dict.fromkeys(names, 0.5)).to_dict()
