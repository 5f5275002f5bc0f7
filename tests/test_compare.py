"""Two-group comparison with the paired Wilcoxon test (ecgcore.compare)."""

from __future__ import annotations

import pytest

from ecgcore.compare import compare_groups, comparison_frame, recipe_differences, smallest_p, wilcoxon_p
from ecgcore.errors import ResultsError
from ecgcore.metrics import MACRO_METRICS


def _group(values: list[float], plan: str = "cv5") -> dict[int, dict]:
    return {k: {m: v for m in MACRO_METRICS} | {"plan": plan, "label_names": ["A", "B"]} for k, v in enumerate(values)}


def test_wilcoxon_by_hand():
    # all 5 differences positive: W- = 0, exact two-sided p = 2 * 1/32
    assert wilcoxon_p([0.01, 0.02, 0.03, 0.04, 0.05]) == pytest.approx(0.0625)
    # one negative of rank 2: W- = 2; P(W <= 2) = |{}, {1}, {2}| / 32 = 3/32, two-sided 6/32
    assert wilcoxon_p([0.01, -0.02, 0.03, 0.04, 0.05]) == pytest.approx(0.1875)
    assert wilcoxon_p([0.0, 0.0]) is None
    assert smallest_p(5) == pytest.approx(0.0625)


def test_compare_groups_paired_difference():
    a = _group([0.70, 0.72, 0.74, 0.71, 0.75])
    b = _group([0.69, 0.70, 0.71, 0.67, 0.70])
    out = compare_groups(a, b, ("cnn1d:long", "cnn1d:default"))
    m = out["metrics"]["macro_pr_auc"]
    assert m["diff"] == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])
    assert m["mean"] == pytest.approx(0.03)
    assert m["sd"] == pytest.approx(0.0158114, rel=1e-4)
    assert m["p_wilcoxon"] == pytest.approx(0.0625)
    assert "0.0625" in out["note"] and "cannot be reached" in out["note"]
    assert len(out["per_fold"]) == 5 * len(MACRO_METRICS)
    frame = comparison_frame(out)
    assert frame.set_index("metric").loc["macro_pr_auc", "mean_a"] == pytest.approx(0.724)


def test_unpaired_folds_and_missing_values():
    a = _group([0.7, 0.8, 0.9])
    b = _group([0.6, 0.7])
    a[1]["f1_macro"] = None
    out = compare_groups(a, b)
    assert out["folds"] == [0, 1] and out["unpaired"] == {"a": [2], "b": []}
    assert out["metrics"]["f1_macro"]["n"] == 1 and out["metrics"]["f1_macro"]["sd"] is None


def test_refuses_different_tasks_or_no_common_fold():
    with pytest.raises(ResultsError, match="same plan"):
        compare_groups(_group([0.7]), _group([0.6], plan="benchmark"))
    with pytest.raises(ResultsError, match="no fold"):
        compare_groups(_group([0.7]), {3: _group([0.6])[0]})


def test_recipe_differences():
    a = {"epochs": 40, "lr": 0.003, "fold": 0, "device": "auto", "augment": True}
    b = {"epochs": 60, "lr": 0.003, "fold": 3, "device": "cpu", "augment": True}
    assert recipe_differences(a, b) == ["Epochs: 40 vs 60"]  # labels from the recipe schema; fold, device not compared
    assert recipe_differences(a, a) == []
    assert recipe_differences(a, a | {"crop_s": 2.5}) == ["Random crops (s): off vs 2.5"]  # never "None"


def test_folds_of_one_group_with_different_recipes_are_named():
    from ecgcore.recipes import fold_recipe_differences

    same = {"epochs": 40, "lr": 0.003}
    assert fold_recipe_differences({0: same, 1: same, 2: None}) == []
    assert fold_recipe_differences({0: same, 3: same | {"epochs": 20}}) == ["fold 3: Epochs 20 (fold 0: 40)"]


def test_groups_evaluated_on_different_datasets_are_not_paired():
    """Two demo sets share the folder name "demo"; their results' fingerprints differ: refused, not paired."""
    a = {k: {"macro_pr_auc": 0.7, "dataset": {"fingerprint": "aaa"}} for k in range(3)}
    b = {k: {"macro_pr_auc": 0.6, "dataset": {"fingerprint": "bbb"}} for k in range(3)}
    with pytest.raises(ResultsError, match="same dataset"):
        compare_groups(a, b, ("x", "y"))
