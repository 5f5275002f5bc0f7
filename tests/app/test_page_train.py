"""The Train page (AppTest): a named run on either fold plan queues the right command, a bad recipe is
refused before any run folder exists, the cost of a training is said before it starts (and a long one
asks for confirmation), the progress text and the Epoch tile agree, and damaged runs show as damaged."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ecgcore import jobs
from ecgcore.fileio import write_json
from ecgcore.recipes import BY_NAME
from ecgcore.run_paths import RunPaths
from ecgcore.runs import RunLock
from tests.app.helpers import table

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "streamlit_app.py"
RUN_TIMEOUT_S = 90


@pytest.fixture
def train_page(monkeypatch, demo_root, tmp_path, no_settings):
    """Train on the demo data with an empty runs folder; jobs.submit records instead of launching."""
    root = tmp_path / "runs"
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(root))
    queued: list[tuple] = []
    monkeypatch.setattr(jobs, "submit", lambda path, job, root=None: queued.append((path, job)) or "queued")
    at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_S)
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at, queued, root


def _texts(at) -> str:
    return "\n".join(
        str(e.value) for k in ("markdown", "caption", "info", "warning", "success", "error") for e in getattr(at, k)
    )


def _recipe_shown(at) -> dict:
    """The Train page's full-recipe table: field label → shown value (``recipes.shown_value``)."""
    rows = table(at, "setting", "value", "meaning")
    return dict(zip(rows["setting"], rows["value"]))


def test_a_named_run_on_the_benchmark_split_queues_its_command(train_page):
    at, queued, _ = train_page
    at.text_input(key="tr_run_name").set_value("short_crop")
    at.radio(key="tr_plan").set_value("benchmark").run()
    at.number_input(key="tr_epochs").set_value(2)
    at.number_input(key="tr_crop_s").set_value(2.5)
    at.button(key="tr_start").click().run()
    assert not at.exception and not at.error, _texts(at)
    ((path, job),) = queued
    assert path.parent.name == "cnn1d@short_crop" and path.name == "benchmark-fold0"
    request = job["request"]
    assert request["run_name"] == "short_crop" and request["plan"] == "benchmark"
    assert request["given"]["crop_s"] == 2.5 and request["given"]["epochs"] == 2
    assert _recipe_shown(at)[BY_NAME["crop_s"].label] == "2.5"  # the full recipe is shown, as people read it


def test_the_advanced_inputs_show_the_models_recipe_and_0_turns_a_technique_off(train_page):
    """cnn1d's default recipe has crops and EMA on: the inputs say so (not "0: off"), and 0 turns one off."""
    at, queued, _ = train_page
    assert at.number_input(key="tr_crop_s").value == 2.5 and at.number_input(key="tr_ema_decay").value == 0.999
    at.number_input(key="tr_epochs").set_value(2)
    at.selectbox(key="tr_fold").set_value(0)
    at.number_input(key="tr_crop_s").set_value(0.0).run()
    recipe = _recipe_shown(at)
    assert recipe[BY_NAME["crop_s"].label] == "off" and recipe[BY_NAME["ema_decay"].label] == "0.999", recipe
    at.button(key="tr_start").click().run()
    assert not at.exception and not at.error, _texts(at)
    ((_, job),) = queued
    given = job["request"]["given"]
    assert given["crop_s"] == 0 and given["ema_decay"] == 0.999
    at.selectbox(key="tr_model").set_value("cnn2d").run()  # another model: its own recipe, no crops
    assert at.number_input(key="tr_crop_s").value == 0.0 and at.number_input(key="tr_ema_decay").value == 0.0


def test_a_bad_run_name_is_refused_with_one_line_and_no_folder(train_page):
    at, queued, root = train_page
    at.text_input(key="tr_run_name").set_value("my run!").run()
    assert any("run name" in str(e.value) for e in at.error), _texts(at)
    assert at.button(key="tr_start").disabled
    assert queued == [] and not list(root.glob("*/*/*"))  # no run folder


def test_start_says_what_it_costs_and_asks_before_a_long_training(train_page):
    at, queued, _ = train_page
    assert "samples/s" in _texts(at) and "RESULTS.md" in _texts(at)  # no earlier run: the default speed
    at.number_input(key="tr_epochs").set_value(500)
    at.selectbox(key="tr_fold").set_value(-1).run()
    assert at.checkbox(key="tr_confirm").value is False
    at.button(key="tr_start").click().run()
    assert queued == [] and any("tick the box" in str(w.value) for w in at.warning)
    at.checkbox(key="tr_confirm").check()
    at.button(key="tr_start").click().run()
    assert [p.name for p, _ in queued] == [f"fold{k}" for k in range(5)]


def test_progress_text_and_epoch_tile_agree_and_no_none(train_page, demo_ds):
    at, _, root = train_page
    path = RunPaths.of(demo_ds.name, "superclass", "cnn1d", 0, root=root).folder
    path.mkdir(parents=True)
    now = time.time()
    events = [
        {"event": "start", "time": now - 5, "epochs": 2, "steps_per_epoch": 10, "n_train": 160},
        {"event": "batch", "epoch": 0, "step": 4, "loss": 0.7, "lr": 1e-3, "time": now - 1},
    ]
    (path / "progress.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    with RunLock(path):  # a live training holds its lock
        write_json(path / "status.json", {"state": "running", "epochs": 2, "pid": None, "updated": now})
        at.run()
        tile = next(m for m in at.metric if m.label == "Epoch")
        bar = at.get("progress")[0].proto.text
    assert tile.value == "1/2" and "epoch 1/2" in bar, (tile.value, bar)
    runs = next(d.value for d in at.dataframe if "state" in d.value.columns)
    row = runs.iloc[0]
    assert row["state"] == "running" and row["epoch"] == "1/2"
    assert "None" not in " ".join(str(v) for v in row.to_list())


def test_several_seeds_per_fold_are_one_request(train_page):
    """Seeds per fold: one background job per fold whose request trains seeds 0 … N−1 (the Seed input is
    then not used), and the time estimate counts every seed."""
    at, queued, _ = train_page
    at.number_input(key="tr_epochs").set_value(1)
    at.selectbox(key="tr_fold").set_value(0)
    at.number_input(key="tr_seeds").set_value(3).run()
    assert at.number_input(key="tr_seed").disabled
    assert any("× 3 seeds" in c.value for c in at.caption)
    at.button(key="tr_start").click().run()
    assert not at.exception and not at.error, _texts(at)
    ((_, job),) = queued
    assert job["request"]["seeds"] == 3 and "seed" not in job["request"]["given"]
