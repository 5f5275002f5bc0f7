"""Dataset: filter and search the records, look at one record on ECG paper (and its patient's other
records), send it to the Saliency page, and check that the folds are balanced and patient-disjoint."""

import functools
import hashlib

import streamlit as st
import streamlit.components.v1 as components

from app_pages import cache, common
from ecgcore.app import records
from ecgcore.app import summary as app_summary
from ecgcore.app.words import LANGUAGE_NAMES
from ecgcore.errors import ECGCoreError
from ecgcore.figures.ecg import PAGE_WIDTH_PX, ecg_paper_figure
from ecgcore.figures.records import label_distribution_figure
from ecgcore.folds import DEFAULT_PLAN, PLANS, fold_testing_record

FILTERS = ("ds_labels", "ds_label_mode", "ds_folds", "ds_sex", "ds_age", "ds_unknown_age", "ds_text", "ds_ids")


def _age_range(ds) -> tuple[int, int]:
    lo, hi = records.age_bounds(ds)
    return lo, max(hi, lo + 1)


def _options(ds) -> dict:
    return {"ds_labels": [*ds.label_names, records.NO_LABEL], "ds_folds": list(range(1, 11))}


def _defaults(ds) -> dict:
    return {
        "ds_labels": [],
        "ds_label_mode": "any",
        "ds_folds": [],
        "ds_sex": [],
        "ds_age": _age_range(ds),
        "ds_unknown_age": True,
        "ds_text": "",
        "ds_ids": "",
    }


def _restore_filters(ds) -> None:
    """Filters and the selection survive a visit to another page: kept under the non-widget key
    ``_ds_keep`` (Streamlit forgets the state of widgets not drawn), checked against this dataset."""
    (lo, hi), options, defaults = _age_range(ds), _options(ds), _defaults(ds)
    keep = st.session_state.setdefault("_ds_keep", {})
    if st.session_state.pop("_ds_clear", False):
        keep.clear()
        for k in FILTERS:
            st.session_state.pop(k, None)
    for k in FILTERS:
        if k in st.session_state:
            continue
        value = keep.get(k, defaults[k])
        if k in options:
            value = [v for v in value if v in options[k]]
        if k == "ds_age" and not (lo <= value[0] <= value[1] <= hi):
            value = defaults[k]
        st.session_state[k] = value


def _open(ecg_id: int) -> None:
    """Open a record (a link, a typed id, a patient-table row); filters that exclude it are cleared."""
    st.session_state["_ds_current"] = int(ecg_id)
    st.session_state["_ds_force"] = True


def _step(step: int) -> None:
    ids = st.session_state.get("_ds_shown_ids", [])
    st.session_state["_ds_current"] = records.step_within(ids, st.session_state.get("_ds_current"), step)


def _typed() -> None:
    """The ecg_id box: its −/+ move within the filtered list; a typed id opens that record."""
    value, current = st.session_state["ds_ecg_id"], st.session_state.get("_ds_current")
    if current is not None and value in (current - 1, current + 1):
        _step(value - current)
    else:
        _open(value)


def _pick_row(key: str) -> None:
    picked = st.session_state[key].selection.rows
    ids = st.session_state.get("_ds_shown_ids", [])
    if picked and picked[0] < len(ids):
        st.session_state["_ds_current"] = int(ids[picked[0]])
        st.session_state["_ds_scroll"] = True


def _pick_patient_row() -> None:
    picked = st.session_state["ds_patient_table"].selection.rows
    ids = st.session_state.get("_ds_patient_ids", [])
    if picked and picked[0] < len(ids):
        _open(int(ids[picked[0]]))


def _filters(ds) -> records.RecordFilter:
    (lo, hi), options = _age_range(ds), _options(ds)
    with st.container(border=True):
        c1, c2, c3 = st.columns([3, 2, 2])
        labels = c1.multiselect("Labels", options["ds_labels"], key="ds_labels", placeholder="any label")
        mode = c1.radio(
            "Records with",
            ["any", "all"],
            horizontal=True,
            key="ds_label_mode",
            format_func={"any": "any of these labels", "all": "all of these labels"}.get,
        )
        strat = c2.multiselect("Strat folds", options["ds_folds"], key="ds_folds", placeholder="all folds")
        sexes = c2.multiselect("Sex", ["male", "female", records.UNKNOWN], key="ds_sex", placeholder="all")
        age = c3.slider("Age (years)", lo, hi, key="ds_age", help="PTB-XL writes 300 for patients over 89.")
        unknown_age = c3.checkbox("Include records without an age", key="ds_unknown_age")
        c4, c5 = st.columns(2)
        text = c4.text_input(
            "Words in the report",
            key="ds_text",
            placeholder="e.g. infarct (finds 'infarkt' too)",
            help="German and English wording alike (infarct/infarkt, sinus rhythm/sinusrhythmus, "
            "ischaemia/ischämie, …), with or without umlauts.",
        )
        ids = c5.text_input("Patient or ecg id", key="ds_ids", placeholder="e.g. 17 or 15709, 21837")
    st.session_state["_ds_keep"].update({k: st.session_state[k] for k in FILTERS})
    return records.RecordFilter(labels, mode, strat, sexes, age, unknown_age, text, ids)


def _current(ds, shown_ids: list[int]) -> int | None:
    """The record to draw: the chosen one if the filtered list holds it; one opened on purpose clears
    the filters (a rerun); otherwise the first of the list (the old one is no longer in it)."""
    incoming = st.query_params.get("ecg_id")  # a link such as /dataset?ecg_id=17 opens that record
    if incoming is not None and incoming != st.session_state.get("_ds_applied"):
        st.session_state["_ds_applied"] = incoming
        if incoming.isdigit() and records.record_index(ds, int(incoming)) is not None:
            _open(int(incoming))
        else:
            st.warning(f"Record {incoming} is not in this dataset.")
    current = st.session_state.get("_ds_current")
    force = st.session_state.pop("_ds_force", False)
    if current in shown_ids:
        return current
    if force and current is not None and records.record_index(ds, current) is not None:
        st.session_state["_ds_clear"] = True
        st.session_state["_ds_note"] = f"Filters cleared to show ecg_id {current}, which they excluded."
        st.rerun()
    if force and current is not None:
        st.warning(f"No record with ecg_id {current} in this dataset.")
    picked = shown_ids[0] if shown_ids else None
    st.session_state["_ds_current"] = picked
    return picked


def _labels_and_codes(ds, info: dict) -> None:
    rows = records.code_rows(info["scp_codes"], cache.statements(str(ds.root), cache.ds_key(ds)), ds.label_set)
    sources = records.label_sources(rows)
    badges = " ".join(f":red-badge[{name} ← {', '.join(sources.get(name, []))}]" for name in info["labels"])
    st.markdown(f"**Labels ({ds.label_set})** " + (badges or ":gray-badge[no label in this label set]"))
    st.dataframe(
        rows,
        hide_index=True,
        column_config={"meaning": st.column_config.TextColumn(width="medium")},
        key="ds_codes",
    )
    st.caption(
        "SCP codes with their likelihood (%) as PTB-XL gives it; a likelihood of 0 means **not given** "
        "(the statement holds, its likelihood was not recorded). Codes that are not diagnostic (rhythm such "
        "as flutter, form, axis) give no label; they are listed as codes. Meanings from scp_statements.csv."
    )


def _record_view(ds, table, i: int, stacked: bool) -> None:
    """One record on ECG paper (full width), its labels with the codes behind them, report and patient."""
    info = records.record_details(ds, i)
    fig = ecg_paper_figure(
        ds.signals[i],
        ds.sampling_rate,
        layout="stacked" if stacked else "3x4",
        title=f"ecg_id {info['ecg_id']} · patient {info['patient_id']}",
        width=PAGE_WIDTH_PX,  # the full main column of a 1600×1000 window: 4.3 px per mm of paper
    )
    st.plotly_chart(fig, key="ds_ecg", config={"displaylogo": False}, width="content")
    left, right = st.columns([3, 2])
    with left:
        _labels_and_codes(ds, info)
    with right:
        lang = records.LANGUAGES.get(records.report_language(info["report"]), LANGUAGE_NAMES["unknown"])
        report, repaired = records.repair_report(info["report"])
        st.markdown(f"**Report** ({lang})  \n" + (report or "—"))
        if repaired:
            st.caption(f":material/build: {repaired}.")
        st.markdown(
            f"**Patient** {info['patient_id']} · **age** {info['age'] if info['age'] is not None else '—'} · "
            f"**sex** {info['sex']} · **strat fold** {info['strat_fold']}"
        )
        st.caption(f"File: `{info['file']}` · {ds.description}")

    if info["patient_id"] is not None:
        mine = records.patient_records(ds, info["patient_id"], table)
        st.session_state["_ds_patient_ids"] = mine["ecg_id"].tolist()
        st.subheader(f"Patient {info['patient_id']}: {len(mine)} record{'s' if len(mine) != 1 else ''}")
        st.dataframe(
            mine,
            hide_index=True,
            key="ds_patient_table",
            on_select=_pick_patient_row,
            selection_mode="single-row",
        )
        st.caption(
            "Click a row to open that record. All records of one patient share a strat fold, so a patient "
            "is never in two parts of a fold."
        )


def records_list(ds, table) -> tuple[list[int], int | None]:
    """The filters and the filtered table; returns the shown ecg_ids and the record to draw (the page
    stops on bad filter input)."""
    _restore_filters(ds)
    note = st.session_state.pop("_ds_note", None)
    if note:
        st.info(note, icon=":material/filter_alt_off:")
    try:
        rows = records.filter_records(ds, _filters(ds))
    except ECGCoreError as e:
        common.show_error(e)
        st.stop()
    shown = table.iloc[rows]
    shown_ids = [int(x) for x in shown["ecg_id"]]
    st.session_state["_ds_shown_ids"] = shown_ids
    current = _current(ds, shown_ids)
    table_key = "ds_table_" + hashlib.sha1(repr(sorted(st.session_state["_ds_keep"].items())).encode()).hexdigest()[:10]
    st.caption(f"**{len(rows):,}** of {len(table):,} records match · click a row to view it · {ds.description}")
    st.dataframe(
        shown,
        hide_index=True,
        height=280,
        key=table_key,  # a new filter is a new table: no row stays ticked that the filters left out
        on_select=functools.partial(_pick_row, table_key),
        selection_mode="single-row",
        column_config={
            "report": st.column_config.TextColumn(width="large"),
            "age": st.column_config.NumberColumn(format="%d"),
            "language": st.column_config.TextColumn(
                help="de / en / sv (German, English, Swedish) from the report's wording; empty: not known"
            ),
        },
    )
    return shown_ids, current


def _explain(current: int) -> None:
    st.session_state["explain_ecg_id"] = current


def _explain_button(ds, current: int) -> None:
    """ "Explain this record": Saliency on a fold whose TEST part holds the record (so the model has never
    seen it); a record in no test part (unlabelled) says so and opens without a fold."""
    fold = fold_testing_record(ds.records, ds.labels.any(axis=1), current, DEFAULT_PLAN)
    params = {"ecg_id": current} | ({} if fold is None else {"fold": fold, "plan": DEFAULT_PLAN})
    left, right = st.columns([1, 3], vertical_alignment="center")
    if left.button(
        "Explain this record",
        icon=":material/visibility:",
        on_click=_explain,
        args=(current,),
        help="Open it on the Saliency page with a model whose test part holds it.",
    ):
        st.switch_page(common.SALIENCY, query_params=params)
    right.caption(
        f"Opens fold {fold} of the 5-fold plan: its test part holds this record, so the model has never seen it."
        if fold is not None
        else "This record is in no test part (it has no label in this label set): it opens without a fold."
    )


def _scroll_to_record() -> None:
    """After a row click, scroll the page to the record (the table is above it)."""
    if st.session_state.pop("_ds_scroll", False):
        components.html(
            "<script>const a = window.parent.document.getElementById('ds-record');"
            "if (a) a.scrollIntoView({behavior: 'instant', block: 'start'});</script>",
            height=0,
        )


def one_record(ds, table, shown_ids: list[int], current: int | None) -> None:
    """Previous/next, the ecg_id box, the stacked toggle, "Explain this record" and the record itself."""
    st.html("<div id='ds-record'></div>")
    st.subheader("Record")
    _scroll_to_record()
    if current is None:
        st.info("No record matches these filters; change them to see one.")
        st.stop()
    if st.query_params.get("ecg_id") != str(current):
        st.query_params["ecg_id"] = str(current)  # a shareable link to this record
        st.session_state["_ds_applied"] = str(current)
    st.session_state["ds_ecg_id"] = current
    position = shown_ids.index(current)
    c1, c2, c3, c4, c5 = st.columns([1, 1, 2, 2, 2], vertical_alignment="bottom")
    c1.button(
        "Previous", icon=":material/chevron_left:", key="ds_prev", on_click=_step, args=(-1,), disabled=position == 0
    )
    c2.button(
        "Next",
        icon=":material/chevron_right:",
        key="ds_next",
        on_click=_step,
        args=(1,),
        disabled=position == len(shown_ids) - 1,
    )
    c3.number_input(
        "ecg_id", min_value=0, step=1, key="ds_ecg_id", on_change=_typed, help="−/+ move within the filtered list."
    )
    c4.caption(f"record {position + 1:,} of {len(shown_ids):,} in the filtered list")
    stacked = c5.toggle(
        "Stacked view",
        key="ds_stacked",
        help="All 12 leads full length, one under another (instead of the 3×4 print with a lead-II rhythm strip).",
    )
    _explain_button(ds, current)
    _record_view(ds, table, records.record_index(ds, current), stacked)


def folds_and_balance(ds, key: tuple) -> None:
    """Patient-disjointness and label balance of a fold plan."""
    if ds.fold_note:
        st.warning(ds.fold_note, icon=":material/warning:")
    facts = cache.dataset_facts(ds, key)
    c1, c2 = st.columns(2)
    plan = c1.selectbox("Fold plan", list(PLANS), format_func=lambda p: PLANS[p].description, key="ds_plan")
    overlap = cache.patient_overlap(ds, key, plan)
    summary = cache.fold_summary(ds, key, plan)
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


def page() -> None:
    frame = common.page_frame()
    ds = common.require_dataset(frame)
    key = cache.ds_key(ds)
    table = cache.record_table(ds, key)
    st.title("Dataset")
    records_tab, folds_tab = st.tabs(["Records", "Folds and balance"])
    with records_tab:
        shown_ids, current = records_list(ds, table)
        one_record(ds, table, shown_ids, current)
    with folds_tab:
        folds_and_balance(ds, key)


page()
