"""ecgcore.app.summary (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

import numpy as np

from ecgcore.app import summary


def test_summary_counts(demo_ds):
    s = summary.dataset_summary(demo_ds)
    assert s["records"] == len(demo_ds.records) == s["labelled"] + s["unlabelled"]
    counts = summary.label_counts(demo_ds).set_index("label")
    assert counts.loc["NORM", "records"] == demo_ds.labels[:, 0].sum()
    strat = summary.strat_fold_counts(demo_ds)
    assert list(strat.index) == [f"strat fold {k}" for k in range(1, 11)]
    assert strat["records"].sum() == s["labelled"]
    assert (strat[list(demo_ds.label_names)].sum() == demo_ds.labels.sum(0)).all()


def test_folds_are_patient_disjoint(demo_ds):
    overlap = summary.patient_overlap(demo_ds, "cv5")
    assert list(overlap["fold"]) == [0, 1, 2, 3, 4]
    assert summary.shared_patients(overlap) == 0
    assert summary.patients_in_several_strat_folds(demo_ds) == 0


def test_overlap_is_counted_when_a_patient_spans_parts(demo_ds):
    from dataclasses import replace

    records = demo_ds.records.copy()
    test_row = int(np.flatnonzero((records["strat_fold"] == 1) & demo_ds.labels.any(1))[0])
    train_row = int(np.flatnonzero((records["strat_fold"] == 5) & demo_ds.labels.any(1))[0])
    records.loc[test_row, "patient_id"] = records.loc[train_row, "patient_id"]  # one patient in two strat folds
    broken = replace(demo_ds, records=records)
    assert summary.patients_in_several_strat_folds(broken) == 1
    assert summary.shared_patients(summary.patient_overlap(broken)) >= 1


def test_part_counts_feed_the_distribution_figure(demo_ds):
    from ecgcore.figures.records import label_distribution_figure
    from ecgcore.folds import fold_summary

    parts = summary.part_counts(fold_summary(demo_ds.records, demo_ds.labels, demo_ds.label_names), 1)
    assert list(parts.index) == ["train", "val", "test"] and "records" in parts.columns
    assert len(label_distribution_figure(parts).data) == 3
