"""ecgcore.app.settings (moved from tests/test_browse.py with its assertions) — tested without Streamlit."""

from __future__ import annotations

import json

import pytest

from ecgcore.app import settings
from ecgcore.errors import DataError


def test_settings_round_trip_and_survive_a_broken_file(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(tmp_path))
    assert settings.load_settings() == {}
    settings.save_settings(data_root="/data/ptbxl", source="saved")
    assert settings.save_settings(source="demo") == {"data_root": "/data/ptbxl", "source": "demo"}
    assert json.loads((tmp_path / "app_settings.json").read_text())["source"] == "demo"
    (tmp_path / "app_settings.json").write_text("{broken")
    assert settings.load_settings() == {}


def test_check_data_root(tmp_path, demo_root):
    assert settings.check_data_root(f"  {demo_root}  ") == demo_root.resolve()
    for bad, message in (
        ("", "type the path"),
        (str(tmp_path / "missing"), "not a folder"),
        (str(tmp_path), "no ptbxl_database.csv"),
    ):
        with pytest.raises(DataError, match=message):
            settings.check_data_root(bad)


def test_clear_signal_cache_removes_only_cache_files(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(tmp_path))
    assert settings.clear_signal_cache() == 0
    (tmp_path / "signals").mkdir()
    for name in ("a.npy", "a.json"):
        (tmp_path / "signals" / name).write_text("x")
    (tmp_path / "app_settings.json").write_text("{}")
    assert settings.clear_signal_cache() == 2
    assert not list((tmp_path / "signals").iterdir()) and (tmp_path / "app_settings.json").exists()


@pytest.mark.parametrize(
    "content, field",
    [
        ('{"data_root": 42, "source": "saved"}', "'data_root'"),
        ('{"data_root": ["/a", "/b"]}', "'data_root'"),
        ('{"data_root": {"path": "/a"}, "source": 3}', "'data_root' and 'source'"),
        ('{"source": "somewhere"}', "'source'"),
        ("[1, 2]", "holds list"),
        ("null", "holds NoneType"),
        ("{broken", "could not be read"),
        ("\x00\xff", "could not be read"),
    ],
)
def test_settings_of_the_wrong_type_are_ignored_with_a_warning(monkeypatch, tmp_path, content, field):
    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(tmp_path))
    path = tmp_path / "app_settings.json"
    path.write_text(content, errors="surrogateescape")
    loaded, warning = settings.read_settings()
    assert field in warning and str(path) in warning and "ignored" in warning
    assert all(isinstance(loaded.get(k), (str, type(None))) for k in ("data_root", "source"))
    assert settings.load_settings() == loaded
    # forgetting the folder (Home's button) writes a clean file; nothing is left to warn about
    assert settings.save_settings(data_root=None, source=None)["data_root"] is None
    assert settings.read_settings()[1] is None


def test_good_settings_give_no_warning(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGCORE_CACHE_DIR", str(tmp_path))
    assert settings.read_settings() == ({}, None)
    settings.save_settings(data_root="/data/ptbxl", source="saved", other=[1])
    assert settings.read_settings() == ({"data_root": "/data/ptbxl", "source": "saved", "other": [1]}, None)


def test_home_folder_hint_says_what_is_loaded():
    from ecgcore.app.settings import home_folder_hint, source_words

    assert "Real data is loaded now from the environment variable ECGCORE_DATA_ROOT (`/d`)" in home_folder_hint(
        "env", "/d"
    )
    assert home_folder_hint("env", "/d", is_demo=True).startswith("Synthetic demo data is loaded now")
    assert "empty" not in home_folder_hint("env", "/d") + home_folder_hint("saved", "/d")
    assert "demo data is loaded now" in home_folder_hint("demo", None)
    assert "ECGCORE_DATA_ROOT" in source_words("env") and source_words("demo") == "demo data (synthetic)"
