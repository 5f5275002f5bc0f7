"""ecgcore.service.run_fold (lock → record → train → evaluate under the same lock → status → queue)
and the CLI checks that run before any work."""

from __future__ import annotations

import json

import pytest

import ecgcore.evaluate
from ecgcore.__main__ import main
from ecgcore.background import TaskState
from ecgcore.recipes import TrainConfig, check_config
from ecgcore.run_paths import RunPaths
from ecgcore.runs import list_runs, read_status, recipe_of, write_status
from ecgcore.service import run_fold
from tests.test_runs import DAMAGES, _damage


def test_trained_fixture_went_through_the_service(trained_runs):
    """The fixture's runs: trained, evaluated under the lock, status done with the test metrics and
    the full recipe."""
    for model, path in trained_runs.items():
        status = read_status(path)
        assert status["state"] == "done" and status["run_name"] == "default"
        results = json.loads((path / "results.json").read_text())
        assert status["test_macro_pr_auc"] == results["macro_pr_auc"]
        assert recipe_of(path) == TrainConfig(model=model, epochs=1).to_dict()
        assert [e["event"] for e in map(json.loads, (path / "progress.jsonl").read_text().splitlines())][-1] == "done"


def test_overwrite_while_evaluating_is_refused(demo_ds, demo_root, tmp_path, monkeypatch, capsys):
    """`train --overwrite` of a fold whose previous run is being evaluated is refused (exit 2): the
    evaluation runs under the run's lock. Damaged sibling runs in the same folder break nothing."""
    root = tmp_path / "runs"
    for i, kind in enumerate(sorted(DAMAGES)):
        _damage(RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn2d", i, root=root).folder, kind)
    path = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn1d", 0, root=root, run_name="exp1").folder
    real_evaluate = ecgcore.evaluate.evaluate_run
    seen = {}

    def evaluate_while_someone_retrains(ds, run_path, *args, **kwargs):
        seen["state"] = read_status(run_path)["state"]
        seen["best"] = (run_path / "best.pt").read_bytes()
        argv = ["train", "--data_root", str(demo_root), "--model", "cnn1d", "--fold", "0", "--epochs", "1"]
        seen["rc"] = main([*argv, "--overwrite", "--run_name", "exp1", "--runs_dir", str(root)])
        seen["err"] = capsys.readouterr().err
        return real_evaluate(ds, run_path, *args, **kwargs)

    monkeypatch.setattr(ecgcore.evaluate, "evaluate_run", evaluate_while_someone_retrains)
    outcome = run_fold(demo_ds, TrainConfig(epochs=1, batch_size=32), path, run_name="exp1", n_bootstrap=5)
    assert seen["state"] == "evaluating"
    assert seen["rc"] == 2 and "already being trained or evaluated" in seen["err"], seen["err"]
    assert outcome.state == TaskState.DONE and outcome.results is not None
    assert (path / "best.pt").read_bytes() == seen["best"]  # not replaced by the refused run
    status = read_status(path)
    assert status["state"] == "done" and status["test_macro_pr_auc"] == outcome.results["macro_pr_auc"]
    assert status["run_name"] == "exp1" and status["config"]["batch_size"] == 32
    states = {r.path: r.state for r in list_runs(root)}
    assert states[path] == "done" and list(states.values()).count("damaged") == len(DAMAGES)


BAD_ARGS = [
    (["--epochs", "0"], "--epochs 0"),
    (["--epochs", "-3"], "--epochs -3"),
    (["--batch_size", "0"], "--batch_size 0"),
    (["--lr", "nan"], "--lr nan"),
    (["--lr", "0"], "--lr 0"),
    (["--lr", "inf"], "--lr inf"),
    (["--weight_decay", "-1"], "--weight_decay -1"),
    (["--weight_decay", "nan"], "--weight_decay nan"),
    (["--patience", "0"], "--patience 0"),
    (["--device", "foo"], "--device 'foo'"),
    (["--run_name", "a b"], "run name 'a b'"),
    (["--model", "cnn9d"], "unknown model 'cnn9d'"),
]


@pytest.mark.parametrize("extra,message", BAD_ARGS)
def test_bad_training_arguments_are_refused_before_any_work(extra, message, tmp_path, capsys):
    runs = tmp_path / "runs"
    rc = main(["train", "--data_root", str(tmp_path / "no-data-here"), "--fold", "0", "--runs_dir", str(runs), *extra])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: ") and message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not runs.exists()  # checked before the data loads: nothing written


def test_check_config_accepts_the_recipes():
    from ecgcore.model_specs import SPECS
    from ecgcore.recipes import default_config

    for model in SPECS:
        check_config(default_config(model), "default")
    with pytest.raises(Exception, match="--epochs 0"):
        run_fold(None, TrainConfig(epochs=0), "/nonexistent/run")  # checked before anything is touched


def test_interrupted_run_says_so(demo_root, tmp_path, capsys):
    runs = tmp_path / "runs"
    path = RunPaths.of("demo", "superclass", "cnn1d", 0, root=runs).folder
    write_status(path, state="running", epoch=0, pid=None)  # left by a killed process
    (path / "last.pt").write_bytes(b"not read")
    rc = main(["train", "--data_root", str(demo_root), "--fold", "0", "--epochs", "1", "--runs_dir", str(runs)])
    err = capsys.readouterr().err
    assert rc == 2 and "interrupted" in err and "--resume" in err and "already holds a running" not in err
    assert (path / "last.pt").read_bytes() == b"not read" and read_status(path, live=False)["state"] == "running"


def test_runs_command_lists_damaged_runs_and_repairs(tmp_path, capsys):
    good = RunPaths.of("demo", "superclass", "cnn1d", 0, root=tmp_path).folder
    write_status(good, state="done", test_macro_pr_auc=0.5)
    named = RunPaths.of("demo", "superclass", "cnn1d", 1, root=tmp_path, run_name="exp").folder
    write_status(named, state="failed")
    bad = RunPaths.of("demo", "superclass", "cnn2d", 0, root=tmp_path).folder
    _damage(bad, "empty_list")
    (bad / "last.pt").write_bytes(b"x")
    assert main(["runs", "--runs_dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert any(line.startswith("done") and "cnn1d/fold0" in line and "0.5000" in line for line in out), out
    assert any(line.startswith("failed") and "cnn1d@exp/fold1" in line for line in out), out
    damaged = [line for line in out if line.startswith("damaged")]
    assert len(damaged) == 1 and "cnn2d/fold0:" in damaged[0] and "--repair" in damaged[0]
    assert main(["runs", "--runs_dir", str(tmp_path), "--run_name", "exp"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["runs", "--runs_dir", str(tmp_path), "--repair"]) == 0
    out = capsys.readouterr().out
    assert (
        "repaired" in out and "now interrupted" in out and "damaged" not in out.split("repaired")[-1].split("\n", 1)[1]
    )
