"""Fold ensembles (ecgcore.ensemble)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgcore.checkpoints import load_checkpoint
from ecgcore.ensemble import (
    ensemble_proba,
    ensemble_saliency,
    ensemble_thresholds,
    leakage,
    load_fold_models,
    training_parts_of,
)
from ecgcore.errors import CheckpointError
from ecgcore.inference import predict_proba
from ecgcore.saliency import saliency_map


def test_one_member_ensemble_is_the_model(trained_runs, demo_ds):
    members = load_fold_models([trained_runs["cnn1d"]])
    model, meta = members[0]
    x = demo_ds.signals[:7]
    mean, each = ensemble_proba([model], x, "cpu")
    assert each.shape == (1, 7, len(demo_ds.label_names))
    np.testing.assert_allclose(mean, predict_proba(model, x, "cpu"), rtol=0, atol=1e-7)
    np.testing.assert_allclose(ensemble_thresholds([meta]), meta["thresholds"])
    sal = ensemble_saliency([model], x[0], 1, "gradient")
    np.testing.assert_allclose(sal, saliency_map(model, x[0], 1, "gradient").map)


def test_ensemble_is_the_mean_of_members(trained_runs, demo_ds):
    members = load_fold_models([trained_runs["cnn1d"], trained_runs["cnn2d"] / "best.pt"])
    models = [m for m, _ in members]
    x = demo_ds.signals[:5]
    mean, each = ensemble_proba(models, x, "cpu")
    assert each.shape == (2, 5, len(demo_ds.label_names))
    np.testing.assert_allclose(each[1], predict_proba(models[1], x, "cpu"), atol=1e-7)
    np.testing.assert_allclose(mean, (each[0] + each[1]) / 2, atol=1e-7)
    maps = [saliency_map(m, x[0], 2, "gradient").map for m in models]
    np.testing.assert_allclose(ensemble_saliency(models, x[0], 2, "gradient"), (maps[0] + maps[1]) / 2, atol=1e-7)
    thr = ensemble_thresholds([meta for _, meta in members])
    np.testing.assert_allclose(thr, (np.array(members[0][1]["thresholds"]) + members[1][1]["thresholds"]) / 2)


def test_members_must_share_labels(trained_runs, tmp_path):
    import torch

    from ecgcore.checkpoints import read_checkpoint

    data = read_checkpoint(trained_runs["cnn1d"] / "best.pt")
    data["meta"]["sampling_rate"] = 500
    torch.save(data, tmp_path / "best.pt")
    with pytest.raises(CheckpointError, match="sampling_rate"):
        load_fold_models([trained_runs["cnn1d"], tmp_path])
    with pytest.raises(CheckpointError, match="no trained fold"):
        load_fold_models([])


def test_leakage_by_id_and_by_signal(trained_runs, demo_ds):
    _, meta = load_checkpoint(trained_runs["cnn1d"] / "best.pt")
    parts = training_parts_of(meta, demo_ds)
    train_id, test_id = sorted(parts["train"])[0], sorted(parts["test"])[0]
    assert "train part of fold(s) 0" in leakage([meta], demo_ds, ecg_id=train_id)
    assert leakage([meta], demo_ds, ecg_id=test_id) is None
    row = int(np.flatnonzero(demo_ds.records["ecg_id"].to_numpy() == train_id)[0])
    signal = np.array(demo_ds.signals[row])
    assert f"ecg_id {train_id}" in leakage([meta], demo_ds, signal=signal)
    assert leakage([meta], demo_ds, signal=signal + 0.5) is None  # not a dataset record
    other = meta | {"dataset": meta["dataset"] | {"fingerprint": "elsewhere"}}
    assert leakage([other], demo_ds, ecg_id=train_id) is None  # trained on another dataset: not checked


def test_leakage_with_another_label_set_errs_on_the_side_of_warning(demo_ds, trained_runs):
    """A member trained on another label set: its parts are taken as every record of its strat folds,
    so a record it may have trained on is never reported as unseen."""
    from ecgcore.checkpoints import read_checkpoint

    meta = read_checkpoint(trained_runs["cnn1d"] / "best.pt")["meta"]
    other = meta | {"label_set": "subclass"}
    parts = training_parts_of(other, demo_ds)
    same = training_parts_of(meta, demo_ds)
    assert same["train"] <= parts["train"] and same["val"] <= parts["val"]
    unlabelled = demo_ds.records["ecg_id"].to_numpy()[~demo_ds.labels.any(axis=1)]
    in_train = [i for i in unlabelled if i in parts["train"]]
    assert in_train  # the demo set (seed 0) has unlabelled records in fold 0's training strat folds
    assert leakage([other], demo_ds, ecg_id=int(in_train[0])) is not None  # flagged under the other label set
    assert leakage([meta], demo_ds, ecg_id=int(in_train[0])) is None  # not trained on under its own


def test_member_thresholds_never_hide_a_fallback_in_the_mean(trained_runs):
    from ecgcore.checkpoints import read_checkpoint
    from ecgcore.ensemble import member_thresholds

    meta = read_checkpoint(trained_runs["cnn1d"] / "best.pt")["meta"]
    assert member_thresholds([meta, meta])[1] == "checkpoint"
    thr, source = member_thresholds([meta, meta | {"thresholds": None}])
    assert source == "default 0.5"  # one member had none: said, not averaged in silently
    np.testing.assert_allclose(thr, (np.asarray(meta["thresholds"]) + 0.5) / 2)
