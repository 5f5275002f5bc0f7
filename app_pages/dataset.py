"""Dataset: filter and search the records, look at one record on ECG paper (and its patient's other
records), send it to the Saliency page, and check that the folds are balanced and patient-disjoint."""

import streamlit as st

from app_pages import common
from ecgcore.app import records
from ecgcore.app import summary as app_summary
from ecgcore.errors import ECGCoreError
from ecgcore.figures import ecg_paper_figure, label_distribution_figure
from ecgcore.folds import PLANS

frame = common.page_frame()
ds = common.require_dataset(frame)
key = common.ds_key(ds)
table = common.record_table(ds, key)
st.title("Dataset")


def _record_view(i: int, stacked: bool, action_column) -> None:
    """One record on ECG paper with its labels, report, metadata and patient."""
    info = records.record_details(ds, i)

    def _explain() -> None:
        st.session_state["explain_ecg_id"] = info["ecg_id"]

    if action_column.button(
        "Explain this record",
        icon=":material/visibility:",
        on_click=_explain,
        help="Open it on the Saliency page with a trained model.",
    ):
        st.switch_page(common.SALIENCY, query_params={"ecg_id": info["ecg_id"]})

    fig = ecg_paper_figure(
        ds.signals[i],
        ds.sampling_rate,
        layout="stacked" if stacked else "3x4",
        title=f"ecg_id {info['ecg_id']} · patient {info['patient_id']}",
    )
    left, right = st.columns([3, 1])
    left.plotly_chart(fig, key="ds_ecg", config={"displaylogo": False})
    with right:
        st.markdown(f"**Labels ({ds.label_set})**  \n" + common.label_badges(info["labels"]))
        st.markdown("**Report**  \n" + (info["report"] or "—"))
        st.markdown(
            f"**Patient** {info['patient_id']} · **age** {info['age'] if info['age'] is not None else '—'} · "
            f"**sex** {info['sex']} · **strat fold** {info['strat_fold']}"
        )
        st.markdown("**SCP codes** (likelihood %)")
        st.dataframe([{"code": k, "likelihood": v} for k, v in info["scp_codes"].items()], hide_index=True)
        st.caption(f"File: `{info['file']}`")

    if info["patient_id"] is not None:
        mine = records.patient_records(ds, info["patient_id"])
        st.subheader(f"Patient {info['patient_id']}: {len(mine)} record{'s' if len(mine) != 1 else ''}")
        st.dataframe(mine, hide_index=True)
        st.caption("All records of one patient share a strat fold, so a patient is never in two parts of a fold.")


records_tab, folds_tab = st.tabs(["Records", "Folds and balance"])

# ----------------------------------------------------------------------------- records
with records_tab:
    lo, hi = records.age_bounds(ds)
    with st.container(border=True):
        c1, c2, c3 = st.columns([3, 2, 2])
        labels = c1.multiselect("Labels", [*ds.label_names, records.NO_LABEL], key="ds_labels", placeholder="any label")
        mode = c1.radio(
            "Records with",
            ["any", "all"],
            horizontal=True,
            key="ds_label_mode",
            format_func={"any": "any of these labels", "all": "all of these labels"}.get,
        )
        strat = c2.multiselect("Strat folds", list(range(1, 11)), key="ds_folds", placeholder="all folds")
        sexes = c2.multiselect("Sex", ["male", "female", records.UNKNOWN], key="ds_sex", placeholder="all")
        age = c3.slider(
            "Age (years)",
            lo,
            max(hi, lo + 1),
            (lo, max(hi, lo + 1)),
            key="ds_age",
            help="PTB-XL writes 300 for patients over 89.",
        )
        unknown_age = c3.checkbox("Include records without an age", value=True, key="ds_unknown_age")
        c4, c5 = st.columns(2)
        text = c4.text_input("Words in the report", key="ds_text", placeholder="e.g. sinus rhythm")
        ids = c5.text_input("Patient or ecg id", key="ds_ids", placeholder="e.g. 17 or 15709, 21837")
    try:
        rows = records.filter_records(ds, records.RecordFilter(labels, mode, strat, sexes, age, unknown_age, text, ids))
    except ECGCoreError as e:
        common.show_error(e)
        st.stop()
    shown = table.iloc[rows]
    st.session_state["_ds_shown_ids"] = shown["ecg_id"].tolist()

    def _pick_row() -> None:
        picked = st.session_state["ds_table"].selection.rows
        ids_shown = st.session_state.get("_ds_shown_ids", [])
        if picked and picked[0] < len(ids_shown):
            st.session_state["ds_ecg_id"] = int(ids_shown[picked[0]])

    st.caption(f"**{len(rows):,}** of {len(table):,} records match · click a row to view it")
    st.dataframe(
        shown,
        hide_index=True,
        height=280,
        key="ds_table",
        on_select=_pick_row,
        selection_mode="single-row",
        column_config={
            "report": st.column_config.TextColumn(width="large"),
            "age": st.column_config.NumberColumn(format="%d"),
        },
    )

    # ------------------------------------------------------------------------- one record
    incoming = st.query_params.get("ecg_id")  # a link such as /dataset?ecg_id=17 opens that record
    if incoming is not None and incoming != st.session_state.get("_ds_applied"):
        st.session_state["_ds_applied"] = incoming
        if incoming.isdigit() and records.record_index(ds, int(incoming)) is not None:
            st.session_state["ds_ecg_id"] = int(incoming)
        else:
            st.warning(f"Record {incoming} is not in this dataset.")
    if "ds_ecg_id" not in st.session_state:
        st.session_state["ds_ecg_id"] = int(shown["ecg_id"].iloc[0]) if len(shown) else int(table["ecg_id"].iloc[0])
    st.subheader("Record")
    c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
    ecg_id = c1.number_input("ecg_id", min_value=0, step=1, key="ds_ecg_id")
    if st.query_params.get("ecg_id") != str(ecg_id):
        st.query_params["ecg_id"] = str(ecg_id)  # a shareable link to this record
        st.session_state["_ds_applied"] = str(ecg_id)
    stacked = c2.toggle(
        "Stacked view",
        key="ds_stacked",
        help="All 12 leads full length, one under another (instead of the 3×4 print with a lead-II rhythm strip).",
    )
    i = records.record_index(ds, ecg_id)
    if i is None:
        st.warning(f"No record with ecg_id {ecg_id} in this dataset.")
    else:
        _record_view(i, stacked, c3)

# ----------------------------------------------------------------------------- folds
with folds_tab:
    facts = common.dataset_facts(ds, key)
    c1, c2 = st.columns(2)
    plan = c1.selectbox("Fold plan", list(PLANS), format_func=lambda p: PLANS[p].description, key="ds_plan")
    overlap = common.patient_overlap(ds, key, plan)
    summary = common.fold_summary(ds, key, plan)
    n_folds = len(PLANS[plan].folds)
    m1, m2, m3 = st.columns(3)
    m1.metric(
        "Patients shared between train/val/test",
        app_summary.shared_patients(overlap),
        help="Summed over all folds of the plan; 0 means the parts are patient-disjoint.",
    )
    m2.metric("Patients in more than one strat fold", facts["patients_in_several_strat_folds"])
    m3.metric("Labelled records used", f"{facts['summary']['labelled']:,}")
    view = c2.radio(
        "Label distribution",
        ["strat", "parts"],
        horizontal=True,
        key="ds_dist_view",
        format_func={"strat": "per strat fold (1–10)", "parts": "per part of one fold"}.get,
    )
    if view == "parts":
        fold = st.selectbox("Fold", list(range(n_folds)), key="ds_dist_fold")
        counts = app_summary.part_counts(summary, fold)
    else:
        counts = facts["strat"]
    st.plotly_chart(label_distribution_figure(counts), key="ds_dist")
    st.caption(
        "Similar bar heights within a label mean the folds are balanced (PTB-XL's strat folds are "
        "stratified by label and grouped by patient)."
    )
    st.markdown("**Patients per part, and shared between parts**")
    st.dataframe(overlap, hide_index=True)
    st.markdown("**Records and label counts per fold and part**")
    st.dataframe(summary, hide_index=True)
