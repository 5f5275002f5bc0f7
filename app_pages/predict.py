"""Predict: upload one record (WFDB .hea + .dat, or a CSV of 12 leads), pick a run (all its trained
folds as an ensemble by default, or one fold), and get its predicted probabilities (downloadable), the
predicted set, a leakage warning when the record was seen in training, the ECG and its saliency.

A new upload replaces the old one: of the files in the uploader, the newest complete set is read
(``explain.newest_upload``); the others are named and left aside. The widgets of the saliency view
are keyed by the upload's content hash, so a new record starts at its own default class."""

import streamlit as st

from app_pages import cache, common, trust_sections
from ecgcore.app import explain, labels_view, runs_view
from ecgcore.app.words import METHOD_NAMES, dataset_words
from ecgcore.ensemble import NO_CV_NOTE, member_thresholds
from ecgcore.errors import ECGCoreError
from ecgcore.figures.ecg import (
    HOW_TO_READ_SALIENCY,
    NO_MODE_BAR,
    PAGE_WIDTH_PX,
    ecg_paper_figure,
    lead_importance_figure,
    lead_shares,
)
from ecgcore.figures.records import probabilities_figure
from ecgcore.predict import predictions_csv, probability_table, record_predictions
from ecgcore.records import LEADS
from ecgcore.run_paths import RunPaths, group_label
from ecgcore.saliency import default_target, display_map
from ecgcore.uploads import MAX_UPLOAD_BYTES, UPLOAD_TYPES, at_rate, read_record_upload, signal_csv

ALL = "all"
WIDTH = PAGE_WIDTH_PX  # the main column of a 1600×1000 window with the sidebar open: paper at 4.3 px/mm


def _group_words(key: tuple, run) -> str:
    """A run group in the picker: 'cnn1d · run long · superclass · folder ptb-xl-1.0.3' (no dataset hash)."""
    return f"{group_label(run.model, run.run_name, run.plan)} · {run.label_set} · {dataset_words(run.dataset)}"


def inputs(frame, runs) -> tuple[list, list, list]:
    """The uploader, the run and its folds, and the example CSV; returns (files, chosen members, checkpoints)."""
    groups = {explain.group_key(r): r for r in sorted(runs, key=lambda r: (r.dataset, r.label_set, r.model, r.fold))}
    here = [k for k in groups if frame.ds is not None and k[:2] == (frame.ds.name, frame.ds.label_set)]
    if st.session_state.get("pr_group") not in groups:
        st.session_state["pr_group"] = (here or list(groups))[0]
    c1, c2, c3 = st.columns([3, 2, 1])
    files = c1.file_uploader(
        "Record files",
        type=list(UPLOAD_TYPES),
        accept_multiple_files=True,
        key="pr_files",
        help=f"At most {MAX_UPLOAD_BYTES // 1024} kB per WFDB file. The newest upload is the one read.",
    )
    group = c2.selectbox("Run", list(groups), key="pr_group", format_func=lambda k: _group_words(k, groups[k]))
    members = explain.fold_members(runs, groups[group])
    member_choice = c3.selectbox(
        "Folds",
        [ALL, *[m.fold for m in members]],
        key=f"pr_members_{'_'.join(map(str, group))}",
        format_func=lambda f: f"all folds ({len(members)})" if f == ALL else f"fold {f} only",
        help="By default every trained fold of the run votes (mean probability); or pick one fold's model.",
    )
    chosen = members if member_choice == ALL else [m for m in members if m.fold == member_choice]
    st.session_state["_pr_run"] = "_".join(map(str, group)) + f"_{member_choice}"  # keys the class box per run
    if frame.ds is not None:
        example_id = int(frame.ds.records["ecg_id"].iloc[0])
        c2.download_button(
            "Example CSV (first record of the current dataset)",
            signal_csv(frame.ds.signals[0]),
            file_name=f"example_ecg_{example_id}.csv",
            mime="text/csv",
            icon=":material/download:",
        )
    return files, chosen, [RunPaths(m.path).best for m in chosen]


def read_and_predict(files, checkpoints) -> dict:
    """Read the newest upload and run the chosen models on it (the page stops on bad input)."""
    use, aside = explain.newest_upload([f.name for f in files])
    upload = [(files[i].name, files[i].getvalue()) for i in use]
    if aside:
        st.info(
            f"Reading {' + '.join(n for n, _ in upload)}, the newest upload; the earlier "
            f"{', '.join(files[i].name for i in aside)} {'is' if len(aside) == 1 else 'are'} left aside "
            "(remove with ×).",
            icon=":material/swap_horiz:",
        )
    try:
        record = read_record_upload(upload)
        loaded = [cache.model(c) for c in checkpoints]
        metas = explain.check_members([m for _, m in loaded], checkpoints)
        record = at_rate(record, int(metas[0]["sampling_rate"]))
        key = cache.signal_key(record.signal)
        member_probs = cache.member_probabilities(checkpoints, record.signal, key)
        probs = member_probs.mean(axis=0)
        thresholds, source = member_thresholds(metas)
    except ECGCoreError as e:
        common.show_error(e)
        st.stop()
    return {
        "record": record, "metas": metas, "key": key, "probs": probs, "thresholds": thresholds, "member_probs": member_probs,
        "source": source, "upload_id": explain.upload_hash(upload), "names": list(metas[0]["label_names"]),
    }  # fmt: skip


def notes(frame, chosen, got: dict) -> None:
    """What was read, by which models trained on what, and the demo-data and leakage warnings."""
    record, metas = got["record"], got["metas"]
    trained_on = metas[0].get("dataset") or {}
    for note in record.notes:
        st.info(note, icon=":material/info:")
    if len(chosen) > 1:
        st.info(f"{explain.voters_note(len(chosen)).capitalize()}. {NO_CV_NOTE}", icon=":material/groups:")
    folds = "folds " + ", ".join(str(m.fold) for m in chosen) if len(chosen) > 1 else f"fold {chosen[0].fold}"
    st.caption(
        f"Record **{record.name}** ({record.fs} Hz) · {explain.group_label(chosen[0])} {folds} "
        f"trained on {dataset_words(trained_on.get('name'))} ({trained_on.get('n_records', '?')} records"
        f"{', synthetic demo data' if trained_on.get('is_demo') else ''})."
    )
    if trained_on.get("is_demo"):
        st.warning(
            "This checkpoint was trained on **synthetic demo data**: its predictions on a real ECG mean nothing.",
            icon=":material/science:",
        )
    if frame.ds is not None:
        leak = cache.upload_leakage(metas, frame.ds, record.name, record.signal, got["key"])
        if leak:
            st.warning(f"**Not a test:** {leak}", icon=":material/warning:")


def _true_labels(frame, got: dict) -> dict[str, str]:
    """{class: "MI: AMI 15 %"} when the upload is a record of the loaded dataset (by name or signal)."""
    ds = frame.ds
    if ds is None or list(ds.label_names) != got["names"]:
        return {}
    ecg_id = cache.upload_ecg_id(ds, got["record"].name, got["record"].signal, got["key"])
    if ecg_id is None:
        return {}
    row = int((ds.records["ecg_id"] == ecg_id).to_numpy().argmax())
    labels = labels_view.labels_with_certainty(ds, row, cache.statements(str(ds.root), cache.ds_key(ds)))
    got["ecg_id"] = ecg_id
    return {lab["label"]: lab["text"] for lab in labels} or {"": "no label"}


def predictions(frame, chosen, got: dict) -> None:
    """The probability table (with the true labels and their certainty when the upload is a dataset
    record), the predicted set with the run's quality, the CSV download and the probability chart."""
    probs, thresholds, names, record = got["probs"], got["thresholds"], got["names"], got["record"]
    table = probability_table(probs, names, thresholds)
    truth = _true_labels(frame, got)
    shown = table.assign(**{"true label": [truth.get(n, "") for n in table["class"]]}) if truth else table
    left, right = st.columns([2, 3])
    with left:
        st.subheader("Predictions")
        predicted = explain.predicted_set(probs, thresholds, names, got["source"])
        group = explain.fold_members(runs_view.checkpoint_runs(), chosen[0])
        dataset = chosen[0].dataset if frame.ds is None else frame.ds.name
        trust_sections.quality(group, dataset, probs, thresholds, predicted, chosen[0].status.get("config"))
        if truth:
            st.caption(f"True labels of ecg_id {got['ecg_id']} (cardiologist's statements, likelihood).")
        st.dataframe(
            shown,
            hide_index=True,
            key="pr_table",
            column_config={"probability": st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1)},
        )
        st.download_button(
            "Download predictions (CSV)",
            predictions_csv(record_predictions(table, record.name)),  # the CLI's layout: one row, per-class columns
            file_name=f"{record.name}_predictions.csv",
            mime="text/csv",
            icon=":material/download:",
        )
        st.caption("Predicted = probability ≥ the class threshold chosen on the validation part. " + common.NOTICE)
    with right:
        st.plotly_chart(
            probabilities_figure(
                dict(zip(names, probs.tolist())), [n for n in truth if n], dict(zip(names, thresholds))
            ),
            key="pr_probs",
            config=trust_sections.PLOT_CONFIG,
        )
    trust_sections.spread(got["metas"], got["member_probs"], names, "pr")


def _saliency_options(names: list[str], default: int, upload_id: str) -> dict:
    c1, c2, c3, c4, c5 = st.columns(5)
    run = st.session_state.get("_pr_run", "")
    target_name = c1.selectbox("Explain class", names, index=default, key=f"pr_target_{upload_id}_{run}")
    method = c2.selectbox("Method", list(METHOD_NAMES), key="pr_method", format_func=METHOD_NAMES.get)
    smoothing = c3.slider("Smoothing (s)", 0.0, 0.5, 0.04, 0.02, key="pr_smooth")
    normalize = c4.radio("Normalise", ["record", "lead"], horizontal=True, key="pr_norm")
    signed = c5.toggle(
        "Signed", key="pr_signed", disabled=method != "integrated_gradients", help="Integrated gradients only."
    )
    return {
        "target_name": target_name, "method": method, "smoothing": smoothing, "normalize": normalize,
        "signed": signed and method == "integrated_gradients",
    }  # fmt: skip


def saliency_view(chosen, checkpoints, got: dict) -> None:
    """The record on ECG paper with the chosen class's map and the leads' shares."""
    st.subheader("Saliency")
    names, probs, x = got["names"], got["probs"], got["record"].signal
    rate = int(got["metas"][0]["sampling_rate"])
    opts = _saliency_options(names, default_target(probs, got["thresholds"]), got["upload_id"])
    target_name, method = opts["target_name"], opts["method"]
    show_saliency = st.toggle("Show saliency on the ECG", value=True, key="pr_show_saliency")
    target = names.index(target_name)
    shown = raw = None
    if show_saliency:
        try:
            raw = cache.ensemble_saliency(checkpoints, x, got["key"], method, target)
        except ECGCoreError as e:
            common.show_error(e)
            st.stop()
        shown = display_map(raw["map"], rate, opts["smoothing"], opts["normalize"], opts["signed"])
    who = "ensemble of " + str(len(chosen)) if len(chosen) > 1 else f"fold {chosen[0].fold}"
    title = (
        f"{got['record'].name} · {explain.group_label(chosen[0])} {who} · {METHOD_NAMES[method]} for {target_name} "
        f"(p = {probs[target]:.2f})"
    )
    st.plotly_chart(
        ecg_paper_figure(x, rate, title=title, saliency=shown, signed=opts["signed"], width=WIDTH),
        key="pr_ecg",
        config=NO_MODE_BAR,  # no mode bar over the colour bar
    )
    st.caption(trust_sections.ZOOM_NOTE)
    if raw is not None and raw["time_only"]:
        st.info(
            "No lead ranking: Grad-CAM of a 1D CNN is **time-only** — it says *when*, not *which lead*; the "
            "same map is drawn behind all 12 leads.",
            icon=":material/schedule:",
        )
    elif raw is not None:
        st.columns([1, 2])[0].plotly_chart(
            lead_importance_figure(lead_shares(raw["map"]), f"Leads · {target_name}"),
            key="pr_leads",
            config=trust_sections.PLOT_CONFIG,
        )
    with st.expander("How to read this"):
        st.markdown(HOW_TO_READ_SALIENCY)


def page() -> None:
    frame = common.page_frame()
    st.title("Predict")
    st.markdown(
        "Upload **one 10 s, 12-lead record**: a WFDB record (its `.hea` and `.dat` together) or a CSV with "
        f"12 columns ({', '.join(LEADS)}; optional header row) and 1,000 (100 Hz) or 5,000 (500 Hz) rows in mV. "
        "A new upload replaces the previous one."
    )
    runs = runs_view.checkpoint_runs()
    if not runs:
        st.info("No trained checkpoint yet — train a model first.")
        st.page_link(common.TRAIN, label="Train a model", icon=":material/model_training:")
        st.stop()
    files, chosen, checkpoints = inputs(frame, runs)
    if not files:
        st.stop()
    got = read_and_predict(files, checkpoints)
    notes(frame, chosen, got)
    predictions(frame, chosen, got)
    saliency_view(chosen, checkpoints, got)
    if frame.ds is not None:
        ecg_id = got.get("ecg_id")
        trust_sections.similar_cases(frame.ds, chosen[0], ecg_id, got["record"].signal, got["key"], "pr")


page()
