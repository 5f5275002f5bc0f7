"""End to end on the real PTB-XL part (../shared/ptbxl) with a trained 5-fold cnn1d run, in headless
Chromium at 1600×1000 (the window the issue measured): what the screen says holds on real data.

* Home: "Use this folder" with the real part switches the whole app to it at once (a server of its own,
  started on the demo data).
* Dataset: a click on a row of the records table shows that record on ECG paper at ≥ 4 px/mm, the full
  width of the main column, wholly inside the window without scrolling.
* Saliency: a link to an MI record of strat fold 9 whose MI statements are uncertain opens fold 4 (which
  tests it) with "test (never seen)", the label with its statements and likelihood, the report and the
  SCP codes; the 5-fold ensemble says the record is not a test record of it; the class summary covers
  the whole test part by default.
* Evaluate: the cell picker lists the cell's records with the cardiologist's certainty, the certainty
  filter narrows them, and a row opens Saliency on that record and fold.
* Evaluate's comparison of the 5-fold run with a one-fold run: no SD and no Wilcoxon p from one pair
  ("—" and why), differences A − B in the table and the chart, and a y-axis at least 0.1 wide.
* Predict: a record's CSV is drawn at ≥ 4 px/mm, the full column width, with how good the run is
  (macro PR-AUC over 5 folds and its epochs) and the flag of a run far below its model's reference.

The run trains 1 epoch per fold (about 15 s on 2 cores): a weak model on purpose, which the pages must
flag. Screenshots land in test-artifacts/e2e/real_*.png.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from tests.e2e.conftest import PROJECT, SHOTS, UI, _free_port, _stop, open_fold_ensemble, serving, start_server

pytestmark = [pytest.mark.e2e, pytest.mark.realdata, pytest.mark.slow]
VIEWPORT = {"width": 1600, "height": 1000}
ROW_PX, HEADER_PX = 35, 35  # st.dataframe's default row and header heights
MIN_PX_PER_MM = 4.0
GEOMETRY_JS = """el => { const xa = el._fullLayout.xaxis; const r = el.getBoundingClientRect();
    return {px_per_mm: xa._length / ((xa.range[1] - xa.range[0]) * 25), top: r.top, bottom: r.bottom,
            width: r.width, title: el.layout.title.text}; }"""
COLUMN_JS = """el => el.getBoundingClientRect().width - parseFloat(getComputedStyle(el).paddingLeft)
    - parseFloat(getComputedStyle(el).paddingRight)"""


@pytest.fixture(scope="module")
def real_app(ptbxl_root, tmp_path_factory, browser_type_launch_args):
    """A 1-epoch 5-fold cnn1d run on the real part and a 1-epoch run "short" of fold 0, evaluated, and the
    app serving that part: {url, ds, runs}."""
    from ecgcore.sources import load_ptbxl

    base = tmp_path_factory.mktemp("real")
    runs = base / "runs"
    env = os.environ | {
        "ECGCORE_DATA_ROOT": str(ptbxl_root),
        "ECGCORE_CACHE_DIR": str(base / "cache"),
        "ECGCORE_RUNS_DIR": str(runs),
        "ECGCORE_MAX_TRAININGS": "1",
        "OMP_NUM_THREADS": "1",
    }
    argv = ["--data_root", str(ptbxl_root), "--model", "cnn1d", "--fold", "all", "--epochs", "1"]
    subprocess.run([sys.executable, "-m", "ecgcore", "train", *argv], env=env, check=True, cwd=PROJECT)
    short = ["--data_root", str(ptbxl_root), "--model", "cnn1d", "--fold", "0", "--epochs", "1", "--run_name", "short"]
    subprocess.run([sys.executable, "-m", "ecgcore", "train", *short], env=env, check=True, cwd=PROJECT)
    url = f"http://127.0.0.1:{_free_port()}"
    server = start_server(env, base / "server.log", url)
    try:
        yield {"url": url, "ds": load_ptbxl(ptbxl_root), "runs": runs}
    finally:
        _stop(server, runs)


@pytest.fixture
def real_ui(page, real_app) -> UI:
    page.set_viewport_size(VIEWPORT)
    ui = UI(page, real_app["url"])
    yield ui
    assert not ui.errors, f"JavaScript errors in the page: {ui.errors}"


def _paper(ui: UI, key: str) -> dict:
    """Where the ECG paper ``key`` is drawn and how big 1 mm of it is, with the main column's width."""
    geometry = ui.widget(key).locator(".js-plotly-plot").first.evaluate(GEOMETRY_JS)
    geometry["column"] = ui.page.locator('[data-testid="stMainBlockContainer"]').first.evaluate(COLUMN_JS)
    return geometry


def _uncertain_mi_in_strat_fold_9(ds) -> tuple[int, list[dict]]:
    """An MI record of strat fold 9 whose MI statements all have a likelihood under 100 %, and its labels."""
    from ecgcore.app.labels_view import labels_with_certainty
    from ecgcore.data import read_statements

    statements = read_statements(ds.root)
    mi = list(ds.label_names).index("MI")
    for i in np.flatnonzero((ds.records["strat_fold"].to_numpy() == 9) & ds.labels[:, mi].astype(bool)):
        labels = labels_with_certainty(ds, int(i), statements)
        got = next(lab for lab in labels if lab["label"] == "MI")
        if got["likelihood"] is not None and got["likelihood"] < 100:
            return int(ds.records["ecg_id"].iloc[i]), labels
    pytest.fail("no MI record with an uncertain statement in strat fold 9 of the real part")


def test_a_row_click_shows_the_record_on_paper_inside_the_window(real_ui, real_app):
    ui, ds = real_ui, real_app["ds"]
    ui.goto("dataset")
    third = int(ds.records["ecg_id"].iloc[2])
    grid = ui.page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    ui.page.mouse.click(box["x"] + 12, box["y"] + HEADER_PX + ROW_PX * 2.5)  # the third row's selection box
    ui.settle()
    ui.chart("ds_ecg", f"ecg_id {third} ·")
    ui.page.wait_for_timeout(500)  # the scroll to the record
    paper = _paper(ui, "ds_ecg")
    assert paper["px_per_mm"] >= MIN_PX_PER_MM, paper
    assert paper["width"] >= 0.98 * paper["column"], paper
    assert 0 <= paper["top"] and paper["bottom"] <= VIEWPORT["height"], f"the ECG is not wholly in the window: {paper}"
    ui.page.screenshot(path=str(SHOTS / "real_dataset_row_click.png"))  # the window as the user sees it


def test_an_uncertain_mi_record_opens_its_test_fold_with_its_statements(real_ui, real_app):
    ui, ds = real_ui, real_app["ds"]
    ecg_id, labels = _uncertain_mi_in_strat_fold_9(ds)
    ui.page.goto(f"{ui.url}/saliency?ecg_id={ecg_id}")
    ui.ready("saliency")
    assert "4" in ui.selected("sal_fold") and ui.selected("sal_part") == "test (never seen)"
    text = ui.text()
    assert f"Record {ecg_id} is in the test part of fold 4: this model never saw it." in text
    for label in labels:  # e.g. "MI: IMI 50 %"
        assert label["text"] in text, (label, text)
    codes = ui.page.locator('[data-testid="stExpander"]').filter(has_text="Report and SCP codes")
    codes.locator("summary").click()
    codes.get_by_text("Report:").wait_for(state="visible")
    codes.locator('[data-testid="stDataFrame"]').wait_for(state="visible")
    paper = _paper(ui, "sal_fig")
    assert paper["px_per_mm"] >= MIN_PX_PER_MM, paper
    ui.shot("real_saliency_uncertain_mi")

    open_fold_ensemble(ui, 5)
    ui.widget("sal_members").get_by_text("this fold").click()
    ui.settle()
    ui.page.get_by_role("tab", name="Whole test part").click()
    ui.settle()  # a lazy tab: its content comes with the rerun the click starts
    assert ui.widget("sal_sum_n").locator("input").input_value() == "0"  # the whole test part by default
    ui.widget("sal_sum_start").locator("button").click()
    ui.chart("sal_sum_windows", "MI: share per beat window", timeout_ms=240_000)
    ui.chart("sal_sum_leads", "MI: share per lead")
    from ecgcore.app.records import record_parts

    n_mi = int(ds.labels[record_parts(ds, "cv5", 4) == "test", list(ds.label_names).index("MI")].sum())
    assert f"{n_mi} test records carrying MI (the whole test part of fold 4" in ui.text()
    ui.shot("real_saliency_class_summary")


def test_the_cell_picker_filters_by_certainty_and_opens_the_record(real_ui, real_app):
    ui = real_ui
    ui.goto("evaluate")
    ui.page.get_by_role("tab", name=re.compile(r"^Confusion matrices")).click()
    ui.chart("ev_cm", "Confusion matrices")
    if ui.selected("ev_err_cls") != "MI":
        ui.select("ev_err_cls", "MI")
    ui.select("ev_err_outcome", "(FN)")
    caption = ui.page.get_by_text(re.compile(r"^\d+ false negatives for MI in the test part"))
    every = int(caption.inner_text().split()[0])
    grid = ui.page.locator('[data-testid="stDataFrame"]').filter(
        has=ui.page.locator('[role="columnheader"]', has_text="certainty (%)")
    )
    assert every > 0 and "true labels" in grid.locator('[role="columnheader"]').all_inner_texts()
    cells = " | ".join(grid.locator('[role="gridcell"]').all_inner_texts())
    assert re.search(r"MI \((\w+ (\d+ %|0 \(not given\)))", cells), cells[:500]  # e.g. "MI (IMI 50 %, '…')"
    ui.select("ev_err_certainty", "below 50 %")
    narrowed = ui.page.get_by_text(re.compile(r"^\d+ false negatives for MI .*certainty below 50 %"))
    assert int(narrowed.inner_text().split()[0]) < every
    ui.select("ev_err_certainty", "every certainty")
    fold = int(re.search(r"false negatives for MI in the test part of fold (\d)", caption.inner_text())[1])
    ui.shot("real_evaluate_false_negatives")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    ui.page.mouse.click(box["x"] + 12, box["y"] + HEADER_PX + ROW_PX / 2)
    ui.page.wait_for_url(re.compile(r"/saliency\?"))
    ui.ready("saliency")
    params = {k: v[0] for k, v in parse_qs(urlparse(ui.page.url).query).items()}
    assert params["fold"] == str(fold) and params["cls"] == "MI"
    assert ui.selected("sal_part") == "test (never seen)"


def test_predict_draws_the_upload_at_4_px_per_mm_and_says_how_good_the_run_is(real_ui, real_app, tmp_path):
    from ecgcore.uploads import signal_csv

    ui, ds = real_ui, real_app["ds"]
    csv = tmp_path / "one_record.csv"
    csv.write_bytes(signal_csv(ds.signals[0]))
    ui.goto("predict")
    ui.widget("pr_files").locator('input[type="file"]').set_input_files(str(csv))
    ui.settle()
    ui.chart("pr_ecg", "one_record")
    text = ui.text()
    assert re.search(r"test macro PR-AUC 0\.\d{3} ± 0\.\d{3} over 5 folds \(1 epoch\)", text), text
    assert "Read this prediction with care" in text and "far below cnn1d's default recipe" in text
    paper = _paper(ui, "pr_ecg")
    assert paper["px_per_mm"] >= MIN_PX_PER_MM, paper
    assert paper["width"] >= 0.98 * paper["column"], paper
    ui.shot("real_predict")


def test_home_switches_the_whole_app_to_the_real_folder(page, deep_demo, ptbxl_root, tmp_path):
    page.set_viewport_size(VIEWPORT)
    runs = tmp_path / "runs"
    env = deep_demo["env"] | {"ECGCORE_RUNS_DIR": str(runs), "ECGCORE_CACHE_DIR": str(tmp_path / "cache")}
    with serving(page, env, runs, tmp_path) as ui:
        ui.goto("home")
        assert "1,803 records" not in ui.text()
        ui.fill("home_folder", ptbxl_root)
        ui.page.get_by_role("button", name="Use this folder").click()
        ui.settle()
        ui.page.get_by_text(f"Now using {ptbxl_root.resolve()}").wait_for()
        assert "1,803 records, 1,671 patients" in ui.text()  # Home itself is on the new folder at once
        assert ui.selected("sb_source") == "PTB-XL (set on Home)"
        assert str(ptbxl_root.resolve()) in ui.page.locator('[data-testid="stSidebar"]').inner_text()
        ui.shot("real_home_switch")
        ui.nav("dataset")
        assert "of 1,803 records match" in ui.text()


def test_a_one_fold_comparison_says_dash_and_why(real_ui):
    ui = real_ui
    ui.page.goto(f"{ui.url}/evaluate?model=cnn1d&run=default&fold=0")
    ui.ready("evaluate")
    assert (ui.selected("ev_cmp_a"), ui.selected("ev_cmp_b")) == ("cnn1d", "cnn1d · run short")
    ui.page.get_by_text(re.compile(r"difference = A − B")).first.wait_for()
    summary = ui.page.locator('[data-testid="stDataFrame"]').filter(
        has=ui.page.locator('[role="columnheader"]', has_text="Wilcoxon p")
    )
    summary.scroll_into_view_if_needed()  # the grid puts its cells in the page once it is in view
    summary.locator('[role="gridcell"]').first.wait_for(state="attached")  # an accessibility table
    cells = summary.locator('[role="gridcell"]').all_inner_texts()
    assert "—: one paired fold" in cells and not any(c.strip() in ("None", "1.0000", "nan") for c in cells), cells
    chart = ui.chart("ev_cmp", "per fold")
    y = chart.locator(".js-plotly-plot").first.evaluate("el => el._fullLayout.yaxis.range")
    title = chart.locator(".js-plotly-plot").first.evaluate("el => el.layout.title.text")
    assert y[1] - y[0] >= 0.1 - 1e-9, y  # a 0.01 difference is not drawn as a cliff
    assert "cnn1d − cnn1d · run short" in title, title
    ui.shot("real_evaluate_one_fold_comparison")
