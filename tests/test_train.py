"""ecgcore.train: one epoch on the demo data learns something and writes loadable checkpoints, the
event stream and status; exact resume; cancellation; overwrite protection; the run lock; pos_weight
and augmentation details."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ecgcore.train as train
from ecgcore.checkpoints import load_checkpoint, read_checkpoint
from ecgcore.errors import RunError
from ecgcore.folds import get_fold
from ecgcore.models import ECGClassifier, create_model
from ecgcore.recipes import TrainConfig
from ecgcore.runs import RunLock, read_events, read_status
from ecgcore.train import RunRecorder, lead_statistics, positive_weights, train_fold


def run_with_recorder(ds, cfg: TrainConfig, path: Path, **kwargs) -> tuple[dict, list[dict]]:
    events: list[dict] = []
    recorder = RunRecorder(path, pid=12345)
    try:
        result = train_fold(ds, cfg, path, [recorder, events.append], **kwargs)
    finally:
        recorder.close()
    return result, events


def fold0(ds):
    return get_fold(ds.records, ds.labels.any(axis=1), "cv5", 0)


def bce(model, ds, idx, pos_weight) -> float:
    x = torch.from_numpy(np.asarray(ds.signals[idx], dtype=np.float32))
    y = torch.from_numpy(ds.labels[idx].astype(np.float32))
    model.eval()
    with torch.no_grad():
        return float(F.binary_cross_entropy_with_logits(model(x), y, pos_weight=pos_weight))


@pytest.fixture(scope="module")
def one_epoch(demo_ds, tmp_path_factory):
    """cnn1d, 1 epoch, fold 0, with the recorder; the BCE calls of training are recorded too."""
    path = tmp_path_factory.mktemp("train") / "cnn1d" / "fold0"
    calls = []
    real_bce = F.binary_cross_entropy_with_logits

    def spy(logits, target, pos_weight=None, **kw):
        calls.append((target.detach().clone(), None if pos_weight is None else pos_weight.detach().clone()))
        return real_bce(logits, target, pos_weight=pos_weight, **kw)

    train.F.binary_cross_entropy_with_logits = spy
    try:
        result, events = run_with_recorder(demo_ds, TrainConfig(model="cnn1d", epochs=1, seed=0), path)
    finally:
        train.F.binary_cross_entropy_with_logits = real_bce
    return {"path": path, "result": result, "events": events, "bce_calls": calls}


def test_one_epoch_lowers_the_loss(one_epoch, demo_ds):
    fold = fold0(demo_ds)
    pos_weight = torch.from_numpy(positive_weights(demo_ds.labels[fold.train]))
    torch.manual_seed(0)  # the trainer's initial weights: seed, then the model is created
    mean, std = lead_statistics(demo_ds.signals[fold.train])
    untrained = ECGClassifier(create_model("cnn1d"), torch.from_numpy(mean), torch.from_numpy(std))
    trained, _ = load_checkpoint(one_epoch["path"] / "last.pt")
    before_val, after_val = bce(untrained, demo_ds, fold.val, pos_weight), bce(trained, demo_ds, fold.val, pos_weight)
    before_train, after_train = (
        bce(untrained, demo_ds, fold.train, pos_weight),
        bce(trained, demo_ds, fold.train, pos_weight),
    )
    print(f"val loss {before_val:.4f} -> {after_val:.4f}; train loss {before_train:.4f} -> {after_train:.4f}")
    assert after_val < before_val - 0.01
    assert after_train < before_train - 0.01
    epoch_end = next(e for e in one_epoch["events"] if e["event"] == "epoch_end")
    assert epoch_end["val_loss"] == pytest.approx(after_val, rel=1e-4)


def test_checkpoints_written_and_loadable(one_epoch, demo_ds):
    path = one_epoch["path"]
    best, meta = load_checkpoint(path / "best.pt")
    last, last_meta = load_checkpoint(path / "last.pt")
    assert meta["epoch"] == last_meta["epoch"] == 0
    assert "train_state" in read_checkpoint(path / "last.pt")
    assert "train_state" not in read_checkpoint(path / "best.pt")
    x = torch.from_numpy(np.asarray(demo_ds.signals[:5]))
    with torch.no_grad():
        assert torch.equal(best(x), last(x))  # one epoch: the best is the last
    assert meta["val_metrics"]["macro_pr_auc"] == pytest.approx(one_epoch["result"]["best_val_macro_pr_auc"])
    # thresholds stored with the checkpoint are chosen on validation
    from ecgcore.inference import predict_proba
    from ecgcore.thresholds import choose_thresholds

    fold = fold0(demo_ds)
    expected = choose_thresholds(demo_ds.labels[fold.val], predict_proba(best, demo_ds.signals[fold.val], "cpu"))
    np.testing.assert_allclose(meta["thresholds"], expected, rtol=1e-5)


def test_events_in_order_and_status_done(one_epoch, demo_ds):
    events = read_events(one_epoch["path"])
    assert [e["event"] for e in events] == [e["event"] for e in one_epoch["events"]]
    kinds = [e["event"] for e in events]
    steps = len(fold0(demo_ds).train) // 16
    assert kinds == ["start"] + ["batch"] * steps + ["epoch_end", "checkpoint", "done"]
    start = events[0]
    assert start["epochs"] == 1 and start["steps_per_epoch"] == steps and start["resumed_from"] is None
    assert start["n_train"] == len(fold0(demo_ds).train) and start["n_val"] == len(fold0(demo_ds).val)
    assert [e["step"] for e in events if e["event"] == "batch"] == list(range(1, steps + 1))
    assert all(np.isfinite(e["loss"]) for e in events if e["event"] == "batch")
    assert events[-3]["best"] is True and events[-2]["path"].endswith("best.pt")
    assert events[-1]["best_epoch"] == 0
    times = [e["time"] for e in events]
    assert times == sorted(times)
    status = read_status(one_epoch["path"])
    assert status["state"] == "done" and status["epoch"] == 0 and status["pid"] == 12345
    assert status["epochs"] == 1 and status["config"]["model"] == "cnn1d"
    assert status["val_macro_pr_auc"] == pytest.approx(events[-3]["val_macro_pr_auc"])
    # every line of progress.jsonl is one JSON object
    lines = (one_epoch["path"] / "progress.jsonl").read_text().splitlines()
    assert len(lines) == len(events) and all(isinstance(json.loads(s), dict) for s in lines)


def test_pos_weight_from_training_part(one_epoch, demo_ds):
    fold = fold0(demo_ds)
    y = demo_ds.labels[fold.train]
    expected = (len(y) - y.sum(axis=0)) / y.sum(axis=0)
    np.testing.assert_allclose(positive_weights(y), expected, rtol=1e-6)
    whole = positive_weights(demo_ds.labels[demo_ds.labelled])
    assert not np.allclose(whole, expected)  # the choice of part matters on this data
    used = [pw for _, pw in one_epoch["bce_calls"]]
    assert used and all(pw is not None for pw in used)
    for pw in used:
        np.testing.assert_allclose(pw.numpy(), expected, rtol=1e-6)
    # the training targets are the training part's labels, one batch of 16 at a time
    train_rows = {tuple(r) for r in y.astype(int).tolist()}
    batches = [t for t, _ in one_epoch["bce_calls"] if len(t) == 16]
    assert len(batches) == len(fold.train) // 16
    assert all(tuple(r) in train_rows for t in batches for r in t.int().tolist())


def test_positive_weights_no_positives():
    w = positive_weights(np.array([[1, 0], [0, 0], [1, 0]]))
    np.testing.assert_allclose(w, [0.5, 3.0])  # no positives: negatives / 1, never a division by zero


def assert_same_weights(a_path: Path, b_path: Path) -> None:
    a, b = read_checkpoint(a_path), read_checkpoint(b_path)
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key]), key
    assert a["meta"]["epoch"] == b["meta"]["epoch"]
    assert a["train_state"]["best_epoch"] == b["train_state"]["best_epoch"]
    assert a["train_state"]["best_score"] == b["train_state"]["best_score"]


def test_resume_equals_uninterrupted(demo_ds, tmp_path):
    """A 2-epoch run equals 1 epoch + resume to 2 epochs (same seed): identical tensors."""
    cfg = TrainConfig(model="cnn1d", epochs=2, seed=3)
    train_fold(demo_ds, cfg, tmp_path / "straight")
    path = tmp_path / "interrupted"
    train_fold(demo_ds, TrainConfig(**{**cfg.to_dict(), "epochs": 1}), path)
    with pytest.raises(RunError):  # continuing needs resume (or overwrite)
        train_fold(demo_ds, cfg, path)
    _, events = run_with_recorder(demo_ds, cfg, path, resume=True)
    assert events[0]["event"] == "start" and events[0]["resumed_from"] == 1
    assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == [1]
    assert_same_weights(tmp_path / "straight" / "last.pt", path / "last.pt")
    # another seed gives other weights (so the equality above is not trivial)
    train_fold(demo_ds, TrainConfig(**{**cfg.to_dict(), "seed": 4}), tmp_path / "other")
    a = read_checkpoint(path / "last.pt")["state_dict"]
    c = read_checkpoint(tmp_path / "other" / "last.pt")["state_dict"]
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_resume_after_interruption_onecycle_augment(demo_ds, tmp_path):
    """Interrupted at the start of epoch 1 and resumed: identical to the uninterrupted run, with the
    onecycle schedule, augmentation and lead dropout (scheduler state and per-epoch RNG restored)."""
    cfg = TrainConfig(
        model="cnn2d", epochs=2, seed=1, schedule="onecycle", augment=True, aug_lead_dropout=0.1, batch_size=32
    )
    train_fold(demo_ds, cfg, tmp_path / "straight")
    path = tmp_path / "interrupted"
    epoch = {"now": 0}
    result = train_fold(
        demo_ds,
        cfg,
        path,
        [lambda e: epoch.update(now=e["epoch"] + 1) if e["event"] == "epoch_end" else None],
        should_stop=lambda: epoch["now"] == 1,
    )
    assert result["event"] == "cancelled"
    train_fold(demo_ds, cfg, path, resume=True)
    assert_same_weights(tmp_path / "straight" / "last.pt", path / "last.pt")
    # a onecycle run cannot be stretched to more epochs: a clear RunError, not a scheduler crash
    with pytest.raises(RunError, match="onecycle"):
        train_fold(demo_ds, TrainConfig(**{**cfg.to_dict(), "epochs": 3}), path, resume=True)


def test_resume_without_last_checkpoint(demo_ds, tmp_path):
    with pytest.raises(RunError, match="no last.pt"):
        train_fold(demo_ds, TrainConfig(epochs=1), tmp_path / "new", resume=True)


def test_cancel_stops_within_one_batch_and_keeps_saved_files(demo_ds, tmp_path):
    path = tmp_path / "run"
    stop = {"now": False, "step": None}
    polls_after_stop = []

    def watch(e):
        if e["event"] == "batch" and e["epoch"] == 1 and e["step"] >= 9 and not stop["now"]:
            stop["now"], stop["step"] = True, e["step"]

    def should_stop():
        if stop["now"]:
            polls_after_stop.append(1)
        return stop["now"]

    cfg = TrainConfig(model="cnn1d", epochs=3, batch_size=32)  # 6 steps per epoch
    recorder = RunRecorder(path, pid=1)
    events: list[dict] = []
    try:
        result = train_fold(demo_ds, cfg, path, [recorder, events.append, watch], should_stop=should_stop)
    finally:
        recorder.close()
    assert result["event"] == "cancelled" and result["epoch"] == 1
    after = events[[e.get("step") for e in events].index(stop["step"]) + 1 :]
    assert [e["event"] for e in after] == ["cancelled"]  # not one more batch
    assert len(polls_after_stop) == 1
    assert result["step"] == stop["step"]
    # what was saved after epoch 0 is kept and loadable
    _, meta = load_checkpoint(path / "last.pt")
    assert meta["epoch"] == 0 and (path / "best.pt").exists()
    assert read_status(path)["state"] == "cancelled"
    assert read_events(path)[-1]["event"] == "cancelled"
    # and it can be resumed to the end
    resumed = train_fold(demo_ds, cfg, path, resume=True)
    assert resumed["event"] == "done" and load_checkpoint(path / "last.pt")[1]["epoch"] == 2


def test_finished_run_is_not_replaced_without_overwrite(demo_ds, tmp_path):
    path = tmp_path / "run"
    cfg = TrainConfig(model="cnn1d", epochs=1, batch_size=64)
    run_with_recorder(demo_ds, cfg, path)
    files = lambda: {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in path.iterdir() if p.name != "lock"}  # noqa: E731
    before = files()
    with pytest.raises(RunError, match="overwrite"):
        run_with_recorder(demo_ds, cfg, path)
    assert files() == before
    assert read_status(path)["state"] == "done"
    # with overwrite: a fresh run (old events gone, new checkpoint)
    old = read_checkpoint(path / "last.pt")
    (path / "results.json").write_text("{}")
    run_with_recorder(demo_ds, TrainConfig(model="cnn1d", epochs=1, batch_size=64, seed=9), path, overwrite=True)
    assert [e["event"] for e in read_events(path)].count("start") == 1
    assert not (path / "results.json").exists()  # results of the replaced run are gone
    new = read_checkpoint(path / "last.pt")
    assert new["meta"]["config"]["seed"] == 9
    assert any(not torch.equal(old["state_dict"][k], new["state_dict"][k]) for k in new["state_dict"])


def test_lock_refuses_a_second_concurrent_run(demo_ds, tmp_path):
    path = tmp_path / "run"
    lock = RunLock(path).acquire()  # another trainer holds the run
    try:
        with pytest.raises(RunError, match="already being trained"):
            train_fold(demo_ds, TrainConfig(epochs=1), path)
        assert not (path / "last.pt").exists() and not (path / "status.json").exists()
        from ecgcore.runs import clear_run, is_locked

        assert is_locked(path)
        with pytest.raises(RunError, match="training right now"):
            clear_run(path)
    finally:
        lock.release()
    train_fold(demo_ds, TrainConfig(epochs=1, batch_size=64), path)  # free again
    assert (path / "last.pt").exists()


def test_lock_is_held_during_training(demo_ds, tmp_path):
    from ecgcore.runs import is_locked

    path = tmp_path / "run"
    seen = []
    train_fold(demo_ds, TrainConfig(epochs=1, batch_size=64), path, [lambda e: seen.append(is_locked(path))])
    assert seen and all(seen)
    assert not is_locked(path)


def test_augmentation_keeps_labels(demo_ds, tmp_path, monkeypatch):
    """With augmentation the batches hold the same records' labels in the same order; only x changes."""
    targets = {}
    real_bce = F.binary_cross_entropy_with_logits
    for augment in (False, True):
        calls: list[torch.Tensor] = []

        def spy(lg, t, pos_weight=None, calls=calls, **k):
            calls.append(t.clone())
            return real_bce(lg, t, pos_weight=pos_weight, **k)

        monkeypatch.setattr(train.F, "binary_cross_entropy_with_logits", spy)
        train_fold(demo_ds, TrainConfig(epochs=1, batch_size=64, augment=augment), tmp_path / str(augment))
        targets[augment] = calls
    assert len(targets[True]) == len(targets[False])
    for a, b in zip(targets[True], targets[False]):
        assert torch.equal(a, b)
    # and the weights differ: augmentation did change the inputs
    a = read_checkpoint(tmp_path / "True" / "last.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "False" / "last.pt")["state_dict"]
    assert any(not torch.equal(a[k], b[k]) for k in a)


def test_unknown_schedule_and_device(demo_ds, tmp_path):
    with pytest.raises(RunError, match="schedule"):
        train_fold(demo_ds, TrainConfig(epochs=1, schedule="cosine"), tmp_path / "a")
    if not torch.cuda.is_available():
        with pytest.raises(RunError, match="CUDA"):
            train_fold(demo_ds, TrainConfig(epochs=1, device="cuda"), tmp_path / "b")


def test_patience_stops_early(demo_ds, tmp_path):
    events = []
    cfg = TrainConfig(epochs=6, batch_size=64, patience=1, lr=1e-7)  # a tiny lr: no improvement after epoch 0
    result = train_fold(demo_ds, cfg, tmp_path / "run", [events.append])
    ends = [e for e in events if e["event"] == "epoch_end"]
    assert len(ends) < 6
    assert result["event"] == "done"
    stale = 0
    for e in ends:
        stale = 0 if e["best"] else stale + 1
    assert stale == 1


def test_lead_statistics_match_numpy(demo_ds):
    x = np.asarray(demo_ds.signals[:40])
    mean, std = lead_statistics(x, batch=7)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(std, x.std(axis=(0, 2)), rtol=1e-4, atol=1e-6)
