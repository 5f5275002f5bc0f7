"""A sweep's Optuna study (layer 3, no torch): where it is stored, what it searches, its trials.

The study lives beside the runs — by default a journal file (Optuna's ``JournalStorage`` on a
``JournalFileBackend``) at :func:`ecgcore.run_paths.sweep_journal`, on the runs volume that every
worker (a local process, a Kubernetes pod) shares — or in an RDB given by ``--storage URL``. The storage
hands out the trials: every worker asks it for the next one, so two commands or ten pods on one study
cooperate, and the same command run again continues the study.

A study records what it searches (:class:`SweepSpec` ``fixed()``: the model, the space, the epochs, the
fold and plan); a command that asks for something else under the same name is refused.

A trial whose worker died (a SIGKILL, a lost pod) stays "running" in the storage: journal storage has
no heartbeat, so :func:`fail_stale_trials` reads it against the worker — its pid on this host, else the
run folder's lock (an ``flock`` the kernel releases when the holder dies) — and marks it failed;
Optuna's ``RetryFailedTrialCallback`` then queues the same parameters as a new trial.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import RetryFailedTrialCallback
from optuna.trial import FrozenTrial, TrialState

from ecgcore.background import is_locked, pid_alive
from ecgcore.fileio import make_folder, storage_errors
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.run_paths import RunPaths, check_run_name, seed_run_name, sweep_journal, trial_run_name
from ecgcore.sweeps.space import Dimension, SweepError, shown_recipe

PRUNERS = ("median", "hyperband", "none")
MAX_RETRY = 2  # a trial whose worker died is tried again this many times
STALE_GRACE_S = 60.0  # a running trial with no live worker is failed only after this long
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class SweepSpec:
    """What a sweep searches and how: one model on one fold's validation part.

    ``space_texts``: the ``--space`` texts as given (workers receive them as they are); ``space``: the
    parsed dimensions (:func:`ecgcore.sweeps.space.parse_space`)."""

    name: str
    model: str
    trials: int
    space: dict[str, Dimension]
    space_texts: list[str]
    epochs: int
    fold: int = 0
    plan: str = DEFAULT_PLAN
    device: str = "auto"
    pruner: str = "median"
    seed: int = 0
    storage: str | None = None
    source: dict = field(default_factory=dict)  # data_root, sampling_rate, label_set, skip_bad

    def check(self) -> SweepSpec:
        """SweepError (one line) for a name too long for its trials' runs, a count below 1, an unknown pruner."""
        check_run_name(self.name)
        try:
            trial_run_name(self.name, 9999), seed_run_name(self.name, 9)
        except Exception:
            raise SweepError(
                f"--name {self.name!r}: keep it to 34 characters (its trials are {self.name}-t<k>)."
            ) from None
        if self.trials < 1:
            raise SweepError(f"--trials {self.trials}: use 1 or more.")
        if self.pruner not in PRUNERS:
            raise SweepError(f"--pruner {self.pruner!r}: use one of {', '.join(PRUNERS)}.")
        return self

    def fixed(self) -> dict:
        """What a study is bound to (recorded in it; a later command must ask for the same)."""
        return {
            "space": sorted(d.text() for d in self.space.values()),
            "epochs": self.epochs,
            "fold": self.fold,
            "plan": self.plan,
        }

    def study_name(self, dataset: str, label_set: str) -> str:
        return f"{dataset}/{label_set}/{self.model}@{self.name}"


def open_storage(url_or_journal: str | Path) -> optuna.storages.BaseStorage:
    """The study's storage: an RDB URL (``sqlite:///…``, ``postgresql://…``) or a journal file path.
    SweepError (one line) for a storage that cannot be reached; a full or read-only disk under a
    journal is a :class:`~ecgcore.errors.StorageError`."""
    text = str(url_or_journal)
    if "://" in text:
        try:
            return optuna.storages.RDBStorage(text, engine_kwargs={"pool_pre_ping": True})
        except Exception as e:  # a driver missing, a host not answering, a folder that is not there
            reason = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
            raise SweepError(
                f"--storage {text}: cannot reach it ({reason[:160]}); check the URL and that it is up."
            ) from None
    path = Path(text)
    make_folder(path.parent)
    with storage_errors(path):
        path.touch(exist_ok=True)  # a full, read-only or forbidden folder: one line now, not in a worker
        backend = optuna.storages.journal.JournalFileBackend(str(path))
    return optuna.storages.JournalStorage(backend)


def storage_of(
    spec: SweepSpec, dataset: str, label_set: str, root: Path | None
) -> tuple[optuna.storages.BaseStorage, str]:
    """The storage of ``spec``'s study and where it is, said for people (a URL, or the journal's path)."""
    where = spec.storage or str(sweep_journal(dataset, label_set, spec.name, root))
    return open_storage(where), where


def _pruner(spec: SweepSpec) -> optuna.pruners.BasePruner:
    if spec.pruner == "median":  # prune below the median of earlier trials at the same epoch
        return optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    if spec.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=spec.epochs)
    return optuna.pruners.NopPruner()


def open_study(
    spec: SweepSpec, storage: optuna.storages.BaseStorage, dataset: str, label_set: str, worker: int = 0
) -> optuna.Study:
    """Create or load ``spec``'s study (maximising validation macro PR-AUC) with its pruner and a TPE
    sampler seeded ``seed + worker`` (so parallel workers propose different recipes). SweepError when
    the stored study was started with another space, epochs, fold or plan."""
    study = optuna.create_study(
        storage=storage,
        study_name=spec.study_name(dataset, label_set),
        direction="maximize",
        load_if_exists=True,
        pruner=_pruner(spec),
        sampler=optuna.samplers.TPESampler(seed=spec.seed + worker, constant_liar=True, n_startup_trials=3),
    )
    recorded = study.user_attrs.get("fixed")
    if recorded is None:
        study.set_user_attr("fixed", spec.fixed())
        study.set_user_attr("model", spec.model)
    elif recorded != spec.fixed():
        was = "; ".join(f"{k} {v}" for k, v in recorded.items() if spec.fixed().get(k) != v)
        raise SweepError(
            f"sweep {spec.name} of {spec.model} was started with {was}; continue it with the same options, "
            "or give another --name."
        )
    return study


def counts(study: optuna.Study) -> dict[str, int]:
    """Trials by state: finished (complete + pruned), complete, pruned, running, waiting, failed."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    out = {name: states.count(s) for name, s in _COUNTED.items()}
    return out | {"finished": out["complete"] + out["pruned"]}


_COUNTED = {
    "complete": TrialState.COMPLETE,
    "pruned": TrialState.PRUNED,
    "running": TrialState.RUNNING,
    "waiting": TrialState.WAITING,  # a retry queued, not yet picked up
    "failed": TrialState.FAIL,
}


def worker_tag() -> dict:
    """Who runs a trial: this host and pid (recorded in the trial, read by :func:`fail_stale_trials`)."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _worker_alive(trial: FrozenTrial, run_folder: Path | None, grace_s: float) -> bool:
    worker = trial.user_attrs.get("worker") or {}
    started = trial.datetime_start.timestamp() if trial.datetime_start else time.time()
    if worker.get("host") == socket.gethostname() and worker.get("pid"):
        return pid_alive(worker["pid"])
    if run_folder is not None and is_locked(RunPaths(run_folder).lock):
        return True
    return time.time() - started < grace_s  # another host's worker between asking and locking its run


def fail_stale_trials(study: optuna.Study, run_folder_of, grace_s: float = STALE_GRACE_S) -> list[int]:
    """Mark failed each running trial whose worker is gone (see the module docstring) and queue its
    retry (``RetryFailedTrialCallback``, at most :data:`MAX_RETRY` times). ``run_folder_of(run name)``
    gives a trial's run folder. Returns the numbers failed here (another process may win the race)."""
    failed = []
    storage = study._storage  # Optuna's own fail_stale_trials works on the storage the same way
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        run = trial.user_attrs.get("run")
        if _worker_alive(trial, run_folder_of(run) if run else None, grace_s):
            continue
        try:
            storage.set_trial_user_attr(trial._trial_id, "error", "its worker stopped (killed or lost)")
            if not storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:  # another process failed it first
            continue
        RetryFailedTrialCallback(max_retry=MAX_RETRY)(study, storage.get_trial(trial._trial_id))
        failed.append(trial.number)
    return failed


def trials_table(study: optuna.Study) -> list[dict]:
    """One row per trial, oldest first: number, state, pruned_at (the epochs it trained before it was
    pruned), score (validation macro PR-AUC: the trial's value, or for a trial that did not complete its
    best epoch so far), recipe (the searched values, for people), run, retry_of (the trial it repeats)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append(
            {
                "number": t.number,
                "state": t.state.name.lower(),
                "pruned_at": t.user_attrs.get("pruned_at"),
                "score": t.value
                if t.state == TrialState.COMPLETE
                else (max(t.intermediate_values.values()) if t.intermediate_values else None),
                "recipe": shown_recipe(t.params),
                "run": t.user_attrs.get("run"),
                "retry_of": t.system_attrs.get("failed_trial"),
            }
        )
    return rows


def best_trial(study: optuna.Study) -> FrozenTrial:
    """The complete trial of the highest validation score; SweepError when none has completed."""
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        raise SweepError(f"study {study.study_name} has no complete trial yet; run the sweep first.")
    return max(done, key=lambda t: t.value)


def study_figures(study: optuna.Study) -> dict:
    """Optuna's plotly figures of the study (for the app): history, intermediate values (the pruner's
    view), parameter importances and a slice per searched field; a figure the study cannot draw yet
    (too few trials) is left out."""
    from optuna import visualization as vis

    figures = {}
    for name, draw in (
        ("history", vis.plot_optimization_history),
        ("intermediate", vis.plot_intermediate_values),
        ("importances", vis.plot_param_importances),
        ("slice", vis.plot_slice),
    ):
        try:
            figures[name] = draw(study)
        except (ValueError, RuntimeError, ZeroDivisionError):
            continue
    return figures
