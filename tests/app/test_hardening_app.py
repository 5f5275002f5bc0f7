"""Hardening, round three (app side), through AppTest: a runs folder that cannot be written is one
line on Train (never an exception box) while Home and Dataset keep working; a finished download whose
folder was deleted is not offered; bad ``fold=``/``plan=`` values of a Saliency deep link are named."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from streamlit.testing.v1 import AppTest

from ecgcore import download as dl
from tests.app.conftest import APP, RUN_TIMEOUT_S
from tests.app.helpers import finished_download, page


def _app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_S)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _train_says_one_line(at: AppTest, words: str) -> None:
    at = page(at, "train")
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and words in errors[0] and "\n" not in errors[0], errors
    assert at.button(key="tr_start").disabled
    for name in ("home", "dataset"):  # the other pages keep working
        assert page(at, name).title


def test_a_runs_folder_that_is_a_file(monkeypatch, demo_root, tmp_path, no_settings):
    runs = tmp_path / "runs"
    runs.write_text("not a folder")
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(runs))
    _train_says_one_line(_app(), "is a file, not a folder")


def test_a_read_only_runs_folder(monkeypatch, demo_root, tmp_path, no_settings):
    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o555)
    monkeypatch.setenv("ECGCORE_DATA_ROOT", str(demo_root))
    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(runs))
    if os.geteuid() == 0:  # root writes anywhere: the folder refuses as a read-only mount would
        real = tempfile.TemporaryFile

        def refuse(*args, dir=None, **kwargs):  # noqa: A002 — tempfile's own parameter name
            if dir is not None and os.path.samefile(dir, runs):
                raise PermissionError(13, "Permission denied", str(runs))
            return real(*args, dir=dir, **kwargs)

        monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    try:
        _train_says_one_line(_app(), "cannot be written (Permission denied)")
    finally:
        runs.chmod(0o755)


def test_a_failed_write_when_queueing_is_one_line(monkeypatch, app_env, tmp_path):
    from ecgcore import jobs

    monkeypatch.setenv("ECGCORE_RUNS_DIR", str(tmp_path / "runs"))

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(jobs, "submit", refuse)
    at = page(_app(), "train")
    at.text_input(key="tr_run_name").set_value("refused").run()
    at.button(key="tr_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "could not be queued" in errors[0] and "Permission denied" in errors[0], errors


def test_a_deleted_download_is_not_offered(monkeypatch, app_env, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    out = dl.default_out()
    finished_download(app_env["data_root"], out)
    try:
        at = _app()
        assert [b for b in at.button if b.key == "home_dl_use"]  # offered while the folder holds PTB-XL
        shutil.rmtree(out)
        at.run()
        assert not at.exception and not [b for b in at.button if b.key == "home_dl_use"]
        assert any("is gone" in i.value and str(out) in i.value for i in at.info), [i.value for i in at.info]
    finally:
        shutil.rmtree(dl.status_dir(out), ignore_errors=True)


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"fold": "9"}, "fold 9 does not exist"),
        ({"plan": "bogus"}, "plan 'bogus' is not a fold plan"),
        ({"fold": "x"}, "fold 'x' is not a fold number"),
        ({"model": "cnn1d", "fold": "3"}, "has no trained fold 3"),
    ],
)
def test_a_bad_fold_or_plan_in_a_saliency_link_is_named(app, params, said):
    app.query_params.update(params)
    at = page(app, "saliency")
    warnings = " ".join(w.value for w in at.warning)
    assert said in warnings, warnings
