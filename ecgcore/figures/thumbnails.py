"""Small ECG figures for lists (similar cases): one lead as a strip on a light ECG-paper grid.

Pure function of arrays, returns a plotly figure; no Streamlit import.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ecgcore.figures._common import LEADS, display_lead_name

THUMB_HEIGHT_PX = 120


def lead_strip_figure(
    signal: np.ndarray, fs: int, lead: str = "II", title: str = "", height: int = THUMB_HEIGHT_PX
) -> go.Figure:
    """One lead of a (12, T) mV record as a compact strip (time in s, mV), 0.2 s / 0.5 mV grid, no mode bar
    needed. The trace carries ``meta={"role": "lead", "lead": lead}``."""
    sig = np.asarray(signal, dtype=float)
    names = [x.upper() for x in LEADS]
    if sig.ndim != 2 or sig.shape[0] != len(LEADS):
        raise ValueError(f"signal must have shape ({len(LEADS)}, T), got {sig.shape}")
    if lead.upper() not in names:
        raise ValueError(f"lead must be one of {', '.join(LEADS)}, got {lead!r}")
    y = sig[names.index(lead.upper())]
    t = np.arange(len(y)) / fs
    fig = go.Figure(
        go.Scatter(
            x=t.astype(np.float32), y=y.astype(np.float32), mode="lines", line={"color": "black", "width": 1},
            hovertemplate="t=%{x:.2f} s<br>%{y:.2f} mV<extra></extra>", meta={"role": "lead", "lead": lead},
        )
    )  # fmt: skip
    fig.update_layout(
        template="none", height=height, margin={"l": 4, "r": 4, "t": 22 if title else 4, "b": 4},
        title={"text": title, "font": {"size": 11}, "x": 0.01, "y": 0.98, "yanchor": "top"},
        plot_bgcolor="#fff7f5", showlegend=False,
    )  # fmt: skip
    grid = {"showgrid": True, "gridcolor": "#f2b8b8", "zeroline": False, "showticklabels": False}
    fig.update_xaxes(range=[0, float(t[-1])], dtick=0.2, **grid)
    fig.update_yaxes(dtick=0.5, **grid)
    fig.add_annotation(
        text=display_lead_name(lead), x=0.005, y=0.98, xref="paper", yref="paper", showarrow=False,
        xanchor="left", yanchor="top", font={"size": 10},
    )  # fmt: skip
    return fig
