"""The Predict page (AppTest): the class explained is the class shown after a second upload, a new
upload replaces the old one, leakage of a training record is flagged, a run's trained folds vote
together by default (and say how many), and the reader's notes are shown."""

from __future__ import annotations

import json
import re

import numpy as np
from streamlit.testing.v1 import AppTest

from ecgcore.app.records import record_parts
from ecgcore.predict import predict_record
from ecgcore.saliency import default_target
from ecgcore.uploads import read_record_upload, signal_csv
from tests.app.helpers import texts


def page(at: AppTest, name: str = "predict") -> AppTest:
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, files) -> AppTest:
    at.file_uploader(key="pr_files").set_value(files).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ecg_title(at: AppTest) -> str:
    for c in at.get("plotly_chart"):
        fig = json.loads(c.proto.spec)
        if any((t.get("meta") or {}).get("role") == "lead" for t in fig["data"]):
            return re.sub(r"<[^>]+>", "", fig["layout"]["title"]["text"])
    raise AssertionError("no ECG chart")


def target_box(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Explain class")


def expected_default(checkpoint, signal) -> str:
    record = read_record_upload([("r.csv", signal_csv(signal))])
    table, _ = predict_record(checkpoint, record, device="cpu")
    return table["class"][default_target(table["probability"].to_numpy(), table["threshold"].to_numpy())]


def test_second_upload_explains_its_own_default_class(app, demo_ds, trained_runs):
    at = page(app)
    upload(at, [("first.csv", signal_csv(demo_ds.signals[3]), "text/csv")])
    model = ecg_title(at).split(" · ")[1].split()[0]
    second_default = expected_default(trained_runs[model] / "best.pt", demo_ds.signals[11])
    box = target_box(at)
    other = next(n for n in demo_ds.label_names if n not in (box.value, second_default))
    box.set_value(other).run()
    assert f"for {other} " in ecg_title(at)
    upload(at, [("second.csv", signal_csv(demo_ds.signals[11]), "text/csv")])
    box = target_box(at)
    title = ecg_title(at)
    assert title.startswith("second ·") and f"for {box.value} " in title
    assert box.value == second_default


def test_a_new_upload_replaces_the_old_one(app, demo_root, demo_ds):
    at = page(app)
    upload(at, [("rec.csv", signal_csv(demo_ds.signals[2]), "text/csv")])
    stem = demo_root / demo_ds.records["filename"].iloc[0]
    hea, dat = stem.with_suffix(".hea"), stem.with_suffix(".dat")
    upload(
        at,
        [
            ("rec.csv", signal_csv(demo_ds.signals[2]), "text/csv"),
            (hea.name, hea.read_bytes(), "text/plain"),
            (dat.name, dat.read_bytes(), "application/octet-stream"),
        ],
    )
    assert not at.error, [e.value for e in at.error]
    assert ecg_title(at).startswith(f"{stem.name} ·")
    assert "rec.csv is left aside" in texts(at)


def test_training_record_is_flagged_as_not_a_test(app, demo_ds):
    at = page(app)
    parts = record_parts(demo_ds, "cv5", 0)
    train_i, test_i = int(np.flatnonzero(parts == "train")[0]), int(np.flatnonzero(parts == "test")[0])
    upload(at, [("mine.csv", signal_csv(demo_ds.signals[train_i]), "text/csv")])
    ecg_id = int(demo_ds.records["ecg_id"].iloc[train_i])
    assert any(
        "Not a test" in w.value and f"ecg_id {ecg_id}" in w.value and "train part" in w.value for w in at.warning
    )
    upload(at, [("other.csv", signal_csv(demo_ds.signals[test_i]), "text/csv")])
    assert not any("Not a test" in w.value for w in at.warning)


def test_headerless_csv_note_is_shown(app, demo_ds):
    at = page(app)
    body = b"\n".join(b",".join(b"%.4f" % v for v in row) for row in np.asarray(demo_ds.signals[5]).T)
    upload(at, [("bare.csv", body, "text/csv")])
    assert not at.error, [e.value for e in at.error]
    assert at.info, "the reader's notes are shown"


def test_fold_ensemble_by_default_says_how_many_voted(app, two_fold_root, demo_ds):
    at = page(app)
    group = next(k for k in at.selectbox(key="pr_group").options if "cnn1d" in str(k))
    at.selectbox(key="pr_group").set_value(group).run()
    upload(at, [("rec.csv", signal_csv(demo_ds.signals[4]), "text/csv")])
    assert "mean of 2 models' probabilities (2 voted)" in texts(at)
    assert "no cross-validated score" in texts(at)
    assert "ensemble of 2" in ecg_title(at)
    folds = next(s for s in at.selectbox if s.label == "Folds")
    folds.set_value(1).run()
    assert "voted" not in texts(at) and "fold 1 ·" in ecg_title(at)
