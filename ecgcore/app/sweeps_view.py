"""The Sweeps page's view logic (no Streamlit): start an Optuna sweep of a recipe in the background,
follow its trials, draw Optuna's figures, show one trial's curves and promote the best recipe.

Everything goes through :mod:`ecgcore.sweeps` (the same study, workers and promotion as
``python -m ecgcore sweep``) and the background mechanism; this module only shapes it for a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ecgcore.data import ECGDataset
from ecgcore.errors import RunError
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.run_paths import group_dir, group_label, runs_root, seed_run_name, sweep_journal

STATE_WORDS = {"complete": "finished", "pruned": "stopped early (pruned)", "running": "training",
               "waiting": "waiting (a retry)", "fail": "failed"}  # fmt: skip
"""Trial states (Optuna's) as people read them."""
MAX_WORKERS = 4


@dataclass
class SweepChoice:
    """What the page asks for: a sweep of ``model``'s recipe (the space as ``--space`` lines)."""

    model: str
    name: str
    trials: int
    space: list[str]
    epochs: int
    fold: int = 0
    pruner: str = "median"
    workers: int = 1
    seed: int = 0


def sweeps_of(ds: ECGDataset, root: Path | None = None) -> list[str]:
    """The sweep names with a study beside the runs of this dataset and label set, sorted."""
    folder = group_dir(ds.name, ds.label_set, "sweeps", root)
    return sorted(p.stem for p in folder.glob("*.journal")) if folder.is_dir() else []


def spec_of(ds: ECGDataset, choice: SweepChoice):
    """The checked :class:`ecgcore.sweeps.study.SweepSpec` of ``choice`` (SweepError / RunError, one line)."""
    from ecgcore.service import check_request
    from ecgcore.sweeps.space import SweepError, parse_space
    from ecgcore.sweeps.study import SweepSpec
    from ecgcore.sweeps.worker import trial_request

    if not 1 <= choice.workers <= MAX_WORKERS:
        raise SweepError(f"use 1 to {MAX_WORKERS} workers (this machine trains one per core).")
    source = {"data_root": str(ds.root), "sampling_rate": ds.sampling_rate, "label_set": ds.label_set}
    spec = SweepSpec(
        choice.name, choice.model, choice.trials, parse_space(choice.space, choice.model), list(choice.space),
        choice.epochs, choice.fold, DEFAULT_PLAN, "auto", choice.pruner, choice.seed, None, source | {"skip_bad": False},
    ).check()  # fmt: skip
    check_request(trial_request(spec, {}, f"{spec.name}-t0"))
    return spec


def start_sweep(ds: ECGDataset, choice: SweepChoice, root: Path | None = None) -> list[int]:
    """Create (or continue) the study and start ``choice.workers`` background workers; their pids."""
    from ecgcore.sweeps.study import open_study, storage_of
    from ecgcore.sweeps.worker import start_workers

    root = Path(root or runs_root())
    spec = spec_of(ds, choice)
    storage, _ = storage_of(spec, ds.name, ds.label_set, root)
    open_study(spec, storage, ds.name, ds.label_set)  # records the space: a worker refuses another
    log_dir = sweep_journal(ds.name, ds.label_set, spec.name, root).with_suffix(".logs")
    return start_workers(spec, choice.workers, root, log_dir)


def load_sweep(ds: ECGDataset, name: str, root: Path | None = None):
    """The Optuna study of sweep ``name`` (RunError when there is none)."""
    import optuna

    from ecgcore.sweeps.study import open_storage

    path = sweep_journal(ds.name, ds.label_set, name, root)
    if not path.is_file():
        raise RunError(f"there is no sweep named {name} on this dataset; start one above.")
    storage = open_storage(path)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    if not names:
        raise RunError(f"the sweep {name} has no study yet; start it again.")
    return optuna.load_study(study_name=names[0], storage=storage)


def trials_frame(study, ds: ECGDataset, root: Path | None = None) -> pd.DataFrame:
    """The trials as a table for people: trial, state, pruned at epoch, validation score, recipe, run.
    A trial whose worker died is marked failed (and queued again) first."""
    from ecgcore.sweeps.study import fail_stale_trials, trials_table

    model = study.user_attrs.get("model", "")
    fold = (study.user_attrs.get("fixed") or {}).get("fold", 0)

    def folder_of(run_name: str) -> Path:
        from ecgcore.run_paths import RunPaths

        return RunPaths.of(ds.name, ds.label_set, model, fold, DEFAULT_PLAN, root, run_name).folder

    fail_stale_trials(study, folder_of)
    rows = [
        {
            "trial": r["number"],
            "state": STATE_WORDS.get(r["state"], r["state"]),
            "pruned at epoch": "—" if r["pruned_at"] is None else str(r["pruned_at"]),
            "validation macro PR-AUC": None if r["score"] is None else round(float(r["score"]), 4),
            "recipe": r["recipe"] or "—",
            "run": group_label(model, r["run"]) if r["run"] else "—",
            "run name": r["run"] or "",
        }
        for r in trials_table(study)
    ]
    return pd.DataFrame(rows, columns=["trial", "state", "pruned at epoch", "validation macro PR-AUC", "recipe",
                                       "run", "run name"])  # fmt: skip


def trial_events(study, ds: ECGDataset, run_name: str, root: Path | None = None) -> list[dict]:
    """The training events (progress.jsonl) of one trial's run, for its curves."""
    from ecgcore.run_paths import RunPaths
    from ecgcore.runs import read_events

    model = study.user_attrs.get("model", "")
    fold = (study.user_attrs.get("fixed") or {}).get("fold", 0)
    return read_events(RunPaths.of(ds.name, ds.label_set, model, fold, DEFAULT_PLAN, root, run_name).folder)


def promote(study, ds: ECGDataset, name: str, seeds: int = 3, root: Path | None = None) -> list[str]:
    """Queue the best trial's recipe on every fold × ``seeds`` as the run ``<model>@<name>`` (background
    trainings, evaluated on each test part). Returns one line per fold for the page."""
    from ecgcore import jobs
    from ecgcore.run_paths import RunPaths
    from ecgcore.sweeps.command import promote_request
    from ecgcore.sweeps.study import SweepSpec

    fixed = study.user_attrs.get("fixed") or {}
    spec = SweepSpec(name, study.user_attrs.get("model", ""), 1, {}, [], fixed.get("epochs", 1), fixed.get("fold", 0))
    request = promote_request(study, spec, seeds)
    lines = []
    for k in request.folds:
        path = RunPaths.of(ds.name, ds.label_set, spec.model, k, request.plan, root, seed_run_name(name, 0)).folder
        job = jobs.train_job(
            str(ds.root), spec.model, k, label_set=ds.label_set, plan=request.plan, sampling_rate=ds.sampling_rate,
            run_name=name, given=request.given, seeds=seeds,
        )  # fmt: skip
        try:
            lines.append(f"fold {k}: {jobs.submit(path, job, root)}")
        except RunError as e:
            lines.append(f"fold {k}: {e}")
    return lines
