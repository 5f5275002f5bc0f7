"""Evaluate: test-part results of a trained run and fold (metrics and per-class figures with 95 % CIs,
ROC/PR curves with the operating points, confusion matrices at the validation-chosen or a chosen
threshold, the records behind each cell, opened in Saliency with one click), the summary over the
folds of one protocol, any two run groups compared fold by fold with their recipes, and the reference
results beside the user's own."""

import streamlit as st

from app_pages import cache, common
from ecgcore.app import comparison as cmp_view
from ecgcore.app import errors as err_view
from ecgcore.app import results as result_view
from ecgcore.app import runs_view
from ecgcore.app.words import METHOD_NAMES, MISSING_NOTE, dataset_words
from ecgcore.errors import ECGCoreError
from ecgcore.figures import (
    fold_comparison_figure,
    loss_curves_overlay_figure,
    pr_compare_figure,
    pr_figure,
    roc_compare_figure,
    roc_figure,
)
from ecgcore.metrics import MACRO_METRICS
from ecgcore.thresholds import thresholds_of_results

NUM = {"format": "%.3f"}
RATES = ("threshold", "sensitivity", "specificity", "PPV", "F1")


def no_runs(ds) -> None:
    st.info("No evaluated run on this dataset yet: train a model — its test part is evaluated when it finishes.")
    st.page_link(common.TRAIN, label="Train a model", icon=":material/model_training:")
    st.subheader("Reference results")
    st.dataframe(runs_view.with_dashes(result_view.reference_with_runs({}, ds.description)), hide_index=True)
    st.stop()


def run_header(ds, run, results: dict) -> str:
    """Where the numbers come from (and warnings for another dataset or demo data); returns the source."""
    data = results.get("dataset") or {}
    counts = results.get("counts") or {}
    source = data.get("description", dataset_words(data.get("name")))
    group = cmp_view.group_name(run.model, run.run_name)
    st.caption(
        f"Numbers from **{source}** · {group} · fold {run.fold} · protocol {cmp_view.protocol_label(run.plan)} · "
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
    return source


def test_metrics(ds, run, results: dict, source: str) -> None:
    """The headline metrics, the per-class table, ROC and PR curves, and the threshold explorer."""
    y_true, y_prob, names = result_view.test_arrays(results)
    chosen = dict(zip(names, thresholds_of_results(results)))
    st.subheader("Test metrics")
    left, right = st.columns([2, 3])
    left.dataframe(
        runs_view.with_dashes(result_view.metrics_table(results)),
        hide_index=True,
        column_config={"value": st.column_config.NumberColumn(**NUM)},
    )
    right.caption(
        f"95 % CI: bootstrap over the {len(y_true)} test records of {source}. Below, per class at the "
        "validation-chosen thresholds; the 95 % CIs of AP and ROC-AUC come from the same bootstrap as the macro "
        "figures. Counts per class: the confusion matrices tab."
    )
    per_class = result_view.per_class_table(results, cache.class_ci(run.path))
    st.dataframe(
        runs_view.with_dashes(per_class.drop(columns=list(result_view.COUNT_COLUMNS))),
        hide_index=True,
        key="ev_per_class",
        column_config={c: st.column_config.NumberColumn(**NUM) for c in ("AP (PR-AUC)", "ROC-AUC", *RATES)},
    )
    st.caption(MISSING_NOTE)
    roc_tab, pr_tab, cm_tab = st.tabs(["ROC curves", "Precision–recall curves", "Confusion matrices and records"])
    with roc_tab:
        st.plotly_chart(roc_figure(y_true, y_prob, names, thresholds=chosen), key="ev_roc")
    with pr_tab:
        st.plotly_chart(pr_figure(y_true, y_prob, names, thresholds=chosen), key="ev_pr")
    with cm_tab:
        threshold_explorer(ds, run, results, names, chosen, source)


def _thresholds(names: list[str], chosen: dict) -> float | dict | None:
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
    if mode == "global":
        return st.slider("Threshold", 0.0, 1.0, 0.5, 0.01, key="ev_thr")
    if mode == "per_class":
        cols = st.columns(min(len(names), 6) or 1)
        return {
            n: cols[j % len(cols)].slider(n, 0.0, 1.0, round(float(chosen[n]), 2), 0.01, key=f"ev_thr_{n}")
            for j, n in enumerate(names)
        }
    return None


def _records_view(ds, run, chosen: dict, thresholds: dict, source: str) -> None:
    """The errors view: the records of one class and outcome at the thresholds shown, a row opens Saliency."""
    try:
        table = cache.run_records(run.path, ds, None if thresholds == chosen else thresholds)
    except ECGCoreError as e:  # results.json of an old version, without the per-record fields
        common.show_error(e)
        return
    classes = err_view.classes_of(table)
    st.session_state.setdefault("ev_err_outcome", "FN")
    c1, c2, c3 = st.columns([1, 1, 1])
    cls = c1.selectbox("Class", classes, key="ev_err_cls")
    outcome = c2.selectbox("Outcome", err_view.OUTCOMES, key="ev_err_outcome", format_func=err_view.outcome_label)
    method = c3.selectbox("Saliency method", list(METHOD_NAMES), key="ev_err_method", format_func=METHOD_NAMES.get)
    rows = err_view.errors_table(table, cls, outcome)
    rows["saliency"] = [err_view.saliency_link(err_view.saliency_params(e, run, cls, method)) for e in rows["ecg_id"]]
    order = "least" if outcome in ("FN", "TN") else "most"
    st.caption(
        f"{len(rows)} {err_view.OUTCOME_NAMES[outcome]} for {cls} in the test part of fold {run.fold} ({source}), "
        f"{order} probable {cls} first. Select a row to open its saliency for {cls}, or copy its link."
    )
    event = st.dataframe(
        rows,
        hide_index=True,
        key=f"ev_err_table_{cls}_{outcome}_{err_view.thresholds_tag(thresholds, chosen)}",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            f"P({cls})": st.column_config.NumberColumn(**NUM),
            "saliency": st.column_config.LinkColumn("saliency", display_text="open in Saliency"),
        },
    )
    picked = event.selection.rows if event else []
    if picked:
        ecg_id = int(rows["ecg_id"].iloc[picked[0]])
        st.switch_page(common.SALIENCY, query_params=err_view.saliency_params(ecg_id, run, cls, method))


@st.fragment
def threshold_explorer(ds, run, results: dict, names: list[str], chosen: dict, source: str) -> None:
    """Thresholds, confusion matrices, rates and the records behind a cell: reruns alone on a change."""
    matrices, thresholds, rates = result_view.confusion_at(results, _thresholds(names, chosen))
    event = st.plotly_chart(
        result_view.confusion_view(cache.confusion_template(tuple(names)), matrices, thresholds),
        key="ev_cm",
        on_select="rerun",
        selection_mode="points",
    )
    points = event.selection.points if event else []
    cell = err_view.cell_of_point(points[0], names) if points else None
    if cell and cell != st.session_state.get("_ev_cell"):
        st.session_state["_ev_cell"] = cell
        st.session_state["ev_err_cls"], st.session_state["ev_err_outcome"] = cell
    st.dataframe(
        runs_view.with_dashes(rates),
        hide_index=True,
        key="ev_cm_table",
        column_config={c: st.column_config.NumberColumn(**NUM) for c in RATES},
    )
    st.download_button(
        "confusion.png (as shown)",
        lambda: cache.confusion_png(matrices, thresholds),
        file_name=f"{run.model}_{run.run_name}_fold{run.fold}_confusion.png",
        mime="image/png",
        icon=":material/download:",
        key="ev_cm_png",
    )
    st.markdown("**The records behind a cell** — click a cell of the matrices above, or choose:")
    _records_view(ds, run, chosen, thresholds, source)


def across_folds(run, mine: list) -> None:
    """The summary over the evaluated folds of the run's group and protocol."""
    st.header("Across folds", divider="gray")
    group = cmp_view.group_name(run.model, run.run_name)
    groups = cmp_view.run_groups(mine, run.label_set, run.plan)
    own = cmp_view.group_results(groups.get(group, {}), cache.results)
    st.markdown(
        f"**{group}**, protocol **{cmp_view.protocol_label(run.plan)}**, macro PR-AUC over the evaluated folds: "
        f"{result_view.mean_sd_text(own)}"
    )
    st.dataframe(
        runs_view.with_dashes(result_view.folds_table(own)),
        hide_index=True,
        column_config={result_view.METRIC_NAMES[m]: st.column_config.NumberColumn(**NUM) for m in MACRO_METRICS},
    )
    others = [p for p in cmp_view.plans_of(mine, run.label_set) if p != run.plan]
    if others:
        st.caption(
            "Runs of other protocols (" + "; ".join(cmp_view.protocol_label(p) for p in others) + ") are summarised "
            "on their own — choose one of their folds above; different protocols are never averaged together."
        )


def _pick_pair(run, mine: list) -> tuple[str, dict, tuple[str, str] | None]:
    """Protocol, run A and run B (the protocol follows a newly picked run); (plan, groups, (a, b) or None)."""
    c1, c2, c3 = st.columns(3)
    plans = cmp_view.plans_of(mine, run.label_set)
    if st.session_state.get("_ev_cmp_follows") != (run.label_set, run.plan):
        st.session_state["_ev_cmp_follows"] = (run.label_set, run.plan)
        st.session_state["ev_cmp_plan"] = run.plan
        for k in ("ev_cmp_a", "ev_cmp_b"):
            st.session_state.pop(k, None)
    plan = c1.selectbox("Protocol", plans, key="ev_cmp_plan", format_func=cmp_view.protocol_label)
    groups = cmp_view.run_groups(mine, run.label_set, plan)
    names_ = list(groups)
    pair = cmp_view.default_pair(names_)
    if pair is None:
        return plan, groups, None
    a = c2.selectbox("Run A", names_, index=names_.index(pair[0]), key="ev_cmp_a")
    b = c3.selectbox("Run B", names_, index=names_.index(pair[1]), key="ev_cmp_b")
    return plan, groups, (a, b)


def _comparison_numbers(comp: dict, a: str, b: str, plan: str, source: str) -> None:
    """The summary of the paired comparison, and one metric fold by fold."""
    st.caption(f"Numbers from **{source}**, protocol {cmp_view.protocol_label(plan)}; difference = A − B.")
    st.dataframe(
        runs_view.with_dashes(cmp_view.summary_table(comp), digits=4),
        hide_index=True,
        key="ev_cmp_summary",
        column_config={
            c: st.column_config.NumberColumn(format="%.4f")
            for c in (f"{a} (mean)", f"{b} (mean)", "difference (mean)", "difference (SD)", "Wilcoxon p")
        },
    )
    st.caption(comp["note"])
    m1, m2 = st.columns([1, 1])
    metric = m1.selectbox("Metric", list(MACRO_METRICS), key="ev_cmp_metric", format_func=result_view.METRIC_NAMES.get)
    per_fold = cmp_view.per_fold_table(comp, metric)
    m1.dataframe(
        runs_view.with_dashes(per_fold, digits=4),
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.4f") for c in per_fold.columns[1:]},
    )
    m1.caption("Paired by fold: both runs tested on the same patients.")
    label = result_view.METRIC_NAMES[metric]
    long = per_fold.melt(id_vars="fold", value_vars=[a, b], var_name="model", value_name=label)
    m2.plotly_chart(fold_comparison_figure(long, label), key="ev_cmp")


def _comparison_curves(groups: dict, a: str, b: str, ra: dict, rb: dict, names: list[str]) -> None:
    """ROC, PR and training curves of both runs on one shared fold."""
    shared = sorted(set(ra) & set(rb))
    if not shared:
        return
    k = st.selectbox("Curves of fold", shared, key="ev_cmp_fold")
    scores = {g: result_view.test_arrays(r[k])[:2] for g, r in ((a, ra), (b, rb))}
    thr = {g: thresholds_of_results(r[k]) for g, r in ((a, ra), (b, rb))}
    t1, t2, t3 = st.tabs(["ROC curves", "Precision–recall curves", "Training curves"])
    try:
        t1.plotly_chart(roc_compare_figure(scores, names, thr), key="ev_cmp_roc")
        t2.plotly_chart(pr_compare_figure(scores, names, thr), key="ev_cmp_pr")
    except ValueError as e:
        st.error(f"These two runs cannot be drawn together: {e}")
    curves = cmp_view.training_curves({a: groups[a], b: groups[b]})
    if curves:
        t3.plotly_chart(loss_curves_overlay_figure(curves), key="ev_cmp_curves")
    else:
        t3.info("No training curves recorded for these runs.")


def compare_two(run, mine: list, names: list[str], source: str) -> None:
    """Any two run groups of one protocol compared fold by fold, with their recipes and curves."""
    st.header("Compare two runs", divider="gray")
    plan, groups, pair = _pick_pair(run, mine)
    if pair is None:
        st.info(
            "Train and evaluate a second model or run (e.g. another recipe with a run name) on the same folds "
            "of this protocol to compare them fold by fold."
        )
        return
    a, b = pair
    ra, rb = (cmp_view.group_results(groups[g], cache.results) for g in (a, b))
    recipes = {a: cmp_view.group_recipe(groups[a]), b: cmp_view.group_recipe(groups[b])}
    warning = cmp_view.recipe_warning(recipes) if a != b else None
    if warning:
        st.warning(warning, icon=":material/warning:")
    comp = None
    if not set(ra) & set(rb):
        st.info(cmp_view.no_shared_fold_note((a, b), groups, (ra, rb)), icon=":material/info:")
    else:
        try:
            comp = cmp_view.compare(ra, rb, (a, b))
        except ECGCoreError as e:
            common.show_error(e)
    if comp:
        _comparison_numbers(comp, a, b, plan, source)
    st.subheader("Recipes")
    st.dataframe(
        cmp_view.recipe_table(recipes, {a: cmp_view.best_epochs(ra), b: cmp_view.best_epochs(rb)}),
        hide_index=True,
        key="ev_cmp_recipes",
    )
    _comparison_curves(groups, a, b, ra, rb, names)


def reference(ds, run, mine: list, results: dict) -> None:
    """Published figures beside the user's own run groups."""
    st.header("Reference results", divider="gray")
    st.caption(
        "Published or previously measured figures, **not produced by this app on this data** — compare with "
        "care: the data (full PTB-XL vs a part or demo data) and the protocol differ, as each row says."
    )
    by_model = {
        g: cmp_view.group_results(members, cache.results)
        for g, members in cmp_view.run_groups(mine, run.label_set, run.plan).items()
    }
    data = results.get("dataset") or {}
    st.dataframe(
        runs_view.with_dashes(
            result_view.reference_with_runs(by_model, data.get("description", ds.description), run.plan)
        ),
        hide_index=True,
        column_config={
            "macro_pr_auc": st.column_config.NumberColumn("macro PR-AUC (AP)", **NUM),
            "macro_pr_auc_std": st.column_config.NumberColumn("macro PR-AUC SD", **NUM),
            "macro_roc_auc": st.column_config.NumberColumn("macro ROC-AUC", **NUM),
        },
    )


def page() -> None:
    frame = common.page_frame()
    ds = common.require_dataset(frame)
    st.title("Evaluate")
    runs = runs_view.evaluated_runs(ds.name)
    if not runs:
        no_runs(ds)
    run = common.pick_run(runs, "ev", st.columns(3), label_set=ds.label_set)
    mine = [r for r in runs if r.label_set == run.label_set]
    try:
        results = cache.results(run.path)
    except ECGCoreError as e:
        common.show_error(e)
        st.stop()
    source = run_header(ds, run, results)
    test_metrics(ds, run, results, source)
    st.download_button(
        "results.json",
        (run.path / "results.json").read_bytes(),
        file_name=f"{run.model}_{run.run_name}_fold{run.fold}_results.json",
        mime="application/json",
        icon=":material/download:",
    )
    across_folds(run, mine)
    compare_two(run, mine, result_view.test_arrays(results)[2], source)
    reference(ds, run, mine, results)


page()
