"""Plotly figure builders for the ECG explorer (pure functions of arrays, dicts and data frames).

Import a builder from its module (``from ecgcore.figures.ecg import ecg_paper_figure``). Every builder
returns a :class:`plotly.graph_objects.Figure` and touches no files, except the ``*_png`` writers
(matplotlib, written atomically through :mod:`ecgcore.fileio`). Nothing here imports Streamlit.

* :mod:`ecgcore.figures.ecg` — ECG paper, saliency overlays and bands, per-lead attribution shares;
* :mod:`ecgcore.figures.thumbnails` — small lead strips of similar cases;
* :mod:`ecgcore.figures.metrics` — ROC / PR (with operating points, two-run overlays), confusion
  matrices (screen and PNG drawn alike), fold comparison;
* :mod:`ecgcore.figures.records` — label distribution over folds, one record's probabilities;
* :mod:`ecgcore.figures.training` — loss / metric curves with the best epoch, overlays of runs;
* :mod:`ecgcore.figures.failures` — forest plots of subgroups, reliability diagrams, members' spread;
* :mod:`ecgcore.figures.summary` — a class summary's shares per lead and per beat window.
"""
