"""Where the model fails: test-part metrics per subgroup of PTB-XL's own columns.

Subgroup columns (``--by``):

* ``sex`` — PTB-XL's 0 = male, 1 = female;
* ``age`` — bands <40, 40–59, 60–79, ≥80 years (PTB-XL writes 300 for ages over 89: counted as ≥80);
* ``device``, ``site`` — as written in ptbxl_database.csv;
* ``validated_by_human`` — yes / no;
* ``likelihood`` — per class, the likelihood (PTB-XL's 0–100 %) of the record's own statements for that
  class (the largest of its scp_codes that map to the class), banded <50, 50–99, 100. It only exists
  for a class's positives, so the group "<50" of class MI is the MI records with likelihood <50 **plus
  every record without MI**: its PR-AUC says how well the model tells doubtful MI cases from non-MI.

Every subgroup is an ``(N, C)`` membership mask (the same column for every class, except for
``likelihood``). Point figures are scikit-learn's ``average_precision_score`` / ``roc_auc_score`` on the
group's records; intervals are 95 % percentile bootstraps of the group's own records
(:mod:`ecgcore.bootstrap`, the same resamples for every class so the macro has an interval too).

Small-n rule: a class gets an interval only with at least :data:`MIN_CASES` positives and as many
negatives in the group; the macro only when every class it averages has that. Otherwise the interval
is None and ``note`` says why. A class without both outcomes has no figure at all.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from ecgcore.bootstrap import percentile_interval, resample_counts, weighted_ap_auc
from ecgcore.errors import DataError
from ecgcore.labels import label_of_code

SUBGROUP_COLUMNS = ("sex", "age", "device", "site", "validated_by_human", "likelihood")
AGE_BANDS = ((0, 40, "<40"), (40, 60, "40–59"), (60, 80, "60–79"), (80, np.inf, "≥80"))
LIKELIHOOD_BANDS = ((-np.inf, 50, "<50"), (50, 100, "50–99"), (100, np.inf, "100"))
MIN_CASES = 10  # positives, and negatives, a class needs in a group for a bootstrap interval
MACRO = "macro"
TABLE_COLUMNS = (
    "by", "group", "class", "n", "positives", "prevalence",
    "pr_auc", "pr_auc_lo", "pr_auc_hi", "roc_auc", "roc_auc_lo", "roc_auc_hi", "small", "note",
)  # fmt: skip


def check_by(by: str) -> str:
    """``by`` if it names a subgroup column, else DataError (one line, the choices)."""
    if by not in SUBGROUP_COLUMNS:
        raise DataError(f"--by {by!r} is not a subgroup column; use one of {', '.join(SUBGROUP_COLUMNS)}.")
    return by


def _band(values: pd.Series, bands: Sequence[tuple[float, float, str]]) -> pd.Series:
    """Band names of numeric values (``lo <= v < hi``); ``unknown`` for missing values."""
    numbers = pd.to_numeric(values, errors="coerce")
    out = pd.Series("unknown", index=values.index, dtype=object)
    for lo, hi, name in bands:
        out[(numbers >= lo) & (numbers < hi)] = name
    return out


def _plain_groups(table: pd.DataFrame, by: str) -> pd.Series:
    """One group name per record for a column other than ``likelihood``."""
    column = table[by]
    if by == "age":
        return _band(column, AGE_BANDS)
    if by == "sex":
        return pd.to_numeric(column, errors="coerce").map({0: "male", 1: "female"}).fillna("unknown").astype(object)
    if by == "validated_by_human":
        text = column.astype(str).str.strip().str.lower()
        return text.map({"true": "yes", "1": "yes", "1.0": "yes", "false": "no", "0": "no", "0.0": "no"}).fillna(
            "unknown"
        )
    if by == "site":
        numbers = pd.to_numeric(column, errors="coerce")
        return numbers.map(lambda v: "unknown" if pd.isna(v) else f"site {int(v)}").astype(object)
    return column.map(lambda v: "unknown" if pd.isna(v) or not str(v).strip() else str(v).strip()).astype(object)


def class_likelihoods(
    scp_codes: Sequence[dict[str, float]], statements: pd.DataFrame, label_set: str, names: Sequence[str]
) -> np.ndarray:
    """Per record and class, the largest likelihood (0–100 %) of the record's statements mapping to the
    class (the mapping of :func:`ecgcore.labels.derive_labels`); NaN where none maps to it.

    Returns (N, C) float64 for N = len(scp_codes), C = len(names)."""
    value_of = label_of_code(statements, label_set)
    column = {name: i for i, name in enumerate(names)}
    out = np.full((len(scp_codes), len(names)), np.nan)
    for row, codes in enumerate(scp_codes):
        for code, likelihood in codes.items():
            c = column.get(value_of.get(code))
            if c is not None:
                out[row, c] = np.nanmax([out[row, c], float(likelihood)])
    return out


def membership(
    by: str, table: pd.DataFrame, y_true: np.ndarray, likelihood: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """{group name: (N, C) bool mask} of the N test records (``table`` rows, in ``y_true`` order).

    Args:
        by: a :data:`SUBGROUP_COLUMNS` name; ``table`` must hold that column (except ``likelihood``).
        y_true: (N, C) {0, 1}; likelihood: (N, C) from :func:`class_likelihoods` (``likelihood`` only).
    Groups are ordered as their bands, else by name; ``unknown`` last."""
    if by == "likelihood":
        positive = np.asarray(y_true).astype(bool)
        bands = np.stack([_band(pd.Series(col), LIKELIHOOD_BANDS).to_numpy() for col in np.asarray(likelihood).T], 1)
        return {name: ~positive | (positive & (bands == name)) for _, _, name in LIKELIHOOD_BANDS}
    names = _plain_groups(table.reset_index(drop=True), by).to_numpy()
    order = [b[2] for b in AGE_BANDS] if by == "age" else sorted(set(names) - {"unknown"}, key=str)
    order = [g for g in order if g in set(names)] + (["unknown"] if "unknown" in set(names) else [])
    n_classes = np.asarray(y_true).shape[1]
    return {g: np.repeat((names == g)[:, None], n_classes, axis=1) for g in order}


def _interval_note(positives: int, negatives: int) -> str | None:
    """Why a class in a group gets no interval (None: it gets one)."""
    if positives >= MIN_CASES and negatives >= MIN_CASES:
        return None
    return f"{positives} positives, {negatives} negatives: too few for an interval (needs ≥ {MIN_CASES} of each)"


def _nan_to_none(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def group_metrics(
    y_true: np.ndarray, y_prob: np.ndarray, member: np.ndarray, names: Sequence[str], n_bootstrap: int, seed: int = 0
) -> list[dict]:
    """Rows (macro first, then one per class) of one group: n, positives, prevalence, PR-AUC and ROC-AUC
    with 95 % intervals (None with a ``note`` when the group is too small), ``small`` (True: no interval).

    Args:
        y_true: (N, C) {0, 1}; y_prob: (N, C) in [0, 1]; member: (N, C) bool, the group per class;
        names: C class names; n_bootstrap: resamples (0: no intervals); seed: of the draws.
    """
    rows_in = np.flatnonzero(np.asarray(member).any(axis=1))
    y, p, m = np.asarray(y_true)[rows_in].astype(np.int64), np.asarray(y_prob, np.float64)[rows_in], member[rows_in]
    weights = resample_counts(len(rows_in), n_bootstrap if len(rows_in) else 0, seed).astype(np.float64)
    rows, boot_ap, boot_auc, macro_notes = [], [], [], []
    for c, name in enumerate(names):
        yc, pc = y[m[:, c], c], p[m[:, c], c]
        pos, neg = int(yc.sum()), int(len(yc) - yc.sum())
        row = {"class": name, "n": len(yc), "positives": pos, "prevalence": pos / len(yc) if len(yc) else None}
        note = "no positives or no negatives: no figure" if not (pos and neg) else _interval_note(pos, neg)
        ap = auc = None
        if pos and neg:
            ap, auc = float(average_precision_score(yc, pc)), float(roc_auc_score(yc, pc))
            macro_notes.append(None if note is None else f"{name} {pos}+/{neg}−")
            ap_b, auc_b = weighted_ap_auc(y[:, c], p[:, c], weights * m[:, c])
            boot_ap.append(ap_b)
            boot_auc.append(auc_b)
        ci_ap = ci_auc = None
        if ap is not None and note is None and n_bootstrap:
            kept = ~np.isnan(ap_b)
            ci_ap, ci_auc = percentile_interval(ap_b[kept]), percentile_interval(auc_b[kept])
        rows.append(row | _figures(ap, ci_ap, auc, ci_auc, note))
    rows.insert(0, _macro_row(rows, m, y, boot_ap, boot_auc, macro_notes, n_bootstrap))
    return rows


def _figures(ap, ci_ap, auc, ci_auc, note) -> dict:
    """The metric fields of a row; ``small`` when no interval could be given."""
    lo_ap, hi_ap = ci_ap or (None, None)
    lo_auc, hi_auc = ci_auc or (None, None)
    return {
        "pr_auc": _nan_to_none(ap), "pr_auc_lo": lo_ap, "pr_auc_hi": hi_ap,
        "roc_auc": _nan_to_none(auc), "roc_auc_lo": lo_auc, "roc_auc_hi": hi_auc,
        "small": ci_ap is None, "note": note,
    }  # fmt: skip


def _macro_row(rows, m, y, boot_ap, boot_auc, notes, n_bootstrap) -> dict:
    """The macro row: mean over the classes with both outcomes in the group; its interval is the
    percentile interval of the per-resample means (classes lacking an outcome in a resample left out),
    given only when every averaged class is large enough (:data:`MIN_CASES`)."""
    scored = [r for r in rows if r["pr_auc"] is not None]
    in_group = m.any(axis=1)
    base = {"class": MACRO, "n": int(in_group.sum()), "positives": int((y.astype(bool) & m).any(axis=1).sum())}
    base["prevalence"] = base["positives"] / base["n"] if base["n"] else None
    if not scored:
        return base | _figures(None, None, None, None, "no class has both outcomes in this group: no figure")
    ap = float(np.mean([r["pr_auc"] for r in scored]))
    auc = float(np.mean([r["roc_auc"] for r in scored]))
    problems = [n for n in notes if n]
    left_out = [r["class"] for r in rows if r["pr_auc"] is None]
    partial = (
        f"averages {len(scored)} of {len(rows)} classes (no figure for {', '.join(left_out)})" if left_out else None
    )
    if problems or not n_bootstrap:
        note = (
            f"too few cases for an interval (needs ≥ {MIN_CASES} positives and negatives per class): {', '.join(problems)}"
            if problems
            else "no bootstrap asked for"
        )
        return base | _figures(ap, None, auc, None, "; ".join(filter(None, [note, partial])))
    with warnings.catch_warnings():  # a resample without both outcomes in any class: NaN, left out below
        warnings.simplefilter("ignore", RuntimeWarning)
        ap_b, auc_b = np.nanmean(np.stack(boot_ap), axis=0), np.nanmean(np.stack(boot_auc), axis=0)
    kept = ~np.isnan(ap_b)
    return base | _figures(ap, percentile_interval(ap_b[kept]), auc, percentile_interval(auc_b[kept]), partial)


def subgroup_rows(
    by: str,
    table: pd.DataFrame,
    y_true: np.ndarray,
    y_prob: np.ndarray,
    names: Sequence[str],
    likelihood: np.ndarray | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> list[dict]:
    """Rows of :data:`TABLE_COLUMNS` for every group of ``by``, first the whole test part (group ``all``,
    the reference line of a forest plot). Shapes as in :func:`membership` and :func:`group_metrics`."""
    y_true = np.asarray(y_true)
    everyone = np.ones(y_true.shape, bool)
    groups = {"all": everyone} | membership(by, table, y_true, likelihood)
    out = []
    for group, member in groups.items():
        out += [{"by": by, "group": group} | r for r in group_metrics(y_true, y_prob, member, names, n_bootstrap, seed)]
    return out


def subgroup_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as a data frame with :data:`TABLE_COLUMNS` (what a page shows and plots)."""
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def test_part_table(root: Path, ecg_ids: Sequence[int], sampling_rate: int = 100) -> pd.DataFrame:
    """ptbxl_database.csv's rows of ``ecg_ids`` (in that order) with every column the file has (the
    loaded dataset keeps only a few): device, site and validated_by_human come from here."""
    from ecgcore.data import read_database

    database = read_database(root, sampling_rate).set_index("ecg_id")
    return database.loc[list(ecg_ids)].reset_index()


def missing_column(by: str, table: pd.DataFrame, root: Path) -> DataError | None:
    """The error for a ``--by`` column that ptbxl_database.csv lacks (None when it has it)."""
    if by == "likelihood" or (by in table.columns and table[by].notna().any()):
        return None
    return DataError(
        f"{Path(root) / 'ptbxl_database.csv'} has no {by!r} values, so there are no {by} subgroups; "
        f"use another --by ({', '.join(SUBGROUP_COLUMNS)})."
    )


def all_subgroups(
    root: Path,
    label_set: str,
    names: Sequence[str],
    ecg_ids: Sequence[int],
    y_true: np.ndarray,
    y_prob: np.ndarray,
    columns: Sequence[str] = SUBGROUP_COLUMNS,
    n_bootstrap: int = 200,
    sampling_rate: int = 100,
) -> dict:
    """Subgroup rows for each of ``columns`` the database has, for results.json.

    Args:
        root: the dataset folder; ecg_ids: the N test records; y_true, y_prob: (N, C); names: C classes.
    Returns:
        {"rows": [TABLE_COLUMNS rows], "missing": {column: why}, "min_cases": MIN_CASES}.
    """
    from ecgcore.data import read_statements

    table = test_part_table(root, ecg_ids, sampling_rate)
    rows, missing = [], {}
    for by in columns:
        problem = missing_column(check_by(by), table, root)
        if problem is not None:
            missing[by] = str(problem)
            continue
        likelihood = None
        if by == "likelihood":
            likelihood = class_likelihoods(table["scp_codes"].tolist(), read_statements(root), label_set, names)
        rows += subgroup_rows(by, table, y_true, y_prob, names, likelihood, n_bootstrap)
    return {"rows": rows, "missing": missing, "min_cases": MIN_CASES}


def run_subgroups(run_folder: Path, by: str, data_root: Path | None = None, n_bootstrap: int = 200) -> pd.DataFrame:
    """The subgroup table of one evaluated run (what a page shows): :data:`TABLE_COLUMNS` rows of ``by``,
    group ``all`` first. Read from results.json when ``eval`` stored them; else computed from its test
    probabilities and the dataset at ``data_root`` (default: the folder results.json names).

    Raises ResultsError (not evaluated) or DataError (a column the database lacks, an unknown ``by``)."""
    from ecgcore.metrics import read_json
    from ecgcore.run_paths import RunPaths

    check_by(by)
    results = read_json(RunPaths(run_folder).results)
    stored = results.get("subgroups") or {}
    if by in stored.get("missing", {}):
        raise DataError(stored["missing"][by])
    rows = [r for r in stored.get("rows", []) if r["by"] == by]
    if not rows:
        root = Path(data_root or (results.get("dataset") or {}).get("root") or ".")
        computed = all_subgroups(
            root, results.get("label_set") or "superclass", results["label_names"],
            results["test_ecg_ids"], np.asarray(results["test_true"]), np.asarray(results["test_prob"]),
            (by,), n_bootstrap,
        )  # fmt: skip
        if by in computed["missing"]:
            raise DataError(computed["missing"][by])
        rows = computed["rows"]
    return subgroup_frame(rows)
