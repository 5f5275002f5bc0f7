"""Train: start background trainings (one process per fold, surviving reruns, page switches, reloads
and app restarts), follow them live, and cancel, resume or delete runs. The files in the runs folder
are the truth; this page only reads them."""

import streamlit as st

from app_pages import common
from ecgcore import jobs
from ecgcore.app import progress as run_progress
from ecgcore.app import run_status, runs_view, submit
from ecgcore.errors import ECGCoreError
from ecgcore.figures import loss_curves_figure
from ecgcore.folds import PLANS
from ecgcore.models import list_models
from ecgcore.runs import list_runs, read_events, read_status, runs_root
from ecgcore.train import default_config

POLL_S = 2

frame = common.page_frame()
ds = common.require_dataset(frame)
st.title("Train")
models = list_models()

# ----------------------------------------------------------------------------- new training
with st.container(border=True):
    st.subheader("New training")
    c1, c2, c3 = st.columns(3)
    model = c1.selectbox("Model", list(models), key="tr_model", format_func=lambda m: f"{m} — {models[m]}")
    label_set = c2.selectbox(
        "Label set",
        common.LABEL_SETS,
        key="tr_label_set",
        index=common.LABEL_SETS.index(ds.label_set) if ds.label_set in common.LABEL_SETS else 0,
    )
    fold = c3.selectbox(
        "Fold",
        [-1, *range(len(PLANS["cv5"].folds))],
        key="tr_fold",
        format_func=lambda k: "all 5 folds (one run each, in turn)" if k < 0 else f"fold {k}",
    )
    defaults = default_config(model)  # the model's tuned recipe (RESULTS.md), refilled when the model changes
    if st.session_state.get("tr_recipe_of") != model or "tr_epochs" not in st.session_state:
        st.session_state.update(
            tr_recipe_of=model, tr_epochs=defaults.epochs, tr_batch=defaults.batch_size, tr_lr=defaults.lr
        )
    c4, c5, c6, c7 = st.columns(4)
    epochs = c4.number_input("Epochs", 1, 500, key="tr_epochs")
    batch_size = c5.selectbox("Batch size", [8, 16, 32, 64, 128, 256], key="tr_batch")
    lr = c6.number_input(
        "Learning rate",
        1e-6,
        1.0,
        format="%.5f",
        step=1e-4,
        key="tr_lr",
        help=f"peak rate of the {defaults.schedule} schedule; augmentation "
        f"{'on' if defaults.augment else 'off'} (the model's default recipe)",
    )
    seed = c7.number_input("Seed", 0, 2**31 - 1, 0, key="tr_seed")
    replace = st.checkbox(
        "Replace finished runs of these folds",
        key="tr_replace",
        help="Without it, a fold that already holds a run is left alone (resume it below).",
    )
    st.caption(
        f"Trains on {ds.description} (5-fold patient CV); at most {jobs.max_trainings()} training(s) at a "
        f"time, the others wait in a queue. Runs are written to `{runs_root()}` and evaluated on their "
        "test part when they finish."
    )
    if st.button("Start training", type="primary", icon=":material/play_arrow:", key="tr_start"):
        folds = list(range(len(PLANS["cv5"].folds))) if fold < 0 else [fold]
        submitted = submit.submit_training(
            ds,
            model,
            folds,
            label_set=label_set,
            epochs=int(epochs),
            batch_size=int(batch_size),
            lr=float(lr),
            seed=int(seed),
            replace=replace,
            skip_bad=frame.skip_bad,
        )
        for s in submitted:
            if s.state is None:
                st.error(s.message, icon=":material/block:")
            else:
                st.success(f"{model} {s.message}", icon=":material/check:")
        started = [s for s in submitted if s.state is not None]
        if started:
            st.session_state["tr_follow"] = str(started[0].path)


# ----------------------------------------------------------------------------- runs, live
def _act(action: str, path: str) -> None:
    """Cancel, resume or delete a run (a button's callback); the message is shown on the next run."""
    from pathlib import Path

    try:
        if action == "cancel":
            state = jobs.cancel(Path(path))
            message = ("success", f"Cancel requested — the run is now {state}.")
        elif action == "resume":
            state = jobs.resume(Path(path))
            message = ("success", f"Resumed from its last epoch — {state}.")
        else:
            jobs.delete(Path(path))
            st.session_state.pop("tr_follow", None)
            message = ("success", f"Deleted {path}.")
    except ECGCoreError as e:
        message = ("error", str(e))
    st.session_state["tr_message"] = message


def _run_details(run) -> None:
    state = run_status.live_state(run)
    status = read_status(run.path) or {}
    events = read_events(run.path)
    progress = run_progress.training_progress(events, state)
    evaluating = run_status.is_evaluating(run.path, status)
    text = progress.text + (" · evaluating on the test part…" if evaluating else "")
    st.progress(progress.fraction, text=text)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("State", "evaluating" if evaluating else state)
    m2.metric("Epoch", f"{progress.epoch}/{progress.epochs}" if progress.epochs else "—")
    m3.metric("Elapsed", run_progress.format_duration(progress.elapsed_s) if progress.elapsed_s else "—")
    m4.metric("Remaining", run_progress.format_duration(progress.remaining_s) if state == "running" else "—")
    if state == "failed":
        st.error(status.get("error") or "The training process stopped with an error (see its log below).")
        st.code(run_progress.log_tail(run.path) or "(train.log is empty)", language="text")
    elif state == "interrupted":
        st.warning(
            "The training process stopped without finishing (app or machine restarted, or killed). "
            + ("Resume it from its last completed epoch." if run_status.resumable(run.path, state) else "")
        )
    elif state == "queued":
        st.info("Waiting for a free training slot.")
    st.plotly_chart(loss_curves_figure(run_progress.curve_events(events)), key="tr_curves")
    if state == "done" and run_status.has_results(run.path):
        st.page_link(common.EVALUATE, label="See its test results on Evaluate", icon=":material/analytics:")

    with st.container(horizontal=True):
        active = state in run_status.ACTIVE_STATES
        st.button(
            "Cancel",
            icon=":material/stop:",
            disabled=not active,
            key="tr_cancel",
            on_click=_act,
            args=("cancel", str(run.path)),
        )
        st.button(
            "Resume",
            icon=":material/replay:",
            disabled=not run_status.resumable(run.path, state),
            key="tr_resume",
            on_click=_act,
            args=("resume", str(run.path)),
        )
        with st.popover("Delete", icon=":material/delete:", disabled=active):
            st.write("Delete this run's checkpoints, curves and results?")
            st.button("Delete for good", type="primary", key="tr_delete", on_click=_act, args=("delete", str(run.path)))
    with st.expander("train.log"):
        st.code(run_progress.log_tail(run.path, 80) or "(empty)", language="text")


runs = list_runs(dataset=ds.name)
polling = any(run_status.is_active(r) for r in runs)


@st.fragment(run_every=POLL_S if polling else None)
def live(polling: bool) -> None:
    """Runs of this dataset and the followed run; refreshes itself while something is training."""
    jobs.reap()
    jobs.pump()  # start queued runs while a training slot is free
    runs = list_runs(dataset=ds.name)
    if any(run_status.is_active(r) for r in runs) != polling:
        st.rerun()  # a run finished (or was resumed): a full rerun stops (or starts) the polling
    st.subheader("Runs on this dataset")
    message = st.session_state.pop("tr_message", None)
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])
    if not runs:
        st.info("No runs yet — start one above.")
        return
    table = runs_view.runs_table(runs)
    st.dataframe(
        table.drop(columns=["path"]),
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="%.3f")
            for c in ("val macro PR-AUC", "test macro PR-AUC", "test macro ROC-AUC")
        },
    )
    by_path = {str(r.path): r for r in runs}
    if st.session_state.get("tr_follow") not in by_path:
        active = [r for r in runs if run_status.is_active(r)]
        latest = max(active or runs, key=lambda r: r.status.get("updated", 0))
        st.session_state["tr_follow"] = str(latest.path)
    follow = st.selectbox(
        "Follow run",
        list(by_path),
        key="tr_follow",  # labels must not change while it runs
        format_func=lambda p: runs_view.run_label(by_path[p]),
    )
    _run_details(by_path[follow])
    if polling:
        st.caption(f":material/autorenew: refreshing every {POLL_S} s while a run is queued, training or evaluating")


live(polling)
