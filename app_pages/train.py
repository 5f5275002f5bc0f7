"""Train: start background trainings (one process per fold, surviving reruns, page switches, reloads
and app restarts), follow them live, and cancel, resume or delete runs. The files in the runs folder
are the truth; this page only reads them."""

import streamlit as st

from app_pages import cache, common
from ecgcore import background, jobs
from ecgcore.app import progress as run_progress
from ecgcore.app import run_status, runs_view, submit
from ecgcore.app.words import PLAN_NAMES, for_people, state_words
from ecgcore.errors import ECGCoreError
from ecgcore.figures.training import loss_curves_figure
from ecgcore.folds import DEFAULT_PLAN, PLANS
from ecgcore.model_specs import model_names
from ecgcore.recipes import DECAY, default_config, fields_in
from ecgcore.run_paths import runs_root
from ecgcore.runs import can_cancel, can_delete, list_runs, read_events, read_status, recipe_of

POLL_S = 2

# ----------------------------------------------------------------------------- new training


def _advanced(defaults) -> dict:
    """The recipe's Advanced fields (``recipes.fields_in("advanced")``), filled in from the model's
    default recipe; 0 turns a technique off."""
    fields = fields_in("advanced")
    out = {}
    with st.expander("Advanced: " + ", ".join(f.label.lower() for f in fields)):
        for column, f in zip(st.columns(len(fields)), fields):
            key = f"tr_{f.name}"
            if f.choices:
                out[f.name] = column.selectbox(f.label, list(f.choices), key=key, help=f.help)
                continue
            value = column.number_input(
                f.label, 0.0, step=0.0005 if f.rule is DECAY else 0.5, format="%.4g", key=key, help=f.help
            )
            out[f.name] = None if value == 0 and f.optional and not f.off_when_zero else value
    return out


def _advanced_defaults(defaults) -> dict:
    return {
        f"tr_{f.name}": getattr(defaults, f.name) if f.choices else float(getattr(defaults, f.name) or 0.0)
        for f in fields_in("advanced")
    }


def _new_training(ds, skip_bad: bool, problem: str | None) -> None:
    c1, c2, c3, c4 = st.columns([3, 2, 2, 3])
    model = c1.selectbox("Model", model_names(), key="tr_model")  # from the model specs: no torch needed
    label_set = c2.selectbox(
        "Label set",
        common.LABEL_SETS,
        key="tr_label_set",
        index=common.LABEL_SETS.index(ds.label_set) if ds.label_set in common.LABEL_SETS else 0,
    )
    run_name = c3.text_input(
        "Run name",
        "default",
        key="tr_run_name",
        max_chars=40,
        help="Letters, digits, - and _. Runs of one model with different recipes live side by side under their names.",
    )
    plan = c4.radio("Fold plan", list(PLAN_NAMES), key="tr_plan", format_func=PLAN_NAMES.get)
    if ds.fold_note:
        st.warning(ds.fold_note, icon=":material/warning:")
    n = len(PLANS[plan].folds)
    fold = st.selectbox(
        "Fold",
        [-1, *range(n)] if n > 1 else [0],
        key="tr_fold" if plan == DEFAULT_PLAN else f"tr_fold_{plan}",
        format_func=lambda k: f"all {n} folds (one run each, in turn)" if k < 0 else f"fold {k}",
    )
    defaults = default_config(model)  # the model's tuned recipe (RESULTS.md), refilled when the model changes
    if st.session_state.get("tr_recipe_of") != model or "tr_epochs" not in st.session_state:
        st.session_state.update(
            tr_recipe_of=model, tr_epochs=defaults.epochs, tr_batch=defaults.batch_size, tr_lr=defaults.lr
        )
        st.session_state.update(_advanced_defaults(defaults))
    c5, c6, c7, c8, c9 = st.columns(5)
    epochs = c5.number_input("Epochs", 1, 500, key="tr_epochs")
    batch_size = c6.selectbox("Batch size", [8, 16, 32, 64, 128, 256], key="tr_batch")
    lr = c7.number_input(
        "Learning rate",
        1e-6,
        1.0,
        format="%.5f",
        step=1e-4,
        key="tr_lr",
        help=f"peak rate of the {defaults.schedule} schedule; augmentation "
        f"{'on' if defaults.augment else 'off'} (the model's default recipe)",
    )
    seeds = c9.number_input("Seeds per fold", 1, 5, 1, key="tr_seeds", help="Several: seeds 0, 1, … of every fold.")
    seed = c8.number_input("Seed", 0, 2**31 - 1, 0, key="tr_seed", disabled=seeds > 1)
    recipe = submit.Recipe(
        model, int(epochs), int(batch_size), float(lr), int(seed), plan, run_name.strip(), _advanced(defaults),
        int(seeds),
    )  # fmt: skip
    replace = st.checkbox(
        "Replace finished runs of these folds",
        key="tr_replace",
        help="Without it, a fold that already holds a run is left alone (resume it below).",
    )
    folds = list(range(n)) if fold < 0 else [fold]
    _start(ds, recipe, folds, label_set, replace, skip_bad, problem)


def _start(
    ds, recipe: submit.Recipe, folds: list[int], label_set: str, replace: bool, skip_bad: bool, folder: str | None
) -> None:
    """The recipe in full, what it will cost, and the Start button (a second tick for long ones)."""
    problem = submit.check_recipe(recipe)
    if problem:
        st.error(problem, icon=":material/block:")
    else:
        with st.expander(f"Full recipe of run '{recipe.run_name}'"):
            st.dataframe(submit.recipe_rows(recipe), hide_index=True, key="tr_recipe_table")
    cost = submit.estimate_cost(ds, recipe, folds)
    seeds = f" × {recipe.seeds} seeds" if recipe.seeds > 1 else ""
    st.caption(
        f"Trains on {ds.description} ({PLAN_NAMES[recipe.plan]}); about **{run_progress.format_duration(cost.seconds)}** "
        f"for {cost.folds} fold(s){seeds}: {recipe.epochs} epoch(s) × {cost.n_train:,} training records ÷ "
        f"~{cost.speed:,.0f} samples/s ({cost.source}). At most {jobs.max_trainings()} training(s) at a time, "
        f"the others wait in a queue. Runs are written to `{runs_root()}` and evaluated on their test part."
    )
    confirmed = True
    if cost.needs_confirmation:
        confirmed = st.checkbox(
            f"Yes, start a training of about {run_progress.format_duration(cost.seconds)}",
            key="tr_confirm",
            help="Asked when a training would take more than 3 minutes.",
        )
    clicked = st.button(
        "Start training", type="primary", icon=":material/play_arrow:", key="tr_start", disabled=bool(problem or folder)
    )
    if not clicked:
        return
    if not confirmed:
        st.warning("This training would take a while: tick the box above to confirm, then start it.")
        return
    try:
        submitted = submit.submit_training(ds, recipe, folds, label_set=label_set, replace=replace, skip_bad=skip_bad)
    except OSError as e:  # the runs folder went away or became read-only since the page was drawn
        st.error(f"The training could not be queued in {runs_root()}: {e.strerror or e}", icon=":material/block:")
        return
    for s in submitted:
        if s.state is None:
            st.error(for_people(s.message), icon=":material/block:")
        else:
            named = "" if recipe.run_name == "default" else f" · run {recipe.run_name} ·"
            st.success(f"{recipe.model}{named} {s.message}", icon=":material/check:")
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
        message = ("error", for_people(str(e)))
    except OSError as e:
        message = ("error", f"{path} cannot be changed: {e.strerror or e}")
    st.session_state["tr_message"] = message


def _run_details(run) -> None:
    state = run_status.live_state(run)
    status = read_status(run.path) or {}
    events = read_events(run.path)
    progress = run_progress.training_progress(events, state)
    evaluating = state == "evaluating"
    text = progress.text + (" · evaluating on the test part…" if evaluating else "")
    if state == "damaged":
        st.error(for_people(status.get("damage") or f"{run.path} is damaged."), icon=":material/broken_image:")
    st.progress(progress.fraction, text=text)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("State", state_words(state))
    m2.metric("Epoch", progress.epoch_shown or "—")
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
    st.caption(f"Run **{run.run_name}** · recipe: {runs_view.recipe_line(recipe_of(run.path))}")
    st.plotly_chart(loss_curves_figure(run_progress.curve_events(events)), key="tr_curves")
    if state == "done" and run_status.has_results(run.path):
        st.page_link(common.EVALUATE, label="See its test results on Evaluate", icon=":material/analytics:")

    with st.container(horizontal=True):
        active = run_status.is_active(run)
        st.button(
            "Cancel",
            icon=":material/stop:",
            disabled=can_cancel(run.path) is not None,
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
        with st.popover("Delete", icon=":material/delete:", disabled=active or can_delete(run.path) is not None):
            st.write("Delete this run's checkpoints, curves and results?")
            st.button("Delete for good", type="primary", key="tr_delete", on_click=_act, args=("delete", str(run.path)))
    with st.expander("train.log"):
        st.code(run_progress.log_tail(run.path, 80) or "(empty)", language="text")


def _runs(ds) -> list:
    try:
        return list_runs(dataset=ds.name)
    except OSError:  # the runs folder cannot be read: said once at the top of the page
        return []


def live(ds, polling: bool, folder: str | None) -> None:
    """Runs of this dataset and the followed run; refreshes itself while something is training."""
    if folder is None:
        background.reap()
        jobs.pump()  # start queued runs while a training slot is free
    runs = _runs(ds)
    if any(run_status.is_active(r) for r in runs) != polling:
        st.rerun()  # a run finished (or was resumed): a full rerun stops (or starts) the polling
    st.subheader("Runs on this dataset")
    message = st.session_state.pop("tr_message", None)
    if message:
        (st.error if message[0] == "error" else st.success)(message[1])
    if not runs:
        st.info("No runs yet — start one above.")
        return
    table = runs_view.for_display(runs_view.runs_table(runs))
    table["state"] = table["state"].map(state_words)
    qualities = runs_view.run_qualities(runs, cache.results, ds.name)
    table.insert(table.columns.get_loc("problem"), "check", runs_view.quality_column(runs, qualities))
    st.dataframe(table.drop(columns=["path"]), hide_index=True)
    for q in qualities.values():
        if q.flags:
            st.warning(f"{q.sentence()} — {'; '.join(q.flags)}.", icon=":material/flag:")
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
    if polling and not any(run_status.is_active(r) for r in _runs(ds)):
        st.rerun()  # it finished while this was drawn: stop polling now, not at the next tick
    if polling:
        st.caption(f":material/autorenew: refreshing every {POLL_S} s while a run is queued, training or evaluating")


def page() -> None:
    frame = common.page_frame()
    ds = common.require_dataset(frame)
    st.title("Train")
    folder = submit.runs_folder_problem()
    if folder:
        st.error(folder, icon=":material/folder_off:")
    with st.container(border=True):
        st.subheader("New training")
        _new_training(ds, frame.skip_bad, folder)
    polling = any(run_status.is_active(r) for r in _runs(ds))
    st.fragment(run_every=POLL_S if polling else None)(live)(ds, polling, folder)


page()
