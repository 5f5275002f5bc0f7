"""Plausible-but-wrong command lines found by an adversarial pass: each is one `error:` line and exit 2,
before any work, and nothing is written."""

from __future__ import annotations

import pytest

from ecgcore.__main__ import main


@pytest.mark.parametrize(
    "argv, message",
    [
        (["compare", "--a", "cnn1d:x", "--b", "cnn1d:x"], "same run group"),
        (["compare", "--models", "cnn1d", "cnn1d"], "same run group"),
        (["compare", "--a", "cnn1d:", "--b", "cnn2d"], "MODEL:RUN_NAME"),
        (["download", "--workers", "0", "--out", "{tmp}/d"], "--workers 0"),
        (["download", "--workers", "-1", "--out", "{tmp}/d"], "--workers -1"),
        (["info", "--min_likelihood", "nan"], "--min_likelihood"),
        (["info", "--min_likelihood", "500"], "--min_likelihood"),
        (["info", "--label_set", "top0"], "unknown label set"),
        (["train", "--epochs", "1", "--window_s", "0.001", "--fold", "0"], "--window_s"),
        (["train", "--epochs", "1", "--window_s", "2", "--stride_s", "5", "--fold", "0"], "--stride_s"),
        (["interpret", "--summary", "--model", "cnn1d", "--fold", "0", "--run_name", "nope"], "does not exist"),
    ],
)
def test_refused_with_one_line_and_exit_2(argv, message, tmp_path, capsys, demo_root):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    if argv[0] in ("info", "train", "compare", "interpret"):
        argv += ["--data_root", str(demo_root), *(["--runs_dir", str(tmp_path / "runs")] if argv[0] != "info" else [])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "runs").exists() and not (tmp_path / "d").exists()


def test_a_fifo_status_file_is_damaged_not_a_hang(tmp_path, capsys):
    import os

    path = tmp_path / "demo" / "superclass" / "cnn1d" / "fold0"
    path.mkdir(parents=True)
    os.mkfifo(path / "status.json")
    assert main(["runs", "--runs_dir", str(tmp_path)]) == 0
    assert "damaged" in capsys.readouterr().out


def test_undefined_macro_metrics_print_as_na(tmp_path, capsys):
    """A test part too small for a macro metric (None in the results) prints n/a, not a traceback."""
    from ecgcore.__main__ import _print_test

    _print_test({"macro_pr_auc": None, "macro_roc_auc": None, "f1_macro": 0.5}, tmp_path)
    out = capsys.readouterr().out
    assert "macro PR-AUC n/a" in out and "no class has both positives and negatives" in out
