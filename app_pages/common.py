"""Shared Streamlit glue of the ECG explorer (not a page: st.navigation in streamlit_app.py lists the
pages, so this file is never shown as one; the folder is ``app_pages/``, not ``pages/``, because
Streamlit auto-discovers a ``pages/`` folder until a session has called st.navigation — see
streamlit_app.py).

* :func:`app_frame` — what every page shows around its content: the shared sidebar (dataset,
  sampling rate, label set), the dataset line with a DEMO badge, and the research-only notice; it
  loads the dataset, drawing a progress bar while a signal cache is built. ``streamlit_app.py`` draws
  it before running the page; a page picks it up with :func:`page_frame` (which draws it itself if a
  page file is ever run alone).
* :func:`pick_run` — the run picker (label set, model, fold) of the Evaluate page.
* :func:`show_error`, :func:`label_badges`, :func:`percent` — small layout helpers.

The cached loaders are in :mod:`app_pages.cache`; computations live in :mod:`ecgcore.app` (one module
per concern); this module only lays things out.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app_pages import cache, warm_up
from ecgcore.app import settings as app_settings
from ecgcore.data import ECGDataset
from ecgcore.errors import ECGCoreError
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.run_paths import DEFAULT_RUN, group_label
from ecgcore.runs import RunInfo

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
        frame.ds = cache.load_dataset(frame)
        frame.root = str(frame.ds.root)
    except ECGCoreError as e:
        frame.error = str(e)
    else:
        warm_up.dataset_tables(cache.ds_key(frame.ds), frame.ds, cache.WARM_TABLES)
    _banner(frame)
    return frame


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


# ----------------------------------------------------------------------------- the run picker


def fold_label(plan_fold: tuple[str, int]) -> str:
    """'fold 2', or 'fold 0 (benchmark)' for a run of another plan than cv5."""
    plan, fold = plan_fold
    return f"fold {fold}" + ("" if plan == DEFAULT_PLAN else f" ({plan})")


def run_choice(run: RunInfo) -> str:
    """How the run picker names a run group: ``cnn1d`` for the default run, ``cnn1d:<run_name>`` otherwise."""
    return run.model if run.run_name == DEFAULT_RUN else f"{run.model}:{run.run_name}"


def pick_run(
    runs: Sequence[RunInfo], prefix: str, columns: Sequence, label_set: str | None = None, label: str = "Model"
) -> RunInfo:
    """The run picker: select boxes for label set (only when ``label_set`` is given: it is preselected),
    model (its values :func:`run_choice`, shown as ``run_paths.group_label``) and fold, one per column of
    ``columns``, keyed ``<prefix>_label_set``, ``<prefix>_model`` and ``<prefix>_fold``. ``runs`` must
    not be empty; returns the chosen run. ``label`` names the run box (Evaluate calls it "Run"); a value
    already in the session state (a deep link) is kept."""
    cols = iter(columns)
    if label_set is not None:
        label_sets = sorted({r.label_set for r in runs})
        chosen = next(cols).selectbox(
            "Label set",
            label_sets,
            key=f"{prefix}_label_set",
            index=None
            if f"{prefix}_label_set" in st.session_state
            else label_sets.index(label_set)
            if label_set in label_sets
            else 0,
        )
        runs = [r for r in runs if r.label_set == chosen]
    shown = {run_choice(r): group_label(r.model, r.run_name) for r in runs}
    choices = sorted(shown, key=lambda c: (c.split(":")[0], ":" in c, c))
    if st.session_state.get(f"{prefix}_model") not in (None, *choices):
        del st.session_state[f"{prefix}_model"]  # a run of another label set: start from the first
    model = next(cols).selectbox(label, choices, key=f"{prefix}_model", format_func=shown.get)
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
