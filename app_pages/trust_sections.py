"""Sections the Saliency and Predict pages share (not a page): how good the run is, the fold members'
spread and calibration, true labels with their certainty, and similar cases on request. Layout only;
the words and checks are in :mod:`ecgcore.app.trust` and :mod:`ecgcore.app.labels_view`."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app_pages import cache, common
from ecgcore.app import labels_view, trust
from ecgcore.errors import ECGCoreError
from ecgcore.figures.failures import spread_figure
from ecgcore.figures.thumbnails import lead_strip_figure
from ecgcore.uncertainty import member_spread

PLOT_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines", "hoverClosestCartesian"],
}
THUMB_CONFIG = {"displayModeBar": False, "staticPlot": True}
ZOOM_NOTE = "Drag to zoom in, double-click to zoom out."
SIMILAR_K = 5


def quality(group: list, dataset_name: str, probs, thresholds, predicted: str, recipe) -> None:
    """The predicted set (qualified when the run is flagged), the run's quality sentence and its flags."""
    q = cache.group_quality(group, dataset_name)
    words = trust.quality_words(q, recipe)
    st.markdown(f"**{trust.predicted_words(predicted, q, probs, thresholds)}**")
    if words["flag"]:
        st.warning(words["flag"], icon=":material/report:")
    st.caption(words["sentence"])


def spread(metas: list[dict], member_probs: np.ndarray, names: list[str], key: str) -> None:
    """The fold members' spread per class (only for an ensemble) and whether the probabilities are calibrated."""
    calibration = trust.calibration_words(metas)
    if len(metas) > 1:
        table = member_spread(member_probs, trust.member_thresholds_matrix(metas), names)
        said = trust.spread_words(table)
        (st.warning if said["disagree"] else st.info)(said["text"], icon=":material/call_split:")
        with st.expander(f"The {len(metas)} members' probabilities per class", icon=":material/stacked_bar_chart:"):
            thresholds = np.mean(trust.member_thresholds_matrix(metas), axis=0).tolist()
            st.plotly_chart(spread_figure(table, thresholds), key=f"{key}_spread", config=PLOT_CONFIG)
            st.dataframe(table[["class", "statement"]], hide_index=True, key=f"{key}_spread_table")
            st.caption(
                "Range: the lowest to the highest member; dot: their mean (red where they disagree); tick: the "
                "mean threshold. The members trained on overlapping data, so this spread is a sign of "
                "uncertainty, not a calibrated one."
            )
    st.caption(calibration["text"])


def true_labels(ds, row: int, with_codes: bool) -> None:
    """True labels with the statements and likelihoods behind them; with the SCP codes and report on request."""
    statements = cache.statements(str(ds.root), cache.ds_key(ds))
    labels = labels_view.labels_with_certainty(ds, row, statements)
    st.markdown("**True labels** (cardiologist's statements, likelihood)  \n" + labels_view.certainty_markdown(labels))
    if any(lab["uncertain"] for lab in labels):
        st.caption("Orange: the statements behind this label give it a likelihood under 50 %.")
    if with_codes:
        with st.expander("Report and SCP codes", icon=":material/description:"):
            st.markdown(f"**Report:** {labels_view.report_of(ds, row)}")
            st.dataframe(labels_view.code_table(ds, row, statements), hide_index=True, key="sal_codes")
            st.caption("Likelihood 0 = not given (the statement holds). Meanings from scp_statements.csv.")


def similar_cases(ds, run, ecg_id: int | None, signal, signal_key: str, key: str) -> None:
    """The nearest training records of ``run``'s fold, computed when asked (a toggle), cached."""
    st.subheader("Similar cases", divider="gray")
    if not st.toggle(f"Find the {SIMILAR_K} most similar training records", key=f"{key}_similar"):
        st.caption("Off until asked: the first search of a fold builds its index of the training part.")
        return
    try:
        with st.spinner("Finding similar records…"):
            table = cache.similar(ds, run.path, ecg_id, signal, signal_key, SIMILAR_K)
    except ECGCoreError as e:
        common.show_error(e)
        return
    rows = trust.neighbour_rows(ds, table, cache.statements(str(ds.root), cache.ds_key(ds)))
    patient = None
    if ecg_id is not None:
        p = ds.records["patient_id"][ds.records["ecg_id"] == ecg_id]
        patient = str(int(p.iloc[0])) if len(p) and p.notna().iloc[0] else None
    st.caption(trust.similar_note(ecg_id, patient, run.fold))
    for r in rows:
        left, right = st.columns([3, 2], vertical_alignment="center")
        left.plotly_chart(
            lead_strip_figure(ds.signals[r["row"]], ds.sampling_rate, "II", f"#{r['rank']} · ecg_id {r['ecg_id']}"),
            key=f"{key}_similar_{r['rank']}",
            config=THUMB_CONFIG,
        )
        right.markdown(
            f"**ecg_id {r['ecg_id']}** · patient {r['patient']} · strat fold {r['strat_fold']} · "
            f"distance {r['distance']:.3f}  \n" + labels_view.certainty_markdown(r["labels"])
        )
        right.caption(f"Report: {r['report']}")
