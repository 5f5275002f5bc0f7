"""Sweeps (ecgcore/sweeps): the --space refusals and an unreachable or full storage before any work,
and real worker processes on one journal study of the demo data — two commands cooperating, and a
worker SIGKILLed mid-trial whose trial is failed and retried while nothing else is lost."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from ecgcore.__main__ import main
from ecgcore.run_paths import RunPaths, sweep_journal
from ecgcore.sweeps.space import SweepError, parse_dimension, parse_space

PROJECT = Path(__file__).resolve().parent.parent


def _sweep_argv(demo_root: Path, runs: Path, name: str, *extra: str) -> list[str]:
    return ["sweep", "--data_root", str(demo_root), "--runs_dir", str(runs), "--name", name, "--epochs", "2",
            "--space", "lr=1e-3:1e-2:log", "--space", "label_smoothing=0,0.1", *extra]  # fmt: skip


@pytest.mark.parametrize(
    ("space", "says"),
    [
        ("nosuch=1:2", "is not a recipe field"),
        ("lr=1e-2:1e-3", "the range is empty"),
        ("lr=0:1e-2:log", "cannot reach 0"),
        ("label_smoothing=0,0.7", "0.5"),
        ("lr=abc:1", "is not a value of lr"),
        ("lr", "write FIELD="),
        ("model_config=stacked", "is not a recipe field"),
    ],
)
def test_a_bad_space_is_one_line_before_any_work(tmp_path, capsys, space, says):
    runs = tmp_path / "runs"
    code = main(["sweep", "--runs_dir", str(runs), "--name", "s", "--space", space])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and says in err and len(err.splitlines()) == 1, err
    assert not runs.exists()  # nothing touched


def test_a_value_the_model_refuses_is_named():
    # a fixed-length model takes no random crops: the field's own rule and the model's spec both apply
    crop = next(f.name for f in __import__("ecgcore.recipes").recipes.FIELDS if f.whole_record_only)
    with pytest.raises(SweepError, match="reads whole 10 s records"):
        parse_dimension(f"{crop}=0,2.5", "cnn2d")
    dim = parse_dimension(f"{crop}=0,2.5", "cnn1d")  # 0 = off for an off-able field
    assert dim.choices == (0.0, 2.5)
    assert parse_space(["batch_size=8:32", "augment=true,false"], "cnn1d")["augment"].choices == (True, False)


def test_an_unreachable_storage_is_one_line(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/no/such/folder/study.db"
    code = main(
        ["sweep", "--runs_dir", str(tmp_path / "runs"), "--name", "s", "--space", "lr=1e-3:1e-2", "--storage", url]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: --storage") and "cannot reach it" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_a_full_disk_under_the_journal_is_one_line(demo_root, tmp_path, capsys, monkeypatch):
    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "touch", full)
    code = main(_sweep_argv(demo_root, tmp_path / "runs", "full", "--workers", "0"))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("error: cannot write") and "No space left" in err[-1], err


def _study(runs: Path, name: str) -> optuna.Study:
    journal = sweep_journal("demo", "superclass", name, runs)
    storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal)))
    return optuna.load_study(study_name=f"demo/superclass/cnn1d@{name}", storage=storage)


def _env() -> dict:
    return os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT)}


@pytest.mark.slow
def test_two_commands_share_one_study_with_real_workers(demo_root, tmp_path):
    runs = tmp_path / "runs"
    argv = [sys.executable, "-m", "ecgcore", *_sweep_argv(demo_root, runs, "pair", "--trials", "3", "--workers", "1")]
    first = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env(), cwd=PROJECT)
    time.sleep(1.0)  # the second command finds the study the first one created (or creates it: either works)
    second = subprocess.run(argv, capture_output=True, text=True, env=_env(), cwd=PROJECT, timeout=240)
    out1, _ = first.communicate(timeout=240)
    assert first.returncode == 0 and second.returncode == 0, (out1, second.stdout, second.stderr)
    study = _study(runs, "pair")
    finished = [
        t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    ]
    assert 3 <= len(finished) <= 4  # one study shared: not 3 trials each (two workers may each start a last one)
    # which worker ran which trial depends on timing (a fast first worker may finish all of them)
    assert 1 <= len({t.user_attrs["worker"]["pid"] for t in study.trials}) <= 2
    for t in finished:  # each trial is an ordinary named run, scored on validation only
        folder = RunPaths.of("demo", "superclass", "cnn1d", 0, root=runs, run_name=f"pair-t{t.number}").folder
        status = json.loads(RunPaths(folder).status.read_text())
        assert "test_macro_pr_auc" not in status and not RunPaths(folder).results.exists()
    assert "trial  state" in out1 and "val PR-AUC" in second.stdout
    from ecgcore.sweeps.study import study_figures, trials_table

    assert {"history", "intermediate"} <= set(study_figures(study))  # Optuna's plotly figures, for the app
    assert [r["number"] for r in trials_table(study)] == [t.number for t in study.trials]


@pytest.mark.slow
def test_a_killed_worker_trial_is_failed_and_retried(demo_root, tmp_path):
    runs = tmp_path / "runs"
    argv = [sys.executable, "-m", "ecgcore", *_sweep_argv(demo_root, runs, "kill", "--trials", "1", "--worker")]
    argv[argv.index("--epochs") + 1] = "6"  # long enough to be killed mid-trial
    worker = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=PROJECT)
    progress = RunPaths.of("demo", "superclass", "cnn1d", 0, root=runs, run_name="kill-t0").progress
    deadline = time.time() + 120
    while time.time() < deadline and not (progress.exists() and '"epoch_end"' in progress.read_text()):
        time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert _study(runs, "kill").trials[0].state == optuna.trial.TrialState.RUNNING  # what the kill left
    # the next command sees the dead worker's trial, fails it, and its worker runs the retry
    argv = [sys.executable, "-m", "ecgcore", *_sweep_argv(demo_root, runs, "kill", "--trials", "1", "--workers", "1")]
    argv[argv.index("--epochs") + 1] = "6"
    done = subprocess.run(argv, capture_output=True, text=True, env=_env(), cwd=PROJECT, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    trials = _study(runs, "kill").trials
    assert trials[0].state == optuna.trial.TrialState.FAIL and "worker stopped" in trials[0].user_attrs["error"]
    assert trials[1].state == optuna.trial.TrialState.COMPLETE and trials[1].system_attrs["failed_trial"] == 0
    assert trials[1].params == trials[0].params  # the same recipe, retried
    assert RunPaths.of("demo", "superclass", "cnn1d", 0, root=runs, run_name="kill-t0").last.exists()  # kept


def test_a_study_refuses_another_space_under_its_name(tmp_path):
    from ecgcore.sweeps.study import SweepSpec, open_storage, open_study

    def spec(epochs: int, texts: list[str]) -> SweepSpec:
        return SweepSpec("s", "cnn1d", 2, parse_space(texts, "cnn1d"), texts, epochs).check()

    storage = open_storage(tmp_path / "s.journal")
    open_study(spec(2, ["lr=1e-3:1e-2"]), storage, "demo", "superclass")
    assert open_study(spec(2, ["lr=1e-3:1e-2"]), storage, "demo", "superclass").study_name.endswith("cnn1d@s")
    with pytest.raises(SweepError, match="was started with epochs 2"):
        open_study(spec(3, ["lr=1e-3:1e-2"]), storage, "demo", "superclass")
    with pytest.raises(SweepError, match="another --name"):
        open_study(spec(2, ["lr=1e-3:1e-1"]), storage, "demo", "superclass")


def test_the_pruner_stops_a_poor_trial_after_its_epoch_but_never_the_last():
    from ecgcore.sweeps.worker import _Pruning

    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1))
    good = study.ask()
    for epoch in range(3):
        good.report(0.8, epoch)
    study.tell(good, 0.8)
    pruning = _Pruning(study.ask())
    pruning({"event": "epoch_end", "epoch": 0, "epochs": 3, "val_macro_pr_auc": 0.1})
    assert pruning.pruned_at == 1  # trained 1 epoch; the service's should_stop now ends the training
    last = _Pruning(study.ask())
    last({"event": "epoch_end", "epoch": 2, "epochs": 3, "val_macro_pr_auc": 0.1})
    assert last.pruned_at is None  # a finished training is scored, not pruned


def test_promote_without_a_sweep_is_one_line(demo_root, tmp_path, capsys):
    code = main(["sweep", "--data_root", str(demo_root), "--runs_dir", str(tmp_path), "--name", "none", "--promote"])
    err = capsys.readouterr().err.strip()
    assert (
        code == 2
        and err
        == f"error: no sweep none of cnn1d in {sweep_journal('demo', 'superclass', 'none', tmp_path)}; run the sweep first."
    )
