"""End to end (headless Chromium): what the Saliency page says is true. A link ``/saliency?ecg_id=N``
without a fold, N in strat fold 9, opens fold 4 (which tests strat folds 9 and 10) with the part
"test (never seen)"; the true labels carry their statements and likelihood; the fold ensemble says
whether its members fall on both sides of a threshold; similar cases appear only when asked for.
Screenshots land in test-artifacts/e2e/trust_*.png."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from tests.e2e.conftest import PROJECT, open_fold_ensemble, serving

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def two_folds(deep_demo, tmp_path_factory) -> dict:
    """deep_demo with 1-epoch cnn1d runs on folds 0 and 4: {root, env, runs}."""
    runs = tmp_path_factory.mktemp("trust") / "runs"
    env = deep_demo["env"] | {"ECGCORE_RUNS_DIR": str(runs)}
    for fold in ("0", "4"):
        argv = ["--data_root", str(deep_demo["root"]), "--model", "cnn1d", "--fold", fold, "--epochs", "1"]
        subprocess.run([sys.executable, "-m", "ecgcore", "train", *argv], env=env, check=True, cwd=PROJECT)
    return deep_demo | {"env": env, "runs": runs}


@pytest.fixture
def trust_ui(page, two_folds, tmp_path):
    with serving(page, two_folds["env"], two_folds["runs"], tmp_path) as ui:
        yield ui


def test_link_to_strat_fold_9_opens_fold_4_with_certainty_spread_and_similar_cases(trust_ui, two_folds):
    from ecgcore.sources import load_ptbxl

    ds = load_ptbxl(two_folds["root"])
    labelled = ds.labels.any(axis=1)
    i = int(np.flatnonzero((ds.records["strat_fold"].to_numpy() == 9) & labelled)[0])
    ecg_id = int(ds.records["ecg_id"].iloc[i])
    ui = trust_ui
    with ui.timing("saliency: deep link without a fold"):
        ui.page.goto(f"{ui.url}/saliency?ecg_id={ecg_id}")
        ui.ready("saliency")
    assert ui.selected("sal_fold").startswith("fold 4") or "4" in ui.selected("sal_fold")
    assert ui.selected("sal_part") == "test (never seen)"
    assert ui.selected("sal_ecg_id").startswith(f"ecg_id {ecg_id} ")
    text = ui.text()
    assert f"Record {ecg_id} is in the test part of fold 4: this model never saw it." in text
    assert "fold=4" in ui.page.url
    # the true labels with the statements behind them and their likelihood
    labels = [n for n, v in zip(ds.label_names, ds.labels[i]) if v]
    for name in labels:
        assert re.search(rf"{name}: \w+ (\d+ %|0 \(not given\))", text), text
    ui.shot("trust_saliency_fold4")

    # the fold ensemble: its statement and the part picker agree; the members' spread is said
    text = open_fold_ensemble(ui, 2)

    # similar cases only when asked for
    assert "never includes" not in text
    ui.widget("sal_similar").locator("label").first.click()
    ui.settle()
    ui.page.get_by_text(re.compile(rf"never includes record {ecg_id} itself")).wait_for()
    assert ui.page.locator(".st-key-sal_similar_1 .js-plotly-plot").count() == 1
    ui.shot("trust_saliency_similar")
