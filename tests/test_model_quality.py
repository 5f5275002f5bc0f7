"""ecgcore.model_quality: how good a run group is, in one sentence, with the flags a reader needs."""

from ecgcore.model_quality import run_quality
from ecgcore.model_specs import SPECS

REAL = "ptbxl-01fab926"  # the real part's dataset name, as the reference files record it


def test_five_folds_say_mean_spread_and_epochs():
    results = {k: {"macro_pr_auc": 0.75 + 0.01 * k} for k in range(5)}
    recipes = dict.fromkeys(range(5), {"epochs": 40})
    q = run_quality("cnn1d", "default", results, recipes, dict.fromkeys(range(5), 40), REAL)
    assert q.n_folds == 5 and abs(q.macro_pr_auc - 0.77) < 1e-9 and q.macro_pr_auc_sd > 0
    assert q.sentence() == "cnn1d: test macro PR-AUC 0.770 ± 0.016 over 5 folds (40 epochs)"
    assert q.flags == []


def test_one_fold_has_no_spread_and_a_short_run_is_flagged():
    q = run_quality("cnn1d", "quick", {0: {"macro_pr_auc": 0.48}}, {0: {"epochs": 3}}, {0: 3}, REAL)
    assert q.macro_pr_auc_sd is None and "on 1 fold (no spread from one fold)" in q.sentence()
    assert "± 0.000" not in q.sentence() and "None" not in q.sentence()
    assert any("default trains 40" in f for f in q.flags)
    assert any("far below" in f for f in q.flags)


def test_fewer_epochs_than_its_recipe_and_other_data():
    q = run_quality("cnn1d", "default", {0: {"macro_pr_auc": 0.1}}, {0: {"epochs": 40}}, {0: 8}, "demo")
    assert q.flags == ["trained 8 of the 40 epochs of its recipe"]  # no reference on other data
    assert run_quality("cnn2d", "default", {}, {}, {}, REAL).sentence().endswith("is not known.")
    assert SPECS["cnn1d"].reference()["n_folds"] == 5


def test_one_epoch_is_singular_and_epoch_counts_sort_as_numbers():
    q = run_quality("cnn1d", "quick", {0: {"macro_pr_auc": 0.3}}, {0: {"epochs": 1}}, {0: 1}, REAL)
    assert q.sentence().endswith("on 1 fold (no spread from one fold) (1 epoch)")
    assert "its recipe trains 1 epoch; cnn1d's default trains 40" in q.flags
    mixed = run_quality("cnn1d", "m", {0: {"macro_pr_auc": 0.7}, 1: {"macro_pr_auc": 0.7}}, {}, {0: 8, 1: 10}, "demo")
    assert mixed.sentence().endswith("(8, 10 epochs)")
