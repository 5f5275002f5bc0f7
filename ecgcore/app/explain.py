"""The Saliency and Predict pages' view logic: deep links, the record picker's filters, the predicted
set in words, fold-ensemble members, which uploaded files to read, and the "whole test part" profile
figure. No Streamlit import.

Deep-link query parameters of the Saliency page (the Evaluate page links with exactly these names):
``ecg_id``, ``model``, ``run`` (run name, default ``default``), ``fold``, ``plan`` (default ``cv5``),
``cls`` (class name) and ``method``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecgcore import run_paths
from ecgcore.folds import DEFAULT_PLAN
from ecgcore.run_paths import DEFAULT_RUN, RunPaths
from ecgcore.runs import RunInfo

LINK_PARAMS = ("ecg_id", "model", "run", "fold", "plan", "cls", "method")
PARTS = ("test", "val", "train", "all")
ANY = "any"


# ----------------------------------------------------------------------------- deep links


@dataclass
class DeepLink:
    """A Saliency deep link, parsed and checked against the runs and classes there are."""

    ecg_id: int | None = None
    run: RunInfo | None = None
    cls: str | None = None
    method: str | None = None
    problems: list[str] = field(default_factory=list)


def link_signature(params: Mapping[str, str]) -> str:
    """The link parameters as one string (to apply a link once, not on every rerun)."""
    return "&".join(f"{k}={params.get(k) or ''}" for k in LINK_PARAMS)


def parse_link(
    params: Mapping[str, str], runs: Sequence[RunInfo], label_names: Sequence[str], methods: Sequence[str]
) -> DeepLink:
    """Read the deep-link parameters; what cannot be used is said in ``problems`` (one line each)."""
    link = DeepLink()
    raw = str(params.get("ecg_id", "") or "").strip()
    if raw:
        if raw.isdigit():
            link.ecg_id = int(raw)
        else:
            link.problems.append(f"ecg_id {raw!r} is not a record number.")
    cls = params.get("cls")
    if cls:
        if cls in label_names:
            link.cls = cls
        else:
            link.problems.append(f"class {cls!r} is not in this label set ({', '.join(label_names)}).")
    method = params.get("method")
    if method:
        if method in methods:
            link.method = method
        else:
            link.problems.append(f"method {method!r} is unknown; choose one of {', '.join(methods)}.")
    if not _fold_and_plan_valid(params, link.problems):
        return link
    model = params.get("model")
    if model:
        link.run = _link_run(params, model, runs, link.problems)
    elif params.get("fold") or params.get("plan"):
        link.run = _link_fold(params, runs, link.problems)
    return link


def _fold_and_plan_valid(params: Mapping[str, str], problems: list[str]) -> bool:
    """Whether the link's ``fold`` and ``plan`` can name a fold at all (a problem naming each bad value)."""
    from ecgcore.folds import PLANS

    fold = str(params.get("fold", "") or "").strip()
    plan = str(params.get("plan", "") or "").strip()
    ok = True
    if plan and plan not in PLANS:
        problems.append(f"plan {plan!r} is not a fold plan; choose one of {', '.join(PLANS)}.")
        ok = False
    if fold and not fold.isdigit():
        problems.append(f"fold {fold!r} is not a fold number.")
        ok = False
    elif fold and (plan or DEFAULT_PLAN) in PLANS and int(fold) >= len(PLANS[plan or DEFAULT_PLAN].folds):
        n = len(PLANS[plan or DEFAULT_PLAN].folds)
        problems.append(f"fold {fold} does not exist: plan {plan or DEFAULT_PLAN} has folds 0–{n - 1}.")
        ok = False
    return ok


def _link_fold(params: Mapping[str, str], runs: Sequence[RunInfo], problems: list[str]) -> RunInfo | None:
    """A link with a fold (or plan) but no model: the first model trained on that fold."""
    plan = params.get("plan") or DEFAULT_PLAN
    fold = str(params.get("fold", "") or "")
    hit = [r for r in runs if r.plan == plan and (not fold or r.fold == int(fold))]
    if not hit:
        problems.append(f"no model is trained on fold {fold or 'any'} of plan {plan} for this dataset and label set.")
        return None
    return sorted(hit, key=lambda r: (r.model, r.run_name != DEFAULT_RUN, r.run_name, r.fold))[0]


def _link_run(params: Mapping[str, str], model: str, runs: Sequence[RunInfo], problems: list[str]) -> RunInfo | None:
    name = params.get("run") or DEFAULT_RUN
    plan = params.get("plan") or DEFAULT_PLAN
    fold = str(params.get("fold", "") or "")
    same = [r for r in runs if r.model == model and r.run_name == name and r.plan == plan]
    if not same:
        problems.append(f"no trained run {model}:{name} ({plan}) for this dataset and label set.")
        return None
    if fold.isdigit():
        hit = [r for r in same if r.fold == int(fold)]
        if hit:
            return hit[0]
        problems.append(f"{model}:{name} has no trained fold {fold}; showing fold {same[0].fold}.")
    return sorted(same, key=lambda r: r.fold)[0]


def link_params(ecg_id: int, run: RunInfo | None, cls: str | None, method: str | None) -> dict[str, str]:
    """The deep-link parameters of what the page shows now."""
    out = {"ecg_id": str(int(ecg_id))}
    if run is not None:
        out |= {"model": run.model, "run": run.run_name, "fold": str(run.fold), "plan": run.plan}
    if cls:
        out["cls"] = cls
    if method:
        out["method"] = method
    return out


# ----------------------------------------------------------------------------- runs and ensembles


def group_label(run: RunInfo) -> str:
    """A run's group for people (``ecgcore.run_paths.group_label``): 'cnn1d', 'cnn1d · run long60',
    'cnn1d (benchmark)'."""
    return run_paths.group_label(run.model, run.run_name, run.plan)


def group_key(run: RunInfo) -> tuple[str, str, str, str, str]:
    return (run.dataset, run.label_set, run.model, run.run_name, run.plan)


def fold_members(runs: Sequence[RunInfo], run: RunInfo) -> list[RunInfo]:
    """The trained folds of ``run``'s group (same dataset, label set, model, run name and plan), by
    fold: the members of its fold ensemble (the same set as :func:`ecgcore.runs.trained_folds`)."""
    key = group_key(run)
    return sorted((r for r in runs if group_key(r) == key and RunPaths(r.path).best.is_file()), key=lambda r: r.fold)


def voters_note(n: int) -> str:
    return f"fold ensemble: the mean of {n} model{'s' if n != 1 else ''}' probabilities ({n} voted)"


# ----------------------------------------------------------------------------- predictions in words


def predicted_set(probs: np.ndarray, thresholds: np.ndarray, names: Sequence[str], source: str = "checkpoint") -> str:
    """'predicted: NORM + MI at the validation thresholds' (classes with p ≥ threshold, most probable first)."""
    probs, thresholds = np.asarray(probs, dtype=float), np.asarray(thresholds, dtype=float)
    hit = [i for i in np.argsort(-probs) if probs[i] >= thresholds[i]]
    where = "at the validation thresholds" if source == "checkpoint" else f"at the {source} thresholds"
    if not hit:
        return f"predicted: no class {where}"
    return f"predicted: {' + '.join(names[i] for i in hit)} {where}"


# ----------------------------------------------------------------------------- the record picker


def misclassified_ids(records_csv: pd.DataFrame, class_name: str | None = None) -> set[int]:
    """ecg_ids of a run's records.csv with a false positive or negative (for ``class_name``, or any class)."""
    cols = [c for c in records_csv.columns if c.endswith("_outcome")]
    if class_name is not None:
        cols = [c for c in cols if c == f"{class_name}_outcome"]
    if not cols:
        return set()
    wrong = records_csv[cols].isin(["FP", "FN"]).any(axis=1)
    return set(records_csv.loc[wrong, "ecg_id"].astype(int).tolist())


def pick_records(
    table: pd.DataFrame,
    labels: np.ndarray,
    label_names: Sequence[str],
    parts: np.ndarray | None,
    *,
    label: str = ANY,
    part: str = "all",
    wrong: set[int] | None = None,
) -> pd.DataFrame:
    """The records the picker offers (rows of the record table, dataset order), filtered by a label
    (``any``), a part of the chosen fold (``test``/``val``/``train``/``all``) and, when ``wrong`` is
    given, to those ecg_ids (the misclassified ones)."""
    keep = np.ones(len(table), dtype=bool)
    if label != ANY:
        keep &= labels[:, list(label_names).index(label)].astype(bool)
    if parts is not None and part != "all":
        keep &= np.asarray(parts) == part
    if wrong is not None:
        keep &= table["ecg_id"].isin(wrong).to_numpy()
    return table[keep]


def record_option(row: Mapping) -> str:
    """'ecg_id 17 · patient 4 · MI, STTC'."""
    labels = row.get("labels") or "no label"
    patient = row.get("patient_id")
    who = f" · patient {int(patient)}" if patient is not None and pd.notna(patient) else ""
    return f"ecg_id {int(row['ecg_id'])}{who} · {labels}"


# ----------------------------------------------------------------------------- uploads


def newest_upload(names: Sequence[str]) -> tuple[list[int], list[int]]:
    """Which uploaded files to read: the newest complete set, so a new upload replaces the old one.

    Args:
        names: the uploaded file names in upload order (oldest first, as Streamlit's uploader returns them).
    Returns:
        (indices to read, indices left aside). The newest file decides: a CSV is read alone; a .hea or
        .dat is read with the other WFDB files of its record name uploaded after the last CSV (the
        reader then says what is missing); anything else is read alone (and refused by the reader).
    """
    if not names:
        return [], []
    ext = [n.rsplit(".", 1)[-1].lower() if "." in n else "" for n in names]
    last = len(names) - 1
    if ext[last] not in ("hea", "dat"):
        chosen = [last]
    else:
        stem = Path(names[last]).name.rsplit(".", 1)[0]
        start = max((i for i, e in enumerate(ext) if e not in ("hea", "dat")), default=-1) + 1
        newest: dict[str, int] = {}
        for i in range(start, len(names)):
            if Path(names[i]).name.rsplit(".", 1)[0] == stem:
                newest[ext[i]] = i  # the newest .hea and the newest .dat of that record
        chosen = sorted(newest.values())
    return chosen, [i for i in range(len(names)) if i not in chosen]


def upload_hash(files: Sequence[tuple[str, bytes]]) -> str:
    """A short hash of the uploaded files' names and contents (keys widgets and caches per upload)."""
    h = hashlib.sha1()
    for name, content in files:
        h.update(name.encode() + b"\0" + hashlib.sha1(content).digest())
    return h.hexdigest()[:16]


_ID_PATTERNS = (re.compile(r"^(\d{5})_(?:lr|hr)$"), re.compile(r"ecg(?:_?id)?[_-]?(\d+)$", re.IGNORECASE))


def ecg_id_in_name(name: str) -> int | None:
    """The PTB-XL ecg_id a record name carries: '00017_lr' → 17, 'example_ecg_17' → 17, else None."""
    for pattern in _ID_PATTERNS:
        m = pattern.search(Path(name).name)
        if m:
            return int(m.group(1))
    return None


# ----------------------------------------------------------------------------- the whole test part

WINDOW_COLORS = {"P": "#fdd49e", "QRS": "#c6dbef", "ST-T": "#c7e9c0"}


def profile_figure(summary: Mapping, title: str = "", signed: bool = False):
    """The beat-aligned profile of a class summary (``ecgcore.class_summary``) with the P, QRS and
    ST-T windows shaded; ``signed``: the signed profile (integrated gradients) as well."""
    import plotly.graph_objects as go

    t_ms = np.asarray(summary["profile_t"], dtype=float) * 1000
    fig = go.Figure()
    for name, (lo, hi) in summary["windows"].items():
        fig.add_vrect(
            x0=lo * 1000,
            x1=hi * 1000,
            fillcolor=WINDOW_COLORS.get(name, "#eeeeee"),
            opacity=0.6,
            line_width=0,
            layer="below",
            annotation_text=name,
            annotation_position="top",
        )
    fig.add_trace(
        go.Scatter(
            x=t_ms, y=summary["profile"], name="|attribution|", line={"color": "#c44e52"}, meta={"role": "profile"}
        )
    )
    if signed and "profile_signed" in summary:
        fig.add_trace(
            go.Scatter(x=t_ms, y=summary["profile_signed"], name="signed", line={"color": "#4c72b0", "dash": "dot"})
        )
    fig.update_layout(
        title={"text": title or "Beat-aligned profile"},
        height=340,
        margin={"l": 50, "r": 20, "t": 60, "b": 40},
        xaxis_title="ms from R-peak",
        yaxis_title="attribution per moment (1 = the record's average)",
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def summary_caption(summary: Mapping, dataset: str) -> str:
    """What a class summary was computed over, in one line."""
    limit = (summary.get("cache_key") or {}).get("max_records")
    part = f"the first {limit} test records" if limit else "the whole test part"
    return (
        f"{summary['n_records']} test record{'s' if summary['n_records'] != 1 else ''} carrying {summary.get('class', '?')} ({part} of fold "
        f"{summary.get('fold', '?')}, dataset {dataset}), {summary.get('n_beats', 0)} beats in "
        f"{summary.get('n_records_with_beats', 0)} records. Windows relative to the R-peak are nominal "
        "(a normal heart rate)."
    )


# ----------------------------------------------------------------------------- ensemble members

_SAME = ("label_set", "label_names", "sampling_rate")


def check_members(metas: Sequence[dict], paths: Sequence) -> list[dict]:
    """The members' metas, after checking they answer the same question (label set and names,
    sampling rate); CheckpointError naming the first that differs."""
    from ecgcore.errors import CheckpointError

    first = metas[0]
    for path, meta in zip(paths[1:], metas[1:]):
        for key in _SAME:
            if list(np.atleast_1d(meta.get(key))) != list(np.atleast_1d(first.get(key))):
                raise CheckpointError(
                    f"{path} has {key}={meta.get(key)!r}, unlike {paths[0]} ({first.get(key)!r}); "
                    "an ensemble needs folds trained on the same labels and sampling rate — pick one fold."
                )
    return list(metas)
