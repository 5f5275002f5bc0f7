"""Plotly figure builders for the ECG explorer (pure functions of arrays, dicts and data frames).

Every builder returns a :class:`plotly.graph_objects.Figure` and touches no files, except the ``*_png``
writers (matplotlib, written atomically through :mod:`ecgcore.fileio`). Nothing here imports Streamlit.

* :mod:`ecgcore.figures.ecg` — ECG paper, saliency overlays and bands, per-lead attribution shares;
* :mod:`ecgcore.figures.metrics` — ROC / PR (with operating points, two-run overlays), confusion
  matrices (screen and PNG drawn alike), fold comparison;
* :mod:`ecgcore.figures.records` — label distribution over folds, one record's probabilities;
* :mod:`ecgcore.figures.training` — loss / metric curves with the best epoch, overlays of runs.
"""

from __future__ import annotations

from ecgcore.figures._common import LEADS, display_lead_name
from ecgcore.figures.ecg import (
    HOW_TO_READ_SALIENCY,
    LAYOUT_3X4_COLUMNS,
    ecg_paper_figure,
    lead_importance_figure,
    lead_shares,
    paper_geometry,
    saliency_figure,
    saliency_png,
)
from ecgcore.figures.metrics import (
    confusion_figure,
    confusion_png,
    confusion_png_bytes,
    fold_comparison_figure,
    operating_point,
    pr_compare_figure,
    pr_figure,
    roc_compare_figure,
    roc_figure,
)
from ecgcore.figures.records import label_distribution_figure, probabilities_figure
from ecgcore.figures.training import best_epoch, loss_curves_figure, loss_curves_overlay_figure

__all__ = [
    "HOW_TO_READ_SALIENCY",
    "best_epoch",
    "operating_point",
    "LAYOUT_3X4_COLUMNS",
    "LEADS",
    "confusion_figure",
    "confusion_png",
    "confusion_png_bytes",
    "display_lead_name",
    "ecg_paper_figure",
    "fold_comparison_figure",
    "label_distribution_figure",
    "lead_importance_figure",
    "lead_shares",
    "loss_curves_figure",
    "loss_curves_overlay_figure",
    "paper_geometry",
    "pr_compare_figure",
    "pr_figure",
    "probabilities_figure",
    "roc_compare_figure",
    "roc_figure",
    "saliency_figure",
    "saliency_png",
]
