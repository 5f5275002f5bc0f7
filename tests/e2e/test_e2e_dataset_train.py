"""End to end in headless Chromium: on Dataset, a report filter → the drawn record belongs to the
filtered list → Next and the id box's + stay in it (screenshot at 1400×1000); on Train, a 1-epoch
named run started from the page reaches done, with the Epoch tile and the progress text agreeing."""

from __future__ import annotations

import re
import time

import pytest

from ecgcore.app import records
from ecgcore.run_paths import RunPaths
from ecgcore.runs import read_status
from ecgcore.sources import load_ptbxl

pytestmark = pytest.mark.e2e
TRAIN_TIMEOUT_S = 240


def _drawn(ui) -> int:
    ui.chart("ds_ecg", "ecg_id")
    title = ui.widget("ds_ecg").locator(".js-plotly-plot").first.evaluate("el => el.layout.title.text")
    return int(re.search(r"ecg_id (\d+)", title).group(1))


def test_dataset_filter_then_next_stays_in_the_filter(ui, app_server):
    ds = load_ptbxl(app_server["data_root"])
    expected = [
        int(ds.records["ecg_id"].iloc[i]) for i in records.filter_records(ds, records.RecordFilter(text="infarct"))
    ]
    assert len(expected) >= 3
    ui.goto("dataset")
    ui.fill("ds_text", "infarct")
    ui.page.get_by_text(re.compile(rf"^{len(expected)} of {len(ds.records)} records match")).wait_for()
    assert _drawn(ui) == expected[0]
    ui.widget("ds_next").locator("button").click()
    ui.settle()
    ui.chart("ds_ecg", f"ecg_id {expected[1]} ")
    ui.widget("ds_ecg_id").locator("button").last.click()  # the + of the id box: the next match
    ui.settle()
    ui.chart("ds_ecg", f"ecg_id {expected[2]} ")
    assert ui.widget("ds_ecg_id").locator("input").input_value() == str(expected[2])
    assert "0 (not given)" in ui.text() or "%" in ui.text()  # codes with their likelihood
    ui.shot("p3_dataset")


def test_train_a_named_one_epoch_run_to_done(ui, app_server):
    path = RunPaths.of("demo", "superclass", "cnn1d", 1, root=app_server["runs_dir"], run_name="e2e_named").folder
    ui.goto("train")
    ui.select("tr_model", re.compile(r"^cnn1d\b"))
    ui.fill("tr_run_name", "e2e_named")
    ui.select("tr_fold", re.compile(r"^fold 1$"))
    ui.fill("tr_epochs", 1)
    assert "samples/s" in ui.text()  # what it will cost, said before it starts
    ui.widget("tr_start").locator("button").click()
    ui.page.get_by_text(re.compile(r"cnn1d · run e2e_named · fold 1: (queued|starting|running)")).wait_for()
    deadline = time.time() + TRAIN_TIMEOUT_S
    while time.time() < deadline and not (
        (read_status(path) or {}).get("state") == "done" and (path / "results.json").is_file()
    ):
        time.sleep(1)
    assert (read_status(path) or {}).get("state") == "done", (path / "train.log").read_text()[-2000:]
    ui.page.get_by_text("See its test results on Evaluate").wait_for(timeout=30_000)
    assert ui.metric("State") == "finished" and ui.metric("Epoch") == "1/1"  # the state in words
    progress = ui.page.locator('[data-testid="stProgress"]').first.inner_text().strip()
    assert progress.startswith("done · epoch 1/1"), progress
    assert "e2e_named" in ui.text()
    ui.shot("p3_train_done")
