"""Evaluation figures: ROC / PR curves, confusion matrices, fold comparison, label distribution, per-record
probabilities."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ecgcore.figures._common import TEMPLATE, _color, _empty_note
from ecgcore.fileio import write_bytes_atomic

# --- 3. ROC / PR -----------------------------------------------------------------------------------------
Scores = tuple[np.ndarray, np.ndarray]  # (y_true (N, C) in {0, 1}, y_score (N, C) probabilities)
Thresholds = Mapping[str, float] | Sequence[float] | np.ndarray | None
RUN_DASHES = ("solid", "dash", "dot", "dashdot")


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


def _threshold_of(thresholds: Thresholds, c: int, name: str) -> float | None:
    """Class c's threshold from a {name: thr} mapping or a (C,) sequence; None when not given."""
    if thresholds is None:
        return None
    if isinstance(thresholds, Mapping):
        v = thresholds.get(name)
    else:
        arr = np.asarray(thresholds, dtype=float).reshape(-1)
        v = arr[c] if c < len(arr) else None
    return None if v is None or not math.isfinite(float(v)) else float(v)


def operating_point(y_true: np.ndarray, y_score: np.ndarray, threshold: float) -> dict[str, float]:
    """One class's operating point at ``threshold`` (predicted positive: score >= threshold, as
    :func:`ecgcore.metrics.confusion_matrices`).

    Args:
        y_true: (N,) in {0, 1}. y_score: (N,) probabilities.

    Returns:
        {"fpr", "tpr" (= recall), "precision" (NaN when nothing is predicted positive)}.
    """
    yt = np.asarray(y_true) > 0.5
    pred = np.asarray(y_score, dtype=float) >= threshold
    tp, fp = int((pred & yt).sum()), int((pred & ~yt).sum())
    pos, neg = int(yt.sum()), int((~yt).sum())
    return {
        "fpr": fp / neg if neg else float("nan"),
        "tpr": tp / pos if pos else float("nan"),
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
    }


def _op_marker(x: float, y: float, name: str, thr: float, color: str, run: str, xy: tuple[str, str]) -> go.Scatter:
    return go.Scatter(
        x=[x],
        y=[y],
        mode="markers",
        name=f"{name} operating point",
        legendgroup=f"{run}{name}",
        showlegend=False,
        marker={"symbol": "x-thin", "size": 14, "line": {"width": 3, "color": color}, "color": color},
        meta={"class": str(name), "role": "operating point", "threshold": thr, "run": run},
        hovertemplate=f"{run}{name} at the validation threshold {thr:.2f}<br>{xy[0]} {x:.3f}<br>{xy[1]} {y:.3f}"
        "<extra></extra>",
    )


def _roc_traces(
    yt: np.ndarray,
    ys: np.ndarray,
    class_names: Sequence[str],
    thresholds: Thresholds,
    run: str = "",
    dash: str = "solid",
) -> tuple[list[go.Scatter], list[str]]:
    from sklearn.metrics import roc_auc_score, roc_curve

    traces, skipped = [], []
    prefix = f"{run} · " if run else ""
    for c, name in enumerate(class_names):
        pos = int(yt[:, c].sum())
        if pos == 0 or pos == len(yt):
            skipped.append(f"{prefix}{name}")
            continue
        fpr, tpr, thr = roc_curve(yt[:, c], ys[:, c])
        auc = roc_auc_score(yt[:, c], ys[:, c])
        traces.append(
            go.Scatter(
                x=fpr,
                y=tpr,
                customdata=thr,
                mode="lines",
                name=f"{prefix}{name} (AUC={auc:.3f})",
                legendgroup=f"{prefix}{name}",
                line={"color": _color(c), "width": 2, "dash": dash},
                meta={"class": str(name), "auc": float(auc), "role": "curve", "run": run},
                hovertemplate=f"{prefix}{name}<br>FPR %{{x:.3f}}<br>TPR %{{y:.3f}}<br>threshold %{{customdata:.3f}}"
                "<extra></extra>",
            )
        )
        t = _threshold_of(thresholds, c, str(name))
        if t is not None:
            op = operating_point(yt[:, c], ys[:, c], t)
            traces.append(_op_marker(op["fpr"], op["tpr"], str(name), t, _color(c), prefix, ("FPR", "TPR")))
    return traces, skipped


def _roc_layout(fig: go.Figure, title: str) -> go.Figure:
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"color": "grey", "dash": "dash"}, hoverinfo="skip"
        )
    )
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=520, legend={"title": {"text": "class"}})
    fig.update_xaxes(title={"text": "false positive rate (1 − specificity)"}, range=[0, 1], constrain="domain")
    fig.update_yaxes(
        title={"text": "true positive rate (sensitivity)"}, range=[0, 1.02], scaleanchor="x", constrain="domain"
    )
    return fig


OP_NOTE = "×: operating point at the validation-chosen threshold"


def roc_figure(
    y_true: np.ndarray, y_score: np.ndarray, class_names: Sequence[str], thresholds: Thresholds = None
) -> go.Figure:
    """One ROC curve per class with its AUC in the legend, plus the dashed chance diagonal.

    Args:
        y_true: (N, C) in {0, 1}.
        y_score: (N, C) predicted probabilities.
        class_names: C names.
        thresholds: optional per-class thresholds chosen on validation ({name: thr} or (C,)); each class's
            operating point (FPR, TPR) on these data is marked with an × (meta role "operating point").

    Classes without positives (or without negatives, where ROC is undefined) are skipped and named in
    the title.
    """
    yt, ys = _check_scores(y_true, y_score, class_names)
    traces, skipped = _roc_traces(yt, ys, class_names, thresholds)
    title = _skipped_note("ROC curves", skipped, "no positives or no negatives")
    if thresholds is not None:
        title += f"<br><sup>{OP_NOTE}</sup>" if "<sup>" not in title else ""
    return _roc_layout(go.Figure(traces), title)


def _check_runs(runs: Mapping[str, Scores], class_names: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if not 1 <= len(runs) <= len(RUN_DASHES):
        raise ValueError(f"compare 1 to {len(RUN_DASHES)} runs, got {len(runs)}")
    return {str(k): _check_scores(v[0], v[1], class_names) for k, v in runs.items()}


def roc_compare_figure(
    runs: Mapping[str, Scores], class_names: Sequence[str], thresholds: Mapping[str, Thresholds] | None = None
) -> go.Figure:
    """ROC curves of several runs (e.g. cnn1d and cnn2d on the same test fold) overlaid: one colour per
    class, one line style per run (solid, dashed, ...).

    Args:
        runs: run label → (y_true (N, C), y_score (N, C)); N may differ between runs.
        thresholds: optional run label → that run's per-class thresholds (operating points marked).
    """
    checked = _check_runs(runs, class_names)
    traces, skipped = [], []
    for k, (label, (yt, ys)) in enumerate(checked.items()):
        tr, sk = _roc_traces(yt, ys, class_names, (thresholds or {}).get(label), label, RUN_DASHES[k])
        traces += tr
        skipped += sk
    styles = " · ".join(f"{label}: {RUN_DASHES[k]}" for k, label in enumerate(checked))
    title = _skipped_note(f"ROC curves — {' vs '.join(checked)}<br><sup>{styles}</sup>", skipped, "undefined")
    return _roc_layout(go.Figure(traces), title)


def _pr_traces(
    yt: np.ndarray,
    ys: np.ndarray,
    class_names: Sequence[str],
    thresholds: Thresholds,
    run: str = "",
    dash: str = "solid",
) -> tuple[list[go.Scatter], list[str]]:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    traces, skipped = [], []
    prefix = f"{run} · " if run else ""
    for c, name in enumerate(class_names):
        if yt[:, c].sum() == 0:
            skipped.append(f"{prefix}{name}")
            continue
        precision, recall, _ = precision_recall_curve(yt[:, c], ys[:, c])
        ap = average_precision_score(yt[:, c], ys[:, c])
        prevalence = float(yt[:, c].mean())
        group = f"{prefix}{name}"
        traces.append(
            go.Scatter(
                x=recall,
                y=precision,
                mode="lines",
                name=f"{prefix}{name} (AP={ap:.3f})",
                legendgroup=group,
                line={"color": _color(c), "width": 2, "shape": "hv", "dash": dash},
                meta={"class": str(name), "role": "curve", "ap": float(ap), "run": run},
                hovertemplate=f"{prefix}{name}<br>recall %{{x:.3f}}<br>precision %{{y:.3f}}<extra></extra>",
            )
        )
        if not run or dash == RUN_DASHES[0]:  # the prevalence line once per class
            traces.append(
                go.Scatter(
                    x=[0, 1],
                    y=[prevalence, prevalence],
                    mode="lines",
                    name=f"{name} prevalence {prevalence:.3f}",
                    legendgroup=group,
                    showlegend=False,
                    line={"color": _color(c), "width": 1, "dash": "longdash" if run else "dash"},
                    meta={"class": str(name), "role": "prevalence", "prevalence": prevalence},
                    hovertemplate=f"{name} prevalence {prevalence:.3f}<extra></extra>",
                )
            )
        t = _threshold_of(thresholds, c, str(name))
        if t is not None:
            op = operating_point(yt[:, c], ys[:, c], t)
            if math.isfinite(op["precision"]):
                traces.append(
                    _op_marker(op["tpr"], op["precision"], str(name), t, _color(c), prefix, ("recall", "precision"))
                )
    return traces, skipped


def _pr_layout(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=520, legend={"title": {"text": "class"}})
    fig.update_xaxes(title={"text": "recall (sensitivity)"}, range=[0, 1])
    fig.update_yaxes(title={"text": "precision (PPV)"}, range=[0, 1.02])
    return fig


def pr_figure(
    y_true: np.ndarray, y_score: np.ndarray, class_names: Sequence[str], thresholds: Thresholds = None
) -> go.Figure:
    """One precision–recall curve per class with its average precision (AP) in the legend.

    Args:
        y_true: (N, C) in {0, 1}.
        y_score: (N, C) predicted probabilities.
        class_names: C names.
        thresholds: optional per-class validation thresholds ({name: thr} or (C,)): each class's operating
            point (recall, precision) is marked with an × (none where nothing is predicted positive).

    A dashed horizontal line in the class colour marks the class prevalence (the precision of a
    no-skill classifier). Classes without positives are skipped and named in the title.
    """
    yt, ys = _check_scores(y_true, y_score, class_names)
    traces, skipped = _pr_traces(yt, ys, class_names, thresholds)
    note = "dashed: class prevalence (no-skill precision)" + (f" · {OP_NOTE}" if thresholds is not None else "")
    if skipped:
        note += f" · skipped (no positives): {', '.join(skipped)}"
    return _pr_layout(go.Figure(traces), f"Precision–recall curves<br><sup>{note}</sup>")


def pr_compare_figure(
    runs: Mapping[str, Scores], class_names: Sequence[str], thresholds: Mapping[str, Thresholds] | None = None
) -> go.Figure:
    """Precision–recall curves of several runs overlaid (one colour per class, one line style per run);
    arguments as :func:`roc_compare_figure`. The prevalence lines come from the first run."""
    checked = _check_runs(runs, class_names)
    traces, skipped = [], []
    for k, (label, (yt, ys)) in enumerate(checked.items()):
        tr, sk = _pr_traces(yt, ys, class_names, (thresholds or {}).get(label), label, RUN_DASHES[k])
        traces += tr
        skipped += sk
    styles = " · ".join(f"{label}: {RUN_DASHES[k]}" for k, label in enumerate(checked))
    note = styles + (f" · skipped (no positives): {', '.join(skipped)}" if skipped else "")
    return _pr_layout(go.Figure(traces), f"Precision–recall curves — {' vs '.join(checked)}<br><sup>{note}</sup>")


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


def confusion_png_bytes(matrices: Mapping[str, Any], thresholds: Mapping[str, float] | None = None) -> bytes:
    """The confusion matrices as PNG bytes, drawn like :func:`confusion_figure` (same panels, order, title,
    "Blues" scale from 0 to the panel's largest count, cell counts, threshold in each panel title).

    Args:
        matrices: class name → [[tn, fp], [fn, tp]] (counts) — pass exactly what the page shows.
        thresholds: optional class name → threshold, shown in the panel titles.
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

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def confusion_png(
    matrices: Mapping[str, Any],
    thresholds: Mapping[str, float] | None,
    path: str | os.PathLike[str],
) -> None:
    """Write :func:`confusion_png_bytes` to ``path`` atomically (:func:`ecgcore.fileio.write_bytes_atomic`;
    the folder is created if missing)."""
    write_bytes_atomic(path, confusion_png_bytes(matrices, thresholds))


# --- 8. fold comparison -------------------------------------------------------------------------------------
def metric_range(values, min_width: float = 0.1, bounds: tuple[float, float] = (0.0, 1.0)) -> list[float] | None:
    """A y-range for metric values in [0, 1] that never zooms a small difference into a cliff: at least
    ``min_width`` wide around the values (and their 5 % margins), kept inside ``bounds``; None (plotly's
    own range) when there is no finite value."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return None
    lo, hi = float(v.min()), float(v.max())
    if lo < bounds[0] or hi > bounds[1]:  # not a [0, 1] metric: no bounds
        bounds = (-np.inf, np.inf)
    pad = max((hi - lo) * 0.05, (min_width - (hi - lo)) / 2, 0.0)
    lo, hi = lo - pad, hi + pad
    if lo < bounds[0]:
        lo, hi = bounds[0], min(bounds[1], hi + bounds[0] - lo)
    if hi > bounds[1]:
        lo, hi = max(bounds[0], lo - (hi - bounds[1])), bounds[1]
    return [lo, hi]


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
            name="mean ± SD over folds" if len(wide) > 1 else "mean (one fold: no SD)",
            line={"color": _color(1), "width": 4},
            marker={"size": 13, "symbol": "diamond"},
            meta={"role": "mean"},
            hovertemplate="%{x}<br>mean %{y:.4f}<extra></extra>",
        )
    )
    title = f"{metric} per fold"
    if len(models) == 2:
        a, b = models
        diff = (wide[a] - wide[b]).dropna()  # one sign convention with the tables: A − B
        if len(diff):
            title += (
                f"<br><sup>{a} − {b}: mean {diff.mean():+.4f}; {b} better in {(diff < 0).sum()} of {len(diff)} "
                f"folds, {a} in {(diff > 0).sum()}</sup>"
            )
    fig.update_layout(template=TEMPLATE, title={"text": title}, height=450, legend={"orientation": "h", "y": -0.15})
    fig.update_xaxes(title={"text": "model"}, type="category", categoryorder="array", categoryarray=models)
    fig.update_yaxes(title={"text": metric}, range=metric_range(wide.to_numpy(dtype=float).ravel()))
    if table.empty:
        _empty_note(fig, "no results")
    return fig
