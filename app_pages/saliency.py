"""Saliency: which parts of a record's 12 leads drove a trained model's prediction of one class — on ECG
paper or as bands, with per-lead shares, the predicted set and probabilities; the fold ensemble (mean
of the folds' maps) on request; the 1D and 2D CNN side by side; and, for the whole test part of the
fold, each class's lead importance and beat-aligned profile (computed in the background, cached).

Deep link: ``/saliency?ecg_id=…&model=…&run=…&fold=…&plan=…&cls=…&method=…`` (``ecgcore.app.explain``)."""

from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from app_pages import cache, common, trust_sections
from ecgcore.app import explain, records, run_status, runs_view, trust
from ecgcore.app.words import ENSEMBLE_PART_NAMES, METHOD_NAMES, PART_NAMES
from ecgcore.class_summary import cached_class_summary, start_summary, summary_status
from ecgcore.ensemble import member_thresholds
from ecgcore.errors import ECGCoreError, ResultsError
from ecgcore.figures._common import display_lead_name
from ecgcore.figures.ecg import (
    HOW_TO_READ_SALIENCY,
    NO_MODE_BAR,
    PAGE_WIDTH_PX,
    ecg_paper_figure,
    lead_importance_figure,
    lead_shares,
    saliency_figure,
)
from ecgcore.figures.records import probabilities_figure
from ecgcore.figures.summary import share_figure
from ecgcore.folds import fold_testing_record
from ecgcore.run_paths import RunPaths
from ecgcore.runs import RunInfo
from ecgcore.saliency import default_target, display_map

AUTO = "__auto__"
TABS = ("This record", "Whole test part")
WIDTH = PAGE_WIDTH_PX  # the main column of a 1600×1000 window with the sidebar open: paper at 4.3 px/mm
PLOT_CONFIG = trust_sections.PLOT_CONFIG
ECG_CONFIG = NO_MODE_BAR  # no mode bar over the colour bar


@dataclass
class Choice:
    """What the widgets chose: the run and its ensemble members, the method, the class, the record."""

    run: RunInfo | None = None
    members: list = field(default_factory=list)
    method: str = "integrated_gradients"
    target: str = AUTO
    parts: np.ndarray | None = None
    ecg_id: int = 0


# ----------------------------------------------------------------------------- deep link (applied once)


def apply_link(ds, runs) -> None:
    """A deep link (or the Dataset page's "Explain this record") sets the widgets once; what it names
    that does not exist is said in one warning each."""
    params = {k: st.query_params.get(k) for k in explain.LINK_PARAMS}
    from_dataset = st.session_state.pop("explain_ecg_id", None)
    if from_dataset is not None:
        params = {"ecg_id": str(from_dataset)}
    if not any(params.values()) or explain.link_signature(params) == st.session_state.get("_sal_applied"):
        return
    st.session_state["_sal_applied"] = explain.link_signature(params)
    link = explain.parse_link(params, runs, ds.label_names, list(METHOD_NAMES))
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
            st.warning(f"Record {link.ecg_id} is not in this dataset.")
        else:
            st.session_state["_sal_pending"] = link.ecg_id
            st.session_state["sal_tab"] = TABS[0]  # a link opens the record's own map
            if not params.get("fold"):  # no fold named: open the fold whose test part holds the record
                st.session_state["_sal_follow"] = link.ecg_id


def _follow_record(ds, folds: dict) -> None:
    """A record to follow (a link without a fold, or a pick from all records): choose the fold of the
    chosen run that tests it, when that fold is trained."""
    ecg_id = st.session_state.pop("_sal_follow", None)
    if ecg_id is None:
        return
    plan = (st.session_state.get("sal_fold") or sorted(folds)[0])[0]
    k = fold_testing_record(ds.records, ds.labels.any(axis=1), ecg_id, plan)
    if (plan, k) in folds:
        st.session_state["sal_fold"] = (plan, k)
        st.session_state["_sal_pending"] = ecg_id


def _members_changed() -> None:
    """One fold or all: the part picker's words change (no part is "never seen" by every member); set its
    value again so that the browser shows the new words."""
    if "sal_part" in st.session_state:
        st.session_state["sal_part"] = st.session_state["sal_part"]


def _picked() -> None:
    """A record picked from all records: follow it to the fold that tests it."""
    if st.session_state.get("sal_part") == "all":
        st.session_state["_sal_follow"] = st.session_state.get("sal_ecg_id")


# ----------------------------------------------------------------------------- run, method, class


def run_choice(ds, runs, key_ds) -> Choice:
    """Model, run name, fold, this fold or all folds, method and class."""
    choice = Choice()
    if not runs:
        st.info(f"No trained model for this dataset and the {ds.label_set} label set yet — train one to see saliency.")
        st.page_link(common.TRAIN, label="Train a model", icon=":material/model_training:")
        return choice
    c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
    model_name = c1.selectbox("Model", sorted({r.model for r in runs}), key="sal_model")
    names = sorted({r.run_name for r in runs if r.model == model_name}, key=lambda n: n != "default")
    if st.session_state.get("sal_run") not in names:
        st.session_state["sal_run"] = names[0]
    run_name = c2.selectbox("Run", names, key="sal_run", disabled=len(names) == 1)
    folds = {(r.plan, r.fold): r for r in runs if r.model == model_name and r.run_name == run_name}
    _follow_record(ds, folds)
    if st.session_state.get("sal_fold") not in folds:
        st.session_state["sal_fold"] = sorted(folds)[0]
    plan_fold = c3.selectbox("Fold", sorted(folds), key="sal_fold", format_func=common.fold_label)
    choice.run = folds[plan_fold]
    members = explain.fold_members(runs, choice.run)
    ensemble = c4.radio(
        "Models",
        ["fold", "all"],
        key="sal_members",
        format_func={"fold": "this fold", "all": f"all folds ({len(members)})"}.get,
        help="All folds: the fold ensemble — the mean of the fold models' probabilities and maps.",
        on_change=_members_changed,
    )
    choice.members = members if ensemble == "all" else [choice.run]
    choice.parts = cache.record_parts(ds, key_ds, choice.run.plan, choice.run.fold)
    return choice


# ----------------------------------------------------------------------------- the record picker


def _open_pending(ds, parts) -> None:
    """A linked record: open the filters so that it is in the list."""
    pending = st.session_state.pop("_sal_pending", None)
    if pending is None:
        return
    i = records.record_index(ds, pending)
    part = parts[i] if parts is not None else "all"
    st.session_state.update(
        sal_part=part if part in explain.PARTS else "all", sal_label=explain.ANY, sal_wrong=False, sal_ecg_id=pending
    )
    st.session_state["sal_patient"] = explain.ANY


def pick_record(ds, key_ds, choice: Choice) -> int:
    """Part, label, misclassified and patient filters, then the record (the page stops when none is left)."""
    table = cache.record_table(ds, key_ds)
    _open_pending(ds, choice.parts)
    st.session_state.setdefault("sal_part", "test")
    outcomes, wrong_ids = None, None
    wrong_help = "Records the run got wrong (a false positive or negative) at the validation thresholds."
    if choice.run is not None:
        try:
            outcomes = cache.run_records_csv(choice.run.path)
        except ResultsError as e:
            outcomes, wrong_help = None, str(e)
    c1, c2, c3, c4, c5 = st.columns([2, 2, 2, 2, 4], vertical_alignment="bottom")
    names = ENSEMBLE_PART_NAMES if len(choice.members) > 1 else PART_NAMES
    part = c1.selectbox(
        "Part of the fold", explain.PARTS, key="sal_part", format_func=names.get, disabled=choice.parts is None
    )
    label = c2.selectbox("Label", [explain.ANY, *ds.label_names], key="sal_label")
    wrong = c3.toggle("Misclassified", key="sal_wrong", disabled=outcomes is None, help=wrong_help)
    if wrong and outcomes is not None:
        wrong_ids = explain.misclassified_ids(outcomes, None if label == explain.ANY else label)
        part = "test" if part == "all" else part
    shown = explain.pick_records(
        table, ds.labels, ds.label_names, choice.parts, label=label, part=part, wrong=wrong_ids
    )
    patients = sorted({int(p) for p in shown["patient_id"].dropna()})
    if st.session_state.get("sal_patient") not in [explain.ANY, *patients]:
        st.session_state["sal_patient"] = explain.ANY
    patient = c4.selectbox(f"Patient ({len(patients):,})", [explain.ANY, *patients], key="sal_patient")
    if patient != explain.ANY:
        shown = shown[shown["patient_id"] == patient]
    if shown.empty:
        st.warning(
            "No record matches these filters; widen them (part, label, misclassified).", icon=":material/search_off:"
        )
        st.stop()
    ids = shown["ecg_id"].astype(int).tolist()
    if st.session_state.get("sal_ecg_id") not in ids:
        st.session_state["sal_ecg_id"] = ids[0]
    options = {int(r["ecg_id"]): explain.record_option(r) for r in shown.to_dict("records")}
    return c5.selectbox(f"Record ({len(ids):,})", ids, key="sal_ecg_id", format_func=options.get, on_change=_picked)


def ecg_only(ds, ecg_id: int, signal) -> None:
    """No trained model: the record alone on ECG paper, and the page stops."""
    st.query_params.update(explain.link_params(ecg_id, None, None, None))
    st.session_state["_sal_applied"] = explain.link_signature(st.query_params.to_dict())
    st.plotly_chart(
        ecg_paper_figure(signal, ds.sampling_rate, title=f"ecg_id {ecg_id}", width=WIDTH),
        key="sal_ecg_only",
        config=ECG_CONFIG,
    )
    st.stop()


def view_options(ds) -> dict:
    """Method, class, smoothing, normalisation, paper or bands, signed (inside the map's fragment)."""
    c1, c2, c5, c6, c7, c8 = st.columns([3, 3, 3, 3, 3, 2])
    method = c1.selectbox("Method", list(METHOD_NAMES), key="sal_method", format_func=METHOD_NAMES.get)
    target = c2.selectbox(
        "Explain class",
        [AUTO, *ds.label_names],
        key="sal_target",
        format_func=lambda t: "default (most probable predicted)" if t == AUTO else t,
    )
    smoothing = c5.slider(
        "Smoothing (s)",
        0.0,
        0.5,
        0.04,
        0.02,
        key="sal_smooth",
        help="Moving average of the map over this many seconds.",
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
    return {
        "method": method,
        "target": target,
        "smoothing": smoothing,
        "normalize": normalize,
        "view": view,
        "signed": signed and method == "integrated_gradients",
    }


# ----------------------------------------------------------------------------- compute


def predict(ds, choice: Choice, signal, key: str) -> dict:
    """Probabilities (the members' and their mean) and thresholds (the page stops on an unusable checkpoint)."""
    checkpoints = [RunPaths(m.path).best for m in choice.members]
    try:
        metas = []
        for c in checkpoints:
            _, m = cache.model(c)
            run_status.check_checkpoint_fits(m, ds.label_names, ds.sampling_rate, c)
            metas.append(m)
        member_probs = cache.member_probabilities(checkpoints, signal, key)
        thresholds, source = member_thresholds(metas)
    except ECGCoreError as e:
        common.show_error(e)
        st.stop()
    return {
        "checkpoints": checkpoints, "metas": metas, "member_probs": member_probs,
        "probs": member_probs.mean(axis=0), "thresholds": thresholds, "source": source,
    }  # fmt: skip


# ----------------------------------------------------------------------------- this record


def where_note(ds, runs, choice: Choice, metas, i: int) -> None:
    """Which dataset, and where the record is — one statement for the fold and the ensemble alike
    (``ecgcore.app.trust.record_place``), with a button to open the fold that tests it."""
    other = runs_view.other_dataset_note(metas[0].get("dataset"), ds)
    if other:
        st.warning(other, icon=":material/warning:")
    run, ecg_id = choice.run, choice.ecg_id
    if len(choice.members) > 1:
        from ecgcore.ensemble import NO_CV_NOTE

        n = len(choice.members)
        st.info(f"{explain.voters_note(n).capitalize()}; the map is the mean of their maps. {NO_CV_NOTE}")
    test_fold = fold_testing_record(ds.records, ds.labels.any(axis=1), ecg_id, run.plan)
    trained = [m.fold for m in explain.fold_members(runs, run)]
    place = trust.record_place(ecg_id, run.fold, choice.parts[i], [m.fold for m in choice.members], test_fold, trained)
    if place.level == "ok":
        st.caption(place.text)
    else:
        st.warning(place.text, icon=":material/warning:" if place.level == "warning" else ":material/info:")
    if place.open_fold is not None:
        st.button(
            f"Open fold {place.open_fold}, which tests this record",
            key="sal_open_test",
            on_click=_open_fold,
            args=(run.plan, place.open_fold, ecg_id),
        )


def _open_fold(plan: str, fold: int, ecg_id: int) -> None:
    """The button's callback (before the widgets exist): this fold alone, on the record's test part."""
    st.session_state.update(sal_fold=(plan, fold), sal_members="fold", _sal_pending=ecg_id)


def _explained_map(signal, key: str, got: dict, method: str, target: int) -> dict:
    """The (ensemble) map of class ``target``; the app stops on an unusable checkpoint."""
    try:
        return cache.ensemble_saliency(got["checkpoints"], signal, key, method, target)
    except ECGCoreError as e:
        common.show_error(e)
        st.stop()


def _lead_bars(col, raw: dict, target_name: str) -> None:
    """Per-lead shares, or — for a time-only map — why there is no lead ranking."""
    if raw["time_only"]:
        col.info(
            "No lead ranking: Grad-CAM of a 1D CNN is **time-only** — it says *when* in the record, not *which "
            "lead*; the same map is drawn behind all 12 leads.",
            icon=":material/schedule:",
        )
        return
    bars = lead_importance_figure(lead_shares(raw["map"]), f"Leads · {target_name}")
    col.plotly_chart(bars, key="sal_leads", config=PLOT_CONFIG)


def map_view(ds, runs, choice: Choice, signal, key: str, got: dict) -> None:
    """The explained class's map on the record (paper or bands) with the lead shares, the 1D-vs-2D pair
    on request, and the class summary of the whole test part — rerun alone when these widgets change."""
    opts = view_options(ds)
    auto = opts["target"] == AUTO
    target = default_target(got["probs"], got["thresholds"]) if auto else list(ds.label_names).index(opts["target"])
    target_name = ds.label_names[target]
    st.query_params.update(
        explain.link_params(choice.ecg_id, choice.run, None if auto else target_name, opts["method"])
    )
    st.session_state["_sal_applied"] = explain.link_signature(st.query_params.to_dict())
    # lazy tabs: only the open one runs and reaches the browser (a deep link draws no class summary); the
    # widgets of the closed tab keep their values (persist_state="page")
    here, whole = st.tabs(TABS, key="sal_tab", on_change="rerun")
    if whole.open:
        with whole:
            _summary_view(ds, choice.run, opts["method"], target_name)
        return
    with here:
        raw = _explained_map(signal, key, got, opts["method"], target)
        shown = display_map(raw["map"], ds.sampling_rate, opts["smoothing"], opts["normalize"], signed=opts["signed"])
        n = len(choice.members)
        who = f"ensemble of {n} folds" if n > 1 else f"fold {choice.run.fold}"
        title = (
            f"ecg_id {choice.ecg_id} · {explain.group_label(choice.run)} {who} · {METHOD_NAMES[opts['method']]} "
            f"for {target_name} (p = {got['probs'][target]:.2f})"
        )
        if opts["view"] == "paper":
            fig = ecg_paper_figure(
                signal, ds.sampling_rate, title=title, saliency=shown, signed=opts["signed"], width=WIDTH
            )
            st.plotly_chart(fig, key="sal_fig", config=ECG_CONFIG)
            _lead_bars(st.columns([1, 2])[0], raw, target_name)
        else:
            band_col, left = st.columns([4, 1])
            band_col.plotly_chart(
                saliency_figure(signal, shown, ds.sampling_rate, title=title, signed=opts["signed"]),
                key="sal_fig",
                config=ECG_CONFIG,
            )
            _lead_bars(left, raw, target_name)
        st.caption(trust_sections.ZOOM_NOTE)
        with st.expander("How to read this", icon=":material/help:"):
            st.markdown(HOW_TO_READ_SALIENCY)
        one_d_vs_two_d(ds, runs, choice, signal, key, target, opts)


def prediction_view(ds, runs, choice: Choice, i: int, got: dict) -> None:
    """The predicted set with the run's quality, the probabilities, the true labels with their certainty,
    the members' spread and the calibration."""
    st.subheader(f"Prediction for record {choice.ecg_id}", divider="gray")
    probs, thresholds = got["probs"], got["thresholds"]
    group = explain.fold_members(runs, choice.run)
    left, right = st.columns([3, 2])
    with left:
        predicted = explain.predicted_set(probs, thresholds, ds.label_names, got["source"])
        trust_sections.quality(group, ds.name, probs, thresholds, predicted, choice.run.status.get("config"))
        st.plotly_chart(
            probabilities_figure(
                dict(zip(ds.label_names, probs.tolist())),
                records.record_labels(ds, i),
                dict(zip(ds.label_names, thresholds)),
            ),
            key="sal_probs",
            config=PLOT_CONFIG,
        )
        st.caption(f"Black ticks: the thresholds chosen on the validation part. Dataset: {ds.description}.")
    with right:
        trust_sections.true_labels(ds, i, with_codes=True)
    trust_sections.spread(got["metas"], got["member_probs"], list(ds.label_names), "sal")


def one_d_vs_two_d(ds, runs, choice: Choice, signal, key: str, target: int, opts: dict) -> None:
    """The 1D and 2D CNN of the same fold and run name, side by side on this record (when asked for)."""
    run, method = choice.run, opts["method"]
    pair = {
        r.model: r
        for r in runs
        if (r.plan, r.fold) == (run.plan, run.fold) and r.model in ("cnn1d", "cnn2d") and r.run_name == run.run_name
    }
    st.subheader("1D vs 2D CNN on this record", divider="gray")
    if len(pair) < 2:
        st.caption(f"Train both cnn1d and cnn2d on fold {run.fold} to see their maps side by side.")
        return
    if not st.toggle("Compare the 1D and 2D CNN on this record", key="sal_pair", persist_state="page"):
        st.caption("Off: computing both models' maps takes a moment; switch on to compare.")
        return
    for col, name in zip(st.columns(2), ("cnn1d", "cnn2d")):
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
                display_map(r["map"], ds.sampling_rate, opts["smoothing"], opts["normalize"], signed=opts["signed"]),
                ds.sampling_rate,
                title=f"{name}{note} · {METHOD_NAMES[method]} for {ds.label_names[target]} (p = {p[target]:.2f})",
                signed=opts["signed"],
            ),
            key=f"sal_pair_{name}",
            config=ECG_CONFIG,
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


def _summary_view(ds, run, method: str, class_name: str) -> None:
    """Shares per lead and per beat window (with their spread and the no-preference marks) and the
    beat-aligned profile of one class — or one of its subclasses — over the fold's test part."""
    st.caption(
        f"What {explain.group_label(run)} fold {run.fold} looks at for each class, over the test records that "
        f"carry it ({METHOD_NAMES[method]}). Per fold: the fold ensemble has no test part of its own."
    )
    c1, c2, c3 = st.columns([2, 2, 3], vertical_alignment="bottom")
    cls = c1.selectbox(
        "Class", ds.label_names, index=list(ds.label_names).index(class_name), key=f"sal_sum_cls_{class_name}",
        persist_state="page",
    )  # fmt: skip
    n = c2.number_input(
        "First N test records (0 = the whole test part)", 0, 100_000, 0, 50, key="sal_sum_n",
        help="Fewer records: a faster summary.", persist_state="page",
    )  # fmt: skip
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
    subclasses = summary.get("subclasses") or {}
    if subclasses:
        whole = f"all {cls} records"
        pick = st.radio(
            "Records", [whole, *subclasses], horizontal=True, key=f"sal_sum_sub_{cls}", persist_state="page",
            help="A superclass split by the cardiologist's statements (a record can be in two).",
        )  # fmt: skip
        if pick != whole:
            summary = subclasses[pick] | {"class": f"{cls} · {pick}", "fold": summary.get("fold")}
    _summary_charts(summary, cls, method)
    st.caption(explain.summary_caption(summary, ds.description))


def _summary_charts(summary: dict, cls: str, method: str) -> None:
    if "window_share" not in summary:  # a summary cached before shares per window were computed
        st.plotly_chart(lead_importance_figure(np.asarray(summary["lead_share"]), f"{cls} · test part"),
                        key="sal_sum_leads")  # fmt: skip
    else:
        even = summary["no_preference"]
        leads, windows = st.columns([3, 2])
        leads.plotly_chart(
            share_figure([display_lead_name(n) for n in summary["lead_names"]], summary["lead_share"],
                         summary["lead_share_spread"], [even["lead"]] * len(summary["lead_names"]),
                         f"{cls}: share per lead", "share of the record's attribution"),
            key="sal_sum_leads",
        )  # fmt: skip
        names = list(summary["window_share"])
        spread = summary["window_share_spread"]
        quartiles = {"q25": [spread[w][1] for w in names], "q75": [spread[w][2] for w in names]} if spread else None
        windows.plotly_chart(
            share_figure(names, [summary["window_share"][w] for w in names], quartiles,
                         [even["window"][w] for w in names], f"{cls}: share per beat window", "share of in-beat attribution"),
            key="sal_sum_windows",
        )  # fmt: skip
        st.caption(
            "Bars: the mean over records; whiskers: the middle half of the records; grey marks: what a model "
            "with no preference would give (1/12 per lead; a window's share of the beat's length)."
        )
    st.plotly_chart(
        explain.profile_figure(summary, f"{cls}: beat-aligned profile", signed=method == "integrated_gradients"),
        key="sal_sum_profile",
    )


def page() -> None:
    frame = common.page_frame()
    ds = common.require_dataset(frame)
    key_ds = cache.ds_key(ds)
    st.title("Saliency")
    runs = runs_view.checkpoint_runs(ds.name, ds.label_set)
    apply_link(ds, runs)
    choice = run_choice(ds, runs, key_ds)
    choice.ecg_id = pick_record(ds, key_ds, choice)
    i = records.record_index(ds, choice.ecg_id)
    signal = ds.signals[i]
    if choice.run is None:
        ecg_only(ds, choice.ecg_id, signal)
    key = cache.record_key(ds, choice.ecg_id)
    got = predict(ds, choice, signal, key)
    where_note(ds, runs, choice, got["metas"], i)
    st.fragment(map_view)(ds, runs, choice, signal, key, got)
    prediction_view(ds, runs, choice, i, got)
    trust_sections.similar_cases(ds, choice.run, choice.ecg_id, None, key, "sal")


page()
