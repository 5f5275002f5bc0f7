"""``python -m ecgcore sweep``: check everything, then be a worker, start workers and follow them, or
promote the best trial (layer 5; the library calls are in :mod:`ecgcore.sweeps.study` and
:mod:`ecgcore.sweeps.worker`).

    sweep --name N --space …              start --workers (default 1) and follow them until the study
                                          has --trials finished trials, printing each trial's end
    sweep --name N --space … --worker     be one worker (what the started processes and the pods run)
    sweep --name N --promote              train the best trial's recipe on every fold × --seeds as <model>@<N>
                                          (run again, e.g. with more --seeds, it keeps what it trained)

Everything a person can get wrong (the space, the name, the counts, the storage URL, the runs folder)
is refused in one line before the data loads; nothing of the study is lost by a refusal.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import optuna

from ecgcore.background import pid_alive, reap, stop_process
from ecgcore.errors import RunError
from ecgcore.fileio import make_folder, storage_errors
from ecgcore.folds import n_folds
from ecgcore.recipes import default_config
from ecgcore.run_paths import RunPaths, sweep_journal, trial_run_name
from ecgcore.service import TrainRequest, check_request, train_request
from ecgcore.sweeps.space import SweepError, parse_space
from ecgcore.sweeps.study import (
    SweepSpec,
    best_trial,
    counts,
    fail_stale_trials,
    open_storage,
    open_study,
    storage_of,
    trials_table,
)
from ecgcore.sweeps.worker import POLL_S, run_folder_of, run_worker, start_workers, trial_request, worker_index


def spec_from_args(args) -> SweepSpec:
    """The sweep the command line asks for, checked before any work (SweepError / RunError, one line).
    With ``--promote`` the space may be left out (the study's own is used)."""
    space = parse_space(args.space, args.model) if args.space or not args.promote else {}
    epochs = args.epochs if args.epochs is not None else default_config(args.model).epochs
    source = {"data_root": args.data_root, "sampling_rate": args.sampling_rate, "label_set": args.label_set}
    spec = SweepSpec(
        args.name, args.model, args.trials, space, list(args.space), epochs, args.fold, args.plan, args.device,
        args.pruner, args.seed, args.storage, source | {"skip_bad": args.skip_bad},
    ).check()  # fmt: skip
    if args.workers < 0:
        raise SweepError(f"--workers {args.workers}: use 0 (only follow) or more.")
    if not 0 <= args.fold < n_folds(args.plan):
        raise SweepError(f"--fold {args.fold}: this plan has folds 0–{n_folds(args.plan) - 1}.")
    check_request(trial_request(spec, {}, trial_run_name(spec.name, 0)))  # epochs, device, model
    return spec


def promote_request(study: optuna.Study, spec: SweepSpec, seeds: int = 3, epochs: int | None = None) -> TrainRequest:
    """The training of the best trial's recipe on every fold of the plan × ``seeds`` as the run
    ``<model>@<sweep>`` (evaluated on each fold's test part), with the sweep's epochs unless ``epochs``."""
    best = best_trial(study)
    given = {**best.params, "epochs": epochs or study.user_attrs.get("fixed", {}).get("epochs") or spec.epochs}
    folds = list(range(n_folds(spec.plan)))
    request = TrainRequest(spec.model, folds, given, spec.plan, spec.device, spec.name, seeds=seeds)
    check_request(request)
    return request


def _print_table(rows: list[dict], out=print) -> None:
    out(f"{'trial':>5}  {'state':8s} {'pruned at':>9s} {'val PR-AUC':>10s}  recipe")
    for r in rows:
        pruned = "" if r["pruned_at"] is None else f"epoch {r['pruned_at']}"
        score = "" if r["score"] is None else f"{r['score']:.4f}"
        retry = f"  (retry of {r['retry_of']})" if r["retry_of"] is not None else ""
        out(f"{r['number']:>5}  {r['state']:8s} {pruned:>9s} {score:>10s}  {r['recipe']}{retry}")


def follow(study: optuna.Study, spec: SweepSpec, pids: list[int], folder_of: Callable, poll_s: float = POLL_S) -> int:
    """Print each trial as it starts and ends until the study has its trials (0), the workers started
    here have all stopped before that (1), or Ctrl-C / SIGTERM (their trials failed and queued again;
    130). Trials of dead workers are failed and retried meanwhile. Prints the table at the end."""
    seen: dict[int, tuple] = {}
    stop: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    code = 0
    try:
        while True:
            fail_stale_trials(study, folder_of)
            for r in trials_table(study):
                if seen.get(r["number"]) != (r["state"], r["pruned_at"]):
                    seen[r["number"]] = (r["state"], r["pruned_at"])
                    score = "" if r["score"] is None or r["state"] == "running" else f" val PR-AUC {r['score']:.4f}"
                    print(f"trial {r['number']} {r['state']}{score}: {r['recipe']}", flush=True)
            if counts(study)["finished"] >= spec.trials or stop:
                break
            reap()
            if pids and not any(pid_alive(p) for p in pids):
                code = 1
                break
            time.sleep(poll_s)
    except KeyboardInterrupt:
        stop.append(True)
    if stop:
        for pid in pids:
            stop_process(pid, grace_s=30)
        code = 130
    print()
    _print_table(trials_table(study))
    return code


def _promote(study: optuna.Study, ds, spec: SweepSpec, root: Path, seeds: int, epochs: int | None) -> int:
    best = best_trial(study)
    request = promote_request(study, spec, seeds, epochs)
    print(f"promoting trial {best.number} (val PR-AUC {best.value:.4f}): {best.params} → {spec.model}@{spec.name}, "
          f"{len(request.folds)} folds × {seeds} seed(s), {request.given['epochs']} epochs")  # fmt: skip
    refused = 0
    for k, path, outcome in train_request(ds, request, root):
        if isinstance(outcome, RunError) and RunPaths(path).results.is_file():  # promoted before: continued
            print(f"fold {k} {path.parent.name}: already trained and evaluated (kept)", flush=True)
        elif isinstance(outcome, RunError):
            print(f"error: {outcome}", file=sys.stderr)
            refused += 1
        elif outcome.results is not None:
            print(f"fold {k} {path.parent.name}: test macro PR-AUC {outcome.results['macro_pr_auc']:.4f}", flush=True)
    print(f"compare it: python -m ecgcore compare --a {spec.model}:{spec.name} --b OTHER_MODEL:{spec.name}")
    return 2 if refused else 0


def run_sweep_command(args, load: Callable, root: Path) -> int:
    """The ``sweep`` command (see the module docstring); ``load(args)`` loads the dataset."""
    spec = spec_from_args(args)
    if spec.storage:
        open_storage(spec.storage)  # an unreachable URL: one line before the data loads
    make_folder(root)  # a read-only runs folder or a file there: one line before any work
    ds = load(args)
    storage, where = storage_of(spec, ds.name, ds.label_set, root)
    if args.promote:
        try:
            study = optuna.load_study(study_name=spec.study_name(ds.name, ds.label_set), storage=storage)
        except KeyError:
            raise SweepError(f"no sweep {spec.name} of {spec.model} in {where}; run the sweep first.") from None
        return _promote(study, ds, spec, root, args.seeds, args.epochs)
    with storage_errors(where) if not spec.storage else nullcontext():  # a journal's disk filling up: one line
        return _sweep(args, spec, storage, where, ds, root)


def _sweep(args, spec: SweepSpec, storage, where: str, ds, root: Path) -> int:
    """Be a worker, or start workers and follow the study (see :func:`run_sweep_command`)."""
    study = open_study(spec, storage, ds.name, ds.label_set, worker_index() if args.worker else 0)
    if args.worker:
        return run_worker(study, ds, spec, root)
    n = counts(study)
    print(f"sweep {spec.name} of {spec.model} in {where}: {n['finished']}/{spec.trials} trials finished", flush=True)
    pids = []
    if n["finished"] < spec.trials and args.workers:
        log_dir = sweep_journal(ds.name, ds.label_set, spec.name, root).with_suffix(".logs")
        pids = start_workers(spec, args.workers, root, log_dir)
        print(f"started {len(pids)} worker(s) (pids {', '.join(map(str, pids))}); logs in {log_dir}", flush=True)
    return follow(study, spec, pids, run_folder_of(spec, ds, root))
