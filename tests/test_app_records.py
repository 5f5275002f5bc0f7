"""ecgcore.app.records (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

import numpy as np
import pytest

from ecgcore.app import records
from ecgcore.errors import DataError
from ecgcore.folds import patient_folds


def test_record_table(demo_ds):
    t = records.record_table(demo_ds)
    assert list(t.columns) == ["ecg_id", "patient_id", "age", "sex", "strat_fold", "labels", "report"]
    assert len(t) == len(demo_ds.records)
    assert set(t["sex"]) <= {"male", "female", "unknown"}
    i = int(np.flatnonzero(demo_ds.labels.sum(1) >= 2)[0])
    assert t["labels"].iloc[i].split(", ") == records.record_labels(demo_ds, i)


def test_filter_records_by_each_field(demo_ds):
    r = demo_ds.records
    names = list(demo_ds.label_names)
    everything = records.filter_records(demo_ds, records.RecordFilter())
    assert len(everything) == len(r)

    mi, sttc = names.index("MI"), names.index("STTC")
    anyof = records.filter_records(demo_ds, records.RecordFilter(labels=["MI", "STTC"]))
    allof = records.filter_records(demo_ds, records.RecordFilter(labels=["MI", "STTC"], label_mode="all"))
    assert set(anyof) == set(np.flatnonzero(demo_ds.labels[:, mi] | demo_ds.labels[:, sttc]))
    assert set(allof) == set(np.flatnonzero(demo_ds.labels[:, mi] & demo_ds.labels[:, sttc]))
    none = records.filter_records(demo_ds, records.RecordFilter(labels=[records.NO_LABEL]))
    assert set(none) == set(np.flatnonzero(~demo_ds.labels.any(1)))

    folds = records.filter_records(demo_ds, records.RecordFilter(strat_folds=[3, 4]))
    assert set(r["strat_fold"].iloc[folds]) == {3, 4}
    women = records.filter_records(demo_ds, records.RecordFilter(sexes=["female"]))
    assert (r["sex"].iloc[women] == 1).all()
    aged = records.filter_records(demo_ds, records.RecordFilter(age=(40, 60), unknown_age=False))
    assert r["age"].iloc[aged].between(40, 60).all()

    report = r["report"].iloc[0]
    word = max(report.split(), key=len)
    hits = records.filter_records(demo_ds, records.RecordFilter(text=word.upper()))
    assert 0 in hits and all(word.lower() in r["report"].iloc[i].lower() for i in hits)

    pid, eid = int(r["patient_id"].iloc[5]), int(r["ecg_id"].iloc[9])
    ids = records.filter_records(demo_ds, records.RecordFilter(ids=f"{pid}, {eid}"))
    assert set(ids) == set(np.flatnonzero((r["patient_id"] == pid) | (r["ecg_id"] == eid)))
    with pytest.raises(DataError, match="not in the label set"):
        records.filter_records(demo_ds, records.RecordFilter(labels=["LVH"]))


def test_record_lookup_details_and_patient(demo_ds):
    eid = int(demo_ds.records["ecg_id"].iloc[11])
    i = records.record_index(demo_ds, eid)
    assert i == 11 and records.record_index(demo_ds, 10**9) is None
    d = records.record_details(demo_ds, i)
    assert d["ecg_id"] == eid and d["labels"] == records.record_labels(demo_ds, i)
    mine = records.patient_records(demo_ds, d["patient_id"])
    assert mine.equals(records.patient_records(demo_ds, d["patient_id"], records.record_table(demo_ds)))
    assert eid in set(mine["ecg_id"]) and (mine["patient_id"] == d["patient_id"]).all()


def test_parts_follow_the_fold_plan(demo_ds):
    parts = records.record_parts(demo_ds, "cv5", 2)
    f = patient_folds(demo_ds.records, demo_ds.labels.any(1), "cv5")[2]
    assert (parts[f.test] == "test").all() and (parts[f.train] == "train").all() and (parts[f.val] == "val").all()
    assert (parts[~demo_ds.labels.any(1)] == "—").all()
