"""Runs as the pages list them: a label per run, the runs table (live state, headline numbers), the
per-model overview on Home, the runs with results or a checkpoint, and the other-dataset warning.
No Streamlit import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore.app.run_status import has_results, is_evaluating, live_state
from ecgcore.data import ECGDataset
from ecgcore.runs import RunInfo, list_runs


def run_label(run: RunInfo) -> str:
    plan = "" if run.plan == "cv5" else f" ({run.plan})"
    return f"{run.model} · fold {run.fold}{plan} · {run.label_set}"


def runs_table(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """One row per run: where it stands and its headline numbers."""
    rows = []
    for r in runs:
        s = r.status
        state = live_state(r)
        if is_evaluating(r.path, s):
            state = "evaluating"
        epochs = s.get("epochs")
        epoch = s.get("epoch")
        rows.append(
            {
                "label set": r.label_set,
                "model": r.model,
                "fold": r.fold if r.plan == "cv5" else f"{r.plan}-{r.fold}",
                "state": state,
                "epoch": f"{epoch + 1}/{epochs}" if epoch is not None and epochs else "",
                "val macro PR-AUC": s.get("val_macro_pr_auc"),
                "test macro PR-AUC": s.get("test_macro_pr_auc"),
                "test macro ROC-AUC": s.get("test_macro_roc_auc"),
                "results": has_results(r.path),
                "updated": pd.to_datetime(s["updated"], unit="s") if s.get("updated") else pd.NaT,
                "path": str(r.path),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "label set",
            "model",
            "fold",
            "state",
            "epoch",
            "val macro PR-AUC",
            "test macro PR-AUC",
            "test macro ROC-AUC",
            "results",
            "updated",
            "path",
        ],
    )


def trained_overview(runs: Sequence[RunInfo]) -> pd.DataFrame:
    """Per label set and model: folds trained, folds evaluated, test macro PR-AUC mean ± SD and best."""
    rows = []
    keyed: dict[tuple[str, str, str], list[RunInfo]] = {}
    for r in runs:
        keyed.setdefault((r.label_set, r.model, r.plan), []).append(r)
    for (label_set, model, plan), group in sorted(keyed.items()):
        scores = [r.status.get("test_macro_pr_auc") for r in group if has_results(r.path)]
        scores = [s for s in scores if s is not None]
        rows.append(
            {
                "label set": label_set,
                "model": model,
                "plan": plan,
                "runs": len(group),
                "folds done": sorted(r.fold for r in group if r.state == "done"),
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
        if (r.path / "best.pt").is_file() and (label_set is None or r.label_set == label_set)
    ]


def other_dataset_note(trained_on: Mapping | None, ds: ECGDataset) -> str | None:
    """A warning when a run's dataset (results['dataset'] or a checkpoint's meta['dataset']) is not the
    loaded one although it has the same name — every demo dataset is named 'demo'."""
    trained_on = trained_on or {}
    fingerprint = trained_on.get("fingerprint")
    if fingerprint is None or fingerprint == ds.fingerprint:
        return None
    return (
        f"This run was trained on another dataset named '{trained_on.get('name', '?')}' "
        f"({trained_on.get('n_records', '?')} records at {trained_on.get('root', '?')}), not on the one loaded "
        f"now ({len(ds.records):,} records at {ds.root}): its folds and numbers belong to that dataset."
    )
