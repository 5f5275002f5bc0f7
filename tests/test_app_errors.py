"""ecgcore.app.errors: the records behind a confusion-matrix cell, and the hand-over to Saliency."""

from __future__ import annotations

import json
import shutil
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from ecgcore.app import errors
from ecgcore.outcomes import read_records_csv, record_outcomes
from ecgcore.runs import RunInfo


@pytest.fixture
def run(trained_runs, tmp_path) -> RunInfo:
    path = tmp_path / "fold0"
    shutil.copytree(trained_runs["cnn1d"], path)
    return RunInfo(path, "demo", "superclass", "cnn1d", "cv5", 0, {}, "long")


def test_records_table_reads_records_csv_or_builds_it(run, demo_ds):
    res = json.loads((run.path / "results.json").read_text())
    chosen = dict(zip(res["label_names"], res["thresholds"]))
    pd.testing.assert_frame_equal(errors.records_table(run.path, res, None, chosen), read_records_csv(run.path))
    (run.path / "records.csv").unlink()  # a run evaluated before records.csv existed
    built = errors.records_table(run.path, res, demo_ds.records)
    pd.testing.assert_frame_equal(built, record_outcomes(res, demo_ds.records))
    assert built["patient_id"].notna().all()
    nothing = errors.records_table(run.path, res, None, dict.fromkeys(res["label_names"], 1.01))
    for name in res["label_names"]:  # nothing predicted positive: only FN and TN
        assert set(nothing[f"{name}_outcome"]) <= {"FN", "TN"}


def test_errors_table_is_sorted_and_readable(run):
    table = read_records_csv(run.path)
    cls = "NORM"
    for outcome in ("FN", "FP"):
        rows = errors.errors_table(table, cls, outcome)
        assert list(rows.columns) == ["ecg_id", "patient", f"P({cls})", "true labels"]
        assert len(rows) == (table[f"{cls}_outcome"] == outcome).sum()
        probs = list(rows[f"P({cls})"])
        assert probs == sorted(probs, reverse=outcome == "FP")
    fn = errors.errors_table(table, cls, "FN")
    assert all(cls in labels for labels in fn["true labels"])  # a false negative carries the label
    assert errors.classes_of(table) == json.loads((run.path / "results.json").read_text())["label_names"]


def test_cell_of_point_maps_a_click_to_class_and_outcome():
    names = ["NORM", "MI", "STTC"]
    assert errors.cell_of_point({"curve_number": 1, "x": "pred 0", "y": "true 1"}, names) == ("MI", "FN")
    assert errors.cell_of_point({"curve_number": 0, "x": "pred 1", "y": "true 0"}, names) == ("NORM", "FP")
    assert errors.cell_of_point({"curve_number": 2, "x": "pred 1", "y": "true 1"}, names) == ("STTC", "TP")
    assert errors.cell_of_point({"curve_number": 2, "x": "pred 0", "y": "true 0"}, names) == ("STTC", "TN")
    assert errors.cell_of_point({"curve_number": 7, "x": "pred 0", "y": "true 0"}, names) is None
    assert errors.cell_of_point({"curve_number": 0, "x": 3, "y": 1}, names) is None


def test_saliency_params_and_link(run):
    params = errors.saliency_params(17, run, "MI", "grad_cam")
    assert params == {
        "ecg_id": "17",
        "model": "cnn1d",
        "run": "long",
        "fold": "0",
        "plan": "cv5",
        "cls": "MI",
        "method": "grad_cam",
    }
    link = errors.saliency_link(params)
    assert urlparse(link).path == "/saliency"
    assert {k: v[0] for k, v in parse_qs(urlparse(link).query).items()} == params


def test_thresholds_tag():
    chosen = {"A": 0.3, "B": 0.6}
    assert errors.thresholds_tag(dict(chosen), chosen) == "chosen"
    tag = errors.thresholds_tag({"A": 0.5, "B": 0.5}, chosen)
    assert tag != "chosen" and tag == errors.thresholds_tag({"B": 0.5, "A": 0.5}, chosen)
