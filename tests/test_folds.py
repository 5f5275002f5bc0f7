"""ecgcore.folds: every fold of every plan is patient-disjoint, tests on the right strat folds, never
validates on the test fold, leaves unlabelled records out, and (cv5) covers all labelled records."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgcore.errors import FoldError
from ecgcore.folds import PLANS, fold_note, fold_summary, get_fold, group_k_fold, n_folds, patient_folds, strat_folds_of


def check_plan(records: pd.DataFrame, labelled: np.ndarray, plan: str, strat: np.ndarray | None = None) -> None:
    """Every property a user relies on, for every fold of ``plan``."""
    strat = strat_folds_of(records) if strat is None else strat
    patients = records["patient_id"].to_numpy()
    folds = patient_folds(records, labelled, plan)
    assert len(folds) == n_folds(plan) == (5 if plan == "cv5" else 1)
    all_labelled = set(np.flatnonzero(labelled))
    tests = []
    for k, f in enumerate(folds):
        assert f.index == k and f.plan == plan
        parts = {"train": f.train, "val": f.val, "test": f.test}
        for name, idx in parts.items():
            assert len(idx) > 0, f"fold {k} {name} is empty"
            assert labelled[idx].all(), f"fold {k} {name} holds unlabelled records"
        # record- and patient-disjoint
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            assert not set(parts[a]) & set(parts[b]), f"fold {k}: {a} and {b} share records"
            shared = set(patients[parts[a]]) & set(patients[parts[b]])
            assert not shared, f"fold {k}: {a} and {b} share patients {sorted(shared)[:5]}"
        train_sf, val_sf, test_sf = (set(strat[parts[p]].tolist()) for p in ("train", "val", "test"))
        if plan == "cv5":
            assert test_sf == {2 * k + 1, 2 * k + 2}
            assert val_sf == ({1} if k == 4 else {10})
            assert train_sf == set(range(1, 11)) - test_sf - val_sf
            # the union is every labelled record
            assert set(f.train) | set(f.val) | set(f.test) == all_labelled
        else:
            assert (train_sf, val_sf, test_sf) == (set(range(1, 9)), {9}, {10})
        assert not val_sf & test_sf
        assert f.strat_folds[2] == tuple(sorted(test_sf)) and f.strat_folds[1] == tuple(sorted(val_sf))
        tests.append(set(f.test))
    if plan == "cv5":  # the test parts partition the labelled records
        assert set().union(*tests) == all_labelled
        assert sum(len(t) for t in tests) == len(all_labelled)


def test_cv5_plan_definition():
    folds = PLANS["cv5"].folds
    assert [test for _, _, test in folds] == [(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)]
    assert [val for _, val, _ in folds] == [(10,), (10,), (10,), (10,), (1,)]
    for train, val, test in folds:
        assert sorted(train + val + test) == list(range(1, 11))
    assert PLANS["benchmark"].folds == ((tuple(range(1, 9)), (9,), (10,)),)


@pytest.mark.parametrize("plan", ["cv5", "benchmark"])
def test_demo_plans(demo_ds, plan):
    labelled = demo_ds.labels.any(axis=1)
    assert not labelled.all(), "the demo set should hold unlabelled records to exclude"
    check_plan(demo_ds.records, labelled, plan)


@pytest.mark.parametrize("plan", ["cv5", "benchmark"])
def test_demo_grouped_fallback_without_strat_fold(demo_ds, plan):
    records = demo_ds.records.drop(columns=["strat_fold"])
    strat = strat_folds_of(records)
    assert set(strat.tolist()) == set(range(1, 11))
    # pseudo folds keep every patient in one fold
    per_patient = pd.Series(strat).groupby(records["patient_id"].to_numpy()).nunique()
    assert (per_patient == 1).all()
    check_plan(records, demo_ds.labels.any(axis=1), plan, strat)
    # a partly missing strat_fold column is refused, naming the row; the grouped folds only on purpose
    partial = demo_ds.records.copy()
    partial.loc[3, "strat_fold"] = np.nan
    with pytest.raises(FoldError, match=f"empty in ecg_id {partial.ecg_id[3]}"):
        strat_folds_of(partial)
    np.testing.assert_array_equal(strat_folds_of(partial, "grouped"), strat)
    np.testing.assert_array_equal(strat_folds_of(demo_ds.records, "grouped"), strat)
    assert "pseudo" in fold_note(records) and fold_note(demo_ds.records) == ""


def test_group_k_fold_is_sklearns(demo_ds):
    """The fallback's GroupKFold, reimplemented so this layer does not import scikit-learn, splits as it does."""
    from sklearn.model_selection import GroupKFold

    rng = np.random.default_rng(0)
    for groups in (demo_ds.records["patient_id"].to_numpy(), rng.integers(0, 40, 500), rng.integers(0, 3, 30)):
        n = min(10, len(np.unique(groups)))
        expected = np.zeros(len(groups), np.int64)
        for i, (_, test) in enumerate(GroupKFold(n_splits=n).split(np.zeros(len(groups)), groups=groups)):
            expected[test] = i
        np.testing.assert_array_equal(group_k_fold(groups, n), expected)


def test_fallback_without_patients(demo_ds):
    """User data without patient ids: every record is its own patient (read_database does this)."""
    records = demo_ds.records.drop(columns=["strat_fold"]).assign(patient_id=demo_ds.records["ecg_id"].astype(float))
    check_plan(records, demo_ds.labels.any(axis=1), "cv5")


def test_unlabelled_records_excluded_and_default_all(demo_ds):
    labelled = demo_ds.labels.any(axis=1)
    unlabelled = set(np.flatnonzero(~labelled))
    for f in patient_folds(demo_ds.records, labelled):
        assert not unlabelled & (set(f.train) | set(f.val) | set(f.test))
    everything = patient_folds(demo_ds.records)  # no mask: all records take part
    assert sum(len(f.test) for f in everything) == len(demo_ds.records)


def test_get_fold_and_errors(demo_ds):
    labelled = demo_ds.labels.any(axis=1)
    f = get_fold(demo_ds.records, labelled, "cv5", 2)
    np.testing.assert_array_equal(f.test, patient_folds(demo_ds.records, labelled)[2].test)
    for bad in (-1, 5):
        with pytest.raises(FoldError, match="0–4"):
            get_fold(demo_ds.records, labelled, "cv5", bad)
    with pytest.raises(FoldError, match="0–0"):
        get_fold(demo_ds.records, labelled, "benchmark", 1)
    with pytest.raises(FoldError, match="unknown fold plan"):
        patient_folds(demo_ds.records, labelled, "cv10")


def test_fold_summary_counts(demo_ds):
    table = fold_summary(demo_ds.records, demo_ds.labels, demo_ds.label_names)
    assert len(table) == 15
    labelled = demo_ds.labels.any(axis=1)
    for f in patient_folds(demo_ds.records, labelled):
        for part in ("train", "val", "test"):
            row = table[(table.fold == f.index) & (table.part == part)].iloc[0]
            idx = getattr(f, part)
            assert row["records"] == len(idx)
            assert row["patients"] == demo_ds.records["patient_id"].iloc[idx].nunique()
            assert [row[n] for n in demo_ds.label_names] == demo_ds.labels[idx].sum(axis=0).tolist()


@pytest.mark.realdata
@pytest.mark.parametrize("plan", ["cv5", "benchmark"])
def test_real_plans(real_ds, plan):
    labelled = real_ds.labels.any(axis=1)
    assert (~labelled).sum() == 20
    check_plan(real_ds.records, labelled, plan)


@pytest.mark.realdata
def test_real_grouped_fallback(real_ds):
    records = real_ds.records.drop(columns=["strat_fold"])
    check_plan(records, real_ds.labels.any(axis=1), "cv5", strat_folds_of(records))


def test_grouped_plan_on_purpose(demo_ds):
    """``grouped``: cv5 over patient-grouped pseudo folds even where strat_fold exists (asked for by name)."""
    labelled = demo_ds.labels.any(axis=1)
    folds = patient_folds(demo_ds.records, labelled, "grouped")
    assert len(folds) == n_folds("grouped") == n_folds("cv5") and PLANS["grouped"].grouped
    patients = demo_ds.records["patient_id"].to_numpy()
    for f in folds:
        assert not set(patients[f.train]) & set(patients[f.test])
    assert set().union(*(set(f.test) for f in folds)) == set(np.flatnonzero(labelled))
