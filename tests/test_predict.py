"""ecgcore.predict: folder prediction, one record through the upload reader (``predict --input``), the
--out check before any work, and the thresholds predict shares with evaluate."""

from __future__ import annotations

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
    predictions, ds, notes = predict_folder(trained_runs["cnn2d"] / "best.pt", folder, device="cpu")
    assert notes == []  # another dataset (its own csv): nothing the model saw in training
    assert list(predictions.columns) == ["ecg_id", *demo_ds.label_names]
    assert predictions["ecg_id"].tolist() == table.ecg_id.tolist()
    assert ds.labels.shape == (5, 0) and not ds.is_demo
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.inference import predict_proba

    model, _ = load_checkpoint(trained_runs["cnn2d"] / "best.pt")
    np.testing.assert_allclose(
        predictions.iloc[:, 1:].to_numpy(), predict_proba(model, demo_ds.signals[:5], "cpu"), atol=1e-6
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
    assert list(pd.read_csv(out).columns) == ["ecg_id", *demo_ds.label_names]  # the CSV is as before


# ----------------------------------------------------------------------------- one record: predict --input


def predict_cli(checkpoint, source: list[str], out) -> int:
    from ecgcore.__main__ import main

    return main(["predict", "--checkpoint", str(checkpoint), *source, "--out", str(out), "--device", "cpu"])


def read_predictions(path) -> pd.DataFrame:
    return pd.read_csv(path, comment="#")


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
    assert list(table.columns) == ["class", "probability", "threshold", "predicted"]
    model, meta = load_checkpoint(ckpt)
    expected = predict_proba(model, np.round(signal, 4)[None], "cpu")[0]  # signal_csv writes 4 decimals
    np.testing.assert_allclose(table["probability"], expected, atol=2e-4)
    np.testing.assert_allclose(table["threshold"], meta["thresholds"], atol=1e-4)
    assert "# note: values looked like µV" in out.read_text()


def test_predict_input_wfdb_pair_at_500hz_is_resampled(trained_runs, demo_ds, tmp_path, capsys):
    import wfdb

    from ecgcore.data import LEADS
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
    assert list(read_predictions(out)["class"]) == list(demo_ds.label_names)


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
    from ecgcore.evaluate import decision_thresholds, read_results
    from ecgcore.predict import predict_record
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
