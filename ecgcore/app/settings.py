"""The app's small settings file (the saved PTB-XL folder and dataset choice), the check of a typed
data folder, and the signal cache the Home page can clear. No Streamlit import."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ecgcore.errors import DataError
from ecgcore.fileio import write_json
from ecgcore.signal_cache import cache_root

SETTINGS_FILE = "app_settings.json"


def settings_path() -> Path:
    """The app's settings file (remembered across restarts): ``<cache_root>/app_settings.json``."""
    return cache_root() / SETTINGS_FILE


SOURCES = ("demo", "env", "saved")  # where the dataset comes from (the sidebar's choice)
FIELDS = {"data_root": str, "source": str}  # the fields the app reads, and their type (or null)


def read_settings() -> tuple[dict, str | None]:
    """The saved settings, and a warning when (part of) the file was ignored.

    A missing file is ``({}, None)``. A file that is not JSON, not a JSON object, or has a field of
    the wrong type (``data_root`` a number, ``source`` not one of :data:`SOURCES`, …) never stops the
    app: what cannot be used is left out and the warning says which field and what to do.
    """
    path = settings_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as e:
        return {}, f"The app's settings file {path} could not be read ({type(e).__name__}); it is ignored."
    if not isinstance(data, dict):
        return {}, f"The app's settings file {path} holds {type(data).__name__}, not settings; it is ignored."
    bad = [k for k, kind in FIELDS.items() if data.get(k) is not None and not isinstance(data[k], kind)]
    if isinstance(data.get("source"), str) and data["source"] not in SOURCES:
        bad.append("source")
    clean = {k: v for k, v in data.items() if k not in bad}
    if not bad:
        return clean, None
    return clean, (
        f"The app's settings file {path} has a wrong {' and '.join(repr(k) for k in bad)} "
        f"({', '.join(repr(data[k]) for k in bad)}); it is ignored. Choose the folder again below, "
        "or forget the saved folder."
    )


def load_settings() -> dict:
    """The saved settings, with anything unusable left out ({} when absent or unreadable)."""
    return read_settings()[0]


def save_settings(**fields) -> dict:
    """Merge ``fields`` into the usable saved settings and write the file (atomically); returns them."""
    settings = load_settings() | fields
    write_json(settings_path(), settings)
    return settings


def check_data_root(text: str) -> Path:
    """A folder typed by the user, checked enough to be worth loading (DataError says what is wrong)."""
    text = (text or "").strip()
    if not text:
        raise DataError("type the path of a PTB-XL folder (the one holding ptbxl_database.csv).")
    root = Path(text).expanduser()
    if not root.is_dir():
        raise DataError(f"{root} is not a folder on this machine; type the path of a PTB-XL folder.")
    if not (root / "ptbxl_database.csv").is_file():
        raise DataError(
            f"{root} holds no ptbxl_database.csv; choose the PTB-XL folder itself "
            "(it also holds scp_statements.csv and records100/)."
        )
    return root.resolve()


def dataset_stamp(root: str | os.PathLike) -> int | None:
    """mtime (ns) of the folder's ptbxl_database.csv: part of the app's dataset cache key."""
    try:
        return (Path(root) / "ptbxl_database.csv").stat().st_mtime_ns
    except OSError:
        return None


def clear_signal_cache() -> int:
    """Delete the signal cache files (``<cache_root>/signals``); returns how many were removed. Loaded
    memory maps stay valid (the files are only unlinked) until the app drops them."""
    folder = cache_root() / "signals"
    removed = 0
    if folder.is_dir():
        for path in folder.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def source_words(source: str, root: str | None = None) -> str:
    """Where the data comes from, in words (no internal names): the sidebar's and Home's wording."""
    if source == "env":
        return "PTB-XL folder from the environment variable ECGCORE_DATA_ROOT"
    if source == "saved":
        return "PTB-XL folder set on the Home page"
    return "demo data (synthetic)"


def home_folder_hint(source: str, root: str | None, is_demo: bool = False) -> str:
    """Home's line above the folder field: what is loaded now and how to change it — never 'leave it
    empty for demo data' while real data is loaded (``is_demo``: the loaded folder is a demo set)."""
    what = "Synthetic demo data is" if is_demo else "Real data is"
    if source == "env":
        return (
            f"{what} loaded now from the environment variable ECGCORE_DATA_ROOT (`{root}`). Enter "
            "another folder to use it instead, or switch to the demo data below or in the sidebar."
        )
    if source == "saved":
        return f"{what} loaded now from the folder set here (`{root}`). Enter another folder to switch."
    return "The synthetic demo data is loaded now. Enter a PTB-XL folder to use real data."


def holds_ptbxl(folder: str | os.PathLike | None) -> bool:
    """Whether ``folder`` still exists and holds ptbxl_database.csv (a finished download can be deleted later)."""
    try:
        return bool(folder) and (Path(folder) / "ptbxl_database.csv").is_file()
    except OSError:
        return False
