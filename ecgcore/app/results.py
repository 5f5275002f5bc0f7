"""What the Evaluate page shows of evaluated runs: headline and per-class metric tables, confusion
matrices at other thresholds, the summary over folds, 1D vs 2D per fold, and the reference figures
beside the user's own. No Streamlit import.

Arrays: ``y_true`` (N, C) 0/1 and ``y_prob`` (N, C) probabilities of the N test records, C classes.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ecgcore.app.words import MISSING
from ecgcore.bootstrap import per_class_intervals
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.metrics import MACRO_METRICS, N_BOOTSTRAP, per_class_rates, read_json, summarize_folds
from ecgcore.thresholds import thresholds_of_results

METRIC_NAMES = {
    "macro_pr_auc": "macro PR-AUC (AP)",
    "micro_pr_auc": "micro PR-AUC (AP)",
    "macro_roc_auc": "macro ROC-AUC",
    "f1_macro": "macro F1",
    "f1_micro": "micro F1",
    "f1_macro_at_0.5": "macro F1 at 0.5",
    "f1_micro_at_0.5": "micro F1 at 0.5",
}
RATE_COLUMNS = {"sensitivity": "sensitivity", "specificity": "specificity", "ppv": "PPV", "f1": "F1"}
COUNT_COLUMNS = ("TP", "FP", "FN", "TN")


def ci_text(ci) -> str | None:
    """A 95 % interval as "0.712–0.834" (None when there is none)."""
    if not ci or ci[0] is None or ci[1] is None:
        return None
    return f"{ci[0]:.3f}–{ci[1]:.3f}"


def metrics_table(results: dict) -> pd.DataFrame:
    """The headline metrics of one evaluated run with their bootstrap 95 % intervals (as text)."""
    rows = []
    for key in (*MACRO_METRICS, "f1_macro_at_0.5"):
        if key not in results:
            continue
        ci = (results.get("ci95") or {}).get(key)
        rows.append({"metric": METRIC_NAMES.get(key, key), "value": results[key], "95% CI": ci_text(ci)})
    return pd.DataFrame(rows, columns=["metric", "value", "95% CI"])


def per_class_ci(
    y_true: np.ndarray, y_prob: np.ndarray, names: list[str], n: int = N_BOOTSTRAP, seed: int = 0
) -> dict[str, dict[str, list[float] | None]]:
    """95 % percentile bootstrap intervals of each class's AP and ROC-AUC, resampling the test records
    exactly as :func:`ecgcore.metrics.bootstrap_ci` does for the macro figures (same generator, seed
    and draws); a resample in which the class lacks positives or negatives is skipped for that class.

    All resamples are scored at once (:func:`ecgcore.bootstrap.per_class_intervals`).

    Returns {class: {"ap": [lo, hi] | None, "roc_auc": [lo, hi] | None}}.
    """
    return per_class_intervals(y_true, y_prob, names, n, seed)


def per_class_table(results: dict, ci: Mapping[str, Mapping] | None = None) -> pd.DataFrame:
    """One row per class: support, AP and ROC-AUC with their 95 % intervals (``ci``: :func:`per_class_ci`),
    then the rates and counts at the validation-chosen thresholds (:func:`ecgcore.metrics.per_class_rates`)."""
    y_true, y_prob, names = test_arrays(results)
    stored = results.get("per_class") or {}
    rates = {r["class"]: r for r in _rates(y_true, y_prob, names, thresholds_of_results(results))}
    rows = []
    for name in names:
        c, r, i = stored.get(name, {}), rates[name], (ci or {}).get(name, {})
        rows.append(
            {"class": name, "support": int(y_true[:, names.index(name)].sum()) if len(y_true) else c.get("support")}
            | {"AP (PR-AUC)": c.get("ap"), "AP 95% CI": ci_text(i.get("ap"))}
            | {"ROC-AUC": c.get("roc_auc"), "ROC-AUC 95% CI": ci_text(i.get("roc_auc"))}
            | _rate_columns(r)
        )
    return pd.DataFrame(rows)


def _rates(y_true: np.ndarray, y_prob: np.ndarray, names: list[str], thr) -> list[dict]:
    if len(y_true):
        return per_class_rates(y_true, y_prob, np.asarray(thr, dtype=np.float64), names)
    return [
        {"class": n, "threshold": float(t), "tp": 0, "fp": 0, "fn": 0, "tn": 0}
        | dict.fromkeys(("sensitivity", "specificity", "ppv", "f1"))
        for n, t in zip(names, thr)
    ]


def _rate_columns(r: dict) -> dict:
    return (
        {"threshold": r["threshold"]}
        | {label: r[key] for key, label in RATE_COLUMNS.items()}
        | {k: r[k.lower()] for k in COUNT_COLUMNS}
    )


def test_arrays(results: dict) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(y_true (N, C), y_prob (N, C), class names) of a results dict's test part."""
    names = list(results.get("label_names") or results.get("per_class", {}).keys())
    y_true = np.asarray(results.get("test_true") or np.zeros((0, len(names))), dtype=int).reshape(-1, len(names))
    y_prob = np.asarray(results.get("test_prob") or np.zeros((0, len(names))), dtype=float).reshape(-1, len(names))
    return y_true, y_prob, names


def confusion_at(
    results: dict, threshold: float | Mapping[str, float] | None = None
) -> tuple[dict, dict, pd.DataFrame]:
    """Confusion matrices and per-class rates of the test part at other thresholds
    (:func:`ecgcore.metrics.per_class_rates`, the one implementation).

    Args:
        threshold: None → the validation-chosen per-class thresholds of the run; a float → that one
            threshold for every class; a mapping → per-class thresholds (missing classes: chosen ones).

    Returns:
        ({class: [[tn, fp], [fn, tp]]}, {class: threshold}, table of sensitivity/specificity/PPV/F1/counts).
    """
    y_true, y_prob, names = test_arrays(results)
    chosen = thresholds_of_results(results)
    if threshold is None:
        thr = chosen
    elif isinstance(threshold, Mapping):
        thr = [float(threshold.get(n, chosen[i])) for i, n in enumerate(names)]
    else:
        thr = [float(threshold)] * len(names)
    rates = _rates(y_true, y_prob, names, thr)
    matrices = {r["class"]: [[r["tn"], r["fp"]], [r["fn"], r["tp"]]] for r in rates}
    table = pd.DataFrame([{"class": r["class"]} | _rate_columns(r) for r in rates])
    return matrices, dict(zip(names, thr)), table


def folds_table(results_by_fold: Mapping[int, dict]) -> pd.DataFrame:
    """Macro metrics per fold, then 'mean' and 'SD' rows (``metrics.summarize_folds``)."""
    rows = [
        {"fold": str(k)} | {METRIC_NAMES[m]: r.get(m) for m in MACRO_METRICS}
        for k, r in sorted(results_by_fold.items())
    ]
    summary = summarize_folds(list(results_by_fold.values()))
    if summary:
        rows.append({"fold": "mean"} | {METRIC_NAMES[m]: s["mean"] for m, s in summary.items()})
        rows.append({"fold": "SD"} | {METRIC_NAMES[m]: s["std"] for m, s in summary.items()})
    return pd.DataFrame(rows, columns=["fold", *(METRIC_NAMES[m] for m in MACRO_METRICS)])


def mean_sd_text(results_by_fold: Mapping[int, dict], metric: str = "macro_pr_auc") -> str:
    """'0.712 ± 0.014 (n = 5 folds)'; one fold has no SD: '0.712, no SD (n = 1 fold)'; no fold: '—'."""
    s = summarize_folds(list(results_by_fold.values())).get(metric)
    if not s:
        return MISSING
    if s["std"] is None:
        return f"{s['mean']:.3f}, no SD (n = 1 fold)"
    return f"{s['mean']:.3f} ± {s['std']:.3f} (n = {s['n_folds']} folds)"


def model_comparison(
    dataset: str,
    label_set: str,
    models: tuple[str, str] = ("cnn1d", "cnn2d"),
    plan: str = DEFAULT_PLAN,
    root: Path | None = None,
) -> pd.DataFrame:
    """``evaluate.comparison_table`` for a dataset name and label set (folds evaluated for both models).
    comparison_table reads only the dataset's ``name`` and ``label_set``, so no loaded dataset is needed."""
    from ecgcore.evaluate import comparison_table

    return comparison_table(SimpleNamespace(name=dataset, label_set=label_set), models, plan, root)


def side_by_side(table: pd.DataFrame, metric: str = "macro_pr_auc") -> pd.DataFrame:
    """The comparison table as one row per fold, one column per model, and the difference."""
    if table.empty:
        return pd.DataFrame()
    wide = table.pivot_table(index="fold", columns="model", values=metric, aggfunc="mean")
    models = list(pd.unique(table["model"]))
    wide = wide[models]
    if len(models) == 2:
        wide[f"{models[1]} − {models[0]}"] = wide[models[1]] - wide[models[0]]
    return wide.reset_index()


def reference_with_runs(
    results_by_model: Mapping[str, Mapping[int, dict]], dataset_description: str, plan: str = DEFAULT_PLAN
) -> pd.DataFrame:
    """The reference figures (``reference.reference_results``) under the user's own runs, each row
    naming its source, data and protocol."""
    from ecgcore.reference import reference_results

    ref = reference_results().assign(kind="reference (not run here)")
    own = []
    for model, by_fold in results_by_model.items():
        s = summarize_folds(list(by_fold.values()))
        if not s:
            continue
        own.append(
            {
                "kind": "your runs",
                "source": "this app",
                "model": model,
                "data": dataset_description,
                "protocol": f"{plan}, {len(by_fold)} fold(s) evaluated",
                "macro_pr_auc": s.get("macro_pr_auc", {}).get("mean"),
                "macro_pr_auc_std": s.get("macro_pr_auc", {}).get("std"),
                "macro_roc_auc": s.get("macro_roc_auc", {}).get("mean"),
            }
        )
    table = pd.concat([pd.DataFrame(own), ref], ignore_index=True) if own else ref
    return table[["kind", "source", "model", "data", "protocol", "macro_pr_auc", "macro_pr_auc_std", "macro_roc_auc"]]


def read_run_results(path: Path) -> dict:
    """results.json of the run folder ``path`` (ResultsError naming the file when missing or corrupt)."""
    return read_json(Path(path) / "results.json")


def confusion_view(template: dict, matrices: Mapping[str, list], thresholds: Mapping[str, float]) -> dict:
    """The figure of :func:`ecgcore.figures.confusion_figure` at other counts and thresholds, made by
    restyling ``template`` (that figure's ``to_dict()`` for the same classes, built once) instead of
    building it anew: plotly's make_subplots and annotation checks take ~0.5 s a build, too slow for a
    slider. Changed: each heatmap's z and zmax, each cell's count and text colour (white above 55 % of
    the panel's largest count, as the figure draws it), each panel title's threshold."""
    fig = copy.deepcopy(template)
    names = [t.get("name") for t in fig["data"]]
    arrays = {n: np.asarray(matrices[n], dtype=float) for n in names}
    for trace in fig["data"]:
        m = arrays[trace["name"]]
        trace["z"] = m.astype(int).tolist()
        trace["zmax"] = max(float(m.max()), 1.0)
    titles = iter(names)
    for a in fig["layout"].get("annotations", []):
        name, _, cell = str(a.get("name") or "").rpartition(":")
        if name in arrays and len(cell) == 2:
            m = arrays[name]
            v = m[int(cell[0]), int(cell[1])]
            a["text"] = str(int(v)) if float(v).is_integer() else f"{v:.3g}"
            a.setdefault("font", {})["color"] = "white" if v > 0.55 * max(float(m.max()), 1.0) else "black"
        elif "name" not in a:  # a panel title, in class order
            n = next(titles, None)
            if n is not None:
                a["text"] = f"{n}<br>threshold {float(thresholds[n]):.2f}" if n in thresholds else n
    return fig


# ----------------------------------------------------------------------------- where the model fails

ECE_WELL, ECE_ROUGH = 0.05, 0.10  # macro ECE up to which a run reads as well / roughly calibrated


LIKELIHOOD_NOTE = (
    " By certainty: a group holds the class's records whose statement has that likelihood plus every record "
    "without the class, so its figure says how well the model tells doubtful cases from the rest."
)


def _figure_and_ci(r: dict, metric: str) -> tuple[float | None, str]:
    value, lo, hi = r.get(metric), r.get(f"{metric}_lo"), r.get(f"{metric}_hi")
    if value is None or pd.isna(value):
        return None, MISSING
    has_ci = lo is not None and hi is not None and not pd.isna(lo) and not pd.isna(hi)
    return float(value), (f"{lo:.3f}–{hi:.3f}" if has_ci else MISSING)


def subgroup_rows(table: pd.DataFrame, cls: str = "macro") -> pd.DataFrame:
    """The groups of one subgroup table (``ecgcore.subgroups.run_subgroups``) and class as shown under
    the forest plots: the whole test part first, then each group with PR-AUC and ROC-AUC, their 95 %
    intervals and, for a group too small for an interval (or without a figure), the reason."""
    out = []
    for r in table[table["class"] == cls].to_dict(orient="records"):
        pr, pr_ci = _figure_and_ci(r, "pr_auc")
        roc, roc_ci = _figure_and_ci(r, "roc_auc")
        note = r.get("note") if isinstance(r.get("note"), str) else ""
        if pr is None and roc is None:
            note = note or "no figure: the group lacks positives or negatives of this class"
        out.append(
            {
                "group": "whole test part" if r["group"] == "all" else str(r["group"]),
                "records": int(r["n"]),
                "positives": int(r["positives"]),
                "PR-AUC": pr,
                "PR-AUC 95 % CI": pr_ci,
                "ROC-AUC": roc,
                "ROC-AUC 95 % CI": roc_ci,
                "why greyed": note,
            }
        )
    columns = ["group", "records", "positives", "PR-AUC", "PR-AUC 95 % CI", "ROC-AUC", "ROC-AUC 95 % CI", "why greyed"]
    return pd.DataFrame(out, columns=columns)


def subgroup_error_words(by: str, error: Exception) -> str:
    """One line for a subgroup table that cannot be made: a column the data lacks, or a run evaluated
    without its test records (no command-line advice)."""
    from ecgcore.app.words import SUBGROUP_NAMES, for_people
    from ecgcore.errors import DataError

    name = SUBGROUP_NAMES.get(by, by)
    if isinstance(error, DataError):
        return f"This dataset has no {name} values for the test records, so there are no {name} subgroups: choose another column."
    if isinstance(error, KeyError):
        return "This run's results do not hold its test records: evaluate it again on Train to see its subgroups."
    return for_people(str(error)).splitlines()[0]


def calibration_table(calibration: dict) -> pd.DataFrame:
    """Per class: positives, ECE and Brier score of the raw test probabilities (and after scaling)."""
    raw, scaled = calibration.get("raw") or {}, calibration.get("scaled") or {}
    rows = []
    for name, c in (raw.get("per_class") or {}).items():
        row = {"class": name, "positives": c.get("positives"), "ECE": c.get("ece"), "Brier score": c.get("brier")}
        if scaled.get("per_class"):
            row["ECE after scaling"] = scaled["per_class"].get(name, {}).get("ece")
        rows.append(row)
    return pd.DataFrame(rows)


def forest_range(table: pd.DataFrame, metric: str, cls: str = "macro") -> list[float] | None:
    """The x-range of a forest plot: its figures and intervals, at least 0.2 wide inside [0, 1]
    (``figures.metrics.metric_range``), so a difference of 0.01 never fills the plot."""
    from ecgcore.figures.metrics import metric_range

    rows = table[table["class"] == cls]
    columns = [c for c in (metric, f"{metric}_lo", f"{metric}_hi") if c in rows.columns]
    values = pd.to_numeric(rows[columns].stack(), errors="coerce").to_numpy(dtype=float) if columns else []
    return metric_range(values, min_width=0.2)


def subgroup_classes(table: pd.DataFrame) -> list[str]:
    """The classes of a subgroup table, the macro first."""
    seen = list(pd.unique(table["class"])) if len(table) else []
    return sorted(seen, key=lambda c: c != "macro")


def calibration_words(calibration: dict) -> str:
    """Whether a run's test-part probabilities are calibrated, in words, from
    ``ecgcore.calibration.run_calibration`` (macro ECE and Brier score; after temperature scaling too)."""
    raw = calibration.get("raw") or {}
    ece, brier = raw.get("macro_ece"), raw.get("macro_brier")
    if ece is None:
        return "No calibration figure: the test part has no records."
    if ece <= ECE_WELL:
        verdict = "well calibrated: a predicted 70 % comes true about 70 % of the time"
    elif ece <= ECE_ROUGH:
        verdict = "roughly calibrated: read a probability as a chance give or take about 10 points"
    else:
        verdict = "not calibrated: read the probabilities as scores, not as chances"
    per_class = raw.get("per_class") or {}
    worst = max(per_class, key=lambda c: per_class[c].get("ece") or 0.0) if per_class else None
    text = f"The raw probabilities are {verdict} (macro ECE {ece:.3f}" + (
        f", Brier score {brier:.3f})." if brier is not None else ")."
    )
    if worst is not None and per_class[worst].get("ece") is not None:
        text += f" Least calibrated class: {worst} (ECE {per_class[worst]['ece']:.3f})."
    scaled = calibration.get("scaled") or {}
    if scaled.get("macro_ece") is not None:
        text += f" After per-class temperature scaling: macro ECE {scaled['macro_ece']:.3f}"
        text += f", Brier {scaled['macro_brier']:.3f}." if scaled.get("macro_brier") is not None else "."
    return text
