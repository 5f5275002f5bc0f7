"""The figure builders of "where the model fails, how sure it is": forest plot, reliability diagram,
members' spread (plotly figures from the library's tables)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecgcore.calibration import calibration_report
from ecgcore.figures.failures import forest_figure, reliability_figure, spread_figure
from ecgcore.subgroups import subgroup_frame, subgroup_rows
from ecgcore.uncertainty import member_spread


def test_forest_plot_greys_small_groups_and_draws_the_reference():
    rng = np.random.default_rng(0)
    y = (rng.random((400, 2)) < 0.3).astype(int)
    p = np.clip(0.4 * y + 0.6 * rng.random(y.shape), 0, 1)
    table = pd.DataFrame({"age": np.where(np.arange(400) < 20, 30, 70)})  # <40: 20 records, too small
    frame = subgroup_frame(subgroup_rows("age", table, y, p, ("A", "B"), n_bootstrap=30))
    fig = forest_figure(frame, "pr_auc")
    names = {t.name for t in fig.data}
    assert names == {"95 % interval", "too small for an interval"}
    grey = next(t for t in fig.data if t.name == "too small for an interval")
    assert list(grey.y) == ["<40"] and grey.error_x.array is None
    assert fig.layout.shapes and "whole test part" in fig.layout.annotations[0].text


def test_reliability_diagram_has_the_diagonal_and_both_reports():
    rng = np.random.default_rng(1)
    p = rng.random((300, 2))
    y = (rng.random(p.shape) < p).astype(int)
    report = calibration_report(y, p, ("A", "B"))
    fig = reliability_figure(report, report)
    assert fig.data[0].name == "perfectly calibrated" and len(fig.data) == 5
    assert "ECE" in fig.data[1].name


def test_spread_figure_marks_disagreement():
    spread = member_spread(np.array([[0.9, 0.6], [0.8, 0.4]]), [0.5, 0.5], ["A", "B"])
    fig = spread_figure(spread, [0.5, 0.5])
    assert list(fig.data[0].marker.color)[1] == "#d62728"
