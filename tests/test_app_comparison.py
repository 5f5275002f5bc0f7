"""ecgcore.app.comparison: run groups by protocol, the paired comparison as tables, recipes side by side."""

from __future__ import annotations

import json

import pytest

from ecgcore.app import comparison as cmp
from ecgcore.errors import ResultsError
from ecgcore.recipes import BY_NAME
from ecgcore.runs import RunInfo


def _run(model, fold, plan="cv5", name="default", label_set="superclass"):
    return RunInfo(f"/x/{model}@{name}/{plan}{fold}", "demo", label_set, model, plan, fold, {}, name)


def test_groups_by_protocol_and_default_pair():
    runs = [
        _run("cnn1d", 0),
        _run("cnn1d", 1),
        _run("cnn2d", 0),
        _run("cnn1d", 0, name="long"),
        _run("cnn1d", 0, "benchmark"),
    ]
    groups = cmp.run_groups(runs, "superclass", "cv5")
    assert list(groups) == ["cnn1d", "cnn1d · run long", "cnn2d"]  # run_paths.group_label
    assert sorted(groups["cnn1d"]) == [0, 1]
    assert list(cmp.run_groups(runs, "superclass", "benchmark")) == ["cnn1d"]
    assert cmp.plans_of(runs, "superclass") == ["cv5", "benchmark"]
    assert cmp.default_pair(list(groups)) == ("cnn1d", "cnn2d")
    assert cmp.default_pair(["a:x", "b:y", "c:z"]) == ("a:x", "b:y")
    assert cmp.default_pair(["a:x"]) is None
    assert "train 1–8, val 9, test 10" in cmp.protocol_label("benchmark")


def test_summary_and_per_fold_tables(trained_runs):
    r = json.loads((trained_runs["cnn1d"] / "results.json").read_text())
    a = {0: r, 1: dict(r, macro_pr_auc=r["macro_pr_auc"] + 0.1)}
    b = {0: dict(r, macro_pr_auc=r["macro_pr_auc"] - 0.05), 1: r}
    comp = cmp.compare(a, b, ("cnn1d:x", "cnn1d:y"))
    summary = cmp.summary_table(comp).set_index("metric")
    assert summary.loc["macro PR-AUC (AP)", "difference (mean)"] == pytest.approx(0.075)
    assert summary.loc["macro PR-AUC (AP)", "paired folds"] == 2
    assert "Wilcoxon p" in summary.columns
    per_fold = cmp.per_fold_table(comp, "macro_pr_auc")
    assert list(per_fold.columns) == ["fold", "cnn1d:x", "cnn1d:y", "cnn1d:x − cnn1d:y"]
    assert per_fold["cnn1d:x − cnn1d:y"].tolist() == pytest.approx([0.05, 0.1])
    with pytest.raises(ResultsError):
        cmp.compare({0: r}, {1: r}, ("a", "b"))
    groups = {"a": {0: _run("m", 0), 2: _run("m", 2)}, "b": {1: _run("m", 1)}}
    note = cmp.no_shared_fold_note(("a", "b"), groups, ({0: r}, {1: r}))
    assert "a: folds 0 (unreadable results: fold 2)" in note and "b: folds 1" in note


def test_recipes_side_by_side_and_warning():
    ra = {"model": "cnn1d", "epochs": 40, "lr": 0.003, "schedule": "onecycle", "augment": True, "fold": 0}
    rb = ra | {"model": "cnn2d", "epochs": 60, "crop_s": 2.5, "fold": 1}
    table = cmp.recipe_table({"A": ra, "B": rb}, {"A": {0: 12}, "B": {1: 30}}).set_index("setting")
    label = {name: BY_NAME[name].label for name in ("epochs", "augment", "crop_s")}  # the schema's labels
    assert table.loc[label["epochs"]].tolist() == ["40", "60"]
    assert table.loc[label["augment"]].tolist() == ["yes", "yes"]
    assert table.loc[label["crop_s"]].tolist() == ["off", "2.5"]
    assert table.loc["best epoch (per fold)"].tolist() == ["0: 12", "1: 30"]
    warning = cmp.recipe_warning({"A": ra, "B": rb})
    assert f"{label['epochs']}: 40 vs 60" in warning and label["crop_s"] in warning
    assert "Model:" not in warning and "fold" not in warning.lower()
    assert cmp.recipe_warning({"A": ra, "B": ra | {"model": "cnn2d", "fold": 3}}) is None
    assert "not recorded" in cmp.recipe_warning({"A": ra, "B": None})


def test_group_recipe_and_curves_of_real_runs(trained_runs):
    path = trained_runs["cnn1d"]
    group = {0: RunInfo(path, "demo", "superclass", "cnn1d", "cv5", 0, {})}
    assert cmp.group_recipe(group)["epochs"] == 1
    curves = cmp.training_curves({"cnn1d": group})
    assert list(curves) == ["cnn1d · fold 0"] and curves["cnn1d · fold 0"]
    assert cmp.group_results(group | {1: RunInfo(path.parent / "nope", "d", "s", "m", "cv5", 1, {})}, _read) == {
        0: _read(path)
    }


def _read(path):
    from ecgcore.metrics import read_json

    return read_json(path / "results.json")


def test_a_group_whose_folds_used_different_recipes_is_warned(tmp_path):
    from ecgcore.runs import RunInfo, write_status

    group = {}
    for k, epochs in ((0, 40), (1, 40), (2, 20)):
        path = tmp_path / f"fold{k}"
        write_status(path, state="done", config={"model": "cnn1d", "epochs": epochs, "fold": k})
        group[k] = RunInfo(path, "demo", "superclass", "cnn1d", "cv5", k, {})
    warning = cmp.fold_recipe_warning("cnn1d", group)
    assert "fold 2: Epochs 20 (fold 0: 40)" in warning and "first fold's" in warning
    assert cmp.fold_recipe_warning("cnn1d", {k: group[k] for k in (0, 1)}) is None


def test_a_run_with_several_seeds_is_one_group_whose_folds_are_seed_means(tmp_path):
    from ecgcore.runs import RunInfo

    runs = [
        RunInfo(tmp_path / f"{name}{k}", "demo", "superclass", "cnn1d", "cv5", k, {}, name)
        for name in ("fair", "fair-s1", "fair-s2")
        for k in (0, 1)
    ]
    assert list(cmp.run_groups(runs, "superclass", "cv5")) == ["cnn1d · run fair"]  # seeds are not groups of their own
    seeds = cmp.seed_groups(runs, "superclass", "cv5")["cnn1d · run fair"]
    assert sorted(seeds) == [0, 1, 2] and sorted(seeds[2]) == [0, 1]
    score = {"fair": 0.60, "fair-s1": 0.70, "fair-s2": 0.80}

    def read(path):
        name = path.name[:-1]
        return {"macro_pr_auc": score[name] + int(path.name[-1]) / 100, "label_names": ["A"], "plan": "cv5"}

    means, n = cmp.seed_averaged_results(seeds, read)
    assert (
        n == 3 and means[0]["macro_pr_auc"] == pytest.approx(0.70) and means[1]["macro_pr_auc"] == pytest.approx(0.71)
    )
