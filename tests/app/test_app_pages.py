"""The Streamlit app, page by page, through streamlit.testing.v1.AppTest on the 300-record demo dataset.

AppTest does not fire ``run_every`` timers: the Train test starts a real 1-epoch background training
from the page, waits on the run's files, and reruns the app by hand."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.app.progress import log_tail
from ecgcore.app.words import state_words
from ecgcore.fileio import write_json
from ecgcore.run_paths import RunPaths
from ecgcore.runs import read_events, read_status
from ecgcore.uploads import signal_csv
from tests.app.helpers import charts, page, table, texts

PAGES = ("home", "dataset", "train", "evaluate", "sweeps", "saliency", "predict")
NOTICE = "not for diagnosis"


def array(value) -> np.ndarray:
    """A plotly JSON array: a list, or plotly's typed form {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return out.reshape([int(n) for n in str(value.get("shape", len(out))).split(",")])
    return np.asarray(value, dtype=float)


def lead_traces(fig: dict) -> int:
    return sum(1 for t in fig["data"] if (t.get("meta") or {}).get("role") == "lead")


# ----------------------------------------------------------------------------- every page


@pytest.mark.parametrize("name", PAGES)
def test_every_page_renders_and_names_its_dataset(app, demo_ds, name):
    at = page(app, name)
    shown = texts(at)
    assert demo_ds.description in shown  # which dataset every number comes from
    assert ":orange-badge[:material/science: DEMO DATA]" in shown  # the DEMO badge
    assert NOTICE in shown  # research and education only
    assert not at.error, [e.value for e in at.error]


# ----------------------------------------------------------------------------- Home


def test_home_summarises_dataset_and_runs(app, demo_ds):
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Records"] == f"{len(demo_ds.records):,}"
    assert metrics["Patients"] == f"{demo_ds.records['patient_id'].nunique():,}"
    overview = table(app, "folds evaluated")
    assert set(overview["model"]) == {"cnn1d", "cnn2d"}
    assert set(table(app, "part", "patients")["fold"]) == {0, 1, 2, 3, 4}


def test_home_data_folder_setting_is_checked_and_remembered(app, demo_root, tmp_path, no_settings):
    app.text_input(key="home_folder").set_value(str(tmp_path / "nowhere"))
    app.button[0].click().run()  # "Use this folder"
    assert any("is not a folder" in e.value for e in app.error)
    assert not no_settings.exists()

    app.text_input(key="home_folder").set_value(str(demo_root))
    app.button[0].click().run()
    assert not app.exception
    assert json.loads(no_settings.read_text()) == {"data_root": str(demo_root.resolve()), "source": "saved"}
    assert app.session_state["sb_source"] == "saved"
    assert "remembered" in texts(app)

    fresh = AppTest.from_file(app._script_path, default_timeout=60).run()  # a restart reads the setting
    assert fresh.session_state["sb_source"] == "saved"
    assert f"at {demo_root.resolve()}" in texts(fresh)


def test_home_clear_cache_rebuilds_it(app, monkeypatch, tmp_path, demo_ds):
    cache = tmp_path / "cache"
    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(cache))  # leave the session's cache alone
    clear = next(b for b in app.button if b.label == "Clear data cache")
    clear.click().run()  # drops the loaded dataset: it is read again, into the new cache folder
    assert not app.exception
    built = sorted(p.name for p in (cache / "signals").iterdir())
    assert any(name.endswith(".npy") for name in built)
    next(b for b in app.button if b.label == "Clear data cache").click().run()
    assert f"Data cache cleared ({len(built)} file(s))" in texts(app)
    assert demo_ds.description in texts(app)  # read again at once
    assert list((cache / "signals").glob("*.npy"))


def test_sidebar_label_set_changes_the_dataset(app):
    app.sidebar.selectbox(key="sb_label_set").set_value("subclass").run()
    assert "label set subclass" in texts(app)
    page(app, "dataset")  # the choice holds on another page
    assert app.session_state["sb_label_set"] == "subclass"
    assert "label set subclass" in texts(app)


def test_unloadable_dataset_shows_an_error_not_a_traceback(app):
    app.sidebar.selectbox(key="sb_fs").set_value(500).run()  # the demo set has no 500 Hz records
    assert not app.exception
    assert any("500 Hz" in e.value for e in app.error)
    page(app, "evaluate")
    assert any("500 Hz" in e.value for e in app.error)


# ----------------------------------------------------------------------------- Dataset


def test_dataset_filters_reduce_the_table(app, demo_ds):
    at = page(app, "dataset")
    assert len(table(at, "ecg_id", "report")) == len(demo_ds.records)
    at.multiselect(key="ds_labels").set_value(["HYP"]).run()
    hyp = int(demo_ds.labels[:, demo_ds.label_names.index("HYP")].sum())
    rows = table(at, "ecg_id", "report")
    assert len(rows) == hyp < len(demo_ds.records)
    assert rows["labels"].str.contains("HYP").all()
    at.multiselect(key="ds_sex").set_value(["female"]).run()
    assert set(table(at, "ecg_id", "report")["sex"]) == {"female"}
    patient = int(demo_ds.records["patient_id"].iloc[0])
    at.multiselect(key="ds_labels").set_value([]).run()
    at.multiselect(key="ds_sex").set_value([]).run()
    at.text_input(key="ds_ids").set_value(str(patient)).run()
    assert set(table(at, "ecg_id", "report")["patient_id"]) == {patient}


def test_dataset_record_on_ecg_paper_and_layout_toggle(app, demo_ds):
    at = page(app, "dataset")
    ecg_id = int(demo_ds.records["ecg_id"].iloc[3])
    at.number_input(key="ds_ecg_id").set_value(ecg_id).run()
    paper = charts(at)[0]
    assert lead_traces(paper) == 13  # 3×4 + the lead-II rhythm strip
    assert f"ecg_id {ecg_id}" in paper["layout"]["title"]["text"]
    at.toggle(key="ds_stacked").set_value(True).run()
    assert lead_traces(charts(at)[0]) == 12
    shown = texts(at)
    from ecgcore.app.records import repair_report

    assert repair_report(demo_ds.records["report"].iloc[3])[0] in shown  # damaged umlauts repaired, with a note
    assert f"Patient {int(demo_ds.records['patient_id'].iloc[3])}" in [s.value.split(":")[0] for s in at.subheader]


def test_dataset_folds_are_balanced_and_patient_disjoint(app):
    at = page(app, "dataset")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Patients shared between train/val/test"] == "0"
    assert metrics["Patients in more than one strat fold"] == "0"
    dist = [c for c in charts(at) if "Label distribution" in c["layout"]["title"]["text"]][0]
    assert len(dist["data"]) == 10  # one bar group per strat fold
    at.radio(key="ds_dist_view").set_value("parts").run()
    dist = [c for c in charts(at) if "Label distribution" in c["layout"]["title"]["text"]][0]
    assert [t["name"] for t in dist["data"]] == ["train", "val", "test"]


def test_explain_this_record_opens_it_on_saliency(app, demo_ds):
    at = page(app, "dataset")
    ecg_id = int(demo_ds.records["ecg_id"].iloc[7])
    at.number_input(key="ds_ecg_id").set_value(ecg_id).run()
    next(b for b in at.button if b.label == "Explain this record").click().run()
    assert not at.exception
    assert at.selectbox(key="sal_ecg_id").value == ecg_id
    assert at.query_params["ecg_id"] == [str(ecg_id)] or at.query_params["ecg_id"] == str(ecg_id)
    assert any(f"ecg_id {ecg_id}" in c["layout"]["title"]["text"] for c in charts(at))


# ----------------------------------------------------------------------------- Evaluate


# The Evaluate tests are in test_page_evaluate.py.


# ----------------------------------------------------------------------------- Saliency


def test_saliency_overlay_controls_and_model_pair(app):
    at = page(app, "saliency")
    assert not at.error
    main = charts(at)[0]
    heat = [t for t in main["data"] if t.get("type") == "heatmap"]
    assert len(heat) == 13 and lead_traces(main) == 13  # heat bands behind the 3×4 + rhythm strip
    assert any("Predicted probabilities" in c["layout"]["title"]["text"] for c in charts(at))
    at.toggle(key="sal_pair").set_value(True).run()  # the 1D-vs-2D pair is computed only when asked for
    assert sum("Integrated gradients" in c["layout"]["title"]["text"] for c in charts(at)) == 3  # main + pair

    at.radio(key="sal_norm").set_value("lead").run()
    by_lead = [t for t in charts(at)[0]["data"] if t.get("type") == "heatmap"]
    peaks = [float(np.nanmax(array(t["z"]))) for t in by_lead]
    assert max(peaks) == pytest.approx(1.0, abs=1e-3)
    assert sum(p > 0.99 for p in peaks) > sum(float(np.nanmax(array(t["z"]))) > 0.99 for t in heat)

    at.selectbox(key="sal_method").set_value("grad_cam").run()
    at.selectbox(key="sal_model").set_value("cnn1d").run()
    assert "time-only" in texts(at)
    at.radio(key="sal_view").set_value("bands").run()
    assert lead_traces(charts(at)[0]) == 12


# ----------------------------------------------------------------------------- Predict


def test_predict_junk_upload_shows_the_upload_error(app):
    at = page(app, "predict")
    at.file_uploader(key="pr_files").set_value(("junk.csv", b"a,b\n1,2\n", "text/csv")).run()
    assert not at.exception
    assert any("one per lead" in e.value for e in at.error)
    at.file_uploader(key="pr_files").set_value([("x.hea", b"not a header", "text/plain")]).run()
    assert any(".dat" in e.value for e in at.error)


def test_predict_csv_upload_gives_predictions_ecg_and_saliency(app, demo_ds):
    at = page(app, "predict")
    csv = signal_csv(demo_ds.signals[4])
    at.file_uploader(key="pr_files").set_value(("rec4.csv", csv, "text/csv")).run()
    assert not at.error, [e.value for e in at.error]
    predictions = table(at, "class", "probability", "predicted")
    assert list(predictions["class"]) == list(demo_ds.label_names)
    assert ((predictions["probability"] >= 0) & (predictions["probability"] <= 1)).all()
    assert "Download predictions (CSV)" in {b.label for b in at.download_button}
    ecg = [c for c in charts(at) if lead_traces(c)][0]
    assert any(t.get("type") == "heatmap" for t in ecg["data"])


# ----------------------------------------------------------------------------- Train


@pytest.mark.slow
def test_train_from_the_page_runs_in_background_and_reaches_evaluate(app, monkeypatch, tmp_path, demo_ds):
    root = tmp_path / "runs"
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(root))
    at = page(app, "train")
    assert "No runs yet" in texts(at)
    at.selectbox(key="tr_model").set_value("cnn1d")
    at.selectbox(key="tr_fold").set_value(1)
    at.number_input(key="tr_epochs").set_value(1)
    at.button(key="tr_start").click().run()
    assert not at.exception
    assert any("fold 1" in s.value for s in at.success), texts(at)
    path = RunPaths.of(demo_ds.name, "superclass", "cnn1d", 1, root=root).folder
    assert (read_status(path) or {}).get("state") in ("queued", "starting", "running")

    at.button(key="tr_start").click().run()  # a second click while it is queued or training
    assert any("already" in e.value for e in at.error), texts(at)

    deadline = time.time() + 150
    while time.time() < deadline and not (
        (read_status(path) or {}).get("state") == "done" and (path / "results.json").is_file()
    ):
        time.sleep(1)
    status = read_status(path) or {}
    assert status.get("state") == "done", (status, log_tail(path))
    time.sleep(0.5)  # the process writes the test metrics into status.json after results.json
    at.run()
    runs = table(at, "state", "epoch")
    assert list(runs["state"]) == [state_words("done")]  # the state in words: "finished"
    assert charts(at) and any(t.get("name") == "val macro PR-AUC" for t in charts(at)[0]["data"])

    at = page(at, "evaluate")
    assert at.selectbox(key="ev_fold").value == ("cv5", 1)
    assert len(table(at, "support", "sensitivity")) == len(demo_ds.label_names)

    at = page(at, "train")
    at.button(key="tr_delete").click().run()
    assert not path.exists()
    assert "No runs yet" in texts(at)


def test_train_page_shows_a_failed_run_with_its_log_and_offers_resume(app, monkeypatch, tmp_path, trained_runs):
    root = tmp_path / "runs"
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(root))
    failed = RunPaths.of("demo", "superclass", "cnn2d", 3, root=root).folder
    failed.mkdir(parents=True)
    (failed / "last.pt").write_bytes((trained_runs["cnn2d"] / "last.pt").read_bytes())
    write_json(
        failed / "status.json",
        {"state": "failed", "error": "RuntimeError: out of memory", "epochs": 5, "epoch": 1, "updated": time.time()},
    )
    (failed / "train.log").write_text("epoch 1/5 …\nTraceback (most recent call last):\nRuntimeError: out of memory\n")
    at = page(app, "train")
    assert any("out of memory" in e.value for e in at.error)
    assert any("Traceback" in c.value for c in at.code)
    assert at.button(key="tr_resume").disabled is False
    assert at.button(key="tr_cancel").disabled is True
    assert list(table(at, "state", "epoch")["state"]) == ["failed"]


def test_saliency_without_trained_models_still_draws_the_record(app, monkeypatch, tmp_path):
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(tmp_path / "empty"))
    at = page(app, "saliency")
    assert "No trained model" in texts(at)
    assert lead_traces(charts(at)[0]) == 13
    at = page(at, "evaluate")
    assert "No evaluated run" in texts(at)
    assert np.isfinite(pd.to_numeric(table(at, "kind", "protocol")["macro_roc_auc"], errors="coerce").dropna()).all()


def _wait(predicate, timeout_s: float) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


@pytest.mark.slow
def test_train_cancel_then_resume_is_offered_then_delete(app, monkeypatch, tmp_path, demo_ds):
    root = tmp_path / "runs"
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(root))
    at = page(app, "train")
    at.selectbox(key="tr_fold").set_value(2)
    at.number_input(key="tr_epochs").set_value(60)
    at.button(key="tr_start").click().run()
    path = RunPaths.of(demo_ds.name, "superclass", "cnn1d", 2, root=root).folder

    def epoch_done() -> bool:
        return any(e.get("event") == "epoch_end" for e in read_events(path))

    assert _wait(epoch_done, 90), log_tail(path)
    at.run()
    assert at.button(key="tr_cancel").disabled is False
    at.button(key="tr_cancel").click().run()
    assert not at.exception
    assert (read_status(path) or {}).get("state") == "cancelled", log_tail(path)
    assert "cancelled" in texts(at)
    assert at.button(key="tr_resume").disabled is False  # it has a completed epoch (last.pt)
    at.button(key="tr_delete").click().run()
    assert not path.exists()
