"""ecgcore.bootstrap: the count-weighted, all-resamples-at-once intervals equal the former per-resample
scikit-learn loops (kept below as the oracle, verbatim but for names) on tied scores, rare and empty
classes, one to 23 classes and 5 to 300 records."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from ecgcore import bootstrap
from ecgcore.app.results import per_class_ci
from ecgcore.bootstrap import resample_counts, weighted_ap_auc
from ecgcore.metrics import MACRO_METRICS, bootstrap_ci, ranking_metrics


def _valid_classes(y_true: np.ndarray) -> np.ndarray:
    pos = y_true.sum(axis=0)
    return np.flatnonzero((pos > 0) & (pos < len(y_true)))


def loop_bootstrap_ci(y_true, y_prob, thresholds, n=200, seed=0):
    """ecgcore.metrics.bootstrap_ci before ecgcore.bootstrap: one scikit-learn call per resample."""
    rng = np.random.default_rng(seed)
    samples: dict[str, list[float]] = {k: [] for k in MACRO_METRICS}
    pred = (y_prob >= thresholds).astype(np.int64)
    for _ in range(n):
        idx = rng.integers(0, len(y_true), len(y_true))
        yt = y_true[idx]
        if len(_valid_classes(yt)) == 0:
            continue
        for k, v in ranking_metrics(yt, y_prob[idx]).items():
            samples[k].append(v)
        samples["f1_macro"].append(f1_score(yt, pred[idx], average="macro", zero_division=0))
        samples["f1_micro"].append(f1_score(yt, pred[idx], average="micro", zero_division=0))
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if v else None for k, v in samples.items()}


def loop_per_class_ci(y_true, y_prob, names, n=200, seed=0):
    """ecgcore.app.results.per_class_ci before ecgcore.bootstrap: two scikit-learn calls per resample and class."""
    rng = np.random.default_rng(seed)
    samples = {name: {"ap": [], "roc_auc": []} for name in names}
    n_rec = len(y_true)
    for _ in range(n if n_rec else 0):
        idx = rng.integers(0, n_rec, n_rec)
        yt, yp = y_true[idx], y_prob[idx]
        pos = yt.sum(axis=0)
        for c, name in enumerate(names):
            if 0 < pos[c] < n_rec:
                samples[name]["ap"].append(average_precision_score(yt[:, c], yp[:, c]))
                samples[name]["roc_auc"].append(roc_auc_score(yt[:, c], yp[:, c]))
    return {
        name: {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] if v else None for k, v in s.items()}
        for name, s in samples.items()
    }


def assert_same_interval(new, old, where: str) -> None:
    if old is None:
        assert new is None, where
    else:
        assert new is not None and np.allclose(new, old, rtol=1e-9, atol=1e-12), (where, new, old)


def tied_data(n_rec: int, n_cls: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """y (N, C) with varied prevalence, one rare class (1–2 positives) and one without positives;
    probabilities rounded to 1 or 2 decimals (many ties)."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n_rec, n_cls)) < rng.uniform(0.1, 0.6, n_cls)).astype(np.int64)
    y[:, 0] = 0
    y[rng.choice(n_rec, 1 + seed % 2, replace=False), 0] = 1  # rare
    y[:, -1] = 0  # no positives
    p = np.clip(0.35 * y + 0.65 * rng.random((n_rec, n_cls)), 0, 1)
    return y, np.round(p, 1 + seed % 2)


CASES = [(5, 5, 0), (12, 5, 1), (40, 5, 2), (300, 5, 3), (9, 23, 4), (60, 23, 5), (300, 23, 6)]


@pytest.mark.parametrize(("n_rec", "n_cls", "seed"), CASES)
def test_per_class_intervals_equal_the_scikit_learn_loop(n_rec, n_cls, seed):
    y, p = tied_data(n_rec, n_cls, seed)
    names = [f"c{c}" for c in range(n_cls)]
    new, old = per_class_ci(y, p, names, n=60, seed=seed), loop_per_class_ci(y, p, names, n=60, seed=seed)
    assert list(new) == names and old[names[-1]] == {"ap": None, "roc_auc": None}
    for name in names:
        assert list(new[name]) == ["ap", "roc_auc"]
        for k in ("ap", "roc_auc"):
            assert_same_interval(new[name][k], old[name][k], f"{name} {k}")


@pytest.mark.parametrize(("n_rec", "n_cls", "seed"), CASES)
def test_macro_intervals_equal_the_scikit_learn_loop(n_rec, n_cls, seed):
    y, p = tied_data(n_rec, n_cls, seed)
    thr = np.random.default_rng(seed).choice([0.3, 0.5, 0.7, 1.1], n_cls)  # 1.1: a class never predicted
    new, old = bootstrap_ci(y, p, thr, 60, seed=seed), loop_bootstrap_ci(y, p, thr, 60, seed=seed)
    assert list(new) == list(MACRO_METRICS)
    for k in MACRO_METRICS:
        assert_same_interval(new[k], old[k], k)


@pytest.mark.parametrize("n_rec", [5, 8, 50])
def test_only_rare_classes_skip_resamples_and_one_class_is_sklearn_binary(n_rec):
    """Few valid classes per resample (one rare class, or none: all skipped), and C = 1, where
    scikit-learn's F1 takes (N, 1) as binary (macro over labels 0 and 1, micro = accuracy)."""
    rng = np.random.default_rng(n_rec)
    y = np.zeros((n_rec, 3), np.int64)
    y[0, 0], y[:, 2] = 1, 1
    p = np.round(rng.random((n_rec, 3)), 1)
    for yy, pp, thr in ((y, p, np.full(3, 0.5)), (y[:, :1], p[:, :1], np.array([0.4])), (y[:, 1:], p[:, 1:], 0.5)):
        new, old = bootstrap_ci(yy, pp, thr, 80, seed=2), loop_bootstrap_ci(yy, pp, thr, 80, seed=2)
        for k in MACRO_METRICS:
            assert_same_interval(new[k], old[k], k)
    assert all(v is None for v in bootstrap_ci(y[:, 1:], p[:, 1:], 0.5, 30).values())
    y1 = (rng.random((n_rec, 1)) < 0.5).astype(np.int64)
    y1[:2, 0] = [0, 1]
    new, old = bootstrap_ci(y1, p[:, :1], np.array([0.5]), 80, 1), loop_bootstrap_ci(y1, p[:, :1], 0.5, 80, 1)
    for k in MACRO_METRICS:
        assert_same_interval(new[k], old[k], k)


def test_any_block_size_gives_the_same_intervals(monkeypatch):
    """Resamples are scored a block of rows at a time; one row, or a few, at a time changes nothing."""
    y, p = tied_data(70, 6, 1)
    names, thr = list("ABCDEF"), np.full(6, 0.5)
    old_ci, old_macro = loop_per_class_ci(y, p, names, 40, 3), loop_bootstrap_ci(y, p, thr, 40, 3)
    for block in (1, 150, 1000):
        monkeypatch.setattr(bootstrap, "BLOCK_ELEMENTS", block)
        new_ci, new_macro = per_class_ci(y, p, names, 40, 3), bootstrap_ci(y, p, thr, 40, 3)
        for name in names:
            for k in ("ap", "roc_auc"):
                assert_same_interval(new_ci[name][k], old_ci[name][k], f"{block} {name} {k}")
        for k in MACRO_METRICS:
            assert_same_interval(new_macro[k], old_macro[k], f"{block} {k}")


def test_no_records_and_no_resamples():
    empty = np.zeros((0, 2))
    assert per_class_ci(empty.astype(int), empty, ["A", "B"], n=10) == loop_per_class_ci(empty, empty, ["A", "B"], 10)
    assert bootstrap_ci(empty.astype(int), empty, np.full(2, 0.5), 10) == dict.fromkeys(MACRO_METRICS)
    y, p = tied_data(20, 3, 0)
    assert bootstrap_ci(y, p, np.full(3, 0.5), 0) == dict.fromkeys(MACRO_METRICS)


def test_counts_are_the_loops_draws():
    counts = resample_counts(17, 5, seed=4)
    rng = np.random.default_rng(4)
    for row in counts:
        assert (row == np.bincount(rng.integers(0, 17, 17), minlength=17)).all()


@pytest.mark.parametrize("decimals", [1, 2, 8])
def test_weighted_ap_auc_is_sklearn_with_sample_weight_and_on_the_resample(decimals):
    rng = np.random.default_rng(decimals)
    y = (rng.random(80) < 0.3).astype(np.int64)
    score = np.round(0.3 * y + 0.7 * rng.random(80), decimals)
    weights = resample_counts(80, 6, seed=decimals)
    ap, auc = weighted_ap_auc(y, score, weights)
    for b, w in enumerate(weights):
        idx = np.repeat(np.arange(80), w)
        for metric, ours in ((average_precision_score, ap[b]), (roc_auc_score, auc[b])):
            assert ours == pytest.approx(metric(y, score, sample_weight=w), rel=1e-12, abs=1e-15)
            assert ours == pytest.approx(metric(y[idx], score[idx]), rel=1e-12, abs=1e-15)
    # no positives under a weighting: undefined
    w = np.where(y == 1, 0, 1)[None, :]
    assert np.isnan(weighted_ap_auc(y, score, w)).all()
