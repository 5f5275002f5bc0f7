"""ecgcore.checkpoints: save/load round trip, weights-only loading (a pickle that would run code is
refused and does not run), corrupt files, atomic saves, and the ``expect`` checks."""

from __future__ import annotations

import os

import pytest
import torch

import ecgcore.checkpoints as checkpoints
from ecgcore.checkpoints import FORMAT, load_checkpoint, read_checkpoint, save_checkpoint
from ecgcore.errors import CheckpointError
from ecgcore.models import ECGClassifier, create_model

NAMES = ["NORM", "MI", "STTC", "CD", "HYP"]


def make_model(name: str = "cnn1d", seed: int = 0, **config) -> ECGClassifier:
    torch.manual_seed(seed)
    net = create_model(name, n_classes=len(NAMES), **config)
    model = ECGClassifier(net, torch.randn(12) * 0.1, torch.rand(12) + 0.5)
    # non-trivial BatchNorm statistics, so that a missing buffer would show
    model.train()
    with torch.no_grad():
        model(torch.randn(8, 12, 1000))
    return model.eval()


def meta_for(name: str = "cnn1d", **extra) -> dict:
    return {
        "model": name,
        "model_config": {},
        "label_set": "superclass",
        "label_names": list(NAMES),
        "sampling_rate": 100,
        "epoch": 3,
    } | extra


@pytest.mark.parametrize(
    "name, config", [("cnn1d", {}), ("cnn2d", {}), ("cnn2d", {"image": "spectrogram"}), ("resnet1d_wang", {})]
)
def test_round_trip_identical_predictions(tmp_path, name, config):
    model = make_model(name, **config)
    path = tmp_path / "best.pt"
    save_checkpoint(path, model, meta_for(name, model_config=config))
    loaded, meta = load_checkpoint(path)
    assert not loaded.training
    assert meta["epoch"] == 3 and meta["label_names"] == NAMES
    x = torch.randn(4, 12, 1000)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key]), key
    if config:
        assert loaded.net.image == "spectrogram"


def test_round_trip_with_train_state(tmp_path):
    model = make_model()
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 12, 1000)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "last.pt", model, meta_for(), {"optimizer": opt.state_dict(), "epoch": 0})
    data = read_checkpoint(tmp_path / "last.pt")
    assert data["format"] == FORMAT and data["train_state"]["epoch"] == 0
    opt2 = torch.optim.Adam(make_model(seed=1).parameters())
    opt2.load_state_dict(data["train_state"]["optimizer"])


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "best.pt"
    state = make_model().state_dict()
    torch.save({"format": FORMAT, "state_dict": state, "meta": meta_for(), "x": Evil(marker)}, path)
    assert not marker.exists()
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(path)
    assert not marker.exists(), "loading the checkpoint ran code"
    # the same through the old (non-zip) format and a bare pickle
    torch.save({"x": Evil(marker)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    import pickle

    path.write_bytes(pickle.dumps({"x": Evil(marker)}))
    with pytest.raises(CheckpointError):
        read_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("cut", [0, 10, 0.5, -100])
def test_truncated_file(tmp_path, cut):
    path = tmp_path / "best.pt"
    save_checkpoint(path, make_model(), meta_for())
    data = path.read_bytes()
    n = int(len(data) * cut) if isinstance(cut, float) else (cut if cut >= 0 else len(data) + cut)
    path.write_bytes(data[:n])
    with pytest.raises(CheckpointError, match="best.pt"):
        load_checkpoint(path)


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    path = tmp_path / "plain.pt"
    torch.save(make_model().state_dict(), path)  # a bare state_dict: not an ecgcore checkpoint
    with pytest.raises(CheckpointError, match="not an ecgcore checkpoint"):
        load_checkpoint(path)
    path.write_text("hello, I am text")
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_weights_not_fitting_metadata(tmp_path):
    path = tmp_path / "best.pt"
    save_checkpoint(path, make_model("cnn1d"), meta_for("cnn2d"))  # says cnn2d, holds cnn1d weights
    with pytest.raises(CheckpointError, match="do not fit"):
        load_checkpoint(path)
    save_checkpoint(path, make_model("cnn1d"), meta_for("cnn9d"))
    with pytest.raises(CheckpointError, match="known model"):
        load_checkpoint(path)


def test_expect_mismatches(tmp_path):
    path = tmp_path / "best.pt"
    save_checkpoint(path, make_model("cnn1d"), meta_for("cnn1d"))
    ok = {"model": "cnn1d", "label_names": tuple(NAMES), "sampling_rate": 100, "label_set": "superclass"}
    load_checkpoint(path, expect=ok)  # a tuple of names matches the stored list
    for key, value in [
        ("model", "cnn2d"),
        ("label_names", ["NORM", "MI", "STTC", "CD"]),
        ("label_names", ["MI", "NORM", "STTC", "CD", "HYP"]),  # same names, other column order
        ("sampling_rate", 500),
        ("label_set", "subclass"),
    ]:
        with pytest.raises(CheckpointError, match=key):
            load_checkpoint(path, expect=ok | {key: value})


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "best.pt"
    model = make_model()
    save_checkpoint(path, model, meta_for(epoch=1))

    def crash(obj, f, *a, **k):
        f.write(b"partial")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of the save

    monkeypatch.setattr(checkpoints.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, model, meta_for(epoch=2))
    monkeypatch.undo()
    assert load_checkpoint(path)[1]["epoch"] == 1
    assert sorted(os.listdir(tmp_path)) == ["best.pt"]


def test_trained_checkpoint_metadata(trained_runs, demo_ds):
    for model_name, path in trained_runs.items():
        model, meta = load_checkpoint(
            path / "best.pt", expect={"model": model_name, "label_names": demo_ds.label_names}
        )
        assert meta["label_set"] == "superclass" and meta["sampling_rate"] == 100
        assert meta["dataset"]["name"] == "demo" and meta["dataset"]["fingerprint"] == demo_ds.fingerprint
        assert meta["plan"] == "cv5" and meta["fold"] == 0 and meta["epoch"] == 0
        assert len(meta["thresholds"]) == 5 and meta["config"]["model"] == model_name
        assert {"torch", "numpy", "sklearn", "python"} <= set(meta["versions"])
        # the stored normalisation is the training part's per-lead statistics
        from ecgcore.folds import get_fold
        from ecgcore.train import lead_statistics

        fold = get_fold(demo_ds.records, demo_ds.labels.any(axis=1), "cv5", 0)
        mean, std = lead_statistics(demo_ds.signals[fold.train])
        torch.testing.assert_close(model.mean.flatten(), torch.from_numpy(mean))
        torch.testing.assert_close(model.std.flatten(), torch.from_numpy(std))
