"""ECG figures: ECG paper (3x4 + rhythm strip, stacked), saliency overlays and bands, per-lead shares.

Units: ECG signals are in mV, time in seconds, sampling rates in Hz. Signals are ``(12, T)`` arrays in
:data:`LEADS` order; saliency maps have the same shape with values in [0, 1] (or [-1, 1] when signed).

The ECG-paper figure uses the clinical scales: 25 mm/s and 10 mm/mV, minor grid 1 mm (0.04 s,
0.1 mV) and major grid 5 mm (0.2 s, 0.5 mV). All leads share one x-axis in seconds and one y-axis in
mV; the leads are stacked with vertical offsets (one row every :data:`ROW_SPACING_MV`). Its height is
computed from the width it will be drawn at (:func:`paper_geometry`), so the paper fills the figure.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ecgcore.figures._common import LEADS, TEMPLATE, _empty_note, display_lead_name
from ecgcore.fileio import write_with

# --- ECG paper constants -----------------------------------------------------------------------------
MM_PER_S = 25.0  # paper speed
MM_PER_MV = 10.0  # gain
MINOR_S, MAJOR_S = 0.04, 0.2  # 1 mm and 5 mm along time
MINOR_MV, MAJOR_MV = 0.1, 0.5  # 1 mm and 5 mm along amplitude
ROW_SPACING_MV = 3.0  # vertical distance between lead baselines (a multiple of MAJOR_MV)
CALIBRATION_S = 0.4  # room left of t=0 for the 1 mV calibration pulse
PX_PER_MM = 4.0  # target on-screen size of the ECG paper (the "readable 1 mm grid")
NO_MODE_BAR = {"displayModeBar": False, "displaylogo": False}  # plotly config: the colour bar keeps its corner
PAGE_WIDTH_PX = 1140  # the main column of a 1600×1000 window with the sidebar open (bench/saliency_speed.py)
DEFAULT_WIDTH_PX = 940  # a full-width chart on a 1400 px wide page with the sidebar open (Streamlit 1.67, wide)
# Margins (px) of the paper figure: no y tick labels, x ticks in seconds, the title and scale on top.
PAPER_MARGIN = {"l": 12, "r": 12, "t": 34, "b": 22}
PAPER_BG = "#fff7f5"
MINOR_GRID_COLOR = "#f7c9c9"
MAJOR_GRID_COLOR = "#e6898b"
# Under a saliency map the paper turns neutral grey: a red/pink grid competes with any heat colour.
NEUTRAL_PAPER_BG = "white"
NEUTRAL_MINOR_GRID = "#e4e4e4"
NEUTRAL_MAJOR_GRID = "#b8b8b8"

# 3x4 print: columns of leads (top to bottom), each column showing its own quarter of the record.
LAYOUT_3X4_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("I", "II", "III"),
    ("AVR", "AVL", "AVF"),
    ("V1", "V2", "V3"),
    ("V4", "V5", "V6"),
)
RHYTHM_LEAD = "II"

# Saliency in [0, 1]: transparent at 0, then a cold blue→purple ramp. On the neutral grey grid and with
# black traces a cold hue reads at a glance, and it does not mix up with the red/pink of classic paper
# (a red heat is nearly invisible there). From 0.1 up the colour is a clear mid blue (a pale blue vanished
# into the grey grid); opacity stops at 0.65 so the trace stays black.
SALIENCY_COLORSCALE: list[list[Any]] = [
    [0.0, "rgba(255,255,255,0)"],
    [0.1, "rgba(66,146,198,0.4)"],
    [0.35, "rgba(33,113,181,0.5)"],
    [0.65, "rgba(8,69,148,0.58)"],
    [1.0, "rgba(84,39,143,0.65)"],
]
# Signed maps in [-1, 1]: diverging, centred (and transparent) at 0. Red pushes toward the class,
# blue pushes away from it (said in the figure title: :data:`SIGNED_NOTE`).
SIGNED_NOTE = "red: pushes toward the class · blue: pushes away"
SIGNED_COLORSCALE: list[list[Any]] = [
    [0.0, "rgba(33,102,172,0.65)"],
    [0.25, "rgba(103,169,207,0.45)"],
    [0.45, "rgba(209,229,240,0.15)"],
    [0.5, "rgba(255,255,255,0)"],
    [0.55, "rgba(253,219,199,0.15)"],
    [0.75, "rgba(239,138,98,0.45)"],
    [1.0, "rgba(178,24,43,0.65)"],
]


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


def _check_saliency(saliency: np.ndarray | None, shape: tuple[int, ...], signed: bool = False) -> np.ndarray | None:
    """The map as floats, clipped to [0, 1] (or [-1, 1] when ``signed``); None passes through."""
    if saliency is None:
        return None
    sal = np.asarray(saliency, dtype=float)
    if sal.shape != shape:
        raise ValueError(f"saliency must have the signal's shape {shape}, got {sal.shape}")
    return np.clip(sal, -1.0 if signed else 0.0, 1.0)


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


def _saliency_coloraxis(signed: bool = False, horizontal: bool = False) -> dict[str, Any]:
    """The shared colour axis of the heat bands: 0..1 sequential, or -1..1 diverging around 0 (signed).

    ``horizontal``: a short colour bar above the plot, right-aligned (it costs no plot width). Plotly's
    mode bar would sit on it: pages draw these figures without one (:data:`NO_MODE_BAR`)."""
    title = "signed" if signed else "saliency"
    bar: dict[str, Any] = {"title": {"text": title}, "thickness": 14, "len": 0.6}
    if horizontal:  # in the title row, in container coordinates: it pushes no margin
        bar = {
            "title": {"text": title, "side": "top", "font": {"size": 10}},
            "orientation": "h",
            "thickness": 8,
            "len": 0.16,
            "x": 0.995,
            "xanchor": "right",
            "xref": "container",
            "y": 0.997,
            "yanchor": "top",
            "yref": "container",
            "ticks": "",
            "tickfont": {"size": 9},
            "ypad": 2,
            "xpad": 2,
        }
    return {
        "colorscale": SIGNED_COLORSCALE if signed else SALIENCY_COLORSCALE,
        "cmin": -1.0 if signed else 0.0,
        "cmax": 1.0,
        "cmid": 0.0 if signed else None,
        "colorbar": bar | {"outlinecolor": "#888888", "outlinewidth": 1, "bgcolor": NEUTRAL_PAPER_BG},
    }


def _grid_lines(positions: np.ndarray, lo: float, hi: float, vertical: bool) -> tuple[list, list]:
    """x and y lists of line segments separated by None (one trace draws them all)."""
    along: list[float | None] = []
    across: list[float | None] = []
    for p in positions:
        along += [float(p), float(p), None]
        across += [lo, hi, None]
    return (along, across) if vertical else (across, along)


def _paper_grid(x0: float, x1: float, y0: float, y1: float, neutral: bool = False) -> list[go.Scatter]:
    """Minor (0.04 s / 0.1 mV) and major (0.2 s / 0.5 mV) ECG-paper grid as two line traces.

    The minor trace holds every 1 mm line (the major ones too; they are drawn over). ``neutral``: grey
    lines instead of red/pink (under a saliency map).
    """
    minor, major = (NEUTRAL_MINOR_GRID, NEUTRAL_MAJOR_GRID) if neutral else (MINOR_GRID_COLOR, MAJOR_GRID_COLOR)
    traces = []
    for role, step_s, step_mv, color, width in (
        ("minor grid", MINOR_S, MINOR_MV, minor, 0.5),
        ("major grid", MAJOR_S, MAJOR_MV, major, 1.0),
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


# --- 1. ECG paper --------------------------------------------------------------------------------------
def paper_geometry(duration_s: float, n_rows: int, width_px: int = DEFAULT_WIDTH_PX) -> dict[str, float]:
    """Size of the ECG-paper figure drawn ``width_px`` wide (the page's container width).

    The height follows from the width so that the paper keeps 25 mm/s : 10 mm/mV with only the fixed
    margins around it (:data:`PAPER_MARGIN`): nothing is blank unless the figure is drawn at another
    width than the one it was built for.

    Returns:
        {"width_px", "height_px", "plot_width_px", "plot_height_px", "px_per_mm", "width_mm", "height_mm",
        "blank_fraction" (share of the figure height outside the paper)}.
    """
    x1 = math.ceil(duration_s / MAJOR_S - 1e-9) * MAJOR_S
    width_mm = (x1 + CALIBRATION_S) * MM_PER_S
    height_mm = n_rows * ROW_SPACING_MV * MM_PER_MV
    plot_w = max(width_px - PAPER_MARGIN["l"] - PAPER_MARGIN["r"], 100)
    px_per_mm = plot_w / width_mm
    plot_h = height_mm * px_per_mm
    height = plot_h + PAPER_MARGIN["t"] + PAPER_MARGIN["b"]
    return {
        "width_px": float(width_px),
        "height_px": float(math.ceil(height)),
        "plot_width_px": float(plot_w),
        "plot_height_px": float(plot_h),
        "px_per_mm": float(px_per_mm),
        "width_mm": float(width_mm),
        "height_mm": float(height_mm),
        "blank_fraction": float(1 - plot_h / math.ceil(height)),
    }


def _paper_segments(n: int, fs: int, layout: str) -> tuple[list[tuple[str, slice, int, bool]], int, list[float]]:
    """(lead, sample slice, row, is the rhythm strip) per drawn segment, the number of rows, and the times
    (s) of the column separators."""
    if layout == "3x4":
        bounds = [c * n // 4 for c in range(5)]
        segments = [
            (lead, slice(bounds[c], bounds[c + 1]), r, False)
            for c, column in enumerate(LAYOUT_3X4_COLUMNS)
            for r, lead in enumerate(column)
        ]
        segments.append((RHYTHM_LEAD, slice(0, n), 3, True))
        return segments, 4, [bounds[c] / fs for c in range(1, 4)]
    if layout == "stacked":
        return [(lead, slice(0, n), r, False) for r, lead in enumerate(LEADS)], len(LEADS), []
    raise ValueError(f"layout must be '3x4' or 'stacked', got {layout!r}")


def _paper_layout(fig: go.Figure, geo: dict[str, float], title: str, scale: str, neutral: bool) -> None:
    """Size, title and axes of the paper figure: y tied to x at 10 mm/mV : 25 mm/s, no axis titles (the
    scale is in the title line), the plot anchored to the top."""
    fig.update_layout(
        template="none",
        title={
            "text": f"<b>{title}</b>   <span style='font-size:12px'>{scale}</span>" if title else scale,
            "x": 0.01,
            "xref": "container",
            "y": 0.99,
            "yref": "container",
            "yanchor": "top",
            "font": {"size": 15},
        },
        showlegend=False,
        hovermode="closest",
        paper_bgcolor="white",
        plot_bgcolor=NEUTRAL_PAPER_BG if neutral else PAPER_BG,
        width=int(geo["width_px"]),
        height=int(geo["height_px"]),
        margin=dict(PAPER_MARGIN, pad=0, autoexpand=False),
        meta={"geometry": geo},
    )
    fig.update_xaxes(
        tickmode="linear",
        tick0=0,
        dtick=1,
        ticksuffix=" s",
        ticks="outside",
        ticklen=3,
        showgrid=False,
        zeroline=False,
        constrain="domain",
    )
    fig.update_yaxes(
        showticklabels=False,
        ticks="",
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=MM_PER_MV / MM_PER_S,
        constrain="domain",
        constraintoward="top",
    )


def ecg_paper_figure(
    signal: np.ndarray,
    fs: int,
    layout: str = "3x4",
    title: str = "",
    saliency: np.ndarray | None = None,
    *,
    signed: bool = False,
    width: int | None = None,
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
        saliency: optional (12, T) in [0, 1] (or [-1, 1] with ``signed``); drawn as a heat band behind
            each lead segment, aligned in time with it, with one colour bar. The paper turns neutral
            grey under a map.
        signed: the map is signed (e.g. integrated gradients / max |IG|): a diverging scale centred on 0.
        width: the width (px) the figure will be drawn at — the page's container width; the height is
            computed from it (:func:`paper_geometry`), default :data:`DEFAULT_WIDTH_PX`.

    The x-axis is time in s (true record time: a segment's x values are its sample times), the y-axis is
    mV with each row offset by :data:`ROW_SPACING_MV`; y is tied to x with scaleratio 10/25, so 1 s and
    1 mV appear as 25 mm and 10 mm. Lead traces carry ``meta={"role": "lead", "lead": ..., "offset_mv":
    ...}``; the grid traces ``meta["role"]`` "minor grid" / "major grid". ``layout.meta["geometry"]``
    holds the :func:`paper_geometry` the figure was sized with.
    """
    sig = _check_signal(signal, fs)
    sal = _check_saliency(saliency, sig.shape, signed)
    n = sig.shape[1]
    t = np.arange(n) / fs
    duration = n / fs
    row_of = {name.upper(): i for i, name in enumerate(LEADS)}
    segments, n_rows, separators = _paper_segments(n, fs, layout)

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
        leads.append(_lead_trace(t[sl], sig[idx, sl], base, shown, width=1.1, rhythm=rhythm))
        labels.append(_lead_label(t[sl][0] + 0.04, base, shown))

    neutral = sal is not None
    fig = go.Figure(
        heat
        + _paper_grid(x0, x1, y0, y1, neutral=neutral)
        + [_calibration_and_separators(baselines, separators, n_rows - 1)]
        + leads
    )
    scale = f"25 mm/s · 10 mm/mV · {fs} Hz · {duration:g} s" + (f" · {SIGNED_NOTE}" if signed and neutral else "")
    _paper_layout(fig, paper_geometry(duration, n_rows, width or DEFAULT_WIDTH_PX), title, scale, neutral)
    fig.update_layout(annotations=labels)
    fig.update_xaxes(range=[x0, x1])
    fig.update_yaxes(range=[y0, y1])
    if sal is not None:
        fig.update_layout(coloraxis=_saliency_coloraxis(signed, horizontal=True))
    return fig


# --- 2. saliency bands (white background, for side-by-side comparison) ----------------------------------
BAND_ROW_PX = 56  # height of one lead's band in the bands view


def saliency_figure(
    signal: np.ndarray,
    saliency: np.ndarray,
    fs: int,
    title: str = "",
    lead_names: Sequence[str] | None = None,
    *,
    signed: bool = False,
) -> go.Figure:
    """12 stacked leads with a saliency heat band behind each, on a white background with a light grid.

    Args:
        signal: (12, T) in mV, sampled at ``fs`` Hz.
        saliency: (12, T) in [0, 1] (clipped), or [-1, 1] with ``signed``; one shared colour bar.
        fs: sampling rate in Hz.
        title: figure title (e.g. the model name).
        lead_names: 12 display names; default the pretty :data:`LEADS` names (aVR, ...).
        signed: diverging colour scale centred on 0 (toward the class: red, away: blue).

    Rows are :data:`ROW_SPACING_MV` apart; the y tick labels name the leads at their baselines. A light
    grid: every 0.2 s (minor) and 1 s, and every 0.5 mV.
    """
    sig = _check_signal(signal, fs)
    sal = _check_saliency(saliency, sig.shape, signed)
    assert sal is not None
    names = [display_lead_name(x) for x in (lead_names if lead_names is not None else LEADS)]
    if len(names) != sig.shape[0]:
        raise ValueError(f"lead_names must have {sig.shape[0]} names, got {len(names)}")
    t = np.arange(sig.shape[1]) / fs
    baselines = _row_baselines(len(names))
    half = 0.45 * ROW_SPACING_MV  # a thin gap between the bands of neighbouring leads

    heat = [_heat_band(t, sal[i], b - half, b + half, name) for i, (name, b) in enumerate(zip(names, baselines))]
    leads = [_lead_trace(t, sig[i], b, name, width=1.1) for i, (name, b) in enumerate(zip(names, baselines))]
    fig = go.Figure(heat + leads)
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": (title or "Saliency") + (f"   <span style='font-size:12px'>{SIGNED_NOTE}</span>" if signed else ""),
            "x": 0.01,
            "y": 0.995,
            "yanchor": "top",
            "font": {"size": 15},
        },
        coloraxis=_saliency_coloraxis(signed, horizontal=True),
        showlegend=False,
        hovermode="closest",
        height=62 + BAND_ROW_PX * len(names),
        margin={"l": 44, "r": 12, "t": 38, "b": 24},
    )
    light = "#ececec"
    fig.update_xaxes(
        range=[0, t[-1]],
        dtick=1,
        ticksuffix=" s",
        showgrid=True,
        gridcolor="#d4d4d4",
        minor={"dtick": 0.2, "showgrid": True, "gridcolor": light},
        zeroline=False,
    )
    fig.update_yaxes(
        tickvals=list(baselines),
        ticktext=names,
        range=[0, len(names) * ROW_SPACING_MV],
        showgrid=False,
        minor={"tick0": 0, "dtick": MAJOR_MV, "showgrid": True, "gridcolor": light},
        zeroline=False,
    )
    return fig


# --- 3. per-lead summary ---------------------------------------------------------------------------------
def lead_shares(raw: np.ndarray) -> np.ndarray:
    """Share of the total |attribution| that falls on each lead.

    Args:
        raw: (12, T) raw attribution (any sign, any unit; e.g. ``SaliencyResult.map``).

    Returns:
        (12,) float64, >= 0, summing to 1; all zeros when the map is all zero (no attribution).
    """
    m = np.abs(np.asarray(raw, dtype=np.float64))
    if m.ndim != 2:
        raise ValueError(f"raw must be a (leads, T) map, got shape {m.shape}")
    per_lead = m.sum(axis=1)
    total = per_lead.sum()
    return per_lead / total if total > 0 else np.zeros_like(per_lead)


def lead_importance_figure(
    shares: np.ndarray, title: str = "", lead_names: Sequence[str] | None = None, time_only: bool = False
) -> go.Figure:
    """Horizontal bars: each lead's share of the |attribution| (from :func:`lead_shares`), top to bottom
    in :data:`LEADS` order, sized to stand beside a record's map (narrow column).

    Args:
        shares: (12,) shares, >= 0, summing to 1 (or all zero).
        title: figure title (e.g. "IG · MI").
        time_only: the map has no lead axis (1D Grad-CAM): the bars are equal by construction; said so.
    """
    sh = np.asarray(shares, dtype=float)
    names = [display_lead_name(x) for x in (lead_names if lead_names is not None else LEADS)]
    if sh.shape != (len(names),):
        raise ValueError(f"shares must have shape ({len(names)},), got {sh.shape}")
    top = int(np.argmax(sh)) if sh.any() and not time_only and np.ptp(sh) > 1e-6 else -1  # no ranking of equals
    colors = ["#54278f" if i == top else "#6baed6" for i in range(len(names))]
    fig = go.Figure(
        go.Bar(
            x=sh,
            y=names,
            orientation="h",
            marker={"color": colors},
            text=[f"{v:.0%}" for v in sh],
            textposition="outside",
            cliponaxis=False,
            meta={"role": "lead share"},
            hovertemplate="%{y}: %{x:.1%} of |attribution|<extra></extra>",
        )
    )
    sub = "time-only map: every lead equal, no lead ranking" if time_only else "share of |attribution| per lead"
    fig.update_layout(
        template=TEMPLATE,
        title={"text": f"{title or 'Leads'}<br><sup>{sub}</sup>"},
        height=90 + 26 * len(names),
        margin={"l": 44, "r": 36, "t": 64, "b": 30},
        showlegend=False,
    )
    fig.update_xaxes(
        tickformat=".0%", range=[0, max(float(sh.max()) * 1.25, 0.1) if sh.size else 1], rangemode="tozero"
    )
    fig.update_yaxes(categoryorder="array", categoryarray=names, autorange="reversed")
    if not sh.any():
        _empty_note(fig, "no attribution")
    return fig


HOW_TO_READ_SALIENCY = """\
**How to read these maps.** Each colours where, in each lead and moment, the model's score for the chosen
class is sensitive — not where the disease "is".

- **Gradient** — how much a tiny change of each sample would move the class score (|∂score/∂x|). Local
  and noisy: it marks where the model is *sensitive*, even where the signal is flat.
- **Integrated gradients (IG)** — the score's change from a flat 0 mV line to this ECG, shared out over
  the samples (the shares add up to that change). It weighs sensitivity by the signal actually there, so
  big deflections (QRS, T waves) dominate. **Signed IG**: red pushes the score *toward* the class, blue
  *away* from it; the plain map shows only the size.
- **Grad-CAM** — which stretches of the last convolution's features the class relies on, upsampled to
  the record. Coarse in time; for the 1D CNN it has no lead axis (the same in all 12 leads). It keeps
  only positive evidence: stretches that count *against* the class come out blank (not an edge effect).

**Why methods disagree.** They answer different questions (sensitivity, contribution from a baseline,
feature-map evidence), and a model can use correlated leads interchangeably. For an inferior MI, IG
highlighted V2/V3 while the gradient marked III/aVF: III/aVF is where a small change moves the score,
V2/V3 where the large deflections that the score builds on sit. Trust a region more when methods
agree, and compare with the per-lead bars. A map explains *this model*, not the diagnosis.
"""


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
        ax.imshow(sal[i][None, :], aspect="auto", cmap="BuPu", vmin=0, vmax=1, extent=(t[0], t[-1], lo, hi), alpha=0.7)
        ax.plot(t, signal[i], color="black", linewidth=0.7)
        ax.set_ylim(lo, hi)
        ax.set_ylabel(display_lead_name(LEADS[i]), rotation=0, labelpad=18)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("time (s)")
    write_with(path, lambda f: fig.savefig(f, format="png"))
