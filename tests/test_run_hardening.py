"""Hardening of the run commands: check before destroying, one lock for a run's files, the runs folder
as a machine fault, and folds of one group trained with different recipes (issue "Hardening, round three")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ecgcore.__main__ import main
from ecgcore.recipes import TrainConfig
from ecgcore.run_paths import RunPaths
from ecgcore.runs import RunLock, read_status, write_status


def cli(argv: list[str], capsys) -> tuple[int, str]:
    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out + captured.err


@pytest.fixture
def finished_root(trained_runs, demo_ds, tmp_path) -> Path:
    """A runs folder holding a copy of the finished 1-epoch cnn1d run of demo fold 0."""
    root = tmp_path / "runs"
    target = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn1d", 0, root=root).folder
    shutil.copytree(trained_runs["cnn1d"], target)
    return root


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--model", "cnn1d", "--image", "spectrogram"], "cnn1d has no option 'image'"),
        (["--model", "cnn2d", "--image", "bogus"], "--image 'bogus': use one of stacked, spectrogram"),
        (["--model", "cnn2d", "--crop_s", "2.5"], "cnn2d reads whole 10 s records only"),
    ],
)
def test_overwrite_checks_every_argument_before_it_touches_a_file(
    finished_root, demo_root, demo_ds, capsys, options, words
):
    """`train --overwrite` with an option the model can't take is refused with one line, exit 2, and the
    finished run's best.pt and results.json are still there."""
    paths = RunPaths.of(demo_ds.name, demo_ds.label_set, options[1], 0, root=finished_root)
    before = sorted(p.name for p in paths.folder.iterdir()) if paths.folder.is_dir() else []
    argv = ["train", "--data_root", str(demo_root), "--fold", "0", "--runs_dir", str(finished_root), "--overwrite"]
    rc, out = cli([*argv, *options], capsys)
    assert rc == 2 and words in out and "Traceback" not in out
    after = sorted(p.name for p in paths.folder.iterdir()) if paths.folder.is_dir() else []
    assert after == before
    cnn1d = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn1d", 0, root=finished_root)
    assert cnn1d.best.is_file() and cnn1d.results.is_file()


def test_eval_is_refused_while_the_fold_is_locked(finished_root, demo_root, demo_ds, capsys):
    """An eval while a training (or another eval) holds the fold's lock is refused, and nothing it would
    write (results.json) changes; once the lock is free the same eval works."""
    paths = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn1d", 0, root=finished_root)
    before = paths.results.read_bytes()
    argv = ["eval", "--data_root", str(demo_root), "--fold", "0", "--runs_dir", str(finished_root)]
    with RunLock(paths.folder):
        rc, out = cli([*argv, "--n_bootstrap", "0"], capsys)
        assert rc == 2 and "already being trained or evaluated" in out
        assert paths.results.read_bytes() == before
    rc, out = cli([*argv, "--n_bootstrap", "0"], capsys)
    assert rc == 0 and "fold 0: macro PR-AUC" in out


def test_interpret_and_repair_take_the_same_lock(finished_root, demo_root, demo_ds, capsys):
    paths = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn1d", 0, root=finished_root)
    argv = ["interpret", "--data_root", str(demo_root), "--fold", "0", "--runs_dir", str(finished_root), "--n", "1"]
    with RunLock(paths.folder):
        rc, out = cli(argv, capsys)
        assert rc == 2 and "already being trained or evaluated" in out
        paths.status.write_text("{not json")
        rc, out = cli(["runs", "--runs_dir", str(finished_root), "--repair"], capsys)
        assert "in use by another process" in out
    rc, out = cli(["runs", "--runs_dir", str(finished_root), "--repair"], capsys)
    assert rc == 0 and read_status(paths.folder)["state"] == "done"


def test_interpret_summary_does_not_check_n(finished_root, demo_root, capsys):
    argv = ["interpret", "--data_root", str(demo_root), "--fold", "0", "--runs_dir", str(finished_root)]
    rc, out = cli([*argv, "--n", "0", "--summary", "--method", "gradient", "--max_records", "3"], capsys)
    assert rc == 0, out
    rc, out = cli([*argv, "--n", "0"], capsys)
    assert rc == 2 and "--n 0" in out


@pytest.mark.parametrize("kind", ["file", "read-only"])
def test_a_runs_folder_that_cannot_be_written_is_one_line_before_any_work(tmp_path, demo_root, capsys, kind):
    import os

    root = tmp_path / "runs"
    if kind == "file":
        root.write_text("not a folder")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into a read-only folder (the tmpfs/bind-mount tests cover EROFS)")
        root.mkdir()
        root.chmod(0o500)
    argv = ["train", "--data_root", str(demo_root), "--fold", "0", "--epochs", "1", "--runs_dir", str(root)]
    rc, out = cli(argv, capsys)
    assert rc == 2 and "cannot write" in out and "damaged" not in out and "Traceback" not in out
    assert "dataset:" not in out  # refused before the data loads


def test_folds_trained_with_different_recipes_are_said(trained_runs, demo_ds, demo_root, tmp_path, capsys):
    """compare and predict --run say which fold of a group used another recipe, instead of averaging silently."""
    from ecgcore.service import run_fold

    root = tmp_path / "runs"
    for k, epochs in ((0, 1), (1, 2)):
        path = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn1d", k, root=root).folder
        run_fold(demo_ds, TrainConfig(model="cnn1d", fold=k, epochs=epochs), path, n_bootstrap=0, pump=False)
        other = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn2d", k, root=root).folder
        run_fold(demo_ds, TrainConfig(model="cnn2d", fold=k, epochs=1), other, n_bootstrap=0, pump=False)
    rc, out = cli(["compare", "--data_root", str(demo_root), "--runs_dir", str(root)], capsys)
    assert rc == 0 and "warning: cnn1d: fold 1: Epochs 2 (fold 0: 1)" in out
    assert "warning: cnn2d" not in out
    rc, out = cli(
        [
            "predict",
            "--run",
            "cnn1d",
            "--runs_dir",
            str(root),
            "--data_root",
            str(demo_root),
            "--out",
            str(tmp_path / "p.csv"),
        ],
        capsys,
    )
    assert rc == 0 and "members used different recipes — fold 1: Epochs 2 (fold 0: 1)" in out


def test_a_records_csv_of_another_run_is_not_shown_as_this_runs(trained_runs, tmp_path):
    import pandas as pd

    from ecgcore.errors import ResultsError
    from ecgcore.metrics import read_json
    from ecgcore.outcomes import read_records_csv

    run = tmp_path / "run"
    shutil.copytree(trained_runs["cnn1d"], run)
    results = read_json(RunPaths(run).results)
    assert len(read_records_csv(run, results)) == len(results["test_ecg_ids"])
    table = pd.read_csv(RunPaths(run).records_csv)
    table.assign(EXTRA_outcome="TP").to_csv(RunPaths(run).records_csv, index=False)
    with pytest.raises(ResultsError, match="EXTRA that the run does not have"):
        read_records_csv(run, results)
    table.iloc[:-1].to_csv(RunPaths(run).records_csv, index=False)
    with pytest.raises(ResultsError, match="other records than this run's test part"):
        read_records_csv(run, results)
    write_status(run, state="done")  # the run itself is untouched
