"""Sweeps: tune a model's recipe with Optuna on one fold's validation part, in background workers, follow
the trials live, see Optuna's figures, open a trial's curves and promote the best recipe to every fold
× several seeds (the same study and workers as ``python -m ecgcore sweep``)."""

import streamlit as st

from app_pages import common
from ecgcore.app import sweeps_view
from ecgcore.errors import ECGCoreError
from ecgcore.figures.training import loss_curves_figure
from ecgcore.model_specs import model_names

POLL_S = 3
SPACE_HELP = (
    "One recipe field a line: `lr=1e-4:1e-2:log` (a range, log scale), `batch_size=16:64` (whole numbers), "
    "`label_smoothing=0,0.1` (choices; for a crop, window or weight averaging 0 turns it off)."
)


def _start(ds) -> None:
    """The form that starts a sweep in the background."""
    with st.form("sw_form"):
        c1, c2, c3, c4 = st.columns([2, 2, 1, 1])
        model = c1.selectbox("Model", model_names(), key="sw_model")
        name = c2.text_input("Sweep name", "tune", key="sw_name", max_chars=34, help="Letters, digits, - and _.")
        trials = c3.number_input("Trials", 1, 200, 8, key="sw_trials")
        workers = c4.number_input("Workers", 1, sweeps_view.MAX_WORKERS, 1, key="sw_workers")
        space = st.text_area("Search space", "lr=1e-3:3e-2:log\nlabel_smoothing=0,0.1", key="sw_space", help=SPACE_HELP)
        c5, c6, c7 = st.columns(3)
        epochs = c5.number_input("Epochs per trial", 1, 500, 10, key="sw_epochs")
        fold = c6.number_input("Fold (its validation part is scored)", 0, 4, 0, key="sw_fold")
        pruner = c7.selectbox("Stop poor trials early", ["median", "hyperband", "none"], key="sw_pruner")
        started = st.form_submit_button("Start the sweep", type="primary")
    if not started:
        return
    lines = [line.strip() for line in space.splitlines() if line.strip()]
    choice = sweeps_view.SweepChoice(
        model, name.strip(), int(trials), lines, int(epochs), int(fold), pruner, int(workers)
    )
    try:
        pids = sweeps_view.start_sweep(ds, choice)
    except ECGCoreError as e:
        common.show_error(e)
        return
    st.session_state["sw_open"] = choice.name
    st.success(f"Sweep {choice.name}: {len(pids)} worker(s) started in the background.", icon=":material/play_arrow:")


def _trials(ds, name: str) -> None:
    """The trials of one sweep (refreshed while any trains), the best one and the promotion."""
    try:
        study = sweeps_view.load_sweep(ds, name)
        table = sweeps_view.trials_frame(study, ds)
    except ECGCoreError as e:
        common.show_error(e)
        return
    fixed = study.user_attrs.get("fixed") or {}
    st.caption(
        f"{study.user_attrs.get('model', '')}: {fixed.get('epochs', '?')} epochs a trial, scored on the validation "
        f"part of fold {fixed.get('fold', 0)}; the test part is never used to choose."
    )
    st.dataframe(table.drop(columns=["run name"]), hide_index=True, key="sw_table")
    finished = table[table["state"] == sweeps_view.STATE_WORDS["complete"]]
    if finished.empty:
        st.info("No trial has finished yet; this table follows the workers.", icon=":material/hourglass_top:")
        return
    pick = st.selectbox("Open a trial's training curves", table["trial"].tolist(), key="sw_trial")
    run_name = table.loc[table["trial"] == pick, "run name"].iloc[0]
    if run_name:
        st.plotly_chart(loss_curves_figure(sweeps_view.trial_events(study, ds, run_name)), key="sw_curves")


def _figures_and_promote(ds, name: str) -> None:
    try:
        study = sweeps_view.load_sweep(ds, name)
    except ECGCoreError:
        return
    from ecgcore.sweeps.study import study_figures

    figures = study_figures(study)
    if figures:
        titles = {"history": "History", "intermediate": "Per epoch", "importances": "Importances", "slice": "Slices"}
        for tab, (key, fig) in zip(st.tabs([titles[k] for k in figures]), figures.items()):
            tab.plotly_chart(fig, key=f"sw_fig_{key}")
    seeds = st.number_input("Seeds per fold", 1, 5, 3, key="sw_seeds")
    if st.button("Promote the best recipe to every fold", key="sw_promote"):
        try:
            for line in sweeps_view.promote(study, ds, name, int(seeds)):
                st.write(line)
        except ECGCoreError as e:
            common.show_error(e)


def page() -> None:
    ds = common.require_dataset(common.page_frame())
    st.title("Sweeps")
    st.caption(
        "Tune a recipe with the same number of trials and epochs for each model, then promote the best one to "
        "every fold and several seeds and compare the two on Evaluate."
    )
    _start(ds)
    names = sweeps_view.sweeps_of(ds)
    if not names:
        st.info("No sweep on this dataset yet.", icon=":material/info:")
        return
    default = names.index(st.session_state["sw_open"]) if st.session_state.get("sw_open") in names else 0
    name = st.selectbox("Sweep", names, index=default, key="sw_pick")
    st.fragment(run_every=POLL_S)(_trials)(ds, name)
    _figures_and_promote(ds, name)


page()
