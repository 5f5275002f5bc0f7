"""What a model looks at, per class, over the test part of a run's fold ("whole test part" saliency).

For each class, over the test records that carry it, with attribution of that class's logit:

* **lead importance** ``lead_share`` (12,): each record's share of |attribution| per lead (sums to 1),
  averaged over the records (every record weighs the same);
* **beat-aligned profile** ``profile`` (W,): |attribution| in a window of −250 … +450 ms around every
  R-peak, in units of the record's mean |attribution| (1 = as much as an average sample), averaged
  over the beats of a record, then over the leads and the records; ``profile_by_lead`` (12, W) before
  the lead average, ``profile_signed`` (W,) the same with signed attribution (integrated gradients:
  > 0 evidence for the class, < 0 against). ``windows`` marks nominal P, QRS and ST-T windows
  relative to R (fixed, for a normal heart rate; PR and QT vary with rate, so the marks are a guide);
  ``window_mean`` is the profile's mean value inside each window.

R-peaks come from wfdb's own detector, :func:`wfdb.processing.xqrs_detect`, on lead II. At 100 Hz
xqrs often takes T waves for beats (tried on PTB-XL records: about twice the true count), so the lead
is resampled to 250 Hz (:func:`wfdb.processing.resample_sig`), detected there, mapped back to the
record's rate and snapped to the largest deflection within ±50 ms (:func:`wfdb.processing.correct_peaks`).
Beats whose window leaves the 10 s record are not used.

Attribution is batched over records (captum takes a batch): integrated gradients (flat 0 mV baseline)
and gradient as in :func:`ecgcore.saliency.saliency_map` (IG with :data:`N_STEPS` = 16 steps); grad_cam
goes record by record through it. R-peaks are detected once per record and reused across classes.

Files (``write_class_summary``), cached per run folder (= run and fold), method and class::

    <run>/summary/<method>/<class>.json   the class's summary + the cache key (checkpoint mtime/size, settings)
    <run>/summary/<method>/<class>.png    lead bars and the profile with the windows shaded
    <run>/summary/<method>/progress.json  {state: starting|running|done|failed, done, total, class, message, pid}

Background: ``python -m ecgcore.class_summary --run RUN [--method M] [--data_root P] [--max_records N]``
(:func:`start_summary` launches it detached; :func:`summary_status` reads its progress).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ecgcore.background import TaskState, live_state, spawn_detached
from ecgcore.checkpoint_fit import same_dataset
from ecgcore.checkpoints import load_checkpoint, read_checkpoint
from ecgcore.data import ECGDataset
from ecgcore.errors import CheckpointError, ECGCoreError, ResultsError
from ecgcore.fileio import read_json_file, write_json, write_with
from ecgcore.folds import get_fold
from ecgcore.labels import label_of_code, safe_file_name
from ecgcore.records import LEADS
from ecgcore.run_paths import RunPaths
from ecgcore.saliency import SaliencyMethod, saliency_map

BEAT_WINDOW_S = (-0.25, 0.45)
WINDOWS_S = {"P": (-0.22, -0.06), "QRS": (-0.06, 0.06), "ST-T": (0.06, 0.45)}
DETECT_FS = 250
DETECT_LEAD = LEADS.index("II")
SNAP_S = 0.05
# Integrated-gradients steps for the summary: on real PTB-XL records (cnn1d) 16 Gauss-Legendre steps give
# maps correlating 0.9999 with 64 steps and a completeness error of ~1 % of the logit difference, at half
# the cost of the per-record default (32); the summary averages hundreds of maps on top of that.
N_STEPS = 16
# Inputs per forward/backward pass inside captum IG (batch × steps split): 64 halves CPU time and peak
# memory against one pass of 32 records × 16 steps (measured on cnn1d: 0.72 vs 1.47 CPU s, 0.5 vs 1.1 GB).
IG_CHUNK = 64
Progress = Callable[[int, int, str], None]  # (records done, records total, class name)


def r_peaks(lead: np.ndarray, fs: int) -> np.ndarray:
    """R-peak sample indices (sorted, int) of one lead ``(T,)`` mV at ``fs`` Hz (see the module doc)."""
    from wfdb import processing

    lead = np.nan_to_num(np.asarray(lead, dtype=np.float64))
    if np.ptp(lead) == 0:
        return np.zeros(0, dtype=np.int64)
    x, scale = (lead, 1.0) if fs >= DETECT_FS else (processing.resample_sig(lead, fs, DETECT_FS)[0], fs / DETECT_FS)
    try:
        found = processing.xqrs_detect(x, fs=max(fs, DETECT_FS), verbose=False)
    except (ValueError, IndexError):  # xqrs can fail on very short or flat signals
        return np.zeros(0, dtype=np.int64)
    peaks = np.unique(np.clip(np.round(np.asarray(found) * scale).astype(np.int64), 0, len(lead) - 1))
    if len(peaks) == 0:
        return peaks
    radius = max(1, int(round(SNAP_S * fs)))
    snapped = processing.correct_peaks(lead, peaks, radius, smooth_window_size=max(3, radius), peak_dir="compare")
    return np.unique(np.asarray(snapped, dtype=np.int64))


def beat_offsets(fs: int) -> np.ndarray:
    """(W,) sample offsets relative to R of the beat window."""
    return np.arange(int(round(BEAT_WINDOW_S[0] * fs)), int(round(BEAT_WINDOW_S[1] * fs)) + 1)


def batch_attributions(
    model: torch.nn.Module,
    signals: np.ndarray,
    target: int,
    method: SaliencyMethod | str = SaliencyMethod.integrated_gradients,
    n_steps: int = 32,
) -> np.ndarray:
    """(B, 12, T) float32 attribution of class ``target`` for ``signals`` (B, 12, T) mV, one batch.

    Batched through captum for a model applied to whole records; Grad-CAM, and a model whose recipe
    aggregates sliding windows (``model.windows``), go record by record through
    :func:`ecgcore.saliency.saliency_map`, so this view explains the same model as the per-record one."""
    from captum.attr import IntegratedGradients, Saliency

    method = SaliencyMethod(method)
    if method is SaliencyMethod.grad_cam or getattr(model, "windows", None) is not None:
        return np.stack([saliency_map(model, s, target, method, n_steps).map for s in signals])
    model.eval()
    device = next(model.parameters()).device
    x = torch.tensor(np.array(signals, dtype=np.float32), device=device).requires_grad_(True)
    if method is SaliencyMethod.gradient:
        attr = Saliency(model).attribute(x, target=target, abs=True)
    else:
        attr = IntegratedGradients(model).attribute(
            x, baselines=torch.zeros_like(x), target=target, n_steps=n_steps, internal_batch_size=IG_CHUNK
        )
    return attr.detach().cpu().numpy().astype(np.float32)


def _record_profiles(attr: np.ndarray, peaks: np.ndarray, fs: int) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Beat-averaged (12, W) |attr| and signed attr of one record, normalised by its mean |attr|; n beats."""
    scale = np.abs(attr).mean()
    offsets = beat_offsets(fs)
    peaks = peaks[(peaks + offsets[0] >= 0) & (peaks + offsets[-1] < attr.shape[1])]
    if len(peaks) == 0 or scale == 0:
        return None
    idx = peaks[:, None] + offsets[None, :]  # (beats, W)
    beats = attr[:, idx] / scale  # (12, beats, W)
    return np.abs(beats).mean(axis=1), beats.mean(axis=1), len(peaks)


UNITS = {
    "lead_share": "share of the record's total attribution that falls in each lead (the 12 shares sum to 1)",
    "window_share": "share of the attribution inside the beats that falls in the P, QRS and ST-T windows",
    "profile": "attribution at each moment of the beat, relative to the record's average moment (1 = average)",
}
"""What each figure of a summary measures, in words for people."""


def _quartiles(values: np.ndarray) -> dict[str, list[float]]:
    """Mean, first and third quartile across records (axis 0) of (n, k) values, as lists of k."""
    if len(values) == 0:
        return {"mean": [], "q25": [], "q75": []}
    return {
        "mean": values.mean(axis=0).tolist(),
        "q25": np.percentile(values, 25, axis=0).tolist(),
        "q75": np.percentile(values, 75, axis=0).tolist(),
    }


def _window_shares(attrs: np.ndarray, peaks: list[np.ndarray], fs: int) -> np.ndarray:
    """(n, 3) per record, the share of its in-beat |attribution| (all leads) in the P, QRS and ST-T windows
    (records without a usable beat are left out)."""
    offsets = beat_offsets(fs)
    t = offsets / fs
    masks = [(t >= lo) & (t < hi) for lo, hi in WINDOWS_S.values()]
    rows = []
    for attr, p in zip(attrs, peaks):
        p = p[(p + offsets[0] >= 0) & (p + offsets[-1] < attr.shape[1])]
        if len(p) == 0:
            continue
        beats = np.abs(attr[:, p[:, None] + offsets[None, :]]).sum(axis=(0, 1))  # (W,) over leads and beats
        inside = np.array([beats[m].sum() for m in masks])
        if inside.sum() > 0:
            rows.append(inside / inside.sum())
    return np.array(rows).reshape(-1, len(WINDOWS_S))


def no_preference(fs: int) -> dict:
    """What the shares would be for a model with no preference: 1/12 per lead, and per window its share
    of the windows' duration (a map spread evenly over time)."""
    t = beat_offsets(fs) / fs
    sizes = np.array([((t >= lo) & (t < hi)).sum() for lo, hi in WINDOWS_S.values()], dtype=float)
    return {"lead": 1.0 / len(LEADS), "window": dict(zip(WINDOWS_S, (sizes / sizes.sum()).tolist()))}


def summarize_attributions(
    attrs: np.ndarray, signals: np.ndarray, fs: int, peaks: list[np.ndarray] | None = None
) -> dict:
    """The summary of one class from its records' attributions.

    Args:
        attrs: (n, 12, T) raw attribution; signals: (n, 12, T) mV (for R-peak detection); fs: Hz.
        peaks: the records' R-peak indices if already known (else detected on lead II).

    Returns a JSON-able dict: n_records, lead_share (12,) and its spread across records
    ``lead_share_spread`` {mean, q25, q75}, ``window_share`` {P, QRS, ST-T} and its spread
    ``window_share_spread``, ``no_preference`` (:func:`no_preference`), ``units`` (:data:`UNITS`), profile
    (W,), profile_signed (W,), profile_by_lead (12, W), profile_t (W,) seconds relative to R, windows,
    window_mean, n_beats, n_records_with_beats."""
    a = np.abs(attrs.astype(np.float64))
    totals = a.sum(axis=(1, 2))
    ok = totals > 0
    shares = a[ok].sum(axis=2) / totals[ok, None]
    lead_share = shares.mean(axis=0) if ok.any() else np.full(a.shape[1], 1.0 / a.shape[1])
    if peaks is None:
        peaks = [r_peaks(s[DETECT_LEAD], fs) for s in signals]
    per_record = [_record_profiles(attrs[i].astype(np.float64), peaks[i], fs) for i in range(len(attrs))]
    per_record = [r for r in per_record if r is not None]
    W = len(beat_offsets(fs))
    by_lead = np.mean([r[0] for r in per_record], axis=0) if per_record else np.zeros((a.shape[1], W))
    signed = np.mean([r[1] for r in per_record], axis=0) if per_record else np.zeros((a.shape[1], W))
    t = beat_offsets(fs) / fs
    profile = by_lead.mean(axis=0)
    window_mean = {k: float(profile[(t >= lo) & (t < hi)].mean()) for k, (lo, hi) in WINDOWS_S.items()}
    windows = _window_shares(attrs.astype(np.float64), peaks, fs)
    window_spread = _quartiles(windows)
    return {
        "n_records": int(len(attrs)),
        "lead_names": list(LEADS),
        "lead_share": lead_share.tolist(),
        "lead_share_spread": _quartiles(shares),
        "window_share": dict(zip(WINDOWS_S, window_spread["mean"])),
        "window_share_spread": {
            k: [window_spread[q][i] for q in ("mean", "q25", "q75")] if window_spread["mean"] else []
            for i, k in enumerate(WINDOWS_S)
        },
        "no_preference": no_preference(fs),
        "units": UNITS,
        "profile": profile.tolist(),
        "profile_signed": signed.mean(axis=0).tolist(),
        "profile_by_lead": by_lead.tolist(),
        "profile_t": t.tolist(),
        "windows": {k: list(v) for k, v in WINDOWS_S.items()},
        "window_mean": window_mean,
        "n_beats": int(sum(r[2] for r in per_record)),
        "n_records_with_beats": len(per_record),
    }


def subclass_groups(ds: ECGDataset, idx: np.ndarray, superclass: str) -> dict[str, np.ndarray]:
    """{subclass: positions in ``idx``} of the records of ``idx`` (dataset rows carrying ``superclass``)
    by the diagnostic subclasses of that superclass their scp_codes name (e.g. MI → IMI, AMI, …); a
    record with two subclasses is in both. Empty unless the run's label set is the superclasses."""
    from ecgcore.data import read_statements

    if ds.label_set != "superclass":
        return {}
    try:
        statements = read_statements(ds.root)
    except ECGCoreError:
        return {}
    superclass_of = label_of_code(statements, "superclass")
    sub_of = {
        code: sub
        for code, sub in label_of_code(statements, "subclass").items()
        if superclass_of.get(code) == superclass
    }
    groups: dict[str, list[int]] = {}
    for pos, i in enumerate(idx):
        for code in ds.records["scp_codes"].iloc[int(i)] or {}:
            if isinstance(sub_of.get(code), str) and pos not in groups.setdefault(sub_of[code], []):
                groups[sub_of[code]].append(pos)
    return {sub: np.asarray(pos, dtype=np.int64) for sub, pos in sorted(groups.items())}


def _test_records_by_class(ds: ECGDataset, meta: dict, max_records: int | None) -> dict[str, np.ndarray]:
    """{class: dataset indices of the test records carrying it}, over the first ``max_records`` test records."""
    test = get_fold(ds.records, ds.labels.any(axis=1), meta["plan"], meta["fold"]).test
    test = test[:max_records] if max_records else test
    return {name: test[ds.labels[test, c] == 1] for c, name in enumerate(ds.label_names)}


def _load_run_model(ds: ECGDataset, run_path: Path) -> tuple[torch.nn.Module, dict]:
    ckpt = RunPaths(run_path).best
    model, meta = load_checkpoint(ckpt, expect={"label_names": list(ds.label_names), "sampling_rate": ds.sampling_rate})
    if not same_dataset(meta, ds.fingerprint, ds.name):
        raise CheckpointError(
            f"{ckpt} was trained on dataset {meta['dataset'].get('name')} ({meta['dataset'].get('root')}), "
            f"not on {ds.name}; summarise it on that dataset."
        )
    return model, meta


def class_summary(
    ds: ECGDataset,
    run_path: str | Path,
    method: SaliencyMethod | str = SaliencyMethod.integrated_gradients,
    classes: list[str] | None = None,
    max_records: int | None = None,
    progress: Progress | None = None,
    batch_size: int = 32,
    n_steps: int = N_STEPS,
    peaks_cache: dict[int, np.ndarray] | None = None,
) -> dict:
    """Per-class summaries of the run's fold test part (no files written; see :func:`write_class_summary`).

    Args:
        ds: the dataset the run was trained on.
        run_path: the run folder of one fold (holding best.pt).
        classes: class names (default all).
        max_records: use only the first this many records of the test part (each attributed for every
            class it carries); None: the whole test part.
        progress: called as progress(done, total, class_name) after every batch.
        n_steps: integration steps of integrated gradients (see :data:`N_STEPS`).
        peaks_cache: {record index: R-peaks}, filled and reused across calls (a record carrying two
            classes is detected once).

    Returns {"method", "fold", "plan", "classes": {name: summarize_attributions(...)}}.
    """
    run_path, method = Path(run_path), SaliencyMethod(method)
    model, meta = _load_run_model(ds, run_path)
    chosen = _check_classes(ds, classes)
    records = _test_records_by_class(ds, meta, max_records)
    total, done, out = sum(len(records[c]) for c in chosen), 0, {}
    for name in chosen:
        idx, c = records[name], list(ds.label_names).index(name)
        attrs = np.zeros((len(idx), *ds.signals.shape[1:]), np.float32)
        for i in range(0, len(idx), batch_size):
            attrs[i : i + batch_size] = batch_attributions(
                model, ds.signals[idx[i : i + batch_size]], c, method, n_steps
            )
            done += len(idx[i : i + batch_size])
            if progress:
                progress(done, total, name)
        cache = {} if peaks_cache is None else peaks_cache
        for i in idx:
            if int(i) not in cache:
                cache[int(i)] = r_peaks(ds.signals[i][DETECT_LEAD], ds.sampling_rate)
        peaks = [cache[int(i)] for i in idx]
        signals = np.asarray(ds.signals[idx])
        out[name] = summarize_attributions(attrs, signals, ds.sampling_rate, peaks)
        out[name]["ecg_ids"] = ds.records["ecg_id"].iloc[idx].astype(int).tolist()
        out[name]["subclasses"] = {
            sub: summarize_attributions(attrs[pos], signals[pos], ds.sampling_rate, [peaks[i] for i in pos])
            for sub, pos in subclass_groups(ds, idx, name).items()
        }
    return {"method": method.value, "fold": meta["fold"], "plan": meta["plan"], "classes": out}


def _check_classes(ds: ECGDataset, classes: list[str] | None) -> list[str]:
    unknown = [c for c in classes or [] if c not in ds.label_names]
    if unknown:
        raise ResultsError(f"unknown class(es) {', '.join(unknown)}; choose from {', '.join(ds.label_names)}.")
    return list(classes or ds.label_names)


SUMMARY_FILES = ("progress", "status")  # the summary folder's own files, never a class's


def summary_dir(run_path: str | Path, method: SaliencyMethod | str) -> Path:
    return Path(run_path) / "summary" / SaliencyMethod(method).value


def _cache_key(run_path: Path, method: str, max_records: int | None, n_steps: int) -> dict:
    st = RunPaths(run_path).best.stat()
    return {"checkpoint_mtime_ns": st.st_mtime_ns, "checkpoint_size": st.st_size, "method": method} | {
        "max_records": max_records,
        "n_steps": n_steps,
    }


def cached_class_summary(run_path: str | Path, method: SaliencyMethod | str, class_name: str) -> dict | None:
    """The cached summary of one class if its JSON exists and still fits the checkpoint, else None."""
    path = summary_dir(run_path, method) / f"{safe_file_name(class_name, SUMMARY_FILES)}.json"
    try:
        data = read_json_file(path)
        key = data["cache_key"]
        fresh = _cache_key(Path(run_path), SaliencyMethod(method).value, key["max_records"], key["n_steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data if key == fresh else None


def write_class_summary(
    ds: ECGDataset,
    run_path: str | Path,
    method: SaliencyMethod | str = SaliencyMethod.integrated_gradients,
    classes: list[str] | None = None,
    max_records: int | None = None,
    progress: Progress | None = None,
    force: bool = False,
    n_steps: int = N_STEPS,
) -> dict[str, dict]:
    """Compute (or reuse) and write each class's JSON and PNG under ``<run>/summary/<method>/``.

    A class is reused when its JSON's cache key (checkpoint mtime and size, method, max_records,
    n_steps) matches; ``force`` recomputes. Returns {class: summary}."""
    run_path, method = Path(run_path), SaliencyMethod(method)
    out_dir = summary_dir(run_path, method)
    key = _cache_key(run_path, method.value, max_records, n_steps)
    out: dict[str, dict] = {}
    for name in _check_classes(ds, classes):
        cached = None if force else cached_class_summary(run_path, method, name)
        if cached and cached["cache_key"] == key:
            out[name] = cached
    todo = [c for c in _check_classes(ds, classes) if c not in out]
    if not todo:
        return out
    _, meta = _load_run_model(ds, run_path)
    sizes = {c: len(v) for c, v in _test_records_by_class(ds, meta, max_records).items()}
    todo = [c for c in todo if sizes[c]]  # a class no test record carries has nothing to summarise (no flat file)
    total, offset, peaks_cache = sum(sizes[c] for c in todo), 0, {}
    for name in todo:
        step = (lambda done, _t, n, o=offset: progress(o + done, total, n)) if progress else None
        result = class_summary(
            ds, run_path, method, [name], max_records, step, n_steps=n_steps, peaks_cache=peaks_cache
        )
        offset += sizes[name]
        data = result["classes"][name] | {"class": name, "method": method.value, "fold": result["fold"]}
        data |= {"plan": result["plan"], "cache_key": key, "computed": time.time()}
        file = safe_file_name(name, SUMMARY_FILES)  # a class name is data: never a path
        write_json(out_dir / f"{file}.json", data)
        summary_png(data, out_dir / f"{file}.png")
        out[name] = data
    return out


def summary_png(summary: dict, path: str | Path) -> None:
    """Lead shares and window shares (bars: mean over records, whiskers: first to third quartile, dashed:
    no preference) and the beat profile (P, QRS, ST-T shaded) of one class, as a PNG (atomic)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 3.4), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.3, 0.6, 1.3])
    even = summary.get("no_preference") or no_preference(100)
    _share_bars(ax1, [n.replace("AV", "aV") for n in summary["lead_names"]], summary["lead_share"],
                summary.get("lead_share_spread"), [even["lead"]] * len(summary["lead_names"]), "share of attribution per lead")  # fmt: skip
    windows = list(summary.get("window_share") or {})
    spread = summary.get("window_share_spread") or {}
    quartiles = {"q25": [spread[w][1] for w in windows], "q75": [spread[w][2] for w in windows]} if windows else None
    _share_bars(ax2, windows, [summary["window_share"][w] for w in windows], quartiles,
                [even["window"][w] for w in windows], "share per beat window")  # fmt: skip
    t_ms = np.asarray(summary["profile_t"]) * 1000
    for (label, (lo, hi)), color in zip(summary["windows"].items(), ("#fdd49e", "#c6dbef", "#c7e9c0")):
        ax3.axvspan(lo * 1000, hi * 1000, color=color, alpha=0.6, lw=0)
        ax3.text((lo + hi) * 500, 0.98, label, transform=ax3.get_xaxis_transform(), ha="center", va="top", fontsize=8)
    ax3.plot(t_ms, summary["profile"], color="#c44e52")
    ax3.axhline(1.0, color="grey", ls="--", lw=1)
    ax3.set_xlabel("ms from R-peak")
    ax3.set_ylabel("attribution per moment\n(1 = the record's average moment)", fontsize=8)
    fig.suptitle(
        f"{summary.get('class', '')}: {summary['method'] if 'method' in summary else ''} over "
        f"{summary['n_records']} test records, {summary['n_beats']} beats (dashed: no preference)"
    )
    write_with(path, lambda f: fig.savefig(f, format="png"))


def _share_bars(ax, names: list[str], means: list[float], spread: dict | None, even: list[float], label: str) -> None:
    """Bars of shares with first–third quartile whiskers and the no-preference level dashed."""
    x = np.arange(len(names))
    ax.bar(x, means, color="#4c72b0")
    if spread and spread.get("q25"):
        lo, hi = np.asarray(means) - np.asarray(spread["q25"]), np.asarray(spread["q75"]) - np.asarray(means)
        ax.errorbar(x, means, yerr=[np.clip(lo, 0, None), np.clip(hi, 0, None)], fmt="none", ecolor="black", lw=1)
    ax.hlines(even, x - 0.4, x + 0.4, colors="grey", linestyles="--", lw=1)
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylabel(label, fontsize=8)


def _progress_path(run_path: str | Path, method: SaliencyMethod | str) -> Path:
    return summary_dir(run_path, method) / "progress.json"


def summary_status(run_path: str | Path, method: SaliencyMethod | str = SaliencyMethod.integrated_gradients) -> dict:
    """Progress of the background summary: {state: absent or a :class:`ecgcore.background.TaskState`
    value, done, total, class, message, pid, updated}; its liveness is
    :func:`ecgcore.background.live_state`'s (running with its process gone: interrupted)."""
    try:
        status = read_json_file(_progress_path(run_path, method))
    except (OSError, ValueError):
        return {"state": "absent"}
    if status.get("state") in (TaskState.STARTING, TaskState.RUNNING):
        state = live_state(status["state"], status.get("pid"), False, status.get("updated"))
        status["state"] = state.value
    return status


def summary_argv(
    run_path: str | Path,
    method: SaliencyMethod | str = SaliencyMethod.integrated_gradients,
    data_root: str | Path | None = None,
    max_records: int | None = None,
) -> list[str]:
    """The ``python -m`` arguments of the background summary process."""
    argv = [
        "ecgcore.class_summary",
        "--run",
        str(run_path),
        "--method",
        SaliencyMethod(method).value,
    ]
    if data_root is not None:
        argv += ["--data_root", str(data_root)]
    if max_records:
        argv += ["--max_records", str(max_records)]
    return argv


def start_summary(
    run_path: str | Path,
    method: SaliencyMethod | str = SaliencyMethod.integrated_gradients,
    data_root: str | Path | None = None,
    max_records: int | None = None,
) -> int:
    """Launch the summary as a detached process (its own session; output in summary.log); returns its pid.
    A summary already running for that run and method is not started twice (its pid is returned)."""
    status = summary_status(run_path, method)
    if status["state"] in ("starting", "running"):
        return int(status.get("pid") or 0)
    out_dir = summary_dir(run_path, method)
    progress_path = _progress_path(run_path, method)
    write_json(progress_path, {"state": "starting", "pid": None, "updated": time.time()})  # seen at once
    pid = spawn_detached(summary_argv(run_path, method, data_root, max_records), out_dir / "summary.log", append=True)
    try:
        still_starting = read_json_file(progress_path).get("state") == "starting"
    except (OSError, ValueError):
        still_starting = True
    if still_starting:  # the child has not reported yet (it overwrites this with its own pid)
        write_json(progress_path, {"state": "starting", "pid": pid, "updated": time.time()})
    return pid


def main(argv: list[str] | None = None) -> int:
    """``python -m ecgcore.class_summary``: write the summary of a run, keeping progress.json current."""
    from ecgcore.sources import load_ptbxl

    p = argparse.ArgumentParser(prog="python -m ecgcore.class_summary", description=__doc__.split("\n")[0])
    p.add_argument("--run", required=True, help="run folder of one fold (holds best.pt)")
    p.add_argument("--method", default="integrated_gradients", choices=[m.value for m in SaliencyMethod])
    p.add_argument("--data_root", default=None, help="dataset folder (default: the one the run was trained on)")
    p.add_argument("--max_records", type=int, default=None, help="use only the first N records of the test part")
    p.add_argument("--classes", nargs="*", default=None)
    p.add_argument("--force", action="store_true", help="recompute cached classes")
    args = p.parse_args(argv)
    status_path = _progress_path(args.run, args.method)

    def report(state: str, **fields) -> None:
        write_json(status_path, {"state": state, "pid": os.getpid(), "updated": time.time()} | fields)

    try:
        report("running", done=0, total=None, message="loading the dataset")
        meta = read_checkpoint(RunPaths(args.run).best)["meta"]
        ds = load_ptbxl(
            args.data_root or meta["dataset"]["root"], meta["sampling_rate"], meta.get("label_set", "superclass")
        )
        result = write_class_summary(
            ds,
            args.run,
            args.method,
            args.classes,
            args.max_records,
            lambda done, total, name: report("running", done=done, total=total, **{"class": name}),
            force=args.force,
        )
    except ECGCoreError as e:
        report("failed", message=str(e))
        print(f"error: {e}", file=sys.stderr)
        return 2
    except BaseException as e:
        report("failed", message=f"{e.__class__.__name__}: {e}")
        raise
    report("done", classes=list(result), path=str(summary_dir(args.run, args.method)))
    print(f"class summary ({args.method}) → {summary_dir(args.run, args.method)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
