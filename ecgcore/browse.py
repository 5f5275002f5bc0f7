"""What the app's pages compute: record filters and tables, fold balance and patient-disjointness
checks, run overviews and training progress, metric tables, threshold re-computation, uploads and
prediction tables, and the app's small settings file. Plain functions of ecgcore objects — nothing
here imports Streamlit, so every page stays layout only and all of this is unit-tested directly.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ecgcore.data import DEMO_MARKER, ECGDataset, cache_root
from ecgcore.errors import CheckpointError, DataError, RunError, UploadError
from ecgcore.fileio import write_json
from ecgcore.folds import patient_folds, strat_folds_of
from ecgcore.metrics import MACRO_METRICS, confusion_matrices, read_json, summarize_folds
from ecgcore.runs import RunInfo, list_runs, read_status, run_dir

NO_LABEL = "(no label)"
SEX_NAMES = {0: "male", 1: "female"}  # PTB-XL: 0 = male, 1 = female
UNKNOWN = "unknown"
ACTIVE_STATES = ("queued", "starting", "running", "evaluating")
METRIC_NAMES = {
    "macro_pr_auc": "macro PR-AUC",
    "micro_pr_auc": "micro PR-AUC",
    "macro_roc_auc": "macro ROC-AUC",
    "f1_macro": "F1 macro",
    "f1_micro": "F1 micro",
    "f1_macro_at_0.5": "F1 macro at 0.5",
    "f1_micro_at_0.5": "F1 micro at 0.5",
}

# ----------------------------------------------------------------------------- app settings

SETTINGS_FILE = "app_settings.json"


def settings_path() -> Path:
    """The app's settings file (remembered across restarts): ``<cache_root>/app_settings.json``."""
    return cache_root() / SETTINGS_FILE


def load_settings() -> dict:
    """The saved settings ({} when absent or unreadable: a broken file must not stop the app)."""
    try:
        data = json.loads(settings_path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_settings(**fields) -> dict:
    """Merge ``fields`` into the settings file (atomically); returns the new settings."""
    settings = load_settings() | fields
    write_json(settings_path(), settings)
    return settings


def check_data_root(text: str) -> Path:
    """A folder typed by the user, checked enough to be worth loading (DataError says what is wrong)."""
    text = (text or "").strip()
    if not text:
        raise DataError("type the path of a PTB-XL folder (the one holding ptbxl_database.csv).")
    root = Path(text).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder on this machine; type the path of a PTB-XL folder.")
    if not (root / "ptbxl_database.csv").is_file():
        raise DataError(
            f"{root} holds no ptbxl_database.csv; choose the PTB-XL folder itself "
            "(it also holds scp_statements.csv and records100/)."
        )
    return root.resolve()


def dataset_stamp(root: str | os.PathLike) -> int | None:
    """mtime (ns) of the folder's ptbxl_database.csv: part of the app's dataset cache key."""
    try:
        return (Path(root) / "ptbxl_database.csv").stat().st_mtime_ns
    except OSError:
        return None


def is_demo_folder(root: str | os.PathLike) -> bool:
    return (Path(root) / DEMO_MARKER).exists()


def clear_signal_cache() -> int:
    """Delete the signal cache files (``<cache_root>/signals``); returns how many were removed. Loaded
    memory maps stay valid (the files are only unlinked) until the app drops them."""
    folder = cache_root() / "signals"
    removed = 0
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    return removed


# ----------------------------------------------------------------------------- records


def sex_names(records: pd.DataFrame) -> pd.Series:
    return records["sex"].map(lambda v: SEX_NAMES.get(int(v), UNKNOWN) if pd.notna(v) else UNKNOWN)


def label_strings(ds: ECGDataset) -> list[str]:
    """Per record, its labels joined by ', ' ('' when it has none in the label set)."""
    names = np.asarray(ds.label_names, dtype=object)
    return [", ".join(names[row.astype(bool)]) for row in ds.labels] if len(names) else [""] * len(ds.records)


def record_table(ds: ECGDataset) -> pd.DataFrame:
    """The records as shown to a user: ecg_id, patient_id, age, sex, strat_fold, labels, report
    (row i is record i of the dataset)."""
    r = ds.records
    return pd.DataFrame(
        {
            "ecg_id": r["ecg_id"].astype(int),
            "patient_id": pd.array(r["patient_id"].round(), dtype="Int64"),
            "age": r["age"].astype(float),
            "sex": sex_names(r),
            "strat_fold": pd.array(strat_folds_of(r), dtype="Int64"),
            "labels": label_strings(ds),
            "report": r["report"].astype(str),
        }
    )


@dataclass
class RecordFilter:
    """What the Dataset page filters on (empty = no constraint).

    labels: label names (and/or :data:`NO_LABEL`); ``label_mode`` "any" keeps records with at least
    one of them, "all" records with all of them. age: inclusive (lo, hi); records without an age are
    kept when ``unknown_age``. text: words that must all occur in the report (case-insensitive).
    ids: numbers matched against ecg_id and patient_id.
    """

    labels: Sequence[str] = ()
    label_mode: str = "any"
    strat_folds: Sequence[int] = ()
    sexes: Sequence[str] = ()
    age: tuple[float, float] | None = None
    unknown_age: bool = True
    text: str = ""
    ids: str = ""


def parse_ids(text: str) -> list[int]:
    """Whole numbers in ``text`` ('12, 345 6789' → [12, 345, 6789])."""
    return [int(x) for x in re.findall(r"\d+", text or "")]


def filter_records(ds: ECGDataset, f: RecordFilter) -> np.ndarray:
    """Indices of the records that pass ``f`` (in dataset order)."""
    r = ds.records
    keep = np.ones(len(r), dtype=bool)
    if f.labels:
        names = list(ds.label_names)
        unknown = [x for x in f.labels if x != NO_LABEL and x not in names]
        if unknown:
            raise DataError(f"label(s) {', '.join(unknown)} are not in the label set {ds.label_set}.")
        cols = [names.index(x) for x in f.labels if x != NO_LABEL]
        has = ds.labels[:, cols].astype(bool) if cols else np.zeros((len(r), 0), bool)
        none = ~ds.labels.any(axis=1) if ds.labels.shape[1] else np.ones(len(r), bool)
        if f.label_mode == "all":
            m = has.all(axis=1) if cols else np.ones(len(r), bool)
            if NO_LABEL in f.labels:
                m &= none
        else:
            m = has.any(axis=1) if cols else np.zeros(len(r), bool)
            if NO_LABEL in f.labels:
                m |= none
        keep &= m
    if f.strat_folds:
        keep &= np.isin(strat_folds_of(r), list(f.strat_folds))
    if f.sexes:
        keep &= sex_names(r).isin(list(f.sexes)).to_numpy()
    if f.age is not None:
        age = r["age"].to_numpy(dtype=float)
        known = ~np.isnan(age)
        in_range = known & (age >= f.age[0]) & (age <= f.age[1])
        keep &= in_range | (~known & f.unknown_age)
    words = (f.text or "").lower().split()
    if words:
        report = r["report"].astype(str).str.lower()
        for w in words:
            keep &= report.str.contains(w, regex=False).to_numpy()
    ids = parse_ids(f.ids)
    if ids:
        keep &= (r["ecg_id"].isin(ids) | r["patient_id"].isin(ids)).to_numpy()
    return np.flatnonzero(keep)


def age_bounds(ds: ECGDataset) -> tuple[int, int]:
    """Whole-year range of the known ages (PTB-XL writes 300 for patients over 89)."""
    age = ds.records["age"].dropna()
    if age.empty:
        return 0, 100
    return int(math.floor(age.min())), int(math.ceil(age.max()))


def record_index(ds: ECGDataset, ecg_id: int | None) -> int | None:
    """Row of ``ecg_id`` in the dataset (None when absent)."""
    if ecg_id is None:
        return None
    hits = np.flatnonzero(ds.records["ecg_id"].to_numpy() == int(ecg_id))
    return int(hits[0]) if len(hits) else None


def record_labels(ds: ECGDataset, i: int) -> list[str]:
    return [n for n, v in zip(ds.label_names, ds.labels[i]) if v]


def record_details(ds: ECGDataset, i: int) -> dict:
    """Metadata of record ``i`` for display."""
    r = ds.records.iloc[i]
    age = r["age"]
    return {
        "ecg_id": int(r["ecg_id"]),
        "patient_id": int(r["patient_id"]) if pd.notna(r["patient_id"]) else None,
        "age": (None if pd.isna(age) else ("≥ 90 (PTB-XL writes 300)" if age >= 300 else int(age))),
        "sex": sex_names(ds.records.iloc[[i]]).iloc[0],
        "strat_fold": int(strat_folds_of(ds.records)[i]),
        "labels": record_labels(ds, i),
        "scp_codes": dict(r["scp_codes"]),
        "report": str(r["report"]),
        "file": str(r["filename"]),
    }


def patient_records(ds: ECGDataset, patient_id: int | float) -> pd.DataFrame:
    """All records of one patient (the record table's rows), oldest ecg_id first."""
    rows = np.flatnonzero(ds.records["patient_id"].to_numpy() == float(patient_id))
    return record_table(ds).iloc[rows].sort_values("ecg_id")


def patients(ds: ECGDataset) -> list[int]:
    return sorted(int(p) for p in ds.records["patient_id"].dropna().unique())


def record_parts(ds: ECGDataset, plan: str = "cv5", fold: int = 0) -> np.ndarray:
    """Per record, its part in fold ``fold`` of ``plan``: train, val, test, or '—' (unlabelled)."""
    parts = np.full(len(ds.records), "—", dtype=object)
    f = patient_folds(ds.records, ds.labels.any(axis=1), plan)[fold]
    for name in ("train", "val", "test"):
        parts[getattr(f, name)] = name
    return parts


# ----------------------------------------------------------------------------- dataset summary


def dataset_summary(ds: ECGDataset) -> dict:
    """Counts for the Home page."""
    labelled = ds.labels.any(axis=1) if ds.labels.shape[1] else np.zeros(len(ds.records), bool)
    return {
        "records": len(ds.records),
        "patients": int(ds.records["patient_id"].nunique()),
        "labelled": int(labelled.sum()),
        "unlabelled": int((~labelled).sum()),
        "strat_folds": int(len(np.unique(strat_folds_of(ds.records)))),
        "skipped": len(ds.skipped),
    }


def label_counts(ds: ECGDataset) -> pd.DataFrame:
    """Records per label (a record can have several), with the share of all records."""
    n = max(len(ds.records), 1)
    counts = ds.labels.sum(axis=0).astype(int) if ds.labels.shape[1] else np.zeros(0, int)
    none = int((~ds.labels.any(axis=1)).sum()) if ds.labels.shape[1] else len(ds.records)
    table = pd.DataFrame({"label": [*ds.label_names, NO_LABEL], "records": [*counts.tolist(), none]})
    table["share"] = table["records"] / n
    return table


def strat_fold_counts(ds: ECGDataset) -> pd.DataFrame:
    """Labelled records per strat fold: index 'strat fold k', one column per label, plus
    ``records`` (the fold's labelled records) — the input of ``label_distribution_figure``."""
    strat = strat_folds_of(ds.records)
    labelled = ds.labels.any(axis=1)
    rows = {}
    for k in sorted(np.unique(strat)):
        idx = np.flatnonzero((strat == k) & labelled)
        rows[f"strat fold {k}"] = {n: int(ds.labels[idx, j].sum()) for j, n in enumerate(ds.label_names)} | {
            "records": len(idx)
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=[*ds.label_names, "records"])


def part_counts(summary: pd.DataFrame, fold: int) -> pd.DataFrame:
    """One fold of ``folds.fold_summary``'s table as per-part counts (index train/val/test, label
    columns and ``records``) for ``label_distribution_figure``."""
    part = summary[summary["fold"] == fold].set_index("part")
    return part.drop(columns=["fold", "patients"])


def patient_overlap(ds: ECGDataset, plan: str = "cv5") -> pd.DataFrame:
    """Per fold, the patients of each part and how many are shared between parts (all must be 0)."""
    rows = []
    pid = ds.records["patient_id"].to_numpy()
    for f in patient_folds(ds.records, ds.labels.any(axis=1), plan):
        tr, va, te = (set(pid[getattr(f, p)].tolist()) for p in ("train", "val", "test"))
        rows.append(
            {
                "fold": f.index,
                "train patients": len(tr),
                "val patients": len(va),
                "test patients": len(te),
                "train ∩ val": len(tr & va),
                "train ∩ test": len(tr & te),
                "val ∩ test": len(va & te),
            }
        )
    table = pd.DataFrame(rows)
    table["shared"] = table[["train ∩ val", "train ∩ test", "val ∩ test"]].sum(axis=1) if rows else []
    return table


def shared_patients(overlap: pd.DataFrame) -> int:
    """Patients shared between train/val/test, summed over folds (0 for patient-disjoint folds)."""
    return int(overlap["shared"].sum()) if len(overlap) else 0


def patients_in_several_strat_folds(ds: ECGDataset) -> int:
    """Patients whose records lie in more than one strat fold (0: folds are patient-grouped)."""
    strat = pd.Series(strat_folds_of(ds.records), index=ds.records.index)
    return int((strat.groupby(ds.records["patient_id"]).nunique() > 1).sum())


# ----------------------------------------------------------------------------- runs


def find_runs(root: Path | None = None, dataset: str | None = None) -> list[RunInfo]:
    """Every run (see ``runs.list_runs``, which also finds runs made through the Python API)."""
    return list_runs(root, dataset)


def run_label(run: RunInfo) -> str:
    plan = "" if run.plan == "cv5" else f" ({run.plan})"
    return f"{run.model} · fold {run.fold}{plan} · {run.label_set}"


def live_state(run: RunInfo) -> str:
    """The run's state as the jobs module sees it (a 'starting' run whose process died is failed)."""
    from ecgcore.jobs import run_state

    if not (run.path / "status.json").is_file():
        return run.status.get("state", "unknown")
    return run_state(run.path)


def has_results(path: Path) -> bool:
    return (Path(path) / "results.json").is_file()


def is_evaluating(path: Path, status: dict | None = None) -> bool:
    """Training finished ('done') but the test-part evaluation of the same process is still running."""
    from ecgcore.jobs import pid_alive

    status = status if status is not None else (read_status(path) or {})
    if status.get("state") == "evaluating":
        return pid_alive(status.get("pid"))
    return status.get("state") == "done" and not has_results(path) and pid_alive(status.get("pid"))


def is_active(run: RunInfo) -> bool:
    """Still worth polling: queued, starting, running, or evaluating after training."""
    return live_state(run) in ACTIVE_STATES or is_evaluating(run.path, run.status)


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


@dataclass
class TrainingProgress:
    """Where a run stands, from its events (see :func:`training_progress`)."""

    state: str
    epoch: int = 0  # epochs completed
    epochs: int = 0
    steps_done: int = 0
    steps_total: int = 0
    elapsed_s: float = 0.0
    remaining_s: float | None = None
    last: dict = field(default_factory=dict)  # the last epoch_end event

    @property
    def fraction(self) -> float:
        if self.state == "done":
            return 1.0
        return min(1.0, self.steps_done / self.steps_total) if self.steps_total else 0.0

    @property
    def text(self) -> str:
        parts = [self.state]
        if self.epochs:
            parts.append(f"epoch {min(self.epoch + (self.state == 'running'), self.epochs)}/{self.epochs}")
        if self.steps_total:
            parts.append(f"step {self.steps_done:,}/{self.steps_total:,}")
        if self.elapsed_s:
            parts.append(f"elapsed {format_duration(self.elapsed_s)}")
        if self.remaining_s is not None and self.state == "running":
            parts.append(f"about {format_duration(self.remaining_s)} left")
        return " · ".join(parts)


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def training_progress(events: Sequence[Mapping], state: str, now: float | None = None) -> TrainingProgress:
    """Steps done / total, elapsed and remaining time of a run from its progress.jsonl events.

    Timing uses the latest ``start`` (a resumed run restarts the clock): remaining = the steps left
    at the speed measured since then. A finished run's elapsed time runs to its final event.
    """
    now = time.time() if now is None else now
    starts = [i for i, e in enumerate(events) if e.get("event") == "start"]
    if not starts:
        return TrainingProgress(state)
    seg = events[starts[-1] :]
    start = seg[0]
    epochs = int(start.get("epochs") or 0)
    spe = int(start.get("steps_per_epoch") or 0)
    first_step = int(start.get("resumed_from") or 0) * spe
    steps = [int(e["step"]) for e in seg if isinstance(e.get("step"), (int, float))]
    done = max(steps) if steps else first_step
    epoch_ends = [e for e in seg if e.get("event") == "epoch_end"]
    finished = [e for e in seg if e.get("event") in ("done", "cancelled", "failed")]
    t0 = float(start.get("time") or now)
    t1 = float(finished[-1].get("time") or now) if finished else now
    elapsed = max(0.0, t1 - t0)
    total = epochs * spe
    remaining = None
    if done > first_step and elapsed > 0 and total:
        remaining = (total - done) * elapsed / (done - first_step)
    completed = int(epoch_ends[-1]["epoch"]) + 1 if epoch_ends else int(start.get("resumed_from") or 0)
    return TrainingProgress(
        state, completed, epochs, done, total, elapsed, remaining, dict(epoch_ends[-1]) if epoch_ends else {}
    )


def curve_events(events: Sequence[Mapping]) -> list[dict]:
    """Events for the loss curves with the steps a resumed run did again removed: batch/epoch events
    of an earlier segment past the epoch the next segment resumed from are dropped."""
    starts = [i for i, e in enumerate(events) if e.get("event") == "start"]
    if len(starts) <= 1:
        return [dict(e) for e in events]
    keep: list[dict] = []
    bounds = [*starts, len(events)]
    for k in range(len(starts)):
        seg = events[bounds[k] : bounds[k + 1]]
        limit = math.inf
        if k + 1 < len(starts):
            nxt = events[starts[k + 1]]
            limit = int(nxt.get("resumed_from") or 0) * int(nxt.get("steps_per_epoch") or 0)
        keep += [dict(e) for e in seg if not (isinstance(e.get("step"), (int, float)) and e["step"] > limit)]
    return keep


def log_tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a run's train.log ('' when absent)."""
    try:
        with open(Path(path) / "train.log", "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class Submission:
    fold: int
    path: Path
    state: str | None = None  # the run's state after submitting; None when refused
    message: str = ""


def submit_training(
    ds: ECGDataset,
    model: str,
    folds: Iterable[int],
    *,
    label_set: str,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int = 0,
    plan: str = "cv5",
    replace: bool = False,
    skip_bad: bool = False,
    root: Path | None = None,
) -> list[Submission]:
    """Queue one background training per fold (``jobs.submit``); never raises for one fold's refusal.

    A fold whose run already finished or holds a completed epoch is refused unless ``replace``
    (then it is trained again with ``--overwrite``); a duplicate of a queued or training run is
    refused with the jobs module's RunError message.
    """
    from ecgcore import jobs

    out = []
    for k in folds:
        path = run_dir(ds.name, label_set, model, k, plan, root)
        status = read_status(path) or {}
        previous = status.get("state") if status else None
        extra = ["--skip_bad"] if skip_bad else []
        if (
            previous in ("done", "failed", "cancelled", "interrupted") or (path / "last.pt").exists()
        ) and jobs.run_state(path) not in ACTIVE_STATES:
            if not replace:
                what = previous or "previous"
                out.append(
                    Submission(
                        k,
                        path,
                        None,
                        f"fold {k}: already holds a {what} run — resume it below, "
                        "or tick 'replace finished runs' to train it again.",
                    )
                )
                continue
            extra.append("--overwrite")
        argv = jobs.train_argv(
            str(ds.root),
            model,
            k,
            label_set=label_set,
            plan=plan,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            sampling_rate=ds.sampling_rate,
            extra=extra,
        )
        try:
            state = jobs.submit(path, argv, root)
        except RunError as e:
            out.append(Submission(k, path, None, str(e)))
            continue
        out.append(Submission(k, path, state, f"fold {k}: {state}"))
    return out


def pump(root: Path | None = None) -> list[Path]:
    """Start queued runs while a training slot is free (``jobs.pump``, which counts busy runs by
    their held locks)."""
    from ecgcore import jobs

    return jobs.pump(root)


def resumable(path: Path, state: str) -> bool:
    return state in ("interrupted", "cancelled", "failed") and (Path(path) / "last.pt").exists()


# ----------------------------------------------------------------------------- evaluation


def evaluated_runs(dataset: str, root: Path | None = None) -> list[RunInfo]:
    """Runs of ``dataset`` with a results.json."""
    return [r for r in find_runs(root, dataset) if has_results(r.path)]


def checkpoint_runs(
    dataset: str | None = None, label_set: str | None = None, root: Path | None = None
) -> list[RunInfo]:
    """Runs with a best.pt (optionally of one dataset and label set)."""
    return [
        r
        for r in find_runs(root, dataset)
        if (r.path / "best.pt").is_file() and (label_set is None or r.label_set == label_set)
    ]


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
    return read_json(Path(path) / "results.json")


# ----------------------------------------------------------------------------- checkpoints, predictions


def check_checkpoint_fits(meta: dict, label_names: Sequence[str], sampling_rate: int, path: Path | str = "") -> None:
    """CheckpointError unless the checkpoint predicts these labels at this sampling rate."""
    if list(meta.get("label_names") or []) != list(label_names):
        raise CheckpointError(
            f"{path} predicts {', '.join(meta.get('label_names') or [])}, not this label set "
            f"({', '.join(label_names)}); pick a checkpoint trained on the label set chosen in the sidebar."
        )
    if int(meta.get("sampling_rate") or 0) != int(sampling_rate):
        raise CheckpointError(f"{path} was trained at {meta.get('sampling_rate')} Hz, not {sampling_rate} Hz.")


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


def probability_table(
    probs: np.ndarray, label_names: Sequence[str], thresholds: Sequence[float] | None, true_labels: Sequence[str] = ()
) -> pd.DataFrame:
    """Per class: probability, threshold (chosen on validation), predicted (p ≥ threshold), true."""
    thr = list(thresholds) if thresholds is not None else [0.5] * len(label_names)
    table = pd.DataFrame(
        {
            "class": list(label_names),
            "probability": np.asarray(probs, dtype=float).round(4),
            "threshold": np.asarray(thr, dtype=float).round(4),
        }
    )
    table["predicted"] = table["probability"] >= table["threshold"]
    if true_labels:
        table["true label"] = table["class"].isin(list(true_labels))
    return table


def predictions_csv(table: pd.DataFrame, source: str, checkpoint: str) -> bytes:
    """The prediction table as CSV, with comment lines saying what it is."""
    head = (
        f"# ECG explorer prediction — research and education only, not for diagnosis\n"
        f"# record: {source}\n# checkpoint: {checkpoint}\n"
    )
    return (head + table.to_csv(index=False)).encode()


UPLOAD_TYPES = ("hea", "dat", "csv")


def read_upload(files: Sequence[tuple[str, bytes]]) -> tuple[np.ndarray, int, str]:
    """Read what a user uploaded: one CSV of 12 leads, or a WFDB record (.hea + .dat).

    Returns:
        ((12, T) float32 mV, sampling rate, a name for the record). Raises UploadError with what to fix.
    """
    from ecgcore.predict import read_uploaded_csv, read_uploaded_wfdb

    if not files:
        raise UploadError("upload a WFDB record (its .hea and .dat together) or a CSV of 12 leads.")
    names = [Path(n).name for n, _ in files]
    exts = [n.rsplit(".", 1)[-1].lower() if "." in n else "" for n in names]
    bad = [n for n, e in zip(names, exts) if e not in UPLOAD_TYPES]
    if bad:
        raise UploadError(f"{', '.join(bad)}: only .hea + .dat (WFDB) or .csv files can be read.")
    if "csv" in exts:
        if len(files) != 1:
            raise UploadError("upload one CSV file alone (12 columns, one per lead), or a .hea + .dat pair.")
        signal, fs = read_uploaded_csv(files[0][1])
        return signal, fs, Path(names[0]).stem
    signal, fs = read_uploaded_wfdb({n: b for n, (_, b) in zip(names, files)})
    return signal, fs, next(n for n in names if n.lower().endswith(".hea"))[:-4]


def signal_csv(signal: np.ndarray) -> bytes:
    """A (12, T) signal as the CSV the Predict page reads: a header of lead names, one row per sample (mV)."""
    from ecgcore.data import LEADS

    table = pd.DataFrame(np.asarray(signal, dtype=np.float32).T, columns=list(LEADS))
    return table.to_csv(index=False, float_format="%.4f").encode()


def prepare_signal(signal: np.ndarray, fs: int, target_fs: int) -> np.ndarray:
    """An uploaded (12, T) signal at the checkpoint's sampling rate (resampled when needed)."""
    from ecgcore.predict import resample_to

    return resample_to(np.asarray(signal, dtype=np.float32), int(fs), int(target_fs))


def saliency_target(probs: np.ndarray, label_names: Sequence[str], true_labels: Sequence[str] = ()) -> int:
    """The class to explain by default: the most probable true label, else the most probable class."""
    probs = np.asarray(probs, dtype=float)
    true_idx = [i for i, n in enumerate(label_names) if n in set(true_labels)]
    if true_idx:
        return max(true_idx, key=lambda i: probs[i])
    return int(np.argmax(probs)) if len(probs) else 0
