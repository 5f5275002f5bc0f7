"""ecgcore.app.explain — deep links, the record picker, the predicted set, ensemble members, which
uploaded files to read and the profile figure — tested without Streamlit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgcore.app import explain
from ecgcore.ensemble import member_thresholds
from ecgcore.errors import CheckpointError
from ecgcore.runs import RunInfo

NAMES = ["NORM", "MI", "STTC", "CD", "HYP"]
METHODS = ["integrated_gradients", "gradient", "grad_cam"]


def run(model="cnn1d", fold=0, name="default", plan="cv5", path=Path("/nowhere")) -> RunInfo:
    return RunInfo(path, "demo", "superclass", model, plan, fold, {}, name)


RUNS = [run(fold=0), run(fold=1), run(name="long", fold=2), run("cnn2d", 0), run(plan="benchmark", fold=0)]


def test_parse_link_picks_run_fold_class_and_method():
    link = explain.parse_link(
        {"ecg_id": "17", "model": "cnn1d", "run": "long", "fold": "2", "cls": "MI", "method": "gradient"},
        RUNS,
        NAMES,
        METHODS,
    )
    assert (link.ecg_id, link.run, link.cls, link.method, link.problems) == (17, RUNS[2], "MI", "gradient", [])
    assert explain.parse_link({"model": "cnn1d", "fold": "1"}, RUNS, NAMES, METHODS).run is RUNS[1]
    assert explain.parse_link({"model": "cnn1d", "plan": "benchmark"}, RUNS, NAMES, METHODS).run is RUNS[4]


def test_parse_link_names_every_problem():
    link = explain.parse_link(
        {"ecg_id": "x1", "model": "cnn1d", "fold": "4", "cls": "ZZZ", "method": "magic"}, RUNS, NAMES, METHODS
    )
    assert link.ecg_id is None and link.cls is None and link.method is None
    assert link.run is RUNS[0]  # the fold it has
    text = " ".join(link.problems)
    assert "'x1'" in text and "fold 4" in text and "ZZZ" in text and "magic" in text
    assert "no trained run nope:default" in " ".join(
        explain.parse_link({"model": "nope"}, RUNS, NAMES, METHODS).problems
    )


def test_link_params_round_trip():
    params = explain.link_params(17, RUNS[2], "MI", "gradient")
    assert params == {
        "ecg_id": "17",
        "model": "cnn1d",
        "run": "long",
        "fold": "2",
        "plan": "cv5",
        "cls": "MI",
        "method": "gradient",
    }
    assert explain.parse_link(params, RUNS, NAMES, METHODS).run is RUNS[2]
    assert explain.link_signature(params) == explain.link_signature(dict(params, other="x"))
    assert explain.link_signature({"ecg_id": "1", "cls": None}) == explain.link_signature({"ecg_id": "1"})


def test_predicted_set_in_words():
    probs, thr = np.array([0.7, 0.9, 0.1, 0.2, 0.05]), np.array([0.5, 0.3, 0.5, 0.5, 0.5])
    assert explain.predicted_set(probs, thr, NAMES) == "predicted: MI + NORM at the validation thresholds"
    assert explain.predicted_set(probs * 0, thr, NAMES) == "predicted: no class at the validation thresholds"
    assert "default 0.5" in explain.predicted_set(probs, thr, NAMES, "default 0.5")


def test_pick_records_and_misclassified():
    table = pd.DataFrame({"ecg_id": [1, 2, 3, 4], "patient_id": [1, 1, 2, 3], "labels": ["NORM", "MI", "", "MI"]})
    labels = np.array([[1, 0], [0, 1], [0, 0], [0, 1]])
    parts = np.array(["test", "test", "train", "val"])
    pick = lambda **kw: explain.pick_records(table, labels, ["NORM", "MI"], parts, **kw)["ecg_id"].tolist()  # noqa: E731
    assert pick() == [1, 2, 3, 4] and pick(part="test") == [1, 2] and pick(label="MI") == [2, 4]
    assert pick(label="MI", part="test") == [2] and pick(wrong={1, 4}) == [1, 4]
    outcomes = pd.DataFrame({"ecg_id": [1, 2], "NORM_outcome": ["TP", "FP"], "MI_outcome": ["FN", "TN"]})
    assert explain.misclassified_ids(outcomes) == {1, 2}
    assert explain.misclassified_ids(outcomes, "NORM") == {2} and explain.misclassified_ids(outcomes, "HYP") == set()
    assert explain.record_option({"ecg_id": 4, "patient_id": 3.0, "labels": ""}) == "ecg_id 4 · patient 3 · no label"


def test_fold_members_are_the_trained_folds_of_the_group(tmp_path):
    paths = []
    for k in range(3):
        (tmp_path / f"f{k}").mkdir()
        paths.append(tmp_path / f"f{k}")
    (paths[0] / "best.pt").write_bytes(b"x")
    (paths[2] / "best.pt").write_bytes(b"x")
    runs = [
        run(fold=2, path=paths[2]),
        run(fold=0, path=paths[0]),
        run(fold=1, path=paths[1]),
        run("cnn2d", 0, path=paths[0]),
    ]
    assert [r.fold for r in explain.fold_members(runs, runs[0])] == [0, 2]
    assert explain.voters_note(2) == "fold ensemble: the mean of 2 models' probabilities (2 voted)"


def test_members_must_answer_the_same_question():
    a = {"label_set": "superclass", "label_names": NAMES, "sampling_rate": 100, "thresholds": [0.2] * 5}
    b = dict(a, sampling_rate=500)
    with pytest.raises(CheckpointError, match="sampling_rate"):
        explain.check_members([a, b], ["a.pt", "b.pt"])
    thr, source = member_thresholds([a, dict(a, thresholds=[0.4] * 5)])
    assert source == "checkpoint" and np.allclose(thr, 0.3)
    assert member_thresholds([dict(a, thresholds=None)])[1] == "default 0.5"


@pytest.mark.parametrize(
    "names, read",
    [
        (["a.csv"], [0]),
        (["a.csv", "r.hea", "r.dat"], [1, 2]),  # a .hea/.dat pair after a CSV replaces it
        (["r.hea", "r.dat", "b.csv"], [2]),
        (["r.hea", "r.dat", "s.hea", "s.dat"], [2, 3]),
        (["r.dat", "a.csv", "r.hea"], [2]),  # the reader then says the .dat is missing
        (["r.hea", "r.dat", "r.hea"], [1, 2]),  # the newest .hea of that record
        (["a.csv", "x.png"], [1]),
    ],
)
def test_newest_upload(names, read):
    chosen, aside = explain.newest_upload(names)
    assert chosen == read and sorted(chosen + aside) == list(range(len(names)))


def test_upload_hash_and_ecg_id_in_name():
    assert explain.upload_hash([("a.csv", b"1")]) != explain.upload_hash([("a.csv", b"2")])
    assert explain.upload_hash([("a.csv", b"1")]) == explain.upload_hash([("a.csv", b"1")])
    assert explain.ecg_id_in_name("00017_lr") == 17 and explain.ecg_id_in_name("example_ecg_17") == 17
    assert explain.ecg_id_in_name("ecg_id-5") == 5 and explain.ecg_id_in_name("rec4") is None


def test_profile_figure_shades_the_windows():
    t = np.linspace(-0.25, 0.45, 71)
    summary = {
        "profile_t": t.tolist(),
        "profile": np.ones(71).tolist(),
        "profile_signed": np.zeros(71).tolist(),
        "windows": {"P": [-0.22, -0.06], "QRS": [-0.06, 0.06], "ST-T": [0.06, 0.45]},
        "n_records": 3,
        "class": "MI",
        "fold": 0,
        "cache_key": {"max_records": 50},
    }
    fig = explain.profile_figure(summary, "MI", signed=True)
    assert len(fig.layout.shapes) == 3 and len(fig.data) == 2
    assert fig.layout.shapes[1].x0 == pytest.approx(-60)
    assert "first 50 test records" in explain.summary_caption(summary, "demo")


def test_parse_link_names_a_bad_fold_or_plan():
    def said(params):
        return " ".join(explain.parse_link(params, RUNS, NAMES, METHODS).problems)

    assert "fold 9 does not exist" in said({"fold": "9"}) and "folds 0–4" in said({"fold": "9"})
    assert "plan 'bogus' is not a fold plan" in said({"model": "cnn1d", "plan": "bogus"})
    assert "fold 'x' is not a fold number" in said({"fold": "x"})
    assert "fold 1 does not exist" in said({"plan": "benchmark", "fold": "1"})
    assert explain.parse_link({"fold": "1"}, RUNS, NAMES, METHODS).run is RUNS[1]  # no model: the first trained
    assert explain.parse_link({"model": "cnn1d", "plan": "bogus"}, RUNS, NAMES, METHODS).run is None
