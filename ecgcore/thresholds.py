"""Decision thresholds (layer 2): the one home of how a probability becomes a yes/no per class.

A class is predicted when its probability is at or above its threshold. Thresholds are chosen per class
on the fold's *validation* part (never the test part) to maximise F1, and travel in the checkpoint
(``meta["thresholds"]``) and in results.json. Where none is known — a class without validation
positives, or a checkpoint written before thresholds were stored and no data to recompute them — the
threshold is :data:`DEFAULT_THRESHOLD`, and every caller says so through the returned source.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

DEFAULT_THRESHOLD = 0.5


def with_default(thresholds: Sequence[float] | np.ndarray | None, n_classes: int) -> np.ndarray:
    """(C,) float64 thresholds: those given, or :data:`DEFAULT_THRESHOLD` for every class when None."""
    if thresholds is None:
        return np.full(n_classes, DEFAULT_THRESHOLD)
    return np.asarray(list(thresholds), dtype=np.float64)


def choose_thresholds(y_true: np.ndarray, y_prob: np.ndarray) -> np.ndarray:
    """Per class, the probability threshold maximising F1 (use the validation part, never test).

    Args:
        y_true: (N, C) 0/1 labels; y_prob: (N, C) probabilities in [0, 1].
    Returns:
        (C,) thresholds; :data:`DEFAULT_THRESHOLD` for a class without positives.
    """
    from sklearn.metrics import precision_recall_curve

    thresholds = np.full(y_true.shape[1], DEFAULT_THRESHOLD)
    for c in range(y_true.shape[1]):
        if y_true[:, c].sum() == 0:
            continue
        precision, recall, thr = precision_recall_curve(y_true[:, c], y_prob[:, c])
        f1 = 2 * precision[:-1] * recall[:-1] / np.clip(precision[:-1] + recall[:-1], 1e-12, None)
        thresholds[c] = float(thr[int(np.argmax(f1))])
    return thresholds


def decision_thresholds(meta: Mapping, ds=None, model=None, device: str = "auto") -> tuple[np.ndarray, str]:
    """The per-class decision thresholds of a checkpoint, and where they come from.

    Args:
        meta: the checkpoint's metadata.
        ds, model: the dataset it was trained on (an ``ECGDataset``) and the loaded model; used only for a
            checkpoint without stored thresholds, to recompute them on its fold's validation part.
    Returns:
        ((C,) float64 thresholds in [0, 1] in ``meta["label_names"]`` order, source) with source
        ``"checkpoint"``, ``"validation"`` (recomputed) or ``"default 0.5"``.
    """
    n = len(meta.get("label_names") or [])
    stored = meta.get("thresholds")
    if stored is not None and len(stored) == n:
        return np.asarray(stored, dtype=np.float64), "checkpoint"
    if ds is not None and model is not None:
        from ecgcore.folds import get_fold
        from ecgcore.inference import predict_proba

        fold = get_fold(ds.records, ds.labels.any(axis=1), meta["plan"], meta["fold"])
        val_prob = predict_proba(model, ds.signals[fold.val], device)
        return choose_thresholds(ds.labels[fold.val], val_prob), "validation"
    return with_default(None, n), f"default {DEFAULT_THRESHOLD:g}"


def thresholds_of_results(results: Mapping) -> list[float]:
    """A run's decision thresholds as its results.json stores them (the default where it stores none)."""
    names = list(results.get("label_names") or results.get("per_class", {}).keys())
    return with_default(results.get("thresholds"), len(names)).tolist()
