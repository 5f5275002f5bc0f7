"""End to end (headless Chromium): a fresh server opened at ``/saliency?ecg_id=N&model=cnn1d&fold=0&cls=MI``
shows that record with that run, fold and class explained; then the bands view, and the Predict page
with an upload. The "whole test part" class summary is
computed from the page in the background and drawn when done. Screenshots of Saliency (paper, bands,
summary) and Predict at 1400×1000 land in
test-artifacts/e2e/ (explain_*.png)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.e2e.conftest import PROJECT, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def trained_demo(deep_demo, tmp_path_factory) -> dict:
    """deep_demo with a 1-epoch cnn1d on fold 0, evaluated (records.csv): {root, env, runs}."""
    runs = tmp_path_factory.mktemp("explain") / "runs"
    env = deep_demo["env"] | {"ECGCORE_RUNS_DIR": str(runs)}
    argv = ["--data_root", str(deep_demo["root"]), "--model", "cnn1d", "--fold", "0"]
    subprocess.run([sys.executable, "-m", "ecgcore", "train", *argv, "--epochs", "1"], env=env, check=True, cwd=PROJECT)
    return deep_demo | {"env": env, "runs": runs}


@pytest.fixture
def explain_ui(page, trained_demo, tmp_path):
    with serving(page, trained_demo["env"], trained_demo["runs"], tmp_path) as ui:
        yield ui


def test_deep_link_opens_record_run_fold_and_class_on_a_fresh_server(explain_ui, trained_demo, tmp_path):
    from ecgcore.app.records import record_parts
    from ecgcore.sources import load_ptbxl
    from ecgcore.uploads import signal_csv

    ds = load_ptbxl(trained_demo["root"])
    parts = record_parts(ds, "cv5", 0)
    mi = ds.labels[:, list(ds.label_names).index("MI")].astype(bool)
    i = int(np.flatnonzero((parts == "test") & mi)[0])
    ecg_id = int(ds.records["ecg_id"].iloc[i])
    ui = explain_ui
    ui.page.goto(f"{ui.url}/saliency?ecg_id={ecg_id}&model=cnn1d&fold=0&cls=MI")
    ui.ready("saliency")
    assert ui.selected("sal_ecg_id").startswith(f"ecg_id {ecg_id} ")
    assert ui.selected("sal_target") == "MI" and ui.selected("sal_model") == "cnn1d"
    ui.chart("sal_fig", f"ecg_id {ecg_id} · cnn1d fold 0 · Integrated gradients for MI")
    ui.chart("sal_leads", "Leads · MI")
    assert "predicted:" in ui.text()
    assert f"ecg_id={ecg_id}" in ui.page.url and "cls=MI" in ui.page.url
    ui.shot("explain_saliency_paper")
    ui.widget("sal_view").get_by_text("12 leads with bands").click()
    ui.settle()
    ui.chart("sal_fig", "for MI")
    ui.shot("explain_saliency_bands")

    # the whole test part: computed in the background, polled by a fragment, drawn when done
    ui.page.get_by_role("tab", name="Whole test part").click()
    ui.settle()  # a lazy tab: its content comes with the rerun the click starts
    ui.fill("sal_sum_n", 0)  # the whole test part (a class none of the first few records carries gets none)
    ui.widget("sal_sum_start").locator("button").click()
    ui.chart("sal_sum_profile", "MI: beat-aligned profile", timeout_ms=240_000)
    ui.chart("sal_sum_leads", "MI: share per lead")
    ui.chart("sal_sum_windows", "MI: share per beat window")
    ui.shot("explain_saliency_summary")

    csv = tmp_path / f"example_ecg_{ecg_id}.csv"
    csv.write_bytes(signal_csv(ds.signals[i]))
    ui.goto("predict")
    ui.widget("pr_files").locator('input[type="file"]').set_input_files(str(csv))
    ui.settle()
    ui.chart("pr_ecg", f"example_ecg_{ecg_id} · cnn1d")
    assert "predicted:" in ui.text()
    ui.shot("explain_predict")
