"""Fold plans: patient-disjoint train / validation / test splits — the one source of truth.

PTB-XL's ``strat_fold`` (1–10) keeps every patient in one fold and balances the labels, so every plan
is built from strat folds:

* ``cv5`` (default, the original project's 5-fold patient-based CV): fold k (0–4) tests on strat
  folds {2k+1, 2k+2}; validates on strat fold 10, or on strat fold 1 when 10 is in the test pair
  (validation = early stopping and F1 thresholds, never the test fold); trains on the other 7.
* ``benchmark`` (Strodthoff et al. 2020): one fold (0) — train 1–8, validate 9, test 10.

Datasets without a ``strat_fold`` column (user data) get 10 patient-grouped pseudo strat folds (the
greedy GroupKFold of scikit-learn, reimplemented here so this layer does not import it), and the same
plans apply; :func:`fold_note` says so for the app and the CLI. The ``grouped`` plan uses those
pseudo folds on purpose even where ``strat_fold`` exists. A ``strat_fold`` column with an empty cell,
text, fractions or values outside 1–10 is refused (:func:`check_strat_folds`), never silently
replaced. Only records with at least one label take part; unlabelled records stay browsable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecgcore.errors import FoldError

N_STRAT_FOLDS = 10


@dataclass(frozen=True)
class FoldPlan:
    """Strat folds (1–10) of each part, per fold index."""

    name: str
    folds: tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], ...]  # (train, val, test) per fold
    description: str
    grouped: bool = False  # True: patient-grouped pseudo strat folds even where strat_fold exists


def _cv5_parts() -> tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], ...]:
    """Fold k tests on strat folds {2k+1, 2k+2}, validates on the last (or the first when the last is
    tested) and trains on the rest."""
    folds = []
    every = range(1, N_STRAT_FOLDS + 1)
    for k in range(N_STRAT_FOLDS // 2):
        test = (2 * k + 1, 2 * k + 2)
        val = (every[0],) if every[-1] in test else (every[-1],)
        train = tuple(s for s in every if s not in test + val)
        folds.append((train, val, test))
    return tuple(folds)


def _benchmark_parts() -> tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], ...]:
    """Train on all strat folds but the last two, validate on the second last, test on the last."""
    n = N_STRAT_FOLDS
    return ((tuple(range(1, n - 1)), (n - 1,), (n,)),)


DEFAULT_PLAN = "cv5"  # the original project's 5-fold patient CV: what every command and page uses unless told
PLANS: dict[str, FoldPlan] = {
    DEFAULT_PLAN: FoldPlan(
        DEFAULT_PLAN, _cv5_parts(), "5-fold patient CV: test strat folds {2k+1,2k+2}, val 10 (or 1)"
    ),
    "benchmark": FoldPlan("benchmark", _benchmark_parts(), "benchmark: train 1–8, val 9, test 10"),
    "grouped": FoldPlan(
        "grouped",
        _cv5_parts(),
        "5-fold patient CV on 10 patient-grouped pseudo strat folds (GroupKFold on patient_id), not PTB-XL's",
        grouped=True,
    ),
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


def check_strat_folds(strat: pd.Series, ecg_ids: pd.Series | None = None) -> pd.Series:
    """PTB-XL's ``strat_fold`` column checked: whole numbers 1–10 in every row (returned as int64), or
    empty in every row (returned as it is: patient-grouped pseudo folds are used, see :func:`fold_note`).

    Raises FoldError naming the first few bad rows (by ``ecg_ids`` when given) — an empty cell, text,
    a fraction or a value outside 1–10 never silently changes the folds."""
    values = pd.to_numeric(strat, errors="coerce")
    if values.isna().all() and strat.isna().all():
        return strat
    names = (ecg_ids if ecg_ids is not None else pd.Series(strat.index, index=strat.index)).astype(str)
    label = "ecg_id" if ecg_ids is not None else "row"
    problems = (
        (strat.isna(), "empty"),
        (values.isna() & strat.notna(), "not a number"),
        (values.notna() & (values % 1 != 0), "not a whole number"),
        (values.notna() & ((values < 1) | (values > N_STRAT_FOLDS)), f"outside 1–{N_STRAT_FOLDS}"),
    )
    for mask, what in problems:
        if mask.any():
            rows = names[mask.to_numpy()].tolist()
            more = f" (and {len(rows) - 3} more)" if len(rows) > 3 else ""
            example = "" if what == "empty" else f" (e.g. {str(strat[mask].iloc[0])[:20]!r})"
            raise FoldError(
                f"strat_fold is {what} in {label} {', '.join(rows[:3])}{more}{example}; "
                f"every record needs a whole number 1–{N_STRAT_FOLDS}. Fix those rows, remove the whole column "
                "to use patient-grouped folds, or choose the 'grouped' fold plan."
            )
    return values.astype(np.int64)


def _has_strat_folds(records: pd.DataFrame) -> bool:
    return "strat_fold" in records and not records["strat_fold"].isna().all()


def fold_note(records: pd.DataFrame) -> str:
    """Empty when the records have PTB-XL's strat folds; else one line saying the folds are pseudo folds."""
    if _has_strat_folds(records):
        return ""
    return (
        "no strat_fold column: folds are 10 patient-grouped pseudo strat folds (GroupKFold on patient_id), "
        "not PTB-XL's label-stratified ones."
    )


def group_k_fold(groups: np.ndarray, n_splits: int) -> np.ndarray:
    """Fold (0..n_splits-1) of each sample, as scikit-learn's ``GroupKFold(n_splits).split`` (no shuffle):
    groups sorted by size, largest first, each to the fold with the fewest samples so far."""
    unique, inverse = np.unique(groups, return_inverse=True)
    sizes = np.bincount(inverse.ravel())
    order = np.argsort(sizes, kind="stable")[::-1]
    per_fold = np.zeros(n_splits)
    fold_of_group = np.zeros(len(unique), dtype=np.int64)
    for group, size in zip(order, sizes[order]):
        lightest = int(np.argmin(per_fold))
        per_fold[lightest] += size
        fold_of_group[group] = lightest
    return fold_of_group[inverse.ravel()]


def strat_folds_of(records: pd.DataFrame, plan: str | None = None) -> np.ndarray:
    """Strat fold (1–10) of each record: PTB-XL's own, or patient-grouped pseudo folds when the records
    have no strat_fold values or ``plan`` asks for them (``grouped``).

    Raises FoldError for a malformed strat_fold (see :func:`check_strat_folds`)."""
    grouped = get_plan(plan).grouped if plan is not None else False
    if not grouped and _has_strat_folds(records):
        return check_strat_folds(records["strat_fold"], records.get("ecg_id")).to_numpy(dtype=np.int64)
    groups = records["patient_id"].to_numpy()
    if pd.isna(groups).any():
        raise FoldError("patient_id is empty in some records; patient-grouped folds need a patient id in every row.")
    n_splits = min(N_STRAT_FOLDS, len(np.unique(groups)))
    return group_k_fold(groups, n_splits) + 1


def patient_folds(records: pd.DataFrame, labelled: np.ndarray | None = None, plan: str = DEFAULT_PLAN) -> list[Fold]:
    """Every fold of ``plan``.

    Args:
        records: the dataset's table (needs patient_id; strat_fold if present).
        labelled: boolean mask (N,) of records that may be used; default all.
    """
    strat = strat_folds_of(records, plan)
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
    records: pd.DataFrame, labels: np.ndarray, label_names: tuple[str, ...], plan: str = DEFAULT_PLAN
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


def test_fold_of(
    records: pd.DataFrame, labelled: np.ndarray | None, ecg_id: int, plan: str = DEFAULT_PLAN
) -> int | None:
    """The fold of ``plan`` whose **test** part holds record ``ecg_id`` (cv5: fold k tests strat folds
    2k+1 and 2k+2), or None when no fold tests it: the record is not in ``records``, is unlabelled
    (``labelled`` False: it takes part in no fold), or the plan tests only some strat folds (benchmark)."""
    ids = records["ecg_id"].to_numpy()
    rows = np.flatnonzero(ids == int(ecg_id))
    if not len(rows):
        return None
    row = int(rows[0])
    if labelled is not None and not bool(np.asarray(labelled, bool)[row]):
        return None
    strat = int(strat_folds_of(records, plan)[row])
    for k, (_, _, test) in enumerate(get_plan(plan).folds):
        if strat in test:
            return k
    return None


test_fold_of.__test__ = False  # a library function, not a test: pytest must not collect it where imported
