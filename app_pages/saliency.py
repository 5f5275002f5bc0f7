"""Saliency: which parts of a record's 12 leads drove a trained model's prediction of one class — on ECG
paper or as bands, with per-lead shares, the predicted set and probabilities; the fold ensemble (mean
of the folds' maps) on request; the 1D and 2D CNN side by side; and, for the whole test part of the
fold, each class's lead importance and beat-aligned profile (computed in the background, cached).

Deep link: ``/saliency?ecg_id=…&model=…&run=…&fold=…&plan=…&cls=…&method=…`` (``ecgcore.app.explain``)."""

import numpy as np
import streamlit as st

from app_pages import cache, common
from ecgcore.app import explain, records, run_status, runs_view
from ecgcore.class_summary import cached_class_summary, start_summary, summary_status
from ecgcore.ensemble import member_thresholds
from ecgcore.errors import ECGCoreError, ResultsError
from ecgcore.figures import (
    HOW_TO_READ_SALIENCY,
    ecg_paper_figure,
    lead_importance_figure,
    lead_shares,
    probabilities_figure,
    saliency_figure,
)
from ecgcore.run_paths import RunPaths
from ecgcore.saliency import SaliencyMethod, default_target, display_map

NAMES = {"integrated_gradients": "Integrated gradients", "gradient": "Gradient (saliency)", "grad_cam": "Grad-CAM"}
METHODS = {
    v: NAMES.get(v, v) for v in sorted((m.value for m in SaliencyMethod), key=lambda v: v != "integrated_gradients")
}
AUTO = "__auto__"
PART_NAMES = {"test": "test (never seen)", "val": "validation", "train": "training", "all": "all records"}
WIDTH = 940  # a full-width chart at 1400 px with the sidebar open

frame = common.page_frame()
ds = common.require_dataset(frame)
key_ds = cache.ds_key(ds)
st.title("Saliency")
runs = runs_view.checkpoint_runs(ds.name, ds.label_set)

# ----------------------------------------------------------------------------- deep link (applied once)
params = {k: st.query_params.get(k) for k in explain.LINK_PARAMS}
from_dataset = st.session_state.pop("explain_ecg_id", None)  # the Dataset page's "Explain this record"
if from_dataset is not None:
    params = {"ecg_id": str(from_dataset)}
if params.get("ecg_id") and explain.link_signature(params) != st.session_state.get("_sal_applied"):
    st.session_state["_sal_applied"] = explain.link_signature(params)
    link = explain.parse_link(params, runs, ds.label_names, list(METHODS))
    for problem in link.problems:
        st.warning(f"Link: {problem}", icon=":material/link_off:")
    if link.run is not None:
        st.session_state.update(sal_model=link.run.model, sal_run=link.run.run_name)
        st.session_state["sal_fold"] = (link.run.plan, link.run.fold)
        st.session_state["sal_members"] = "fold"
    if link.cls:
        st.session_state["sal_target"] = link.cls
    if link.method:
        st.session_state["sal_method"] = link.method
    if link.ecg_id is not None:
        if records.record_index(ds, link.ecg_id) is None:
            st.warning(f"Record {link.ecg_id} is not in this dataset ({ds.name}).")
        else:
            st.session_state["_sal_pending"] = link.ecg_id

# ----------------------------------------------------------------------------- run, method, class
run = None
members = []
if runs:
    c1, c2, c3, c4, c5, c6 = st.columns([2, 2, 2, 2, 3, 2])
    model_name = c1.selectbox("Model", sorted({r.model for r in runs}), key="sal_model")
    names = sorted({r.run_name for r in runs if r.model == model_name}, key=lambda n: n != "default")
    if st.session_state.get("sal_run") not in names:
        st.session_state["sal_run"] = names[0]
    run_name = c2.selectbox("Run", names, key="sal_run", disabled=len(names) == 1)
    folds = {(r.plan, r.fold): r for r in runs if r.model == model_name and r.run_name == run_name}
    if st.session_state.get("sal_fold") not in folds:
        st.session_state["sal_fold"] = sorted(folds)[0]
    plan_fold = c3.selectbox("Fold", sorted(folds), key="sal_fold", format_func=common.fold_label)
    run = folds[plan_fold]
    members = explain.fold_members(runs, run)
    ensemble = c4.radio(
        "Models",
        ["fold", "all"],
        key="sal_members",
        format_func={"fold": "this fold", "all": f"all folds ({len(members)})"}.get,
        help="All folds: the fold ensemble — the mean of the fold models' probabilities and maps.",
    )
    members = members if ensemble == "all" else [run]
    method = c5.selectbox("Method", list(METHODS), key="sal_method", format_func=METHODS.get)
    target_choice = c6.selectbox(
        "Explain class",
        [AUTO, *ds.label_names],
        key="sal_target",
        format_func=lambda t: "default (most probable predicted)" if t == AUTO else t,
    )
    parts = cache.record_parts(ds, key_ds, run.plan, run.fold)
else:
    st.info(f"No trained model for this dataset and the {ds.label_set} label set yet — train one to see saliency.")
    st.page_link(common.TRAIN, label="Train a model", icon=":material/model_training:")
    parts = None

# ----------------------------------------------------------------------------- the record picker
table = cache.record_table(ds, key_ds)
pending = st.session_state.pop("_sal_pending", None)
if pending is not None:  # a linked record: open the filters so that it is in the list
    i = records.record_index(ds, pending)
    part = parts[i] if parts is not None else "all"
    st.session_state.update(
        sal_part=part if part in explain.PARTS else "all", sal_label=explain.ANY, sal_wrong=False, sal_ecg_id=pending
    )
    st.session_state["sal_patient"] = explain.ANY
st.session_state.setdefault("sal_part", "test")
outcomes, wrong_ids, wrong_help = (
    None,
    None,
    "Records the run got wrong (a false positive or negative) at the validation thresholds.",
)
if run is not None:
    try:
        outcomes = cache.run_records_csv(run.path)
    except ResultsError as e:
        outcomes, wrong_help = None, str(e)
c1, c2, c3, c4, c5 = st.columns([2, 2, 2, 2, 4], vertical_alignment="bottom")
part = c1.selectbox(
    "Part of the fold", explain.PARTS, key="sal_part", format_func=PART_NAMES.get, disabled=parts is None
)
label = c2.selectbox("Label", [explain.ANY, *ds.label_names], key="sal_label")
wrong = c3.toggle("Misclassified", key="sal_wrong", disabled=run is None or outcomes is None, help=wrong_help)
if wrong and run is not None and outcomes is not None:
    wrong_ids = explain.misclassified_ids(outcomes, None if label == explain.ANY else label)
    part = "test" if part == "all" else part
shown_records = explain.pick_records(table, ds.labels, ds.label_names, parts, label=label, part=part, wrong=wrong_ids)
patients = sorted({int(p) for p in shown_records["patient_id"].dropna()})
if st.session_state.get("sal_patient") not in [explain.ANY, *patients]:
    st.session_state["sal_patient"] = explain.ANY
patient = c4.selectbox(f"Patient ({len(patients):,})", [explain.ANY, *patients], key="sal_patient")
if patient != explain.ANY:
    shown_records = shown_records[shown_records["patient_id"] == patient]
if shown_records.empty:
    st.warning(
        "No record matches these filters; widen them (part, label, misclassified).", icon=":material/search_off:"
    )
    st.stop()
ids = shown_records["ecg_id"].astype(int).tolist()
if st.session_state.get("sal_ecg_id") not in ids:
    st.session_state["sal_ecg_id"] = ids[0]
options = {int(r["ecg_id"]): explain.record_option(r) for r in shown_records.to_dict("records")}
ecg_id = c5.selectbox(f"Record ({len(ids):,})", ids, key="sal_ecg_id", format_func=options.get)
i = records.record_index(ds, ecg_id)
signal = ds.signals[i]
true_labels = records.record_labels(ds, i)
if run is None:
    st.query_params.update(explain.link_params(ecg_id, None, None, None))
    st.session_state["_sal_applied"] = explain.link_signature(st.query_params.to_dict())
    st.plotly_chart(
        ecg_paper_figure(signal, ds.sampling_rate, title=f"ecg_id {ecg_id}", width=WIDTH), key="sal_ecg_only"
    )
    st.stop()

c5, c6, c7, c8 = st.columns([3, 3, 3, 2])
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
signed = c8.toggle(
    "Signed",
    key="sal_signed",
    disabled=method != "integrated_gradients",
    help="Integrated gradients only: red pushes toward the class, blue away from it.",
)
signed = signed and method == "integrated_gradients"

# ----------------------------------------------------------------------------- compute
key = cache.record_key(ds, ecg_id)
checkpoints = [RunPaths(m.path).best for m in members]
try:
    metas = []
    for c in checkpoints:
        _, m = cache.model(c)
        run_status.check_checkpoint_fits(m, ds.label_names, ds.sampling_rate, c)
        metas.append(m)
    probs = cache.ensemble_probabilities(checkpoints, signal, key)
    thresholds, source = member_thresholds(metas)
    target = default_target(probs, thresholds) if target_choice == AUTO else list(ds.label_names).index(target_choice)
    raw = cache.ensemble_saliency(checkpoints, signal, key, method, target)
except ECGCoreError as e:
    common.show_error(e)
    st.stop()
target_name = ds.label_names[target]
st.query_params.update(explain.link_params(ecg_id, run, None if target_choice == AUTO else target_name, method))
st.session_state["_sal_applied"] = explain.link_signature(st.query_params.to_dict())

here, whole = st.tabs(["This record", "Whole test part"])

# ----------------------------------------------------------------------------- this record
with here:
    other = runs_view.other_dataset_note(metas[0].get("dataset"), ds)
    if other:
        st.warning(other, icon=":material/warning:")
    if len(members) > 1:
        from ecgcore.ensemble import NO_CV_NOTE, leakage

        st.info(f"{explain.voters_note(len(members)).capitalize()}; the map is the mean of their maps. {NO_CV_NOTE}")
        leak = leakage(metas, ds, ecg_id=ecg_id)
        if leak:
            st.warning(f"**Not a test:** {leak}", icon=":material/warning:")
    elif parts[i] == "test":
        st.caption(f"Record {ecg_id} is in the **test** part of fold {run.fold}: the model never saw it in training.")
    else:
        st.warning(
            f"Record {ecg_id} is in the **{parts[i]}** part of fold {run.fold}"
            + (": the model was trained on it." if parts[i] == "train" else "."),
            icon=":material/info:",
        )
    if raw["time_only"]:
        st.info(
            "Grad-CAM of a 1D CNN is **time-only**: it says *when* in the record, not *which lead* — the same map "
            "is drawn behind all 12 leads.",
            icon=":material/schedule:",
        )
    shown = display_map(raw["map"], ds.sampling_rate, smoothing, normalize, signed=signed)
    who = f"ensemble of {len(members)} folds" if len(members) > 1 else f"fold {run.fold}"
    title = (
        f"ecg_id {ecg_id} · {explain.group_label(run)} {who} · {METHODS[method]} for {target_name} "
        f"(p = {probs[target]:.2f})"
    )
    bars = lead_importance_figure(lead_shares(raw["map"]), f"Leads · {target_name}", time_only=raw["time_only"])
    if view == "paper":
        st.plotly_chart(
            ecg_paper_figure(signal, ds.sampling_rate, title=title, saliency=shown, signed=signed, width=WIDTH),
            key="sal_fig",
        )
        left, mid, right = st.columns([1, 2, 1])
    else:
        band_col, left = st.columns([4, 1])
        band_col.plotly_chart(
            saliency_figure(signal, shown, ds.sampling_rate, title=title, signed=signed), key="sal_fig"
        )
        mid, right = st.columns([2, 1])
    left.plotly_chart(bars, key="sal_leads")
    mid.markdown(f"**{explain.predicted_set(probs, thresholds, ds.label_names, source)}**")
    mid.plotly_chart(
        probabilities_figure(
            dict(zip(ds.label_names, probs.tolist())), true_labels, dict(zip(ds.label_names, thresholds))
        ),
        key="sal_probs",
    )
    right.markdown("**True labels**  \n" + common.label_badges(true_labels))
    right.caption(f"Black ticks: the thresholds chosen on the validation part. Dataset: {ds.name}.")
    with st.expander("How to read this", icon=":material/help:"):
        st.markdown(HOW_TO_READ_SALIENCY)

    # 1D vs 2D on the same fold
    pair = {
        r.model: r
        for r in runs
        if (r.plan, r.fold) == plan_fold and r.model in ("cnn1d", "cnn2d") and r.run_name == run.run_name
    }
    st.subheader("1D vs 2D CNN on this record", divider="gray")
    if len(pair) < 2:
        st.caption(f"Train both cnn1d and cnn2d on fold {run.fold} to see their maps side by side.")
    else:
        cols = st.columns(2)
        for col, name in zip(cols, ("cnn1d", "cnn2d")):
            ckpt = RunPaths(pair[name].path).best
            try:
                _, m = cache.model(ckpt)
                run_status.check_checkpoint_fits(m, ds.label_names, ds.sampling_rate, ckpt)
                p = cache.probabilities(ckpt, signal, key)
                r = cache.saliency(ckpt, signal, key, method, target)
            except ECGCoreError as e:
                col.error(str(e))
                continue
            note = " (time-only)" if r["time_only"] else ""
            col.plotly_chart(
                saliency_figure(
                    signal,
                    display_map(r["map"], ds.sampling_rate, smoothing, normalize, signed=signed),
                    ds.sampling_rate,
                    title=f"{name}{note} · {METHODS[method]} for {target_name} (p = {p[target]:.2f})",
                    signed=signed,
                ),
                key=f"sal_pair_{name}",
            )
        st.caption("Same record, fold, method, class, smoothing and normalisation for both models.")

# ----------------------------------------------------------------------------- the whole test part
ACTIVE = ("starting", "running")


def _summary_progress(run_path, method: str) -> None:
    """The background summary's progress; reruns the page when it has finished."""
    status = summary_status(run_path, method)
    if status["state"] in ACTIVE:
        done, total = status.get("done") or 0, status.get("total") or 0
        what = f"{status.get('class') or status.get('message') or 'starting'} — {done:,} of {total or '?'} records"
        st.progress(done / total if total else 0.0, text=f"Computing the class summary: {what}")
    elif st.session_state.pop("_sal_sum_waiting", False):
        st.rerun()
    elif status["state"] in ("failed", "interrupted"):
        st.error(
            f"The class summary {status['state']}: {status.get('message') or 'see summary.log'}",
            icon=":material/error:",
        )


def _summary_view(run, method: str, class_name: str) -> None:
    """Lead importance and the beat-aligned profile of one class over the fold's test part."""
    st.caption(
        f"What {explain.group_label(run)} fold {run.fold} looks at for each class, over the test records that "
        f"carry it ({METHODS[method]}). Per fold: the fold ensemble has no test part of its own."
    )
    c1, c2, c3 = st.columns([2, 2, 3], vertical_alignment="bottom")
    cls = c1.selectbox(
        "Class", ds.label_names, index=list(ds.label_names).index(class_name), key=f"sal_sum_cls_{class_name}"
    )
    n = c2.number_input(
        "First N test records (0 = all)", 0, 100_000, 100, 50, key="sal_sum_n", help="Fewer records: a faster summary."
    )
    status = summary_status(run.path, method)
    if c3.button("Compute for every class", key="sal_sum_start", disabled=status["state"] in ACTIVE):
        start_summary(run.path, method, data_root=ds.root, max_records=int(n) or None)
        st.session_state["_sal_sum_waiting"] = True
        st.rerun()
    st.fragment(run_every=1.5 if status["state"] in ACTIVE else None)(_summary_progress)(run.path, method)
    summary = cached_class_summary(run.path, method, cls)
    if summary is None:
        st.info(f"No summary of {cls} for this run, fold and method yet: compute it (in the background).")
        return
    left, right = st.columns([1, 2])
    left.plotly_chart(
        lead_importance_figure(np.asarray(summary["lead_share"]), f"{cls} · test part"), key="sal_sum_leads"
    )
    right.plotly_chart(
        explain.profile_figure(summary, f"{cls}: beat-aligned profile", signed=method == "integrated_gradients"),
        key="sal_sum_profile",
    )
    st.caption(explain.summary_caption(summary, ds.name))


with whole:
    _summary_view(run, method, target_name)
