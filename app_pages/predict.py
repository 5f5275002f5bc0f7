"""Predict: upload one record (WFDB .hea + .dat, or a CSV of 12 leads), pick a checkpoint, and get
its predicted probabilities (downloadable), the ECG drawn, and the saliency view."""

import streamlit as st

from app_pages import common
from ecgcore.app import runs_view, uploads
from ecgcore.data import LEADS
from ecgcore.errors import ECGCoreError
from ecgcore.figures import ecg_paper_figure, probabilities_figure
from ecgcore.predict import MAX_UPLOAD_BYTES
from ecgcore.saliency import display_map

METHODS = {"integrated_gradients": "Integrated gradients", "gradient": "Gradient (saliency)", "grad_cam": "Grad-CAM"}

frame = common.page_frame()
st.title("Predict")
st.markdown(
    "Upload **one 10 s, 12-lead record**: a WFDB record (its `.hea` and `.dat` together) or a CSV with "
    f"12 columns ({', '.join(LEADS)}; optional header row) and 1,000 (100 Hz) or 5,000 (500 Hz) rows in mV."
)

runs = runs_view.checkpoint_runs()
if not runs:
    st.info("No trained checkpoint yet — train a model first.")
    st.page_link(common.TRAIN, label="Train a model", icon=":material/model_training:")
    st.stop()

c1, c2 = st.columns([3, 2])
files = c1.file_uploader(
    "Record files",
    type=list(uploads.UPLOAD_TYPES),
    accept_multiple_files=True,
    key="pr_files",
    help=f"At most {MAX_UPLOAD_BYTES // 1024} kB per WFDB file.",
)
by_path = {str(r.path / "best.pt"): r for r in runs}
preferred = [
    p
    for p, r in by_path.items()
    if frame.ds is not None and r.dataset == frame.ds.name and r.label_set == frame.ds.label_set
]
if st.session_state.get("pr_checkpoint") not in by_path:
    st.session_state["pr_checkpoint"] = (preferred or list(by_path))[0]
checkpoint = c2.selectbox(
    "Checkpoint (best.pt of a run)",
    list(by_path),
    key="pr_checkpoint",
    format_func=lambda p: f"{by_path[p].dataset} · {runs_view.run_label(by_path[p])}",
)
if frame.ds is not None:
    example = frame.ds.signals[0]
    c2.download_button(
        "Example CSV (first record of the current dataset)",
        uploads.signal_csv(example),
        file_name=f"example_ecg_{int(frame.ds.records['ecg_id'].iloc[0])}.csv",
        mime="text/csv",
        icon=":material/download:",
    )

if not files:
    st.stop()
try:
    signal, fs, name = uploads.read_upload([(f.name, f.getvalue()) for f in files])
    net, meta = common.model(by_path[checkpoint].path / "best.pt")
    x = uploads.prepare_signal(signal, fs, meta["sampling_rate"])
    key = common.signal_key(x)
    probs = common.probabilities(by_path[checkpoint].path / "best.pt", x, key)
except ECGCoreError as e:
    common.show_error(e)
    st.stop()

names = list(meta["label_names"])
trained_on = meta.get("dataset") or {}
st.caption(
    f"Record **{name}** ({fs} Hz{', resampled to ' + str(meta['sampling_rate']) + ' Hz' if fs != meta['sampling_rate'] else ''}) · "
    f"checkpoint {meta['model']} fold {meta.get('fold')} trained on '{trained_on.get('name', '?')}' "
    f"({trained_on.get('n_records', '?')} records{', synthetic demo data' if trained_on.get('is_demo') else ''})."
)
if trained_on.get("is_demo"):
    st.warning(
        "This checkpoint was trained on **synthetic demo data**: its predictions on a real ECG mean nothing.",
        icon=":material/science:",
    )

table = uploads.probability_table(probs, names, meta.get("thresholds"))
left, right = st.columns([2, 3])
with left:
    st.subheader("Predictions")
    st.dataframe(
        table,
        hide_index=True,
        key="pr_table",
        column_config={"probability": st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1)},
    )
    st.download_button(
        "Download predictions (CSV)",
        uploads.predictions_csv(table, name, checkpoint),
        file_name=f"{name}_predictions.csv",
        mime="text/csv",
        icon=":material/download:",
    )
    st.caption("Predicted = probability ≥ the class threshold chosen on the validation part. " + common.NOTICE)
with right:
    st.plotly_chart(
        probabilities_figure(dict(zip(names, probs.tolist())), [], dict(zip(names, table["threshold"]))), key="pr_probs"
    )

st.subheader("Saliency")
c1, c2, c3, c4 = st.columns(4)
target_name = c1.selectbox("Explain class", names, index=int(probs.argmax()), key="pr_target")
method = c2.selectbox("Method", list(METHODS), key="pr_method", format_func=METHODS.get)
smoothing = c3.slider("Smoothing (s)", 0.0, 0.5, 0.04, 0.02, key="pr_smooth")
normalize = c4.radio("Normalise", ["record", "lead"], horizontal=True, key="pr_norm")
show_saliency = st.toggle("Show saliency on the ECG", value=True, key="pr_show_saliency")
target = names.index(target_name)
shown = None
if show_saliency:
    try:
        raw = common.saliency(by_path[checkpoint].path / "best.pt", x, key, method, target)
    except ECGCoreError as e:
        common.show_error(e)
        st.stop()
    shown = display_map(raw["map"], meta["sampling_rate"], smoothing, normalize)
    if raw["time_only"]:
        st.info(
            "Grad-CAM of a 1D CNN is **time-only**: the same map is drawn behind all 12 leads.",
            icon=":material/schedule:",
        )
st.plotly_chart(
    ecg_paper_figure(
        x, meta["sampling_rate"], title=f"{name} · {target_name} (p = {probs[target]:.2f})", saliency=shown
    ),
    key="pr_ecg",
)
