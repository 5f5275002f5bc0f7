"""Crops and sliding windows (ecgcore.windows), and the training recipe options that use them:
random crops, window-aggregated validation/prediction/saliency, and the weights' moving average."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgcore.checkpoints import load_checkpoint, read_checkpoint
from ecgcore.errors import RunError
from ecgcore.inference import predict_logits, predict_proba
from ecgcore.recipes import TrainConfig, check_config
from ecgcore.saliency import saliency_map
from ecgcore.train import train_fold
from ecgcore.windows import (
    WindowSpec,
    n_windows,
    random_crops,
    window_starts,
    windowed_logits,
    windowed_map,
)


class LastSampleModel(torch.nn.Module):
    """A model whose logit for class c is (c + 1) × the mean of lead 0 over its input: windows differ."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = x[:, 0, :].mean(dim=1, keepdim=True)
        return torch.cat([m, 2 * m], dim=1)


def test_window_starts_cover_every_sample():
    assert window_starts(1000, 250, 125) == [0, 125, 250, 375, 500, 625, 750]
    assert window_starts(1000, 300, 300) == [0, 300, 600, 700]  # the last window ends at the end
    assert window_starts(200, 250, 125) == [0]  # shorter than a window: the whole record once
    for length, w, s in ((1000, 250, 100), (5000, 1250, 625), (999, 250, 125)):
        covered = np.zeros(length, bool)
        for start in window_starts(length, w, s):
            covered[start : start + w] = True
        assert covered.all()


def test_spec_from_recipe():
    assert WindowSpec.from_config({}, 100) is None  # every older checkpoint: whole records
    assert WindowSpec.from_config({"window_s": 2.5}, 100) == WindowSpec(250, 125, "max")
    assert WindowSpec.from_config({"window_s": 2.5, "stride_s": 0.5, "window_agg": "mean"}, 500) == WindowSpec(
        1250, 250, "mean"
    )
    with pytest.raises(ValueError, match="aggregation"):
        WindowSpec(10, 5, "median")
    assert n_windows(1000, None) == 1 and n_windows(1000, WindowSpec(250, 125)) == 7


def test_random_crops_are_seeded_windows_of_the_record():
    x = torch.arange(2 * 12 * 100, dtype=torch.float32).reshape(2, 12, 100)
    a = random_crops(x, 25, torch.Generator().manual_seed(0))
    b = random_crops(x, 25, torch.Generator().manual_seed(0))
    assert a.shape == (2, 12, 25) and torch.equal(a, b)
    for i in range(2):
        start = int(a[i, 0, 0] - x[i, 0, 0])
        assert torch.equal(a[i], x[i, :, start : start + 25])  # contiguous, all leads at the same offset
    assert random_crops(x, 200, torch.Generator()).shape == x.shape  # longer than the record: unchanged


def test_windowed_logits_max_and_mean():
    x = torch.zeros(1, 12, 100)
    x[0, 0, 75:] = 4.0  # only the last quarter is non-zero
    model = LastSampleModel()
    whole = windowed_logits(model, x, None)
    assert torch.allclose(whole, torch.tensor([[1.0, 2.0]]))
    spec = WindowSpec(25, 25, "max")
    assert torch.allclose(windowed_logits(model, x, spec), torch.tensor([[4.0, 8.0]]))
    mean = windowed_logits(model, x, WindowSpec(25, 25, "mean"))
    p = torch.sigmoid(torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [4.0, 8.0]])).mean(0)
    assert torch.allclose(torch.sigmoid(mean[0]), p, atol=1e-6)
    model.windows = spec  # what load_checkpoint sets from the recipe
    assert torch.allclose(predict_logits(model, x), torch.tensor([[4.0, 8.0]]))


def test_windowed_map_averages_overlaps():
    signal = np.zeros((12, 100), np.float32)
    calls = []

    def explain(seg: np.ndarray) -> np.ndarray:
        calls.append(seg.shape[1])
        return np.full(seg.shape, float(len(calls)), np.float32)  # window k gives the value k

    out = windowed_map(explain, signal, WindowSpec(50, 25))
    assert calls == [50, 50, 50] and out.shape == (12, 100)
    assert np.allclose(out[:, :25], 1) and np.allclose(out[:, 25:50], 1.5)  # windows 1 and 2 overlap there
    assert np.allclose(out[:, 50:75], 2.5) and np.allclose(out[:, 75:], 3)


@pytest.mark.parametrize(
    "fields",
    [
        {"crop_s": 0},
        {"crop_s": -1.0},
        {"crop_s": 0.001},  # 0 samples at 100 Hz
        {"crop_s": 20.0},  # longer than the 10 s record: no crop at all, but a recipe that says one
        {"window_s": float("nan")},
        {"window_s": 0.001},
        {"window_s": 11.0},
        {"stride_s": 1.0},  # without --window_s
        {"window_s": 2.0, "stride_s": 5.0},  # gaps between windows: samples never seen
        {"window_agg": "median"},
        {"ema_decay": 1.0},
        {"ema_decay": 0},
    ],
)
def test_bad_technique_options_are_refused(fields):
    with pytest.raises(RunError, match=f"--{list(fields)[-1]}"):
        check_config(TrainConfig(**fields))


def test_crop_window_ema_run_trains_loads_and_explains(demo_ds, tmp_path):
    """A run with crops, windows and EMA: best.pt carries the recipe, so loading it gives a windowed
    model; predictions aggregate over windows, and saliency is still one (12, T) map."""
    cfg = TrainConfig(model="cnn1d", epochs=2, crop_s=2.5, window_s=2.5, stride_s=1.25, ema_decay=0.9)
    result = train_fold(demo_ds, cfg, tmp_path / "run")
    assert result["event"] == "done"
    model, meta = load_checkpoint(tmp_path / "run" / "best.pt")
    assert model.windows == WindowSpec(250, 125, "max") and meta["config"]["crop_s"] == 2.5
    x = np.asarray(demo_ds.signals[:4], dtype=np.float32)
    per_window = torch.stack(
        [windowed_logits(model, torch.from_numpy(x[..., s : s + 250]), None) for s in window_starts(1000, 250, 125)]
    )
    expected = torch.sigmoid(per_window.max(0).values).numpy()
    assert np.allclose(predict_proba(model, x, "cpu"), expected, atol=1e-6)
    sal = saliency_map(model, x[0], 1, "integrated_gradients", n_steps=8)
    assert sal.map.shape == (12, 1000) and np.isfinite(sal.map).all()
    assert np.abs(sal.map[:, -100:]).sum() > 0  # the record's end is explained too
    state = read_checkpoint(tmp_path / "run" / "last.pt")["train_state"]
    assert state["ema"] is not None  # the average travels in last.pt, for an exact resume


def test_ema_resume_equals_uninterrupted(demo_ds, tmp_path):
    cfg = TrainConfig(model="cnn1d", epochs=2, seed=2, crop_s=5.0, ema_decay=0.95)
    train_fold(demo_ds, cfg, tmp_path / "straight")
    train_fold(demo_ds, TrainConfig(**{**cfg.to_dict(), "epochs": 1}), tmp_path / "resumed")
    train_fold(demo_ds, cfg, tmp_path / "resumed", resume=True)
    for name in ("best.pt", "last.pt"):
        a = read_checkpoint(tmp_path / "straight" / name)["state_dict"]
        b = read_checkpoint(tmp_path / "resumed" / name)["state_dict"]
        assert all(torch.equal(a[k], b[k]) for k in a), name
    # the EMA weights (best.pt) differ from the raw weights (last.pt) of the same epoch
    best = read_checkpoint(tmp_path / "straight" / "best.pt")
    last = read_checkpoint(tmp_path / "straight" / "last.pt")
    if best["meta"]["epoch"] == last["meta"]["epoch"]:
        assert any(not torch.equal(best["state_dict"][k], last["state_dict"][k]) for k in best["state_dict"])
