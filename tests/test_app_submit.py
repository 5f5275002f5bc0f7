"""ecgcore.app.submit (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

import json
import shutil

from ecgcore.app import submit
from ecgcore.fileio import write_json
from ecgcore.runs import run_dir


def test_submit_training_refuses_a_finished_run_without_replace(demo_ds, tmp_path, trained_runs):
    root = tmp_path / "runs"
    shutil.copytree(trained_runs["cnn1d"], run_dir(demo_ds.name, "superclass", "cnn1d", 0, root=root))
    write_json(run_dir(demo_ds.name, "superclass", "cnn1d", 0, root=root) / "status.json", {"state": "done"})
    out = submit.submit_training(
        demo_ds, "cnn1d", [0], label_set="superclass", epochs=1, batch_size=16, lr=1e-3, root=root
    )
    assert out[0].state is None and "already holds a done run" in out[0].message
    assert json.loads((out[0].path / "status.json").read_text())["state"] == "done"  # left alone
