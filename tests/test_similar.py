"""Similar cases (issue "which known cases an ECG resembles"): features before the classifier head, an
index of the fold's training part cached beside the run and rebuilt when the weights change, never the
query itself nor its patient, and the ``similar`` command's refusals and CSV."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import torch

from ecgcore.__main__ import main
from ecgcore.checkpoints import load_checkpoint
from ecgcore.errors import CheckpointError, DataError, RunError
from ecgcore.inference import classifier_head, predict_features
from ecgcore.models import create_model, n_parameters
from ecgcore.similar import NEIGHBOUR_COLUMNS, SimilarIndex, index_path, normalise, similar_cases


def _index() -> SimilarIndex:
    features = normalise(np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0], [0.8, 0.3]], np.float32))
    return SimilarIndex(features, np.array([10, 11, 12, 13, 14]), np.array([1.0, 1.0, 2.0, 3.0, np.nan]), "k")


def test_query_never_returns_itself_or_its_patient_and_reports_cosine_distance():
    rows, dist = _index().query(np.array([[1.0, 0.0]]), 2, [10], [1.0])[0]
    assert rows.tolist() == [4, 2]  # 10 is the query, 11 its patient's other record
    cos = np.array([0.8, 0.3]) @ np.array([1.0, 0.0]) / np.linalg.norm([0.8, 0.3])
    assert dist[0] == pytest.approx(1 - cos, abs=1e-6)
    rows, _ = _index().query(np.array([[1.0, 0.0]]), 10)[0]  # an upload: nothing excluded, at most N
    assert rows.tolist() == [0, 1, 4, 2, 3]


def test_k_below_one_is_refused():
    with pytest.raises(RunError, match="--k 0"):
        _index().query(np.ones((1, 2)), 0)


def test_features_are_the_head_input_and_parameter_counts_are_unchanged(demo_ds):
    from ecgcore.models import ECGClassifier

    for name, dim, params in (("cnn1d", 128, 46_757), ("cnn2d", 32, 6_613)):
        net = create_model(name, n_classes=5)
        assert n_parameters(net) == params
        model = ECGClassifier(net, torch.zeros(12), torch.ones(12))
        f = predict_features(model, demo_ds.signals[:3], "cpu")
        assert f.shape == (3, dim) and f.dtype == np.float32
        with torch.no_grad():  # the head on these features gives the model's logits
            logits = net.head(torch.from_numpy(f))
            assert torch.allclose(logits, model(torch.from_numpy(np.array(demo_ds.signals[:3]))), atol=1e-5)


def test_a_model_without_a_head_has_no_features():
    with pytest.raises(CheckpointError, match="no classifier head"):
        classifier_head(torch.nn.Linear(3, 2))


def test_similar_cases_excludes_the_patient_and_caches_the_index(trained_runs, demo_ds):
    folder = trained_runs["cnn1d"]
    ecg_id = int(demo_ds.records["ecg_id"].iloc[0])
    table = similar_cases(demo_ds, folder, ecg_id=ecg_id, k=4, device="cpu")
    assert list(table.columns) == list(NEIGHBOUR_COLUMNS) and len(table) == 4
    patient = demo_ds.records["patient_id"].iloc[0]
    assert ecg_id not in table["ecg_id"].tolist() and patient not in table["patient_id"].tolist()
    assert table["distance"].is_monotonic_increasing
    stamp = os.stat(index_path(folder)).st_mtime_ns
    similar_cases(demo_ds, folder, signal=demo_ds.signals[0], k=2, device="cpu")
    assert os.stat(index_path(folder)).st_mtime_ns == stamp  # cached: not rebuilt


def test_an_index_of_other_weights_is_rebuilt(trained_runs, demo_ds, tmp_path):
    import shutil

    from ecgcore.checkpoints import save_checkpoint
    from ecgcore.similar import _read_index, index_key

    folder = tmp_path / "fold0"
    shutil.copytree(trained_runs["cnn1d"], folder)
    similar_cases(demo_ds, folder, ecg_id=int(demo_ds.records["ecg_id"].iloc[1]), k=1, device="cpu")
    model, meta = load_checkpoint(folder / "best.pt")
    with torch.no_grad():
        model.net.head[-1].bias += 1.0  # a retrained best.pt
    save_checkpoint(folder / "best.pt", model, meta)
    assert _read_index(index_path(folder), index_key(model, meta, demo_ds)) is None
    similar_cases(demo_ds, folder, ecg_id=int(demo_ds.records["ecg_id"].iloc[1]), k=1, device="cpu")
    assert _read_index(index_path(folder), index_key(model, meta, demo_ds)) is not None


def test_unknown_record_is_a_data_error(trained_runs, demo_ds):
    with pytest.raises(DataError, match="ecg_id 99999999 is not in"):
        similar_cases(demo_ds, trained_runs["cnn1d"], ecg_id=99999999, device="cpu")


def _argv(trained_runs, demo_root, *extra):
    root = trained_runs["cnn1d"].parents[3]
    return ["similar", "--data_root", str(demo_root), "--runs_dir", str(root), "--run", "cnn1d", "--fold", "0", *extra]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--ecg_id", "1", "--k", "0"], "--k 0"),
        (["--ecg_id", "99999999"], "ecg_id 99999999 is not in"),
        (["--ecg_id", "1", "--run", "cnn1d:nope"], "does not exist"),
        (["--ecg_id", "1", "--fold", "all"], "give --fold K"),
    ],
)
def test_similar_refusals_are_one_line_exit_2(trained_runs, demo_root, extra, message, capsys):
    assert main(_argv(trained_runs, demo_root, *extra)) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and err.count("\n") == 1 and message in err, err


def test_similar_out_writes_one_row_per_neighbour(trained_runs, demo_root, demo_ds, tmp_path, capsys):
    ecg_id = str(int(demo_ds.records["ecg_id"].iloc[2]))
    out = tmp_path / "near.csv"
    assert main(_argv(trained_runs, demo_root, "--ecg_id", ecg_id, "--k", "3", "--out", str(out))) == 0
    assert "nearest to ecg_id" in capsys.readouterr().out
    table = pd.read_csv(out)
    assert list(table.columns) == list(NEIGHBOUR_COLUMNS) and len(table) == 3
    assert table["rank"].tolist() == [1, 2, 3] and int(ecg_id) not in table["ecg_id"].tolist()
    assert table["statements"].str.match(r"^[A-Z_/0-9]+ \d").all()


def test_similar_input_file(trained_runs, demo_root, demo_ds, tmp_path, capsys):
    from ecgcore.uploads import signal_csv

    record = tmp_path / "upload.csv"
    record.write_bytes(signal_csv(np.asarray(demo_ds.signals[3])))
    assert main(_argv(trained_runs, demo_root, "--input", str(record), "--k", "2")) == 0
    assert "upload.csv" in capsys.readouterr().out
