"""Training recipes (layer 2, no torch): :class:`TrainConfig`, each model's default recipe
(:data:`RECIPES`) and :func:`check_config`, the checks every training request passes before any work —
from the CLI, the run service or the app's Train page.

Every registered model has a recipe here, and the registry (:mod:`ecgcore.models`) is checked against
this table by the tests, so the model names can be listed without importing torch.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field

from ecgcore.errors import ModelError, RunError
from ecgcore.records import DURATION_S
from ecgcore.runs import DEFAULT_RUN, check_run_name

SCHEDULES = ("constant", "onecycle")
AGGREGATIONS = ("mean", "max")
MIN_SPAN_S = 0.1  # the shortest crop, window or stride: 10 samples at 100 Hz  # how sliding-window predictions are combined (ecgcore.windows)


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
    # The PTB-XL benchmark's techniques (ecgcore.windows; None: off, as in every older run):
    crop_s: float | None = None  # train on one random crop of this many seconds per record and step
    window_s: float | None = None  # validate/test/predict on sliding windows of this length …
    stride_s: float | None = None  # … every this many seconds (default: half a window) …
    window_agg: str = "max"  # … aggregated by "max" (the benchmark's) or "mean"
    ema_decay: float | None = None  # keep an exponential moving average of the weights (e.g. 0.999)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# The default recipe of each model — what `train --model M --fold k` does with no other flags.
# Chosen by 5-fold CV on the 1,803-record PTB-XL part (bench/sweep.py; RESULTS.md): one-cycle
# learning rate, label-preserving augmentation and 40 epochs beat the plain recipe clearly
# (cnn1d 0.692 → 0.744, cnn2d 0.601 → 0.684 macro PR-AUC), so the epochs default moved from 10 to 40.
# cnn1d then gained the PTB-XL benchmark's random 2.5 s crops and a moving average of the weights: 5-fold
# CV on CPU 0.731 ± 0.020 → 0.763 ± 0.020, better on 5 of 5 folds (bench/cv.py; RESULTS.md, "Closing the
# model gap"). resnet1d_wang gained the crops alone: 0.745 ± 0.019 → 0.762 ± 0.015, better on 5 of 5 folds
# (its 20 epochs are ~900 optimiser steps, shorter than EMA 0.999's ~1,000-step memory: crops + EMA lost 0.115).
# A default changes only where the paired difference is positive on at least 4 of 5 folds.
RECIPES: dict[str, dict] = {
    "cnn1d": {
        "epochs": 40,
        "batch_size": 16,
        "lr": 3e-3,
        "schedule": "onecycle",
        "augment": True,
        "crop_s": 2.5,
        "ema_decay": 0.999,
    },
    "cnn2d": {"epochs": 40, "batch_size": 16, "lr": 1e-2, "schedule": "onecycle", "augment": True},
    "resnet1d_wang": {
        "epochs": 20,
        "batch_size": 32,
        "lr": 3e-3,
        "schedule": "onecycle",
        "augment": True,
        "crop_s": 2.5,
    },
}


SWITCHABLE = ("crop_s", "window_s", "ema_decay")  # techniques a default recipe may have on: 0 turns them off


def with_overrides(recipe: dict, overrides: dict) -> dict:
    """``recipe`` with ``overrides`` applied: None values ignored (not given), 0 for one of
    :data:`SWITCHABLE` turns that technique off whatever the recipe says (``--crop_s 0``)."""
    given = {k: v for k, v in overrides.items() if v is not None}
    return {**recipe, **given} | {k: None for k in SWITCHABLE if k in given and given[k] == 0}


def default_config(model: str, **overrides) -> TrainConfig:
    """The model's default recipe (:data:`RECIPES`) with ``overrides`` (:func:`with_overrides`)."""
    return TrainConfig(**{"model": model, **with_overrides(RECIPES.get(model, {}), overrides)})


def resume_conflicts(recorded: dict, given: dict) -> str | None:
    """What a resumed run would silently ignore: the recipe fields ``given`` now (None: not given) that
    differ from the ``recorded`` recipe of the run (``epochs`` and ``device`` may change on resume and
    are not compared). A field an older run did not record counts as TrainConfig's default, as the
    resume itself fills it in. Returns e.g. ``"--lr 0.01 (the run has 0.003)"``, or None."""
    recorded = {**dataclasses.asdict(TrainConfig()), **recorded}
    differ = [
        f"--{'image' if key == 'model_config' else key} {_shown(value, key)} (the run has {_shown(recorded.get(key), key)})"
        for key, value in given.items()
        if value is not None and _shown(recorded.get(key), key) != _shown(value, key)
    ]
    return ", ".join(differ) or None


def _shown(value, key: str):
    if key == "model_config":
        return (value or {}).get("image", "stacked")
    if key in SWITCHABLE and value in (None, 0):  # --crop_s 0 and a recorded null both mean off
        return "off"
    return "none" if value is None else value


def check_config(cfg: TrainConfig, run_name: str = DEFAULT_RUN) -> TrainConfig:
    """Check a training config before any work (before the data loads, before a run folder exists).

    Raises RunError (ModelError for an unknown model), one line naming the argument and what to use:
    epochs ≥ 1, batch size ≥ 1, a finite learning rate > 0, a finite weight decay ≥ 0, patience ≥ 1
    if given, a known schedule, model and device name, and a valid run name. Returns ``cfg``.
    Torch-free, so the app's Train page can check a request before queueing it."""

    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def real(value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

    problems = (
        (not whole(cfg.epochs) or cfg.epochs < 1, f"--epochs {cfg.epochs!r}: use a whole number of 1 or more"),
        (
            not whole(cfg.batch_size) or cfg.batch_size < 1,
            f"--batch_size {cfg.batch_size!r}: use a whole number of 1 or more",
        ),
        (not real(cfg.lr) or cfg.lr <= 0, f"--lr {cfg.lr!r}: use a finite learning rate above 0, e.g. 1e-3"),
        (
            not real(cfg.weight_decay) or cfg.weight_decay < 0,
            f"--weight_decay {cfg.weight_decay!r}: use a finite number of 0 or more",
        ),
        (
            cfg.patience is not None and (not whole(cfg.patience) or cfg.patience < 1),
            f"--patience {cfg.patience!r}: use a whole number of 1 or more, or leave it out",
        ),
        (cfg.schedule not in SCHEDULES, f"--schedule {cfg.schedule!r}: use one of {', '.join(SCHEDULES)}"),
        *_technique_problems(cfg),
    )
    for bad, message in problems:
        if bad:
            raise RunError(f"{message}.")
    if cfg.model not in RECIPES:
        raise ModelError(f"unknown model {cfg.model!r}; use one of {', '.join(RECIPES)}.")
    check_run_name(run_name)
    check_device_name(cfg.device)
    return cfg


def check_device_name(device: str) -> str:
    """RunError unless ``device`` names a device kind the trainer knows: auto, cpu, cuda or cuda:N.
    Whether a GPU is actually there is checked where torch is loaded (:func:`ecgcore.inference.pick_device`)."""
    if not isinstance(device, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise RunError(f"--device {device!r} is not a device; use auto, cpu or cuda (cuda:N for the N-th GPU).")
    return device


def _technique_problems(cfg: TrainConfig) -> tuple[tuple[bool, str], ...]:
    """(bad, message) checks of the crop, window and weight-averaging options (see ecgcore.windows)."""

    def positive(value) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0

    def seconds(value) -> bool:  # a stretch of a 10 s record that a model can read: 0.1 s (10 samples) … 10 s
        return positive(value) and MIN_SPAN_S <= value <= DURATION_S

    span = f"use seconds from {MIN_SPAN_S:g} to {DURATION_S} (the record's length), e.g. 2.5, or 0 for off"
    return (
        (cfg.crop_s is not None and not seconds(cfg.crop_s), f"--crop_s {cfg.crop_s!r}: {span}"),
        (cfg.window_s is not None and not seconds(cfg.window_s), f"--window_s {cfg.window_s!r}: {span}"),
        (
            cfg.stride_s is not None
            and (
                cfg.window_s is None
                or not positive(cfg.stride_s)
                or cfg.stride_s < MIN_SPAN_S
                or (positive(cfg.window_s) and cfg.stride_s > cfg.window_s)
            ),
            f"--stride_s {cfg.stride_s!r}: use seconds from {MIN_SPAN_S:g} up to --window_s (windows must cover "
            "every sample), together with --window_s",
        ),
        (
            cfg.window_agg not in AGGREGATIONS,
            f"--window_agg {cfg.window_agg!r}: use one of {', '.join(AGGREGATIONS)}",
        ),
        (
            cfg.ema_decay is not None and not (positive(cfg.ema_decay) and cfg.ema_decay < 1),
            f"--ema_decay {cfg.ema_decay!r}: use a number between 0 and 1, e.g. 0.999, or 0 for off",
        ),
    )
