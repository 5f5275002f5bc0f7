"""The fault matrix seen from the app (docs/faults.md): the real pages through
streamlit.testing.v1.AppTest, on copies of the session's demo data and trained runs — a corrupt
results.json on Evaluate, hostile uploads on Predict, a partial download on every page, and killed or
damaged runs on Train. Each must show a message (``st.error``/``st.warning``), never an exception, and the
page must keep working for the next good request. The library-level rows are in tests/test_faults.py."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ecgcore.app.settings import settings_path
from ecgcore.app.words import state_words
from ecgcore.fileio import write_json
from ecgcore.records import DEMO_MARKER
from ecgcore.run_paths import RunPaths

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "streamlit_app.py"
TIMEOUT_S = 90  # the first run of a session imports torch and loads the dataset; the machine is shared


def start(monkeypatch, data_root: Path, runs_root: Path) -> AppTest:
    """The app (on Home) for this data folder and runs folder, with no saved settings."""
    settings_path().unlink(missing_ok=True)
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(data_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(runs_root))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def goto(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error]


def shown(at: AppTest) -> str:
    return "\n".join(
        str(e.value)
        for kind in ("markdown", "caption", "info", "warning", "success", "error")
        for e in getattr(at, kind)
    )


@pytest.fixture
def runs_copy(tmp_path, trained_runs) -> Path:
    """A runs folder holding copies of the trained cnn1d and cnn2d runs (fold 0), free to damage."""
    root = tmp_path / "runs"
    for model, src in trained_runs.items():
        shutil.copytree(src, RunPaths.of("demo", "superclass", model, 0, root=root).folder)
    return root


@pytest.fixture(autouse=True)
def _no_saved_settings():
    yield
    settings_path().unlink(missing_ok=True)


def test_evaluate_shows_a_corrupt_results_file_and_keeps_working(monkeypatch, demo_root, runs_copy):
    broken = RunPaths.of("demo", "superclass", "cnn1d", 0, root=runs_copy).folder
    text = (broken / "results.json").read_text()
    (broken / "results.json").write_text(text[: len(text) // 3])  # cut short
    at = goto(start(monkeypatch, demo_root, runs_copy), "evaluate")
    assert at.selectbox(key="ev_model").value == "cnn1d"
    assert any("results.json" in e and "corrupt" in e and "ecgcore eval" in e for e in errors(at)), errors(at)
    # the other model's results are still shown
    at.selectbox(key="ev_model").set_value("cnn2d").run()
    assert not at.exception and not at.error, errors(at)
    assert any("support" in d.value.columns for d in at.dataframe)
    # repaired (evaluated again), the run shows again: nothing is cached from the broken file
    (broken / "results.json").write_text(text)
    at.selectbox(key="ev_model").set_value("cnn1d").run()
    assert not at.exception and not at.error, errors(at)


def test_predict_refuses_hostile_uploads_and_keeps_working(monkeypatch, demo_root, runs_copy, demo_ds):
    at = goto(start(monkeypatch, demo_root, runs_copy), "predict")
    name = pd.read_csv(demo_root / "ptbxl_database.csv")["filename_lr"][0]
    hea = (demo_root / f"{name}.hea").read_bytes()
    dat = (demo_root / f"{name}.dat").read_bytes()
    stem = Path(name).name
    cases = [
        (
            [
                (f"{stem}.hea", hea.replace(f"{stem}.dat".encode(), b"../../../etc/passwd"), "text/plain"),
                (f"{stem}.dat", dat, "application/octet-stream"),
            ],
            f"{stem}.hea",
        ),
        (
            [
                (f"{stem}.hea", hea.replace(b" 100 1000", b" 100 300000000", 1), "text/plain"),
                (f"{stem}.dat", dat, "application/octet-stream"),
            ],
            "300000000 samples",
        ),
        (
            [(f"{stem}.hea", hea, "text/plain"), (f"{stem}.dat", dat * 5, "application/octet-stream")],
            "matching .hea and .dat",
        ),
        ([(f"{stem}.hea", hea, "text/plain")], "1 .hea and 0 .dat"),
        ([(f"{stem}.dat", b"", "application/octet-stream"), (f"{stem}.hea", hea, "text/plain")], "is empty"),
        ([("ecg.csv", b"I,II\nx,y\n", "text/csv")], "one per lead"),
    ]
    for files, needle in cases:
        at.file_uploader(key="pr_files").set_value(files).run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(needle in e for e in errors(at)), (needle, errors(at))
        assert not any("probability" in d.value.columns for d in at.dataframe)
    # the next good upload works
    at.file_uploader(key="pr_files").set_value(
        [(f"{stem}.hea", hea, "text/plain"), (f"{stem}.dat", dat, "application/octet-stream")]
    ).run()
    assert not at.exception and not at.error, errors(at)
    table = next(d.value for d in at.dataframe if "probability" in d.value.columns)
    assert list(table["class"]) == list(demo_ds.label_names)


def test_partial_download_is_reported_on_every_page_and_skip_bad_recovers(monkeypatch, demo_root, tmp_path):
    root = tmp_path / "ptbxl"
    root.mkdir()
    table = pd.read_csv(demo_root / "ptbxl_database.csv").head(80)
    table.to_csv(root / "ptbxl_database.csv", index=False)
    for f in ("scp_statements.csv", DEMO_MARKER):
        shutil.copy2(demo_root / f, root)
    for i, f in enumerate(table["filename_lr"]):
        (root / f).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".hea", ".dat"):
            if not (i == 7 and ext == ".dat"):  # one record's .dat never arrived
                shutil.copy2(demo_root / f"{f}{ext}", root / f"{f}{ext}")
    missing = f"{table['filename_lr'][7]}.dat"
    at = start(monkeypatch, root, tmp_path / "runs")
    for page in ("home", "dataset", "train", "evaluate", "saliency"):
        goto(at, page)
        assert any(missing in e and "partial download" in e for e in errors(at)), (page, errors(at))
    # ticking "leave out unreadable or missing records" loads the other 79 and names the one left out
    at.sidebar.checkbox(key="sb_skip_bad").check().run()
    goto(at, "home")
    assert not at.error, errors(at)
    assert "79 records" in shown(at)


def test_train_shows_interrupted_and_damaged_runs(monkeypatch, demo_root, runs_copy):
    killed = RunPaths.of("demo", "superclass", "cnn1d", 0, root=runs_copy).folder  # a process killed mid-training
    write_json(
        killed / "status.json",
        {
            "state": "running",
            "pid": 2**22 + 1,
            "epoch": 0,
            "epochs": 3,
            "argv": ["train", "--model", "cnn1d", "--fold", "0"],
            "updated": time.time(),
        },
    )
    damaged = RunPaths.of("demo", "superclass", "cnn2d", 0, root=runs_copy).folder
    (damaged / "status.json").write_text('{"state": "runn')  # a damaged status file
    at = goto(start(monkeypatch, demo_root, runs_copy), "train")
    runs = next(d.value for d in at.dataframe if "state" in d.value.columns)
    assert sorted(runs["state"]) == [
        state_words("damaged"),
        state_words("interrupted"),
    ]  # in words; issue 11: a damaged status.json is "damaged", not "failed"
    at.selectbox(key="tr_follow").set_value(str(killed)).run()
    assert any("stopped without finishing" in w.value for w in at.warning)
    assert at.button(key="tr_resume").disabled is False and at.button(key="tr_cancel").disabled is True
    at.selectbox(key="tr_follow").set_value(str(damaged)).run()
    assert any("corrupt" in e for e in errors(at)), errors(at)
    assert not at.exception


@pytest.mark.parametrize(
    "content, field",
    [('{"data_root": 42, "source": "saved"}', "data_root"), ('{"data_root": ["/a"]}', "data_root"), ("{not json", "")],
)
def test_a_settings_file_of_the_wrong_type_is_ignored_with_a_warning(monkeypatch, demo_root, runs_copy, content, field):
    """app_settings.json with data_root a number, a list, or not JSON: every page still works on the
    other dataset choices and says the file was ignored; Home's "Forget" button resets the file."""
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(runs_copy))
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(content)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [str(w.value) for w in at.warning if "settings file" in str(w.value)]
    assert warnings and "ignored" in warnings[0] and field in warnings[0], shown(at)
    for name in ("dataset", "train", "evaluate"):
        goto(at, name)
        assert any("settings file" in str(w.value) for w in at.warning), name
    goto(at, "home")
    forget = [b for b in at.button if b.label == "Forget the saved folder"]
    assert forget, [b.label for b in at.button]
    forget[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("settings file" in str(w.value) for w in at.warning), shown(at)
