"""ecgcore.app.results (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgcore.app import results
from ecgcore.evaluate import comparison_table
from ecgcore.metrics import per_class_rates


@pytest.fixture
def trained_root(trained_runs) -> Path:
    return trained_runs["cnn1d"].parents[3]


@pytest.fixture
def cnn1d_results(trained_runs) -> dict:
    return json.loads((trained_runs["cnn1d"] / "results.json").read_text())


def test_metrics_and_per_class_tables(cnn1d_results):
    m = results.metrics_table(cnn1d_results).set_index("metric")
    assert m.loc["macro PR-AUC (AP)", "value"] == cnn1d_results["macro_pr_auc"]
    lo, hi = cnn1d_results["ci95"]["macro_pr_auc"]
    assert m.loc["macro PR-AUC (AP)", "95% CI"] == f"{lo:.3f}–{hi:.3f}"
    per_class = results.per_class_table(cnn1d_results)
    assert list(per_class["class"]) == cnn1d_results["label_names"]
    assert (per_class["TP"] + per_class["FN"] == per_class["support"]).all()
    for name, row in per_class.set_index("class").iterrows():  # the stored figures, one implementation
        stored = cnn1d_results["per_class"][name]
        assert (
            row["sensitivity"] == stored["sensitivity"] and [[row.TN, row.FP], [row.FN, row.TP]] == stored["confusion"]
        )


def test_per_class_ci_is_the_macro_bootstrap_per_class(cnn1d_results):
    y_true, y_prob, names = results.test_arrays(cnn1d_results)
    ci = results.per_class_ci(y_true, y_prob, names, n=30)
    assert ci == results.per_class_ci(y_true, y_prob, names, n=30)  # seeded
    table = results.per_class_table(cnn1d_results, ci).set_index("class")
    for name in names:
        ap = cnn1d_results["per_class"][name]["ap"]
        if ap is None:
            assert ci[name]["ap"] is None
            continue
        lo, hi = ci[name]["ap"]
        assert 0 <= lo <= hi <= 1 and table.loc[name, "AP 95% CI"] == f"{lo:.3f}–{hi:.3f}"
    # one class, all records positive in every resample → no interval
    assert results.per_class_ci(np.ones((4, 1), int), np.full((4, 1), 0.5), ["X"], n=5) == {
        "X": {"ap": None, "roc_auc": None}
    }


def test_confusion_at_thresholds(cnn1d_results):
    matrices, thresholds, table = results.confusion_at(cnn1d_results)
    for name in cnn1d_results["label_names"]:
        assert matrices[name] == cnn1d_results["per_class"][name]["confusion"]  # the validation-chosen ones
    assert list(thresholds.values()) == cnn1d_results["thresholds"]
    everything, _, t0 = results.confusion_at(cnn1d_results, 0.0)
    assert (t0["FN"] == 0).all() and (t0["TN"] == 0).all() and (t0["sensitivity"] == 1).all()
    n = len(cnn1d_results["test_true"])
    assert all(sum(map(sum, m)) == n for m in everything.values())
    first = cnn1d_results["label_names"][0]
    _, thr, _ = results.confusion_at(cnn1d_results, {first: 0.9})
    assert thr[first] == 0.9 and list(thr.values())[1:] == cnn1d_results["thresholds"][1:]
    y_true, y_prob, names = results.test_arrays(cnn1d_results)
    rates = per_class_rates(y_true, y_prob, np.full(len(names), 0.3), names)
    _, _, t3 = results.confusion_at(cnn1d_results, 0.3)
    assert list(t3["PPV"]) == [r["ppv"] for r in rates] and list(t3["F1"]) == [r["f1"] for r in rates]


def test_folds_table_and_mean_sd(cnn1d_results):
    other = dict(cnn1d_results, macro_pr_auc=cnn1d_results["macro_pr_auc"] + 0.1)
    t = results.folds_table({0: cnn1d_results, 1: other})
    assert list(t["fold"]) == ["0", "1", "mean", "SD"]
    assert t.set_index("fold").loc["mean", "macro PR-AUC (AP)"] == pytest.approx(cnn1d_results["macro_pr_auc"] + 0.05)
    assert "n = 2 folds" in results.mean_sd_text({0: cnn1d_results, 1: other})
    assert results.mean_sd_text({}) == "—"


def test_model_comparison_matches_evaluate(demo_ds, trained_root):
    mine = results.model_comparison(demo_ds.name, demo_ds.label_set, root=trained_root)
    pd.testing.assert_frame_equal(mine, comparison_table(demo_ds, root=trained_root))
    wide = results.side_by_side(mine)
    assert list(wide.columns) == ["fold", "cnn1d", "cnn2d", "cnn2d − cnn1d"]
    assert results.side_by_side(pd.DataFrame(columns=mine.columns)).empty


def test_reference_rows_are_labelled(cnn1d_results):
    t = results.reference_with_runs({"cnn1d": {0: cnn1d_results}}, "demo data")
    assert t.iloc[0]["kind"] == "your runs" and t.iloc[0]["data"] == "demo data"
    ref = t[t["kind"] != "your runs"]
    assert len(ref) >= 4 and ref["data"].notna().all() and ref["protocol"].notna().all()
    assert list(results.reference_with_runs({}, "x")["kind"].unique()) == ["reference (not run here)"]


def test_confusion_view_is_the_figure_at_other_thresholds(cnn1d_results):
    from ecgcore.figures.metrics import confusion_figure

    matrices, thresholds, _ = results.confusion_at(cnn1d_results)
    template = confusion_figure(matrices, thresholds).to_dict()
    for thr in (0.0, 0.37, 1.0):
        m, t, _ = results.confusion_at(cnn1d_results, thr)
        fast = results.confusion_view(template, m, t)
        slow = confusion_figure(m, t)
        for a, b in zip(fast["data"], slow.data):
            assert np.array_equal(a["z"], np.asarray(b.z)) and a["zmax"] == b.zmax
        assert fast["layout"]["annotations"] == slow.to_dict()["layout"]["annotations"]
