"""What the Predict page does with an upload, through the library: the one reader (ecgcore.uploads)
and the prediction table and CSV (ecgcore.predict)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgcore import uploads
from ecgcore.errors import UploadError
from ecgcore.predict import predictions_csv, probability_table, record_predictions


def test_probability_table_and_csv():
    """The Predict page's download is the CLI's layout: one row, per-class columns, no comment lines."""
    import io

    import pandas as pd

    t = probability_table(np.array([0.9, 0.2]), ["NORM", "MI"], [0.5, 0.1], true_labels=["NORM"])
    assert t["predicted"].tolist() == [True, True] and t["true label"].tolist() == [True, False]
    csv = predictions_csv(record_predictions(t, "rec1")).decode()
    assert not csv.startswith("#")
    table = pd.read_csv(io.StringIO(csv))
    assert list(table.columns) == [
        "ecg_id", "NORM_probability", "NORM_predicted", "NORM_threshold", "MI_probability", "MI_predicted", "MI_threshold",
    ]  # fmt: skip
    assert table.iloc[0].tolist() == ["rec1", 0.9, 1, 0.5, 0.2, 1, 0.1]


def test_read_upload_csv_round_trip(demo_ds):
    record = uploads.read_record_upload([("rec.csv", uploads.signal_csv(demo_ds.signals[2]))])
    assert record.fs == 100 and record.name == "rec" and record.signal.shape == (12, 1000)
    np.testing.assert_allclose(record.signal, demo_ds.signals[2], atol=1e-4)
    assert uploads.at_rate(record, 500).signal.shape == (12, 5000)


def test_read_upload_wfdb(demo_root, demo_ds):
    stem = demo_root / demo_ds.records["filename"].iloc[0]
    files = [(p.name, p.read_bytes()) for p in (stem.with_suffix(".hea"), stem.with_suffix(".dat"))]
    record = uploads.read_record_upload(files)
    assert record.name == stem.name and record.fs == 100
    np.testing.assert_allclose(record.signal, demo_ds.signals[0], atol=1e-3)


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
        uploads.read_record_upload(files)
