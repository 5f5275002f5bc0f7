"""The Evaluate page through AppTest: metrics and per-class CIs, the threshold fragment, the errors view
and its hand-over to Saliency, plan labels, and any two (named) runs compared with their recipes.
(The Evaluate tests that used to be in test_app_pages.py are here, on the page's readable names.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.run_paths import RunPaths
from tests.app.helpers import charts, page, table, texts

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "streamlit_app.py"


def test_evaluate_metrics_curves_and_downloads(app, trained_runs):
    at = page(app, "evaluate")
    metrics = table(at, "metric", "95% CI")
    assert {"macro PR-AUC (AP)", "micro PR-AUC (AP)", "macro ROC-AUC", "macro F1", "micro F1"} <= set(metrics["metric"])
    results = json.loads((trained_runs["cnn1d"] / "results.json").read_text())
    assert metrics.set_index("metric").loc["macro PR-AUC (AP)", "value"] == pytest.approx(results["macro_pr_auc"])
    per_class = table(at, "support", "AP 95% CI", "ROC-AUC 95% CI")
    assert len(per_class) == 5 and (per_class["AP 95% CI"] != "—").any()
    roc = [c for c in charts(at) if "ROC" in c["layout"]["title"]["text"]][0]
    assert any((t.get("meta") or {}).get("role") == "operating point" for t in roc["data"])
    assert {"results.json", "confusion.png (as shown)"} <= {b.label for b in at.download_button}
    assert "mean" in set(table(at, "fold", "macro PR-AUC (AP)")["fold"])
    assert "protocol cv5" in texts(at)


def test_evaluate_threshold_slider_changes_the_confusion_matrices(app):
    at = page(app, "evaluate")
    chosen = table(at, "class", "TP", without=("support",))
    at.radio(key="ev_thr_mode").set_value("global").run()
    at.slider(key="ev_thr").set_value(0.0).run()
    everything = table(at, "class", "TP", without=("support",))
    assert (everything["FN"] == 0).all() and (everything["TN"] == 0).all()
    at.slider(key="ev_thr").set_value(1.0).run()
    nothing = table(at, "class", "TP", without=("support",))
    assert (nothing["TP"] == 0).all()
    assert not chosen[["TP", "FP"]].equals(nothing[["TP", "FP"]])
    fig = [c for c in charts(at) if any(t.get("type") == "heatmap" for t in c["data"])][0]
    assert "1.00" in json.dumps(fig)  # the thresholds are in the panel titles
    # the records at these thresholds: nothing is positive, so every positive is a false negative
    at.selectbox(key="ev_err_outcome").set_value("FN").run()
    cls = at.selectbox(key="ev_err_cls").value
    rows = table(at, "ecg_id", f"P({cls})")
    assert len(rows) == int(nothing.set_index("class").loc[cls, "FN"])


def _select_row(at: AppTest, key: str, row: int) -> None:
    """Select a row of the dataframe ``key`` (AppTest has no click: the selection is set as the
    browser would send it), then rerun."""
    at.session_state[key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()


def test_errors_view_filters_and_a_row_opens_saliency(app, trained_runs):
    at = page(app, "evaluate")
    table_csv = trained_runs["cnn1d"] / "records.csv"
    import pandas as pd

    records = pd.read_csv(table_csv)
    cls, outcome = next(
        (c, o)
        for o in ("FN", "FP", "TP")
        for c in ("MI", "NORM", "STTC", "CD", "HYP")
        if (records[f"{c}_outcome"] == o).any()
    )
    at.selectbox(key="ev_err_cls").set_value(cls).run()
    at.selectbox(key="ev_err_outcome").set_value(outcome).run()
    rows = table(at, "ecg_id", f"P({cls})", "saliency")
    expected = records[records[f"{cls}_outcome"] == outcome]
    assert sorted(rows["ecg_id"]) == sorted(expected["ecg_id"])
    probs = list(rows[f"P({cls})"])
    assert probs == sorted(probs, reverse=outcome != "FN")  # the most telling first
    first = int(rows["ecg_id"].iloc[0])
    assert rows["saliency"].iloc[0].startswith(f"/saliency?ecg_id={first}&model=cnn1d&run=default&fold=0")
    _select_row(at, f"ev_err_table_{cls}_{outcome}_chosen", 0)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Saliency"
    params = {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}
    assert (
        params.items()
        >= {
            "ecg_id": str(first),
            "model": "cnn1d",
            "run": "default",
            "fold": "0",
            "plan": "cv5",
            "cls": cls,
        }.items()
    )


@pytest.fixture(scope="module")
def named_root(demo_ds, tmp_path_factory) -> Path:
    """Runs of cnn1d on demo fold 0 under two run names with different epochs (cv5), and one run of
    the benchmark plan: <root>/<dataset>/<label_set>/cnn1d@e1, cnn1d@e2, cnn1d/benchmark-fold0."""
    from ecgcore.recipes import TrainConfig
    from ecgcore.service import run_fold

    root = tmp_path_factory.mktemp("named")
    for name, epochs in (("e1", 1), ("e2", 2)):
        path = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn1d", 0, root=root, run_name=name).folder
        run_fold(demo_ds, TrainConfig(model="cnn1d", epochs=epochs), path, run_name=name, n_bootstrap=20, pump=False)
    path = RunPaths.of(demo_ds.name, demo_ds.label_set, "cnn1d", 0, "benchmark", root=root).folder
    run_fold(demo_ds, TrainConfig(model="cnn1d", epochs=1, plan="benchmark"), path, n_bootstrap=20, pump=False)
    return root


@pytest.fixture
def named_app(monkeypatch, demo_root, named_root, no_settings) -> AppTest:
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(named_root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return page(at, "evaluate")


def test_compare_two_named_runs_with_recipes_and_wilcoxon(named_app):
    at = named_app
    e1, e2 = "cnn1d · run e1", "cnn1d · run e2"  # run groups as people read them (run_paths.group_label)
    assert at.selectbox(key="ev_model").options == ["cnn1d", e1, e2]
    at.selectbox(key="ev_model").set_value("cnn1d:e1").run()
    assert at.selectbox(key="ev_cmp_plan").value == "cv5"
    assert (at.selectbox(key="ev_cmp_a").value, at.selectbox(key="ev_cmp_b").value) == (e1, e2)
    summary = table(at, "metric", "Wilcoxon p")
    assert {f"{e1} (mean)", f"{e2} (mean)", "difference (mean)", "paired folds"} <= set(summary.columns)
    assert (summary["paired folds"] == 1).all()
    assert "smallest two-sided Wilcoxon p" in texts(at)  # the n-folds note
    warnings = " ".join(str(w.value) for w in at.warning)
    assert f"recipes of {e1} and {e2} differ" in warnings and "Epochs: 1 vs 2" in warnings
    recipes = table(at, "setting", e1, e2).set_index("setting")
    assert (recipes.loc["Epochs", e1], recipes.loc["Epochs", e2]) == ("1", "2")
    assert "best epoch (per fold)" in recipes.index
    titles = " ".join(c["layout"]["title"]["text"] for c in charts(at))
    assert f"{e1} vs {e2}" in titles  # ROC/PR overlaid
    assert "cnn1d:" not in " ".join([texts(at), titles, *summary.columns])  # no CLI spelling on the page


def test_plans_are_protocols_never_averaged_together(named_app):
    at = named_app
    at.selectbox(key="ev_model").set_value("cnn1d").run()
    assert at.selectbox(key="ev_fold").value == ("benchmark", 0)
    shown = texts(at)
    assert "protocol benchmark — benchmark: train 1–8, val 9, test 10" in shown
    assert "n = 1 fold)" in shown  # the benchmark run alone, not pooled with the cv5 runs
    assert "never averaged together" in shown
    assert at.selectbox(key="ev_cmp_plan").value == "benchmark"
    assert "Train and evaluate a second model or run" in shown  # nothing to compare within the protocol


def test_old_results_without_records_show_one_error(monkeypatch, demo_root, trained_runs, tmp_path, no_settings):
    """A results.json from before records.csv and per-record fields: the errors view says what to do;
    the rest of the page works."""
    root = tmp_path / "runs"
    shutil.copytree(trained_runs["cnn1d"].parents[3], root)
    path = root.joinpath(*trained_runs["cnn1d"].parts[-4:])
    (path / "records.csv").unlink()
    res = json.loads((path / "results.json").read_text())
    del res["test_ecg_ids"]
    (path / "results.json").write_text(json.dumps(res))
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at = page(at, "evaluate")
    assert any("lack test_ecg_ids" in str(e.value) and "ecgcore eval" in str(e.value) for e in at.error)
    assert table(at, "metric", "95% CI") is not None
