"""Training figures: loss and metric curves of one run, and overlays of several runs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ecgcore.figures._common import TEMPLATE, _color, _empty_note


# --- 6. training curves ----------------------------------------------------------------------------------
def _finite(v: Any) -> bool:
    return isinstance(v, (int, float, np.number)) and math.isfinite(float(v))


def _training_layout(fig: go.Figure) -> None:
    """Title, size and the two y-axes of :func:`loss_curves_figure`."""
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


def _mark_best_epoch(fig: go.Figure, events: Sequence[Mapping[str, Any]]) -> None:
    """A dashed vertical line at the step where the best epoch ended."""
    best = best_epoch(events)
    if best is not None:
        fig.add_vline(
            x=best["step"],
            line={"color": "rgba(60,60,60,0.7)", "dash": "dash", "width": 1.5},
            annotation={"text": f"best epoch {best['epoch'] + 1}", "yanchor": "top"},  # counted from 1
            annotation_position="top left",
        )


def _add_step_loss(fig: go.Figure, batches: Sequence[Mapping[str, Any]]) -> None:
    """The training loss of every logged step, raw and smoothed (bias-corrected EMA)."""
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


def loss_curves_figure(events: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Training loss per step (raw + smoothed), validation loss and macro PR-AUC per epoch.

    Args:
        events: training events (other kinds are ignored):
            ``{"event": "batch", "epoch", "step" (global step), "loss"}`` and
            ``{"event": "epoch_end", "epoch", "step", "train_loss", "val_loss", "val_macro_pr_auc"}``.

    Epoch values are plotted at the step where the epoch ended; PR-AUC uses the right-hand axis (0–1).
    The smoothed line is a bias-corrected exponential moving average. A dashed vertical line marks the
    best epoch (:func:`best_epoch`). An empty list gives an empty figure with the axis titles.
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
        _add_step_loss(fig, batches)

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

    _training_layout(fig)
    _mark_best_epoch(fig, events)
    if not batches and not epochs:
        _empty_note(fig, "no training events yet")
    return fig


def best_epoch(events: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The epoch whose checkpoint is ``best.pt``: the last ``epoch_end`` flagged ``"best"`` (the trainer's
    choice), else — for runs written before that flag — the epoch with the highest val macro PR-AUC, the
    trainer's criterion. Returns {"epoch", "step", "val_macro_pr_auc"} or None (no epoch yet)."""
    ends = [e for e in events if e.get("event") == "epoch_end" and _finite(e.get("step"))]
    flagged = [e for e in ends if e.get("best") is True]
    if flagged:
        e = flagged[-1]
    else:
        scored = [e for e in ends if _finite(e.get("val_macro_pr_auc"))]
        if not scored:
            return None
        e = max(scored, key=lambda x: float(x["val_macro_pr_auc"]))
    return {"epoch": e.get("epoch"), "step": e["step"], "val_macro_pr_auc": e.get("val_macro_pr_auc")}


OVERLAY_METRICS = (("val_loss", "val loss (BCE)"), ("val_macro_pr_auc", "val macro PR-AUC"))
_RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def loss_curves_overlay_figure(runs: Mapping[str, Sequence[Mapping[str, Any]]]) -> go.Figure:
    """Validation loss and macro PR-AUC per epoch of several runs side by side (folds, two models).

    Args:
        runs: run label → its training events (as :func:`loss_curves_figure`). Labels ``"<group> · <rest>"``
            (e.g. ``"cnn1d · fold 0"``) share the colour of their group and differ in line style, so the
            folds of two models read as two colours.

    x is the epoch (runs of different lengths and batch sizes line up); each run's best epoch
    (:func:`best_epoch`) is a star on both panels (trace meta role "best epoch").
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=[t for _, t in OVERLAY_METRICS], horizontal_spacing=0.08)
    groups: dict[str, int] = {}
    members: dict[str, int] = {}
    for label, events in runs.items():
        group = str(label).split(" · ")[0]
        color = _color(groups.setdefault(group, len(groups)))
        dash = _RUN_DASHES[members.get(group, 0) % len(_RUN_DASHES)]
        members[group] = members.get(group, 0) + 1
        ends = sorted(
            (e for e in events if e.get("event") == "epoch_end" and _finite(e.get("epoch"))), key=lambda e: e["epoch"]
        )
        best = best_epoch(events)
        for col, (key, name) in enumerate(OVERLAY_METRICS, start=1):
            picked = [e for e in ends if _finite(e.get(key))]
            x, y = [e["epoch"] for e in picked], [float(e[key]) for e in picked]
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines+markers",
                    name=str(label),
                    legendgroup=str(label),
                    showlegend=col == 1,
                    line={"color": color, "dash": dash, "width": 2},
                    marker={"size": 5},
                    meta={"role": "curve", "run": str(label), "metric": key},
                    hovertemplate=f"{label}<br>epoch %{{x}}<br>{name} %{{y:.4f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
            at_best = [e for e in picked if best is not None and e["epoch"] == best["epoch"]]
            if at_best:
                fig.add_trace(
                    go.Scatter(
                        x=[at_best[0]["epoch"]],
                        y=[float(at_best[0][key])],
                        mode="markers",
                        name=f"{label} best epoch",
                        legendgroup=str(label),
                        showlegend=False,
                        marker={"symbol": "star", "size": 14, "color": color, "line": {"width": 1, "color": "black"}},
                        meta={"role": "best epoch", "run": str(label), "metric": key, "epoch": best["epoch"]},
                        hovertemplate=f"{label}: best epoch %{{x}}<br>{name} %{{y:.4f}}<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
    fig.update_layout(
        template=TEMPLATE,
        title={"text": "Validation curves<br><sup>★: best epoch (the checkpoint kept)</sup>"},
        height=430,
        legend={"orientation": "h", "y": -0.2},
        hovermode="closest",
    )
    fig.update_xaxes(title={"text": "epoch"}, rangemode="tozero")
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    if not runs:
        _empty_note(fig, "no runs")
    return fig
