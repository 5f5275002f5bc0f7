"""Sweep throughput with 1 and 2 worker processes, and the epochs the pruner saves.

Each row is one real ``python -m ecgcore sweep`` command (its workers started through
ecgcore.background.spawn_detached, one torch thread each) on a fresh runs folder:

* workers: the same small study (``--trials``, ``--epochs`` 2, no pruner) with 1 and with 2 workers:
  trials per hour of wall time;
* pruning: the same study (``--prune_trials``, ``--prune_epochs``) with the median pruner and without:
  epochs trained (every trial's ``epoch_end`` events) and the best validation macro PR-AUC.

    python bench/sweep_workers.py                      # the demo data (generated on first use)
    python bench/sweep_workers.py --data_root PATH

Prints one table per part.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optuna  # noqa: E402

from ecgcore.run_paths import RunPaths, sweep_journal  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
SPACE = ["--space", "lr=1e-3:3e-2:log", "--space", "label_smoothing=0,0.1"]


def sweep(data_root: str | None, runs: Path, name: str, *args: str) -> float:
    """Run one sweep command to its end; returns its wall seconds."""
    argv = [sys.executable, "-m", "ecgcore", "sweep", "--runs_dir", str(runs), "--name", name, *SPACE, *args]
    argv += ["--data_root", data_root] if data_root else []
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT)}
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=PROJECT)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")
    return time.perf_counter() - t0


def study_of(ds, runs: Path, name: str, model: str) -> optuna.Study:
    journal = sweep_journal(ds.name, ds.label_set, name, runs)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    return optuna.load_study(study_name=f"{ds.name}/{ds.label_set}/{model}@{name}", storage=storage)


def epochs_trained(ds, runs: Path, study: optuna.Study, model: str) -> int:
    total = 0
    for t in study.trials:
        run = RunPaths.of(ds.name, ds.label_set, model, 0, root=runs, run_name=t.user_attrs["run"])
        total += run.progress.read_text().count('"event": "epoch_end"')
    return total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_root", default=None)
    p.add_argument("--model", default="cnn1d")
    p.add_argument("--trials", type=int, default=6)
    p.add_argument("--prune_trials", type=int, default=8)
    p.add_argument("--prune_epochs", type=int, default=4)
    args = p.parse_args()
    ds = load_ptbxl(args.data_root)
    model = ["--model", args.model]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{ds.description}; {os.cpu_count()} CPU cores (load average {load}); one torch thread per worker\n")
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        print("| workers | trials × epochs | wall s | trials / hour |\n|---|---|---|---|")
        for workers in (1, 2):
            name = f"w{workers}"
            wall = sweep(args.data_root, runs, name, *model, "--trials", str(args.trials), "--epochs", "2",
                         "--pruner", "none", "--workers", str(workers))  # fmt: skip
            n = len(study_of(ds, runs, name, args.model).trials)
            print(f"| {workers} | {n} × 2 | {wall:.0f} | {n / wall * 3600:.0f} |", flush=True)
        print("\n| pruner | trials | epochs trained | best val macro PR-AUC | wall s |\n|---|---|---|---|---|")
        for pruner in ("none", "median"):
            name = f"p-{pruner}"
            wall = sweep(args.data_root, runs, name, *model, "--trials", str(args.prune_trials), "--epochs",
                         str(args.prune_epochs), "--pruner", pruner, "--workers", "1")  # fmt: skip
            study = study_of(ds, runs, name, args.model)
            epochs = epochs_trained(ds, runs, study, args.model)
            print(f"| {pruner} | {len(study.trials)} | {epochs} of {len(study.trials) * args.prune_epochs} | "
                  f"{study.best_value:.4f} | {wall:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
