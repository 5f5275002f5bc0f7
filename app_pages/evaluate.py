"""Evaluate: test-part results of a trained model and fold (metrics with 95 % CIs, per class, ROC/PR
curves, confusion matrices at the validation-chosen or a chosen threshold), the summary over folds,
1D vs 2D per fold, downloads, and the reference results beside the user's own."""

import streamlit as st

from app_pages import common
from ecgcore.app import results as result_view
from ecgcore.app import runs_view
from ecgcore.errors import ECGCoreError
from ecgcore.figures import confusion_figure, fold_comparison_figure, pr_figure, roc_figure
from ecgcore.metrics import MACRO_METRICS

frame = common.page_frame()
ds = common.require_dataset(frame)
st.title("Evaluate")
NUM = {"format": "%.3f"}

runs = runs_view.evaluated_runs(ds.name)
if not runs:
    st.info("No evaluated run on this dataset yet: train a model — its test part is evaluated when it finishes.")
    st.page_link(common.TRAIN, label="Train a model", icon=":material/model_training:")
    st.subheader("Reference results")
    st.dataframe(result_view.reference_with_runs({}, ds.description), hide_index=True)
    st.stop()

# ----------------------------------------------------------------------------- pick a run
run = common.pick_run(runs, "ev", st.columns(3), label_set=ds.label_set)
label_set, model = run.label_set, run.model
mine = [r for r in runs if r.label_set == label_set]
try:
    results = common.results(run.path)
except ECGCoreError as e:
    common.show_error(e)
    st.stop()

data = results.get("dataset") or {}
counts = results.get("counts") or {}
st.caption(
    f"Numbers from **{data.get('description', data.get('name', '?'))}** · {model} · fold {run.fold} ({run.plan}) · "
    f"test part: {results.get('n_records', counts.get('test', '?'))} records "
    f"(train {counts.get('train', '?')}, val {counts.get('val', '?')}) · best epoch {results.get('best_epoch', '?')}. "
    "Thresholds are chosen on the validation part, never on the test part."
)
other = runs_view.other_dataset_note(data, ds)
if other:
    st.warning(other, icon=":material/warning:")
if data.get("is_demo"):
    st.warning(
        "These results are on **synthetic demo data**: they show how the app works, not how a model "
        "performs on real ECGs.",
        icon=":material/science:",
    )

left, right = st.columns([2, 3])
with left:
    st.subheader("Test metrics")
    st.dataframe(
        result_view.metrics_table(results),
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(**NUM) for c in ("value", "95% CI low", "95% CI high")},
    )
    st.caption("95 % CI: bootstrap over the test records.")
with right:
    st.subheader("Per class")
    per_class = result_view.per_class_table(results)
    st.dataframe(
        per_class,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(**NUM)
            for c in ("AP (PR-AUC)", "ROC-AUC", "threshold", "sensitivity", "specificity", "PPV", "F1")
        },
    )

y_true, y_prob, names = result_view.test_arrays(results)
roc_tab, pr_tab, cm_tab = st.tabs(["ROC curves", "Precision–recall curves", "Confusion matrices"])
with roc_tab:
    st.plotly_chart(roc_figure(y_true, y_prob, names), key="ev_roc")
with pr_tab:
    st.plotly_chart(pr_figure(y_true, y_prob, names), key="ev_pr")
with cm_tab:
    mode = st.radio(
        "Thresholds",
        ["chosen", "global", "per_class"],
        horizontal=True,
        key="ev_thr_mode",
        format_func={
            "chosen": "chosen on validation (F1-optimal)",
            "global": "one for all classes",
            "per_class": "one per class",
        }.get,
    )
    chosen = dict(zip(names, results.get("thresholds") or [0.5] * len(names)))
    threshold = None
    if mode == "global":
        threshold = st.slider("Threshold", 0.0, 1.0, 0.5, 0.01, key="ev_thr")
    elif mode == "per_class":
        cols = st.columns(min(len(names), 6) or 1)
        threshold = {
            n: cols[j % len(cols)].slider(n, 0.0, 1.0, round(float(chosen[n]), 2), 0.01, key=f"ev_thr_{n}")
            for j, n in enumerate(names)
        }
    matrices, thresholds, at_thr = result_view.confusion_at(results, threshold)
    st.plotly_chart(confusion_figure(matrices, thresholds), key="ev_cm")
    st.dataframe(
        at_thr,
        hide_index=True,
        key="ev_cm_table",
        column_config={
            c: st.column_config.NumberColumn(**NUM) for c in ("threshold", "sensitivity", "specificity", "PPV", "F1")
        },
    )

with st.container(horizontal=True):
    st.download_button(
        "results.json",
        (run.path / "results.json").read_bytes(),
        file_name=f"{model}_fold{run.fold}_results.json",
        mime="application/json",
        icon=":material/download:",
    )
    png = run.path / "confusion.png"
    if png.is_file():
        st.download_button(
            "confusion.png",
            png.read_bytes(),
            file_name=f"{model}_fold{run.fold}_confusion.png",
            mime="image/png",
            icon=":material/download:",
        )

# ----------------------------------------------------------------------------- across folds
st.header("Across folds", divider="gray")
by_model: dict[str, dict[int, dict]] = {}
for r in mine:
    if r.plan == run.plan:
        try:
            by_model.setdefault(r.model, {})[r.fold] = common.results(r.path)
        except ECGCoreError:
            continue
own = by_model.get(model, {})
st.markdown(f"**{model}**, macro PR-AUC over the evaluated folds: {result_view.mean_sd_text(own)}")
st.dataframe(
    result_view.folds_table(own),
    hide_index=True,
    column_config={result_view.METRIC_NAMES[m]: st.column_config.NumberColumn(**NUM) for m in MACRO_METRICS},
)

st.subheader("1D vs 2D CNN")
comparison = result_view.model_comparison(ds.name, label_set, ("cnn1d", "cnn2d"), run.plan)
if comparison.empty:
    st.info("Train and evaluate both cnn1d and cnn2d on the same fold(s) to compare them fold by fold.")
else:
    c1, c2 = st.columns([2, 3])
    metric = c1.selectbox("Metric", list(MACRO_METRICS), key="ev_cmp_metric", format_func=result_view.METRIC_NAMES.get)
    c1.dataframe(
        result_view.side_by_side(comparison, metric),
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.4f") for c in comparison["model"].unique()},
    )
    c1.caption("Paired by fold: both models tested on the same patients.")
    c2.plotly_chart(fold_comparison_figure(comparison, metric), key="ev_cmp")

# ----------------------------------------------------------------------------- reference
st.header("Reference results", divider="gray")
st.caption(
    "Published or previously measured figures, **not produced by this app on this data** — compare with "
    "care: the data (full PTB-XL vs a part or demo data) and the protocol differ, as each row says."
)
st.dataframe(
    result_view.reference_with_runs(by_model, data.get("description", ds.description), run.plan),
    hide_index=True,
    column_config={
        c: st.column_config.NumberColumn(**NUM) for c in ("macro_pr_auc", "macro_pr_auc_std", "macro_roc_auc")
    },
)
