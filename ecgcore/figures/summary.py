"""A class summary's shares (ecgcore.class_summary) as plotly bars a reader can't misread: the mean share
over records, whiskers from the first to the third quartile across records, and the share a model with no
preference would give as a dashed mark."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go


def share_figure(
    names: Sequence[str],
    means: Sequence[float],
    spread: Mapping[str, Sequence[float]] | None,
    no_preference: Sequence[float],
    title: str,
    axis: str,
) -> go.Figure:
    """Bars of shares (0–1) with quartile whiskers and the no-preference level of each bar.

    Args:
        names: (K,) bar names (leads or beat windows); means: (K,) mean shares over records.
        spread: {"q25": (K,), "q75": (K,)} across records, or None.
        no_preference: (K,) the share without any preference (1/12 per lead; a window's share of the beat).
        title, axis: the figure's title and the y-axis words.
    """
    fig = go.Figure()
    error = None
    if spread and spread.get("q25"):
        error = {
            "type": "data",
            "symmetric": False,
            "array": [max(0.0, hi - m) for m, hi in zip(means, spread["q75"])],
            "arrayminus": [max(0.0, m - lo) for m, lo in zip(means, spread["q25"])],
            "color": "#333333",
        }
    fig.add_trace(
        go.Bar(
            x=list(names),
            y=list(means),
            error_y=error,
            marker_color="#4c72b0",
            name="mean over records",
            hovertemplate="%{x}: %{y:.1%}<extra></extra>",
        )  # fmt: skip
    )
    fig.add_trace(
        go.Scatter(
            x=list(names),
            y=list(no_preference),
            mode="markers",
            name="no preference",
            marker={"symbol": "line-ew-open", "size": 28, "color": "#888888", "line": {"width": 2}},
            hovertemplate="no preference: %{y:.1%}<extra></extra>",
        )  # fmt: skip
    )
    fig.update_layout(
        title={"text": title},
        height=320,
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
        yaxis={"title": axis, "tickformat": ".0%", "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig
