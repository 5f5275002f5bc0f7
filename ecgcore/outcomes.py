"""Per-record outcomes of an evaluated run: from a macro metric to the test records behind it.

``records.csv`` (one row per test record, written beside results.json) has the columns

    ecg_id, patient_id, then per class C (in label order): C_true (0/1), C_prob, C_outcome

where ``C_outcome`` is ``TP``/``FP``/``FN``/``TN`` at the class's validation-chosen threshold
(``prob >= threshold`` is positive, as in :func:`ecgcore.metrics.confusion_matrices`). It is built
from results.json alone (``test_ecg_ids``, ``test_true``, ``test_prob``, ``thresholds``,
``label_names``); ``patient_id`` comes from the dataset's table when given (else empty).

results.json stores probabilities rounded to 5 decimals, so a record within 5e-6 of a threshold could
in principle fall on the other side than in the confusion matrix computed at evaluation time.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.errors import ResultsError
from ecgcore.fileio import atomic_write
from ecgcore.metrics import read_json

OUTCOMES = ("TP", "FP", "FN", "TN")
RECORDS_CSV = "records.csv"
_NEEDED = ("test_ecg_ids", "test_true", "test_prob", "thresholds", "label_names")


def record_outcomes(results: dict, ds_records: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per test record of ``results`` (a results.json dict).

    Args:
        results: needs test_ecg_ids (N,), test_true (N, C) 0/1, test_prob (N, C) in [0, 1],
            thresholds (C,), label_names (C,).
        ds_records: the dataset's table (ecg_id, patient_id) to fill ``patient_id``; None leaves it empty.

    Returns:
        DataFrame with columns ecg_id, patient_id, then per class ``<C>_true``, ``<C>_prob``, ``<C>_outcome``.
    """
    missing = [k for k in _NEEDED if k not in results]
    if missing:
        raise ResultsError(
            f"these results lack {', '.join(missing)} (written by an older version); "
            "run `python -m ecgcore eval` for that run again."
        )
    names = list(results["label_names"])
    ids = np.asarray(results["test_ecg_ids"], dtype=np.int64)
    y = np.asarray(results["test_true"], dtype=np.int64).reshape(len(ids), len(names))
    p = np.asarray(results["test_prob"], dtype=np.float64).reshape(len(ids), len(names))
    thr = np.asarray(results["thresholds"], dtype=np.float64)
    pred = p >= thr
    table = pd.DataFrame({"ecg_id": ids, "patient_id": pd.Series([pd.NA] * len(ids), dtype="Int64")})
    if ds_records is not None and "patient_id" in ds_records:
        pid = ds_records.drop_duplicates("ecg_id").set_index("ecg_id")["patient_id"]
        table["patient_id"] = pd.array(pid.reindex(ids).to_numpy(), dtype="Int64")
    for c, name in enumerate(names):
        truth = y[:, c].astype(bool)
        outcome = np.where(pred[:, c], np.where(truth, "TP", "FP"), np.where(truth, "FN", "TN"))
        table[f"{name}_true"] = y[:, c]
        table[f"{name}_prob"] = p[:, c]
        table[f"{name}_outcome"] = outcome
    return table


def write_records_csv(run_path: str | Path, ds_records: pd.DataFrame | None = None) -> Path:
    """Write ``<run_path>/records.csv`` from its results.json (atomically); returns its path."""
    run_path = Path(run_path)
    table = record_outcomes(read_json(run_path / "results.json"), ds_records)
    out = run_path / RECORDS_CSV
    with atomic_write(out, "w") as f:
        table.to_csv(f, index=False)
    return out


def read_records_csv(run_path: str | Path, results: dict | None = None) -> pd.DataFrame:
    """``<run_path>/records.csv`` as written by :func:`write_records_csv` (ResultsError if absent/corrupt).
    With the run's ``results`` (results.json), the file must belong to it: the same test records and one
    ``<class>_outcome`` column per class, no other (a file copied from another fold or edited by hand is
    refused, never shown as this run's)."""
    path = Path(run_path) / RECORDS_CSV
    try:
        table = pd.read_csv(path, dtype={"patient_id": "Int64"})
    except FileNotFoundError as e:
        raise ResultsError(f"{path} does not exist; run `python -m ecgcore eval` for that run first.") from e
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise ResultsError(f"{path} is corrupt ({e}); run `python -m ecgcore eval` again.") from e
    if "ecg_id" not in table:
        raise ResultsError(f"{path} has no ecg_id column; run `python -m ecgcore eval` again.")
    if results is not None:
        _check_belongs(path, table, results)
    return table


def _check_belongs(path: Path, table: pd.DataFrame, results: dict) -> None:
    """ResultsError unless ``table`` (a records.csv) holds exactly the test records and classes of ``results``."""
    classes = {c[: -len("_outcome")] for c in table.columns if c.endswith("_outcome")}
    expected = set(results.get("label_names") or [])
    ids = results.get("test_ecg_ids")
    if classes != expected:
        extra, missing = sorted(classes - expected), sorted(expected - classes)
        what = f"classes {', '.join(extra)} that the run does not have" if extra else f"no {', '.join(missing)}"
        raise ResultsError(f"{path} has {what}; it does not belong to this run — run eval again to rewrite it.")
    if ids is not None and sorted(table["ecg_id"].tolist()) != sorted(int(i) for i in ids):
        raise ResultsError(
            f"{path} lists other records than this run's test part (a file from another fold?); run eval again."
        )


def outcome_counts(table: pd.DataFrame, class_name: str) -> dict[str, int]:
    """{TP, FP, FN, TN: count} of one class in a records table."""
    counts = table[f"{class_name}_outcome"].value_counts()
    return {o: int(counts.get(o, 0)) for o in OUTCOMES}


def errors_view(table: pd.DataFrame, class_name: str, outcome: str) -> pd.DataFrame:
    """The records of one class and outcome ("MI", "FN"), most telling first.

    Sorted by how confident the model was in its answer for that class:

    * FN: ascending probability — the misses the model was surest were negative come first;
    * FP: descending probability — the false alarms it was surest of come first;
    * TP: descending probability; TN: ascending probability (its most confident right answers first).

    Returns ecg_id, patient_id, ``prob``, ``true`` and the other classes' true labels (``<C>_true``),
    so a row says what the record really carries.
    """
    outcome = outcome.upper()
    if outcome not in OUTCOMES:
        raise ResultsError(f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}.")
    if f"{class_name}_outcome" not in table:
        classes = [c[: -len("_outcome")] for c in table.columns if c.endswith("_outcome")]
        raise ResultsError(f"class {class_name!r} is not in these results; choose one of {', '.join(classes)}.")
    rows = table[table[f"{class_name}_outcome"] == outcome]
    rows = rows.sort_values(f"{class_name}_prob", ascending=outcome in ("FN", "TN"), kind="stable")
    others = [c for c in table.columns if c.endswith("_true") and c != f"{class_name}_true"]
    view = rows[["ecg_id", "patient_id", f"{class_name}_prob", f"{class_name}_true", *others]]
    return view.rename(columns={f"{class_name}_prob": "prob", f"{class_name}_true": "true"}).reset_index(drop=True)
