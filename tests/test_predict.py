"""ecgcore.predict: folder prediction, one record through the upload reader (``predict --input``), the
--out check before any work, and the thresholds predict shares with evaluate."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd

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
    predictions, ds = predict_folder(trained_runs["cnn2d"] / "best.pt", folder, device="cpu")
    assert list(predictions.columns) == ["ecg_id", *demo_ds.label_names]
    assert predictions["ecg_id"].tolist() == table.ecg_id.tolist()
    assert ds.labels.shape == (5, 0) and not ds.is_demo
    from ecgcore.checkpoints import load_checkpoint
    from ecgcore.inference import predict_proba

    model, _ = load_checkpoint(trained_runs["cnn2d"] / "best.pt")
    np.testing.assert_allclose(
        predictions.iloc[:, 1:].to_numpy(), predict_proba(model, demo_ds.signals[:5], "cpu"), atol=1e-6
    )
