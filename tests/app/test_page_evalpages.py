"""AppTests of "what the screen says must be true" and "where the model fails" on Evaluate, Train, Home
and Dataset: the Subgroups and Calibration tabs, no SD or p from one fold, the cell picker, the
cardiologist's certainty in the errors table, the Run picker and its deep links, run states in words
and quality flags, the downloaded folder switching the whole app, and "Explain this record" opening
the fold whose test part holds the record."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.folds import DEFAULT_PLAN, fold_testing_record
from tests.app.helpers import charts, finished_download, page, table, texts

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "streamlit_app.py"


def _fresh(monkeypatch, data_root, runs_root) -> AppTest:
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(data_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(runs_root))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _copy_runs(trained_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(trained_root, root)
    return root


# --- Evaluate: subgroups and calibration ---------------------------------------------------------------------------
def test_subgroups_tab_draws_a_forest_plot_per_metric(app):
    at = page(app, "evaluate")
    at.selectbox(key="ev_sub_by").set_value("age").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    forests = [c for c in charts(at) if " by age" in c["layout"]["title"]["text"]]
    assert len(forests) == 2  # PR-AUC and ROC-AUC
    assert {c["layout"]["xaxis"]["title"]["text"] for c in forests} == {"PR-AUC (average precision)", "ROC-AUC"}
    rows = table(at, "group", "PR-AUC 95 % CI", "why greyed")
    assert rows["group"].iloc[0] == "whole test part"
    assert any(s.get("type") == "line" for c in forests for s in c["layout"].get("shapes", []))  # the reference
    at.selectbox(key="ev_sub_by").set_value("likelihood").run()
    assert not at.exception and not at.error
    assert "doubtful cases" in texts(at)


def test_a_column_the_data_lacks_is_one_error(monkeypatch, app_env, trained_root, tmp_path):
    root = _copy_runs(trained_root, tmp_path)
    path = next(root.glob("*/*/cnn1d/fold0"))
    res = json.loads((path / "results.json").read_text())
    res["subgroups"] = {"rows": [], "missing": {"device": "x.csv has no 'device' values; use another --by (sex)."}}
    (path / "results.json").write_text(json.dumps(res))
    at = page(_fresh(monkeypatch, app_env["data_root"], root), "evaluate")
    at.selectbox(key="ev_sub_by").set_value("device").run()
    assert not at.exception
    errors = [str(e.value) for e in at.error]
    assert len(errors) == 1 and "recording device" in errors[0] and "--by" not in errors[0], errors


def test_calibration_tab_says_whether_the_run_is_calibrated(app):
    at = page(app, "evaluate")
    said = texts(at)
    assert "calibrated" in said and "macro ECE" in said and "Brier score" in said
    reliability = [c for c in charts(at) if "reliability" in c["layout"]["title"]["text"]]
    assert len(reliability) == 5  # one per class of the superclass set
    assert set(table(at, "class", "ECE", "Brier score")["class"]) == {"NORM", "MI", "STTC", "CD", "HYP"}


# --- Evaluate: cell picker, certainty, run picker and deep links -----------------------------------------------------
def test_the_cell_picker_lists_the_records_of_the_picked_cell(app):
    at = page(app, "evaluate")
    assert "click a cell" not in texts(at)
    picker = at.selectbox(key="ev_err_outcome")
    assert picker.label == "Cell"
    cls = at.selectbox(key="ev_err_cls").value
    counts = table(at, "class", "TP", without=("support",)).set_index("class").loc[cls]
    for cell in ("FP", "TN"):
        at.selectbox(key="ev_err_outcome").set_value(cell).run()
        shown = at.selectbox(key="ev_err_outcome")
        n = int(counts[cell])
        assert shown.format_func(cell).startswith(f"{n} · "), shown.format_func(cell)
        assert len(table(at, "ecg_id", f"P({cls})")) == n


def test_errors_table_shows_and_filters_the_cardiologists_certainty(app):
    at = page(app, "evaluate")
    at.selectbox(key="ev_err_outcome").set_value("TN").run()
    cls = at.selectbox(key="ev_err_cls").value
    rows = table(at, "ecg_id", f"P({cls})", "certainty (%)")
    assert len(rows) and rows["true labels"].str.contains("%").any()  # e.g. "NORM (NORM 100 %, 'normal ECG')"
    at.selectbox(key="ev_err_certainty").set_value("100").run()
    certain = table(at, "ecg_id", f"P({cls})", "certainty (%)")
    assert len(certain) <= len(rows)
    assert (certain["certainty (%)"].astype(float) == 100).all()


def test_run_picker_is_called_run_and_follows_deep_links(app):
    at = page(app, "evaluate")
    assert at.selectbox(key="ev_model").label == "Run"
    at.query_params.update({"model": "cnn2d", "run": "default", "fold": "0"})
    at.run()
    assert not at.exception and at.selectbox(key="ev_model").value == "cnn2d"
    assert at.selectbox(key="ev_fold").value == ("cv5", 0)
    at.query_params.update({"model": "nope", "run": "default", "fold": "7"})
    at.run()
    warnings = " ".join(str(w.value) for w in at.warning)
    assert "'nope'" in warnings and not at.exception


# --- Evaluate: honest small numbers ----------------------------------------------------------------------------
def test_one_fold_shows_no_sd_and_one_pair_no_p(monkeypatch, app_env, trained_runs, tmp_path):
    root = _copy_runs(trained_runs["cnn1d"].parents[3], tmp_path)
    group = next(root.glob("*/*/cnn1d"))
    shutil.copytree(group / "fold0", group.parent / "cnn1d@e2" / "fold0")
    at = page(_fresh(monkeypatch, app_env["data_root"], root), "evaluate")
    said = texts(at)
    assert "± 0.000" not in said and "no SD (n = 1 fold)" in said
    summary = table(at, "metric", "Wilcoxon p")
    assert (summary["Wilcoxon p"] == "—: one paired fold").all()
    assert (summary["difference (SD)"] == "—: one paired fold").all()


# --- Train ------------------------------------------------------------------------------------------------------
def test_train_lists_states_in_words_and_flags_short_runs(monkeypatch, app_env, trained_root, tmp_path):
    root = _copy_runs(trained_root, tmp_path)
    path = next(root.glob("*/*/cnn1d/fold0"))
    status = json.loads((path / "status.json").read_text())
    status["config"]["epochs"] = 3  # its recipe asked for 3 epochs; it trained 1
    (path / "status.json").write_text(json.dumps(status))
    at = page(_fresh(monkeypatch, app_env["data_root"], root), "train")
    runs = table(at, "state", "check")
    assert set(runs["state"]) == {"finished"}
    flagged = runs[runs["model"] == "cnn1d"]["check"].iloc[0]
    assert "trained 1 of the 3 epochs of its recipe" in flagged
    assert any("1 of the 3 epochs" in str(w.value) for w in at.warning)
    assert any(m.label == "State" and m.value == "finished" for m in at.metric) or not at.metric


# --- Home -------------------------------------------------------------------------------------------------------
def test_the_downloaded_folder_switches_the_whole_app(monkeypatch, app_env, tmp_path):

    from ecgcore import download as dl

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    out = dl.default_out()
    finished_download(app_env["data_root"], out)
    monkeypatch.delenv("ECGCORE_DATA_ROOT")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    assert at.selectbox(key="sb_source").value == "demo"
    at.button(key="home_dl_use").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(f"Now using {out}" in str(s.value) for s in at.success), texts(at)
    assert not [b for b in at.button if b.key == "home_dl_use"]  # the button is gone at once
    assert not any("Downloaded and verified" in str(s.value) for s in at.success)
    assert at.selectbox(key="sb_source").value == "saved"
    assert any(str(out) in str(c.value) for c in at.sidebar.caption)  # the whole app is on the new folder
    assert at.text_input(key="home_folder").value == str(out)


# --- Dataset ----------------------------------------------------------------------------------------------------
def test_explain_opens_the_fold_whose_test_part_holds_the_record(app, demo_ds):
    at = page(app, "dataset")
    labelled = demo_ds.labels.any(axis=1)
    first = int(at.number_input(key="ds_ecg_id").value)
    fold = fold_testing_record(demo_ds.records, labelled, first, DEFAULT_PLAN)
    assert fold is not None and f"Opens fold {fold} of the 5-fold plan" in texts(at)
    # a record tested by fold 0 (the fold the session's runs trained): Saliency opens it with that model
    in_fold0 = [int(e) for e in demo_ds.records["ecg_id"] if fold_testing_record(demo_ds.records, labelled, e) == 0]
    current, fold = in_fold0[0], 0
    at.number_input(key="ds_ecg_id").set_value(current).run()
    assert int(at.number_input(key="ds_ecg_id").value) == current
    assert "Opens fold 0 of the 5-fold plan" in texts(at)
    assert "recorded" in table(at, "recorded", "ecg_id").columns  # the patient table has recording dates
    [b for b in at.button if b.label == "Explain this record"][0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    params = {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}
    assert params.get("ecg_id") == str(current) and params.get("fold") == str(fold)
    strat = int(demo_ds.records.loc[demo_ds.records["ecg_id"] == current, "strat_fold"].iloc[0])
    assert strat in (2 * fold + 1, 2 * fold + 2)


def test_home_says_a_record_can_carry_several_labels(app):
    shares = table(app, "share")
    assert float(np.asarray(shares["share"], dtype=float).sum()) > 0
    assert "several labels" in texts(app)


@pytest.mark.parametrize("report", ["sinusrytm vÄnster kammarhypertrofi"])
def test_dataset_names_swedish_reports(report):
    from ecgcore.app.records import LANGUAGES, report_language

    assert LANGUAGES[report_language(report)] == "Swedish"
