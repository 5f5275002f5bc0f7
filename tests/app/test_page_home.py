"""Home (AppTest): the Download PTB-XL button against a local mirror (progress, done, switch to the new
folder), wording that matches where the data comes from (no "leave it empty for demo data" while real
data is loaded, no internal names in the sidebar), the fold note, and damaged runs shown as damaged."""

from __future__ import annotations

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ecgcore import download as dl
from ecgcore import download_jobs
from ecgcore.run_paths import RunPaths

PROJECT = Path(__file__).resolve().parents[2]
APP = PROJECT / "streamlit_app.py"
TIMEOUT_S = 90


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def mirror(tmp_path_factory, monkeypatch):
    """A local PhysioNet mirror of a 30-record release (ECGCORE_PHYSIONET_URL points at it)."""
    from ecgcore.demo import make_demo_dataset

    release = make_demo_dataset(tmp_path_factory.mktemp("mirror") / "ptb-xl", 30, seed=1)
    dl.write_release_files(release)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(release)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ECGCORE_PHYSIONET_URL", f"http://127.0.0.1:{server.server_port}/")
    yield release
    server.shutdown()


def _start(monkeypatch, env_root: Path | None, runs_root: Path) -> AppTest:
    if env_root is None:
        monkeypatch.delenv("ECGCORE_DATA_ROOT", raising=False)
    else:
        monkeypatch.setenv("ECGCORE_DATA_ROOT", str(env_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(runs_root))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at) -> str:
    kinds = ("markdown", "caption", "info", "warning", "success", "error")
    return "\n".join(str(e.value) for k in kinds for e in getattr(at, k))


def test_download_button_fetches_from_the_mirror_and_offers_the_folder(monkeypatch, mirror, tmp_path, no_settings):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    at = _start(monkeypatch, None, tmp_path / "runs")
    out = dl.default_out()
    assert str(out) in _texts(at)  # the target folder is shown
    at.radio(key="home_dl_rate").set_value("100")
    at.button(key="home_dl_start").click().run()
    assert not at.exception and at.button(key="home_dl_start").disabled
    deadline = time.time() + 120
    while time.time() < deadline and download_jobs.download_status(out).state in ("queued", "running"):
        time.sleep(0.5)
    assert download_jobs.download_status(out).state == "done"
    at.run()
    assert any("Downloaded and verified" in s.value and "files" in s.value for s in at.success), _texts(at)
    at.button(key="home_dl_use").click().run()
    assert not at.exception
    assert any(str(out) in s.value for s in at.success), _texts(at)
    assert "PTB-XL" in [b.proto.label for b in at.get("badge")] or "synthetic" not in _texts(at)
    assert at.selectbox(key="sb_source").value == "saved"


def test_home_says_where_the_data_comes_from(monkeypatch, demo_root, tmp_path, no_settings):
    at = _start(monkeypatch, demo_root, tmp_path / "runs")
    text = _texts(at)
    assert "Leave it empty" not in text and "leave it empty" not in text
    assert "environment variable ECGCORE_DATA_ROOT" in text
    assert "Synthetic demo data is loaded now from the environment" in text  # the env folder is a demo set
    sb = at.selectbox(key="sb_source")
    assert not any(o.startswith("ECGCORE_DATA_ROOT:") for o in sb.options)
    assert "PTB-XL (environment)" in sb.options
    at2 = _start(monkeypatch, None, tmp_path / "runs")
    assert "demo data is loaded now" in _texts(at2)


def test_home_shows_a_damaged_run_as_damaged(monkeypatch, demo_root, demo_ds, tmp_path, no_settings):
    root = tmp_path / "runs"
    path = RunPaths.of(demo_ds.name, "superclass", "cnn1d", 0, root=root).folder
    path.mkdir(parents=True)
    (path / "status.json").write_text('{"state": "runn')
    at = _start(monkeypatch, demo_root, root)
    assert any("damaged" in str(e.value) for e in at.error), _texts(at)
    table = next(d.value for d in at.dataframe if "state" in d.value.columns)
    assert list(table["state"]) == ["damaged"]
