"""Bootstrap intervals: every resample as integer count weights, all resamples scored at once with numpy.

A resample of the N records with replacement is the same as the original records weighted by how
often each was drawn, so B resamples are one ``weights: (B, N) int counts`` matrix. Scores are sorted
once per class (and tied scores grouped once); every resample's weighted TP and FP at each distinct
threshold are then running sums of its weights along that order, positives and negatives apart. The figures equal scikit-learn's
``average_precision_score`` / ``roc_auc_score`` / ``f1_score`` on the resampled arrays (up to float
rounding) without their per-call input checks, which were nearly all of the time of a Python loop.

Draws are those of the former loops: ``np.random.default_rng(seed)``, then per resample
``rng.integers(0, N, N)``. numpy only (no scikit-learn import).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

BLOCK_ELEMENTS = 1 << 17  # resamples x values scored at a time: 1 MiB float64 blocks stay in cache


def resample_counts(n_records: int, n_resamples: int, seed: int) -> np.ndarray:
    """(B, N) int64: how often each record is drawn in each resample, from the same draws as
    ``rng = np.random.default_rng(seed)`` and, per resample, ``rng.integers(0, N, N)``."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_resamples, n_records), np.int64)
    for b in range(n_resamples):
        counts[b] = np.bincount(rng.integers(0, n_records, n_records), minlength=n_records)
    return counts


def percentile_interval(values: np.ndarray) -> list[float] | None:
    """[2.5th, 97.5th] percentile of the kept resamples' values (K,); None when there are none."""
    return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))] if len(values) else None


class Ranking(NamedTuple):
    """One binary problem's M scores sorted once (descending, stable) and tied scores grouped into the G
    distinct thresholds. Positions index the cumulative weights of the positives (negatives) in that
    order with a leading 0: position j = the first j of them, i.e. weighted TP (FP) above a cut."""

    pos_order: np.ndarray  # (P,) indices of the positives, highest score first
    neg_order: np.ndarray  # (Q,) the same for the negatives
    ap_tp: np.ndarray  # (Gp,) TP position at each threshold whose tie group holds a positive
    ap_fp: np.ndarray  # (Gp,) FP position at those thresholds
    auc_tp: np.ndarray  # (Gn,) TP position at each threshold whose tie group holds a negative
    auc_tp_before: np.ndarray  # (Gn,) TP position at the threshold before it
    auc_fp: np.ndarray  # (Gn,) FP position at those thresholds
    auc_fp_before: np.ndarray  # (Gn,)


def rank(y_true: np.ndarray, y_score: np.ndarray) -> Ranking:
    """The :class:`Ranking` of y_true: (M,) {0,1} by y_score: (M,); M >= 1."""
    order = np.argsort(-y_score, kind="stable")
    positive = y_true[order] == 1
    ends = np.append(np.flatnonzero(np.diff(y_score[order]) != 0), len(order) - 1)
    tp = np.cumsum(positive)[ends]
    fp = ends + 1 - tp
    tp_before, fp_before = np.append(0, tp[:-1]), np.append(0, fp[:-1])
    has_pos, has_neg = tp > tp_before, fp > fp_before
    return Ranking(
        order[positive], order[~positive], tp[has_pos], fp[has_pos],
        tp[has_neg], tp_before[has_neg], fp[has_neg], fp_before[has_neg],
    )  # fmt: skip


def _cumulative(weights: np.ndarray) -> np.ndarray:
    """(B, K+1): running sums of weights (B, K) along its rows, after a leading 0."""
    out = np.zeros((len(weights), weights.shape[1] + 1))
    np.cumsum(weights, axis=1, out=out[:, 1:])
    return out


def _ap_auc(r: Ranking, pos_weights: np.ndarray, neg_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step-wise AP and trapezoid ROC-AUC (B,) under each row of weights; NaN where a row weighs no
    positive or no negative. pos_weights: (B, P), neg_weights: (B, Q), float counts in r's orders.

    AP = sum over thresholds of (recall_k - recall_k-1) * precision_k (only thresholds that admit a
    positive have a recall step; precision 0 where nothing scores above; recall's 1/P taken out of the
    sum); ROC-AUC = trapezoids of (FPR, TPR) from (0, 0) (only thresholds that admit a negative have a
    width; 1/(P*Q) taken out)."""
    tp, fp = _cumulative(pos_weights), _cumulative(neg_weights)
    n_pos, n_neg = tp[:, -1], fp[:, -1]
    tp_at = tp[:, r.ap_tp]
    predicted = tp_at + fp[:, r.ap_fp]
    precision = np.divide(tp_at, predicted, out=np.zeros_like(tp_at), where=predicted > 0)
    recall_step = np.diff(tp_at, axis=1, prepend=0.0)
    fp_step = fp[:, r.auc_fp] - fp[:, r.auc_fp_before]
    tp_mid = tp[:, r.auc_tp] + tp[:, r.auc_tp_before]
    with np.errstate(divide="ignore", invalid="ignore"):
        ap = np.einsum("bk,bk->b", recall_step, precision) / n_pos
        auc = np.einsum("bk,bk->b", fp_step, tp_mid) / (2 * n_pos * n_neg)
    undefined = (n_pos == 0) | (n_neg == 0)
    ap[undefined], auc[undefined] = np.nan, np.nan
    return ap, auc


def _row_blocks(n_rows: int, row_length: int):
    """Slices of at most BLOCK_ELEMENTS // row_length rows (at least one) covering n_rows."""
    step = max(1, BLOCK_ELEMENTS // max(1, row_length))
    return (slice(start, start + step) for start in range(0, n_rows, step))


def weighted_ap_auc(y_true: np.ndarray, y_score: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AP and ROC-AUC (B,) of one binary problem under each row of weights, as scikit-learn's
    ``average_precision_score`` / ``roc_auc_score`` with that ``sample_weight`` (or on the resample).

    Args:
        y_true: (M,) {0,1}; y_score: (M,) scores; weights: (B, M) counts, int or float (a resample each).
    Returns:
        (ap (B,), roc_auc (B,)), NaN where the weighted data lack positives or negatives.
    """
    ap, auc = np.full(len(weights), np.nan), np.full(len(weights), np.nan)
    if len(y_true) == 0:
        return ap, auc
    r = rank(np.asarray(y_true), np.asarray(y_score, dtype=np.float64))
    weights = np.asarray(weights, dtype=np.float64)  # exact: integer counts
    for rows in _row_blocks(len(weights), len(y_true)):
        block = weights[rows]
        ap[rows], auc[rows] = _ap_auc(r, block.take(r.pos_order, axis=1), block.take(r.neg_order, axis=1))
    return ap, auc


def _micro_ap(y_true: np.ndarray, y_prob: np.ndarray, weights: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Micro AP (B,) over the valid classes of each resample: scikit-learn's ``average='micro'`` ravels
    (N, C) record-major; a left-out class is a zero weight. y_true, y_prob: (N, C); weights: (B, N)
    float counts; valid: (B, C) bool. Flattened weights are built a block of rows at a time."""
    ap = np.full(len(weights), np.nan)
    if y_true.size == 0:
        return ap
    r = rank(y_true.ravel(), y_prob.ravel())
    pos_record, pos_class = np.divmod(r.pos_order, y_true.shape[1])
    neg_record, neg_class = np.divmod(r.neg_order, y_true.shape[1])
    for rows in _row_blocks(len(weights), y_true.size):
        w, v = weights[rows], valid[rows]
        pos_weights = w.take(pos_record, axis=1) * v.take(pos_class, axis=1)
        neg_weights = w.take(neg_record, axis=1) * v.take(neg_class, axis=1)
        ap[rows] = _ap_auc(r, pos_weights, neg_weights)[0]
    return ap


def _f1_scores(y_true: np.ndarray, pred: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(macro F1 (B,), micro F1 (B,)) as scikit-learn's ``f1_score(..., zero_division=0)`` on each
    resample. y_true, pred: (N, C) {0,1}; w: (B, N) float counts. One class, (N, 1), is scikit-learn's binary
    case: macro over the labels 1 and 0, micro = accuracy (the resamples scored have both labels)."""
    tp, fp, fn = w @ (y_true * pred), w @ ((1 - y_true) * pred), w @ (y_true * (1 - pred))
    if y_true.shape[1] == 1:
        tn = w.sum(axis=1, keepdims=True) - tp - fp - fn
        tp, fp, fn = np.hstack([tp, tn]), np.hstack([fp, fn]), np.hstack([fn, fp])
    denom = 2 * tp + fp + fn
    per_class = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    tp_all, denom_all = tp.sum(axis=1), denom.sum(axis=1)
    micro = np.divide(2 * tp_all, denom_all, out=np.zeros_like(tp_all), where=denom_all > 0)
    return per_class.mean(axis=1), micro


def _checked(y_true: np.ndarray, y_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y as int64, probabilities as float64); ValueError for NaN or infinite probabilities, as
    scikit-learn raises for them (an interval of a broken prediction must not look like a number)."""
    p = np.asarray(y_prob, dtype=np.float64)
    if not np.isfinite(p).all():
        raise ValueError("the probabilities contain NaN or infinite values")
    return np.asarray(y_true).astype(np.int64), p


def macro_samples(
    y_true: np.ndarray, y_prob: np.ndarray, thresholds: np.ndarray | float, n: int, seed: int
) -> dict[str, np.ndarray]:
    """The macro figures of every kept resample, as ``metrics.bootstrap_ci`` scored them one at a time.

    Args:
        y_true: (N, C) {0,1}; y_prob: (N, C); thresholds: (C,) or one for all (predicted: y_prob >= it);
        n: resamples B; seed: of the draws (:func:`resample_counts`).
    Returns:
        {macro_pr_auc, micro_pr_auc, macro_roc_auc, f1_macro, f1_micro: (K,)} over the K resamples in
        which at least one class has both outcomes; AUC-type figures over those classes only, F1 over all.
    """
    y, p = _checked(y_true, y_prob)
    pred = (p >= thresholds).astype(np.int64)
    weights = resample_counts(len(y), n, seed).astype(np.float64)  # exact: small integer counts
    positives = weights @ y
    valid = (positives > 0) & (positives < len(y))
    kept = valid.any(axis=1)
    weights, valid = weights[kept], valid[kept]
    ap, auc = np.zeros(valid.shape), np.zeros(valid.shape)
    for c in range(y.shape[1]):
        ap[:, c], auc[:, c] = weighted_ap_auc(y[:, c], p[:, c], weights)
    n_valid = valid.sum(axis=1)
    f1_macro, f1_micro = _f1_scores(y, pred, weights)
    return {
        "macro_pr_auc": np.where(valid, ap, 0.0).sum(axis=1) / n_valid,
        "micro_pr_auc": _micro_ap(y, p, weights, valid),
        "macro_roc_auc": np.where(valid, auc, 0.0).sum(axis=1) / n_valid,
        "f1_macro": f1_macro,
        "f1_micro": f1_micro,
    }


def per_class_intervals(
    y_true: np.ndarray, y_prob: np.ndarray, names: Sequence[str], n: int, seed: int
) -> dict[str, dict[str, list[float] | None]]:
    """Per class, 95 % percentile intervals of AP and ROC-AUC over the resamples in which that class
    has both outcomes (the others are skipped for it).

    Args:
        y_true: (N, C) {0,1}; y_prob: (N, C); names: C class names; n: resamples B; seed: of the draws.
    Returns:
        {class: {"ap": [lo, hi] | None, "roc_auc": [lo, hi] | None}}.
    """
    y, p = _checked(y_true, y_prob)
    weights = resample_counts(len(y), n if len(y) else 0, seed).astype(np.float64)  # exact: integer counts
    out = {}
    for c, name in enumerate(names):
        ap, auc = weighted_ap_auc(y[:, c], p[:, c], weights)
        kept = ~np.isnan(ap)
        out[name] = {"ap": percentile_interval(ap[kept]), "roc_auc": percentile_interval(auc[kept])}
    return out
