"""Model specs (layer 2, no torch): what each registered model accepts, its default recipe, where its
reference results are and what it costs to train.

    >>> spec = model_spec("cnn2d")
    >>> spec.default_recipe["lr"], spec.fixed_length
    (0.01, True)

The torch modules themselves are registered by name in :mod:`ecgcore.models`; ``tests/test_model_specs.py``
checks that both name the same models, so model names can be listed without importing torch.

A spec's reference figure is read from the results file that ``bench/cv.py`` wrote for its default
recipe (5-fold patient CV on the 1,803-record PTB-XL part); the test also checks that the file's recipe
is the spec's default, so a default that changes without a new measurement fails the tests.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from ecgcore.errors import ModelError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ModelSpec:
    """What a model is and accepts.

    Attributes:
        name: the registry name (``create_model(name)``).
        default_recipe: the recipe fields ``train --model NAME`` uses when none is given.
        fixed_length: True when the model reads a whole 10 s record only (cnn2d resizes any length
            to a 64 × 256 image, so a 2.5 s crop would be stretched four-fold in time): random crops
            and sliding windows are refused for it.
        options: the model's own options and their choices (cnn2d's ``image``).
        sampling_rates: rates in Hz the model can be trained on.
        reference_file: the bench results file of the default recipe (``bench/cv.py --out``).
        samples_per_s: training samples per second on one CPU thread, for the Train page's estimate
            (RESULTS.md, "Throughput"; resnet1d_wang: cnn1d's figure × their H100 ratio 3,884 / 6,938).
    """

    name: str
    default_recipe: dict
    fixed_length: bool = False
    options: dict[str, tuple[str, ...]] = field(default_factory=dict)
    sampling_rates: tuple[int, ...] = (100, 500)
    reference_file: str | None = None
    samples_per_s: float = 250.0

    def reference(self) -> dict | None:
        """The default recipe's cross-validated figures from :attr:`reference_file`:
        ``{"macro_pr_auc", "macro_pr_auc_std", "macro_roc_auc", "n_folds", "epochs", "recipe", "dataset",
        "file"}``, or None when the file is missing or unreadable."""
        if not self.reference_file:
            return None
        path = PROJECT_ROOT / self.reference_file
        try:
            data = json.loads(path.read_text())
            folds = data["per_fold"]
            pr = [float(f["macro_pr_auc"]) for f in folds]
            roc = [float(f["macro_roc_auc"]) for f in folds]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return {
            "macro_pr_auc": statistics.mean(pr),
            "macro_pr_auc_std": statistics.stdev(pr) if len(pr) > 1 else None,
            "macro_roc_auc": statistics.mean(roc),
            "n_folds": len(pr),
            "epochs": (data.get("recipe") or {}).get("epochs"),
            "recipe": data.get("recipe") or {},
            "dataset": data.get("dataset", ""),
            "file": self.reference_file,
        }


# The default recipes were chosen by 5-fold CV on the 1,803-record PTB-XL part (RESULTS.md): one-cycle
# learning rate, label-preserving augmentation and 40 epochs beat the original project's plain recipe;
# cnn1d gained random 2.5 s crops and a moving average of the weights, resnet1d_wang the crops alone
# (its ~900 optimiser steps are shorter than EMA 0.999's ~1,000-step memory). A default changes only
# where the paired difference is positive on at least 4 of 5 folds.
SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="cnn1d",
            default_recipe={
                "epochs": 40,
                "batch_size": 16,
                "lr": 3e-3,
                "schedule": "onecycle",
                "augment": True,
                "crop_s": 2.5,
                "ema_decay": 0.999,
            },
            reference_file="bench/results/cpu/issue15/cnn1d-crop-ema.json",
            samples_per_s=500.0,
        ),
        ModelSpec(
            name="cnn2d",
            default_recipe={"epochs": 40, "batch_size": 16, "lr": 1e-2, "schedule": "onecycle", "augment": True},
            fixed_length=True,
            options={"image": ("stacked", "spectrogram")},
            reference_file="bench/results/cpu/cnn2d-default.json",
            samples_per_s=290.0,
        ),
        ModelSpec(
            name="resnet1d_wang",
            default_recipe={
                "epochs": 20,
                "batch_size": 32,
                "lr": 3e-3,
                "schedule": "onecycle",
                "augment": True,
                "crop_s": 2.5,
            },
            reference_file="bench/results/cpu/issue15/resnet-crop.json",
            samples_per_s=280.0,
        ),
    )
}


def model_names() -> list[str]:
    """The registered model names, in registry order."""
    return list(SPECS)


def model_spec(name: str) -> ModelSpec:
    """The spec of model ``name``; ModelError (one line, the known names) for an unknown one."""
    if name not in SPECS:
        raise ModelError(f"unknown model {name!r}; use one of {', '.join(SPECS)}.")
    return SPECS[name]
