"""Dataset and per-record figures: the label distribution over folds, one record's predicted probabilities."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ecgcore.figures._common import TEMPLATE, _color, _empty_note

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
