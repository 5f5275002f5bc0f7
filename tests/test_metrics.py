"""ecgcore.metrics against small hand-computed examples: ranking metrics, F1-maximising thresholds,
confusion matrices, bootstrap intervals, the fold summary, and the results JSON files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from sklearn.metrics import f1_score, multilabel_confusion_matrix

from ecgcore.errors import ResultsError
from ecgcore.fileio import write_json
from ecgcore.metrics import (
    bootstrap_ci,
    confusion_matrices,
    evaluate_predictions,
    per_class_rates,
    ranking_metrics,
    read_json,
    summarize_folds,
)
from ecgcore.thresholds import choose_thresholds

# Two classes, four records. Class 0 ranks pos, neg, pos, neg; class 1 too (worked out by hand below).
Y = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
P = np.array([[0.9, 0.2], [0.8, 0.6], [0.7, 0.4], [0.1, 0.5]])


def test_ranking_metrics_by_hand():
    m = ranking_metrics(Y, P)
    # AP per class = (1/1 + 2/3) / 2; ROC-AUC per class = 3 of 4 pos/neg pairs ordered right
    assert m["macro_pr_auc"] == pytest.approx(5 / 6)
    assert m["macro_roc_auc"] == pytest.approx(0.75)
    # micro: 8 pairs ranked 1,0,1,1,0,1,0,0 -> (1 + 2/3 + 3/4 + 4/6) / 4
    assert m["micro_pr_auc"] == pytest.approx((1 + 2 / 3 + 3 / 4 + 4 / 6) / 4)


def test_classes_without_both_outcomes_are_left_out():
    y = np.c_[Y, np.zeros(4, int), np.ones(4, int)]
    p = np.c_[P, [0.3, 0.2, 0.9, 0.1], [0.5, 0.5, 0.5, 0.5]]
    m = ranking_metrics(y, p)
    assert m["macro_pr_auc"] == pytest.approx(5 / 6) and m["macro_roc_auc"] == pytest.approx(0.75)
    assert ranking_metrics(np.zeros((3, 2)), np.full((3, 2), 0.5)) == {
        "macro_pr_auc": None,
        "micro_pr_auc": None,
        "macro_roc_auc": None,
    }
    r = evaluate_predictions(y, p, ["A", "B", "C", "D"], n_bootstrap=0)
    assert r["n_classes_scored"] == 2
    assert r["per_class"]["C"]["ap"] is None and r["per_class"]["C"]["roc_auc"] is None
    assert r["per_class"]["D"]["roc_auc"] is None


def test_thresholds_by_hand():
    # class 0: F1 at 0.9 = 2/3, at 0.8 = 1/2, at 0.7 = 4/5 (best), at 0.1 = 2/3
    # class 1: F1 at 0.6 = 2/3, at 0.5 = 1/2, at 0.4 = 4/5 (best), at 0.2 = 2/3
    np.testing.assert_allclose(choose_thresholds(Y, P), [0.7, 0.4])
    # a class with no positives keeps 0.5
    np.testing.assert_allclose(choose_thresholds(np.c_[Y, np.zeros(4)], np.c_[P, P[:, 0]]), [0.7, 0.4, 0.5])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_thresholds_maximise_f1_on_the_given_data(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((120, 4)) < [0.1, 0.3, 0.5, 0.8]).astype(int)
    p = np.clip(0.35 * y + rng.random((120, 4)) * 0.8, 0, 1)
    thr = choose_thresholds(y, p)
    for c in range(4):
        best = max(f1_score(y[:, c], p[:, c] >= t) for t in np.unique(p[:, c]))
        assert f1_score(y[:, c], p[:, c] >= thr[c]) == pytest.approx(best)
        assert thr[c] in p[:, c]  # a threshold is one of the scores (predict = prob >= threshold)


def test_confusion_matrices_by_hand_and_vs_sklearn():
    cm = confusion_matrices(Y, P, np.array([0.7, 0.4]))
    assert cm.shape == (2, 2, 2)
    # class 0 at 0.7 predicts 1,1,1,0 against 1,0,1,0: TN 1, FP 1, FN 0, TP 2
    np.testing.assert_array_equal(cm[0], [[1, 1], [0, 2]])
    np.testing.assert_array_equal(cm[1], [[1, 1], [0, 2]])
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, (50, 5))
    p = rng.random((50, 5))
    thr = rng.random(5)
    np.testing.assert_array_equal(confusion_matrices(y, p, thr), multilabel_confusion_matrix(y, (p >= thr).astype(int)))


def test_evaluate_predictions_by_hand():
    r = evaluate_predictions(Y, P, ("A", "B"), thresholds=np.array([0.7, 0.4]), n_bootstrap=0)
    assert r["f1_macro"] == pytest.approx(0.8) and r["f1_micro"] == pytest.approx(0.8)
    # at 0.5: class 0 F1 0.8, class 1 predicts 0,1,0,1 -> F1 1/2; micro TP 3, FP 2, FN 1 -> 6/9
    assert r["f1_macro_at_0.5"] == pytest.approx(0.65)
    assert r["f1_micro_at_0.5"] == pytest.approx(2 / 3)
    a = r["per_class"]["A"]
    assert a["confusion"] == [[1, 1], [0, 2]]
    assert (a["sensitivity"], a["specificity"]) == (1.0, 0.5)
    assert a["ppv"] == pytest.approx(2 / 3) and a["f1"] == pytest.approx(0.8)
    assert a["support"] == 2 and a["threshold"] == 0.7
    assert a["ap"] == pytest.approx(5 / 6) and a["roc_auc"] == pytest.approx(0.75)
    assert r["n_records"] == 4 and r["ci95"] == {}
    json.dumps(r)  # JSON-able as written to results.json
    # no thresholds: 0.5
    r05 = evaluate_predictions(Y, P, ("A", "B"), n_bootstrap=0)
    assert r05["f1_macro"] == pytest.approx(0.65)
    # a class never predicted: PPV has no value (not a division by zero)
    r = evaluate_predictions(Y, P, ("A", "B"), thresholds=np.array([0.95, 0.95]), n_bootstrap=0)
    assert r["per_class"]["A"]["ppv"] is None and r["per_class"]["A"]["sensitivity"] == 0.0


def test_bootstrap_ci_contains_point_estimate():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 5)) < 0.3).astype(int)
    p = np.clip(0.3 * y + 0.7 * rng.random((200, 5)), 0, 1)
    thr = choose_thresholds(y, p)
    r = evaluate_predictions(y, p, list("ABCDE"), thr, n_bootstrap=100, seed=1)
    for k in ("macro_pr_auc", "micro_pr_auc", "macro_roc_auc", "f1_macro", "f1_micro"):
        lo, hi = r["ci95"][k]
        assert lo <= r[k] <= hi, k
        assert 0 < hi - lo < 0.3, k  # an interval, not a point and not everything
    # deterministic given the seed, different for another seed
    assert bootstrap_ci(y, p, thr, 50, seed=3) == bootstrap_ci(y, p, thr, 50, seed=3)
    assert bootstrap_ci(y, p, thr, 50, seed=3) != bootstrap_ci(y, p, thr, 50, seed=4)


def test_summarize_folds_mean_std():
    folds = [
        {"macro_pr_auc": 0.5, "macro_roc_auc": 0.8},
        {"macro_pr_auc": 0.7, "macro_roc_auc": None},
        {"macro_pr_auc": 0.6, "macro_roc_auc": 0.9},
    ]
    s = summarize_folds(folds)
    assert s["macro_pr_auc"]["mean"] == pytest.approx(0.6)
    assert s["macro_pr_auc"]["std"] == pytest.approx(0.1)  # sample std (ddof=1)
    assert s["macro_pr_auc"]["n_folds"] == 3
    assert s["macro_roc_auc"] == {
        "mean": pytest.approx(0.85),
        "std": pytest.approx(np.std([0.8, 0.9], ddof=1)),
        "n_folds": 2,
    }
    assert "f1_macro" not in s
    assert summarize_folds([{"macro_pr_auc": 0.4}])["macro_pr_auc"]["std"] is None  # one fold: no SD, not 0


def test_write_json_atomic_and_read_json(tmp_path):
    path = tmp_path / "sub" / "results.json"
    write_json(path, {"a": 1, "b": [1.5, None]})
    assert read_json(path) == {"a": 1, "b": [1.5, None]}
    # a failed write (not JSON-able) leaves the previous file intact and no temporary file behind
    with pytest.raises(TypeError):
        write_json(path, {"a": object()})
    assert read_json(path) == {"a": 1, "b": [1.5, None]}
    assert sorted(os.listdir(path.parent)) == ["results.json"]
    # a crash between the write and the rename leaves the old file in place too
    import ecgcore.metrics as metrics

    real_replace = os.replace
    try:
        metrics.os.replace = lambda *a: (_ for _ in ()).throw(OSError("crash"))
        with pytest.raises(OSError):
            write_json(path, {"a": 2})
    finally:
        metrics.os.replace = real_replace
    assert read_json(path)["a"] == 1


@pytest.mark.parametrize("content", ['{"a": 1', "", "\x00\xff garbage", "[1, 2]"])
def test_read_json_corrupt_raises_results_error(tmp_path, content):
    path = tmp_path / "results.json"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(ResultsError, match="results.json"):
        read_json(path)


def test_read_json_missing(tmp_path):
    with pytest.raises(ResultsError, match="does not exist"):
        read_json(tmp_path / "nope.json")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_per_class_rates_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = (rng.random((60, 4)) < [0.5, 0.2, 0.0, 1.0]).astype(int)  # class 2 no positives, class 3 no negatives
    p = rng.random((60, 4))
    thr = np.array([0.3, 0.5, 0.7, 0.9])
    rows = per_class_rates(y, p, thr, ["a", "b", "c", "d"])
    cms = multilabel_confusion_matrix(y, (p >= thr).astype(int))
    for row, cm, c in zip(rows, cms, range(4)):
        (tn, fp), (fn, tp) = cm
        assert (row["tn"], row["fp"], row["fn"], row["tp"]) == (tn, fp, fn, tp)
        assert row["sensitivity"] == (tp / (tp + fn) if tp + fn else None)
        assert row["specificity"] == (tn / (tn + fp) if tn + fp else None)
        assert row["ppv"] == (tp / (tp + fp) if tp + fp else None)
        if tp + fp + fn:
            assert row["f1"] == pytest.approx(f1_score(y[:, c], p[:, c] >= thr[c]))
        assert row["threshold"] == thr[c] and row["class"] == "abcd"[c]
    assert rows[2]["sensitivity"] is None and rows[3]["specificity"] is None
    # one threshold for all classes
    assert [r["threshold"] for r in per_class_rates(y, p, 0.5, list("abcd"))] == [0.5] * 4


def test_evaluate_predictions_per_class_come_from_per_class_rates():
    thr = np.array([0.75, 0.45])
    results = evaluate_predictions(Y, P, ["a", "b"], thr, n_bootstrap=0)
    for rates in per_class_rates(Y, P, thr, ["a", "b"]):
        c = results["per_class"][rates["class"]]
        assert c["confusion"] == [[rates["tn"], rates["fp"]], [rates["fn"], rates["tp"]]]
        for k in ("sensitivity", "specificity", "ppv", "threshold"):
            assert c[k] == rates[k]
        assert c["f1"] == (rates["f1"] or 0.0)
