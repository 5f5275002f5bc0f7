"""Saliency: which parts of a record's 12 leads drove a trained model's prediction of one class,
drawn as heat bands behind the leads, next to the predicted probabilities and the true labels; the
1D and 2D CNN side by side when both are trained on the fold."""

import streamlit as st

from app_pages import common
from ecgcore.app import records, run_status, runs_view, uploads
from ecgcore.errors import ECGCoreError
from ecgcore.figures import ecg_paper_figure, probabilities_figure, saliency_figure
from ecgcore.saliency import SaliencyMethod, display_map

NAMES = {"integrated_gradients": "Integrated gradients", "gradient": "Gradient (saliency)", "grad_cam": "Grad-CAM"}
METHODS = {
    v: NAMES.get(v, v) for v in sorted((m.value for m in SaliencyMethod), key=lambda v: v != "integrated_gradients")
}
AUTO = "__auto__"

frame = common.page_frame()
ds = common.require_dataset(frame)
st.title("Saliency")

# ----------------------------------------------------------------------------- model and record
runs = runs_view.checkpoint_runs(ds.name, ds.label_set)
run = None
if runs:
    c1, c2, c3, c4 = st.columns(4)
    run = common.pick_run(runs, "sal", (c1, c2))
    model_name, plan_fold = run.model, (run.plan, run.fold)
    method = c3.selectbox("Method", list(METHODS), key="sal_method", format_func=METHODS.get)
    target_choice = c4.selectbox(
        "Explain class",
        [AUTO, *ds.label_names],
        key="sal_target",
        format_func=lambda t: "most probable true label" if t == AUTO else t,
    )
    parts = common.record_parts(ds, common.ds_key(ds), run.plan, run.fold)
else:
    st.info(f"No trained model for this dataset and the {ds.label_set} label set yet — train one to see saliency.")
    st.page_link(common.TRAIN, label="Train a model", icon=":material/model_training:")
    parts = None

from_dataset = st.session_state.pop("explain_ecg_id", None)  # set by the Dataset page's "Explain this record"
incoming = from_dataset if from_dataset is not None else st.query_params.get("ecg_id")
if incoming is not None and str(incoming) != st.session_state.get("_sal_applied"):
    st.session_state["_sal_applied"] = str(incoming)
    i = records.record_index(ds, int(incoming)) if str(incoming).isdigit() else None
    if i is None:
        st.warning(f"Record {incoming} is not in this dataset.")
    else:
        st.session_state["sal_patient"] = int(ds.records["patient_id"].iloc[i])
        st.session_state["sal_ecg_id"] = int(ds.records["ecg_id"].iloc[i])
        if parts is not None and parts[i] != "test":
            st.session_state["sal_test_only"] = False

c1, c2, c3 = st.columns([1, 2, 2], vertical_alignment="bottom")
st.session_state.setdefault("sal_test_only", True)
test_only = c1.toggle(
    "Test part only",
    key="sal_test_only",
    disabled=parts is None,
    help="Only patients in the test part of the chosen fold: records the model never saw.",
)
if parts is not None and test_only:
    patients = sorted({int(p) for p in ds.records["patient_id"].to_numpy()[parts == "test"]})
else:
    patients = records.patients(ds)
if st.session_state.get("sal_patient") not in patients:
    st.session_state["sal_patient"] = patients[0]
patient = c2.selectbox(f"Patient ({len(patients):,})", patients, key="sal_patient")
own = records.patient_records(ds, patient, common.record_table(ds, common.ds_key(ds)))
ids = own["ecg_id"].tolist()
if st.session_state.get("sal_ecg_id") not in ids:
    st.session_state["sal_ecg_id"] = ids[0]
labels_of = dict(zip(own["ecg_id"], own["labels"]))
ecg_id = c3.selectbox(
    "Record", ids, key="sal_ecg_id", format_func=lambda e: f"ecg_id {e} · {labels_of.get(e) or 'no label'}"
)
if st.query_params.get("ecg_id") != str(ecg_id):
    st.query_params["ecg_id"] = str(ecg_id)  # a shareable link to this record
    st.session_state["_sal_applied"] = str(ecg_id)
i = records.record_index(ds, ecg_id)
signal = ds.signals[i]
true_labels = records.record_labels(ds, i)
if run is None:
    st.plotly_chart(ecg_paper_figure(signal, ds.sampling_rate, title=f"ecg_id {ecg_id}"), key="sal_ecg_only")
    st.stop()

c5, c6, c7 = st.columns(3)
smoothing = c5.slider(
    "Smoothing (s)", 0.0, 0.5, 0.04, 0.02, key="sal_smooth", help="Moving average of the map over this many seconds."
)
normalize = c6.radio(
    "Normalise",
    ["record", "lead"],
    horizontal=True,
    key="sal_norm",
    format_func={"record": "over the record (leads compare)", "lead": "per lead"}.get,
)
view = c7.radio(
    "View",
    ["paper", "bands"],
    horizontal=True,
    key="sal_view",
    format_func={"paper": "ECG paper (3×4)", "bands": "12 leads with bands"}.get,
)

checkpoint = run.path / "best.pt"
key = common.record_key(ds, ecg_id)
try:
    net, meta = common.model(checkpoint)
    run_status.check_checkpoint_fits(meta, ds.label_names, ds.sampling_rate, checkpoint)
    probs = common.probabilities(checkpoint, signal, key)
    target = (
        uploads.saliency_target(probs, ds.label_names, true_labels)
        if target_choice == AUTO
        else list(ds.label_names).index(target_choice)
    )
    raw = common.saliency(checkpoint, signal, key, method, target)
except ECGCoreError as e:
    common.show_error(e)
    st.stop()

other = runs_view.other_dataset_note(meta.get("dataset"), ds)
if other:
    st.warning(other, icon=":material/warning:")
part = parts[i]
target_name = ds.label_names[target]
if part == "test":
    st.caption(f"Record {ecg_id} is in the **test** part of fold {run.fold}: the model never saw it in training.")
else:
    st.warning(
        f"Record {ecg_id} is in the **{part}** part of fold {run.fold}"
        + (": the model was trained on it." if part == "train" else "."),
        icon=":material/info:",
    )
if raw["time_only"]:
    st.info(
        "Grad-CAM of a 1D CNN is **time-only**: it says *when* in the record, not *which lead* — the same map "
        "is drawn behind all 12 leads.",
        icon=":material/schedule:",
    )

shown = display_map(raw["map"], ds.sampling_rate, smoothing, normalize)
title = (
    f"ecg_id {ecg_id} · {model_name} fold {run.fold} · {METHODS[method]} for {target_name} (p = {probs[target]:.2f})"
)
left, right = st.columns([2, 1])
if view == "paper":
    fig = ecg_paper_figure(signal, ds.sampling_rate, title=title, saliency=shown)
else:
    fig = saliency_figure(signal, shown, ds.sampling_rate, title=title)
left.plotly_chart(fig, key="sal_fig")
thresholds = dict(zip(ds.label_names, meta.get("thresholds") or [0.5] * len(ds.label_names)))
right.plotly_chart(
    probabilities_figure(dict(zip(ds.label_names, probs.tolist())), true_labels, thresholds), key="sal_probs"
)
right.markdown("**True labels**  \n" + common.label_badges(true_labels))
right.caption("Black ticks: the thresholds chosen on the validation part.")

# ----------------------------------------------------------------------------- 1D vs 2D
pair = {r.model: r for r in runs if (r.plan, r.fold) == plan_fold and r.model in ("cnn1d", "cnn2d")}
st.header("1D vs 2D CNN on this record", divider="gray")
if len(pair) < 2:
    st.caption(f"Train both cnn1d and cnn2d on fold {run.fold} to see their maps side by side.")
else:
    cols = st.columns(2)
    for col, name in zip(cols, ("cnn1d", "cnn2d")):
        ckpt = pair[name].path / "best.pt"
        try:
            _, m = common.model(ckpt)
            run_status.check_checkpoint_fits(m, ds.label_names, ds.sampling_rate, ckpt)
            p = common.probabilities(ckpt, signal, key)
            r = common.saliency(ckpt, signal, key, method, target)
        except ECGCoreError as e:
            col.error(str(e))
            continue
        note = " (time-only)" if r["time_only"] else ""
        col.plotly_chart(
            saliency_figure(
                signal,
                display_map(r["map"], ds.sampling_rate, smoothing, normalize),
                ds.sampling_rate,
                title=f"{name}{note} · {METHODS[method]} for {target_name} (p = {p[target]:.2f})",
            ),
            key=f"sal_pair_{name}",
        )
    st.caption("Same record, method, class, smoothing and normalisation for both models.")
