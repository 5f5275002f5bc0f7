"""How good a trained run group is, said wherever it predicts (layer 3, no torch).

:func:`run_quality` reads what the run's folds recorded — test results, recipes, epochs trained — and
says it in one sentence: the cross-validated macro PR-AUC with its number of folds (no spread from one
fold), the epochs and the recipe. It flags what a reader should know before trusting a prediction: a
run far below its model's reference on the same data, or trained for fewer epochs than its recipe (or
than the model's default recipe).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ecgcore.model_specs import SPECS
from ecgcore.run_paths import group_label

FAR_BELOW = 0.05  # macro PR-AUC this far under the model's reference on the same data is flagged


@dataclass
class RunQuality:
    """What is known of a run group's quality (see the module docstring)."""

    label: str
    n_folds: int
    macro_pr_auc: float | None = None
    macro_pr_auc_sd: float | None = None  # None with fewer than 2 folds: no spread from one number
    epochs: list[int] = field(default_factory=list)  # epochs each fold trained
    recipe_epochs: int | None = None
    flags: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        """E.g. "cnn1d: test macro PR-AUC 0.761 ± 0.018 over 5 folds (40 epochs)"."""
        if self.macro_pr_auc is None:
            return f"{self.label}: no fold has test results yet, so how good it is is not known."
        spread = f" ± {self.macro_pr_auc_sd:.3f}" if self.macro_pr_auc_sd is not None else ""
        folds = f"over {self.n_folds} folds" if self.n_folds > 1 else "on 1 fold (no spread from one fold)"
        counts = sorted(set(self.epochs), key=int)
        epochs = f" ({', '.join(map(str, counts))} epoch{'' if counts == [1] else 's'})" if counts else ""
        return f"{self.label}: test macro PR-AUC {self.macro_pr_auc:.3f}{spread} {folds}{epochs}"


def run_quality(
    model: str,
    run_name: str,
    results_by_fold: Mapping[int, Mapping],
    recipes_by_fold: Mapping[int, Mapping | None],
    epochs_by_fold: Mapping[int, int | None],
    dataset_name: str,
) -> RunQuality:
    """The quality of one run group.

    Args:
        model, run_name: the group.
        results_by_fold: {fold: results.json} of the evaluated folds.
        recipes_by_fold: {fold: recorded recipe} (``runs.recipe_of``).
        epochs_by_fold: {fold: epochs completed} (status.json's ``epoch`` + 1).
        dataset_name: the dataset the run is used on (the reference counts only on the same data).
    """
    scores = [float(r["macro_pr_auc"]) for r in results_by_fold.values() if r.get("macro_pr_auc") is not None]
    quality = RunQuality(group_label(model, run_name), len(scores))
    if scores:
        quality.macro_pr_auc = float(np.mean(scores))
        quality.macro_pr_auc_sd = float(np.std(scores, ddof=1)) if len(scores) > 1 else None
    quality.epochs = [int(e) for e in epochs_by_fold.values() if e]
    recipe_epochs = [int(r["epochs"]) for r in recipes_by_fold.values() if r and r.get("epochs")]
    quality.recipe_epochs = max(recipe_epochs) if recipe_epochs else None
    quality.flags = _flags(model, quality, dataset_name)
    return quality


def _flags(model: str, quality: RunQuality, dataset_name: str) -> list[str]:
    spec = SPECS.get(model)
    flags = []
    if quality.recipe_epochs and quality.epochs and min(quality.epochs) < quality.recipe_epochs:
        flags.append(f"trained {min(quality.epochs)} of the {quality.recipe_epochs} epochs of its recipe")
    default_epochs = spec.default_recipe.get("epochs") if spec else None
    if default_epochs and quality.recipe_epochs and quality.recipe_epochs < default_epochs:
        n = quality.recipe_epochs
        flags.append(f"its recipe trains {n} epoch{'' if n == 1 else 's'}; {model}'s default trains {default_epochs}")
    ref = spec.reference() if spec else None
    if ref and quality.macro_pr_auc is not None and dataset_name in ref["dataset"]:
        if quality.macro_pr_auc < ref["macro_pr_auc"] - FAR_BELOW:
            flags.append(
                f"macro PR-AUC {quality.macro_pr_auc:.3f} is far below {model}'s default recipe on this data "
                f"({ref['macro_pr_auc']:.3f} over {ref['n_folds']} folds)"
            )
    return flags
