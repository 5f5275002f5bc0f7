"""records.csv and the errors view (ecgcore.outcomes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgcore.errors import ResultsError
from ecgcore.metrics import read_json
from ecgcore.outcomes import errors_view, outcome_counts, read_records_csv, record_outcomes, write_records_csv


def _results() -> dict:
    return {
        "label_names": ["A", "B"],
        "thresholds": [0.5, 0.3],
        "test_ecg_ids": [10, 11, 12, 13, 14],
        "test_true": [[1, 0], [1, 1], [0, 0], [0, 1], [1, 0]],
        "test_prob": [[0.9, 0.1], [0.2, 0.3], [0.7, 0.29], [0.1, 0.8], [0.4, 0.6]],
    }


def test_outcomes_by_hand():
    records = pd.DataFrame({"ecg_id": [14, 13, 12, 11, 10], "patient_id": [5, 4, 3, 2, 1]})
    table = record_outcomes(_results(), records)
    assert list(table.columns[:2]) == ["ecg_id", "patient_id"]
    assert list(table.columns[2:5]) == ["A_true", "A_prob", "A_outcome"]
    assert table["patient_id"].tolist() == [1, 2, 3, 4, 5]
    assert table["A_outcome"].tolist() == ["TP", "FN", "FP", "TN", "FN"]
    assert table["B_outcome"].tolist() == ["TN", "TP", "TN", "TP", "FP"]  # prob == threshold is positive
    assert outcome_counts(table, "A") == {"TP": 1, "FP": 1, "FN": 2, "TN": 1}


def test_errors_view_sorted_by_confidence():
    table = record_outcomes(_results())
    assert table["patient_id"].isna().all()  # no dataset table: empty, not wrong
    fn = errors_view(table, "A", "fn")
    assert fn["ecg_id"].tolist() == [11, 14]  # surest misses (lowest prob) first
    assert fn["prob"].tolist() == [0.2, 0.4]
    assert "B_true" in fn.columns and "A_true" not in fn.columns
    assert errors_view(table, "B", "TP")["ecg_id"].tolist() == [13, 11]  # most confident first
    with pytest.raises(ResultsError, match="outcome"):
        errors_view(table, "A", "XX")
    with pytest.raises(ResultsError, match="choose one of A, B"):
        errors_view(table, "MI", "FN")


def test_old_results_without_probabilities_say_what_to_do():
    with pytest.raises(ResultsError, match="ecgcore eval"):
        record_outcomes({"label_names": ["A"]})


def test_records_csv_matches_confusion_matrices(trained_runs, demo_ds):
    path = trained_runs["cnn1d"]
    out = write_records_csv(path, demo_ds.records)
    assert out.name == "records.csv"
    results = read_json(path / "results.json")
    table = read_records_csv(path)
    assert len(table) == results["n_records"] and table["patient_id"].notna().all()
    for name in results["label_names"]:
        (tn, fp), (fn, tp) = results["per_class"][name]["confusion"]
        assert outcome_counts(table, name) == {"TP": tp, "FP": fp, "FN": fn, "TN": tn}
        assert np.array_equal(
            table[f"{name}_true"].to_numpy(), np.asarray(results["test_true"])[:, results["label_names"].index(name)]
        )


def test_missing_records_csv(tmp_path):
    with pytest.raises(ResultsError, match="does not exist"):
        read_records_csv(tmp_path)
