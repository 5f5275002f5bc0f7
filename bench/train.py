"""Training-loop throughput vs the pure compute throughput of the same model.

* real loop: ``train_fold`` with the default recipe (cached arrays in memory, batches by indexing,
  augmentation, events, cancel checks); samples/s from each epoch's ``train_seconds`` (validation
  excluded), first epoch dropped as warm-up;
* pure: the same ECGClassifier, batch size and optimiser on prebuilt in-memory batches — transform +
  forward + backward + optimiser step and nothing else.

    python bench/train.py --data_root ../shared/ptbxl               # cnn1d and cnn2d on this machine
    python bench/train.py --device cuda --models cnn1d cnn2d resnet1d_wang

Prints one table; the goal is real/pure ≥ 0.9.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ecgcore.folds import get_fold  # noqa: E402
from ecgcore.inference import pick_device  # noqa: E402
from ecgcore.models import ECGClassifier, create_model  # noqa: E402
from ecgcore.recipes import TrainConfig, default_config  # noqa: E402
from ecgcore.sources import load_ptbxl  # noqa: E402
from ecgcore.train import train_fold  # noqa: E402


def real_loop(ds, model: str, epochs: int, device: str, batch_size: int) -> tuple[float, int]:
    seconds, steps = [], 0

    def on_event(e: dict) -> None:
        nonlocal steps
        if e["event"] == "start":
            steps = e["steps_per_epoch"]
        elif e["event"] == "epoch_end":
            seconds.append(e["train_seconds"])

    with tempfile.TemporaryDirectory() as tmp:
        cfg = default_config(
            model, epochs=epochs, device=device, batch_size=batch_size
        )  # its recipe: augmentation, one-cycle
        train_fold(ds, cfg, Path(tmp) / "run", callbacks=[on_event])
    per_epoch = statistics.median(seconds[1:] if len(seconds) > 1 else seconds)
    return steps * batch_size / per_epoch, steps


def pure_loop(ds, model: str, steps: int, epochs: int, device: str, batch_size: int) -> float:
    dev = pick_device(device)
    fold = get_fold(ds.records, ds.labels.any(axis=1), "cv5", 0)
    x = torch.from_numpy(ds.signals[fold.train][: steps * batch_size].copy()).to(dev)
    y = torch.from_numpy(ds.labels[fold.train][: steps * batch_size].astype("float32")).to(dev)
    batches = [
        (x[i * batch_size : (i + 1) * batch_size], y[i * batch_size : (i + 1) * batch_size]) for i in range(steps)
    ]
    net = ECGClassifier(create_model(model, n_classes=y.shape[1]), x.mean((0, 2)), x.std((0, 2))).to(dev).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    times = []
    for _ in range(epochs):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for xb, yb in batches:
            loss = F.binary_cross_entropy_with_logits(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return steps * batch_size / statistics.median(times[1:] if len(times) > 1 else times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_root", default=None)
    p.add_argument("--models", nargs="+", default=["cnn1d", "cnn2d"])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--batch_size", type=int, default=TrainConfig().batch_size)
    args = p.parse_args()
    ds = load_ptbxl(args.data_root)
    dev = pick_device(args.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(
        f"# {ds.description}; device {name}; batch {args.batch_size}; each model's default recipe (ecgcore.model_specs)"
    )
    print(f"{'model':14s} {'real loop samples/s':>20s} {'pure samples/s':>15s} {'real/pure':>10s}")
    for model in args.models:
        real, steps = real_loop(ds, model, args.epochs, args.device, args.batch_size)
        pure = pure_loop(ds, model, steps, args.epochs, args.device, args.batch_size)
        print(f"{model:14s} {real:20.0f} {pure:15.0f} {real / pure:10.2f}", flush=True)


if __name__ == "__main__":
    main()
