"""The Dataset page's record table and filters, one record's details, a patient's records, and the
part (train/val/test) of every record in a fold. No Streamlit import.

Arrays: ``ds.labels`` is (n_records, n_labels) 0/1; returned indices are rows of ``ds.records``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecgcore.data import ECGDataset
from ecgcore.errors import DataError
from ecgcore.folds import patient_folds, strat_folds_of

NO_LABEL = "(no label)"
SEX_NAMES = {0: "male", 1: "female"}  # PTB-XL: 0 = male, 1 = female
UNKNOWN = "unknown"


def sex_names(records: pd.DataFrame) -> pd.Series:
    return records["sex"].map(lambda v: SEX_NAMES.get(int(v), UNKNOWN) if pd.notna(v) else UNKNOWN)


def label_strings(ds: ECGDataset) -> list[str]:
    """Per record, its labels joined by ', ' ('' when it has none in the label set)."""
    names = np.asarray(ds.label_names, dtype=object)
    return [", ".join(names[row.astype(bool)]) for row in ds.labels] if len(names) else [""] * len(ds.records)


def record_table(ds: ECGDataset) -> pd.DataFrame:
    """The records as shown to a user: ecg_id, patient_id, age, sex, strat_fold, labels, report
    (row i is record i of the dataset)."""
    r = ds.records
    return pd.DataFrame(
        {
            "ecg_id": r["ecg_id"].astype(int),
            "patient_id": pd.array(r["patient_id"].round(), dtype="Int64"),
            "age": r["age"].astype(float),
            "sex": sex_names(r),
            "strat_fold": pd.array(strat_folds_of(r), dtype="Int64"),
            "labels": label_strings(ds),
            "report": r["report"].astype(str),
        }
    )


@dataclass
class RecordFilter:
    """What the Dataset page filters on (empty = no constraint).

    labels: label names (and/or :data:`NO_LABEL`); ``label_mode`` "any" keeps records with at least
    one of them, "all" records with all of them. age: inclusive (lo, hi); records without an age are
    kept when ``unknown_age``. text: words that must all occur in the report (case-insensitive).
    ids: numbers matched against ecg_id and patient_id.
    """

    labels: Sequence[str] = ()
    label_mode: str = "any"
    strat_folds: Sequence[int] = ()
    sexes: Sequence[str] = ()
    age: tuple[float, float] | None = None
    unknown_age: bool = True
    text: str = ""
    ids: str = ""


def parse_ids(text: str) -> list[int]:
    """Whole numbers in ``text`` ('12, 345 6789' → [12, 345, 6789])."""
    return [int(x) for x in re.findall(r"\d+", text or "")]


def filter_records(ds: ECGDataset, f: RecordFilter) -> np.ndarray:
    """Indices of the records that pass ``f`` (in dataset order)."""
    r = ds.records
    keep = np.ones(len(r), dtype=bool)
    if f.labels:
        names = list(ds.label_names)
        unknown = [x for x in f.labels if x != NO_LABEL and x not in names]
        if unknown:
            raise DataError(f"label(s) {', '.join(unknown)} are not in the label set {ds.label_set}.")
        cols = [names.index(x) for x in f.labels if x != NO_LABEL]
        has = ds.labels[:, cols].astype(bool) if cols else np.zeros((len(r), 0), bool)
        none = ~ds.labels.any(axis=1) if ds.labels.shape[1] else np.ones(len(r), bool)
        if f.label_mode == "all":
            m = has.all(axis=1) if cols else np.ones(len(r), bool)
            if NO_LABEL in f.labels:
                m &= none
        else:
            m = has.any(axis=1) if cols else np.zeros(len(r), bool)
            if NO_LABEL in f.labels:
                m |= none
        keep &= m
    if f.strat_folds:
        keep &= np.isin(strat_folds_of(r), list(f.strat_folds))
    if f.sexes:
        keep &= sex_names(r).isin(list(f.sexes)).to_numpy()
    if f.age is not None:
        age = r["age"].to_numpy(dtype=float)
        known = ~np.isnan(age)
        in_range = known & (age >= f.age[0]) & (age <= f.age[1])
        keep &= in_range | (~known & f.unknown_age)
    words = (f.text or "").lower().split()
    if words:
        report = r["report"].astype(str).str.lower()
        for w in words:
            keep &= report.str.contains(w, regex=False).to_numpy()
    ids = parse_ids(f.ids)
    if ids:
        keep &= (r["ecg_id"].isin(ids) | r["patient_id"].isin(ids)).to_numpy()
    return np.flatnonzero(keep)


def age_bounds(ds: ECGDataset) -> tuple[int, int]:
    """Whole-year range of the known ages (PTB-XL writes 300 for patients over 89)."""
    age = ds.records["age"].dropna()
    if age.empty:
        return 0, 100
    return int(math.floor(age.min())), int(math.ceil(age.max()))


def record_index(ds: ECGDataset, ecg_id: int | None) -> int | None:
    """Row of ``ecg_id`` in the dataset (None when absent)."""
    if ecg_id is None:
        return None
    hits = np.flatnonzero(ds.records["ecg_id"].to_numpy() == int(ecg_id))
    return int(hits[0]) if len(hits) else None


def record_labels(ds: ECGDataset, i: int) -> list[str]:
    return [n for n, v in zip(ds.label_names, ds.labels[i]) if v]


def record_details(ds: ECGDataset, i: int) -> dict:
    """Metadata of record ``i`` for display."""
    r = ds.records.iloc[i]
    age = r["age"]
    return {
        "ecg_id": int(r["ecg_id"]),
        "patient_id": int(r["patient_id"]) if pd.notna(r["patient_id"]) else None,
        "age": (None if pd.isna(age) else ("≥ 90 (PTB-XL writes 300)" if age >= 300 else int(age))),
        "sex": sex_names(ds.records.iloc[[i]]).iloc[0],
        "strat_fold": int(strat_folds_of(ds.records)[i]),
        "labels": record_labels(ds, i),
        "scp_codes": dict(r["scp_codes"]),
        "report": str(r["report"]),
        "file": str(r["filename"]),
    }


def patient_records(ds: ECGDataset, patient_id: int | float, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """All records of one patient (the record table's rows), oldest ecg_id first. ``table``: the
    dataset's :func:`record_table` when the caller has it already (building it takes a pass over
    every record)."""
    rows = np.flatnonzero(ds.records["patient_id"].to_numpy() == float(patient_id))
    return (record_table(ds) if table is None else table).iloc[rows].sort_values("ecg_id")


def patients(ds: ECGDataset) -> list[int]:
    return sorted(int(p) for p in ds.records["patient_id"].dropna().unique())


def record_parts(ds: ECGDataset, plan: str = "cv5", fold: int = 0) -> np.ndarray:
    """Per record, its part in fold ``fold`` of ``plan``: train, val, test, or '—' (unlabelled)."""
    parts = np.full(len(ds.records), "—", dtype=object)
    f = patient_folds(ds.records, ds.labels.any(axis=1), plan)[fold]
    for name in ("train", "val", "test"):
        parts[getattr(f, name)] = name
    return parts
