"""A record's true labels with the cardiologist's certainty, in one place (no Streamlit import).

PTB-XL's labels come from SCP statements, each with a likelihood (``ds.records["scp_codes"]``: code →
likelihood %, 0 = not given). Wherever a page shows a true label it shows the statements behind it
("MI: AMI 15 %"), so a 15 % infarction is not read as a certain one. The Dataset page shows the same
codes (:func:`ecgcore.app.records.code_rows`); the Saliency, Predict and Evaluate pages call
:func:`labels_with_certainty`.
"""

from __future__ import annotations

import pandas as pd

from ecgcore.app.records import code_rows, likelihood_text

LOW_CERTAINTY = 50.0  # a label whose strongest statement is below this likelihood (%) is called uncertain


def _value(scp_codes: dict, code: str) -> float | None:
    v = scp_codes.get(code)
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def labels_with_certainty(ds, row: int, statements: pd.DataFrame | None) -> list[dict]:
    """One dict per true label of record ``row`` (dataset order of the labels):

    ``label``; ``statements``: the codes that gave it with their likelihood (["AMI 15 %"]);
    ``likelihood``: the highest likelihood given (%; None when none was given); ``uncertain``: True
    when that is below :data:`LOW_CERTAINTY`; ``text``: "MI: AMI 15 %" (a label whose codes are not
    known — no scp_statements.csv — reads "MI: statements not known").
    """
    scp = dict(ds.records["scp_codes"].iloc[row] or {})
    rows = code_rows(scp, statements, ds.label_set)
    by_label: dict[str, list[str]] = {}
    for r in rows:
        if r["label"]:
            by_label.setdefault(r["label"], []).append(r["code"])
    out = []
    for name, on in zip(ds.label_names, ds.labels[row]):
        if not on:
            continue
        codes = by_label.get(name, [])
        values = [v for v in (_value(scp, c) for c in codes) if v]
        best = max(values) if values else None
        said = [f"{c} {likelihood_text(scp.get(c))}" for c in codes]
        out.append(
            {
                "label": name,
                "statements": said,
                "likelihood": best,
                "uncertain": best is not None and best < LOW_CERTAINTY,
                "text": f"{name}: {', '.join(said) if said else 'statements not known'}",
            }
        )
    return out


def certainty_markdown(labels: list[dict], empty: str = "no label in this label set") -> str:
    """The labels as markdown badges: red for a certain label, orange for one under :data:`LOW_CERTAINTY`."""
    if not labels:
        return f":gray-badge[{empty}]"
    return " ".join(f":{'orange' if lab['uncertain'] else 'red'}-badge[{lab['text']}]" for lab in labels)


def certainty_text(labels: list[dict]) -> str:
    """'MI: AMI 15 % · NORM: NORM 100 %' (a table cell); '—' without labels."""
    return " · ".join(lab["text"] for lab in labels) or "—"


def code_table(ds, row: int, statements: pd.DataFrame | None) -> list[dict]:
    """The record's SCP codes with likelihood, meaning, kind and the label they give (Dataset's table)."""
    return code_rows(dict(ds.records["scp_codes"].iloc[row] or {}), statements, ds.label_set)


def report_of(ds, row: int) -> str:
    """The cardiologist's free-text report of record ``row`` ('—' when empty)."""
    text = ds.records["report"].iloc[row] if "report" in ds.records else ""
    return str(text).strip() if isinstance(text, str) and text.strip() else "—"
