"""End to end, in Chromium: from a confusion-matrix cell's records on Evaluate to a record's saliency —
open Evaluate, choose a class and outcome with records (MI false negatives when there are any), select
the first row, land on Saliency with that record, run, fold and class in the URL."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from ecgcore.outcomes import errors_view, read_records_csv

pytestmark = pytest.mark.e2e
TRAIN_TIMEOUT_S = 600
ROW_PX, HEADER_PX = 35, 35  # st.dataframe's default row and header heights


@pytest.fixture
def evaluated_run(app_server):
    """The cnn1d fold-0 run of the e2e runs folder, trained and evaluated here unless already there."""
    from ecgcore.run_paths import RunPaths
    from ecgcore.sources import load_ptbxl

    ds = load_ptbxl(app_server["data_root"])
    path = RunPaths.of(ds.name, ds.label_set, "cnn1d", 0, root=app_server["runs_dir"]).folder
    if not path.exists():
        from ecgcore.evaluate import evaluate_run
        from ecgcore.recipes import TrainConfig
        from ecgcore.train import train_fold

        train_fold(ds, TrainConfig(model="cnn1d", epochs=1), path)
        evaluate_run(ds, path, n_bootstrap=20)
    deadline = time.time() + TRAIN_TIMEOUT_S
    while not (path / "records.csv").is_file():
        assert time.time() < deadline, f"{path} has no records.csv"
        time.sleep(1)
    return path


def test_a_false_negative_opens_in_saliency(ui, evaluated_run):
    table = read_records_csv(evaluated_run)
    cls, outcome = next(
        (c, o)
        for o in ("FN", "FP", "TP")
        for c in ("MI", "NORM", "STTC", "CD", "HYP")
        if (table[f"{c}_outcome"] == o).any()
    )
    first = int(errors_view(table, cls, outcome)["ecg_id"].iloc[0])

    ui.goto("evaluate")
    ui.page.get_by_role("tab", name=re.compile(r"^Confusion matrices")).click()
    ui.chart("ev_cm", "Confusion matrices")
    if ui.selected("ev_err_cls") != cls:
        ui.select("ev_err_cls", cls)
    if not ui.selected("ev_err_outcome").endswith(f"({outcome})"):
        ui.select("ev_err_outcome", f"({outcome})")
    grid = ui.widget(f"ev_err_table_{cls}_{outcome}_chosen").locator('[data-testid="stDataFrame"]')
    grid.wait_for(state="visible")
    ui.shot("evaluate_errors_view")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    ui.page.mouse.click(box["x"] + 12, box["y"] + HEADER_PX + ROW_PX / 2)  # the first row's selection box

    ui.page.wait_for_url(re.compile(r"/saliency\?"))
    ui.ready("saliency")
    params = {k: v[0] for k, v in parse_qs(urlparse(ui.page.url).query).items()}
    assert params["ecg_id"] == str(first)
    assert str(first) in ui.selected("sal_ecg_id") and f"ecg_id {first}" in ui.text()
    ui.shot("saliency_from_evaluate")
