"""What the AppTests read off a page: switch to it, its charts, its texts, a table by its columns."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def page(at: AppTest, name: str) -> AppTest:
    """Switch to ``app_pages/<name>.py``, run it, and fail on any exception box."""
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:
    """The plotly figures on the page, as JSON dicts."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def texts(at: AppTest) -> str:
    """Every markdown, caption, info, warning, success and error text on the page, one per line."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "success", "error"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def table(at: AppTest, *columns: str, without: tuple[str, ...] = ()):
    """The first dataframe shown with all of ``columns`` and none of ``without``."""
    for d in at.dataframe:
        value = d.value
        if all(c in value.columns for c in columns) and not any(c in value.columns for c in without):
            return value
    raise AssertionError(f"no table with columns {columns}")


def finished_download(data_root, out) -> None:
    """Leave a finished PTB-XL download in ``out`` (a copy of ``data_root``) as Home sees it: the folder
    and the download's progress.json saying done."""
    import shutil
    from dataclasses import asdict

    from ecgcore import download as dl
    from ecgcore.fileio import write_json

    shutil.copytree(data_root, out)
    done = dl.DownloadStatus(state="done", out=str(out), files_done=3, files_total=3, bytes_done=10, bytes_total=10)
    write_json(dl.status_dir(out) / "progress.json", asdict(done))
