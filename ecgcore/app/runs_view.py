"""Runs as the pages list them: a label per run, the runs table (live state, headline numbers), the
per-model overview on Home, the runs with results or a checkpoint, and the other-dataset warning.
No Streamlit import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.app.run_status import has_results, live_state
from ecgcore.app.words import MISSING
from ecgcore.background import TaskState
from ecgcore.checkpoint_fit import same_dataset
from ecgcore.data import ECGDataset
from ecgcore.recipes import BY_NAME, fields_in, from_recorded, off, shown_value
from ecgcore.run_paths import RunPaths, group_label
from ecgcore.runs import RunInfo, list_runs, recipe_of, run_state

LINE_FIELDS = ("epochs", "batch_size", "lr", "schedule", "augment")
"""The recipe fields always shown in one line; the Advanced techniques are added where they are on."""


def run_label(run: RunInfo) -> str:
    return f"{group_label(run.model, run.run_name, run.plan, run.fold)} · {run.label_set}"


def recipe_line(recipe: Mapping | None) -> str:
    """A run's recipe in one line ('Epochs 40 · Batch size 16 · Learning rate 0.003 · …'); the Advanced
    techniques only where they are on; '—' when the run does not say."""
    if not recipe:
        return "—"
    config = from_recorded(recipe).to_dict()
    shown = [BY_NAME[name] for name in LINE_FIELDS] + [
        f for f in fields_in("advanced") if not off(f.name, config[f.name]) and config[f.name] != f.default
    ]
    return " · ".join(f"{f.label} {shown_value(f.name, config[f.name])}" for f in shown)


def epoch_text(status: Mapping, state: str) -> str:
    """'2/4' — the epoch being trained while running (completed + 1), else the epochs completed;
    '' when the run does not say (never 'None')."""
    epochs, epoch = status.get("epochs"), status.get("epoch")
    if not isinstance(epochs, int) or not epochs:
        return ""
    done = epoch + 1 if isinstance(epoch, int) else 0
    shown = min(done + 1, epochs) if state == "running" and done < epochs else done
    return f"{shown}/{epochs}"


def runs_table(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """One row per run: where it stands and its headline numbers."""
    rows = []
    for r in runs:
        s = r.status
        state = live_state(r)
        rows.append(
            {
                "label set": r.label_set,
                "model": r.model,
                "run": r.run_name,
                "plan": r.plan,
                "fold": r.fold,
                "state": state,
                "epoch": epoch_text(s, state),
                "val macro PR-AUC": s.get("val_macro_pr_auc"),
                "test macro PR-AUC": s.get("test_macro_pr_auc"),
                "test macro ROC-AUC": s.get("test_macro_roc_auc"),
                "results": has_results(r.path),
                "updated": pd.to_datetime(s["updated"], unit="s") if s.get("updated") else pd.NaT,
                "recipe": recipe_line(recipe_of(r.path)),
                "problem": s.get("damage") or "",
                "path": str(r.path),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "label set",
            "model",
            "run",
            "plan",
            "fold",
            "state",
            "epoch",
            "val macro PR-AUC",
            "test macro PR-AUC",
            "test macro ROC-AUC",
            "results",
            "updated",
            "recipe",
            "problem",
            "path",
        ],
    )


def for_display(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The table with its numbers as text ('0.712') and a missing value as '—' — a dataframe shows a
    missing number as 'None', which reads as a fault in a running row."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]) or out[column].map(lambda v: isinstance(v, float)).any():
            out[column] = out[column].map(lambda v: "—" if v is None or pd.isna(v) else f"{v:.{digits}f}")
        elif pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].map(lambda v: "" if pd.isna(v) else v.strftime("%Y-%m-%d %H:%M:%S"))
        elif out[column].dtype == object:
            out[column] = out[column].map(lambda v: "—" if v is None else v)
    return out


def with_dashes(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The table as shown: a column with a missing value gets its numbers as text ('0.712') and the
    missing ones as '—' (a dataframe would show the word None); complete columns stay as they are."""
    out = table.copy()
    for column in out.columns:
        values = out[column]
        if not values.isna().any():
            continue
        given = values.dropna()
        if pd.api.types.is_numeric_dtype(values) or (len(given) and given.map(lambda v: isinstance(v, float)).all()):
            out[column] = values.map(lambda v: MISSING if v is None or pd.isna(v) else f"{v:.{digits}f}")
        else:
            out[column] = values.map(lambda v: MISSING if v is None or (isinstance(v, float) and pd.isna(v)) else v)
    return out


def trained_overview(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """Per label set and model: folds trained, folds evaluated, test macro PR-AUC mean ± SD and best."""
    rows = []
    keyed: dict[tuple[str, str, str, str], list[RunInfo]] = {}
    for r in runs:
        keyed.setdefault((r.label_set, r.model, r.run_name, r.plan), []).append(r)
    for (label_set, model, run_name, plan), group in sorted(keyed.items()):
        scores = [r.status.get("test_macro_pr_auc") for r in group if has_results(r.path)]
        scores = [s for s in scores if s is not None]
        rows.append(
            {
                "label set": label_set,
                "model": model,
                "run": run_name,
                "plan": plan,
                "runs": len(group),
                "folds done": sorted(r.fold for r in group if run_state(r.path) == TaskState.DONE),
                "folds evaluated": sorted(r.fold for r in group if has_results(r.path)),
                "test macro PR-AUC (mean)": float(np.mean(scores)) if scores else None,
                "± SD": float(np.std(scores, ddof=1)) if len(scores) > 1 else None,
                "best fold PR-AUC": max(scores) if scores else None,
            }
        )
    return pd.DataFrame(rows)


def evaluated_runs(dataset: str, root: Path | None = None) -> list[RunInfo]:
    """Runs of ``dataset`` with a results.json."""
    return [r for r in list_runs(root, dataset) if has_results(r.path)]


def checkpoint_runs(
    dataset: str | None = None, label_set: str | None = None, root: Path | None = None
) -> list[RunInfo]:
    """Runs with a best.pt (optionally of one dataset and label set)."""
    return [
        r
        for r in list_runs(root, dataset)
        if RunPaths(r.path).best.is_file() and (label_set is None or r.label_set == label_set)
    ]


def other_dataset_note(trained_on: Mapping | None, ds: ECGDataset) -> str | None:
    """A warning when a run's dataset (results['dataset'] or a checkpoint's meta['dataset']) is not the
    loaded one although it has the same name — every demo dataset is named 'demo'."""
    trained_on = trained_on or {}
    if not trained_on or same_dataset({"dataset": trained_on}, ds.fingerprint, ds.name):
        return None
    return (
        f"This run was trained on another dataset named '{trained_on.get('name', '?')}' "
        f"({trained_on.get('n_records', '?')} records at {trained_on.get('root', '?')}), not on the one loaded "
        f"now ({len(ds.records):,} records at {ds.root}): its folds and numbers belong to that dataset."
    )
