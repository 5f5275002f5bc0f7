"""Plotly figure builders for the ECG explorer (pure functions of arrays, dicts and data frames).

Every builder returns a :class:`plotly.graph_objects.Figure` and touches no files, except
:func:`confusion_png`, which writes one PNG with matplotlib. Nothing here imports Streamlit.

Units: ECG signals are in mV, time in seconds, sampling rates in Hz. Signals are ``(12, T)`` arrays in
:data:`LEADS` order; saliency maps have the same shape with values in [0, 1].

The ECG-paper figure uses the clinical scales: 25 mm/s and 10 mm/mV, minor grid 1 mm (0.04 s,
0.1 mV) and major grid 5 mm (0.2 s, 0.5 mV). All leads share one x-axis in seconds and one y-axis in
mV; the leads are stacked with vertical offsets (one row every :data:`ROW_SPACING_MV`).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

try:  # the data layer owns the lead order; fall back to the same constant if it is unavailable
    from ecgcore.data import LEADS
except ImportError:  # pragma: no cover - only while ecgcore.data is missing
    LEADS: tuple[str, ...] = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")

__all__ = [
    "LEADS",
    "confusion_figure",
    "confusion_png",
    "display_lead_name",
    "ecg_paper_figure",
    "fold_comparison_figure",
    "label_distribution_figure",
    "loss_curves_figure",
    "pr_figure",
    "probabilities_figure",
    "roc_figure",
    "saliency_figure",
]

# --- ECG paper constants -----------------------------------------------------------------------------
MM_PER_S = 25.0  # paper speed
MM_PER_MV = 10.0  # gain
MINOR_S, MAJOR_S = 0.04, 0.2  # 1 mm and 5 mm along time
MINOR_MV, MAJOR_MV = 0.1, 0.5  # 1 mm and 5 mm along amplitude
ROW_SPACING_MV = 3.0  # vertical distance between lead baselines (a multiple of MAJOR_MV)
CALIBRATION_S = 0.4  # room left of t=0 for the 1 mV calibration pulse
PX_PER_MM = 4.0  # nominal on-screen size of the ECG paper
PAPER_BG = "#fff7f5"
MINOR_GRID_COLOR = "#f7c9c9"
MAJOR_GRID_COLOR = "#e6898b"

# 3x4 print: columns of leads (top to bottom), each column showing its own quarter of the record.
LAYOUT_3X4_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("I", "II", "III"),
    ("AVR", "AVL", "AVF"),
    ("V1", "V2", "V3"),
    ("V4", "V5", "V6"),
)
RHYTHM_LEAD = "II"

# Transparent at 0 so that low saliency leaves the paper/background visible, dark red at 1.
SALIENCY_COLORSCALE: list[list[Any]] = [
    [0.0, "rgba(255,255,204,0)"],
    [0.2, "rgba(254,217,118,0.45)"],
    [0.45, "rgba(253,141,60,0.6)"],
    [0.7, "rgba(227,26,28,0.7)"],
    [1.0, "rgba(128,0,38,0.8)"],
]
TEMPLATE = "plotly_white"
PALETTE: tuple[str, ...] = tuple(qualitative.Plotly) + tuple(qualitative.Dark24)

_DISPLAY_NAMES = {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}


def display_lead_name(lead: str) -> str:
    """Pretty lead name for display: ``"AVR"`` → ``"aVR"``; other names unchanged."""
    return _DISPLAY_NAMES.get(lead.upper(), lead)


# --- small shared helpers ----------------------------------------------------------------------------
def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _check_signal(signal: np.ndarray, fs: int, name: str = "signal") -> np.ndarray:
    sig = np.asarray(signal, dtype=float)
    if sig.ndim != 2 or sig.shape[0] != len(LEADS):
        hint = " (looks like (T, 12): pass signal.T)" if sig.ndim == 2 and sig.shape[1] == len(LEADS) else ""
        raise ValueError(f"{name} must have shape ({len(LEADS)}, T), got {sig.shape}{hint}")
    if sig.shape[1] < 2:
        raise ValueError(f"{name} needs at least 2 samples per lead, got {sig.shape[1]}")
    if fs <= 0:
        raise ValueError(f"fs must be a positive sampling rate in Hz, got {fs}")
    return sig


def _check_saliency(saliency: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if saliency is None:
        return None
    sal = np.asarray(saliency, dtype=float)
    if sal.shape != shape:
        raise ValueError(f"saliency must have the signal's shape {shape}, got {sal.shape}")
    return np.clip(sal, 0.0, 1.0)


def _row_baselines(n_rows: int, spacing: float = ROW_SPACING_MV) -> np.ndarray:
    """Baseline (mV) of each row, top row first; row r occupies [baseline - spacing/2, baseline + spacing/2]."""
    return (n_rows - 1 - np.arange(n_rows)) * spacing + spacing / 2


def _heat_band(t: np.ndarray, sal: np.ndarray, y_lo: float, y_hi: float, lead: str) -> go.Heatmap:
    """One-row heatmap behind a lead: columns at the sample times ``t`` (s), spanning y_lo..y_hi (mV).

    Uses the shared ``coloraxis`` (one colour bar for all bands).
    """
    return go.Heatmap(
        z=sal[np.newaxis, :].astype(np.float32),
        x=t.astype(np.float32),
        y=[y_lo, y_hi],  # two values for one row: treated as the cell edges
        coloraxis="coloraxis",
        name=f"{lead} saliency",
        meta={"role": "saliency", "lead": lead},
        hovertemplate=f"{lead}<br>t=%{{x:.2f}} s<br>saliency %{{z:.2f}}<extra></extra>",
    )


def _lead_trace(
    t: np.ndarray, values: np.ndarray, baseline: float, lead: str, width: float = 1.0, rhythm: bool = False
) -> go.Scatter:
    """A lead drawn at a vertical offset; hover shows the true amplitude (mV)."""
    return go.Scatter(  # float32 halves the JSON sent to the browser; ample for mV and s
        x=t.astype(np.float32),
        y=(values + baseline).astype(np.float32),
        customdata=values.astype(np.float32),
        mode="lines",
        line={"color": "black", "width": width},
        name=f"{lead} (rhythm)" if rhythm else lead,
        showlegend=False,
        meta={"role": "lead", "lead": lead, "offset_mv": float(baseline), "rhythm": rhythm},
        hovertemplate=f"{lead}<br>t=%{{x:.3f}} s<br>%{{customdata:.3f}} mV<extra></extra>",
    )


def _saliency_coloraxis() -> dict[str, Any]:
    return {
        "colorscale": SALIENCY_COLORSCALE,
        "cmin": 0.0,
        "cmax": 1.0,
        "colorbar": {"title": {"text": "saliency"}, "thickness": 14, "len": 0.6},
    }


def _grid_lines(positions: np.ndarray, lo: float, hi: float, vertical: bool) -> tuple[list, list]:
    """x and y lists of line segments separated by None (one trace draws them all)."""
    along: list[float | None] = []
    across: list[float | None] = []
    for p in positions:
        along += [float(p), float(p), None]
        across += [lo, hi, None]
    return (along, across) if vertical else (across, along)


def _paper_grid(x0: float, x1: float, y0: float, y1: float) -> list[go.Scatter]:
    """Minor (0.04 s / 0.1 mV) and major (0.2 s / 0.5 mV) ECG-paper grid as two line traces.

    The minor trace holds every 1 mm line (the major ones too; they are drawn over).
    """
    traces = []
    for role, step_s, step_mv, color, width in (
        ("minor grid", MINOR_S, MINOR_MV, MINOR_GRID_COLOR, 0.5),
        ("major grid", MAJOR_S, MAJOR_MV, MAJOR_GRID_COLOR, 1.0),
    ):
        xs = np.round(np.arange(math.ceil(x0 / step_s - 1e-9), math.floor(x1 / step_s + 1e-9) + 1) * step_s, 6)
        ys = np.round(np.arange(math.ceil(y0 / step_mv - 1e-9), math.floor(y1 / step_mv + 1e-9) + 1) * step_mv, 6)
        vx, vy = _grid_lines(xs, y0, y1, vertical=True)
        hx, hy = _grid_lines(ys, x0, x1, vertical=False)
        traces.append(
            go.Scatter(
                x=vx + hx,
                y=vy + hy,
                mode="lines",
                line={"color": color, "width": width},
                hoverinfo="skip",
                showlegend=False,
                name=role,
                meta={"role": role, "step_s": step_s, "step_mv": step_mv},
            )
        )
    return traces


def _calibration_and_separators(
    baselines: Sequence[float], boundaries: Sequence[float], separated_rows: int
) -> go.Scatter:
    """1 mV × 0.2 s calibration pulse left of t=0 on every row, plus short ticks between the columns of
    the first ``separated_rows`` rows (not on a rhythm strip)."""
    x: list[float | None] = []
    y: list[float | None] = []
    for r, b in enumerate(baselines):
        x += [-0.36, -0.3, -0.3, -0.1, -0.1, -0.04, None]
        y += [b, b, b + 1.0, b + 1.0, b, b, None]
        for xb in boundaries if r < separated_rows else ():
            x += [xb, xb, None]
            y += [b - 0.3, b + 0.3, None]
    return go.Scatter(
        x=x,
        y=y,
        mode="lines",
        line={"color": "black", "width": 1.2},
        hoverinfo="skip",
        showlegend=False,
        name="calibration",
        meta={"role": "calibration"},
    )


def _lead_label(x: float, baseline: float, text: str) -> dict[str, Any]:
    return {
        "x": x,
        "y": baseline + ROW_SPACING_MV / 2 - 0.15,
        "xref": "x",
        "yref": "y",
        "text": f"<b>{text}</b>",
        "showarrow": False,
        "xanchor": "left",
        "yanchor": "top",
        "font": {"size": 12, "color": "black"},
    }


def _empty_note(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font={"size": 14})
    return fig


# --- 1. ECG paper --------------------------------------------------------------------------------------
def ecg_paper_figure(
    signal: np.ndarray,
    fs: int,
    layout: str = "3x4",
    title: str = "",
    saliency: np.ndarray | None = None,
) -> go.Figure:
    """A 12-lead ECG on ECG paper (25 mm/s, 10 mm/mV, grid 0.04 s / 0.1 mV minor, 0.2 s / 0.5 mV major).

    Args:
        signal: (12, T) in mV, leads in :data:`LEADS` order, sampled at ``fs`` Hz.
        fs: sampling rate in Hz.
        layout: ``"3x4"`` — the standard print: 3 rows × 4 columns (I, aVR, V1, V4 / II, aVL, V2, V5 /
            III, aVF, V3, V6), column c showing its own quarter of the record (t in [2.5c, 2.5c + 2.5) s
            for a 10 s record), plus a full-length lead-II rhythm strip at the bottom (13 lead traces);
            ``"stacked"`` — all 12 leads full length, one under another (12 lead traces).
        title: figure title.
        saliency: optional (12, T) in [0, 1]; drawn as a heat band behind each lead segment, aligned in
            time with it, with one colour bar titled "saliency".

    The x-axis is time in s (true record time: a segment's x values are its sample times), the y-axis is
    mV with each row offset by :data:`ROW_SPACING_MV`; y is tied to x with scaleratio 10/25, so 1 s and
    1 mV appear as 25 mm and 10 mm. Lead traces carry ``meta={"role": "lead", "lead": ..., "offset_mv":
    ...}``; the grid traces ``meta["role"]`` "minor grid" / "major grid".
    """
    sig = _check_signal(signal, fs)
    sal = _check_saliency(saliency, sig.shape)
    n = sig.shape[1]
    t = np.arange(n) / fs
    duration = n / fs
    row_of = {name.upper(): i for i, name in enumerate(LEADS)}

    # segments: (lead, sample slice, row, is the rhythm strip)
    segments: list[tuple[str, slice, int, bool]] = []
    if layout == "3x4":
        bounds = [c * n // 4 for c in range(5)]
        for c, column in enumerate(LAYOUT_3X4_COLUMNS):
            for r, lead in enumerate(column):
                segments.append((lead, slice(bounds[c], bounds[c + 1]), r, False))
        segments.append((RHYTHM_LEAD, slice(0, n), 3, True))
        n_rows = 4
        separators = [bounds[c] / fs for c in range(1, 4)]
    elif layout == "stacked":
        segments = [(lead, slice(0, n), r, False) for r, lead in enumerate(LEADS)]
        n_rows = len(LEADS)
        separators = []
    else:
        raise ValueError(f"layout must be '3x4' or 'stacked', got {layout!r}")

    baselines = _row_baselines(n_rows)
    x0, x1 = -CALIBRATION_S, math.ceil(duration / MAJOR_S - 1e-9) * MAJOR_S
    y0, y1 = 0.0, n_rows * ROW_SPACING_MV

    heat, leads, labels = [], [], []
    for lead, sl, r, rhythm in segments:
        idx = row_of[lead.upper()]
        shown = display_lead_name(lead)
        base = float(baselines[r])
        if sal is not None:
            heat.append(_heat_band(t[sl], sal[idx, sl], base - ROW_SPACING_MV / 2, base + ROW_SPACING_MV / 2, shown))
        leads.append(_lead_trace(t[sl], sig[idx, sl], base, shown, rhythm=rhythm))
        labels.append(_lead_label(t[sl][0] + 0.04, base, shown))

    fig = go.Figure(
        heat + _paper_grid(x0, x1, y0, y1) + [_calibration_and_separators(baselines, separators, n_rows - 1)] + leads
    )

    width_mm = (x1 - x0) * MM_PER_S
    height_mm = (y1 - y0) * MM_PER_MV
    margin = {"l": 40, "r": 90 if sal is not None else 20, "t": 60, "b": 50}
    subtitle = f"25 mm/s · 10 mm/mV · {fs} Hz · {duration:g} s"
    fig.update_layout(
        template="none",
        title={"text": f"{title}<br><sup>{subtitle}</sup>" if title else subtitle, "x": 0.01},
        annotations=labels,
        showlegend=False,
        hovermode="closest",
        paper_bgcolor="white",
        plot_bgcolor=PAPER_BG,
        width=int(width_mm * PX_PER_MM) + margin["l"] + margin["r"],
        height=int(height_mm * PX_PER_MM) + margin["t"] + margin["b"],
        margin=margin,
    )
    fig.update_xaxes(
        range=[x0, x1],
        title={"text": "time (s) — 25 mm/s"},
        tickmode="linear",
        tick0=0,
        dtick=1,
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )
    fig.update_yaxes(
        range=[y0, y1],
        title={"text": "amplitude (mV) — 10 mm/mV, rows offset"},
        showticklabels=False,
        ticks="",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=MM_PER_MV / MM_PER_S,
        constrain="domain",
    )
    if sal is not None:
        fig.update_layout(coloraxis=_saliency_coloraxis())
    return fig


# --- 2. saliency (white background, for side-by-side comparison) ---------------------------------------
def saliency_figure(
    signal: np.ndarray,
    saliency: np.ndarray,
    fs: int,
    title: str = "",
    lead_names: Sequence[str] | None = None,
) -> go.Figure:
    """12 stacked leads with a saliency heat band behind each, on a plain white background.

    Args:
        signal: (12, T) in mV, sampled at ``fs`` Hz.
        saliency: (12, T) in [0, 1] (clipped); one shared colour bar 0–1.
        fs: sampling rate in Hz.
        title: figure title (e.g. the model name).
        lead_names: 12 display names; default the pretty :data:`LEADS` names (aVR, ...).

    Rows are :data:`ROW_SPACING_MV` apart; the y tick labels name the leads at their baselines.
    """
    sig = _check_signal(signal, fs)
    sal = _check_saliency(saliency, sig.shape)
    assert sal is not None
    names = [display_lead_name(x) for x in (lead_names if lead_names is not None else LEADS)]
    if len(names) != sig.shape[0]:
        raise ValueError(f"lead_names must have {sig.shape[0]} names, got {len(names)}")
    t = np.arange(sig.shape[1]) / fs
    baselines = _row_baselines(len(names))
    half = 0.45 * ROW_SPACING_MV  # a thin gap between the bands of neighbouring leads

    heat = [_heat_band(t, sal[i], b - half, b + half, name) for i, (name, b) in enumerate(zip(names, baselines))]
    leads = [_lead_trace(t, sig[i], b, name, width=0.9) for i, (name, b) in enumerate(zip(names, baselines))]
    fig = go.Figure(heat + leads)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title or "Saliency"},
        coloraxis=_saliency_coloraxis(),
        showlegend=False,
        hovermode="closest",
        height=110 + 45 * len(names),
        margin={"l": 50, "r": 20, "t": 60, "b": 50},
    )
    fig.update_xaxes(title={"text": "time (s)"}, range=[0, t[-1]], showgrid=False, zeroline=False)
    fig.update_yaxes(
        title={"text": f"lead (rows {ROW_SPACING_MV:g} mV apart)"},
        tickvals=list(baselines),
        ticktext=names,
        range=[0, len(names) * ROW_SPACING_MV],
        showgrid=False,
        zeroline=False,
    )
    return fig


# --- 3. ROC / PR -----------------------------------------------------------------------------------------
def _check_scores(y_true: np.ndarray, y_score: np.ndarray, class_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    yt = np.asarray(y_true)
    ys = np.asarray(y_score, dtype=float)
    if yt.ndim == 1:
        yt, ys = yt[:, None], ys.reshape(-1, 1)
    if yt.shape != ys.shape or yt.ndim != 2:
        raise ValueError(f"y_true and y_score must both be (N, C); got {yt.shape} and {ys.shape}")
    if len(class_names) != yt.shape[1]:
        raise ValueError(f"class_names has {len(class_names)} names for {yt.shape[1]} columns")
    return (yt > 0.5).astype(int), ys


def _skipped_note(title: str, skipped: list[str], why: str) -> str:
    return f"{title}<br><sup>skipped ({why}): {', '.join(skipped)}</sup>" if skipped else title


def roc_figure(y_true: np.ndarray, y_score: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """One ROC curve per class with its AUC in the legend, plus the dashed chance diagonal.

    Args:
        y_true: (N, C) in {0, 1}.
        y_score: (N, C) predicted probabilities.
        class_names: C names.

    Classes without positives (or without negatives, where ROC is undefined) are skipped and named in
    the title.
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    yt, ys = _check_scores(y_true, y_score, class_names)
    fig = go.Figure()
    skipped = []
    for c, name in enumerate(class_names):
        pos = int(yt[:, c].sum())
        if pos == 0 or pos == len(yt):
            skipped.append(str(name))
            continue
        fpr, tpr, thr = roc_curve(yt[:, c], ys[:, c])
        auc = roc_auc_score(yt[:, c], ys[:, c])
        fig.add_trace(
            go.Scatter(
                x=fpr,
                y=tpr,
                customdata=thr,
                mode="lines",
                name=f"{name} (AUC={auc:.3f})",
                line={"color": _color(c), "width": 2},
                meta={"class": str(name), "auc": float(auc)},
                hovertemplate=f"{name}<br>FPR %{{x:.3f}}<br>TPR %{{y:.3f}}<br>threshold %{{customdata:.3f}}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"color": "grey", "dash": "dash"}, hoverinfo="skip"
        )
    )
    fig.update_layout(
        template=TEMPLATE,
        title={"text": _skipped_note("ROC curves", skipped, "no positives or no negatives")},
        height=520,
        legend={"title": {"text": "class"}},
    )
    fig.update_xaxes(title={"text": "false positive rate (1 − specificity)"}, range=[0, 1], constrain="domain")
    fig.update_yaxes(
        title={"text": "true positive rate (sensitivity)"}, range=[0, 1.02], scaleanchor="x", constrain="domain"
    )
    return fig


def pr_figure(y_true: np.ndarray, y_score: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """One precision–recall curve per class with its average precision (AP) in the legend.

    Args:
        y_true: (N, C) in {0, 1}.
        y_score: (N, C) predicted probabilities.
        class_names: C names.

    A dashed horizontal line in the class colour marks the class prevalence (the precision of a
    no-skill classifier). Classes without positives are skipped and named in the title.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    yt, ys = _check_scores(y_true, y_score, class_names)
    fig = go.Figure()
    skipped = []
    for c, name in enumerate(class_names):
        if yt[:, c].sum() == 0:
            skipped.append(str(name))
            continue
        precision, recall, _ = precision_recall_curve(yt[:, c], ys[:, c])
        ap = average_precision_score(yt[:, c], ys[:, c])
        prevalence = float(yt[:, c].mean())
        fig.add_trace(
            go.Scatter(
                x=recall,
                y=precision,
                mode="lines",
                name=f"{name} (AP={ap:.3f})",
                legendgroup=str(name),
                line={"color": _color(c), "width": 2, "shape": "hv"},
                meta={"class": str(name), "role": "curve", "ap": float(ap)},
                hovertemplate=f"{name}<br>recall %{{x:.3f}}<br>precision %{{y:.3f}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[0, 1],
                y=[prevalence, prevalence],
                mode="lines",
                name=f"{name} prevalence {prevalence:.3f}",
                legendgroup=str(name),
                showlegend=False,
                line={"color": _color(c), "width": 1, "dash": "dash"},
                meta={"class": str(name), "role": "prevalence", "prevalence": prevalence},
                hovertemplate=f"{name} prevalence {prevalence:.3f}<extra></extra>",
            )
        )
    title = "Precision–recall curves<br><sup>dashed: class prevalence (no-skill precision)</sup>"
    if skipped:
        title = title.replace("</sup>", f" · skipped (no positives): {', '.join(skipped)}</sup>")
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=520, legend={"title": {"text": "class"}})
    fig.update_xaxes(title={"text": "recall (sensitivity)"}, range=[0, 1])
    fig.update_yaxes(title={"text": "precision (PPV)"}, range=[0, 1.02])
    return fig


# --- 4./5. confusion matrices ------------------------------------------------------------------------------
def _check_matrix(name: str, m: Any) -> np.ndarray:
    arr = np.asarray(m, dtype=float)
    if arr.shape != (2, 2):
        raise ValueError(f"confusion matrix for {name!r} must be [[tn, fp], [fn, tp]], got shape {arr.shape}")
    return arr


def _fmt_count(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.3g}"


def _matrix_title(name: str, thresholds: Mapping[str, float] | None, sep: str = "\n") -> str:
    thr = None if thresholds is None else thresholds.get(name)
    return name if thr is None else f"{name}{sep}threshold {thr:.2f}"


def _grid_shape(n: int, max_cols: int = 6) -> tuple[int, int]:
    cols = max(1, min(n, max_cols))
    return math.ceil(max(n, 1) / cols), cols


def confusion_figure(
    matrices: Mapping[str, Any],
    thresholds: Mapping[str, float] | None = None,
) -> go.Figure:
    """One annotated 2×2 confusion heatmap per class, side by side (wrapping after 6 classes).

    Args:
        matrices: class name → [[tn, fp], [fn, tp]] (counts); rows "true 0/1", columns "pred 0/1".
        thresholds: optional class name → decision threshold, shown in the subplot titles.

    The cell numbers are layout annotations (one per cell, text equal to the count).
    """
    names = list(matrices)
    arrays = {name: _check_matrix(name, matrices[name]) for name in names}
    if not names:
        fig = go.Figure()
        fig.update_layout(template=TEMPLATE, title={"text": "Confusion matrices"}, height=300)
        return _empty_note(fig, "no classes")
    rows, cols = _grid_shape(len(names))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[_matrix_title(n, thresholds, "<br>") for n in names],
        horizontal_spacing=0.25 / cols if cols > 1 else 0.0,
        vertical_spacing=0.25 / rows if rows > 1 else 0.0,
    )
    fig.update_annotations(font_size=13)  # the subplot titles
    cell_annotations = []
    for k, name in enumerate(names):
        r, c = divmod(k, cols)
        m = arrays[name]
        zmax = max(float(m.max()), 1.0)
        fig.add_trace(
            go.Heatmap(
                z=m,
                x=["pred 0", "pred 1"],
                y=["true 0", "true 1"],
                colorscale="Blues",
                zmin=0,
                zmax=zmax,
                showscale=False,
                name=name,
                hovertemplate=f"{name}<br>%{{y}}, %{{x}}: %{{z}}<extra></extra>",
            ),
            row=r + 1,
            col=c + 1,
        )
        suffix = "" if k == 0 else str(k + 1)
        for i, true_label in enumerate(["true 0", "true 1"]):
            for j, pred_label in enumerate(["pred 0", "pred 1"]):
                cell_annotations.append(
                    {
                        "x": pred_label,
                        "y": true_label,
                        "xref": f"x{suffix}",
                        "yref": f"y{suffix}",
                        "text": _fmt_count(m[i, j]),
                        "showarrow": False,
                        "font": {"size": 15, "color": "white" if m[i, j] > 0.55 * zmax else "black"},
                        "name": f"{name}:{i}{j}",
                    }
                )
        fig.update_yaxes(autorange="reversed", showticklabels=c == 0, row=r + 1, col=c + 1)
    for a in cell_annotations:
        fig.add_annotation(a)
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Confusion matrices (rows: true label, columns: prediction)"},
        height=150 + 250 * rows,
        margin={"l": 60, "r": 20, "t": 120, "b": 40},
    )
    return fig


def confusion_png(
    matrices: Mapping[str, Any],
    thresholds: Mapping[str, float] | None,
    path: str | os.PathLike[str],
) -> None:
    """Write the confusion matrices as one PNG (matplotlib, Agg canvas): one 2×2 panel per class.

    Args:
        matrices: class name → [[tn, fp], [fn, tp]] (counts).
        thresholds: optional class name → threshold, shown in the panel titles.
        path: output PNG path; its folder is created if missing. The file is written atomically (a temp
            file in the same folder, then :func:`os.replace`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = list(matrices)
    arrays = {name: _check_matrix(name, matrices[name]) for name in names}
    rows, cols = _grid_shape(len(names))
    fig = Figure(figsize=(2.8 * cols + 0.4, 2.8 * rows + 0.6), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle("Confusion matrices (rows: true label, columns: prediction)")
    if not names:
        fig.text(0.5, 0.5, "no classes", ha="center", va="center")
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(names):
            ax.set_axis_off()
            continue
        name = names[k]
        m = arrays[name]
        zmax = max(float(m.max()), 1.0)
        ax.imshow(m, cmap="Blues", vmin=0, vmax=zmax)
        for i in range(2):
            for j in range(2):
                color = "white" if m[i, j] > 0.55 * zmax else "black"
                ax.text(j, i, _fmt_count(m[i, j]), ha="center", va="center", fontsize=13, color=color)
        ax.set_xticks([0, 1], ["pred 0", "pred 1"])
        ax.set_yticks([0, 1], ["true 0", "true 1"])
        ax.set_title(_matrix_title(name, thresholds), fontsize=10)

    _save_png_atomic(fig, path)


def _save_png_atomic(fig: Any, path: str | os.PathLike[str]) -> None:
    """Save a matplotlib Figure as PNG: a temp file in the same folder, then os.replace."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".figure-", suffix=".png.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fig.savefig(fh, format="png")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def saliency_png(signal: np.ndarray, saliency: np.ndarray, fs: int, title: str, path: str | os.PathLike[str]) -> None:
    """Write the 12 leads with their saliency as heat bands behind each trace (matplotlib PNG, for the CLI).

    Args:
        signal: (12, T) mV. saliency: (12, T) in [0, 1]. fs: Hz. path: output PNG (written atomically).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    signal = _check_signal(signal, fs)
    sal = _check_saliency(saliency, signal.shape)
    t = np.arange(signal.shape[1]) / fs
    fig = Figure(figsize=(14, 16), dpi=90, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle(title, fontsize=10)
    axes = fig.subplots(len(signal), 1, sharex=True)
    for i, ax in enumerate(axes):
        lo, hi = float(signal[i].min()) - 0.2, float(signal[i].max()) + 0.2
        ax.imshow(
            sal[i][None, :], aspect="auto", cmap="YlOrRd", vmin=0, vmax=1, extent=(t[0], t[-1], lo, hi), alpha=0.8
        )
        ax.plot(t, signal[i], color="black", linewidth=0.7)
        ax.set_ylim(lo, hi)
        ax.set_ylabel(display_lead_name(LEADS[i]), rotation=0, labelpad=18)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("time (s)")
    _save_png_atomic(fig, path)


# --- 6. training curves ----------------------------------------------------------------------------------
def _finite(v: Any) -> bool:
    return isinstance(v, (int, float, np.number)) and math.isfinite(float(v))


def loss_curves_figure(events: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Training loss per step (raw + smoothed), validation loss and macro PR-AUC per epoch.

    Args:
        events: training events (other kinds are ignored):
            ``{"event": "batch", "epoch", "step" (global step), "loss"}`` and
            ``{"event": "epoch_end", "epoch", "step", "train_loss", "val_loss", "val_macro_pr_auc"}``.

    Epoch values are plotted at the step where the epoch ended; PR-AUC uses the right-hand axis (0–1).
    The smoothed line is a bias-corrected exponential moving average. An empty list gives an empty
    figure with the axis titles.
    """
    batches = sorted(
        (e for e in events if e.get("event") == "batch" and _finite(e.get("loss")) and _finite(e.get("step"))),
        key=lambda e: e["step"],
    )
    epochs = sorted(
        (e for e in events if e.get("event") == "epoch_end" and _finite(e.get("step"))), key=lambda e: e["step"]
    )
    fig = make_subplots(specs=[[{"secondary_y": True}]])

    if batches:
        steps = [e["step"] for e in batches]
        loss = pd.Series([float(e["loss"]) for e in batches])
        span = max(1, min(200, len(loss) // 20))
        batch_epochs = [e.get("epoch") for e in batches]
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=loss,
                customdata=batch_epochs,
                mode="lines",
                name="train loss (per step)",
                line={"color": _color(0), "width": 1},
                opacity=0.35,
                hovertemplate="step %{x}<br>epoch %{customdata}<br>loss %{y:.4f}<extra></extra>",
            ),
            secondary_y=False,
        )
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=loss.ewm(span=span, adjust=True).mean(),
                mode="lines",
                name="train loss (smoothed)",
                line={"color": _color(0), "width": 2.5},
                hovertemplate="step %{x}<br>smoothed loss %{y:.4f}<extra></extra>",
            ),
            secondary_y=False,
        )

    def epoch_series(key: str) -> tuple[list, list, list]:
        picked = [e for e in epochs if _finite(e.get(key))]
        return [e["step"] for e in picked], [float(e[key]) for e in picked], [e.get("epoch") for e in picked]

    for key, label, color, secondary, symbol in (
        ("train_loss", "train loss (epoch)", _color(0), False, "circle-open"),
        ("val_loss", "val loss (epoch)", _color(1), False, "circle"),
        ("val_macro_pr_auc", "val macro PR-AUC", _color(2), True, "diamond"),
    ):
        x, y, ep = epoch_series(key)
        if not x:
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                customdata=ep,
                mode="lines+markers",
                name=label,
                line={"color": color, "width": 1.5, "dash": "dot" if key == "train_loss" else "solid"},
                marker={"size": 9, "symbol": symbol},
                hovertemplate=f"epoch %{{customdata}} (step %{{x}})<br>{label} %{{y:.4f}}<extra></extra>",
            ),
            secondary_y=secondary,
        )

    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Training curves"},
        height=450,
        hovermode="closest",
        legend={"orientation": "h", "y": -0.2},
    )
    fig.update_xaxes(title={"text": "training step"}, rangemode="tozero")
    fig.update_yaxes(title={"text": "loss (BCE)"}, secondary_y=False)
    fig.update_yaxes(  # explicit ticks: an overlaying axis would otherwise sync to the loss ticks
        title={"text": "val macro PR-AUC"},
        range=[0, 1],
        tickmode="linear",
        tick0=0,
        dtick=0.2,
        showgrid=False,
        secondary_y=True,
    )
    if not batches and not epochs:
        _empty_note(fig, "no training events yet")
    return fig


# --- 7. label distribution --------------------------------------------------------------------------------
RECORD_COUNT_COLUMNS = ("n_records", "records", "total")


def label_distribution_figure(counts: pd.DataFrame) -> go.Figure:
    """Grouped bars: share of records carrying each label, one bar per fold, grouped by label.

    Args:
        counts: index = fold ("fold 1".."fold 10", "train"/"val"/"test", ...), one column per label
            holding record counts. If a column named ``n_records``, ``records`` or ``total`` is present
            it is the number of records in the fold and the denominator of the share (multi-label
            records count once); otherwise the share is of the fold's label occurrences (row sum).

    Similar bar heights within a label group mean the folds are balanced. Hover shows the counts.
    """
    total_col = next((c for c in RECORD_COUNT_COLUMNS if c in counts.columns), None)
    labels = [c for c in counts.columns if c != total_col]
    values = counts[labels].astype(float)
    if total_col is not None:
        denom = counts[total_col].astype(float)
        ylabel = "share of records in the fold"
    else:
        denom = values.sum(axis=1)
        ylabel = "share of label occurrences in the fold"
    shares = values.div(denom.where(denom > 0), axis=0).fillna(0.0)

    fig = go.Figure()
    for i, fold in enumerate(counts.index):
        fig.add_trace(
            go.Bar(
                x=[str(label) for label in labels],
                y=shares.loc[fold].to_numpy(),
                customdata=np.column_stack([values.loc[fold].to_numpy(), np.full(len(labels), denom.loc[fold])]),
                name=str(fold),
                marker={"color": _color(i)},
                hovertemplate=(
                    f"{fold}<br>%{{x}}: %{{customdata[0]:,.0f}} of %{{customdata[1]:,.0f}}"
                    "<br>share %{y:.1%}<extra></extra>"
                ),
            )
        )
    fig.update_layout(
        template=TEMPLATE,
        barmode="group",
        title={"text": "Label distribution per fold"},
        height=420,
        legend={"title": {"text": "fold"}},
    )
    fig.update_xaxes(title={"text": "label"})
    fig.update_yaxes(title={"text": ylabel}, tickformat=".0%", rangemode="tozero")
    if counts.empty:
        _empty_note(fig, "no counts")
    return fig


# --- 8. fold comparison -------------------------------------------------------------------------------------
def fold_comparison_figure(table: pd.DataFrame, metric: str = "macro_pr_auc") -> go.Figure:
    """Slope chart comparing models fold by fold (e.g. 1D vs 2D CNN).

    Args:
        table: long table with columns ``fold``, ``model`` and the metric columns (one row per fold and
            model; duplicates are averaged).
        metric: the column to plot.

    One thin grey line per fold joins that fold's values across the models (in order of first
    appearance); a thick line with diamonds shows each model's mean over folds. With two models the
    title gives the mean difference and how many folds the second model wins.
    """
    missing = {"fold", "model", metric} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks column(s) {sorted(missing)}; has {list(table.columns)}")
    models = [str(m) for m in pd.unique(table["model"])]
    wide = (
        table.assign(model=table["model"].astype(str))
        .pivot_table(index="fold", columns="model", values=metric, aggfunc="mean")
        .reindex(columns=models)
    )
    fig = go.Figure()
    for fold, row in wide.iterrows():
        fig.add_trace(
            go.Scatter(
                x=models,
                y=row.to_numpy(dtype=float),
                mode="lines+markers",
                name=f"fold {fold}" if not str(fold).startswith("fold") else str(fold),
                line={"color": "rgba(120,120,120,0.55)", "width": 1.2},
                marker={"size": 7},
                showlegend=False,
                meta={"role": "fold", "fold": str(fold)},
                hovertemplate=f"fold {fold}<br>%{{x}}: %{{y:.4f}}<extra></extra>",
            )
        )
    means = wide.mean(axis=0)
    fig.add_trace(
        go.Scatter(
            x=models,
            y=means.to_numpy(dtype=float),
            error_y={"type": "data", "array": wide.std(axis=0).fillna(0).to_numpy(dtype=float), "width": 6},
            mode="lines+markers",
            name="mean ± SD over folds",
            line={"color": _color(1), "width": 4},
            marker={"size": 13, "symbol": "diamond"},
            meta={"role": "mean"},
            hovertemplate="%{x}<br>mean %{y:.4f}<extra></extra>",
        )
    )
    title = f"{metric} per fold"
    if len(models) == 2:
        a, b = models
        diff = (wide[b] - wide[a]).dropna()
        if len(diff):
            title += f"<br><sup>{b} − {a}: mean {diff.mean():+.4f}; {b} better in {(diff > 0).sum()} of {len(diff)} folds</sup>"
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=450, legend={"orientation": "h", "y": -0.15})
    fig.update_xaxes(title={"text": "model"}, type="category", categoryorder="array", categoryarray=models)
    fig.update_yaxes(title={"text": metric})
    if table.empty:
        _empty_note(fig, "no results")
    return fig


# --- 9. per-record probabilities ---------------------------------------------------------------------------
TRUE_COLOR = "#2ca02c"
OTHER_COLOR = "#9aa5b1"


def probabilities_figure(
    probs: Mapping[str, float],
    true_labels: Sequence[str],
    thresholds: Mapping[str, float] | None = None,
) -> go.Figure:
    """Horizontal bars of the predicted probability per class for one record.

    Args:
        probs: class name → predicted probability (0–1), in display order (top to bottom).
        true_labels: the record's true classes; their bars are green and labelled "✓ true".
        thresholds: optional class name → decision threshold, drawn as a black tick on the bar.
    """
    names = [str(n) for n in probs]
    p = np.array([float(probs[n]) for n in names]) if names else np.zeros(0)
    true_set = {str(x) for x in true_labels}
    fig = go.Figure()
    for is_true, label, color in ((True, "true label", TRUE_COLOR), (False, "other classes", OTHER_COLOR)):
        idx = [i for i, n in enumerate(names) if (n in true_set) == is_true]
        fig.add_trace(
            go.Bar(
                x=p[idx],
                y=[names[i] for i in idx],
                orientation="h",
                name=label,
                marker={"color": color},
                text=[f"{p[i]:.2f}" + (" ✓ true" if is_true else "") for i in idx],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            )
        )
    if thresholds:
        with_thr = [n for n in names if n in thresholds]
        fig.add_trace(
            go.Scatter(
                x=[float(thresholds[n]) for n in with_thr],
                y=with_thr,
                mode="markers",
                name="threshold",
                marker={"symbol": "line-ns", "size": 26, "line": {"width": 3, "color": "black"}, "color": "black"},
                hovertemplate="%{y} threshold %{x:.2f}<extra></extra>",
            )
        )
    missing = sorted(true_set - set(names))
    title = "Predicted probabilities"
    if missing:
        title += f"<br><sup>true labels without a prediction: {', '.join(missing)}</sup>"
    fig.update_layout(
        template=TEMPLATE,
        title={"text": title},
        barmode="overlay",
        height=160 + 34 * max(len(names), 1),
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "right",
            "x": 1,
        },  # above: never on the axis title
        margin={"l": 80, "r": 60, "t": 90},
    )
    fig.update_xaxes(title={"text": "predicted probability"}, range=[0, 1.12], tickformat=".0%", dtick=0.25)
    fig.update_yaxes(categoryorder="array", categoryarray=names, autorange="reversed", title={"text": "class"})
    return fig
