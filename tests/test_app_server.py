"""ecgcore.app_server: `python -m ecgcore app` imports the pages' heavy modules, then serves the app."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ecgcore import app_server

PROJECT = Path(__file__).resolve().parent.parent


def test_serve_preloads_then_runs_the_app_script_with_the_options(monkeypatch):
    from streamlit.web import cli

    calls = []
    monkeypatch.setattr(app_server, "preload", lambda names=app_server.WARM_MODULES: calls.append("preload") or [])

    def fake_main(args, prog_name):
        calls.append(("streamlit", args, prog_name, "torch" in sys.modules))
        raise SystemExit(0)

    monkeypatch.setattr(cli, "main", fake_main)
    assert app_server.serve(["--server.port", "8599"]) == 0
    assert calls[0] == "preload"
    assert calls[1][:3] == (
        "streamlit",
        ["run", str(PROJECT / "streamlit_app.py"), "--server.port", "8599"],
        "streamlit",
    )


def test_an_option_streamlit_refuses_is_an_error_not_a_silent_exit(monkeypatch, capsys):
    from streamlit.web import cli

    monkeypatch.setattr(app_server, "preload", lambda names=app_server.WARM_MODULES: [])

    def refuse(args, prog_name):
        raise SystemExit("Setting 'server.cookieSecret' option using the CLI flag is not allowed.")

    monkeypatch.setattr(cli, "main", refuse)
    assert app_server.serve(["--server.cookieSecret", "x"]) == 1
    assert "error: Setting 'server.cookieSecret'" in capsys.readouterr().err


def test_preload_imports_every_warm_module_and_names_the_failures():
    assert app_server.preload(["ecgcore.figures", "ecgcore.no_such_module"]) == ["ecgcore.no_such_module"]
    assert "ecgcore.figures" in sys.modules
    assert "app_pages" not in " ".join(app_server.WARM_MODULES)  # the library never imports the app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.mark.slow
def test_the_cli_serves_the_app_with_torch_already_imported(tmp_path, demo_root):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = os.environ | {"ECGCORE_DATA_ROOT": str(demo_root), "ECGCORE_RUNS_DIR": str(tmp_path / "runs")}
    env["PYTHONPATH"] = str(PROJECT)
    argv = [sys.executable, "-m", "ecgcore", "app", "--server.port", str(port), "--server.address", "127.0.0.1"]
    argv += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            argv, cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.time() + 90
        while not _healthy(url):
            assert proc.poll() is None and time.time() < deadline, log.read_text()[-2000:]
            time.sleep(0.2)
        with urllib.request.urlopen(f"{url}/saliency?ecg_id=1", timeout=10) as r:  # a deep link
            assert r.status == 200 and b"<html" in r.read().lower()
        said = log.read_text()
        assert "ecgcore: imported the pages' modules in" in said and "not importable" not in said, said
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
