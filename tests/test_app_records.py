"""ecgcore.app.records (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

import numpy as np
import pytest

from ecgcore.app import records
from ecgcore.errors import DataError
from ecgcore.folds import patient_folds


def test_record_table(demo_ds):
    t = records.record_table(demo_ds)
    assert list(t.columns) == ["ecg_id", "patient_id", "age", "sex", "strat_fold", "labels", "report", "language"]
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
    literal = {i for i, text in enumerate(r["report"]) if word.lower() in text.lower()}
    assert 0 in hits and literal <= set(hits)  # and the same finding in the other language (SEARCH_TERMS)
    spellings = records.search_groups(word)[0]
    assert all(any(v in records.normalise(r["report"].iloc[i]) for v in spellings) for i in hits)

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


def test_search_groups_and_language():
    from ecgcore.app import records as r

    assert r.search_groups("infarct") == [("infarct", "infarct", "infarkt")]
    assert r.search_groups("Sinus Rhythm") == [("sinus rhythm", "sinusrhythmus")]
    assert r.search_groups("ISCHÄMIE")[0][0] == "ischaemie"
    assert r.search_groups("qrs") == [("qrs",)]  # short words are taken as they are
    assert r.report_language("sinusrhythmus linkstyp sonst normales ekg") == "de"
    assert r.report_language("sinus rhythm. left axis deviation.") == "en"
    assert r.report_language("") == ""


def test_code_rows_likelihood_and_non_diagnostic_codes():
    import pandas as pd

    from ecgcore.app import records as r

    statements = pd.DataFrame(
        {
            "description": ["inferior myocardial infarction", "atrial flutter"],
            "diagnostic": [1.0, None],
            "rhythm": [None, 1.0],
            "form": [None, None],
            "diagnostic_class": ["MI", None],
            "diagnostic_subclass": ["IMI", None],
        },
        index=["IMI", "AFLT"],
    )
    rows = r.code_rows({"IMI": 15.0, "AFLT": 0.0, "XYZ": 50.0}, statements, "superclass")
    assert [x["likelihood"] for x in rows] == ["15 %", "0 (not given)", "50 %"]
    assert rows[0]["label"] == "MI" and rows[0]["kind"] == "diagnostic (MI / IMI)"
    assert rows[1]["label"] == "" and rows[1]["kind"] == "rhythm" and rows[1]["meaning"] == "atrial flutter"
    assert rows[2]["kind"] == "not in scp_statements.csv"
    assert r.label_sources(rows) == {"MI": ["IMI 15 %"]}
    assert r.code_rows({"IMI": 100.0}, statements, "subclass")[0]["label"] == "IMI"


def test_step_within_the_filtered_list():
    from ecgcore.app.records import step_within

    ids = [3, 8, 20]
    assert step_within(ids, 8, 1) == 20 and step_within(ids, 8, -1) == 3
    assert step_within(ids, 20, 1) == 20 and step_within(ids, 3, -1) == 3
    assert step_within(ids, 5, 1) == 3 and step_within([], 5, 1) is None
