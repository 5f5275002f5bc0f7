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
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ecgcore.checkpoint_fit import fit_problem
from ecgcore.checkpoints import library_versions, read_checkpoint, save_checkpoint
from ecgcore.data import ECGDataset
from ecgcore.errors import CheckpointError, RunError
from ecgcore.fileio import make_folder
from ecgcore.folds import Fold, get_fold
from ecgcore.inference import pick_device, predict_logits
from ecgcore.metrics import ranking_metrics
from ecgcore.models import ECGClassifier, create_model
from ecgcore.recipes import TrainConfig, from_recorded
from ecgcore.run_paths import RunPaths
from ecgcore.runs import RunLock, can_start, clear_for_restart, write_status
from ecgcore.thresholds import choose_thresholds
from ecgcore.transforms import augment_batch
from ecgcore.windows import WindowSpec, crop_samples, random_crops

Callback = Callable[[dict], None]


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
    """Train ``cfg.model`` on fold ``cfg.fold`` of ``cfg.plan`` into ``run_dir``, holding its lock.

    The training alone: :func:`ecgcore.service.run_fold` adds status, evaluation and the queue.

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
        return train_locked(ds, cfg, run_dir, callbacks, resume, overwrite, should_stop)


def _prepare_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> dict | None:
    """Check what is in the run directory (the caller holds its lock); returns last.pt's contents
    when resuming, else clears the previous run's files."""
    if resume:
        if not RunPaths(run_dir).last.exists():
            raise RunError(f"{run_dir} has no last.pt to resume from; start it without --resume.")
        data = read_checkpoint(RunPaths(run_dir).last)
        if "train_state" not in data:
            raise CheckpointError(f"{RunPaths(run_dir).last} holds no training state; start again with --overwrite.")
        return data
    problem = can_start(run_dir, overwrite, holding_lock=True)
    if problem:
        raise RunError(problem)
    clear_for_restart(run_dir)
    return None


def _resume_config(previous: dict, ds: ECGDataset, cfg: TrainConfig, run_dir: Path) -> TrainConfig:
    """The saved recipe of the run being resumed, with today's epochs and device. CheckpointError
    unless last.pt was trained as asked now: same model, label names, sampling rate and dataset (a
    run folder does not name the sampling rate, and a copied file can be anything)."""
    meta = previous["meta"]
    problem = fit_problem(
        meta,
        list(ds.label_names),
        None,
        ds.sampling_rate,
        model=cfg.model,
        fingerprint=ds.fingerprint,
        dataset_name=ds.name,
    )
    if problem:
        raise CheckpointError(
            f"{RunPaths(run_dir).last} {problem}, so it cannot be resumed here; "
            "choose the matching settings, or start the run again with --overwrite."
        )
    saved = meta["config"]
    if saved.get("schedule") == "onecycle" and cfg.epochs != saved["epochs"]:
        raise RunError(
            f"{run_dir} uses the onecycle schedule, which is fixed to its {saved['epochs']} epochs; "
            f"resume it with --epochs {saved['epochs']}, or start again with --overwrite."
        )
    return dataclasses.replace(from_recorded(saved), epochs=cfg.epochs, device=cfg.device)


@dataclass
class _Setup:
    """What one training holds in memory: data on the device, model, loss weights, optimiser."""

    fold: Fold
    device: torch.device
    x_train: torch.Tensor  # (n_train, 12, T) float32, mV
    y_train: torch.Tensor  # (n_train, C) float32 0/1
    x_val: torch.Tensor  # (n_val, 12, T) float32, mV
    y_val: np.ndarray  # (n_val, C) float32 0/1
    model: ECGClassifier
    pos_weight: torch.Tensor  # (C,)
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler | None
    steps_per_epoch: int
    crop: int | None = None  # training crop length in samples (None: whole records)
    ema: AveragedModel | None = None  # the moving average of the weights, validated and saved as best.pt

    @property
    def scored_model(self) -> torch.nn.Module:
        """The weights that are validated and saved as best.pt: the moving average when there is one."""
        return self.ema.module if self.ema is not None else self.model


def _build(ds: ECGDataset, cfg: TrainConfig) -> _Setup:
    """Fold split, tensors on the device, normalised model, weighted loss, optimiser and schedule."""
    device = pick_device(cfg.device)
    fold = get_fold(ds.records, ds.labels.any(axis=1), cfg.plan, cfg.fold)
    if len(fold.train) == 0 or len(fold.val) == 0:
        raise RunError(f"fold {cfg.fold} of plan {cfg.plan} has an empty training or validation part on {ds.name}.")
    x_train = torch.from_numpy(np.asarray(ds.signals[fold.train], dtype=np.float32)).to(device)
    torch.manual_seed(cfg.seed)
    mean, std = lead_statistics(x_train.cpu().numpy())
    net = create_model(cfg.model, len(ds.label_names), ds.sampling_rate, **cfg.model_config)
    windows = WindowSpec.from_config(cfg.to_dict(), ds.sampling_rate)
    model = ECGClassifier(net, torch.from_numpy(mean), torch.from_numpy(std), windows=windows).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = max(1, len(fold.train) // cfg.batch_size)  # drop_last: a batch of 1 breaks BatchNorm
    scheduler = None
    if cfg.schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch
        )
    elif cfg.schedule != "constant":
        raise RunError(f"unknown schedule {cfg.schedule!r}; use constant or onecycle.")
    return _Setup(
        fold=fold,
        device=device,
        x_train=x_train,
        y_train=torch.from_numpy(ds.labels[fold.train].astype(np.float32)).to(device),
        x_val=torch.from_numpy(np.asarray(ds.signals[fold.val], dtype=np.float32)).to(device),
        y_val=ds.labels[fold.val].astype(np.float32),
        model=model,
        pos_weight=torch.from_numpy(positive_weights(ds.labels[fold.train])).to(device),
        optimizer=optimizer,
        scheduler=scheduler,
        steps_per_epoch=steps_per_epoch,
        crop=crop_samples(cfg.to_dict(), ds.sampling_rate),
        ema=(
            AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
            if cfg.ema_decay
            else None
        ),
    )


@dataclass
class _Progress:
    """Where the training stands: next epoch, global step, best validation score and its epoch."""

    epoch: int = 0
    step: int = 0
    best_score: float = -math.inf
    best_epoch: int = -1
    stale: int = 0  # epochs since the best


def _restore(setup: _Setup, previous: dict | None) -> _Progress:
    """Weights, optimiser and schedule of last.pt when resuming; the progress to continue from."""
    if previous is None:
        return _Progress()
    setup.model.load_state_dict(previous["state_dict"])
    state = previous["train_state"]
    setup.optimizer.load_state_dict(state["optimizer"])
    if setup.scheduler is not None and state.get("scheduler"):
        setup.scheduler.load_state_dict(state["scheduler"])
    if setup.ema is not None and state.get("ema"):
        setup.ema.load_state_dict(state["ema"])
    epoch = state["epoch"] + 1
    return _Progress(
        epoch, epoch * setup.steps_per_epoch, state["best_score"], state["best_epoch"], state.get("stale", 0)
    )


def _train_epoch(
    setup: _Setup, cfg: TrainConfig, progress: _Progress, emit: Callback, should_stop
) -> torch.Tensor | None:
    """One pass over the training part in seeded order; returns the per-step losses, or None when
    ``should_stop`` cancelled it (checked before each batch)."""
    setup.model.train()
    seed = cfg.seed * 100_003 + progress.epoch
    generator = torch.Generator(device=setup.device).manual_seed(seed)
    torch.manual_seed(seed)  # dropout
    n = len(setup.x_train)
    order = torch.randperm(n, generator=generator, device=setup.device)
    losses = torch.zeros(setup.steps_per_epoch, device=setup.device)
    log_every = cfg.log_every or max(1, setup.steps_per_epoch // 50)
    for b in range(setup.steps_per_epoch):
        if should_stop():
            return None
        idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
        xb, yb = setup.x_train[idx], setup.y_train[idx]
        if cfg.augment:
            xb = augment_batch(xb, generator, cfg.aug_shift, cfg.aug_scale, cfg.aug_noise, cfg.aug_lead_dropout)
        if setup.crop is not None:
            xb = random_crops(xb, setup.crop, generator)
        targets = yb * (1 - cfg.label_smoothing) + 0.5 * cfg.label_smoothing  # label smoothing (0: off)
        loss = F.binary_cross_entropy_with_logits(setup.model(xb), targets, pos_weight=setup.pos_weight)
        setup.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        setup.optimizer.step()
        if setup.ema is not None:
            setup.ema.update_parameters(setup.model)
        if setup.scheduler is not None:
            setup.scheduler.step()
        losses[b] = loss.detach()
        progress.step += 1
        if progress.step % log_every == 0:
            lr = setup.optimizer.param_groups[0]["lr"]
            emit({"event": "batch", "epoch": progress.epoch, "step": progress.step, "loss": float(losses[b]), "lr": lr})
    return losses


def _validate_and_save(
    setup: _Setup, ds: ECGDataset, cfg: TrainConfig, progress: _Progress, run_dir: Path
) -> tuple[dict, bool]:
    """Score the validation part, choose thresholds, save best.pt (if better) and last.pt.
    Returns (validation metrics with ``val_loss``, whether this epoch is the best so far)."""
    val_logits = predict_logits(setup.scored_model, setup.x_val)  # over the recipe's windows, if any
    y_val = torch.from_numpy(setup.y_val).to(setup.device)
    val_loss = float(F.binary_cross_entropy_with_logits(val_logits, y_val, pos_weight=setup.pos_weight))
    val_prob = torch.sigmoid(val_logits).cpu().numpy()
    metrics = ranking_metrics(setup.y_val, val_prob) | {"val_loss": val_loss}
    score = metrics["macro_pr_auc"] if metrics["macro_pr_auc"] is not None else -val_loss
    is_best = score > progress.best_score
    thresholds = choose_thresholds(setup.y_val, val_prob).tolist()
    meta = _meta(ds, cfg, setup.fold, progress.epoch, metrics, thresholds)
    if is_best:
        progress.best_score, progress.best_epoch, progress.stale = score, progress.epoch, 0
        save_checkpoint(RunPaths(run_dir).best, setup.scored_model, meta)
    else:
        progress.stale += 1
    train_state = {
        "optimizer": setup.optimizer.state_dict(),
        "scheduler": setup.scheduler.state_dict() if setup.scheduler is not None else None,
        "epoch": progress.epoch,
        "best_score": progress.best_score,
        "best_epoch": progress.best_epoch,
        "stale": progress.stale,
        "ema": setup.ema.state_dict() if setup.ema is not None else None,
    }
    save_checkpoint(RunPaths(run_dir).last, setup.model, meta, train_state)
    return metrics, is_best


def _start_event(ds: ECGDataset, cfg: TrainConfig, setup: _Setup, progress: _Progress, resumed: bool) -> dict:
    return {
        "event": "start",
        "epochs": cfg.epochs,
        "steps_per_epoch": setup.steps_per_epoch,
        "n_train": len(setup.fold.train),
        "n_val": len(setup.fold.val),
        "n_test": len(setup.fold.test),
        "device": str(setup.device),
        "dataset": ds.description,
        "config": cfg.to_dict(),
        "resumed_from": progress.epoch if resumed else None,
    }


def train_locked(
    ds: ECGDataset,
    cfg: TrainConfig,
    run_dir: Path,
    callbacks: list[Callback] | tuple = (),
    resume: bool = False,
    overwrite: bool = False,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """:func:`train_fold` for a caller that holds the run's lock (the run service): prepare the folder
    (or load last.pt), build, then per epoch train, validate, save and report; early stopping by
    ``cfg.patience``. Returns the final event ("done" or "cancelled")."""
    run_dir = Path(run_dir)
    should_stop = should_stop or (lambda: False)

    def emit(event: dict) -> None:
        for cb in callbacks:
            cb(event)

    previous = _prepare_run_dir(run_dir, resume, overwrite)
    if previous is not None:
        cfg = _resume_config(previous, ds, cfg, run_dir)
    setup = _build(ds, cfg)
    progress = _restore(setup, previous)
    emit(_start_event(ds, cfg, setup, progress, previous is not None))
    for epoch in range(progress.epoch, cfg.epochs):
        progress.epoch = epoch
        t0 = time.perf_counter()
        losses = _train_epoch(setup, cfg, progress, emit, should_stop)
        if losses is None:
            return _cancelled(emit, epoch, progress.step)
        train_seconds = time.perf_counter() - t0  # the training part of the epoch, without validation
        metrics, is_best = _validate_and_save(setup, ds, cfg, progress, run_dir)
        emit(
            {
                "event": "epoch_end",
                "epoch": epoch,
                "epochs": cfg.epochs,
                "step": progress.step,
                "train_loss": float(losses.mean()),
                "val_loss": metrics["val_loss"],
                "val_macro_pr_auc": metrics["macro_pr_auc"],
                "val_macro_roc_auc": metrics["macro_roc_auc"],
                "seconds": time.perf_counter() - t0,
                "train_seconds": train_seconds,
                "best": is_best,
            }
        )
        if is_best:  # announced after the epoch's metrics (start, batch…, epoch_end, checkpoint, …, done)
            emit({"event": "checkpoint", "path": str(RunPaths(run_dir).best), "epoch": epoch})
        if cfg.patience is not None and progress.stale >= cfg.patience:
            break
    done = {
        "event": "done",
        "best_epoch": progress.best_epoch,
        "best_val_macro_pr_auc": progress.best_score,
        "step": progress.step,
    }
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
            make_folder(self.run_dir)
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
