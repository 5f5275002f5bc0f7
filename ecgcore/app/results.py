"""What the Evaluate page shows of evaluated runs: headline and per-class metric tables, confusion
matrices at other thresholds, the summary over folds, 1D vs 2D per fold, and the reference figures
beside the user's own. No Streamlit import.

Arrays: ``y_true`` (N, C) 0/1 and ``y_prob`` (N, C) probabilities of the N test records, C classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ecgcore.metrics import MACRO_METRICS, confusion_matrices, read_json, summarize_folds

METRIC_NAMES = {
    "macro_pr_auc": "macro PR-AUC",
    "micro_pr_auc": "micro PR-AUC",
    "macro_roc_auc": "macro ROC-AUC",
    "f1_macro": "F1 macro",
    "f1_micro": "F1 micro",
    "f1_macro_at_0.5": "F1 macro at 0.5",
    "f1_micro_at_0.5": "F1 micro at 0.5",
}


def _ci(results: dict, key: str) -> tuple[float | None, float | None]:
    ci = (results.get("ci95") or {}).get(key)
    return (ci[0], ci[1]) if ci else (None, None)


def metrics_table(results: dict) -> pd.DataFrame:
    """The headline metrics of one evaluated run with their bootstrap 95 % intervals."""
    rows = []
    for key in (*MACRO_METRICS, "f1_macro_at_0.5"):
        if key not in results:
            continue
        lo, hi = _ci(results, key)
        rows.append({"metric": METRIC_NAMES.get(key, key), "value": results[key], "95% CI low": lo, "95% CI high": hi})
    return pd.DataFrame(rows, columns=["metric", "value", "95% CI low", "95% CI high"])


def per_class_table(results: dict) -> pd.DataFrame:
    """One row per class: support, AP, ROC-AUC, threshold, sensitivity, specificity, PPV, F1, TP/FP/FN/TN."""
    rows = []
    for name, c in (results.get("per_class") or {}).items():
        (tn, fp), (fn, tp) = c["confusion"]
        rows.append(
            {
                "class": name,
                "support": c["support"],
                "AP (PR-AUC)": c["ap"],
                "ROC-AUC": c["roc_auc"],
                "threshold": c["threshold"],
                "sensitivity": c["sensitivity"],
                "specificity": c["specificity"],
                "PPV": c["ppv"],
                "F1": c["f1"],
                "TP": tp,
                "FP": fp,
                "FN": fn,
                "TN": tn,
            }
        )
    return pd.DataFrame(rows)


def test_arrays(results: dict) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(y_true (N, C), y_prob (N, C), class names) of a results dict's test part."""
    names = list(results.get("label_names") or results.get("per_class", {}).keys())
    y_true = np.asarray(results.get("test_true") or np.zeros((0, len(names))), dtype=int).reshape(-1, len(names))
    y_prob = np.asarray(results.get("test_prob") or np.zeros((0, len(names))), dtype=float).reshape(-1, len(names))
    return y_true, y_prob, names


def confusion_at(
    results: dict, threshold: float | Mapping[str, float] | None = None
) -> tuple[dict, dict, pd.DataFrame]:
    """Confusion matrices of the test part at other thresholds.

    Args:
        threshold: None → the validation-chosen per-class thresholds of the run; a float → that one
            threshold for every class; a mapping → per-class thresholds (missing classes: chosen ones).

    Returns:
        ({class: [[tn, fp], [fn, tp]]}, {class: threshold}, table of sensitivity/specificity/PPV/F1).
    """
    y_true, y_prob, names = test_arrays(results)
    chosen = [float(t) for t in (results.get("thresholds") or [0.5] * len(names))]
    if threshold is None:
        thr = chosen
    elif isinstance(threshold, Mapping):
        thr = [float(threshold.get(n, chosen[i])) for i, n in enumerate(names)]
    else:
        thr = [float(threshold)] * len(names)
    cms = confusion_matrices(y_true, y_prob, np.asarray(thr)) if len(y_true) else np.zeros((len(names), 2, 2), int)
    matrices = {n: cms[i].astype(int).tolist() for i, n in enumerate(names)}
    rows = []
    for n, t in zip(names, thr):
        (tn, fp), (fn, tp) = matrices[n]
        rows.append(
            {
                "class": n,
                "threshold": t,
                "sensitivity": _ratio(tp, tp + fn),
                "specificity": _ratio(tn, tn + fp),
                "PPV": _ratio(tp, tp + fp),
                "F1": _ratio(2 * tp, 2 * tp + fp + fn),
                "TP": tp,
                "FP": fp,
                "FN": fn,
                "TN": tn,
            }
        )
    return matrices, dict(zip(names, thr)), pd.DataFrame(rows)


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b else None


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
    s = summarize_folds(list(results_by_fold.values())).get(metric)
    if not s:
        return "—"
    return f"{s['mean']:.3f} ± {s['std']:.3f} (n = {s['n_folds']} fold{'s' if s['n_folds'] != 1 else ''})"


def model_comparison(
    dataset: str,
    label_set: str,
    models: tuple[str, str] = ("cnn1d", "cnn2d"),
    plan: str = "cv5",
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
    results_by_model: Mapping[str, Mapping[int, dict]], dataset_description: str, plan: str = "cv5"
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
