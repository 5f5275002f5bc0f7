"""Figures of "where the model fails, how sure it is": a subgroup forest plot, a reliability diagram and
the fold members' spread. Pure functions of the tables :mod:`ecgcore.subgroups`,
:mod:`ecgcore.calibration` and :mod:`ecgcore.uncertainty` return; no files, no Streamlit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ecgcore.figures._common import TEMPLATE, _color, _empty_note

GREY = "#9e9e9e"
METRIC_NAMES = {"pr_auc": "PR-AUC (average precision)", "roc_auc": "ROC-AUC"}


def forest_figure(table: pd.DataFrame, metric: str = "pr_auc", cls: str = "macro") -> go.Figure:
    """One metric per subgroup with its 95 % interval, the whole test part as a dashed reference line.

    Args:
        table: rows of :data:`ecgcore.subgroups.TABLE_COLUMNS` for one ``by`` (group ``all`` included),
            e.g. :func:`ecgcore.subgroups.run_subgroups`; metric: ``pr_auc`` or ``roc_auc``;
            cls: ``macro`` or a class name.
    Groups too small for an interval are grey, without a bar, with the reason on hover; groups without
    a figure are listed under the title."""
    if metric not in METRIC_NAMES:
        raise ValueError(f"metric must be one of {', '.join(METRIC_NAMES)}, not {metric!r}")
    rows = table[table["class"] == cls]
    by = str(rows["by"].iloc[0]) if len(rows) else ""
    fig = go.Figure()
    fig.update_layout(template=TEMPLATE, xaxis_title=METRIC_NAMES[metric], yaxis_title=by, height=140 + 36 * len(rows))
    if rows.empty:
        return _empty_note(fig, f"no rows for class {cls}")
    reference = rows[rows["group"] == "all"]
    groups = rows[(rows["group"] != "all") & rows[metric].notna()]
    missing = rows[(rows["group"] != "all") & rows[metric].isna()]["group"].tolist()
    for small, colour in ((False, _color(0)), (True, GREY)):
        part = groups[groups["small"] == small]
        if part.empty:
            continue
        lo, hi = part[f"{metric}_lo"].astype(float), part[f"{metric}_hi"].astype(float)
        error = (
            None
            if small
            else {"type": "data", "symmetric": False, "array": hi - part[metric], "arrayminus": part[metric] - lo}
        )
        hover = [
            f"{g}: {v:.3f}"
            + ("" if s else f" [{a:.3f}, {b:.3f}]")
            + f"<br>n {n}, positives {p}"
            + (f"<br>{note}" if isinstance(note, str) else "")
            for g, v, a, b, n, p, s, note in zip(
                part["group"], part[metric], lo, hi, part["n"], part["positives"], part["small"], part["note"]
            )
        ]
        fig.add_trace(
            go.Scatter(
                x=part[metric], y=part["group"].astype(str), mode="markers", error_x=error,
                marker={"color": colour, "size": 10}, name="too small for an interval" if small else "95 % interval",
                hovertext=hover, hoverinfo="text",
            )
        )  # fmt: skip
    if len(reference) and pd.notna(reference[metric].iloc[0]):
        value = float(reference[metric].iloc[0])
        fig.add_vline(x=value, line_dash="dash", line_color="black", annotation_text=f"whole test part {value:.3f}")
    title = f"{cls} {METRIC_NAMES[metric]} by {by}"
    if missing:
        title += f"<br><sup>no figure (a class lacks positives or negatives): {', '.join(map(str, missing))}</sup>"
    fig.update_layout(title=title, yaxis={"categoryorder": "array", "categoryarray": groups["group"].tolist()[::-1]})
    return fig


def reliability_figure(report: dict, scaled: dict | None = None, classes: list[str] | None = None) -> go.Figure:
    """Reliability diagram: per class, fraction positive against mean predicted probability in the
    equal-width bins of :func:`ecgcore.calibration.calibration_report` (marker area ~ records in the
    bin), the diagonal of perfect calibration, and the ECE in the legend.

    Args:
        report: a calibration report (raw probabilities); scaled: the temperature-scaled report of the
            same records (dotted lines) or None; classes: which classes (default all)."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": GREY}, name="perfectly calibrated")
    )
    names = classes or list(report["per_class"])
    for i, name in enumerate(names):
        for part, dash, label in ((report, "solid", ""), (scaled, "dot", " scaled")):
            if part is None:
                continue
            c = part["per_class"][name]
            filled = [b for b in c["bins"] if b["n"]]
            sizes = np.sqrt([b["n"] for b in filled]) if filled else []
            fig.add_trace(
                go.Scatter(
                    x=[b["mean_prob"] for b in filled], y=[b["fraction_positive"] for b in filled],
                    mode="lines+markers", line={"color": _color(i), "dash": dash},
                    marker={"size": np.clip(np.asarray(sizes) * 1.5, 5, 22) if filled else 6},
                    name=f"{name}{label} (ECE {c['ece']:.3f})" if c["ece"] is not None else f"{name}{label}",
                    hovertext=[f"{b['lo']:.1f}–{b['hi']:.1f}: {b['n']} records" for b in filled], hoverinfo="text+x+y",
                )
            )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE, title="Reliability diagram (test part)", xaxis_title="mean predicted probability",
        yaxis_title="fraction positive", xaxis_range=[0, 1], yaxis_range=[0, 1], height=480,
    )  # fmt: skip
    return fig


def spread_figure(spread: pd.DataFrame, thresholds: list[float] | None = None) -> go.Figure:
    """The fold members' probabilities per class as a range (min–max) around their mean, red where the
    members disagree (:func:`ecgcore.uncertainty.member_spread`); thresholds (C,) drawn as ticks."""
    fig = go.Figure()
    colours = [("#d62728" if d else _color(0)) for d in spread["disagree"]]
    fig.add_trace(
        go.Scatter(
            x=spread["mean"], y=spread["class"], mode="markers", marker={"color": colours, "size": 11},
            error_x={"type": "data", "symmetric": False, "array": spread["max"] - spread["mean"], "arrayminus": spread["mean"] - spread["min"]},
            hovertext=spread["statement"], hoverinfo="text", name="members' mean (range)",
        )
    )  # fmt: skip
    if thresholds is not None:
        fig.add_trace(
            go.Scatter(
                x=thresholds, y=spread["class"], mode="markers", marker={"symbol": "line-ns-open", "size": 16, "color": "black"},
                name="threshold",
            )
        )  # fmt: skip
    fig.update_layout(template=TEMPLATE, xaxis_title="probability", xaxis_range=[0, 1], height=120 + 40 * len(spread))
    return fig
