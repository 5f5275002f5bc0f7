"""Home: which dataset is used (and where to set a PTB-XL folder), its summary, what has been trained,
and clearing the data cache."""

import streamlit as st

from app_pages import common
from ecgcore.app import runs_view
from ecgcore.app import settings as app_settings
from ecgcore.errors import ECGCoreError
from ecgcore.runs import list_runs, runs_root

frame = common.page_frame()
st.title("ECG explorer")
st.markdown(
    "Multi-label ECG classification on **PTB-XL**: browse records, train 1D/2D CNNs on patient-disjoint "
    "folds, evaluate them, and see which parts of an ECG a model looked at."
)


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


# ----------------------------------------------------------------------------- dataset choice
st.header("Dataset", divider="gray")
settings, settings_warning = app_settings.read_settings()
if "home_folder" not in st.session_state:
    st.session_state["home_folder"] = settings.get("data_root") or ""
with st.container(border=True):
    st.markdown(
        "**Use a PTB-XL folder** (the folder holding `ptbxl_database.csv`, `scp_statements.csv` and "
        "`records100/`; download it from [PhysioNet](https://physionet.org/content/ptb-xl/1.0.3/)). "
        "Leave it empty to use the synthetic demo data."
    )
    st.text_input("PTB-XL folder", key="home_folder", placeholder="/data/ptb-xl-1.0.3")
    with st.container(horizontal=True):
        st.button("Use this folder", type="primary", on_click=_use_folder, icon=":material/folder_open:")
        st.button("Use demo data", on_click=_use_demo, icon=":material/science:")
        if settings.get("data_root") or settings_warning:  # a broken settings file can be reset here
            st.button("Forget the saved folder", on_click=_forget_folder, icon=":material/delete:")
    st.caption(f"The choice is stored in `{app_settings.settings_path()}`; `ECGCORE_DATA_ROOT` also offers a folder.")
message = st.session_state.pop("home_message", None)
if message:
    (st.error if message[0] == "error" else st.success)(message[1])

if frame.ds is None:
    st.error(frame.error)
    _cache_section()
    st.stop()
ds = frame.ds
key = common.ds_key(ds)
facts = common.dataset_facts(ds, key)
summary = facts["summary"]

cols = st.columns(5)
cols[0].metric("Records", f"{summary['records']:,}")
cols[1].metric("Patients", f"{summary['patients']:,}")
cols[2].metric(
    "With a label", f"{summary['labelled']:,}", help=f"in the {ds.label_set} label set; the others are browsable only"
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
        st.dataframe([{"ecg_id": s.ecg_id, "file": s.path, "reason": s.reason} for s in ds.skipped], hide_index=True)

left, right = st.columns([2, 3])
with left:
    st.subheader("Labels")
    st.dataframe(
        facts["labels"],
        hide_index=True,
        column_config={"share": st.column_config.ProgressColumn("share", format="percent", min_value=0, max_value=1)},
    )
with right:
    st.subheader("Folds (5-fold patient CV)")
    folds = common.fold_summary(ds, key, "cv5")
    st.dataframe(folds, hide_index=True, height=300)
    st.caption(
        "Fold k tests on strat folds {2k+1, 2k+2}, validates on strat fold 10 (or 1), trains on the rest. "
        "Details and the balance check are on the Dataset page."
    )

# ----------------------------------------------------------------------------- what has been trained
st.header("Trained models", divider="gray")
runs = list_runs(dataset=ds.name)
if not runs:
    st.info(f"Nothing trained on this dataset yet (runs are kept in `{runs_root()}`).")
else:
    st.dataframe(
        runs_view.trained_overview(runs),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in ("test macro PR-AUC (mean)", "± SD", "best fold PR-AUC")
        },
    )
    with st.expander(f"All {len(runs)} run(s)"):
        st.dataframe(runs_view.runs_table(runs).drop(columns=["path"]), hide_index=True)
with st.container(horizontal=True):
    st.page_link(common.TRAIN, label="Train a model", icon=":material/model_training:")
    st.page_link(common.EVALUATE, label="Evaluate", icon=":material/analytics:")

_cache_section()
