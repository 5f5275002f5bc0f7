"""The command line (``python -m ecgcore``): info and its flag aliases, argument errors (usage, exit 2),
fold selection (--fold 5, JOB_COMPLETION_INDEX), user errors as one ``error:`` line, and train → eval
→ compare → interpret → predict end to end on the demo data with 1 epoch."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgcore.__main__ import main
from ecgcore.cli_common import resolve_folds
from ecgcore.errors import FoldError

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def keep_sigterm_handler():
    """``train`` installs a SIGTERM handler (cancellation); give the test process its own back."""
    handler = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, handler)


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full_env = os.environ | {"PYTHONPATH": str(PROJECT)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "ecgcore", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=full_env,
        timeout=timeout,
    )


def test_info_and_data_root_alias(demo_root, demo_ds, capsys):
    assert main(["info", "--data_root", str(demo_root)]) == 0
    out = capsys.readouterr().out
    n_unlabelled = len(demo_ds.records) - len(demo_ds.labelled)
    assert f"records: {len(demo_ds.records)}" in out
    assert f"labelled: {len(demo_ds.labelled)}  unlabelled: {n_unlabelled}" in out
    counts = ", ".join(f"{n} {int(c)}" for n, c in zip(demo_ds.label_names, demo_ds.labels.sum(axis=0)))
    assert f"label counts: {counts}" in out
    assert "synthetic DEMO data 'demo'" in out
    assert "plan cv5" in out and "train" in out and "test" in out
    assert main(["info", "--data-root", str(demo_root)]) == 0
    assert capsys.readouterr().out == out  # the alias means the same


def test_info_from_env(demo_root, capsys, monkeypatch):
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    assert main(["info", "--plan", "benchmark"]) == 0
    out = capsys.readouterr().out
    assert str(demo_root) in out and "plan benchmark" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "required"),
        (["fly"], "invalid choice"),
        (["train", "--epochs", "many"], "invalid int"),
        (["train", "--fold", "first"], "--fold"),
        (["train", "--sampling_rate", "250"], "invalid choice"),
        (["info", "--no_such_flag"], "unrecognized arguments"),
        (["predict", "--data_root", "x"], "required: --out"),
        (["predict", "--data_root", "x", "--out", "p.csv"], "one of the arguments --checkpoint --run is required"),
    ],
)
def test_bad_arguments_print_usage_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and message in err


def test_resolve_folds(monkeypatch):
    monkeypatch.delenv("JOB_COMPLETION_INDEX", raising=False)
    assert resolve_folds("5", "train", 5) == [0, 1, 2, 3, 4]  # the original project's "all"
    assert resolve_folds("all", "eval", 5) == [0, 1, 2, 3, 4]
    assert resolve_folds("3", "train", 5) == [3]
    assert resolve_folds(None, "train", 5) == [0, 1, 2, 3, 4]  # no --fold, no index: all
    assert resolve_folds(None, "train", 1) == [0]
    for fold, command, n in (
        ("5", "eval", 5),
        ("5", "interpret", 5),
        ("7", "train", 5),
        ("1", "train", 1),
        ("5", "train", 1),
    ):
        with pytest.raises(FoldError, match="out of range"):
            resolve_folds(fold, command, n)
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "2")
    assert resolve_folds(None, "train", 5) == [2]  # a Kubernetes Indexed Job pod
    assert resolve_folds("4", "train", 5) == [4]  # an explicit --fold wins
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "")
    assert resolve_folds(None, "eval", 5) == [0, 1, 2, 3, 4]


def test_fold_out_of_range_is_a_user_error(demo_root, capsys):
    assert main(["eval", "--data_root", str(demo_root), "--fold", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: --fold 5 is out of range")


def test_data_error_is_one_line_without_traceback(tmp_path):
    missing = tmp_path / "no-such-folder"
    result = run_cli("info", "--data_root", str(missing))
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and str(missing) in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_models_command(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "46,757" in out and "6,613" in out and "resnet1d_wang" in out


def user_folder(demo_root: Path, dest: Path, n: int = 6) -> Path:
    """A user's folder for prediction: records and a csv with only ecg_id and filename_lr, no labels."""
    table = pd.read_csv(demo_root / "ptbxl_database.csv").iloc[10 : 10 + n]
    dest.mkdir(parents=True)
    table[["ecg_id", "filename_lr"]].to_csv(dest / "ptbxl_database.csv", index=False)
    for f in table["filename_lr"]:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".hea", ".dat"):
            shutil.copy(demo_root / f"{f}{ext}", dest / f"{f}{ext}")
    return dest


@pytest.mark.slow
def test_end_to_end(demo_root, demo_ds, tmp_path, capsys):
    runs = tmp_path / "runs"
    common = ["--data_root", str(demo_root), "--runs_dir", str(runs)]
    for model in ("cnn1d", "cnn2d"):
        assert main(["train", *common, "--model", model, "--fold", "0", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and "test: macro PR-AUC" in out
    fold0 = runs / "demo" / "superclass" / "cnn1d" / "fold0"
    for name in ("best.pt", "last.pt", "progress.jsonl", "status.json", "results.json", "confusion.png"):
        assert (fold0 / name).exists(), name
    from ecgcore.runs import read_status

    status = read_status(fold0)
    assert status["state"] == "done" and status["test_macro_pr_auc"] is not None

    # a second train of a finished fold is refused (exit 2, a user error since issue 11), the run is left alone
    before = (fold0 / "best.pt").stat().st_mtime_ns
    assert main(["train", *common, "--model", "cnn1d", "--fold", "0", "--epochs", "1"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (fold0 / "best.pt").stat().st_mtime_ns == before

    assert main(["eval", *common, "--model", "cnn1d", "--fold", "0", "--n_bootstrap", "10"]) == 0
    out = capsys.readouterr().out
    assert "fold 0: macro PR-AUC" in out and "NORM" in out and "HYP" in out

    assert main(["compare", *common[:2], "--runs_dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "macro_pr_auc" in out and "paired diff" in out
    assert (runs / "demo" / "superclass" / "compare.json").exists()

    pngs = tmp_path / "pngs"
    for method in ("integrated_gradients", "grad_cam"):
        assert (
            main(
                [
                    "interpret",
                    *common,
                    "--model",
                    "cnn2d",
                    "--fold",
                    "0",
                    "--method",
                    method,
                    "--n",
                    "2",
                    "--out",
                    str(pngs),
                ]
            )
            == 0
        )
    ids = [int(demo_ds.records.ecg_id[i]) for i in range(1)]
    assert (
        main(
            [
                "interpret",
                *common,
                "--model",
                "cnn1d",
                "--fold",
                "0",
                "--method",
                "gradient",
                "--ecg_ids",
                str(ids[0]),
                "--out",
                str(pngs),
            ]
        )
        == 0
    )
    files = sorted(pngs.glob("*.png"))
    assert len(files) == 5 and all(f.read_bytes()[:4] == b"\x89PNG" for f in files)
    assert (pngs / f"ecg{ids[0]}_gradient.png").exists()

    assert main(["runs", "--runs_dir", str(runs)]) == 0
    out = capsys.readouterr().out
    assert "done" in out and "demo/superclass/cnn1d/fold0" in out and "demo/superclass/cnn2d/fold0" in out

    # predict on a user folder without labels
    folder = user_folder(demo_root, tmp_path / "user")
    csv = tmp_path / "pred.csv"
    assert main(["predict", "--checkpoint", str(fold0 / "best.pt"), "--data_root", str(folder), "--out", str(csv)]) == 0
    text = csv.read_text().splitlines()
    assert text[0].startswith("ecg_id,NORM_probability,NORM_predicted,NORM_threshold,MI_probability")
    table = pd.read_csv(csv)
    assert table["ecg_id"].tolist() == pd.read_csv(folder / "ptbxl_database.csv")["ecg_id"].tolist()
    probs = table[[f"{c}_probability" for c in ("NORM", "MI", "STTC", "CD", "HYP")]].to_numpy()
    assert ((probs >= 0) & (probs <= 1)).all()
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.inference import predict_proba

    model, _ = load_checkpoint(fold0 / "best.pt")
    np.testing.assert_allclose(probs, predict_proba(model, demo_ds.signals[10:16], "cpu"), atol=1e-5)


def test_predict_reports_bad_records(demo_root, tmp_path, trained_runs, capsys):
    folder = user_folder(demo_root, tmp_path / "user", n=4)
    first = pd.read_csv(folder / "ptbxl_database.csv")["filename_lr"][1]
    (folder / f"{first}.dat").unlink()
    csv = tmp_path / "pred.csv"
    args = [
        "predict",
        "--checkpoint",
        str(trained_runs["cnn1d"] / "best.pt"),
        "--data_root",
        str(folder),
        "--out",
        str(csv),
    ]
    assert main(args) == 2
    assert f"{first}.dat" in capsys.readouterr().err and not csv.exists()
    assert main([*args, "--skip_bad"]) == 0
    assert len(pd.read_csv(csv)) == 3
    assert "skipped ecg_id" in capsys.readouterr().out


def test_predict_with_a_bad_checkpoint(demo_root, tmp_path, capsys):
    bad = tmp_path / "best.pt"
    bad.write_bytes(b"not a checkpoint")
    assert (
        main(["predict", "--checkpoint", str(bad), "--data_root", str(demo_root), "--out", str(tmp_path / "x.csv")])
        == 2
    )
    assert capsys.readouterr().err.startswith("error: ")
