"""End to end in a real browser: the app served by ``streamlit run`` on a temporary 200-record demo
dataset, driven through headless Chromium (see conftest.py).

The flow: Home names the DEMO dataset; Dataset finds a patient and draws a record on ECG paper; Train
starts a 1-epoch cnn1d training of fold 0 and follows it live (the page's ``run_every`` fragment, no
reload) to the end; Evaluate shows the run's ROC and PR curves; Saliency draws the heat bands behind
a chosen record. Every page is screenshotted into test-artifacts/e2e/, and its time from navigation
to interactive is reported (not asserted).
"""

from __future__ import annotations

import json
import re
import time

import pandas as pd
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from ecgcore.app.words import state_words

pytestmark = pytest.mark.e2e

NOTICE = "not for diagnosis"
TRAIN_TIMEOUT_S = 180


def records_of(data_root, patient: int) -> list[int]:
    table = pd.read_csv(data_root / "ptbxl_database.csv", usecols=["ecg_id", "patient_id"])
    return sorted(int(e) for e in table.loc[table["patient_id"] == patient, "ecg_id"])


def test_home_and_dataset_patient_on_ecg_paper(ui, app_server):
    ui.goto("home")
    main = ui.text()
    assert "DEMO DATA" in main
    assert "Dataset: synthetic DEMO data 'demo' (200 records" in main, main[:600]
    assert NOTICE in main
    assert "synthetic demo data" in main
    ui.shot("01_home")

    ui.nav("dataset")
    table = pd.read_csv(app_server["data_root"] / "ptbxl_database.csv", usecols=["ecg_id", "patient_id"])
    patient = int(table["patient_id"].value_counts().index[0])  # a patient with the most records
    ids = records_of(app_server["data_root"], patient)
    ui.fill("ds_ids", patient)
    expect(ui.page.get_by_text(re.compile(rf"^{len(ids)} of 200 records match"))).to_be_visible()
    with ui.timing("dataset: ecg_id → ECG paper"):
        ui.fill("ds_ecg_id", ids[-1])
        chart = ui.chart("ds_ecg", f"ecg_id {ids[-1]} · patient {patient}")
    traces = ui.traces(chart)
    assert sum(t["role"] == "lead" for t in traces) == 13  # 3×4 + the lead-II rhythm strip
    assert all(t["n"] > 0 for t in traces if t["role"] == "lead")
    expect(ui.page.get_by_role("heading", name=f"Patient {patient}: {len(ids)} records")).to_be_visible()
    ui.shot("02_dataset")


# ----------------------------------------------------------------------------- Train, live


def run_path(app_server):
    from ecgcore.run_paths import RunPaths

    return RunPaths.of("demo", "superclass", "cnn1d", 0, root=app_server["runs_dir"]).folder


def run_done(path, status_needed: bool = True) -> bool:
    """Evaluated, and (for a background run, which has a status.json) in state done."""
    try:
        status = json.loads((path / "status.json").read_text())
    except FileNotFoundError:
        status = None if status_needed else {"state": "done"}
    except (OSError, ValueError):
        status = None
    return (status or {}).get("state") == "done" and (path / "results.json").is_file()


def test_train_fold0_live_to_done(ui, app_server):
    ui.goto("train")
    assert "No runs yet" in ui.text()
    ui.select("tr_model", re.compile(r"^cnn1d\b"))
    ui.select("tr_fold", re.compile(r"^fold 0$"))
    ui.fill("tr_epochs", 1)
    assert ui.selected("tr_model").startswith("cnn1d") and ui.selected("tr_fold") == "fold 0"
    assert ui.widget("tr_epochs").locator("input").input_value() == "1"
    ui.page.evaluate("window.__e2e_no_reload = true")  # gone if the page were reloaded

    t_start = time.perf_counter()
    ui.widget("tr_start").locator("button").click()
    ui.page.get_by_text(re.compile(r"cnn1d fold 0: (queued|starting|running)")).wait_for()
    chart = ui.widget("tr_curves")
    progress = ui.page.locator('[data-testid="stProgress"]').first
    seen_texts: list[str] = []
    seen_points: list[int] = []
    shot_live = False
    deadline = time.time() + TRAIN_TIMEOUT_S
    while time.time() < deadline:  # the page's run_every fragment redraws by itself: no reload, no clicks
        try:
            text = progress.inner_text(timeout=2_000).strip()
            points = sum(t["n"] for t in ui.traces(chart, timeout_ms=2_000) if t["type"] == "scatter")
            state = ui.metric("State", timeout_ms=2_000)
        except PlaywrightError:  # an element between two redraws
            ui.page.wait_for_timeout(300)
            continue
        if not seen_texts or text != seen_texts[-1]:
            seen_texts.append(text)
        seen_points.append(points)
        if not shot_live and len(seen_texts) >= 2:  # the first redraw after the start
            ui.shot("03_train_live")
            shot_live = True
        if state == state_words("done") and ui.page.get_by_text("See its test results on Evaluate").count():
            break
        ui.page.wait_for_timeout(500)
    else:
        pytest.fail(
            f"the run did not reach done in {TRAIN_TIMEOUT_S} s; progress seen: {seen_texts}\n"
            + (run_path(app_server) / "train.log").read_text()[-2000:]
        )

    ui.timed("train: Start → done, seen live", "action", t_start)
    assert ui.page.evaluate("window.__e2e_no_reload === true"), "the page was reloaded"
    assert len(seen_texts) >= 2, seen_texts  # the progress text changed by itself
    assert seen_texts[-1].startswith("done · epoch 1/1"), seen_texts
    ui.idle()
    final = sum(t["n"] for t in ui.traces(chart) if t["type"] == "scatter")
    assert seen_points[0] < final, (seen_points, final)  # the loss chart grew without a reload
    names = {t["name"] for t in ui.traces(chart)}
    assert {"train loss (per step)", "val macro PR-AUC"} <= names, names
    assert "refreshing every" not in ui.text()  # polling stopped once nothing is active
    assert run_done(run_path(app_server))
    print(f"\ntrain progress seen: {seen_texts}\nloss-chart points seen: {sorted(set(seen_points))}")
    ui.shot("04_train_done")


# ----------------------------------------------------------------------------- Evaluate, Saliency


@pytest.fixture
def fold0_run(app_server):
    """The cnn1d fold-0 run, done: the one the Train test started, else trained here (when that test
    was deselected)."""
    path = run_path(app_server)
    if not path.exists():
        from ecgcore.evaluate import evaluate_run
        from ecgcore.recipes import TrainConfig
        from ecgcore.sources import load_ptbxl
        from ecgcore.train import train_fold

        ds = load_ptbxl(app_server["data_root"])
        train_fold(ds, TrainConfig(model="cnn1d", epochs=1), path)
        evaluate_run(ds, path, n_bootstrap=20)
    deadline = time.time() + TRAIN_TIMEOUT_S
    while not run_done(path, status_needed=False):
        assert time.time() < deadline, f"{path} is not done"
        time.sleep(1)
    return path


def test_evaluate_shows_roc_and_pr_curves(ui, fold0_run):
    ui.goto("home", "home (new session)")
    ui.nav("evaluate")
    assert ui.selected("ev_model") == "cnn1d" and ui.selected("ev_fold") == "fold 0"
    main = ui.text()
    assert "macro PR-AUC" in main and "synthetic demo data" in main

    roc = ui.chart("ev_roc", "ROC curves")
    curves = [t for t in ui.traces(roc) if t["role"] == "curve"]
    assert len(curves) >= 3 and all(t["n"] >= 2 for t in curves), curves  # one per class with positives
    marks = [t for t in ui.traces(roc) if t["role"] == "operating point"]
    assert {t["cls"] for t in marks} <= {t["cls"] for t in curves} and all(t["n"] == 1 for t in marks), marks
    ui.shot("05_evaluate_roc")

    ui.page.get_by_role("tab", name="Precision–recall curves").click()
    pr = ui.chart("ev_pr", "Precision–recall curves")
    curves = [t for t in ui.traces(pr) if t["role"] == "curve"]
    assert len(curves) >= 3 and all(t["n"] >= 2 for t in curves), curves
    ui.shot("06_evaluate_pr")


def test_saliency_overlay_for_a_chosen_record(ui, app_server, fold0_run):
    ui.goto("home", "home (new session)")
    ui.nav("saliency")
    ui.select("sal_model", "cnn1d")
    ui.select("sal_fold", re.compile(r"^fold 0$"))
    patient = ui.select_nth("sal_patient", 1)  # test-part patients of fold 0
    with ui.timing("saliency: record → overlay"):
        record = ui.select_nth("sal_ecg_id", -1)
        ecg_id = int(re.match(r"ecg_id (\d+)", record).group(1))
        chart = ui.chart("sal_fig", f"ecg_id {ecg_id} · cnn1d fold 0")
    assert ecg_id in records_of(app_server["data_root"], int(patient))
    traces = ui.traces(chart)
    heat = [t for t in traces if t["type"] == "heatmap"]
    assert len(heat) == 13 and all(t["role"] == "saliency" and t["n"] > 0 for t in heat), heat
    assert sum(t["role"] == "lead" for t in traces) == 13
    ui.chart("sal_probs", "Predicted probabilities")
    assert f"Record {ecg_id} is in the test part of fold 0" in ui.text().replace("**", "")
    assert f"ecg_id={ecg_id}" in ui.page.url  # a shareable link to the record
    ui.shot("07_saliency")
