"""The Saliency page (AppTest): a deep link selects record, run, fold and class; the record picker
filters by label, part and misclassified; the per-record view states the predicted set and draws
per-lead shares and signed maps; the fold ensemble; the class summary of the whole test part."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.app.explain import misclassified_ids
from ecgcore.app.records import record_parts
from ecgcore.outcomes import read_records_csv
from tests.app.helpers import charts, texts


def page(at: AppTest) -> AppTest:
    at.switch_page("app_pages/saliency.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def titles(at: AppTest) -> list[str]:
    return [re.sub(r"<[^>]+>", " ", c["layout"].get("title", {}).get("text", "")) for c in charts(at)]


def offered(at: AppTest) -> list[int]:
    return [int(re.match(r"ecg_id (\d+)", o).group(1)) for o in at.selectbox(key="sal_ecg_id").options]


def test_deep_link_selects_record_run_fold_and_class(app, demo_ds):
    parts = record_parts(demo_ds, "cv5", 0)
    mi = list(demo_ds.label_names).index("MI")
    i = int(np.flatnonzero((parts == "val") & ~demo_ds.labels[:, mi].astype(bool))[0])
    ecg_id = int(demo_ds.records["ecg_id"].iloc[i])
    app.query_params.update(ecg_id=str(ecg_id), model="cnn2d", fold="0", cls="MI", method="gradient")
    at = page(app)
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="sal_ecg_id").value == ecg_id
    assert at.selectbox(key="sal_model").value == "cnn2d"
    assert at.selectbox(key="sal_fold").value == ("cv5", 0)
    assert at.selectbox(key="sal_target").value == "MI"
    assert at.selectbox(key="sal_part").value == "val"  # the filters open to include the linked record
    main = titles(at)[0]
    assert f"ecg_id {ecg_id} " in main and "cnn2d fold 0" in main and "Gradient (saliency) for MI" in main
    # another choice is kept (the link is applied once) and written back to the URL
    at.selectbox(key="sal_target").set_value("NORM").run()
    assert "for NORM" in titles(at)[0] and at.query_params["cls"] in ("NORM", ["NORM"])


def test_bad_link_says_what_is_wrong(app):
    app.query_params.update(ecg_id="999999", model="nope", cls="XYZ")
    at = page(app)
    warnings = " ".join(w.value for w in at.warning)
    assert "999999 is not in this dataset" in warnings and "nope" in warnings and "XYZ" in warnings


def test_picker_filters_by_part_label_and_misclassified(app, demo_ds, trained_runs):
    at = page(app)
    parts = record_parts(demo_ds, "cv5", 0)
    part_of = dict(zip(demo_ds.records["ecg_id"].astype(int), parts))
    assert {part_of[e] for e in offered(at)} == {"test"}  # the default: records the model never saw
    at.selectbox(key="sal_part").set_value("val").run()
    assert {part_of[e] for e in offered(at)} == {"val"}
    at.selectbox(key="sal_part").set_value("test").run()
    at.selectbox(key="sal_label").set_value("NORM").run()
    norm = list(demo_ds.label_names).index("NORM")
    has_norm = dict(zip(demo_ds.records["ecg_id"].astype(int), demo_ds.labels[:, norm]))
    assert all(has_norm[e] for e in offered(at))
    at.toggle(key="sal_wrong").set_value(True).run()
    wrong = misclassified_ids(read_records_csv(trained_runs[at.selectbox(key="sal_model").value]), "NORM")
    assert set(offered(at)) <= wrong and offered(at)


def test_record_view_predicted_set_lead_bars_and_signed_map(app):
    at = page(app)
    assert re.search(r"predicted: .* at the validation thresholds", texts(at))
    assert any(t.strip().startswith("Leads ·") for t in titles(at))
    assert "How to read" in " ".join(e.label for e in at.expander)
    target = re.search(r"for (\w+) \(p", titles(at)[0]).group(1)
    assert any(t.strip().startswith(f"Leads · {target}") for t in titles(at))  # the bars explain the same class
    at.toggle(key="sal_signed").set_value(True).run()
    from tests.app.test_app_pages import array

    z = np.concatenate([array(t["z"]).ravel() for t in charts(at)[0]["data"] if t.get("type") == "heatmap"])
    assert np.nanmin(z) < 0 < np.nanmax(z)
    at.radio(key="sal_view").set_value("bands").run()
    assert not at.exception and any(t.strip().startswith("Leads ·") for t in titles(at))


def test_fold_ensemble_is_the_mean_of_the_folds(app, two_fold_root):
    at = page(app)
    at.selectbox(key="sal_model").set_value("cnn1d").run()
    at.radio(key="sal_members").set_value("all").run()
    assert not at.error, [e.value for e in at.error]
    assert "(2 voted)" in texts(at) and "no cross-validated score" in texts(at)
    assert "ensemble of 2 folds" in titles(at)[0]


def test_class_summary_renders(app, demo_ds, two_fold_root):
    from ecgcore.class_summary import write_class_summary

    run = next(two_fold_root.glob("*/*/cnn1d/fold0"))
    write_class_summary(demo_ds, run, "integrated_gradients", ["NORM"], max_records=8)
    at = page(app)
    assert "sal_sum_n" not in [w.key for w in at.number_input]  # lazy tabs: the summary runs only when open
    at.session_state["sal_tab"] = "Whole test part"
    at.selectbox(key="sal_model").set_value("cnn1d").run()
    at.selectbox(key="sal_target").set_value("NORM").run()
    assert not any("Integrated gradients for NORM" in t for t in titles(at))  # nor the record's map
    assert any("NORM: beat-aligned profile" in t for t in titles(at)), titles(at)
    assert any("NORM: share per lead" in t for t in titles(at)) and any(
        "share per beat window" in t for t in titles(at)
    )
    windows = next(c for c in charts(at) if "share per beat window" in c["layout"]["title"]["text"])
    bars, marks = windows["data"]
    assert bars["x"] == ["P", "QRS", "ST-T"] and "array" in bars["error_y"]  # the spread across records
    assert marks["name"] == "no preference" and sum(marks["y"]) == pytest.approx(1.0)
    assert "attribution per moment" in next(c for c in charts(at) if "beat-aligned" in c["layout"]["title"]["text"])[
        "layout"]["yaxis"]["title"]["text"]  # units in words  # fmt: skip
    assert at.number_input(key="sal_sum_n").value == 0  # the whole test part by default
    profile = next(c for c in charts(at) if "beat-aligned" in c["layout"]["title"]["text"])
    assert len(profile["layout"]["shapes"]) == 3  # P, QRS and ST-T shaded
    assert "the first 8 test records" in texts(at)
    at.selectbox(key="sal_target").set_value("MI").run()
    assert "No summary of MI" in texts(at)


def test_summary_settings_survive_a_visit_to_the_record_and_a_link_opens_the_record(app, demo_ds, two_fold_root):
    at = page(app)
    at.session_state["sal_tab"] = "Whole test part"
    at.run()
    at.number_input(key="sal_sum_n").set_value(40).run()
    at.session_state["sal_tab"] = "This record"
    at.run()
    assert "sal_sum_n" not in [w.key for w in at.number_input]
    at.session_state["sal_tab"] = "Whole test part"
    at.run()
    assert at.number_input(key="sal_sum_n").value == 40  # kept while the tab was closed
    ecg_id = int(demo_ds.records["ecg_id"].iloc[3])
    at.query_params["ecg_id"] = str(ecg_id)
    at.run()
    assert at.session_state["sal_tab"] == "This record"
    assert any(t.strip().startswith(f"ecg_id {ecg_id} ") for t in titles(at)), titles(at)


@pytest.mark.slow
def test_class_summary_computes_in_the_background_from_the_page(app, two_fold_root):
    import time

    from ecgcore.class_summary import summary_status

    at = page(app)
    at.session_state["sal_tab"] = "Whole test part"
    at.selectbox(key="sal_model").set_value("cnn1d").run()
    at.selectbox(key="sal_target").set_value("NORM").run()
    at.number_input(key="sal_sum_n").set_value(6).run()
    at.button(key="sal_sum_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run = next(two_fold_root.glob("*/*/cnn1d/fold0"))
    deadline = time.time() + 240
    while summary_status(run, "integrated_gradients")["state"] in ("starting", "running") and time.time() < deadline:
        time.sleep(1)
    assert summary_status(run, "integrated_gradients")["state"] == "done", summary_status(run)
    at.run()
    assert any("NORM: beat-aligned profile" in t for t in titles(at)), texts(at)
    assert "the first 6 test records" in texts(at)
