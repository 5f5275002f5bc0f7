"""Fold plans: patient-disjoint train / validation / test splits — the one source of truth.

PTB-XL's ``strat_fold`` (1–10) keeps every patient in one fold and balances the labels, so every plan
is built from strat folds:

* ``cv5`` (default, the original project's 5-fold patient-based CV): fold k (0–4) tests on strat
  folds {2k+1, 2k+2}; validates on strat fold 10, or on strat fold 1 when 10 is in the test pair
  (validation = early stopping and F1 thresholds, never the test fold); trains on the other 7.
* ``benchmark`` (Strodthoff et al. 2020): one fold (0) — train 1–8, validate 9, test 10.

Datasets without ``strat_fold`` (user data) get 10 patient-grouped pseudo strat folds
(scikit-learn's GroupKFold on patient_id), and the same plans apply. Only records with at least one
label take part; unlabelled records stay browsable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from ecgcore.errors import FoldError

N_STRAT_FOLDS = 10


@dataclass(frozen=True)
class FoldPlan:
    """Strat folds (1–10) of each part, per fold index."""

    name: str
    folds: tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], ...]  # (train, val, test) per fold
    description: str


def _cv5() -> FoldPlan:
    folds = []
    for k in range(5):
        test = (2 * k + 1, 2 * k + 2)
        val = (1,) if 10 in test else (10,)
        train = tuple(s for s in range(1, 11) if s not in test + val)
        folds.append((train, val, test))
    return FoldPlan("cv5", tuple(folds), "5-fold patient CV: test strat folds {2k+1,2k+2}, val 10 (or 1)")


PLANS: dict[str, FoldPlan] = {
    "cv5": _cv5(),
    "benchmark": FoldPlan("benchmark", ((tuple(range(1, 9)), (9,), (10,)),), "benchmark: train 1–8, val 9, test 10"),
}


@dataclass(frozen=True)
class Fold:
    """Indices (into the dataset's records) of one fold's three parts, patient-disjoint."""

    plan: str
    index: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    strat_folds: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]


def get_plan(plan: str) -> FoldPlan:
    if plan not in PLANS:
        raise FoldError(f"unknown fold plan {plan!r}; use one of {', '.join(PLANS)}")
    return PLANS[plan]


def n_folds(plan: str) -> int:
    return len(get_plan(plan).folds)


def strat_folds_of(records: pd.DataFrame) -> np.ndarray:
    """Strat fold (1–10) of each record: PTB-XL's own, or patient-grouped pseudo folds if absent."""
    strat = records["strat_fold"] if "strat_fold" in records else pd.Series(np.nan, index=records.index)
    if strat.notna().all():
        return strat.to_numpy(dtype=np.int64)
    groups = records["patient_id"].to_numpy()
    n_splits = min(N_STRAT_FOLDS, len(np.unique(groups)))
    pseudo = np.zeros(len(records), dtype=np.int64)
    for i, (_, test) in enumerate(GroupKFold(n_splits=n_splits).split(np.zeros(len(records)), groups=groups)):
        pseudo[test] = i + 1
    return pseudo


def patient_folds(records: pd.DataFrame, labelled: np.ndarray | None = None, plan: str = "cv5") -> list[Fold]:
    """Every fold of ``plan``.

    Args:
        records: the dataset's table (needs patient_id; strat_fold if present).
        labelled: boolean mask (N,) of records that may be used; default all.
    """
    strat = strat_folds_of(records)
    usable = np.ones(len(records), bool) if labelled is None else np.asarray(labelled, bool)
    folds = []
    for k, parts in enumerate(get_plan(plan).folds):
        idx = [np.flatnonzero(np.isin(strat, p) & usable) for p in parts]
        folds.append(Fold(plan, k, idx[0], idx[1], idx[2], parts))
    return folds


def get_fold(records: pd.DataFrame, labelled: np.ndarray | None, plan: str, fold: int) -> Fold:
    folds = patient_folds(records, labelled, plan)
    if not 0 <= fold < len(folds):
        raise FoldError(f"plan {plan!r} has folds 0–{len(folds) - 1}, not {fold}")
    return folds[fold]


def fold_summary(
    records: pd.DataFrame, labels: np.ndarray, label_names: tuple[str, ...], plan: str = "cv5"
) -> pd.DataFrame:
    """Per fold and part: records, patients, and positives per label (a table for the CLI and app)."""
    rows = []
    for f in patient_folds(records, labels.any(axis=1), plan):
        for part in ("train", "val", "test"):
            idx = getattr(f, part)
            row = {
                "fold": f.index,
                "part": part,
                "records": len(idx),
                "patients": records["patient_id"].iloc[idx].nunique(),
            }
            row |= {name: int(labels[idx, j].sum()) for j, name in enumerate(label_names)}
            rows.append(row)
    return pd.DataFrame(rows)
