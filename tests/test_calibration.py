"""Calibration (issue "how sure it is"): ECE and its bins, Brier, reliability points, per-class
temperatures fitted on validation that keep every decision, ``calibrate`` on a run, and the members'
spread of a fold ensemble."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from ecgcore.__main__ import main
from ecgcore.calibration import (
    apply_temperature,
    calibration_report,
    calibration_state,
    ece_bins,
    fit_temperature,
    nll_per_class,
    run_calibration,
    scale_thresholds,
)
from ecgcore.checkpoints import read_checkpoint
from ecgcore.uncertainty import member_spread


def test_ece_by_hand():
    y = np.array([0, 1, 1, 1])
    p = np.array([0.05, 0.15, 0.95, 0.95])  # bins 0 (0.05 → 0 positive), 1 (0.15 → 1), 9 (0.95 → 1, 1)
    out = ece_bins(y, p, 10)
    assert out["ece"] == pytest.approx((0.05 + 0.85 + 2 * 0.05) / 4)
    assert [b["n"] for b in out["bins"]] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert out["bins"][2]["mean_prob"] is None


def test_report_matches_scikit_learn_and_a_calibrated_model_scores_low():
    rng = np.random.default_rng(0)
    p = rng.random((20000, 2))
    y = (rng.random(p.shape) < p).astype(int)
    report = calibration_report(y, p, ("A", "B"))
    a = report["per_class"]["A"]
    assert a["brier"] == pytest.approx(brier_score_loss(y[:, 0], p[:, 0]))
    frac, mean = calibration_curve(y[:, 0], p[:, 0], n_bins=10)
    assert a["curve"]["fraction_positive"] == pytest.approx(frac.tolist())
    assert [b["fraction_positive"] for b in a["bins"] if b["n"]] == pytest.approx(frac.tolist())
    assert report["macro_ece"] < 0.02


def test_temperature_is_recovered_and_lowers_the_nll():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, (5000, 2))
    true_t = np.array([2.0, 0.5])
    y = (rng.random(z.shape) < 1 / (1 + np.exp(-z / true_t))).astype(int)
    t = fit_temperature(y, z)
    assert t == pytest.approx(true_t, rel=0.1)
    assert (nll_per_class(y, z, t) <= nll_per_class(y, z) + 1e-12).all()


def test_a_class_without_both_outcomes_keeps_temperature_one():
    assert fit_temperature(np.zeros((10, 1)), np.ones((10, 1))).tolist() == [1.0]


def test_scaled_thresholds_keep_every_decision():
    rng = np.random.default_rng(2)
    p, thr, t = rng.random((500, 3)), np.array([0.3, 0.5, 0.8]), np.array([0.7, 1.0, 2.5])
    assert ((apply_temperature(p, t) >= scale_thresholds(thr, t)) == (p >= thr)).all()


def test_calibration_state_says_which():
    meta = {"label_names": ["A", "B"]}
    assert not calibration_state(meta)["calibrated"]
    state = calibration_state(meta | {"temperature": [1.5, 0.8], "calibration": {"val_ece_after": 0.04}})
    assert state["calibrated"] and "A 1.50" in state["text"] and "validation" in state["text"]


def test_member_spread_states_disagreement():
    probs = np.array([[0.9, 0.2, 0.6], [0.8, 0.1, 0.4], [0.95, 0.3, 0.7]])
    table = member_spread(probs, [0.5, 0.5, 0.5], ["NORM", "MI", "STTC"])
    assert table["disagree"].tolist() == [False, False, True]
    assert table.loc[2, "members_present"] == 2 and "disagree" in table.loc[2, "statement"]
    assert "present" in table.loc[0, "statement"] and "absent" in table.loc[1, "statement"]
    assert table.loc[0, "std"] == pytest.approx(np.std([0.9, 0.8, 0.95]))
    own = member_spread(probs, np.array([[0.5] * 3, [0.5] * 3, [0.75] * 3]), ["NORM", "MI", "STTC"])
    assert own.loc[2, "members_present"] == 1  # each member's own thresholds


def test_calibrate_stores_the_temperature_and_keeps_the_weights(trained_runs, demo_root, tmp_path, capsys):
    source = trained_runs["cnn1d"]
    folder = tmp_path / source.relative_to(source.parents[3])
    shutil.copytree(source, folder)
    before = read_checkpoint(folder / "best.pt")
    argv = ["calibrate", "--data_root", str(demo_root), "--runs_dir", str(tmp_path), "--run", "cnn1d", "--fold", "0"]
    assert main(argv) == 0
    assert "T per class" in capsys.readouterr().out
    after = read_checkpoint(folder / "best.pt")
    assert len(after["meta"]["temperature"]) == len(after["meta"]["label_names"])
    assert after["meta"]["calibration"]["fitted_on"].startswith("validation")
    assert all((after["state_dict"][k] == v).all() for k, v in before["state_dict"].items())
    assert calibration_state(after["meta"])["calibrated"]
    assert run_calibration(folder)["raw"]["macro_ece"] is not None


def test_calibrate_a_missing_run_is_one_line_exit_2(demo_root, tmp_path, capsys):
    argv = ["calibrate", "--data_root", str(demo_root), "--runs_dir", str(tmp_path), "--run", "cnn1d", "--fold", "0"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1 and "does not exist" in err
    assert not any(tmp_path.rglob("fold0"))  # nothing created
