"""Evaluate: test-part results of a trained run and fold (metrics and per-class figures with 95 % CIs,
ROC/PR curves with the operating points, confusion matrices at the validation-chosen or a chosen
threshold, the records behind each cell, opened in Saliency with one click), the summary over the
folds of one protocol, any two run groups compared fold by fold with their recipes, and the reference
results beside the user's own."""

import pandas as pd
import streamlit as st

from app_pages import cache, common
from ecgcore.app import comparison as cmp_view
from ecgcore.app import errors as err_view
from ecgcore.app import results as result_view
from ecgcore.app import runs_view
from ecgcore.app.words import (
    CELL_PICKER,
    LIKELIHOOD_FILTERS,
    METHOD_NAMES,
    MISSING_NOTE,
    RUN_PICKER,
    SUBGROUP_NAMES,
    dataset_words,
)
from ecgcore.errors import ECGCoreError
from ecgcore.figures.failures import forest_figure, reliability_figure
from ecgcore.figures.metrics import fold_comparison_figure, pr_compare_figure, pr_figure, roc_compare_figure, roc_figure
from ecgcore.figures.training import loss_curves_overlay_figure
from ecgcore.metrics import MACRO_METRICS
from ecgcore.outcomes import OUTCOMES
from ecgcore.run_paths import group_label
from ecgcore.thresholds import thresholds_of_results

NUM = {"format": "%.3f"}
RATES = ("threshold", "sensitivity", "specificity", "PPV", "F1")


def shown(frame, columns, digits: int = 3, **config) -> dict:
    """``st.dataframe`` keyword arguments of a table with "—" for missing values (``with_dashes``): the
    columns still numeric get a NumberColumn; those turned into text keep their text (a NumberColumn
    would mark "—" as a bad value)."""
    data = runs_view.with_dashes(frame, digits=digits)
    numeric = {
        c: st.column_config.NumberColumn(format=f"%.{digits}f")
        for c in columns
        if c in data.columns and pd.api.types.is_numeric_dtype(data[c])
    }
    return {"data": data, "hide_index": True, "column_config": numeric | config}


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
    group = group_label(run.model, run.run_name)
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
    per_class = per_class.drop(columns=list(result_view.COUNT_COLUMNS))
    st.dataframe(**shown(per_class, ("AP (PR-AUC)", "ROC-AUC", *RATES)), key="ev_per_class")
    st.caption(MISSING_NOTE)
    roc_tab, pr_tab, cm_tab, sub_tab, cal_tab = st.tabs(
        ["ROC curves", "Precision–recall curves", "Confusion matrices and records", "Subgroups", "Calibration"]
    )
    with roc_tab:
        st.plotly_chart(roc_figure(y_true, y_prob, names, thresholds=chosen), key="ev_roc")
    with pr_tab:
        st.plotly_chart(pr_figure(y_true, y_prob, names, thresholds=chosen), key="ev_pr")
    with cm_tab:
        threshold_explorer(ds, run, results, names, chosen, source)
    with sub_tab:
        subgroups_tab(ds, run, source)
    with cal_tab:
        calibration_tab(run, names, source)


def subgroups_tab(ds, run, source: str) -> None:
    """Where the model fails: PR-AUC and ROC-AUC per subgroup of one PTB-XL column, as forest plots with
    the whole test part as the reference line; small groups greyed, with their reason."""
    c1, c2 = st.columns(2)
    by = c1.selectbox("Split the test part by", list(SUBGROUP_NAMES), key="ev_sub_by", format_func=SUBGROUP_NAMES.get)
    try:
        with st.spinner("Working out the subgroups (first time only)…"):
            table = cache.subgroups(run.path, by, str(ds.root))
    except (ECGCoreError, KeyError, ValueError) as e:
        st.error(result_view.subgroup_error_words(by, e), icon=":material/error:")
        return
    cls = c2.selectbox("Class", result_view.subgroup_classes(table), key="ev_sub_cls")
    left, right = st.columns(2)
    for col, metric in ((left, "pr_auc"), (right, "roc_auc")):
        forest = forest_figure(table, metric, cls)
        forest.update_xaxes(range=result_view.forest_range(table, metric, cls))  # never zoomed into a cliff
        col.plotly_chart(forest, key=f"ev_sub_{metric}")
    st.dataframe(**shown(result_view.subgroup_rows(table, cls), ("PR-AUC", "ROC-AUC")), key="ev_sub_table")
    st.caption(
        f"Test part of fold {run.fold} ({source}) split by {SUBGROUP_NAMES[by]}; the dashed line is the whole "
        "test part. 95 % intervals: bootstrap of each group's own records. Grey points have too few positives "
        "or negatives for an interval — read them as a hint, not a finding."
        + (result_view.LIKELIHOOD_NOTE if by == "likelihood" else "")
    )


def calibration_tab(run, names: list[str], source: str) -> None:
    """The reliability diagram per class and, in words, whether the run's probabilities are calibrated."""
    try:
        calibration = cache.calibration(run.path)
    except (ECGCoreError, KeyError, ValueError) as e:
        st.error(f"No calibration for this run: {e}", icon=":material/error:")
        return
    st.markdown(result_view.calibration_words(calibration))
    columns = ("ECE", "Brier score", "ECE after scaling")
    st.dataframe(**shown(result_view.calibration_table(calibration), columns), key="ev_cal_table")
    picked = st.multiselect("Classes", names, default=names[:6], key="ev_cal_cls")
    cols = st.columns(2)
    for j, name in enumerate(picked):
        fig = reliability_figure(calibration["raw"], calibration.get("scaled"), [name])
        fig.update_layout(title=f"{name}: reliability (test part)", height=360)
        cols[j % 2].plotly_chart(fig, key=f"ev_cal_{name}")
    st.caption(
        f"Test part of fold {run.fold} ({source}). Each point is a bin of records with similar predicted "
        "probability: on the dashed diagonal the predicted probability comes true as often as it says."
    )


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


def _records_view(ds, run, chosen: dict, thresholds: dict, source: str, matrices: dict) -> None:
    """The errors view: the records of one class and confusion cell at the thresholds shown (the cell
    picker names each cell with its count), a row opens Saliency."""
    try:
        table = cache.run_records(run.path, ds, None if thresholds == chosen else thresholds)
    except ECGCoreError as e:  # results.json of an old version, without the per-record fields
        common.show_error(e)
        return
    classes = err_view.classes_of(table)
    st.session_state.setdefault("ev_err_outcome", "FN")
    c1, c2, c3, c4 = st.columns([1, 1, 1, 1])
    cls = c1.selectbox("Class", classes, key="ev_err_cls")
    counts = err_view.cell_counts(matrices, cls)
    outcome = c2.selectbox(
        CELL_PICKER,
        OUTCOMES,
        key="ev_err_outcome",
        format_func=lambda o: (
            f"{counts[o]} · {err_view.outcome_label(o)}" if o in counts else err_view.outcome_label(o)
        ),
    )
    band = c3.selectbox(
        "Cardiologist's certainty", list(LIKELIHOOD_FILTERS), key="ev_err_certainty", format_func=LIKELIHOOD_FILTERS.get
    )
    method = c4.selectbox("Saliency method", list(METHOD_NAMES), key="ev_err_method", format_func=METHOD_NAMES.get)
    rows = err_view.with_certainty(
        err_view.errors_table(table, cls, outcome),
        cls,
        ds.records,
        cache.statements(str(ds.root), cache.ds_key(ds)),
        ds.label_set,
    )
    rows = err_view.filter_certainty(rows, band)
    rows["saliency"] = [err_view.saliency_link(err_view.saliency_params(e, run, cls, method)) for e in rows["ecg_id"]]
    order = "least" if outcome in ("FN", "TN") else "most"
    st.caption(
        f"{len(rows)} {err_view.OUTCOME_NAMES[outcome]} for {cls} in the test part of fold {run.fold} ({source}), "
        f"{order} probable {cls} first"
        + ("" if band == "all" else f", cardiologist's certainty {LIKELIHOOD_FILTERS[band]}")
        + f". Select a row to open its saliency for {cls}, or copy its link. Each true label shows the "
        "SCP statement(s) behind it with the cardiologist's likelihood."
    )
    event = st.dataframe(
        rows,
        hide_index=True,
        key=f"ev_err_table_{cls}_{outcome}_{err_view.thresholds_tag(thresholds, chosen)}"
        + ("" if band == "all" else f"_{band}"),
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            f"P({cls})": st.column_config.NumberColumn(**NUM),
            "certainty (%)": st.column_config.NumberColumn(format="%.0f"),
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
    st.plotly_chart(
        result_view.confusion_view(cache.confusion_template(tuple(names)), matrices, thresholds), key="ev_cm"
    )
    st.dataframe(**shown(rates, RATES), key="ev_cm_table")
    st.download_button(
        "confusion.png (as shown)",
        lambda: cache.confusion_png(matrices, thresholds),
        file_name=f"{run.model}_{run.run_name}_fold{run.fold}_confusion.png",
        mime="image/png",
        icon=":material/download:",
        key="ev_cm_png",
    )
    st.markdown("**The records behind a cell** — pick a class and one of its cells (TP, FP, FN, TN):")
    _records_view(ds, run, chosen, thresholds, source, matrices)


def across_folds(run, mine: list) -> None:
    """The summary over the evaluated folds of the run's group and protocol."""
    st.header("Across folds", divider="gray")
    group = group_label(run.model, run.run_name)
    groups = cmp_view.run_groups(mine, run.label_set, run.plan)
    own = cmp_view.group_results(groups.get(group, {}), cache.results)
    st.markdown(
        f"**{group}**, protocol **{cmp_view.protocol_label(run.plan)}**, macro PR-AUC over the evaluated folds: "
        f"{result_view.mean_sd_text(own)}"
    )
    st.dataframe(**shown(result_view.folds_table(own), [result_view.METRIC_NAMES[m] for m in MACRO_METRICS]))
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
    means = (f"{a} (mean)", f"{b} (mean)", "difference (mean)")
    st.dataframe(**shown(cmp_view.summary_table(comp), means, digits=4), key="ev_cmp_summary")
    st.caption(comp["note"])
    m1, m2 = st.columns([1, 1])
    metric = m1.selectbox("Metric", list(MACRO_METRICS), key="ev_cmp_metric", format_func=result_view.METRIC_NAMES.get)
    per_fold = cmp_view.per_fold_table(comp, metric)
    m1.dataframe(**shown(per_fold, per_fold.columns[1:], digits=4))
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
    warnings = [cmp_view.fold_recipe_warning(g, groups[g]) for g in dict.fromkeys((a, b))]
    warnings.append(cmp_view.recipe_warning(recipes) if a != b else None)
    for warning in filter(None, warnings):
        st.warning(warning, icon=":material/warning:")
    comp = None
    seeds = cmp_view.seed_groups(mine, run.label_set, plan)
    averaged = {g: cmp_view.seed_averaged_results(seeds.get(g, {0: groups[g]}), cache.results) for g in (a, b)}
    several = {g: n for g, (_, n) in averaged.items() if n > 1}
    if several:
        st.caption("Each fold is the mean over its seeds (" + ", ".join(f"{g}: {n}" for g, n in several.items())
                   + "); the spread below is over folds.")  # fmt: skip
    if not set(ra) & set(rb):
        st.info(cmp_view.no_shared_fold_note((a, b), groups, (ra, rb)), icon=":material/info:")
    else:
        try:
            comp = cmp_view.compare(averaged[a][0], averaged[b][0], (a, b))
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
    table = shown(
        result_view.reference_with_runs(by_model, data.get("description", ds.description), run.plan),
        ("macro_pr_auc", "macro_pr_auc_std", "macro_roc_auc"),
    )
    labels = {
        "macro_pr_auc": "macro PR-AUC (AP)",
        "macro_pr_auc_std": "macro PR-AUC SD",
        "macro_roc_auc": "macro ROC-AUC",
    }
    for column, label in labels.items():  # numbers stay numbers; a column with "—" stays text
        kind = table["column_config"].get(column)
        table["column_config"][column] = (
            st.column_config.NumberColumn(label, **NUM) if kind else st.column_config.TextColumn(label)
        )
    st.dataframe(**table)


def follow_link(runs: list) -> None:
    """A link ``?model=…&run=…&fold=…`` (``plan`` optional) picks that run once; bad values are named."""
    params = {k: st.query_params.get(k) for k in ("model", "run", "fold", "plan")}
    signature = "&".join(f"{k}={v or ''}" for k, v in params.items())
    if st.session_state.get("_ev_link") != signature:
        st.session_state["_ev_link"] = signature
        run, problems = runs_view.run_from_link(params, runs)
        st.session_state["_ev_link_problems"] = problems
        if run is not None:
            st.session_state["ev_label_set"] = run.label_set
            st.session_state["ev_model"] = common.run_choice(run)
            st.session_state["ev_fold"] = (run.plan, run.fold)
    problems = st.session_state.get("_ev_link_problems")
    if problems:
        st.warning("The link could not be followed as given: " + "; ".join(problems) + ".", icon=":material/link_off:")


def page() -> None:
    frame = common.page_frame()
    ds = common.require_dataset(frame)
    st.title("Evaluate")
    runs = runs_view.evaluated_runs(ds.name)
    if not runs:
        no_runs(ds)
    follow_link(runs)
    run = common.pick_run(runs, "ev", st.columns(3), label_set=ds.label_set, label=RUN_PICKER)
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
