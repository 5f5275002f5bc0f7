"""Shared pieces of the figure builders: the lead order, display names, palette, template."""

from __future__ import annotations

import plotly.graph_objects as go
from plotly.colors import qualitative

try:  # the data layer owns the lead order; fall back to the same constant if it is unavailable
    from ecgcore.records import LEADS
except ImportError:  # pragma: no cover - only while ecgcore.data is missing
    LEADS: tuple[str, ...] = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")

TEMPLATE = "plotly_white"
PALETTE: tuple[str, ...] = tuple(qualitative.Plotly) + tuple(qualitative.Dark24)

_DISPLAY_NAMES = {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}


def display_lead_name(lead: str) -> str:
    """Pretty lead name for display: ``"AVR"`` → ``"aVR"``; other names unchanged."""
    return _DISPLAY_NAMES.get(lead.upper(), lead)


# --- small shared helpers ----------------------------------------------------------------------------
def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _empty_note(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False, font={"size": 14})
    return fig
