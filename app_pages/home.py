"""Home: which dataset is used (and where to set a PTB-XL folder), its summary, what has been trained,
and clearing the data cache."""

import streamlit as st

from app_pages import cache, common
from ecgcore import download_jobs
from ecgcore.app import progress as run_progress
from ecgcore.app import runs_view
from ecgcore.app import settings as app_settings
from ecgcore.app.words import MISSING_NOTE, for_people, last_download
from ecgcore.download import default_out
from ecgcore.errors import ECGCoreError
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.run_paths import runs_root
from ecgcore.runs import list_runs


def _use_folder() -> None:
    try:
        root = app_settings.check_data_root(st.session_state.get("home_folder", ""))
    except ECGCoreError as e:
        st.session_state["home_message"] = ("error", str(e))
        return
    app_settings.save_settings(data_root=str(root), source="saved")
    common.set_choice("sb_source", "saved")
    st.session_state["home_message"] = ("success", f"Using {root} (remembered for the next start).")


def _use_demo() -> None:
    app_settings.save_settings(source="demo")
    common.set_choice("sb_source", "demo")


def _forget_folder() -> None:
    app_settings.save_settings(data_root=None, source=None)
    if st.session_state.get("sb_source") == "saved":
        st.session_state.get("_sb_shadow", {}).pop("sb_source", None)
        st.session_state.pop("sb_source", None)
    st.session_state["home_folder"] = ""


def _clear_cache() -> None:
    removed = app_settings.clear_signal_cache()
    st.cache_data.clear()
    st.cache_resource.clear()
    st.session_state["home_message"] = (
        "success",
        f"Data cache cleared ({removed} file(s)); the data is read again now.",
    )


def _cache_section() -> None:
    st.header("Data cache", divider="gray")
    st.caption(
        "The first load of a dataset reads every record once into a signal cache (a progress bar shows it); "
        "later loads memory-map it. Clearing it frees disk space and forces a fresh read."
    )
    st.button("Clear data cache", on_click=_clear_cache, icon=":material/delete_sweep:")


# ----------------------------------------------------------------------------- download
RATES = {"100": "100 Hz (records100/, ~1 GB)", "500": "500 Hz (records500/, ~2 GB)", "all": "both (~3 GB)"}
DOWNLOAD_POLL_S = 1.0


def _start_download() -> None:
    try:
        download_jobs.start_download(default_out(), sampling_rate=st.session_state.get("home_dl_rate", "100"))
    except ECGCoreError as e:
        st.session_state["home_dl_message"] = ("error", str(e))


def _cancel_download() -> None:
    state = download_jobs.cancel_download(default_out(), grace_s=5.0)
    st.session_state["home_dl_message"] = ("success", f"Download {state}; start it again to continue.")


def _use_download() -> None:
    st.session_state["home_folder"] = str(default_out())
    _use_folder()


def _download_body(active: bool, frame_root: str | None) -> None:
    status = download_jobs.download_status(default_out())
    now_active = status is not None and status.state in ("queued", "running")
    if now_active != active:
        st.rerun()  # started or finished: a full rerun starts or stops the polling
    message = st.session_state.pop("home_dl_message", None)
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])
    if status is None:
        return
    if now_active:
        st.progress(status.fraction, text=run_progress.download_text(status))
        st.button("Cancel download", icon=":material/stop:", key="home_dl_cancel", on_click=_cancel_download)
    elif status.state == "done":
        st.success(f"Downloaded and verified: {run_progress.download_text(status)} in `{status.out}`.")
        if not app_settings.holds_ptbxl(status.out):
            st.info(
                f"The downloaded folder `{status.out}` is gone or no longer holds ptbxl_database.csv; "
                "download PTB-XL again to use it.",
                icon=":material/folder_off:",
            )
        elif frame_root != status.out:
            st.button("Use the downloaded folder", type="primary", key="home_dl_use", on_click=_use_download)
    else:
        st.warning(f"{last_download(status.state)}: {status.message or run_progress.download_text(status)}")


def download_section(frame_root: str | None) -> None:
    """Download PTB-XL in the background (a process that outlives reruns and page switches; its state
    is on disk), polled while it runs; when done, offer to switch to the new folder."""
    status = download_jobs.download_status(default_out())
    active = status is not None and status.state in ("queued", "running")
    with st.expander(
        "Download PTB-XL from PhysioNet", expanded=active or status is not None, icon=":material/download:"
    ):
        st.caption(
            f"Into `{default_out()}` — every file checked against the release's SHA256SUMS.txt; an interrupted "
            "download continues where it stopped. Also: `python -m ecgcore download`."
        )
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        c1.radio("Sampling rate", list(RATES), format_func=RATES.get, horizontal=True, key="home_dl_rate")
        c2.button(
            "Download PTB-XL",
            icon=":material/download:",
            key="home_dl_start",
            on_click=_start_download,
            disabled=active,
        )
        st.fragment(run_every=DOWNLOAD_POLL_S if active else None)(_download_body)(active, frame_root)


# ----------------------------------------------------------------------------- dataset choice


def dataset_choice(frame) -> None:
    """The PTB-XL folder box with Use this folder / Use demo data / Forget the saved folder."""
    st.header("Dataset", divider="gray")
    settings, settings_warning = app_settings.read_settings()
    if "home_folder" not in st.session_state:
        st.session_state["home_folder"] = settings.get("data_root") or ""
    with st.container(border=True):
        st.markdown(
            "**Use a PTB-XL folder** (the folder holding `ptbxl_database.csv`, `scp_statements.csv` and "
            "`records100/`; download it below or from [PhysioNet](https://physionet.org/content/ptb-xl/1.0.3/)). "
            + app_settings.home_folder_hint(frame.source, frame.root, frame.ds is not None and frame.ds.is_demo)
        )
        st.text_input("PTB-XL folder", key="home_folder", placeholder="/data/ptb-xl-1.0.3")
        with st.container(horizontal=True):
            st.button("Use this folder", type="primary", on_click=_use_folder, icon=":material/folder_open:")
            st.button("Use demo data", on_click=_use_demo, icon=":material/science:")
            if settings.get("data_root") or settings_warning:  # a broken settings file can be reset here
                st.button("Forget the saved folder", on_click=_forget_folder, icon=":material/delete:")
        st.caption(
            f"The choice is stored in `{app_settings.settings_path()}`; a folder in the environment variable "
            "ECGCORE_DATA_ROOT is offered in the sidebar too."
        )
    message = st.session_state.pop("home_message", None)
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])


def dataset_summary(ds) -> None:
    """Records, patients, labels and folds of the loaded dataset."""
    key = cache.ds_key(ds)
    facts = cache.dataset_facts(ds, key)
    summary = facts["summary"]
    cols = st.columns(5)
    cols[0].metric("Records", f"{summary['records']:,}")
    cols[1].metric("Patients", f"{summary['patients']:,}")
    cols[2].metric(
        "With a label",
        f"{summary['labelled']:,}",
        help=f"in the {ds.label_set} label set; the others are browsable only",
    )
    cols[3].metric("Strat folds", summary["strat_folds"])
    cols[4].metric("Sampling rate", f"{ds.sampling_rate} Hz")
    if ds.is_demo:
        st.info(
            "This is **synthetic demo data** in PTB-XL format: it shows how the app works; its numbers say "
            "nothing about real ECGs. Set a PTB-XL folder above to use real data.",
            icon=":material/science:",
        )
    if ds.skipped:
        with st.expander(f"{len(ds.skipped)} record(s) left out (unreadable or missing)"):
            rows = [{"ecg_id": s.ecg_id, "file": s.path, "reason": s.reason} for s in ds.skipped]
            st.dataframe(rows, hide_index=True)
    left, right = st.columns([2, 3])
    with left:
        st.subheader("Labels")
        st.dataframe(
            facts["labels"],
            hide_index=True,
            column_config={
                "share": st.column_config.ProgressColumn("share", format="percent", min_value=0, max_value=1)
            },
        )
    with right:
        st.subheader("Folds (5-fold patient CV)")
        st.dataframe(cache.fold_summary(ds, key, DEFAULT_PLAN), hide_index=True, height=300)
        st.caption(
            "Fold k tests on strat folds {2k+1, 2k+2}, validates on strat fold 10 (or 1), trains on the rest. "
            "Details and the balance check are on the Dataset page."
        )
        if ds.fold_note:
            st.warning(ds.fold_note, icon=":material/warning:")


def trained_models(ds) -> None:
    """What has been trained on this dataset (a runs folder that cannot be read is said in one line)."""
    st.header("Trained models", divider="gray")
    try:
        runs = list_runs(dataset=ds.name)
    except (ECGCoreError, OSError) as e:
        st.error(f"The runs folder {runs_root()} cannot be read: {e}", icon=":material/folder_off:")
        runs = []
    if not runs:
        st.info(f"Nothing trained on this dataset yet (runs are kept in `{runs_root()}`).")
    else:
        st.dataframe(
            runs_view.with_dashes(runs_view.trained_overview(runs)),
            hide_index=True,
            column_config={
                c: st.column_config.NumberColumn(format="%.3f")
                for c in ("test macro PR-AUC (mean)", "± SD", "best fold PR-AUC")
            },
        )
        st.caption(MISSING_NOTE)
        with st.expander(f"All {len(runs)} run(s)"):
            st.dataframe(runs_view.for_display(runs_view.runs_table(runs)).drop(columns=["path"]), hide_index=True)
        for run in runs:
            if run.damage:
                st.error(for_people(run.damage), icon=":material/broken_image:")
    with st.container(horizontal=True):
        st.page_link(common.TRAIN, label="Train a model", icon=":material/model_training:")
        st.page_link(common.EVALUATE, label="Evaluate", icon=":material/analytics:")


def page() -> None:
    frame = common.page_frame()
    st.title("ECG explorer")
    st.markdown(
        "Multi-label ECG classification on **PTB-XL**: browse records, train 1D/2D CNNs on patient-disjoint "
        "folds, evaluate them, and see which parts of an ECG a model looked at."
    )
    dataset_choice(frame)
    download_section(frame.root)
    if frame.ds is None:
        st.error(frame.error)
        _cache_section()
        st.stop()
    dataset_summary(frame.ds)
    trained_models(frame.ds)
    _cache_section()


page()
