"""The run service (layer 4): one fold of one run, end to end, the same way for every caller, and the
run policy around it.

:func:`train_request` is what ``python -m ecgcore train``, the app's background process
(``python -m ecgcore.service <run folder>``, which reads its :class:`TrainRequest` from the run's
status.json) and the cluster Jobs do; it owns the policy — which folds, resume (asked for, or a retried
Kubernetes pod continuing its fold), what a resume would silently ignore, the epochs of a resumed run.
:func:`run_fold` is one fold, which bench/ scripts and test fixtures call directly:

    lock the run → record events and status → train → evaluate on the test part (same lock)
    → final status (done with test metrics / failed / cancelled) → release → start the next queued job

Evaluating under the training's lock means a ``train --overwrite`` started while the previous run of
that fold is being evaluated is refused, instead of leaving one run's checkpoint beside the other's
results.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ecgcore.background import TaskState
from ecgcore.data import ECGDataset
from ecgcore.errors import RunError
from ecgcore.fileio import make_folder
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.inference import pick_device
from ecgcore.recipes import TrainConfig, check_config, default_config, resume_conflicts
from ecgcore.run_paths import DEFAULT_RUN, RunPaths, runs_root, seed_run_name
from ecgcore.runs import RunLock, can_resume, is_locked, recipe_of, run_state, write_status
from ecgcore.train import Callback, RunRecorder, train_locked


@dataclass
class RunOutcome:
    """How :func:`run_fold` ended: the final state, the trainer's last event and the test results
    (None when not evaluated)."""

    path: Path
    state: TaskState
    event: dict
    results: dict | None = None


def run_fold(
    ds: ECGDataset,
    config: TrainConfig,
    path: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    evaluate: bool = True,
    callbacks: Sequence[Callback] = (),
    should_stop: Callable[[], bool] | None = None,
    run_name: str = DEFAULT_RUN,
    device: str | None = None,
    n_bootstrap: int = 200,
    pump: bool = True,
) -> RunOutcome:
    """Train fold ``config.fold`` of ``config.plan`` into ``path`` and evaluate it, holding the run's
    lock throughout; status.json follows each step (running → evaluating → done / failed / cancelled).

    Args:
        ds: the dataset (signals (N, 12, T) float32 mV, labels (N, C)).
        config: the recipe; checked first (:func:`ecgcore.recipes.check_config`).
        path: the run folder (``RunPaths.of(…, run_name=…).folder``).
        resume / overwrite: continue from last.pt / replace a previous run.
        evaluate: score the test part afterwards (results.json, confusion.png, test metrics in status).
        callbacks: more event receivers (e.g. a progress printer).
        should_stop: polled between batches; True cancels.
        device: for the evaluation (default: ``config.device``).
        pump: start the next queued run of the runs folder afterwards (:func:`ecgcore.jobs.pump`).

    Raises:
        RunError / ModelError / CheckpointError before any work for a bad config or a refused start
        (locked, already trained, nothing to resume) — that run's files are left alone; any error
        during training or evaluation after it is recorded in status.json ("failed", or "done" with
        ``eval_error``) and raised.
    """
    check_config(config, run_name)
    pick_device(config.device)  # a CUDA device asked for on a machine without one: refused before any work
    path = Path(path)
    try:
        with RunLock(path):
            return _run_locked(
                ds, config, path, resume, overwrite, evaluate, callbacks, should_stop, run_name, device, n_bootstrap
            )
    finally:
        if pump:
            from ecgcore import jobs

            address = RunPaths(path).address()
            jobs.pump(address.root if address else None)


def _run_locked(ds, config, path, resume, overwrite, evaluate, callbacks, should_stop, run_name, device, n_bootstrap):
    recorder = RunRecorder(
        path,
        os.getpid(),
        {
            "data_root": str(ds.root),
            "dataset": ds.description,
            "run_name": run_name,
            "source": {"data_root": str(ds.root), "sampling_rate": ds.sampling_rate, "label_set": ds.label_set},
        },
        state_when_done=TaskState.EVALUATING if evaluate else TaskState.DONE,
    )
    try:
        event = train_locked(ds, config, path, [recorder, *callbacks], resume, overwrite, should_stop)
    except RunError:  # refused before it started (already trained, nothing to resume …): files left alone
        raise
    except Exception as e:
        recorder({"event": "failed", "error": f"{e.__class__.__name__}: {e}", "traceback": traceback.format_exc()})
        raise
    finally:
        recorder.close()
    if event["event"] != "done":
        return RunOutcome(path, TaskState(event["event"]), event)
    if not evaluate:
        return RunOutcome(path, TaskState.DONE, event)
    return RunOutcome(path, TaskState.DONE, event, _evaluate(ds, path, device or config.device, n_bootstrap))


def _evaluate(ds: ECGDataset, path: Path, device: str, n_bootstrap: int) -> dict:
    """Score the test part; the status becomes done with the test metrics (or done with
    ``eval_error``: the training itself is kept)."""
    from ecgcore.evaluate import evaluate_run

    try:
        results = evaluate_run(ds, path, device, n_bootstrap)
    except Exception as e:
        write_status(path, state=TaskState.DONE.value, eval_error=f"{e.__class__.__name__}: {e}")
        raise
    write_status(
        path,
        state=TaskState.DONE.value,
        test_macro_pr_auc=results["macro_pr_auc"],
        test_macro_roc_auc=results["macro_roc_auc"],
    )
    return results


# ----------------------------------------------------------------------------- run policy


@dataclass
class TrainRequest:
    """What to train: a model's recipe on some folds of one run, as asked for by a person or a pod.

    ``given``: the recipe fields given explicitly (None or absent: the model's default); a resume
    compares these with the run's recorded recipe. ``pod_mode``: a Kubernetes Indexed-Job pod (fold
    from JOB_COMPLETION_INDEX) continues its fold's interrupted run instead of refusing it.
    ``seeds``: train each fold with seeds 0 … seeds − 1, one run name per seed
    (:func:`ecgcore.run_paths.seed_run_name`: seed 0 is ``run_name`` itself)."""

    model: str
    folds: list[int]
    given: dict = field(default_factory=dict)
    plan: str = DEFAULT_PLAN
    device: str = "auto"
    run_name: str = DEFAULT_RUN
    resume: bool = False
    overwrite: bool = False
    evaluate: bool = True
    pod_mode: bool = False
    seeds: int = 1

    def config(self, fold: int, seed: int | None = None) -> TrainConfig:
        """The recipe of one fold (and seed, with ``seeds``): the model's default with ``given``
        (checked by :func:`check_request`)."""
        given = self.given if seed is None else {**self.given, "seed": seed}
        return default_config(self.model, **given, plan=self.plan, fold=fold, device=self.device)

    def members(self) -> list[tuple[int, int | None, str]]:
        """(fold, seed, run name) of each training asked for, fold by fold: seed None and ``run_name``
        without ``seeds``, else seeds 0 … seeds − 1 under :func:`ecgcore.run_paths.seed_run_name`."""
        if self.seeds == 1:
            return [(k, None, self.run_name) for k in self.folds]
        return [(k, s, seed_run_name(self.run_name, s)) for k in self.folds for s in range(self.seeds)]

    def to_dict(self) -> dict:
        return asdict(self)


def check_request(request: TrainRequest) -> dict[tuple[int, str], TrainConfig]:
    """Every fold's (and seed's) recipe checked before any work (data not loaded, no folder touched),
    and the device (a GPU asked for where there is none): {(fold, run name): recipe}. Raises RunError /
    ModelError (one line)."""
    if not isinstance(request.seeds, int) or request.seeds < 1:
        raise RunError(f"--seeds {request.seeds!r}: use a whole number of 1 or more (seeds 0 … N−1 of each fold).")
    if request.seeds > 1 and request.given.get("seed") is not None:
        raise RunError(f"--seed {request.given['seed']} with --seeds {request.seeds}: --seeds trains seeds 0 … "
                       f"{request.seeds - 1}; leave --seed out.")  # fmt: skip
    configs = {(k, name): check_config(request.config(k, s), name) for k, s, name in request.members()}
    pick_device(request.device)
    return configs


def resume_plan(path: Path, request: TrainRequest, config: TrainConfig) -> tuple[bool, TrainConfig]:
    """Whether fold ``path`` resumes, and the recipe it then trains with. A run resumes when asked
    (``resume``), or in pod mode when it has a completed epoch and did not finish. A resume keeps the
    run's own length unless ``epochs`` is given; RunError when an option given now differs from the
    run's recorded recipe (the resume would silently ignore it)."""
    resume = request.resume or (request.pod_mode and can_resume(path) is None and run_state(path) != TaskState.DONE)
    if not resume:
        return False, config
    recorded = recipe_of(path) or {}
    conflicts = resume_conflicts(recorded, request.given)
    if conflicts:
        raise RunError(
            f"{path}: {conflicts} — --resume continues the run's recorded recipe; drop the option(s), or train "
            "a new run (--run_name NAME) or again from scratch (--overwrite)."
        )
    if request.given.get("epochs") is None and recorded.get("epochs"):
        config = replace(config, epochs=recorded["epochs"])  # the run's own length, not today's default
    return True, config


def train_request(
    ds: ECGDataset,
    request: TrainRequest,
    root: Path | None = None,
    callbacks: Sequence[Callback] = (),
    should_stop: Callable[[], bool] | None = None,
    on_fold: Callable[[int, Path], None] | None = None,
) -> Iterator[tuple[int, Path, RunOutcome | RunError]]:
    """Train each fold (and seed) of ``request`` in turn (checked by :func:`check_request` first), yielding
    ``(fold, path, outcome)``; a fold that is refused (locked, already trained, a resume conflict)
    yields its RunError and leaves that run's files alone. ``should_stop`` also sees each run's
    cancel flag. Stops after a cancelled fold."""
    configs = check_request(request)
    make_folder(root or runs_root())  # a read-only folder or a file there: one line before any fold
    for (k, run_name), config in configs.items():
        paths = RunPaths.of(ds.name, ds.label_set, request.model, k, request.plan, root, run_name)
        if on_fold:
            on_fold(k, paths.folder)
        if not is_locked(paths.folder):
            paths.cancel_flag.unlink(missing_ok=True)
        stop = _stop_for(paths, should_stop)
        try:
            resume, config = resume_plan(paths.folder, request, config)
            outcome = run_fold(
                ds, config, paths.folder, resume=resume, overwrite=request.overwrite, evaluate=request.evaluate,
                callbacks=callbacks, should_stop=stop, run_name=run_name,
            )  # fmt: skip
        except RunError as e:
            yield k, paths.folder, e
            continue
        yield k, paths.folder, outcome
        if outcome.state == TaskState.CANCELLED:
            return


def _stop_for(paths: RunPaths, should_stop: Callable[[], bool] | None) -> Callable[[], bool]:
    return lambda: paths.cancel_flag.exists() or bool(should_stop and should_stop())


def run_background_request(folder: Path) -> int:
    """The app's background training of one run folder: its TrainRequest and data source from
    status.json (written when it was queued), trained by :func:`train_request`. Returns an exit status."""
    import signal

    from ecgcore.sources import load_ptbxl

    status = write_status(folder, pid=os.getpid())
    request, source = TrainRequest(**status["request"]), status["source"]
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    ds = load_ptbxl(
        source["data_root"], source["sampling_rate"], source["label_set"], skip_bad=source.get("skip_bad", False)
    )
    address = RunPaths(folder).address()
    outcomes = list(train_request(ds, request, address.root, should_stop=lambda: bool(stopped)))
    return 2 if any(isinstance(o, RunError) for *_, o in outcomes) else 0


if __name__ == "__main__":
    import sys

    sys.exit(run_background_request(Path(sys.argv[1])))
