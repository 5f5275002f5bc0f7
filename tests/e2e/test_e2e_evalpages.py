"""End to end in headless Chromium: Evaluate's cell picker lists the records of the picked cell, the
Subgroups tab draws its forest plots on the demo data, Dataset's "Explain this record" opens Saliency on
the fold whose test part holds the record, and Home's "Use the downloaded folder" switches the whole app
(a server of its own, with a finished download in its data folder)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from ecgcore.folds import fold_testing_record
from ecgcore.outcomes import read_records_csv
from ecgcore.sources import load_ptbxl
from tests.app.helpers import finished_download
from tests.e2e.conftest import UI, _free_port, _stop, start_server
from tests.e2e.test_e2e_evaluate import evaluated_run  # noqa: F401 — the fixture

pytestmark = pytest.mark.e2e


def test_the_cell_picker_lists_the_picked_cells_records(ui, evaluated_run):  # noqa: F811
    table = read_records_csv(evaluated_run)
    ui.goto("evaluate")
    ui.page.get_by_role("tab", name=re.compile(r"^Confusion matrices")).click()
    ui.chart("ev_cm", "Confusion matrices")
    assert "click a cell" not in ui.text()
    cls = ui.selected("ev_err_cls")
    for cell, words in (("FP", "false positives"), ("TN", "true negatives")):
        ui.select("ev_err_outcome", f"({cell})")
        n = int((table[f"{cls}_outcome"] == cell).sum())
        assert ui.selected("ev_err_outcome") == f"{n} · {words} ({cell})"
        ui.page.get_by_text(re.compile(rf"^{n} {words} for {cls} in the test part")).wait_for()
    ui.shot("evalpages_cell_picker")


def test_the_subgroups_tab_on_the_demo_data(ui, evaluated_run):  # noqa: F811
    ui.goto("evaluate")
    ui.page.get_by_role("tab", name="Subgroups").click()
    ui.chart("ev_sub_pr_auc", "by sex")
    ui.chart("ev_sub_roc_auc", "by sex")
    ui.select("ev_sub_by", "age band")
    ui.chart("ev_sub_pr_auc", "by age")
    assert "whole test part" in ui.text()
    ui.shot("evalpages_subgroups")


def test_explain_opens_the_fold_that_tests_the_record(ui, app_server, evaluated_run):  # noqa: F811
    ds = load_ptbxl(app_server["data_root"])
    labelled = ds.labels.any(axis=1)
    ecg_id = next(int(e) for e in ds.records["ecg_id"] if fold_testing_record(ds.records, labelled, e) == 0)
    ui.page.goto(f"{ui.url}/dataset?ecg_id={ecg_id}")
    ui.ready("dataset")
    ui.page.get_by_text("Opens fold 0 of the 5-fold plan").wait_for()
    ui.page.get_by_role("button", name=re.compile("Explain this record")).click()
    ui.page.wait_for_url(re.compile(r"/saliency\?"))
    ui.ready("saliency")
    params = parse_qs(urlparse(ui.page.url).query)
    assert params["ecg_id"] == [str(ecg_id)] and params["fold"] == ["0"], ui.page.url


def test_the_downloaded_folder_switches_the_whole_app(page, deep_demo, tmp_path, monkeypatch):
    from ecgcore import download as dl

    data_home, cache_dir = tmp_path / "xdg", tmp_path / "cache"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(cache_dir))  # the server's: its settings and download state
    out = dl.default_out()
    finished_download(deep_demo["root"], out)
    url, runs_dir = f"http://127.0.0.1:{_free_port()}", tmp_path / "runs"
    env = deep_demo["env"] | {
        "ECGCORE_RUNS_DIR": str(runs_dir),
        "XDG_DATA_HOME": str(data_home),
        "ECGCORE_CACHE_DIR": str(cache_dir),
    }
    server = start_server(env, tmp_path / "server.log", url)
    try:
        ui = UI(page, url)
        ui.goto("home")
        ui.page.get_by_text("Downloaded and verified").wait_for()
        ui.widget("home_dl_use").locator("button").click()
        ui.settle()
        ui.page.get_by_text(f"Now using {out}").wait_for()
        assert ui.widget("home_dl_use").count() == 0  # the button is gone at once
        assert "Downloaded and verified" not in ui.text()
        sidebar = ui.page.locator('[data-testid="stSidebar"]').inner_text()
        assert str(out) in sidebar  # the whole app is on the new folder
        ui.shot("evalpages_home_switch")
        assert not ui.errors, ui.errors
    finally:
        _stop(server, runs_dir)
