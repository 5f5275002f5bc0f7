"""ecgcore.browse: what the app's pages compute (filters, fold checks, run tables, training progress,
metric tables, thresholds, uploads, settings) — tested without Streamlit."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgcore import browse, jobs
from ecgcore.errors import CheckpointError, DataError, UploadError
from ecgcore.evaluate import comparison_table
from ecgcore.fileio import write_json
from ecgcore.folds import patient_folds
from ecgcore.runs import run_dir


@pytest.fixture
def trained_root(trained_runs) -> Path:
    return trained_runs["cnn1d"].parents[3]


@pytest.fixture
def cnn1d_results(trained_runs) -> dict:
    return json.loads((trained_runs["cnn1d"] / "results.json").read_text())


# ----------------------------------------------------------------------------- settings


def test_settings_round_trip_and_survive_a_broken_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(tmp_path))
    assert browse.load_settings() == {}
    browse.save_settings(data_root="/data/ptbxl", source="saved")
    assert browse.save_settings(source="demo") == {"data_root": "/data/ptbxl", "source": "demo"}
    assert json.loads((tmp_path / "app_settings.json").read_text())["source"] == "demo"
    (tmp_path / "app_settings.json").write_text("{broken")
    assert browse.load_settings() == {}


def test_check_data_root(tmp_path, demo_root):
    assert browse.check_data_root(f"  {demo_root}  ") == demo_root.resolve()
    for bad, message in (
        ("", "type the path"),
        (str(tmp_path / "missing"), "not a folder"),
        (str(tmp_path), "no ptbxl_database.csv"),
    ):
        with pytest.raises(DataError, match=message):
            browse.check_data_root(bad)


def test_clear_signal_cache_removes_only_cache_files(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(tmp_path))
    assert browse.clear_signal_cache() == 0
    (tmp_path / "signals").mkdir()
    for name in ("a.npy", "a.json"):
        (tmp_path / "signals" / name).write_text("x")
    (tmp_path / "app_settings.json").write_text("{}")
    assert browse.clear_signal_cache() == 2
    assert not list((tmp_path / "signals").iterdir()) and (tmp_path / "app_settings.json").exists()


# ----------------------------------------------------------------------------- records


def test_record_table(demo_ds):
    t = browse.record_table(demo_ds)
    assert list(t.columns) == ["ecg_id", "patient_id", "age", "sex", "strat_fold", "labels", "report"]
    assert len(t) == len(demo_ds.records)
    assert set(t["sex"]) <= {"male", "female", "unknown"}
    i = int(np.flatnonzero(demo_ds.labels.sum(1) >= 2)[0])
    assert t["labels"].iloc[i].split(", ") == browse.record_labels(demo_ds, i)


def test_filter_records_by_each_field(demo_ds):
    r = demo_ds.records
    names = list(demo_ds.label_names)
    everything = browse.filter_records(demo_ds, browse.RecordFilter())
    assert len(everything) == len(r)

    mi, sttc = names.index("MI"), names.index("STTC")
    anyof = browse.filter_records(demo_ds, browse.RecordFilter(labels=["MI", "STTC"]))
    allof = browse.filter_records(demo_ds, browse.RecordFilter(labels=["MI", "STTC"], label_mode="all"))
    assert set(anyof) == set(np.flatnonzero(demo_ds.labels[:, mi] | demo_ds.labels[:, sttc]))
    assert set(allof) == set(np.flatnonzero(demo_ds.labels[:, mi] & demo_ds.labels[:, sttc]))
    none = browse.filter_records(demo_ds, browse.RecordFilter(labels=[browse.NO_LABEL]))
    assert set(none) == set(np.flatnonzero(~demo_ds.labels.any(1)))

    folds = browse.filter_records(demo_ds, browse.RecordFilter(strat_folds=[3, 4]))
    assert set(r["strat_fold"].iloc[folds]) == {3, 4}
    women = browse.filter_records(demo_ds, browse.RecordFilter(sexes=["female"]))
    assert (r["sex"].iloc[women] == 1).all()
    aged = browse.filter_records(demo_ds, browse.RecordFilter(age=(40, 60), unknown_age=False))
    assert r["age"].iloc[aged].between(40, 60).all()

    report = r["report"].iloc[0]
    word = max(report.split(), key=len)
    hits = browse.filter_records(demo_ds, browse.RecordFilter(text=word.upper()))
    assert 0 in hits and all(word.lower() in r["report"].iloc[i].lower() for i in hits)

    pid, eid = int(r["patient_id"].iloc[5]), int(r["ecg_id"].iloc[9])
    ids = browse.filter_records(demo_ds, browse.RecordFilter(ids=f"{pid}, {eid}"))
    assert set(ids) == set(np.flatnonzero((r["patient_id"] == pid) | (r["ecg_id"] == eid)))
    with pytest.raises(DataError, match="not in the label set"):
        browse.filter_records(demo_ds, browse.RecordFilter(labels=["LVH"]))


def test_record_lookup_details_and_patient(demo_ds):
    eid = int(demo_ds.records["ecg_id"].iloc[11])
    i = browse.record_index(demo_ds, eid)
    assert i == 11 and browse.record_index(demo_ds, 10**9) is None
    d = browse.record_details(demo_ds, i)
    assert d["ecg_id"] == eid and d["labels"] == browse.record_labels(demo_ds, i)
    mine = browse.patient_records(demo_ds, d["patient_id"])
    assert eid in set(mine["ecg_id"]) and (mine["patient_id"] == d["patient_id"]).all()


def test_parts_follow_the_fold_plan(demo_ds):
    parts = browse.record_parts(demo_ds, "cv5", 2)
    f = patient_folds(demo_ds.records, demo_ds.labels.any(1), "cv5")[2]
    assert (parts[f.test] == "test").all() and (parts[f.train] == "train").all() and (parts[f.val] == "val").all()
    assert (parts[~demo_ds.labels.any(1)] == "—").all()


# ----------------------------------------------------------------------------- dataset summary


def test_summary_counts(demo_ds):
    s = browse.dataset_summary(demo_ds)
    assert s["records"] == len(demo_ds.records) == s["labelled"] + s["unlabelled"]
    counts = browse.label_counts(demo_ds).set_index("label")
    assert counts.loc["NORM", "records"] == demo_ds.labels[:, 0].sum()
    strat = browse.strat_fold_counts(demo_ds)
    assert list(strat.index) == [f"strat fold {k}" for k in range(1, 11)]
    assert strat["records"].sum() == s["labelled"]
    assert (strat[list(demo_ds.label_names)].sum() == demo_ds.labels.sum(0)).all()


def test_folds_are_patient_disjoint(demo_ds):
    overlap = browse.patient_overlap(demo_ds, "cv5")
    assert list(overlap["fold"]) == [0, 1, 2, 3, 4]
    assert browse.shared_patients(overlap) == 0
    assert browse.patients_in_several_strat_folds(demo_ds) == 0


def test_overlap_is_counted_when_a_patient_spans_parts(demo_ds):
    from dataclasses import replace

    records = demo_ds.records.copy()
    test_row = int(np.flatnonzero((records["strat_fold"] == 1) & demo_ds.labels.any(1))[0])
    train_row = int(np.flatnonzero((records["strat_fold"] == 5) & demo_ds.labels.any(1))[0])
    records.loc[test_row, "patient_id"] = records.loc[train_row, "patient_id"]  # one patient in two strat folds
    broken = replace(demo_ds, records=records)
    assert browse.patients_in_several_strat_folds(broken) == 1
    assert browse.shared_patients(browse.patient_overlap(broken)) >= 1


def test_part_counts_feed_the_distribution_figure(demo_ds):
    from ecgcore.figures import label_distribution_figure
    from ecgcore.folds import fold_summary

    parts = browse.part_counts(fold_summary(demo_ds.records, demo_ds.labels, demo_ds.label_names), 1)
    assert list(parts.index) == ["train", "val", "test"] and "records" in parts.columns
    assert len(label_distribution_figure(parts).data) == 3


# ----------------------------------------------------------------------------- runs


def test_find_runs_sees_api_runs_without_status(trained_root, trained_runs):
    runs = browse.find_runs(trained_root, "demo")
    assert {r.model for r in runs} == {"cnn1d", "cnn2d"}
    assert all(r.state == "done" and r.fold == 0 for r in runs)
    table = browse.runs_table(runs)
    assert list(table["state"]) == ["done", "done"] and table["results"].all()
    assert table["test macro PR-AUC"].notna().all()
    overview = browse.trained_overview(runs).set_index("model")
    assert overview.loc["cnn1d", "folds evaluated"] == [0]
    assert browse.find_runs(trained_root, "other") == []
    assert len(browse.evaluated_runs("demo", trained_root)) == 2
    assert len(browse.checkpoint_runs("demo", "subclass", trained_root)) == 0


def test_runs_table_uses_the_live_state(tmp_path):
    path = run_dir("demo", "superclass", "cnn1d", 2, root=tmp_path)
    write_json(
        path / "status.json", {"state": "running", "pid": 999999, "epochs": 4, "epoch": 1, "updated": time.time()}
    )
    runs = browse.find_runs(tmp_path)
    assert browse.runs_table(runs)["state"].tolist() == ["interrupted"]  # no process holds its lock
    assert browse.runs_table(runs)["epoch"].tolist() == ["2/4"]
    assert not browse.is_active(runs[0])
    assert jobs.busy_trainings(tmp_path) == 0


def _events(resumed: bool = False) -> list[dict]:
    ev = [{"event": "start", "time": 100.0, "epochs": 4, "steps_per_epoch": 10, "resumed_from": None}]
    ev += [
        {"event": "batch", "step": s, "loss": 1.0 / s, "epoch": (s - 1) // 10, "time": 100.0 + s} for s in range(1, 16)
    ]
    ev += [
        {
            "event": "epoch_end",
            "epoch": 0,
            "step": 10,
            "train_loss": 0.5,
            "val_loss": 0.6,
            "val_macro_pr_auc": 0.4,
            "time": 110.0,
        }
    ]
    if resumed:  # died in epoch 1 at step 15, resumed from epoch 1
        ev += [{"event": "start", "time": 200.0, "epochs": 4, "steps_per_epoch": 10, "resumed_from": 1}]
        ev += [{"event": "batch", "step": s, "loss": 0.1, "epoch": 1, "time": 200.0 + s - 10} for s in range(11, 21)]
    return ev


def test_training_progress_steps_and_time():
    p = browse.training_progress(_events(), "running", now=115.0)
    assert (p.steps_done, p.steps_total, p.epoch, p.epochs) == (15, 40, 1, 4)
    assert p.fraction == pytest.approx(15 / 40)
    assert p.elapsed_s == pytest.approx(15.0)
    assert p.remaining_s == pytest.approx(25.0)  # 25 steps left at 1 step/s
    assert "step 15/40" in p.text and "left" in p.text
    resumed = browse.training_progress(_events(resumed=True), "running", now=210.0)
    assert resumed.steps_done == 20 and resumed.elapsed_s == pytest.approx(10.0)
    assert resumed.remaining_s == pytest.approx(20.0)  # 10 steps in 10 s since the resume
    assert browse.training_progress([], "queued").fraction == 0.0
    done = _events() + [{"event": "done", "time": 130.0, "step": 15}]
    assert browse.training_progress(done, "done", now=999.0).elapsed_s == pytest.approx(30.0)
    assert browse.training_progress(done, "done").fraction == 1.0


def test_curve_events_drop_steps_done_again_after_a_resume():
    events = browse.curve_events(_events(resumed=True))
    steps = [e["step"] for e in events if e["event"] == "batch"]
    assert steps == sorted(steps) and len(steps) == len(set(steps)) == 20
    assert browse.curve_events(_events()) == _events()


def test_log_tail(tmp_path):
    (tmp_path / "train.log").write_text("\n".join(f"line {i}" for i in range(100)))
    assert browse.log_tail(tmp_path, 3) == "line 97\nline 98\nline 99"
    assert browse.log_tail(tmp_path / "missing") == ""


def test_submit_training_refuses_a_finished_run_without_replace(demo_ds, tmp_path, trained_runs):
    root = tmp_path / "runs"
    shutil.copytree(trained_runs["cnn1d"], run_dir(demo_ds.name, "superclass", "cnn1d", 0, root=root))
    write_json(run_dir(demo_ds.name, "superclass", "cnn1d", 0, root=root) / "status.json", {"state": "done"})
    out = browse.submit_training(
        demo_ds, "cnn1d", [0], label_set="superclass", epochs=1, batch_size=16, lr=1e-3, root=root
    )
    assert out[0].state is None and "already holds a done run" in out[0].message
    assert json.loads((out[0].path / "status.json").read_text())["state"] == "done"  # left alone


def test_resumable():
    assert not browse.resumable(Path("/nowhere"), "interrupted")


# ----------------------------------------------------------------------------- evaluation


def test_metrics_and_per_class_tables(cnn1d_results):
    m = browse.metrics_table(cnn1d_results).set_index("metric")
    assert m.loc["macro PR-AUC", "value"] == cnn1d_results["macro_pr_auc"]
    lo, hi = cnn1d_results["ci95"]["macro_pr_auc"]
    assert (m.loc["macro PR-AUC", "95% CI low"], m.loc["macro PR-AUC", "95% CI high"]) == (lo, hi)
    per_class = browse.per_class_table(cnn1d_results)
    assert list(per_class["class"]) == cnn1d_results["label_names"]
    assert (per_class["TP"] + per_class["FN"] == per_class["support"]).all()


def test_confusion_at_thresholds(cnn1d_results):
    matrices, thresholds, table = browse.confusion_at(cnn1d_results)
    for name in cnn1d_results["label_names"]:
        assert matrices[name] == cnn1d_results["per_class"][name]["confusion"]  # the validation-chosen ones
    assert list(thresholds.values()) == cnn1d_results["thresholds"]
    everything, _, t0 = browse.confusion_at(cnn1d_results, 0.0)
    assert (t0["FN"] == 0).all() and (t0["TN"] == 0).all() and (t0["sensitivity"] == 1).all()
    n = len(cnn1d_results["test_true"])
    assert all(sum(map(sum, m)) == n for m in everything.values())
    first = cnn1d_results["label_names"][0]
    _, thr, _ = browse.confusion_at(cnn1d_results, {first: 0.9})
    assert thr[first] == 0.9 and list(thr.values())[1:] == cnn1d_results["thresholds"][1:]


def test_folds_table_and_mean_sd(cnn1d_results):
    other = dict(cnn1d_results, macro_pr_auc=cnn1d_results["macro_pr_auc"] + 0.1)
    t = browse.folds_table({0: cnn1d_results, 1: other})
    assert list(t["fold"]) == ["0", "1", "mean", "SD"]
    assert t.set_index("fold").loc["mean", "macro PR-AUC"] == pytest.approx(cnn1d_results["macro_pr_auc"] + 0.05)
    assert "n = 2 folds" in browse.mean_sd_text({0: cnn1d_results, 1: other})
    assert browse.mean_sd_text({}) == "—"


def test_model_comparison_matches_evaluate(demo_ds, trained_root):
    mine = browse.model_comparison(demo_ds.name, demo_ds.label_set, root=trained_root)
    pd.testing.assert_frame_equal(mine, comparison_table(demo_ds, root=trained_root))
    wide = browse.side_by_side(mine)
    assert list(wide.columns) == ["fold", "cnn1d", "cnn2d", "cnn2d − cnn1d"]
    assert browse.side_by_side(pd.DataFrame(columns=mine.columns)).empty


def test_reference_rows_are_labelled(cnn1d_results):
    t = browse.reference_with_runs({"cnn1d": {0: cnn1d_results}}, "demo data")
    assert t.iloc[0]["kind"] == "your runs" and t.iloc[0]["data"] == "demo data"
    ref = t[t["kind"] != "your runs"]
    assert len(ref) >= 4 and ref["data"].notna().all() and ref["protocol"].notna().all()
    assert list(browse.reference_with_runs({}, "x")["kind"].unique()) == ["reference (not run here)"]


# ----------------------------------------------------------------------------- checkpoints, uploads


def test_check_checkpoint_fits():
    meta = {"label_names": ["NORM", "MI"], "sampling_rate": 100}
    browse.check_checkpoint_fits(meta, ("NORM", "MI"), 100)
    with pytest.raises(CheckpointError, match="label set"):
        browse.check_checkpoint_fits(meta, ("NORM",), 100)
    with pytest.raises(CheckpointError, match="500 Hz"):
        browse.check_checkpoint_fits(meta, ("NORM", "MI"), 500)


def test_probability_table_and_csv():
    t = browse.probability_table(np.array([0.9, 0.2]), ["NORM", "MI"], [0.5, 0.1], true_labels=["NORM"])
    assert t["predicted"].tolist() == [True, True] and t["true label"].tolist() == [True, False]
    csv = browse.predictions_csv(t, "rec1", "/runs/best.pt").decode()
    assert "not for diagnosis" in csv and "class,probability,threshold,predicted" in csv
    assert browse.saliency_target(np.array([0.1, 0.8, 0.3]), ["A", "B", "C"], ["C"]) == 2
    assert browse.saliency_target(np.array([0.1, 0.8, 0.3]), ["A", "B", "C"]) == 1


def test_read_upload_csv_round_trip(demo_ds):
    signal, fs, name = browse.read_upload([("rec.csv", browse.signal_csv(demo_ds.signals[2]))])
    assert fs == 100 and name == "rec" and signal.shape == (12, 1000)
    np.testing.assert_allclose(signal, demo_ds.signals[2], atol=1e-4)
    assert browse.prepare_signal(signal, fs, 500).shape == (12, 5000)


def test_read_upload_wfdb(demo_root, demo_ds):
    stem = demo_root / demo_ds.records["filename"].iloc[0]
    files = [(p.name, p.read_bytes()) for p in (stem.with_suffix(".hea"), stem.with_suffix(".dat"))]
    signal, fs, name = browse.read_upload(files)
    assert name == stem.name and fs == 100
    np.testing.assert_allclose(signal, demo_ds.signals[0], atol=1e-3)


@pytest.mark.parametrize(
    "files, message",
    [
        ([], "upload a WFDB record"),
        ([("x.png", b"\x89PNG")], "only .hea"),
        ([("a.csv", b"1,2\n"), ("b.csv", b"1,2\n")], "one CSV"),
        ([("a.csv", b"a,b\n1,2\n")], "12 columns|one per lead"),
        ([("a.csv", b"")], "empty"),
        ([("r.hea", b"r 12 100 1000\n")], ".dat"),
        ([("r.hea", b"garbage"), ("r.dat", b"\x00" * 10)], "header|WFDB"),
    ],
)
def test_read_upload_refuses_junk(files, message):
    with pytest.raises(UploadError, match=message):
        browse.read_upload(files)


def test_format_duration():
    assert [browse.format_duration(s) for s in (5, 65, 3725, None)] == ["5s", "1m 05s", "1h 02m", "—"]


def test_other_dataset_note(demo_ds):
    assert browse.other_dataset_note({"name": "demo", "fingerprint": demo_ds.fingerprint}, demo_ds) is None
    assert browse.other_dataset_note(None, demo_ds) is None
    note = browse.other_dataset_note(
        {"name": "demo", "fingerprint": "x", "n_records": 1000, "root": "/c/demo"}, demo_ds
    )
    assert "another dataset named 'demo'" in note and "1000 records" in note
