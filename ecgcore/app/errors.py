"""The Evaluate page's errors view: from a confusion-matrix cell to the test records behind it, and from
a record to its saliency. No Streamlit import.

The records table is the run's ``records.csv`` (:mod:`ecgcore.outcomes`); for a run evaluated before
records.csv existed it is built from results.json. At thresholds other than the validation-chosen ones
(the page's slider) the outcomes are recomputed from the stored probabilities at those thresholds, so
the table always matches the confusion matrices on screen.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from ecgcore.errors import ResultsError
from ecgcore.outcomes import errors_view, read_records_csv, record_outcomes

OUTCOME_NAMES = {"FN": "false negatives", "FP": "false positives", "TP": "true positives", "TN": "true negatives"}
# (row, column) of a 2×2 matrix [[tn, fp], [fn, tp]]: rows true 0/1, columns pred 0/1
_CELLS = {
    ("true 0", "pred 0"): "TN",
    ("true 0", "pred 1"): "FP",
    ("true 1", "pred 0"): "FN",
    ("true 1", "pred 1"): "TP",
}
SALIENCY_PATH = "/saliency"
DEFAULT_METHOD = "integrated_gradients"


def records_table(
    run_path: Path, results: dict, ds_records: pd.DataFrame | None = None, thresholds: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """Per test record: truth, probability and TP/FP/FN/TN per class.

    Args:
        run_path: the run folder (its records.csv is used when present and readable).
        results: its results.json (used when records.csv is missing, and for other thresholds).
        ds_records: the dataset's table, for patient ids when the table is built here.
        thresholds: {class: threshold} shown on the page; None or the chosen ones → records.csv.
    """
    chosen = dict(zip(results.get("label_names") or [], results.get("thresholds") or []))
    other = thresholds is not None and any(
        not np.isclose(float(thresholds.get(c, t)), float(t)) for c, t in chosen.items()
    )
    if not other:
        try:
            return read_records_csv(run_path, results)
        except ResultsError:
            pass
    if other:
        results = dict(results, thresholds=[float(thresholds.get(c, t)) for c, t in chosen.items()])
    return record_outcomes(results, ds_records)


def classes_of(table: pd.DataFrame) -> list[str]:
    return [c[: -len("_outcome")] for c in table.columns if c.endswith("_outcome")]


def errors_table(table: pd.DataFrame, class_name: str, outcome: str) -> pd.DataFrame:
    """The records of one class and outcome, most telling first (:func:`ecgcore.outcomes.errors_view`), with
    readable columns: ecg_id, patient, ``P(<class>)``, and the record's true labels as one text."""
    view = errors_view(table, class_name, outcome)
    true_cols = [c for c in table.columns if c.endswith("_true")]
    truth = table.set_index("ecg_id")[true_cols] if len(table) else pd.DataFrame(columns=true_cols)
    labels = [
        ", ".join(c[: -len("_true")] for c in true_cols if truth.loc[e, c] == 1) or "none" for e in view["ecg_id"]
    ]
    return pd.DataFrame(
        {
            "ecg_id": view["ecg_id"].astype(int),
            "patient": view["patient_id"],
            f"P({class_name})": view["prob"].astype(float),
            "true labels": labels,
        }
    )


LIKELIHOOD_BANDS = {"<50": (0.0, 50.0), "50–99": (50.0, 100.0), "100": (100.0, 101.0)}
"""The errors table's certainty filter: the cardiologist's likelihood, in %, lo ≤ value < hi (PTB-XL's 0
means "not given" and falls in no band)."""


def _statement(code: str, value, statements: pd.DataFrame | None) -> str:
    """'AMI 15 %, 'anterior myocardial infarction'' — a statement as Dataset shows it."""
    from ecgcore.app.records import likelihood_text

    text = f"{code} {likelihood_text(value)}"
    if statements is not None and code in statements.index and pd.notna(statements.loc[code].get("description")):
        text += f", '{statements.loc[code]['description']}'"
    return text


def with_certainty(
    rows: pd.DataFrame,
    class_name: str,
    ds_records: pd.DataFrame,
    statements: pd.DataFrame | None,
    label_set: str,
) -> pd.DataFrame:
    """The errors table (:func:`errors_table`) with the cardiologist's certainty: each true label shows the
    SCP statement(s) that gave it and their likelihood (``MI (AMI 15 %, 'anterior myocardial
    infarction')``), and ``certainty (%)`` is the likelihood of the record's statements for ``class_name``
    (its largest), or, for a record without that class, the largest of its true labels' statements
    (None: not given). The statements come from ``ds_records["scp_codes"]`` and scp_statements.csv."""
    from ecgcore.app.records import code_rows

    out = rows.copy()
    codes = ds_records.set_index("ecg_id")["scp_codes"] if len(ds_records) else pd.Series(dtype=object)
    labels, certainty = [], []
    for ecg_id, truth in zip(out["ecg_id"], out["true labels"]):
        scp = codes.get(int(ecg_id)) if int(ecg_id) in codes.index else None
        scp = scp if isinstance(scp, dict) else {}
        by_label: dict[str, list[tuple[str, float]]] = {}
        for row, (code, value) in zip(code_rows(scp, statements, label_set), scp.items()):
            if row["label"]:
                by_label.setdefault(row["label"], []).append((code, value))
        names = [n.strip() for n in str(truth).split(",") if n.strip() and n.strip() != "none"]
        labels.append(
            ", ".join(
                f"{n} ({'; '.join(_statement(c, v, statements) for c, v in by_label[n])})" if n in by_label else n
                for n in names
            )
            or "none"
        )
        own = by_label.get(class_name) or [cv for n in names for cv in by_label.get(n, [])]
        given = [float(v) for _, v in own if isinstance(v, int | float) and float(v) > 0]
        certainty.append(max(given) if given else None)
    out["true labels"] = labels
    out["certainty (%)"] = certainty
    return out


def filter_certainty(rows: pd.DataFrame, band: str) -> pd.DataFrame:
    """The rows whose ``certainty (%)`` is in ``band`` (a :data:`LIKELIHOOD_BANDS` key; "all": every row)."""
    if band not in LIKELIHOOD_BANDS:
        return rows
    lo, hi = LIKELIHOOD_BANDS[band]
    value = pd.to_numeric(rows["certainty (%)"], errors="coerce")
    return rows[(value >= lo) & (value < hi)].reset_index(drop=True)


def cell_counts(matrices: Mapping[str, list], class_name: str) -> dict[str, int]:
    """{TP, FP, FN, TN: count} of one class's 2×2 matrix [[tn, fp], [fn, tp]] (for the cell picker)."""
    m = matrices.get(class_name)
    if m is None:
        return {}
    (tn, fp), (fn, tp) = m
    return {"FN": int(fn), "FP": int(fp), "TP": int(tp), "TN": int(tn)}


def cell_of_point(point: Mapping, names: list[str]) -> tuple[str, str] | None:
    """(class, outcome) of a clicked point of the confusion figure (one heatmap trace per class, in
    ``names`` order; x "pred 0/1", y "true 0/1"); None when the point is not a matrix cell."""
    curve = point.get("curve_number", point.get("curveNumber"))
    outcome = _CELLS.get((str(point.get("y")), str(point.get("x"))))
    if outcome is None or not isinstance(curve, int) or not 0 <= curve < len(names):
        return None
    return names[curve], outcome


def saliency_params(ecg_id: int, run, class_name: str, method: str = DEFAULT_METHOD) -> dict[str, str]:
    """The query parameters that open the Saliency page on a record with this run, fold and class:
    ``ecg_id``, ``model``, ``run`` (run name), ``fold``, ``plan``, ``cls``, ``method``."""
    return {
        "ecg_id": str(int(ecg_id)),
        "model": run.model,
        "run": run.run_name,
        "fold": str(run.fold),
        "plan": run.plan,
        "cls": class_name,
        "method": method,
    }


def saliency_link(params: Mapping[str, str]) -> str:
    """The shareable (relative) URL of :func:`saliency_params`: ``/saliency?ecg_id=…&model=…``."""
    return f"{SALIENCY_PATH}?{urlencode(dict(params))}"


def thresholds_tag(thresholds: Mapping[str, float], chosen: Mapping[str, float]) -> str:
    """A short stable tag of the thresholds shown ("chosen", or a digest of them), e.g. for a widget key."""
    if all(np.isclose(float(thresholds.get(c, t)), float(t)) for c, t in chosen.items()):
        return "chosen"
    text = ",".join(f"{c}={float(t):.6f}" for c, t in sorted(thresholds.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def outcome_label(outcome: str) -> str:
    return f"{OUTCOME_NAMES.get(outcome, outcome)} ({outcome})"
