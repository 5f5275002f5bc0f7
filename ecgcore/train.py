"""The training loop: weighted BCE, Adam, per-epoch validation, best/last checkpoints, events,
cancellation and exact resume.

``train_fold(dataset, config, run_dir)`` trains one fold. Everything it does is reported as event dicts
to ``callbacks`` (the CLI draws a progress bar, :class:`RunRecorder` appends them to
``progress.jsonl`` and keeps ``status.json`` current so another process — the app — can follow live):

    {"event": "start", "epochs", "steps_per_epoch", "n_train", "n_val", "config", "resumed_from"}
    {"event": "batch", "epoch", "step", "loss", "lr"}              every ``log_every`` steps
    {"event": "epoch_end", "epoch", "step", "train_loss", "val_loss", "val_macro_pr_auc", "val_macro_roc_auc",
     "seconds", "train_seconds" (without validation), "best"}
    {"event": "checkpoint", "path", "epoch"}
    {"event": "done" | "cancelled" | "failed", …}

Reproducibility: each epoch seeds its own generator (shuffling, augmentation) and torch's global RNG
(dropout) from (seed, epoch), and last.pt holds the optimiser and scheduler state, so a run resumed
after epoch k gives the same weights as one that was never interrupted.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ecgcore.checkpoints import (
    CheckpointError,
    library_versions,
    read_checkpoint,
    save_checkpoint,
)
from ecgcore.data import ECGDataset
from ecgcore.fileio import write_json
from ecgcore.folds import Fold, get_fold
from ecgcore.inference import pick_device, predict_logits
from ecgcore.metrics import choose_thresholds, ranking_metrics
from ecgcore.models import ECGClassifier, create_model
from ecgcore.runs import RunError, RunLock, read_status, write_status
from ecgcore.transforms import augment_batch

Callback = Callable[[dict], None]
# files of a previous run removed by --overwrite (train.log is kept: a launcher may have opened it)
RUN_FILES = ("best.pt", "last.pt", "progress.jsonl", "status.json", "results.json", "confusion.png", "cancel")
LAUNCH_FIELDS = ("state", "argv", "queued", "launched", "pid")  # status.json fields written by ecgcore.jobs


@dataclass
class TrainConfig:
    """Everything that defines a training run. The field defaults are the *plain* recipe (Adam 1e-3,
    constant rate, no augmentation, 10 epochs, batch 16 — the original project's); the tuned per-model
    recipes that ``train`` uses by default are in :data:`RECIPES` (see :func:`default_config`)."""

    model: str = "cnn1d"
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: str = "constant"  # "constant" | "onecycle"
    augment: bool = False
    aug_shift: float = 0.1
    aug_scale: float = 0.1
    aug_noise: float = 0.05
    aug_lead_dropout: float = 0.0
    seed: int = 0
    plan: str = "cv5"
    fold: int = 0
    device: str = "auto"
    patience: int | None = None  # stop after this many epochs without a better validation PR-AUC
    model_config: dict = field(default_factory=dict)  # e.g. {"image": "spectrogram"} for cnn2d
    log_every: int | None = None  # batch events every n steps (default: ~50 per epoch)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# The default recipe of each model — what `train --model M --fold k` does with no other flags.
# Chosen by 5-fold CV on the 1,803-record PTB-XL part (bench/sweep.py; RESULTS.md): one-cycle
# learning rate, label-preserving augmentation and 40 epochs beat the plain recipe clearly
# (cnn1d 0.692 → 0.744, cnn2d 0.601 → 0.684 macro PR-AUC), so the epochs default moved from 10 to 40.
RECIPES: dict[str, dict] = {
    "cnn1d": {"epochs": 40, "batch_size": 16, "lr": 3e-3, "schedule": "onecycle", "augment": True},
    "cnn2d": {"epochs": 40, "batch_size": 16, "lr": 1e-2, "schedule": "onecycle", "augment": True},
    "resnet1d_wang": {"epochs": 20, "batch_size": 32, "lr": 3e-3, "schedule": "onecycle", "augment": True},
}


def default_config(model: str, **overrides) -> TrainConfig:
    """The model's default recipe (:data:`RECIPES`) with ``overrides`` (None values ignored)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return TrainConfig(**{"model": model, **RECIPES.get(model, {}), **given})


def lead_statistics(signals: np.ndarray, batch: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead mean and std (12,) of (N, 12, T) signals, in float64 chunks (memory-mapped friendly)."""
    total = np.zeros(signals.shape[1])
    total_sq = np.zeros(signals.shape[1])
    count = 0
    for i in range(0, len(signals), batch):
        chunk = np.asarray(signals[i : i + batch], dtype=np.float64)
        total += chunk.sum(axis=(0, 2))
        total_sq += (chunk**2).sum(axis=(0, 2))
        count += chunk.shape[0] * chunk.shape[2]
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 1e-12))
    return mean.astype(np.float32), np.maximum(std, 1e-3).astype(np.float32)


def positive_weights(labels: np.ndarray) -> np.ndarray:
    """BCE pos_weight per class = negatives / positives of the training part (C,)."""
    pos = labels.sum(axis=0).astype(np.float64)
    return ((len(labels) - pos) / np.maximum(pos, 1)).astype(np.float32)


def _meta(ds: ECGDataset, cfg: TrainConfig, fold: Fold, epoch: int, metrics: dict, thresholds: list[float]) -> dict:
    return {
        "model": cfg.model,
        "model_config": cfg.model_config,
        "label_set": ds.label_set,
        "label_names": list(ds.label_names),
        "sampling_rate": ds.sampling_rate,
        "plan": cfg.plan,
        "fold": cfg.fold,
        "strat_folds": [list(p) for p in fold.strat_folds],
        "dataset": {
            "name": ds.name,
            "fingerprint": ds.fingerprint,
            "is_demo": ds.is_demo,
            "root": str(ds.root),
            "n_records": len(ds.records),
        },
        "epoch": epoch,
        "val_metrics": metrics,
        "thresholds": thresholds,
        "config": cfg.to_dict(),
        "versions": library_versions(),
    }


def train_fold(
    ds: ECGDataset,
    cfg: TrainConfig,
    run_dir: str | Path,
    callbacks: list[Callback] | tuple = (),
    resume: bool = False,
    overwrite: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train ``cfg.model`` on fold ``cfg.fold`` of ``cfg.plan`` into ``run_dir``.

    Args:
        ds: the dataset (signals (N, 12, T) mV, labels (N, C)).
        run_dir: the run directory (see :mod:`ecgcore.runs`).
        callbacks: functions receiving each event dict.
        resume: continue from ``last.pt`` at the next epoch.
        overwrite: replace a finished run.
        should_stop: polled between batches; True cancels the run after the current batch.

    Returns:
        The final event ("done" or "cancelled") as a dict.
    """
    run_dir = Path(run_dir)
    with RunLock(run_dir):
        return _train_locked(ds, cfg, run_dir, list(callbacks), resume, overwrite, should_stop or (lambda: False))


def _prepare_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> dict | None:
    """Check what is in the run directory; returns the train state of last.pt when resuming."""
    status = read_status(run_dir, live=False) or {}
    has_last = (run_dir / "last.pt").exists()
    if resume:
        if not has_last:
            raise RunError(f"{run_dir} has no last.pt to resume from; start it without --resume.")
        data = read_checkpoint(run_dir / "last.pt")
        if "train_state" not in data:
            raise CheckpointError(f"{run_dir / 'last.pt'} holds no training state; start again with --overwrite.")
        return data
    if status.get("state") == "done" or has_last:
        if not overwrite:
            raise RunError(
                f"{run_dir} already holds a {status.get('state', 'previous')} run; "
                "use --overwrite to replace it or --resume to continue it."
            )
    # a run launched by ecgcore.jobs keeps what the launcher wrote (argv for resume, queue times, pid)
    launch = {k: status[k] for k in LAUNCH_FIELDS if k in status} if status.get("state") == "starting" else {}
    for name in RUN_FILES:
        if not (launch and name == "status.json"):
            (run_dir / name).unlink(missing_ok=True)
    if launch:  # replaced atomically: a reader never sees the run without a status
        write_json(run_dir / "status.json", launch | {"updated": time.time()})
    return None


def _check_resumable_on(meta: dict, ds: ECGDataset, cfg: TrainConfig, path: Path) -> None:
    """CheckpointError unless last.pt was trained as asked now: same model, label names, sampling rate
    and dataset (a run folder does not name the sampling rate, and a copied file can be anything)."""
    trained = meta.get("dataset") or {}
    for what, then, now in (
        ("model", meta.get("model"), cfg.model),
        ("labels", list(meta.get("label_names") or []), list(ds.label_names)),
        ("sampling rate", meta.get("sampling_rate"), ds.sampling_rate),
        ("dataset", trained.get("fingerprint"), ds.fingerprint),
    ):
        if then != now:
            shown = (trained.get("name"), ds.name) if what == "dataset" else (then, now)
            raise CheckpointError(
                f"{path} was trained with {what} {shown[0]!r}, not {shown[1]!r}, so it cannot be resumed here; "
                "choose the matching settings, or start the run again with --overwrite."
            )


def _train_locked(ds, cfg, run_dir, callbacks, resume, overwrite, should_stop) -> dict:
    previous = _prepare_run_dir(run_dir, resume, overwrite)
    if previous is not None:
        _check_resumable_on(previous["meta"], ds, cfg, run_dir / "last.pt")
        saved = previous["meta"]["config"]
        if saved.get("schedule") == "onecycle" and cfg.epochs != saved["epochs"]:
            raise RunError(
                f"{run_dir} uses the onecycle schedule, which is fixed to its {saved['epochs']} epochs; "
                f"resume it with --epochs {saved['epochs']}, or start again with --overwrite."
            )
        cfg = TrainConfig(**{**saved, "epochs": cfg.epochs, "device": cfg.device})
    device = pick_device(cfg.device)

    def emit(event: dict) -> None:
        for cb in callbacks:
            cb(event)

    fold = get_fold(ds.records, ds.labels.any(axis=1), cfg.plan, cfg.fold)
    if len(fold.train) == 0 or len(fold.val) == 0:
        raise RunError(f"fold {cfg.fold} of plan {cfg.plan} has an empty training or validation part on {ds.name}.")
    x_train = torch.from_numpy(np.asarray(ds.signals[fold.train], dtype=np.float32)).to(device)
    y_train = torch.from_numpy(ds.labels[fold.train].astype(np.float32)).to(device)
    x_val = torch.from_numpy(np.asarray(ds.signals[fold.val], dtype=np.float32)).to(device)
    y_val_np = ds.labels[fold.val].astype(np.float32)
    y_val = torch.from_numpy(y_val_np).to(device)

    torch.manual_seed(cfg.seed)
    mean, std = lead_statistics(x_train.cpu().numpy())
    net = create_model(cfg.model, n_classes=len(ds.label_names), **cfg.model_config)
    model = ECGClassifier(net, torch.from_numpy(mean), torch.from_numpy(std)).to(device)
    pos_weight = torch.from_numpy(positive_weights(ds.labels[fold.train])).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(fold.train)
    steps_per_epoch = max(1, n // cfg.batch_size)  # drop_last: a batch of 1 breaks BatchNorm
    scheduler = None
    if cfg.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch
        )
    elif cfg.schedule != "constant":
        raise RunError(f"unknown schedule {cfg.schedule!r}; use constant or onecycle.")

    start_epoch, best_score, best_epoch, stale = 0, -math.inf, -1, 0
    if previous is not None:
        model.load_state_dict(previous["state_dict"])
        state = previous["train_state"]
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler"):
            scheduler.load_state_dict(state["scheduler"])
        start_epoch = state["epoch"] + 1
        best_score, best_epoch, stale = state["best_score"], state["best_epoch"], state.get("stale", 0)

    log_every = cfg.log_every or max(1, steps_per_epoch // 50)
    emit(
        {
            "event": "start",
            "epochs": cfg.epochs,
            "steps_per_epoch": steps_per_epoch,
            "n_train": n,
            "n_val": len(fold.val),
            "n_test": len(fold.test),
            "device": str(device),
            "dataset": ds.description,
            "config": cfg.to_dict(),
            "resumed_from": start_epoch if previous is not None else None,
        }
    )
    step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        generator = torch.Generator(device=device).manual_seed(cfg.seed * 100_003 + epoch)
        torch.manual_seed(cfg.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=generator, device=device)
        losses = torch.zeros(steps_per_epoch, device=device)
        for b in range(steps_per_epoch):
            if should_stop():
                return _cancelled(emit, epoch, step)
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            xb, yb = x_train[idx], y_train[idx]
            if cfg.augment:
                xb = augment_batch(xb, generator, cfg.aug_shift, cfg.aug_scale, cfg.aug_noise, cfg.aug_lead_dropout)
            loss = F.binary_cross_entropy_with_logits(model(xb), yb, pos_weight=pos_weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            losses[b] = loss.detach()
            step += 1
            if step % log_every == 0:
                emit(
                    {
                        "event": "batch",
                        "epoch": epoch,
                        "step": step,
                        "loss": float(losses[b]),
                        "lr": optimizer.param_groups[0]["lr"],
                    }
                )

        train_seconds = time.perf_counter() - t0  # the training part of the epoch, without validation
        val_logits = predict_logits(model, x_val)
        val_loss = float(F.binary_cross_entropy_with_logits(val_logits, y_val, pos_weight=pos_weight))
        val_prob = torch.sigmoid(val_logits).cpu().numpy()
        metrics = ranking_metrics(y_val_np, val_prob)
        score = metrics["macro_pr_auc"] if metrics["macro_pr_auc"] is not None else -val_loss
        is_best = score > best_score
        thresholds = choose_thresholds(y_val_np, val_prob).tolist()
        meta = _meta(ds, cfg, fold, epoch, metrics | {"val_loss": val_loss}, thresholds)
        if is_best:
            best_score, best_epoch, stale = score, epoch, 0
            save_checkpoint(run_dir / "best.pt", model, meta)
        else:
            stale += 1
        train_state = {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "epoch": epoch,
            "best_score": best_score,
            "best_epoch": best_epoch,
            "stale": stale,
        }
        save_checkpoint(run_dir / "last.pt", model, meta, train_state)
        emit(
            {
                "event": "epoch_end",
                "epoch": epoch,
                "epochs": cfg.epochs,
                "step": step,
                "train_loss": float(losses.mean()),
                "val_loss": val_loss,
                "val_macro_pr_auc": metrics["macro_pr_auc"],
                "val_macro_roc_auc": metrics["macro_roc_auc"],
                "seconds": time.perf_counter() - t0,
                "train_seconds": train_seconds,
                "best": is_best,
            }
        )
        if is_best:  # announced after the epoch's metrics (start, batch…, epoch_end, checkpoint, …, done)
            emit({"event": "checkpoint", "path": str(run_dir / "best.pt"), "epoch": epoch})
        if cfg.patience is not None and stale >= cfg.patience:
            break
    done = {"event": "done", "best_epoch": best_epoch, "best_val_macro_pr_auc": best_score, "step": step}
    emit(done)
    return done


def _cancelled(emit: Callback, epoch: int, step: int) -> dict:
    event = {"event": "cancelled", "epoch": epoch, "step": step}
    emit(event)
    return event


class RunRecorder:
    """Callback that appends each event to ``progress.jsonl`` (one flushed line each) and keeps
    ``status.json`` (state, epoch, pid, timings) current, so another process can follow the run."""

    def __init__(self, run_dir: Path, pid: int, extra: dict | None = None, state_when_done: str = "done"):
        self.run_dir = Path(run_dir)
        self.pid = pid
        self.extra = extra or {}
        self.state_when_done = state_when_done
        self._file = None  # opened at the first event, after the trainer has prepared the directory

    def __call__(self, event: dict) -> None:
        event = {"time": time.time(), **event}
        if self._file is None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._file = open(self.run_dir / "progress.jsonl", "a", buffering=1)
        self._file.write(json.dumps(event) + "\n")
        self._file.flush()
        kind = event["event"]
        if kind == "start":
            write_status(
                self.run_dir,
                state="running",
                pid=self.pid,
                started=event["time"],
                epoch=None,
                error=None,
                epochs=event["epochs"],
                config=event["config"],
                **self.extra,
            )
        elif kind == "epoch_end":
            write_status(self.run_dir, epoch=event["epoch"], val_macro_pr_auc=event["val_macro_pr_auc"])
        elif kind in ("done", "cancelled", "failed"):
            state = self.state_when_done if kind == "done" else kind  # "evaluating" while the CLI scores the test part
            write_status(self.run_dir, state=state, finished=event["time"], error=event.get("error"))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def clear_run(run_dir: Path) -> None:
    """Delete a run directory (refused while the run is training)."""
    from ecgcore.runs import is_locked

    if is_locked(run_dir):
        raise RunError(f"{run_dir} is training right now; cancel it first.")
    shutil.rmtree(run_dir, ignore_errors=True)
