"""Sweep workers (layer 4): the loop that asks the study for trials and trains each one through the
run service, and the way a command starts workers (:func:`ecgcore.background.spawn_detached`).

Each trial is an ordinary named run, ``<model>@<sweep>-t<k>`` (:func:`ecgcore.run_paths.trial_run_name`),
trained by :func:`ecgcore.service.train_request` without the test part (``evaluate=False``): its score
is the best validation macro PR-AUC of its epochs (the service's ``done`` event), never the test part.
Each ``epoch_end`` event's validation score is reported to Optuna's pruner; a pruned trial stops its
training between batches (the run ends "cancelled" with ``pruned_at`` in its status) and is told
PRUNED. A worker asked to stop (SIGTERM) stops its trial the same way, fails it and queues its retry.
"""

from __future__ import annotations

import os
import signal
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import optuna
from optuna.storages import RetryFailedTrialCallback
from optuna.trial import TrialState

from ecgcore.background import TaskState, spawn_detached
from ecgcore.data import ECGDataset
from ecgcore.errors import RunError, StorageError
from ecgcore.fileio import make_folder
from ecgcore.run_paths import RunPaths, trial_run_name
from ecgcore.runs import write_status
from ecgcore.service import TrainRequest, train_request
from ecgcore.sweeps.space import SweepError
from ecgcore.sweeps.study import MAX_RETRY, SweepSpec, counts, fail_stale_trials, worker_tag

POLL_S = 2.0  # how often an idle worker looks at the study again
WORKER_ENV = "ECGCORE_SWEEP_WORKER"  # the worker's index (a pod: JOB_COMPLETION_INDEX)


def worker_index() -> int:
    """This worker's index: ``$ECGCORE_SWEEP_WORKER``, else a pod's ``$JOB_COMPLETION_INDEX``, else 0."""
    for name in (WORKER_ENV, "JOB_COMPLETION_INDEX"):
        if (os.environ.get(name) or "").isdigit():
            return int(os.environ[name])
    return 0


def trial_request(spec: SweepSpec, params: dict, run_name: str) -> TrainRequest:
    """The training of one trial: the model's recipe with the trial's values and the sweep's epochs,
    on the sweep's fold, not evaluated on the test part; a run of that name is replaced."""
    given = {**params, "epochs": spec.epochs}
    return TrainRequest(
        spec.model, [spec.fold], given, spec.plan, spec.device, run_name, overwrite=True, evaluate=False
    )


class _Pruning:
    """Callback on the service's events: each epoch's validation macro PR-AUC to the trial; after a
    report the pruner refuses, :attr:`pruned_at` is the number of epochs trained (the training stops)."""

    def __init__(self, trial: optuna.Trial):
        self.trial = trial
        self.pruned_at: int | None = None

    def __call__(self, event: dict) -> None:
        if event["event"] != "epoch_end" or event["val_macro_pr_auc"] is None or self.pruned_at is not None:
            return
        self.trial.report(event["val_macro_pr_auc"], event["epoch"])
        if event["epoch"] + 1 < event["epochs"] and self.trial.should_prune():
            self.pruned_at = event["epoch"] + 1


def run_trial(
    study: optuna.Study, ds: ECGDataset, spec: SweepSpec, root: Path, stopping: Callable[[], bool]
) -> TrialState:
    """Ask the study for a trial (a queued retry first), train it and tell the study how it ended."""
    trial = study.ask()
    run_name = trial_run_name(spec.name, trial.number)
    params = {name: dim.suggest(trial) for name, dim in spec.space.items()}
    trial.set_user_attr("run", run_name)
    trial.set_user_attr("worker", worker_tag())
    trial.set_user_attr("pruned_at", None)
    pruning = _Pruning(trial)
    print(f"trial {trial.number} ({run_name}): {params}", flush=True)
    try:
        ((_, folder, outcome),) = train_request(
            ds,
            trial_request(spec, params, run_name),
            root,
            [pruning],
            lambda: stopping() or pruning.pruned_at is not None,
        )
    except StorageError as e:  # a full or read-only runs volume: no later trial can do better
        _fail(study, trial, str(e), retry=True)
        raise
    except Exception as e:  # a crash in training (out of memory …): this trial fails, is retried, the worker goes on
        traceback.print_exc()
        return _fail(study, trial, f"{e.__class__.__name__}: {e}", retry=True)
    if isinstance(outcome, RunError):  # refused (e.g. its run folder is locked by another process)
        return _fail(study, trial, str(outcome), retry=False)
    if pruning.pruned_at is not None:
        trial.set_user_attr("pruned_at", pruning.pruned_at)
        write_status(folder, pruned_at=pruning.pruned_at)
        study.tell(trial, state=TrialState.PRUNED)
        return TrialState.PRUNED
    if outcome.state != TaskState.DONE:  # the worker was stopped, or the run's cancel flag was set
        return _fail(study, trial, f"training {outcome.state}", retry=stopping())
    study.tell(trial, outcome.event["best_val_macro_pr_auc"])
    return TrialState.COMPLETE


def _fail(study: optuna.Study, trial: optuna.Trial, error: str, retry: bool) -> TrialState:
    trial.set_user_attr("error", error)
    frozen = study.tell(trial, state=TrialState.FAIL)
    if retry:
        RetryFailedTrialCallback(max_retry=MAX_RETRY)(study, frozen)
    return TrialState.FAIL


def run_folder_of(spec: SweepSpec, ds: ECGDataset, root: Path) -> Callable[[str], Path]:
    """``run name → the trial run's folder`` (what :func:`ecgcore.sweeps.study.fail_stale_trials` reads)."""
    return lambda run: RunPaths.of(ds.name, ds.label_set, spec.model, spec.fold, spec.plan, root, run).folder


def run_worker(study: optuna.Study, ds: ECGDataset, spec: SweepSpec, root: Path) -> int:
    """Run trials until the study has ``spec.trials`` finished (complete or pruned) ones; meanwhile
    fail the trials of dead workers (their retries are picked up here). Idles while the trials still
    needed are running elsewhere. SIGTERM stops the current trial (failed, queued again) and the
    worker (exit 130). SweepError when failures outnumber the trials wanted (something is wrong)."""
    stopped: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    folder_of = run_folder_of(spec, ds, root)
    while not stopped:
        fail_stale_trials(study, folder_of)
        n = counts(study)
        if n["finished"] >= spec.trials:
            return 0
        if n["failed"] > max(spec.trials, 3) * (MAX_RETRY + 1):
            raise SweepError(
                f"sweep {spec.name}: {n['failed']} trials failed; see the worker logs and the trials' train.log."
            )
        if n["finished"] + n["running"] >= spec.trials and not n["waiting"]:
            time.sleep(POLL_S)  # the last trials run elsewhere; stay to pick up a retry if their worker dies
            continue
        run_trial(study, ds, spec, root, lambda: bool(stopped))
    return 130


def worker_argv(spec: SweepSpec, root: Path) -> list[str]:
    """``python -m`` arguments of one worker of ``spec`` (the same study, the same runs folder)."""
    src = spec.source
    argv = ["ecgcore", "sweep", "--worker", "--model", spec.model, "--name", spec.name, "--trials", str(spec.trials)]
    argv += [x for text in spec.space_texts for x in ("--space", text)]
    argv += ["--epochs", str(spec.epochs), "--fold", str(spec.fold), "--plan", spec.plan, "--device", spec.device]
    argv += ["--pruner", spec.pruner, "--seed", str(spec.seed), "--runs_dir", str(Path(root).resolve())]
    argv += ["--sampling_rate", str(src.get("sampling_rate", 100)), "--label_set", src.get("label_set", "superclass")]
    argv += ["--data_root", str(src["data_root"])] if src.get("data_root") else []
    argv += ["--storage", spec.storage] if spec.storage else []
    return argv + (["--skip_bad"] if src.get("skip_bad") else [])


def start_workers(spec: SweepSpec, n: int, root: Path, log_dir: Path, first_index: int = 0) -> list[int]:
    """Start ``n`` detached workers (``python -m ecgcore sweep … --worker``), each logging to
    ``log_dir/<model>-worker<i>.log``, with one torch thread each unless OMP_NUM_THREADS is set. Returns their pids."""
    make_folder(log_dir)
    pids = []
    for i in range(first_index, first_index + n):
        env = {
            WORKER_ENV: str(i),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS") or "1",
            "ECGCORE_RUN_NAME": None,
        }
        pids.append(spawn_detached(worker_argv(spec, root), log_dir / f"{spec.model}-worker{i}.log", env, append=True))
    return pids
