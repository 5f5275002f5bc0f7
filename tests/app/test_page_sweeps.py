"""The Sweeps page (AppTest): a bad search space is one line and starts nothing; a study's trials show
as a table in words with Optuna's figures; the best recipe is promoted as background trainings of every
fold × seeds."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from streamlit.testing.v1 import AppTest

from ecgcore import jobs
from ecgcore.run_paths import sweep_journal
from ecgcore.sweeps.space import parse_space
from ecgcore.sweeps.study import SweepSpec, open_storage, open_study

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "streamlit_app.py"


@pytest.fixture
def sweeps_page(monkeypatch, demo_root, tmp_path, no_settings):
    root = tmp_path / "runs"
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(root))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page("app_pages/sweeps.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at, root


def _study_with_trials(demo_ds, root: Path) -> optuna.Study:
    """A sweep 'tune' of cnn1d with three finished trials, as workers would have left it."""
    texts = ["lr=1e-3:3e-2:log"]
    spec = SweepSpec("tune", "cnn1d", 3, parse_space(texts, "cnn1d"), texts, 2)
    storage = open_storage(sweep_journal(demo_ds.name, demo_ds.label_set, "tune", root))
    study = open_study(spec, storage, demo_ds.name, demo_ds.label_set)
    dist = {"lr": optuna.distributions.FloatDistribution(1e-3, 3e-2, log=True)}
    for k, (lr, score) in enumerate(((1e-3, 0.41), (5e-3, 0.52), (2e-2, 0.47))):
        trial = optuna.trial.create_trial(params={"lr": lr}, distributions=dist, value=score,
                                          user_attrs={"run": f"tune-t{k}"}, intermediate_values={0: score - 0.1, 1: score})  # fmt: skip
        study.add_trial(trial)
    return study


def test_a_bad_search_space_is_one_line_and_starts_nothing(sweeps_page):
    at, root = sweeps_page
    at.text_area(key="sw_space").set_value("momentum=0.1:0.9")
    at.button(key="FormSubmitter:sw_form-Start the sweep").click().run()
    assert not at.exception
    (error,) = at.error
    assert "momentum" in error.value and "\n" not in error.value.strip()
    assert not (root.exists() and any(root.rglob("*.journal")))


def test_trials_figures_and_promotion(sweeps_page, demo_ds, monkeypatch):
    at, root = sweeps_page
    _study_with_trials(demo_ds, root)
    queued = []
    monkeypatch.setattr(jobs, "submit", lambda path, job, root=None: queued.append((path, job)) or "queued")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (table,) = [d.value for d in at.dataframe if "trial" in d.value.columns]
    assert table["state"].tolist() == ["finished"] * 3 and "run name" not in table.columns
    assert table["validation macro PR-AUC"].max() == pytest.approx(0.52)
    assert "None" not in table.to_string()
    at.number_input(key="sw_seeds").set_value(2)
    at.button(key="sw_promote").click().run()
    assert not at.exception and not at.error
    assert len(queued) == 5  # every fold of the plan
    request = queued[0][1]["request"]
    assert request["run_name"] == "tune" and request["seeds"] == 2 and request["given"]["lr"] == pytest.approx(5e-3)
