"""Multi-label metrics (scikit-learn), thresholds chosen on validation, bootstrap intervals, results JSON.

All functions take ``y_true: (N, C) {0, 1}`` and ``y_prob: (N, C)`` probabilities in [0, 1].
Classes without both positives and negatives get ``None`` for AUC-type metrics and are left out of
macro averages (and the results say how many classes counted).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    multilabel_confusion_matrix,
    roc_auc_score,
)

from ecgcore.bootstrap import macro_samples, percentile_interval
from ecgcore.errors import ResultsError
from ecgcore.fileio import read_json_file
from ecgcore.thresholds import DEFAULT_THRESHOLD, with_default

N_BOOTSTRAP = 200
MACRO_METRICS = ("macro_pr_auc", "micro_pr_auc", "macro_roc_auc", "f1_macro", "f1_micro")


def _valid_classes(y_true: np.ndarray) -> np.ndarray:
    pos = y_true.sum(axis=0)
    return np.flatnonzero((pos > 0) & (pos < len(y_true)))


def ranking_metrics(y_true: np.ndarray, y_prob: np.ndarray) -> dict[str, float | None]:
    """Macro/micro PR-AUC (average precision) and macro ROC-AUC over classes with both outcomes."""
    valid = _valid_classes(y_true)
    if len(valid) == 0:
        return {"macro_pr_auc": None, "micro_pr_auc": None, "macro_roc_auc": None}
    yt, yp = y_true[:, valid], y_prob[:, valid]
    return {
        "macro_pr_auc": float(average_precision_score(yt, yp, average="macro")),
        "micro_pr_auc": float(average_precision_score(yt, yp, average="micro")),
        "macro_roc_auc": float(roc_auc_score(yt, yp, average="macro")),
    }


def confusion_matrices(y_true: np.ndarray, y_prob: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """(C, 2, 2) int64 per-class [[TN, FP], [FN, TP]] with predicted = (y_prob >= thresholds), from
    scikit-learn's ``multilabel_confusion_matrix``. thresholds: (C,) or a scalar."""
    y_true = np.asarray(y_true).astype(np.int64).reshape(len(y_true), -1)
    n_classes = y_true.shape[1]
    if len(y_true) == 0:
        return np.zeros((n_classes, 2, 2), np.int64)
    pred = (np.asarray(y_prob, dtype=np.float64) >= np.asarray(thresholds, dtype=np.float64)).astype(np.int64)
    return multilabel_confusion_matrix(y_true, pred, labels=list(range(n_classes))).astype(np.int64)


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b else None


def per_class_rates(
    y_true: np.ndarray, y_prob: np.ndarray, thresholds: np.ndarray | float, names: Sequence[str]
) -> list[dict]:
    """The one computation of per-class rates at given thresholds (evaluate and the app's slider).

    Args:
        y_true: (N, C) {0, 1}; y_prob: (N, C) in [0, 1]; thresholds: (C,) or one for all; names: C names.
    Returns:
        per class, a dict: class, threshold, sensitivity, specificity, ppv, f1 (None when undefined:
        no positives, no negatives or nothing predicted; F1 is 0 when there are positives but no TP),
        tp, fp, fn, tn (ints).
    """
    thr = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (len(names),))
    rows = []
    for name, t, cm in zip(names, thr, confusion_matrices(y_true, y_prob, thr)):
        (tn, fp), (fn, tp) = (int(v) for v in cm[0]), (int(v) for v in cm[1])
        rows.append(
            {
                "class": name,
                "threshold": float(t),
                "sensitivity": _ratio(tp, tp + fn),
                "specificity": _ratio(tn, tn + fp),
                "ppv": _ratio(tp, tp + fp),
                "f1": _ratio(2 * tp, 2 * tp + fp + fn),
                "tp": tp,
                "fp": fp,
                "fn": fn,
                "tn": tn,
            }
        )
    return rows


def evaluate_predictions(
    y_true: np.ndarray,
    y_prob: np.ndarray,
    label_names: tuple[str, ...] | list[str],
    thresholds: np.ndarray | None = None,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> dict:
    """All metrics of one test part.

    Args:
        thresholds: (C,) per-class thresholds chosen on validation (None: 0.5 for all).

    Returns a JSON-able dict: ranking metrics, F1 micro/macro at the thresholds and at 0.5, per-class
    AP, ROC-AUC, sensitivity, specificity, PPV, confusion matrix, support, and bootstrap 95 % CIs of
    the macro figures.
    """
    y_true = np.asarray(y_true).astype(np.int64)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    thr = with_default(thresholds, y_true.shape[1])
    pred = (y_prob >= thr).astype(np.int64)
    pred05 = (y_prob >= DEFAULT_THRESHOLD).astype(np.int64)
    out: dict = ranking_metrics(y_true, y_prob)
    out |= {
        "f1_macro": float(f1_score(y_true, pred, average="macro", zero_division=0)),
        "f1_micro": float(f1_score(y_true, pred, average="micro", zero_division=0)),
        "f1_macro_at_0.5": float(f1_score(y_true, pred05, average="macro", zero_division=0)),
        "f1_micro_at_0.5": float(f1_score(y_true, pred05, average="micro", zero_division=0)),
        "n_records": len(y_true),
        "n_classes_scored": len(_valid_classes(y_true)),
    }
    per_class = {}
    for c, rates in enumerate(per_class_rates(y_true, y_prob, thr, label_names)):
        tp, fp, fn, tn = (rates[k] for k in ("tp", "fp", "fn", "tn"))
        both = 0 < y_true[:, c].sum() < len(y_true)
        per_class[rates["class"]] = {
            "support": int(y_true[:, c].sum()),
            "ap": float(average_precision_score(y_true[:, c], y_prob[:, c])) if both else None,
            "roc_auc": float(roc_auc_score(y_true[:, c], y_prob[:, c])) if both else None,
            "threshold": rates["threshold"],
            "sensitivity": rates["sensitivity"],
            "specificity": rates["specificity"],
            "ppv": rates["ppv"],
            "f1": rates["f1"] or 0.0,  # results.json: 0 when undefined, as f1_score(zero_division=0)
            "confusion": [[tn, fp], [fn, tp]],
        }
    out["per_class"] = per_class
    out["ci95"] = bootstrap_ci(y_true, y_prob, thr, n_bootstrap, seed) if n_bootstrap else {}
    return out


def bootstrap_ci(
    y_true: np.ndarray, y_prob: np.ndarray, thresholds: np.ndarray, n: int = N_BOOTSTRAP, seed: int = 0
) -> dict[str, list[float] | None]:
    """95 % percentile bootstrap intervals (records resampled with replacement) of the macro figures.

    Args:
        y_true: (N, C) {0, 1}; y_prob: (N, C); thresholds: (C,) (predicted: y_prob >= thresholds);
        n: resamples; seed: of ``np.random.default_rng``.
    Returns:
        {MACRO_METRICS key: [lo, hi] | None}: a resample in which no class has both outcomes is
        skipped; AUC-type figures average the classes with both outcomes in that resample, F1 all.
        All resamples are scored at once (:mod:`ecgcore.bootstrap`), as scikit-learn scores each one.
    """
    samples = macro_samples(y_true, y_prob, thresholds, n, seed)
    return {k: percentile_interval(samples[k]) for k in MACRO_METRICS}


def summarize_folds(results: list[dict]) -> dict[str, dict[str, float | None]]:
    """Mean and standard deviation (ddof=1) of each macro figure over folds; the standard deviation is
    None for a single fold (one value has no spread: show "—", never "± 0.000")."""
    summary = {}
    for k in MACRO_METRICS:
        values = [r[k] for r in results if r.get(k) is not None]
        if values:
            summary[k] = {
                "mean": float(np.mean(values)),
                "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
                "n_folds": len(values),
            }
    return summary


def read_json(path: str | os.PathLike) -> dict:
    """Read a results JSON; a missing or corrupt file raises :class:`ResultsError`."""
    path = Path(path)
    try:
        data = read_json_file(path)
    except FileNotFoundError as e:
        raise ResultsError(f"{path} does not exist; run `python -m ecgcore eval` for that run first.") from e
    except IsADirectoryError as e:
        raise ResultsError(
            f"{path} is a folder, not a results file; remove it and run `python -m ecgcore eval` again."
        ) from e
    except (ValueError, OSError) as e:
        raise ResultsError(f"{path} is corrupt ({e}); delete it and run `python -m ecgcore eval` again.") from e
    if not isinstance(data, dict):
        raise ResultsError(f"{path} is not a results object; delete it and run `python -m ecgcore eval` again.")
    return data
