"""Dataset summary and fold balance: counts for Home, labels per strat fold and per part of a fold,
and the patient-disjointness checks of the Dataset page. No Streamlit import."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecgcore.app.records import NO_LABEL
from ecgcore.data import ECGDataset
from ecgcore.folds import DEFAULT_PLAN, patient_folds, strat_folds_of


def dataset_summary(ds: ECGDataset) -> dict:
    """Counts for the Home page."""
    labelled = ds.labels.any(axis=1) if ds.labels.shape[1] else np.zeros(len(ds.records), bool)
    return {
        "records": len(ds.records),
        "patients": int(ds.records["patient_id"].nunique()),
        "labelled": int(labelled.sum()),
        "unlabelled": int((~labelled).sum()),
        "strat_folds": int(len(np.unique(strat_folds_of(ds.records)))),
        "skipped": len(ds.skipped),
    }


def label_counts(ds: ECGDataset) -> pd.DataFrame:
    """Records per label (a record can have several), with the share of all records."""
    n = max(len(ds.records), 1)
    counts = ds.labels.sum(axis=0).astype(int) if ds.labels.shape[1] else np.zeros(0, int)
    none = int((~ds.labels.any(axis=1)).sum()) if ds.labels.shape[1] else len(ds.records)
    table = pd.DataFrame({"label": [*ds.label_names, NO_LABEL], "records": [*counts.tolist(), none]})
    table["share"] = table["records"] / n
    return table


def strat_fold_counts(ds: ECGDataset) -> pd.DataFrame:
    """Labelled records per strat fold: index 'strat fold k', one column per label, plus
    ``records`` (the fold's labelled records) — the input of ``label_distribution_figure``."""
    strat = strat_folds_of(ds.records)
    labelled = ds.labels.any(axis=1)
    rows = {}
    for k in sorted(np.unique(strat)):
        idx = np.flatnonzero((strat == k) & labelled)
        rows[f"strat fold {k}"] = {n: int(ds.labels[idx, j].sum()) for j, n in enumerate(ds.label_names)} | {
            "records": len(idx)
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=[*ds.label_names, "records"])


def part_counts(summary: pd.DataFrame, fold: int) -> pd.DataFrame:
    """One fold of ``folds.fold_summary``'s table as per-part counts (index train/val/test, label
    columns and ``records``) for ``label_distribution_figure``."""
    part = summary[summary["fold"] == fold].set_index("part")
    return part.drop(columns=["fold", "patients"])


def patient_overlap(ds: ECGDataset, plan: str = DEFAULT_PLAN) -> pd.DataFrame:
    """Per fold, the patients of each part and how many are shared between parts (all must be 0)."""
    rows = []
    pid = ds.records["patient_id"].to_numpy()
    for f in patient_folds(ds.records, ds.labels.any(axis=1), plan):
        tr, va, te = (set(pid[getattr(f, p)].tolist()) for p in ("train", "val", "test"))
        rows.append(
            {
                "fold": f.index,
                "train patients": len(tr),
                "val patients": len(va),
                "test patients": len(te),
                "train ∩ val": len(tr & va),
                "train ∩ test": len(tr & te),
                "val ∩ test": len(va & te),
            }
        )
    table = pd.DataFrame(rows)
    table["shared"] = table[["train ∩ val", "train ∩ test", "val ∩ test"]].sum(axis=1) if rows else []
    return table


def shared_patients(overlap: pd.DataFrame) -> int:
    """Patients shared between train/val/test, summed over folds (0 for patient-disjoint folds)."""
    return int(overlap["shared"].sum()) if len(overlap) else 0


def patients_in_several_strat_folds(ds: ECGDataset) -> int:
    """Patients whose records lie in more than one strat fold (0: folds are patient-grouped)."""
    strat = pd.Series(strat_folds_of(ds.records), index=ds.records.index)
    return int((strat.groupby(ds.records["patient_id"]).nunique() > 1).sum())
