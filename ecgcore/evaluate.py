"""Evaluating trained runs: test-part metrics with validation-chosen thresholds, per-fold results
JSON and confusion-matrix PNG, the summary over folds, and the 1D-vs-2D comparison.

Thresholds have one source, :func:`decision_thresholds`: the per-class thresholds that training chose
on the fold's validation part for the best epoch and stored in the checkpoint (``meta["thresholds"]``,
F1-maximising, :func:`ecgcore.thresholds.choose_thresholds`). Evaluate, saliency, interpret and predict
all use them. Only a checkpoint written before thresholds were stored has them recomputed on its
validation part here (same function, same data), or 0.5 when no dataset is at hand (one uploaded
record); results.json records which (``threshold_source``).

Files written (see :mod:`ecgcore.runs` for the layout):

    <model_dir>/fold<k>/results.json     metrics, thresholds, per-record test probabilities
    <model_dir>/fold<k>/confusion.png    one 2×2 matrix per class at the chosen thresholds
    <model_dir>/summary.json             mean ± std over the evaluated folds
    <dataset>/<label_set>/compare.json   two models side by side per fold, with paired differences
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.checkpoint_fit import same_dataset
from ecgcore.checkpoints import load_checkpoint
from ecgcore.data import ECGDataset
from ecgcore.errors import CheckpointError, ResultsError
from ecgcore.fileio import write_json
from ecgcore.folds import DEFAULT_PLAN, get_fold, n_folds
from ecgcore.inference import predict_proba
from ecgcore.metrics import MACRO_METRICS, evaluate_predictions, read_json, summarize_folds
from ecgcore.outcomes import write_records_csv
from ecgcore.run_paths import RunPaths, group_dir
from ecgcore.runs import write_status
from ecgcore.thresholds import decision_thresholds


def checkpoint_expectations(ds: ECGDataset) -> dict:
    return {"label_names": list(ds.label_names), "sampling_rate": ds.sampling_rate, "label_set": ds.label_set}


def evaluate_run(ds: ECGDataset, path: Path, device: str = "auto", n_bootstrap: int = 200) -> dict:
    """Evaluate the best checkpoint of the run at ``path`` on its fold's test part; writes
    results.json, records.csv (per test record: truth, probability and TP/FP/FN/TN per class) and
    confusion.png into the run directory and returns the results."""
    from ecgcore.figures.metrics import confusion_png

    path = Path(path)
    model, meta = load_checkpoint(RunPaths(path).best, expect=checkpoint_expectations(ds))
    trained_on = meta.get("dataset") or {}
    if not same_dataset(meta, ds.fingerprint, ds.name):
        raise CheckpointError(
            f"{RunPaths(path).best} was trained on dataset {trained_on.get('name', '(not recorded)')} "
            f"({trained_on.get('root', '?')}), not on {ds.name}; evaluate it on that dataset."
        )
    fold = get_fold(ds.records, ds.labels.any(axis=1), meta["plan"], meta["fold"])
    thresholds, source = decision_thresholds(meta, ds, model, device)  # chosen on validation, never on test
    # rounded once, here: the metrics, results.json, records.csv and the app's matrices all count the
    # same stored probabilities, so no record within 5e-6 of a threshold flips between them
    test_prob = np.round(predict_proba(model, ds.signals[fold.test], device), 5)
    y_test = ds.labels[fold.test]
    results = evaluate_predictions(y_test, test_prob, ds.label_names, thresholds, n_bootstrap=n_bootstrap)
    results |= {
        "model": meta["model"],
        "model_config": meta.get("model_config", {}),
        "fold": meta["fold"],
        "plan": meta["plan"],
        "label_names": list(ds.label_names),
        "thresholds": thresholds.tolist(),
        "threshold_source": source,
        "checkpoint": str(RunPaths(path).best),
        "best_epoch": meta["epoch"],
        "dataset": trained_on | {"description": ds.description},
        "counts": {"train": len(fold.train), "val": len(fold.val), "test": len(fold.test)},
        "test_ecg_ids": ds.records["ecg_id"].iloc[fold.test].tolist(),
        "test_true": y_test.astype(int).tolist(),
        "test_prob": test_prob.tolist(),
        "evaluated": time.time(),
    }
    results |= failure_analysis(ds, meta, results["test_ecg_ids"], y_test, test_prob, n_bootstrap)
    write_json(path / "results.json", results)
    if (path / "status.json").exists():  # the runs table reads the test scores from status.json
        write_status(path, test_macro_pr_auc=results["macro_pr_auc"], test_macro_roc_auc=results["macro_roc_auc"])
    write_records_csv(path, ds.records)  # one row per test record: from a metric to its records
    matrices = {name: results["per_class"][name]["confusion"] for name in ds.label_names}
    confusion_png(matrices, dict(zip(ds.label_names, thresholds.tolist())), path / "confusion.png")
    return results


def failure_analysis(
    ds: ECGDataset, meta: dict, test_ecg_ids: list[int], y_test: np.ndarray, test_prob: np.ndarray, n_bootstrap: int
) -> dict:
    """The results.json keys of "where the model fails and how sure it is": ``label_set``, ``subgroups``
    (:func:`ecgcore.subgroups.all_subgroups`: per subgroup and class, with intervals) and ``calibration``
    (:func:`ecgcore.calibration.test_calibration`: raw, and temperature-scaled when the checkpoint has a
    temperature). y_test, test_prob: (N, C) of the N test records ``test_ecg_ids``."""
    from ecgcore.calibration import test_calibration
    from ecgcore.subgroups import all_subgroups

    subgroups = all_subgroups(
        ds.root, ds.label_set, ds.label_names, test_ecg_ids, y_test, test_prob, n_bootstrap=n_bootstrap,
        sampling_rate=ds.sampling_rate,
    )  # fmt: skip
    calibration = test_calibration(y_test, test_prob, ds.label_names, meta.get("temperature"))
    return {"label_set": ds.label_set, "subgroups": subgroups, "calibration": calibration}


def read_results(path: Path) -> dict:
    """results.json of a run directory (ResultsError if missing or corrupt)."""
    return read_json(Path(path) / "results.json")


def summarize_model(
    ds: ECGDataset, model: str, folds: list[int], plan: str = DEFAULT_PLAN, root: Path | None = None
) -> dict:
    """Collect results.json of ``folds`` into ``<model_dir>/summary.json`` (mean ± std)."""
    per_fold = {}
    for k in folds:
        results = read_results(RunPaths.of(ds.name, ds.label_set, model, k, plan, root).folder)
        per_fold[k] = {m: results.get(m) for m in MACRO_METRICS}
    summary = {
        "model": model,
        "plan": plan,
        "dataset": ds.description,
        "folds": per_fold,
        "summary": summarize_folds(list(per_fold.values())),
    }
    write_json(group_dir(ds.name, ds.label_set, model, root) / "summary.json", summary)
    return summary


def comparison_table(
    ds: ECGDataset, models: tuple[str, str] = ("cnn1d", "cnn2d"), plan: str = DEFAULT_PLAN, root: Path | None = None
) -> pd.DataFrame:
    """Per fold, the macro metrics of each model (folds evaluated for both): columns fold, model, metrics."""
    rows = []
    for k in range(n_folds(plan)):
        found = {}
        for m in models:
            try:
                found[m] = read_results(RunPaths.of(ds.name, ds.label_set, m, k, plan, root).folder)
            except ResultsError:
                break
        if len(found) == len(models):
            rows += [{"fold": k, "model": m} | {x: r.get(x) for x in MACRO_METRICS} for m, r in found.items()]
    return pd.DataFrame(rows, columns=["fold", "model", *MACRO_METRICS])


def group_results(ds: ECGDataset, group: str, plan: str = DEFAULT_PLAN, root: Path | None = None) -> dict[int, dict]:
    """{fold: results.json} of every evaluated fold of a run group (``model`` or ``model@run_name``)."""
    found = {}
    for k in range(n_folds(plan)):
        try:
            found[k] = read_results(RunPaths.of(ds.name, ds.label_set, group, k, plan, root).folder)
        except ResultsError:
            continue
    return found


def group_recipe_differences(
    ds: ECGDataset, group: str, plan: str = DEFAULT_PLAN, root: Path | None = None
) -> list[str]:
    """How the trained folds of a run group differ in recipe (:func:`ecgcore.recipes.fold_recipe_differences`)."""
    from ecgcore.recipes import fold_recipe_differences
    from ecgcore.runs import recipe_of

    folders = {k: RunPaths.of(ds.name, ds.label_set, group, k, plan, root).folder for k in range(n_folds(plan))}
    return fold_recipe_differences({k: recipe_of(f) for k, f in folders.items() if f.is_dir()})
