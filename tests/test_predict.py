"""ecgcore.predict: folder prediction, one record through the upload reader (``predict --input``), the
--out check before any work, and the thresholds predict shares with evaluate."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from ecgcore.predict import predict_folder


def test_predict_folder(trained_runs, demo_root, demo_ds, tmp_path):
    folder = tmp_path / "user"
    table = pd.read_csv(demo_root / "ptbxl_database.csv").head(5)
    folder.mkdir()
    table[["ecg_id", "filename_lr"]].to_csv(folder / "ptbxl_database.csv", index=False)
    for f in table.filename_lr:
        (folder / f).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".hea", ".dat"):
            shutil.copy(demo_root / f"{f}{ext}", folder / f"{f}{ext}")
    predictions, ds, info = predict_folder(trained_runs["cnn2d"] / "best.pt", folder, device="cpu")
    assert info["notes"] == []  # another dataset (its own csv): nothing the model saw in training
    assert list(predictions.columns) == ["ecg_id", *prediction_columns(demo_ds.label_names)]
    assert predictions["ecg_id"].tolist() == table.ecg_id.tolist()
    assert ds.labels.shape == (5, 0) and not ds.is_demo
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.inference import predict_proba

    model, _ = load_checkpoint(trained_runs["cnn2d"] / "best.pt")
    np.testing.assert_allclose(
        predictions[[f"{c}_probability" for c in demo_ds.label_names]].to_numpy(),
        predict_proba(model, demo_ds.signals[:5], "cpu"),
        atol=1e-5,
    )


def test_predicting_the_training_records_says_so(trained_runs, demo_root, demo_ds, tmp_path, capsys):
    """Predicting the folder a model was trained on: a note counts and names the records of its training
    and validation parts (their probabilities are not estimates on unseen data)."""
    from ecgcore.__main__ import main
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.ensemble import training_parts_of

    ckpt = trained_runs["cnn1d"] / "best.pt"
    out = tmp_path / "p.csv"
    assert main(["predict", "--checkpoint", str(ckpt), "--data_root", str(demo_root), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    parts = training_parts_of(load_checkpoint(ckpt)[1], demo_ds)
    n_seen = len(parts["train"] | parts["val"])
    assert 0 < n_seen < len(demo_ds.records)
    assert f"note: {n_seen:,} of {len(demo_ds.records):,} records were in the training or validation part" in said
    assert list(pd.read_csv(out).columns) == ["ecg_id", *prediction_columns(demo_ds.label_names)]
    assert (
        "records were in the training or validation part"
        in json.loads((tmp_path / "p.csv.json").read_text())["notes"][0]
    )


# ----------------------------------------------------------------------------- one record: predict --input


def predict_cli(checkpoint, source: list[str], out) -> int:
    from ecgcore.__main__ import main

    return main(["predict", "--checkpoint", str(checkpoint), *source, "--out", str(out), "--device", "cpu"])


def read_predictions(path) -> pd.DataFrame:
    """A predictions CSV as it is: no comment lines to skip."""
    return pd.read_csv(path)


def prediction_columns(names) -> list[str]:
    return [f"{c}_{what}" for c in names for what in ("probability", "predicted", "threshold")]


def test_predict_input_csv(trained_runs, demo_ds, tmp_path, capsys):
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.inference import predict_proba
    from ecgcore.uploads import signal_csv

    signal = np.asarray(demo_ds.signals[3], dtype=np.float32)
    src = tmp_path / "rec.csv"
    src.write_bytes(signal_csv(signal * 1000))  # in µV: converted, and said so
    out = tmp_path / "out.csv"
    ckpt = trained_runs["cnn1d"] / "best.pt"
    assert predict_cli(ckpt, ["--input", str(src)], out) == 0
    printed = capsys.readouterr().out
    assert "note: values looked like µV" in printed and "note: a CSV has no sampling rate" in printed
    assert "note: the model was trained on SYNTHETIC demo data" in printed  # a demo model on an upload: said
    table = read_predictions(out)
    model, meta = load_checkpoint(ckpt)
    assert list(table.columns) == ["ecg_id", *prediction_columns(meta["label_names"])]
    assert table["ecg_id"].tolist() == ["rec"] and len(table) == 1
    expected = predict_proba(model, np.round(signal, 4)[None], "cpu")[0]  # signal_csv writes 4 decimals
    names = meta["label_names"]
    np.testing.assert_allclose(table[[f"{c}_probability" for c in names]].iloc[0], expected, atol=2e-4)
    np.testing.assert_allclose(table[[f"{c}_threshold" for c in names]].iloc[0], meta["thresholds"], atol=1e-4)
    predicted = table[[f"{c}_predicted" for c in names]].iloc[0].to_numpy()
    assert set(predicted) <= {0, 1}
    np.testing.assert_array_equal(predicted, (expected >= np.array(meta["thresholds"]) - 1e-4).astype(int))
    info = json.loads((tmp_path / "out.csv.json").read_text())
    assert info["format"] == "ecgcore-predictions/1" and info["source"] == str(src)
    assert info["checkpoints"] == [str(ckpt)] and info["units"] == "mV" and info["sampling_rate_hz"] == 100
    assert any(n.startswith("values looked like µV") for n in info["notes"]) and info["trained_on"]["is_demo"]
    assert "what was assumed →" in printed and "leads in the order I, II" in printed


def test_predict_input_wfdb_pair_at_500hz_is_resampled(trained_runs, demo_ds, tmp_path, capsys):
    import wfdb

    from ecgcore.records import LEADS
    from ecgcore.uploads import resample_to

    signal = resample_to(np.asarray(demo_ds.signals[5], dtype=np.float32), 100, 500)
    wfdb.wrsamp(
        "r500", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=signal.T.astype(np.float64),
        fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path),
    )  # fmt: skip
    out = tmp_path / "out.csv"
    assert predict_cli(trained_runs["cnn2d"] / "best.pt", ["--input", str(tmp_path / "r500.hea")], out) == 0
    printed = capsys.readouterr().out
    assert "note: resampled from 500 Hz to 100 Hz" in printed and "r500: predicted" in printed
    assert list(read_predictions(out).columns) == ["ecg_id", *prediction_columns(demo_ds.label_names)]


@pytest.mark.parametrize("source", ["input", "folder"])
@pytest.mark.parametrize("bad_out", ["missing/out.csv", "a_folder"])
def test_bad_out_refused_before_any_prediction(trained_runs, demo_root, tmp_path, monkeypatch, capsys, source, bad_out):
    import ecgcore.predict as predict
    from ecgcore.uploads import signal_csv

    def never(*a, **k):
        raise AssertionError("predicted before --out was checked")

    monkeypatch.setattr(predict, "predict_proba", never)
    monkeypatch.setattr(predict, "predict_folder", never)
    monkeypatch.setattr(predict, "load_checkpoint", never)
    (tmp_path / "a_folder").mkdir()
    src = tmp_path / "rec.csv"
    src.write_bytes(signal_csv(np.sin(np.linspace(0, 60, 1000))[None].repeat(12, 0)))
    args = ["--input", str(src)] if source == "input" else ["--data_root", str(demo_root)]
    assert predict_cli(trained_runs["cnn1d"] / "best.pt", args, tmp_path / bad_out) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and err.count("\n") == 1
    assert ("does not exist" if bad_out.startswith("missing") else "is a folder") in err
    assert not (tmp_path / "missing").exists()


def test_predict_input_refusals(trained_runs, demo_root, tmp_path, capsys):
    ckpt = trained_runs["cnn1d"] / "best.pt"
    empty = tmp_path / "empty.csv"
    empty.write_text("I,II,III,AVR,AVL,AVF,V1,V2,V3,V4,V5,V6\n")
    assert predict_cli(ckpt, ["--input", str(empty)], tmp_path / "o.csv") == 2
    err = capsys.readouterr().err
    assert "no data rows" in err and "skip_bad" not in err
    assert predict_cli(ckpt, ["--input", str(empty), "--skip_bad"], tmp_path / "o.csv") == 2
    assert not (tmp_path / "o.csv").exists()
    with pytest.raises(SystemExit) as info:  # argparse: one of the two, not both
        predict_cli(ckpt, ["--input", str(empty), "--data_root", str(demo_root)], tmp_path / "o.csv")
    assert info.value.code == 2


def test_json_given_as_checkpoint_is_not_a_checkpoint(tmp_path, capsys):
    fake = tmp_path / "best.pt"
    fake.write_text('{"model": "cnn1d"}')
    src = tmp_path / "rec.csv"
    src.write_text("x")
    assert predict_cli(fake, ["--input", str(src)], tmp_path / "o.csv") == 2
    err = capsys.readouterr().err
    assert "is not a checkpoint" in err and "may contain code" not in err


# ----------------------------------------------------------------------------- thresholds: one source


def test_predict_uses_the_thresholds_evaluate_used(trained_runs, demo_ds):
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.evaluate import read_results
    from ecgcore.predict import predict_record
    from ecgcore.thresholds import decision_thresholds
    from ecgcore.uploads import UploadedRecord

    for path in trained_runs.values():
        _, meta = load_checkpoint(path / "best.pt")
        thresholds, source = decision_thresholds(meta)
        assert source == "checkpoint"
        assert read_results(path)["thresholds"] == pytest.approx(thresholds.tolist())
        record = UploadedRecord(np.asarray(demo_ds.signals[0], dtype=np.float32), 100, "r")
        table, _ = predict_record(path / "best.pt", record, "cpu")
        np.testing.assert_allclose(table["threshold"], thresholds, atol=1e-4)


def test_out_never_overwrites_an_input_a_checkpoint_or_a_foreign_file(trained_runs, demo_root, tmp_path, capsys):
    """--out naming the input record, a file of the dataset folder, a checkpoint, or a file that is not
    an earlier predictions CSV is refused (exit 2) and leaves that file as it was."""
    import shutil

    from ecgcore.uploads import signal_csv

    src = tmp_path / "rec.csv"
    src.write_bytes(signal_csv(np.sin(np.linspace(0, 60, 1000))[None].repeat(12, 0)))
    ckpt = tmp_path / "best.pt"
    shutil.copy(trained_runs["cnn1d"] / "best.pt", ckpt)
    notes = tmp_path / "notes.csv"
    notes.write_text("patient,comment\n1,keep me\n")
    cases = [
        (["--input", str(src)], src),
        (["--data_root", str(demo_root)], demo_root / "ptbxl_database.csv"),
        (["--input", str(src)], ckpt),
        (["--input", str(src)], notes),
    ]
    for args, out in cases:
        before = out.read_bytes()
        assert predict_cli(ckpt, args, out) == 2, out
        assert capsys.readouterr().err.startswith("error: --out")
        assert out.read_bytes() == before
    assert predict_cli(ckpt, ["--input", str(src)], tmp_path / "p.csv") == 0
    assert predict_cli(ckpt, ["--input", str(src)], tmp_path / "p.csv") == 0  # an earlier prediction is replaced


def test_checkpoint_folder_uses_its_best_pt(trained_runs, tmp_path, capsys):
    """``--checkpoint RUN_FOLDER`` predicts with its best.pt; a folder without one says to give it."""
    from ecgcore.uploads import signal_csv

    src = tmp_path / "rec.csv"
    src.write_bytes(signal_csv(np.sin(np.linspace(0, 60, 1000))[None].repeat(12, 0)))
    assert predict_cli(trained_runs["cnn1d"], ["--input", str(src)], tmp_path / "p.csv") == 0
    assert len(read_predictions(tmp_path / "p.csv")) == 1
    empty = tmp_path / "empty_run"
    empty.mkdir()
    assert predict_cli(empty, ["--input", str(src)], tmp_path / "q.csv") == 2
    err = capsys.readouterr().err
    assert "is a folder with no best.pt in it; give a checkpoint file (best.pt)" in err and "does not exist" not in err


def test_many_records_and_one_record_share_one_layout(trained_runs, demo_root, tmp_path):
    from ecgcore.sources import load_ptbxl
    from ecgcore.uploads import signal_csv

    ds = load_ptbxl(demo_root)
    ckpt = trained_runs["cnn1d"] / "best.pt"
    src = tmp_path / "rec.csv"
    src.write_bytes(signal_csv(np.asarray(ds.signals[0])))
    assert predict_cli(ckpt, ["--input", str(src)], tmp_path / "one.csv") == 0
    assert predict_cli(ckpt, ["--data_root", str(demo_root)], tmp_path / "many.csv") == 0
    one, many = read_predictions(tmp_path / "one.csv"), read_predictions(tmp_path / "many.csv")
    assert list(one.columns) == list(many.columns) and len(many) == len(ds.records)
    assert json.loads((tmp_path / "many.csv.json").read_text())["dataset"] == ds.description


def test_a_foreign_sidecar_is_never_overwritten(trained_runs, tmp_path, capsys):
    from ecgcore.uploads import signal_csv

    src = tmp_path / "rec.csv"
    src.write_bytes(signal_csv(np.sin(np.linspace(0, 60, 1000))[None].repeat(12, 0)))
    (tmp_path / "p.csv.json").write_text('{"mine": 1}')
    assert predict_cli(trained_runs["cnn1d"] / "best.pt", ["--input", str(src)], tmp_path / "p.csv") == 2
    assert "is not a predictions sidecar of ecgcore" in capsys.readouterr().err
    assert (tmp_path / "p.csv.json").read_text() == '{"mine": 1}' and not (tmp_path / "p.csv").exists()
