"""The run service (layer 4): one fold of one run, end to end, the same way for every caller.

:func:`run_fold` is what ``python -m ecgcore train`` does per fold, what the app's background process
(which is that command) and the cluster Jobs do, and what bench/ scripts and test fixtures call:

    lock the run → record events and status → train → evaluate on the test part (same lock)
    → final status (done with test metrics / failed / cancelled) → release → start the next queued job

Evaluating under the training's lock means a ``train --overwrite`` started while the previous run of
that fold is being evaluated is refused, instead of leaving one run's checkpoint beside the other's
results.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ecgcore.data import ECGDataset
from ecgcore.errors import RunError
from ecgcore.inference import pick_device
from ecgcore.runs import DEFAULT_RUN, RunLock, RunState, write_status
from ecgcore.train import Callback, RunRecorder, TrainConfig, check_config, train_locked


@dataclass
class RunOutcome:
    """How :func:`run_fold` ended: the final state, the trainer's last event and the test results
    (None when not evaluated)."""

    path: Path
    state: RunState
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
        config: the recipe; checked first (:func:`ecgcore.train.check_config`).
        path: the run folder (``runs.run_dir(…, run_name=…)``).
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

            jobs.pump(path.parents[3])  # <runs_root>/<dataset>/<label_set>/<model[@run]>/<fold>


def _run_locked(ds, config, path, resume, overwrite, evaluate, callbacks, should_stop, run_name, device, n_bootstrap):
    recorder = RunRecorder(
        path,
        os.getpid(),
        {"data_root": str(ds.root), "dataset": ds.description, "run_name": run_name},
        state_when_done=RunState.EVALUATING if evaluate else RunState.DONE,
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
        return RunOutcome(path, RunState(event["event"]), event)
    if not evaluate:
        return RunOutcome(path, RunState.DONE, event)
    return RunOutcome(path, RunState.DONE, event, _evaluate(ds, path, device or config.device, n_bootstrap))


def _evaluate(ds: ECGDataset, path: Path, device: str, n_bootstrap: int) -> dict:
    """Score the test part; the status becomes done with the test metrics (or done with
    ``eval_error``: the training itself is kept)."""
    from ecgcore.evaluate import evaluate_run

    try:
        results = evaluate_run(ds, path, device, n_bootstrap)
    except Exception as e:
        write_status(path, state=RunState.DONE.value, eval_error=f"{e.__class__.__name__}: {e}")
        raise
    write_status(
        path,
        state=RunState.DONE.value,
        test_macro_pr_auc=results["macro_pr_auc"],
        test_macro_roc_auc=results["macro_roc_auc"],
    )
    return results


__all__ = ["RunOutcome", "run_fold"]
