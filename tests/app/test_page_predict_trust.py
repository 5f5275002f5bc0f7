"""The Predict page says how far to trust a prediction (AppTest): the run's quality and its flag next
to the predicted set, the true labels with their certainty when the upload is a dataset record, the fold
members' spread and the calibration, similar cases on request, and "Explain class" follows a change of run."""

from __future__ import annotations

import re

import torch

from ecgcore.uploads import signal_csv
from tests.app.helpers import texts
from tests.app.test_page_predict import expected_default, page, target_box, upload


def test_quality_flag_and_qualified_prediction(app, demo_ds):
    at = page(app)
    upload(at, [("rec.csv", signal_csv(demo_ds.signals[3]), "text/csv")])
    said = texts(at)
    assert re.search(r"How good this model is: cnn\w+: test macro PR-AUC \d\.\d{3} on 1 fold", said), said
    assert any("Read this prediction with care" in w.value for w in at.warning)
    assert re.search(r"predicted: .* — from a flagged run", said)
    assert "not calibrated" in said


def test_true_label_column_carries_certainty(app, demo_ds):
    at = page(app)
    upload(at, [("rec.csv", signal_csv(demo_ds.signals[3]), "text/csv")])  # found by its signal
    table = next(d.value for d in at.dataframe if "probability" in d.value.columns)
    assert "true label" in table.columns
    labels = [n for n, v in zip(demo_ds.label_names, demo_ds.labels[3]) if v]
    for name in labels:
        cell = table.loc[table["class"] == name, "true label"].iloc[0]
        assert re.match(rf"{name}: \w+ (\d+ %|0 \(not given\))", cell), cell
    assert f"True labels of ecg_id {int(demo_ds.records['ecg_id'].iloc[3])}" in texts(at)


def test_ensemble_spread_statement(app, two_fold_root, demo_ds):
    fold1 = next(two_fold_root.glob("*/*/cnn1d/fold1")) / "best.pt"
    data = torch.load(fold1, weights_only=False)
    data["meta"]["thresholds"] = [0.0] * len(data["meta"]["label_names"])
    torch.save(data, fold1)
    at = page(app)
    group = next(k for k in at.selectbox(key="pr_group").options if "cnn1d" in str(k))
    at.selectbox(key="pr_group").set_value(group).run()
    upload(at, [("rec.csv", signal_csv(demo_ds.signals[4]), "text/csv")])
    assert any("both sides of the threshold" in w.value for w in at.warning), texts(at)


def test_explain_class_resets_when_the_run_changes(app, demo_ds, trained_runs):
    at = page(app)
    upload(at, [("rec.csv", signal_csv(demo_ds.signals[3]), "text/csv")])
    old = target_box(at)
    other = next(n for n in demo_ds.label_names if n != old.value)
    old.set_value(other).run()
    assert target_box(at).value == other
    groups = at.selectbox(key="pr_group")
    new = 1 - groups.index  # the other run (cnn1d or cnn2d)
    model = "cnn1d" if "cnn1d" in groups.options[new] else "cnn2d"
    groups.select_index(new).run()
    assert not at.exception
    box = target_box(at)
    assert box.key != old.key  # a new run: a new class box, at the new run's own default class
    assert box.value == expected_default(trained_runs[model] / "best.pt", demo_ds.signals[3])


def test_similar_cases_on_request(app, demo_ds):
    at = page(app)
    upload(at, [("rec.csv", signal_csv(demo_ds.signals[3]), "text/csv")])
    assert "never includes" not in texts(at)
    at.toggle(key="pr_similar").set_value(True).run()
    assert not at.error, [e.value for e in at.error]
    ecg_id = int(demo_ds.records["ecg_id"].iloc[3])
    assert f"never includes record {ecg_id} itself" in texts(at)
